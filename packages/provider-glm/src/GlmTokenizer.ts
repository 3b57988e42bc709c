/**
 * Exact prompt-token counts from Zhipu's `POST /tokenizer` endpoint.
 *
 * Request `{ model, messages, tools?, request_id?, user_id? }`; response `{ id, created, request_id, usage:
 * { prompt_tokens, image_tokens, video_tokens, total_tokens } }` (all counts in tokens). The endpoint documents the
 * models `glm-4.6`, `glm-4.6v` and `glm-4.5` (ZAI-OAS `/paas/v4/tokenizer`; ZAI-DOCS-4.6 concept-param: "You can call
 * the tokenizer API").
 *
 * {@link counter} plugs it into the language model's pre-flight check (`GlmLanguageModel` config
 * `exactPreflight: true`): requests for documented models are counted exactly, others with core's CJK-aware
 * estimator.
 *
 * @since 0.1.0
 */
import {
  type ChatCompletions,
  type OpenAiCompatProvider,
  PromptConversion,
  ProviderError,
  TokenEstimator
} from "@conduitkit/core"
import { Effect, Schema } from "effect"
import { type AiError, Prompt, type Tool } from "effect/ai"
import { GlmClient } from "./GlmClient.js"

/**
 * Models the endpoint documents.
 *
 * @since 0.1.0
 */
export const supportedModels: ReadonlyArray<string> = ["glm-4.6", "glm-4.6v", "glm-4.5"]

/**
 * The response body.
 *
 * @since 0.1.0
 */
export const TokenizerResponse = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  request_id: Schema.optional(Schema.NullOr(Schema.String)),
  usage: Schema.Struct({
    prompt_tokens: Schema.Number,
    image_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    video_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    total_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })
})

/**
 * A count, in tokens: `promptTokens` (text), `imageTokens`, `videoTokens`, `totalTokens`, and the request id.
 *
 * @since 0.1.0
 */
export interface TokenCount {
  readonly promptTokens: number
  readonly imageTokens: number
  readonly videoTokens: number
  readonly totalTokens: number
  readonly requestId: string | undefined
}

/**
 * What to count: wire messages (OpenAI shapes) and optional wire tools.
 *
 * @since 0.1.0
 */
export interface CountRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
  readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  readonly request_id?: string | undefined
  readonly user_id?: string | undefined
}

/**
 * Counts with an explicit client. Fails with `InvalidRequestError` for an empty message list (nothing is sent) and
 * with the GLM error table's reasons for HTTP errors.
 *
 * @since 0.1.0
 */
export const countWith = (
  client: OpenAiCompatProvider.ProviderClient,
  request: CountRequest
): Effect.Effect<TokenCount, AiError.AiError> =>
  Effect.gen(function* () {
    if (request.messages.length === 0) {
      // refusal: glm/tokenizer-no-messages
      return yield* ProviderError.invalidRequest({
        provider: "glm",
        description: "the tokenizer needs at least one message",
        parameter: "messages",
        module: "GlmTokenizer",
        method: "count"
      })
    }
    const response = yield* client.request({
      method: "post",
      path: "/tokenizer",
      body: {
        model: request.model,
        messages: request.messages,
        ...(request.tools !== undefined && request.tools.length > 0 ? { tools: request.tools } : {}),
        ...(request.request_id !== undefined ? { request_id: request.request_id } : {}),
        ...(request.user_id !== undefined ? { user_id: request.user_id } : {})
      },
      schema: TokenizerResponse
    })
    const usage = response.body.usage
    const imageTokens = usage.image_tokens ?? 0
    const videoTokens = usage.video_tokens ?? 0
    return {
      promptTokens: usage.prompt_tokens,
      imageTokens,
      videoTokens,
      totalTokens: usage.total_tokens ?? usage.prompt_tokens + imageTokens + videoTokens,
      requestId: response.body.request_id ?? response.body.id ?? response.requestId
    }
  })

/**
 * Counts the tokens of wire messages (and tools) with the client from context.
 *
 * @since 0.1.0
 */
export const count = (
  request: CountRequest
): Effect.Effect<TokenCount, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) => countWith(client, request))

/**
 * Counts an `effect/ai` prompt (converted as the language model converts it; reasoning is left out).
 *
 * @since 0.1.0
 */
export const countPrompt = (
  model: string,
  prompt: Prompt.RawInput,
  tools: ReadonlyArray<Tool.Any> = []
): Effect.Effect<TokenCount, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.gen(function* () {
    const messages = yield* Effect.fromResult(
      PromptConversion.toMessages(Prompt.make(prompt), {
        reasoning: { mode: "never" },
        toolResultName: false,
        providerName: "glm"
      })
    )
    const wireTools = yield* Effect.fromResult(PromptConversion.toTools(tools, "auto", { providerName: "glm" }))
    return yield* count({ model, messages, tools: wireTools.tools })
  })

/**
 * A pre-flight counter for core's `ProviderSpec.countTokens`: the exact count (text + image + video tokens) for the
 * documented models, core's estimate for others.
 *
 * @since 0.1.0
 */
export const counter =
  (client: OpenAiCompatProvider.ProviderClient) =>
  (request: ChatCompletions.WireRequest): Effect.Effect<number, AiError.AiError> =>
    supportedModels.includes(request.model)
      ? Effect.map(
          countWith(client, {
            model: request.model,
            messages: request.messages,
            tools: request.tools ?? undefined
          }),
          (result) => result.totalTokens
        )
      : Effect.succeed(TokenEstimator.estimateRequest({ messages: request.messages, tools: request.tools }))
