/**
 * Scenario data for tests and demos, authored in this repository to reproduce the wire shapes recorded from Z.ai
 * (the recordings themselves are third-party data and stay in ../shared/fixtures; see `glm/INDEX.md` there). What
 * is reproduced, with the recording that shows it:
 *
 * - bodies without `object`, `id == request_id` (30 characters: `yyyyMMddHHmmss` + 16 hex), `created` in seconds,
 *   `usage.prompt_tokens_details.cached_tokens` (`glm/fantasy/TestZAICommon__zai-glm-4.6__*.yaml`);
 * - streams where every delta carries `"role":"assistant"`, reasoning first (`reasoning_content`), text starting
 *   with `"\n"`, a final chunk carrying `finish_reason` and `usage` together with an empty delta, then `[DONE]`
 *   (`glm/fantasy/*simple_streaming*.yaml`, `*thinking-streaming*.yaml`);
 * - tool calls complete in one delta without `tool_stream`, one chunk per call with `index` 0, 1, ... and no `role`
 *   (`glm/fantasy/*multi_tool_streaming*.yaml`); streaming ids `call_<24 hex>`, non-streaming ids
 *   `call_-<19 digits>` (`glm/fantasy/TestZAICommon__zai-glm-4.6__tool.yaml`);
 * - with `tool_stream`, a first fragment with id and name then argument pieces keyed by `index` (UNCONFIRMED shape:
 *   no real transcript exists, docs/providers/glm.md#tool-streaming);
 * - `completion_tokens_details.reasoning_tokens` and a trailing `choices: []` usage chunk
 *   (`glm/octollm/glm-4.6_stream_reasoning_chunks.sse`);
 * - the top-level `web_search` array (`glm/docs/zai_docs_web_search_in_chat_response_example.json`);
 * - error bodies: the auth bodies quoted from the docs and the crawl (`glm/errors/*`), and code bodies in English
 *   (api.z.ai) and Chinese (open.bigmodel.cn) as collected in `glm/errors/third_party_observed_error_bodies.jsonl`.
 *
 * @since 0.1.0
 */
import type { Conformance } from "@conduitkit/core/testing"

// =============================================================================
// Builders
// =============================================================================

/**
 * A Zhipu-style response id (also its request id): 14 digits of time + 16 hex characters.
 *
 * @since 0.1.0
 */
export const responseId = (n: number): string => `20260101120000${n.toString(16).padStart(16, "0")}`.slice(0, 30)

/**
 * Usage as Zhipu reports it (tokens). `reasoning` adds `completion_tokens_details.reasoning_tokens` (newer models).
 *
 * @since 0.1.0
 */
export const usage = (prompt: number, completion: number, cached = 0, reasoning?: number) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: cached },
  ...(reasoning !== undefined ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {})
})

/**
 * A stream chunk: every delta carries `role: "assistant"` as Z.ai sends it (tool-call deltas do not).
 *
 * @since 0.1.0
 */
export const chunk = (id: string, model: string, delta: Record<string, unknown>, created = 1_767_268_800) => ({
  id,
  created,
  model,
  choices: [{ index: 0, delta: "tool_calls" in delta ? delta : { role: "assistant", ...delta } }]
})

/**
 * The final chunk: `finish_reason` and `usage` together, with an empty assistant delta.
 *
 * @since 0.1.0
 */
export const finishChunk = (
  id: string,
  model: string,
  reason: string,
  tokens: ReturnType<typeof usage>,
  created = 1_767_268_800
) => ({
  id,
  created,
  model,
  choices: [{ index: 0, finish_reason: reason, delta: { role: "assistant", content: "" } }],
  usage: tokens
})

/**
 * A non-streaming body (no `object`, `request_id` equal to `id`).
 *
 * @since 0.1.0
 */
