/**
 * Effect Schemas for the OpenAI Chat Completions wire format as real OpenAI-compatible providers speak it.
 *
 * Beyond OpenAI's own fields they carry the extras Moonshot and Zhipu send: `reasoning_content` on messages and
 * deltas, `usage` inside `choices[0]` of the last chunk (Moonshot, always), a trailing `choices: []` usage chunk
 * (`stream_options.include_usage`), top-level `usage.cached_tokens` (Moonshot),
 * `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`, a top-level `web_search`
 * array (Zhipu) and `request_id` (Zhipu). Every optional field also accepts `null`, because providers send both.
 *
 * Unknown fields: response bodies and chunks are checked, not decoded (the transport keeps the provider's own
 * object), so their unknown fields survive; the response schemas are plain structs, which Effect's parser checks
 * on its fast path. Request-side schemas (`RequestMessage`, `ChatCompletionRequest`, ...) keep unknown fields
 * through decoding (the gateway passes provider extras on).
 *
 * Sources: https://platform.openai.com/docs/api-reference/chat, docs/providers/kimi.md#streaming, #usage and
 * docs/providers/glm.md#responses, #streaming; fixtures `kimi/vercel-ai/moonshotai-usage-live.chunks.txt`,
 * `kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt`, `glm/fantasy/*.yaml`,
 * `glm/octollm/glm-4.6_stream_reasoning_chunks.sse`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const

/** An optional field that may also be `null`. */
const opt = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

// =============================================================================
// Usage
// =============================================================================

/**
 * Token usage as providers report it (all counts in tokens). `prompt_tokens` includes cached tokens and
 * `completion_tokens` includes reasoning tokens on every provider seen so far.
 *
 * @since 0.1.0
 */
export const Usage = Schema.Struct({
  prompt_tokens: opt(Schema.Number),
  completion_tokens: opt(Schema.Number),
  total_tokens: opt(Schema.Number),
  /** Moonshot: cache hits at the top level of `usage`. */
  cached_tokens: opt(Schema.Number),
  prompt_tokens_details: opt(Schema.Struct({ cached_tokens: opt(Schema.Number) })),
  completion_tokens_details: opt(Schema.Struct({ reasoning_tokens: opt(Schema.Number) }))
})

/** @since 0.1.0 */
export type Usage = typeof Usage.Type

// =============================================================================
// Tool calls
// =============================================================================

/**
 * A complete tool call in a response message. `arguments` is a JSON string (Zhipu documents an object but sends a
 * string; both are accepted and an object is re-serialized by the converters).
 *
 * @since 0.1.0
 */
export const ToolCall = Schema.Struct({
  id: opt(Schema.String),
  type: opt(Schema.String),
  index: opt(Schema.Number),
  function: opt(
    Schema.Struct({
      name: opt(Schema.String),
      arguments: opt(Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)]))
    })
  )
})

/** @since 0.1.0 */
export type ToolCall = typeof ToolCall.Type

/**
 * A tool-call fragment in a stream delta. The first fragment of a call usually carries `index`, `id`, `type` and
 * `function.name`; continuation fragments carry only `index` and an `arguments` piece, and some providers omit
 * `index` or `id` (GLM via proxies, synthetic Moonshot fixtures).
 *
 * @since 0.1.0
 */
export const ToolCallDelta = ToolCall

/** @since 0.1.0 */
export type ToolCallDelta = typeof ToolCallDelta.Type

// =============================================================================
// Responses
// =============================================================================

/**
 * The assistant message of a non-streaming choice.
 *
 * @since 0.1.0
 */
export const ResponseMessage = Schema.Struct({
  role: opt(Schema.String),
  content: opt(Schema.String),
  reasoning_content: opt(Schema.String),
  /** Some OpenAI-compatible servers (gpt-oss hosts) use `reasoning`. */
  reasoning: opt(Schema.String),
  refusal: opt(Schema.String),
  tool_calls: opt(Schema.Array(ToolCall))
})

/** @since 0.1.0 */
export type ResponseMessage = typeof ResponseMessage.Type

/**
 * One choice of a non-streaming response.
 *
 * @since 0.1.0
 */
export const Choice = Schema.Struct({
  index: opt(Schema.Number),
  message: opt(ResponseMessage),
  finish_reason: opt(Schema.String),
  usage: opt(Usage)
})

/** @since 0.1.0 */
export type Choice = typeof Choice.Type

/**
 * A search result Zhipu returns in the top-level `web_search` array (docs/providers/glm.md#web-search).
 *
 * @since 0.1.0
 */
export const WebSearchResult = Schema.Struct({
  title: opt(Schema.String),
  content: opt(Schema.String),
  link: opt(Schema.String),
  media: opt(Schema.String),
  icon: opt(Schema.String),
  refer: opt(Schema.String),
  publish_date: opt(Schema.String)
})

