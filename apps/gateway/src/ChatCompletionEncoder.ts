/**
 * Pure encoding of `effect/ai` response parts as OpenAI Chat Completions objects: `chat.completion` for an answer,
 * `chat.completion.chunk` SSE frames for a stream.
 *
 * - Non-stream: {@link completion} builds one `chat.completion` with `message.content`, `message.reasoning_content`
 *   (kept, so clients can send it back), `tool_calls`, `finish_reason` and `usage` including
 *   `prompt_tokens_details.cached_tokens` and `completion_tokens_details.reasoning_tokens`.
 * - Stream: a {@link StreamEncoder} turns parts into SSE frames of `chat.completion.chunk` objects as they arrive: the
 *   first chunk carries `role`, deltas carry `content` / `reasoning_content` / `tool_calls` fragments (by index), the
 *   finish chunk carries `finish_reason`, and with `stream_options.include_usage` a final `choices: []` usage chunk
 *   precedes `data: [DONE]`. The chunk envelope (`id`, `object`, `created`, `model`) is serialized once per stream,
 *   so a text delta costs one `JSON.stringify` of the delta string. {@link errorEvent} is the final frame of a stream
 *   that failed after it started.
 * - `model` is the model that answered (the upstream's `model`, see `Engine.answeringModel`), as OpenAI reports it.
 * - Typed against the `openai` SDK's own response types (`ChatCompletion`, `ChatCompletionChunk`, `CompletionUsage`),
 *   so a field OpenAI's schema requires cannot go missing without failing typecheck.
 * - Provider-executed tool calls and results (Moonshot `$web_search` round trips, handled upstream of the client) are
 *   not shown to clients. A streamed call of a provider-executed tool the client declared (`providerExecutedTools`) is held until its
 *   `tool-call` part tells whether the provider executed it (providers stream a call's arguments before they know).
 *
 * The error envelopes themselves (`HttpError`, the error → HTTP table) are in `Errors`.
 */

import { type ChatCompletions, type ResponseSummary, Usage } from "@conduitkit/core"
import type { Response } from "effect/ai"
import type { ChatCompletion, ChatCompletionChunk } from "openai/resources/chat/completions"
import type { CompletionUsage } from "openai/resources/completions"
import type { HttpError } from "./Errors.js"

type Part = Response.AnyPart | Response.AnyPartEncoded

/**
 * The OpenAI `finish_reason` for an `effect/ai` finish reason. The provider's raw reason wins when it already is an
 * OpenAI value (`stop`, `length`, `tool_calls`, `content_filter`); otherwise `length`, `tool-calls` and
 * `content-filter` map to their OpenAI names and everything else to `stop`.
 */
export const finishReason = (reason: Response.FinishReason, raw: unknown): ChatCompletion.Choice["finish_reason"] => {
  if (raw === "stop" || raw === "length" || raw === "tool_calls" || raw === "content_filter") return raw
  switch (reason) {
    case "length":
      return "length"
    case "tool-calls":
      return "tool_calls"
    case "content-filter":
      return "content_filter"
    default:
      return "stop"
  }
}

/**
 * OpenAI `usage` from normalized usage (all counts in tokens): `prompt_tokens` includes cached tokens,
 * `completion_tokens` includes reasoning tokens, `total_tokens` is their sum.
 */
export const usage = (u: Usage.TokenUsage): CompletionUsage => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.inputTokens + u.outputTokens,
  prompt_tokens_details: { cached_tokens: u.cachedInputTokens },
  completion_tokens_details: { reasoning_tokens: u.reasoningTokens }
})

const toolCallJson = (call: { readonly id: string; readonly name: string; readonly params: unknown }) => ({
  id: call.id,
  type: "function" as const,
  function: {
    name: call.name,
    arguments: typeof call.params === "string" ? call.params : JSON.stringify(call.params ?? {})
  }
})

/** A `chat.completion` message with Conduit's `reasoning_content` extra (kept so clients can send it back). */
export type CompletionMessage = ChatCompletion.Choice["message"] & { readonly reasoning_content?: string }