export const completion = (
  id: string,
  model: string,
  message: Record<string, unknown>,
  reason: string,
  tokens: ReturnType<typeof usage>,
  extra: Record<string, unknown> = {}
) => ({
  choices: [{ finish_reason: reason, index: 0, message: { role: "assistant", ...message } }],
  created: 1_767_268_800,
  id,
  model,
  request_id: id,
  usage: tokens,
  ...extra
})

/**
 * Text split into stream deltas of at most `size` characters.
 *
 * @since 0.1.0
 */
export const pieces = (text: string, size = 6): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out
}

// =============================================================================
// Chat scenarios
// =============================================================================

const MODEL = "glm-4.6"

/** The answer text of the text scenarios. */
const helloText = "\n\nHello! I am GLM, a language model trained by Zhipu AI. How can I help you today?"
const reasoningText = "The user greets me in Chinese. I should answer politely and introduce myself briefly."
const reasoningAnswer = "\n你好！我是智谱训练的 GLM 模型，很高兴为你服务。"

/**
 * A plain text answer, streamed and not.
 *
 * @since 0.1.0
 */
export const text = {
  text: helloText,
  body: completion(responseId(1), MODEL, { content: helloText }, "stop", usage(12, 21, 0)),
  chunks: [
    ...pieces(helloText).map((piece) => chunk(responseId(2), MODEL, { content: piece })),
    finishChunk(responseId(2), MODEL, "stop", usage(12, 21, 0))
  ]
} as const

/**
 * Reasoning then an answer (thinking on), streamed and not, with reasoning tokens reported.
 *
 * @since 0.1.0
 */
export const reasoning = {
  reasoning: reasoningText,
  text: reasoningAnswer,
  body: completion(
    responseId(3),
    MODEL,
    { content: reasoningAnswer, reasoning_content: reasoningText },
    "stop",
    usage(9, 64, 4, 40)
  ),
  chunks: [
    ...pieces(reasoningText).map((piece) => chunk(responseId(4), MODEL, { reasoning_content: piece })),
    ...pieces(reasoningAnswer, 4).map((piece) => chunk(responseId(4), MODEL, { content: piece })),
    finishChunk(responseId(4), MODEL, "stop", usage(9, 64, 4, 40))
  ]
} as const

/**
 * One `get_weather` tool call: non-streaming (odd signed-decimal id), streamed complete in one delta (no
 * `tool_stream`), and streamed in fragments (`tool_stream: true`).
 *
 * @since 0.1.0
 */
export const toolCall = {
  location: "Florence, Italy",
  body: completion(
    responseId(5),
    MODEL,
    {
      reasoning_content: "The user wants the weather in Florence. I will call get_weather.",
      tool_calls: [
        {
          function: { arguments: '{"location":"Florence, Italy"}', name: "get_weather" },
          id: "call_-7394015628301947265",
          index: 0,
          type: "function"
        }
      ]
    },
    "tool_calls",
    usage(163, 77, 32)
  ),
  chunks: [
    chunk(responseId(6), MODEL, { reasoning_content: "I need the weather tool." }),
    chunk(responseId(6), MODEL, { content: "\n\n" }),
    chunk(responseId(6), MODEL, {
      tool_calls: [
        {
          id: "call_7a1c0e2b9d3f4a5e8b6c0d1e",
          index: 0,
          type: "function",
          function: { name: "get_weather", arguments: '{"location":"Florence, Italy"}' }
        }
      ]
    }),
    finishChunk(responseId(6), MODEL, "tool_calls", usage(171, 66, 32))
  ],
  toolStreamChunks: [
    chunk(responseId(7), MODEL, { reasoning_content: "I need the weather tool." }),
    chunk(responseId(7), MODEL, {
      tool_calls: [
        {
          id: "call_0f9e8d7c6b5a4f3e2d1c0b9a",
          index: 0,
          type: "function",
          function: { name: "get_weather", arguments: "" }
        }
      ]
    }),
    ...['{"loca', 'tion":"Flo', 'rence, Italy"}'].map((piece) =>
      chunk(responseId(7), MODEL, { tool_calls: [{ index: 0, function: { arguments: piece } }] })
    ),
    finishChunk(responseId(7), MODEL, "tool_calls", usage(171, 66, 32))
  ]
} as const