/** @since 0.1.0 */
export type WebSearchResult = typeof WebSearchResult.Type

/**
 * A non-streaming `chat.completion` body. `object` is absent on some Zhipu models, so it is not required.
 *
 * @since 0.1.0
 */
export const ChatCompletion = Schema.Struct({
  id: opt(Schema.String),
  object: opt(Schema.String),
  created: opt(Schema.Number),
  model: opt(Schema.String),
  choices: Schema.Array(Choice),
  usage: opt(Usage),
  system_fingerprint: opt(Schema.String),
  request_id: opt(Schema.String),
  web_search: opt(Schema.Array(WebSearchResult))
})

/** @since 0.1.0 */
export type ChatCompletion = typeof ChatCompletion.Type

/**
 * The `delta` of a streamed choice.
 *
 * @since 0.1.0
 */
export const Delta = Schema.Struct({
  role: opt(Schema.String),
  content: opt(Schema.String),
  reasoning_content: opt(Schema.String),
  reasoning: opt(Schema.String),
  refusal: opt(Schema.String),
  tool_calls: opt(Schema.Array(ToolCallDelta))
})

/** @since 0.1.0 */
export type Delta = typeof Delta.Type

/**
 * One choice of a streamed chunk; Moonshot puts `usage` here on the finish chunk.
 *
 * @since 0.1.0
 */
export const ChunkChoice = Schema.Struct({
  index: opt(Schema.Number),
  delta: opt(Delta),
  finish_reason: opt(Schema.String),
  usage: opt(Usage)
})

/** @since 0.1.0 */
export type ChunkChoice = typeof ChunkChoice.Type

/**
 * A `chat.completion.chunk`. `choices` may be empty (the trailing usage chunk) or missing (error frames are decoded
 * separately, see {@link ErrorBody}).
 *
 * @since 0.1.0
 */
export const ChatCompletionChunk = Schema.Struct({
  id: opt(Schema.String),
  object: opt(Schema.String),
  created: opt(Schema.Number),
  model: opt(Schema.String),
  choices: Schema.optional(Schema.Array(ChunkChoice)),
  usage: opt(Usage),
  system_fingerprint: opt(Schema.String),
  request_id: opt(Schema.String),
  web_search: opt(Schema.Array(WebSearchResult))
})

/** @since 0.1.0 */
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

// =============================================================================
// The hot-path guards
// =============================================================================

type Guard = (u: unknown) => boolean

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
/** An optional, nullable field (`opt` above): absent, `undefined`, `null` or passing `guard`. */
const optional = (record: Record<string, unknown>, key: string, guard: Guard): boolean => {
  const value = record[key]
  return value === undefined || value === null || guard(value)
}
const isString: Guard = (u) => typeof u === "string"
const isNumber: Guard = (u) => typeof u === "number"
const arrayOf =
  (guard: Guard): Guard =>
  (u) =>
    Array.isArray(u) && u.every(guard)
const fields =
  (shape: Readonly<Record<string, Guard>>): Guard =>
  (u) => {
    if (!isObject(u)) return false
    for (const key in shape) if (!optional(u, key, shape[key]!)) return false
    return true
  }

const isUsage = fields({
  prompt_tokens: isNumber,
  completion_tokens: isNumber,
  total_tokens: isNumber,
  cached_tokens: isNumber,
  prompt_tokens_details: fields({ cached_tokens: isNumber }),
  completion_tokens_details: fields({ reasoning_tokens: isNumber })
})
const isToolCall = fields({
  id: isString,
  type: isString,
  index: isNumber,
  function: fields({ name: isString, arguments: (u) => typeof u === "string" || isObject(u) })
})
/** `ResponseMessage` and `Delta` have the same fields. */
const isMessage = fields({
  role: isString,
  content: isString,
  reasoning_content: isString,
  reasoning: isString,
  refusal: isString,
  tool_calls: arrayOf(isToolCall)
})
const isChunkChoice = fields({ index: isNumber, delta: isMessage, finish_reason: isString, usage: isUsage })
const isChoice = fields({ index: isNumber, message: isMessage, finish_reason: isString, usage: isUsage })
/** The top-level fields other than `choices`, the same in a response and in a chunk. */
const isBodyFields = fields({
  id: isString,
  object: isString,
  created: isNumber,
  model: isString,
  usage: isUsage,
  system_fingerprint: isString,
  request_id: isString,
  web_search: arrayOf(
    fields({
      title: isString,
      content: isString,
      link: isString,
      media: isString,
      icon: isString,
      refer: isString,
      publish_date: isString
    })
  )
})
const isChunkChoices = arrayOf(isChunkChoice)
const isChoices = arrayOf(isChoice)

/**
 * `Schema.is(ChatCompletionChunk)`, written out for the stream's hot path (one call per chunk: Effect's generic
 * parser costs a few microseconds per chunk, about as much as the rest of the pipeline). The test
 * `ChatCompletions.test.ts` keeps the two equal over every recorded chunk and over random mutations of them.
 *
 * @since 0.1.0
 */
