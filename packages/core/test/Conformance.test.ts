/**
 * The conformance suite against a reference OpenAI-compatible provider (OpenAI's own wire shapes and error
 * vocabulary), proving the suite and the core plumbing without any vendor quirk.
 */
import { Layer } from "effect"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as ProviderError from "../src/ProviderError.js"
import { runProviderConformance } from "../src/testing/Conformance.js"

const baseURL = "https://reference.test/v1"
const model = "ref-chat-1"

/** A reference provider: only declarations, built with core's provider builder. */
export const Reference = OpenAiCompatProvider.make({
  name: "reference",
  baseURLs: { default: baseURL },
  apiKeyEnv: ["REFERENCE_API_KEY"],
  baseURLEnv: "REFERENCE_BASE_URL",
  errorTable: ProviderError.openAiTable,
  defaultModel: model,
  catalog: ModelCatalog.make("reference", [
    {
      id: model,
      provider: "reference",
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      capabilities: { ...ModelCatalog.conservativeCapabilities, thinking: "optional", toolChoiceRequired: true },
      lifecycle: { status: "active" }
    }
  ]),
  reasoningReplay: { mode: "tool-calls", placeholder: " " }
})

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-ref",
  object: "chat.completion.chunk",
  created: 1_760_000_000,
  model,
  choices: [{ index: 0, delta, finish_reason: null }],
  ...extra
})
const finish = (reason: string, usage?: Record<string, unknown>) => ({
  id: "chatcmpl-ref",
  object: "chat.completion.chunk",
  created: 1_760_000_000,
  model,
  choices: [{ index: 0, delta: {}, finish_reason: reason }],
  ...(usage ? { usage } : {})
})
const completion = (message: Record<string, unknown>, reason: string) => ({
  id: "chatcmpl-ref",
  object: "chat.completion",
  created: 1_760_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: reason }],
  usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }
})
const openAiError = (message: string, type: string, code: string | null) => ({
  error: { message, type, code, param: null }
})

runProviderConformance({
  name: "reference OpenAI-compatible provider",
  baseURL,
  layer: Reference.layer(model).pipe(Layer.provide(Reference.clientLayer({ apiKey: "test-key" }))),
  fixtures: {
    completions: {
      text: { body: completion({ content: "Hello there!" }, "stop"), text: "Hello there!" },
      toolCall: {
        body: completion(
          {
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
            ]
          },
          "tool_calls"
        ),
        location: "Paris"
      }
    },
    streams: {
      text: {
        chunks: [
          chunk({ role: "assistant", content: "" }),
          chunk({ content: "Hello" }),
          chunk({ content: " there!" }),
          finish("stop")
        ],
        text: "Hello there!"
      },
      reasoning: {
        chunks: [
          chunk({ role: "assistant", reasoning_content: "The user" }),
          chunk({ reasoning_content: " wants a greeting." }),
          chunk({ content: "Hi!" }),
          finish("stop")
        ],
        reasoning: "The user wants a greeting.",
        text: "Hi!"
      },
      toolCall: {
        chunks: [
          chunk({
            role: "assistant",
            tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "get_weather", arguments: "" } }]
          }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: '{"loca' } }] }),
          chunk({ tool_calls: [{ index: 0, function: { arguments: 'tion":"Oslo"}' } }] }),
          finish("tool_calls")
        ],
        location: "Oslo"
      },
      usage: {
        chunks: [
          chunk({ role: "assistant", content: "ok" }),
          finish("stop"),
          {
            id: "chatcmpl-ref",
            object: "chat.completion.chunk",
            created: 1_760_000_000,
            model,
            choices: [],
            usage: {
              prompt_tokens: 1200,
              completion_tokens: 300,
              total_tokens: 1500,
              prompt_tokens_details: { cached_tokens: 1024 },
              completion_tokens_details: { reasoning_tokens: 250 }
            }
          }
        ],
        usage: {
          inputTokens: 1200,
          outputTokens: 300,
          cachedInputTokens: 1024,
          reasoningTokens: 250,
          totalTokens: 1500
        }
      }
    },
    errors: {
      unauthorized: {
        status: 401,
        body: openAiError("Incorrect API key provided", "invalid_request_error", "invalid_api_key")
      },
      notFound: {
        status: 404,
        body: openAiError("The model does not exist", "invalid_request_error", "model_not_found")
      },
      rateLimited: {
        status: 429,
        body: openAiError("Rate limit reached", "requests", "rate_limit_exceeded"),
        headers: { "retry-after-ms": "60" }
      },
      quotaExhausted: {
        status: 429,
        body: openAiError("You exceeded your current quota", "insufficient_quota", "insufficient_quota")
      },
      serverError: { status: 500, body: openAiError("The server had an error", "server_error", null) },
      contentPolicy: {
        status: 400,
        body: openAiError(
          "Your request was rejected by the safety system",
          "invalid_request_error",
          "content_policy_violation"
        )
      }
    }
  }
})