/**
 * Two calls in one turn (`add` and `multiply`), one chunk per call.
 *
 * @since 0.1.0
 */
export const multiTool = {
  chunks: [
    chunk(responseId(8), MODEL, { content: "\n\nI'll add and multiply 2 and 3.\n" }),
    chunk(responseId(8), MODEL, {
      tool_calls: [
        {
          id: "call_1b2c3d4e5f60718293a4b5c6",
          index: 0,
          type: "function",
          function: { name: "add", arguments: '{"a":2,"b":3}' }
        }
      ]
    }),
    chunk(responseId(8), MODEL, {
      tool_calls: [
        {
          id: "call_6c5b4a3928170f6e5d4c3b2a",
          index: 1,
          type: "function",
          function: { name: "multiply", arguments: '{"a":2,"b":3}' }
        }
      ]
    }),
    finishChunk(responseId(8), MODEL, "tool_calls", usage(264, 131, 32))
  ],
  calls: [
    { name: "add", params: { a: 2, b: 3 } },
    { name: "multiply", params: { a: 2, b: 3 } }
  ]
} as const

/**
 * Usage with cached and reasoning tokens, reported on a trailing `choices: []` chunk.
 *
 * @since 0.1.0
 */
export const usageChunks = {
  usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 1024, reasoningTokens: 250, totalTokens: 1500 },
  chunks: [
    chunk(responseId(9), MODEL, { reasoning_content: "Short thought." }),
    chunk(responseId(9), MODEL, { content: "ok" }),
    {
      id: responseId(9),
      created: 1_767_268_800,
      model: MODEL,
      choices: [{ index: 0, finish_reason: "stop", delta: { role: "assistant", content: "" } }]
    },
    { id: responseId(9), created: 1_767_268_800, model: MODEL, choices: [], usage: usage(1200, 300, 1024, 250) }
  ]
} as const

/**
 * A web-search answer: the cited text and the top-level `web_search` results.
 *
 * @since 0.1.0
 */
export const webSearch = {
  results: [
    {
      content: "Florence weather today: sunny, 31°C, light wind from the west.",
      icon: "https://example.org/icon-weather.png",
      link: "https://weather.example.org/florence",
      media: "Weather Example",
      publish_date: "2026-01-01",
      refer: "ref_1",
      title: "Florence weather, 1 January 2026"
    },
    {
      content: "Tuscany forecast for the week: dry and warm.",
      icon: "",
      link: "https://news.example.org/tuscany-forecast",
      media: "News Example",
      publish_date: "",
      refer: "ref_2",
      title: "Tuscany forecast"
    }
  ],
  text: "It is sunny and 31°C in Florence today [ref_1], and the week stays dry [ref_2]."
} as const

/**
 * The non-streaming body of {@link webSearch}.
 *
 * @since 0.1.0
 */
export const webSearchBody = completion(
  responseId(10),
  "glm-4-air",
  { content: webSearch.text },
  "stop",
  usage(2100, 40),
  { web_search: webSearch.results }
)

/**
 * A standalone `/web_search` answer.
 *
 * @since 0.1.0
 */
export const webSearchApiBody = {
  created: 1_767_268_800,
  id: responseId(11),
  request_id: responseId(11),
  search_intent: [{ query: "Florence weather", intent: "SEARCH_ALL", keywords: "florence weather" }],
  search_result: webSearch.results
} as const

// =============================================================================
// Errors
// =============================================================================

/**
 * An HTTP error as Zhipu sends it.
 *
 * @since 0.1.0
 */