export const isChatCompletionChunk = (u: unknown): u is ChatCompletionChunk =>
  isBodyFields(u) &&
  ((u as { choices?: unknown }).choices === undefined || isChunkChoices((u as { choices?: unknown }).choices))

/**
 * `Schema.is(ChatCompletion)`, written out for the non-stream path (one call per response: the generic parser cost
 * ~40 µs of the library's ~600 µs per call in a profile, bench/core). `ChatCompletions.test.ts` keeps the two equal
 * over every recorded response and over random mutations of them.
 *
 * @since 0.1.0
 */
export const isChatCompletion = (u: unknown): u is ChatCompletion =>
  isBodyFields(u) && isChoices((u as { choices?: unknown }).choices)

/**
 * The error envelope providers send as an HTTP error body, and sometimes as an SSE frame inside a 200 stream:
 * Moonshot `{"error":{"type","message"}}`, Zhipu `{"error":{"code":"1113","message"}}` (code a string or a number).
 *
 * @since 0.1.0
 */
export const ErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: opt(Schema.String),
    type: opt(Schema.String),
    code: opt(Schema.Union([Schema.String, Schema.Number])),
    param: opt(Schema.String),
    request_id: opt(Schema.String)
  })
})

/** @since 0.1.0 */
export type ErrorBody = typeof ErrorBody.Type

// =============================================================================
// Requests
// =============================================================================

/**
 * A content part of a request message: `text`, `image_url`, `video_url` (Moonshot, Zhipu vision), `file`
 * (Zhipu vision) or anything else a provider accepts (kept as is).
 *
 * @since 0.1.0
 */
export const ContentPart = Schema.StructWithRest(Schema.Struct({ type: Schema.String }), Rest)

/** @since 0.1.0 */
export type ContentPart = typeof ContentPart.Type

/**
 * A request message. `role` is one of `system`, `developer`, `user`, `assistant`, `tool` (providers add more, such
 * as Moonshot's `cache`); `content` is a string, an array of parts, or `null` on assistant tool-call turns.
 * Assistant messages may carry `reasoning_content` (replayed reasoning) and Moonshot's `partial: true` (prefill).
 *
 * @since 0.1.0
 */
export const RequestMessage = Schema.StructWithRest(
  Schema.Struct({
    role: Schema.String,
    content: Schema.optional(Schema.NullOr(Schema.Union([Schema.String, Schema.Array(ContentPart)]))),
    name: opt(Schema.String),
    reasoning_content: opt(Schema.String),
    tool_calls: opt(Schema.Array(ToolCall)),
    tool_call_id: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type RequestMessage = typeof RequestMessage.Type

/**
 * A tool declaration: `{ type: "function", function: { name, description?, parameters?, strict? } }`, or a
 * provider built-in (Moonshot `builtin_function`, Zhipu `web_search` / `retrieval`), kept as is.
 *
 * @since 0.1.0
 */
export const RequestTool = Schema.StructWithRest(Schema.Struct({ type: Schema.String }), Rest)

/** @since 0.1.0 */
export type RequestTool = typeof RequestTool.Type

/**
 * A `POST /chat/completions` body. Sampling ranges are not checked here (they differ per provider and model; the
 * provider's request shaping checks them); unknown fields pass through.
 *
 * @since 0.1.0
 */
export const ChatCompletionRequest = Schema.StructWithRest(
  Schema.Struct({
    model: Schema.String,
    messages: Schema.Array(RequestMessage),
    stream: opt(Schema.Boolean),
    stream_options: opt(Schema.StructWithRest(Schema.Struct({ include_usage: opt(Schema.Boolean) }), Rest)),
    temperature: opt(Schema.Number),
    top_p: opt(Schema.Number),
    n: opt(Schema.Number),
    max_tokens: opt(Schema.Number),
    max_completion_tokens: opt(Schema.Number),
    stop: opt(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
    presence_penalty: opt(Schema.Number),
    frequency_penalty: opt(Schema.Number),
    seed: opt(Schema.Number),
    user: opt(Schema.String),
    tools: opt(Schema.Array(RequestTool)),
    tool_choice: opt(Schema.Union([Schema.String, Schema.Record(Schema.String, Schema.Unknown)])),
    parallel_tool_calls: opt(Schema.Boolean),
    response_format: opt(Schema.StructWithRest(Schema.Struct({ type: Schema.String }), Rest)),
    reasoning_effort: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type ChatCompletionRequest = typeof ChatCompletionRequest.Type

/**
 * A mutable request body as the converters build it before sending (a plain JSON object).
 *
 * @since 0.1.0
 */
export type WireRequest = { -readonly [K in keyof ChatCompletionRequest]: ChatCompletionRequest[K] } & {
  [key: string]: unknown
}