/**
 * A non-streaming `chat.completion` from a summary. `model` is the model that answered; `created` is in seconds
 * since the epoch. `content` is `null` when the answer is only tool calls; `refusal` and `logprobs` are `null`
 * (OpenAI's schema requires both, nullable; the providers send neither).
 */
export const completion = (params: {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly summary: ResponseSummary.Summary
}): ChatCompletion => {
  const { summary } = params
  const calls = summary.toolCalls.filter((call) => !call.providerExecuted)
  const message: CompletionMessage = {
    role: "assistant",
    content: summary.text === "" && calls.length > 0 ? null : summary.text,
    refusal: null,
    ...(summary.reasoning !== "" ? { reasoning_content: summary.reasoning } : {}),
    ...(calls.length > 0 ? { tool_calls: calls.map(toolCallJson) } : {})
  }
  return {
    id: params.id,
    object: "chat.completion",
    created: params.created,
    model: params.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: finishReason(summary.finishReason, summary.metadata.rawFinishReason)
      }
    ],
    usage: usage(summary.usage)
  }
}

// =============================================================================
// Streams
// =============================================================================

/** What an answer cost: `amount` in `currency` (ISO 4217), as core's `Cost.costOf` gives it. */
export interface CostAmount {
  readonly amount: number
  readonly currency: string
}

/** The members of Conduit's cost extension of a chunk (`,"conduit":{"cost":{...}}`), `""` without a cost. */
const costExtension = (cost: CostAmount | undefined): string =>
  cost === undefined ? "" : `,"conduit":{"cost":${JSON.stringify({ amount: cost.amount, currency: cost.currency })}}`

/** The frame that ends a successful stream. */
export const doneFrame = "data: [DONE]\n\n"

/**
 * The names calls of provider-executed tool declarations carry (`function.name` when the declaration has one, as Kimi's
 * `{ type: "builtin_function", function: { name: "$web_search" } }`, else its `type`, as GLM's `web_search`).
 */
export const providerExecutedToolNames = (tools: ReadonlyArray<ChatCompletions.RequestTool>): ReadonlySet<string> =>
  new Set(
    tools.map((tool) => {
      const name = (tool.function as { readonly name?: unknown } | undefined)?.name
      return typeof name === "string" ? name : tool.type
    })
  )

/**
 * Turns stream parts into SSE frames.
 *
 * - `push(part)`: the frames one part produces, concatenated (`""` for parts clients do not see, such as
 *   `response-metadata`, `text-start` or provider-executed tool rounds).
 * - `finished()`: whether the `finish` part was seen (a stream that ends without it is incomplete).
 * - `end(includeUsage, cost)`: the closing frames after the finish part: the `choices: []` usage chunk when
 *   `includeUsage` (with Conduit's extension `"conduit": {"cost": {"amount", "currency"}}` when the `cost` of the
 *   answer is known: a stream's headers are sent before it is, so it rides on the last chunk, a field OpenAI clients
 *   pass through or ignore), then `data: [DONE]`.
 * - `usage()`: the normalized usage of the finish part, once seen.
 */
export interface StreamEncoder {
  readonly push: (part: Part) => string
  readonly finished: () => boolean
  readonly end: (includeUsage: boolean, cost?: CostAmount | undefined) => string
  readonly usage: () => Usage.TokenUsage | undefined
}

/**
 * A {@link StreamEncoder} for one response. `id` and `model` go in every chunk: `model` is the model that answered
 * (the `response-metadata` part's `modelId`, which precedes any output; the given `model` until then); `created` is
 * in seconds since the epoch. `providerExecutedTools`: names of the provider-executed tools the request declared (Kimi `builtin_function`) (their
 * streamed calls are held until the `tool-call` part: dropped when provider-executed, else sent whole).
 */