export interface WireError {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

const wrapped = (code: string, message: string) => ({ error: { code, message } })

/**
 * Error bodies by code, in English (api.z.ai) and Chinese (open.bigmodel.cn) where both are known. The messages are
 * the ones quoted in `glm/errors/` (docs transcript, crawl, collected bodies); the classification never reads them.
 *
 * @since 0.1.0
 */
export const errors = {
  missingKey: { status: 401, body: wrapped("1001", "Authorization Token Missing") },
  invalidKey: {
    status: 401,
    body: wrapped(
      "1002",
      "Authorization Token is invalid, please ensure that the Authorization Token is correctly provided."
    )
  },
  expiredToken: { status: 401, body: wrapped("1003", "Authorization Token已过期，请重新生成/获取。") },
  authFailedCn: { status: 401, body: { code: "1000", message: "身份验证失败。" } },
  insufficientBalanceEn: {
    status: 429,
    body: wrapped("1113", "Insufficient balance or no resource package. Please recharge.")
  },
  insufficientBalanceCn: { status: 429, body: { code: "1113", message: "余额不足或无可用资源包,请充值。" } },
  concurrencyEn: { status: 429, body: wrapped("1302", "Rate limit reached for requests") },
  // 1303 "High frequency — reduce frequency" (docs/providers/glm.md#error-codes; no recorded body: the message is ours).
  frequencyEn: {
    status: 429,
    body: wrapped("1303", "High request frequency, please reduce the frequency of requests")
  },
  concurrencyCn: {
    status: 429,
    body: wrapped("1302", "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额")
  },
  overloadedCn: { status: 429, body: { code: "1305", message: "该模型当前访问量过大，请您稍后再试" } },
  promptTooLongEn: { status: 400, body: { code: "1261", message: "Prompt too long" } },
  promptTooLongCn: { status: 400, body: { code: "1261", message: "Prompt exceeds max length" } },
  unknownModelEn: { status: 400, body: wrapped("1211", "Unknown Model, please check the model code.") },
  // recorded live on open.bigmodel.cn (2026-10-09), unwrapped: `glm/errors/third_party_observed_error_bodies.jsonl`
  thinkingAlwaysCn: {
    status: 400,
    body: { code: "1210", message: "该模型始终思考，不支持关闭思考；请使用 low、high 或 max。" }
  },
  unknownModelCn: { status: 400, body: { code: "1211", message: "模型不存在，请检查模型代码。" } },
  invalidParameterEn: { status: 400, body: wrapped("1214", "Input cannot be empty") },
  invalidParameterCn: { status: 400, body: wrapped("1214", "messages 参数非法。请检查文档。") },
  contentPolicyCn: {
    status: 400,
    body: wrapped(
      "1301",
      "系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"
    )
  },
  serverError: { status: 500, body: wrapped("500", "Internal Error") }
} as const satisfies Record<string, WireError>

// =============================================================================
// Conformance
// =============================================================================

/**
 * Core's conformance fixtures for GLM. Where the suite needs something Zhipu does not document (a 404 body, a
 * `retry-after-ms` header on a 429), the body keeps Zhipu's shape with a documented code.
 *
 * @since 0.1.0
 */
export const conformance: Conformance.ConformanceFixtures = {
  completions: {
    text: { body: text.body, text: text.text },
    toolCall: { body: toolCall.body, location: toolCall.location }
  },
  streams: {
    text: { chunks: text.chunks, text: text.text },
    reasoning: { chunks: reasoning.chunks, reasoning: reasoning.reasoning, text: reasoning.text },
    toolCall: { chunks: toolCall.chunks, location: toolCall.location },
    usage: { chunks: usageChunks.chunks, usage: usageChunks.usage }
  },
  errors: {
    unauthorized: errors.invalidKey,
    // 404 is documented for "task not found"; 1222 is "API does not exist".
    notFound: { status: 404, body: wrapped("1222", "API does not exist") },
    // Z.ai sends no rate-limit headers in any recording; the suite needs one to check that advice is honoured.
    rateLimited: { ...errors.concurrencyEn, headers: { "retry-after-ms": "40" } },
    quotaExhausted: errors.insufficientBalanceEn,
    serverError: errors.serverError,
    contentPolicy: errors.contentPolicyCn
  }
}