export const makeStreamEncoder = (params: {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly providerExecutedTools?: ReadonlySet<string> | undefined
}): StreamEncoder => {
  const providerExecutedTools = params.providerExecutedTools
  let model = params.model
  // the chunk envelope, serialized once, at the first frame (when the answering model is known); typed against the
  // SDK's chunk so a required field cannot go missing
  let envelope: string | undefined
  let head = ""
  const envelopeOf = (): string => {
    if (envelope === undefined) {
      const shape: Omit<ChatCompletionChunk, "choices"> = {
        id: params.id,
        object: "chat.completion.chunk",
        created: params.created,
        model
      }
      envelope = `${JSON.stringify(shape).slice(0, -1)},"choices":`
      head = `data: ${envelope}[{"index":0,"delta":{`
    }
    return envelope
  }
  let sentRole = false
  let finishUsage: Usage.TokenUsage | undefined
  let finished = false
  const toolIndex = new Map<string, number>()
  const providerExecutedCallIds = new Set<string>()
  const streamedParams = new Set<string>()
  /** `delta` is the JSON members of the delta object without braces (may be empty). */
  const frame = (delta: string, finish = "null"): string => {
    envelopeOf()
    let role = ""
    if (!sentRole) {
      sentRole = true
      role = delta === "" ? `"role":"assistant"` : `"role":"assistant",`
    }
    return `${head}${role}${delta}},"finish_reason":${finish}}]}\n\n`
  }
  return {
    push: (part) => {
      switch (part.type) {
        case "response-metadata":
          if (envelope === undefined && typeof part.modelId === "string" && part.modelId !== "") model = part.modelId
          return ""
        case "text-delta":
          return part.delta === "" ? "" : frame(`"content":${JSON.stringify(part.delta)}`)
        case "reasoning-delta":
          return part.delta === "" ? "" : frame(`"reasoning_content":${JSON.stringify(part.delta)}`)
        case "tool-params-start": {
          if (part.providerExecuted === true || providerExecutedTools?.has(part.name) === true) {
            providerExecutedCallIds.add(part.id)
            return ""
          }
          const index = toolIndex.size
          toolIndex.set(part.id, index)
          streamedParams.add(part.id)
          return frame(
            `"tool_calls":${JSON.stringify([{ index, id: part.id, type: "function", function: { name: part.name, arguments: "" } }])}`
          )
        }
        case "tool-params-delta": {
          const index = toolIndex.get(part.id)
          if (index === undefined || providerExecutedCallIds.has(part.id) || part.delta === "") return ""
          return frame(`"tool_calls":[{"index":${index},"function":{"arguments":${JSON.stringify(part.delta)}}}]`)
        }
        case "tool-call": {
          // a provider-executed call (e.g. $web_search) is answered upstream; a streamed call was already sent; a held
          // call of a provider-executed tool the provider did not execute is sent whole
          if (part.providerExecuted === true || streamedParams.has(part.id)) return ""
          const index = toolIndex.size
          toolIndex.set(part.id, index)
          return frame(`"tool_calls":${JSON.stringify([{ index, ...toolCallJson(part) }])}`)
        }
        case "finish": {
          finished = true
          const conduit = (part.metadata as { conduit?: { rawFinishReason?: unknown } } | undefined)?.conduit
          finishUsage = Usage.fromResponseUsage(part.usage as typeof Response.Usage.Encoded)
          return frame("", JSON.stringify(finishReason(part.reason, conduit?.rawFinishReason)))
        }
        default:
          return ""
      }
    },
    finished: () => finished,
    end: (includeUsage, cost) =>
      includeUsage && finishUsage !== undefined
        ? `data: ${envelopeOf()}[],"usage":${JSON.stringify(usage(finishUsage))}${costExtension(cost)}}\n\n${doneFrame}`
        : doneFrame,
    usage: () => finishUsage
  }
}

/**
 * The final SSE frame of a stream that failed after it started: an unnamed `data: {"error": {...}}` frame with the
 * OpenAI envelope (no `event:` line), and no `[DONE]` after it. Every major client surfaces that form as an error
 * (read in their source): the `openai` SDKs raise an `APIError` for any data object with `error` (and for
 * `event: error`), and LangChain's OpenAI models stream through them; the Vercel AI SDK ignores event names and
 * parses every data line against its chunk-or-error schema, emitting an `error` part; an EventSource-style reader
 * hands only unnamed events to its message handler, where an `event: error` frame would be lost.
 * `@effect/ai-openai-compat` drops data that is not a chunk; without `[DONE]` its stream ends with no `finish`
 * part, which its callers see as an incomplete answer.
 */
export const errorEvent = (error: HttpError): string => `data: ${JSON.stringify(error.body)}\n\n`
