/**
 * Pure encoding of `effect/ai` response parts as Anthropic Messages API objects (the `@anthropic-ai/sdk` types), and
 * of failures as Anthropic error envelopes. The Anthropic twin of `ChatCompletionEncoder`.
 *
 * - Non-stream: {@link message} builds one `message`: a `thinking` block from the provider's reasoning, a `text`
 *   block, `tool_use` blocks with parsed `input`; `stop_reason` from {@link stopReason}; usage from Conduit's
 *   normalized usage ({@link usage}).
 * - Stream: a {@link StreamEncoder} turns parts into Anthropic's event sequence as they arrive: `message_start`,
 *   `ping`, then per block `content_block_start` / `content_block_delta` (`thinking_delta` + a closing
 *   `signature_delta`, `text_delta`, `input_json_delta`) / `content_block_stop`, then `message_delta` (stop reason and
 *   the final usage) and `message_stop`. A failure after the stream started is a final `error` event.
 * - Provider-executed tool rounds (a built-in web search run by the provider) are not shown to clients.
 * - Errors: {@link fromHttpError} maps the gateway's error table onto Anthropic's status codes and error types.
 */
import type Anthropic from "@anthropic-ai/sdk"
import type { ResponseSummary } from "@conduitkit/core"
import { Usage } from "@conduitkit/core"
import type { Response } from "effect/ai"
import type * as Errors from "./Errors.js"

type Part = Response.AnyPart | Response.AnyPartEncoded

/**
 * The `signature` of the thinking blocks the gateway emits. Anthropic's signature verifies Claude's own thinking;
 * Kimi and GLM have none, so this constant marks a block as Conduit's: a client sends it back unchanged and the
 * block's text is replayed to the provider as its reasoning.
 */
export const thinkingSignature = "conduit"

/**
 * The Anthropic `stop_reason` for an `effect/ai` finish reason: `tool_use` when the answer calls a client tool,
 * `max_tokens` for `length`, `stop_sequence` when the provider says so (OpenAI-compatible providers report a
 * matched stop sequence as a plain `stop`, so that is `end_turn`), `refusal` for a content filter, else `end_turn`.
 */
export const stopReason = (reason: Response.FinishReason, raw: unknown, toolCalls: boolean): Anthropic.StopReason => {
  if (toolCalls) return "tool_use"
  if (raw === "stop_sequence") return "stop_sequence"
  switch (reason) {
    case "length":
      return "max_tokens"
    case "content-filter":
      return "refusal"
    default:
      return "end_turn"
  }
}

/**
 * Anthropic usage from normalized usage (tokens): `input_tokens` excludes cache reads (Anthropic counts them apart,
 * in `cache_read_input_tokens`), `output_tokens` includes reasoning. Conduit's providers report no cache writes.
 */
export const usage = (u: Usage.TokenUsage) => ({
  input_tokens: Math.max(0, u.inputTokens - u.cachedInputTokens),
  output_tokens: u.outputTokens,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: u.cachedInputTokens
})

/** A tool call's input as an object (string arguments parsed; unparseable ones kept as `{}`). */
const inputOf = (params: unknown): unknown => {
  if (typeof params !== "string") return params ?? {}
  if (params.trim() === "") return {}
  try {
    return JSON.parse(params)
  } catch {
    return {}
  }
}

/**
 * A non-streaming `message` from a summary. `model` is the name the client asked for.
 */
export const message = (params: {
  readonly id: string
  readonly model: string
  readonly summary: ResponseSummary.Summary
}) => {
  const { summary } = params
  const calls = summary.toolCalls.filter((call) => !call.providerExecuted)
  const content: Array<Record<string, unknown>> = []
  if (summary.reasoning !== "") {
    content.push({ type: "thinking", thinking: summary.reasoning, signature: thinkingSignature })
  }
  if (summary.text !== "") content.push({ type: "text", text: summary.text, citations: null })
  for (const call of calls)
    content.push({ type: "tool_use", id: call.id, name: call.name, input: inputOf(call.params) })
  return {
    id: params.id,
    type: "message" as const,
    role: "assistant" as const,
    model: params.model,
    content,
    stop_reason: stopReason(summary.finishReason, summary.metadata.rawFinishReason, calls.length > 0),
    stop_sequence: null,
    stop_details: null,
    usage: usage(summary.usage)
  }
}

// =============================================================================
// Streams
// =============================================================================

/** One SSE event: `event: <type>` and its JSON data (whose `type` is the same). */
export const event = (type: string, data: Record<string, unknown>): string =>
  `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

/**
 * Turns stream parts into Anthropic SSE events.
 *
 * - `start()`: `message_start` (an empty message; usage arrives in `message_delta`) and a `ping`.
 * - `push(part)`: the events one part produces (`""` for parts clients do not see).
 * - `finished()`: whether the `finish` part was seen (a stream that ends without it is incomplete).
 * - `end()`: after the finish part: `message_delta` with `stop_reason` and usage, then `message_stop`.
 * - `usage()`: the normalized usage of the finish part, once seen.
 */
export interface StreamEncoder {
  readonly start: () => string
  readonly push: (part: Part) => string
  readonly finished: () => boolean
  readonly end: () => string
  readonly usage: () => Usage.TokenUsage | undefined
}

/** A {@link StreamEncoder} for one response (`model`: the name the client asked for). */
export const makeStreamEncoder = (params: { readonly id: string; readonly model: string }): StreamEncoder => {
  let index = -1
  let open: "text" | "thinking" | "tool_use" | undefined
  const streamedCalls = new Set<string>()
  const serverCalls = new Set<string>()
  let clientCalls = 0
  let finishUsage: Usage.TokenUsage | undefined
  let finish: { reason: Response.FinishReason; raw: unknown } | undefined
  const close = (): string => {
    if (open === undefined) return ""
    const signature =
      open === "thinking"
        ? event("content_block_delta", { index, delta: { type: "signature_delta", signature: thinkingSignature } })
        : ""
    open = undefined
    return `${signature}${event("content_block_stop", { index })}`
  }
  const openBlock = (kind: "text" | "thinking" | "tool_use", block: Record<string, unknown>): string => {
    const closing = close()
    index++
    open = kind
    return `${closing}${event("content_block_start", { index, content_block: block })}`
  }
  const delta = (kind: "text" | "thinking", text: string): string => {
    if (text === "") return ""
    const start =
      open === kind
        ? ""
        : openBlock(
            kind,
            kind === "text"
              ? { type: "text", text: "", citations: null }
              : { type: "thinking", thinking: "", signature: "" }
          )
    const body = kind === "text" ? { type: "text_delta", text } : { type: "thinking_delta", thinking: text }
    return `${start}${event("content_block_delta", { index, delta: body })}`
  }
  return {
    start: () =>
      event("message_start", {
        message: {
          id: params.id,
          type: "message",
          role: "assistant",
          model: params.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          stop_details: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }
        }
      }) + event("ping", {}),
    push: (part) => {
      switch (part.type) {
        case "text-delta":
          return delta("text", part.delta)
        case "reasoning-delta":
          return delta("thinking", part.delta)
        case "tool-params-start": {
          if (part.providerExecuted === true) {
            serverCalls.add(part.id)
            return ""
          }
          streamedCalls.add(part.id)
          clientCalls++
          return openBlock("tool_use", { type: "tool_use", id: part.id, name: part.name, input: {} })
        }
        case "tool-params-delta":
          if (serverCalls.has(part.id) || !streamedCalls.has(part.id) || part.delta === "") return ""
          return event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: part.delta } })
        case "tool-call": {
          if (part.providerExecuted === true || streamedCalls.has(part.id)) return ""
          // a call that arrived whole: one block with its input as a single JSON delta
          clientCalls++
          const start = openBlock("tool_use", { type: "tool_use", id: part.id, name: part.name, input: {} })
          const json = typeof part.params === "string" ? part.params : JSON.stringify(part.params ?? {})
          return `${start}${event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: json } })}${close()}`
        }
        case "finish": {
          const conduit = (part.metadata as { conduit?: { rawFinishReason?: unknown } } | undefined)?.conduit
          finish = { reason: part.reason, raw: conduit?.rawFinishReason }
          finishUsage = Usage.fromResponseUsage(part.usage as typeof Response.Usage.Encoded)
          return close()
        }
        default:
          return ""
      }
    },
    finished: () => finish !== undefined,
    end: () => {
      const reason = stopReason(finish?.reason ?? "unknown", finish?.raw, clientCalls > 0)
      return (
        event("message_delta", {
          delta: { stop_reason: reason, stop_sequence: null, stop_details: null },
          usage: usage(finishUsage ?? Usage.zero)
        }) + event("message_stop", {})
      )
    },
    usage: () => finishUsage
  }
}

// =============================================================================
// Errors
// =============================================================================

/** An Anthropic error envelope with its HTTP status and extra response headers (lower-case names). */
export interface HttpError {
  readonly status: number
  readonly body: {
    readonly type: "error"
    readonly error: { readonly type: string; readonly message: string }
    readonly request_id?: string | undefined
  }
  readonly headers: Readonly<Record<string, string>>
}

/**
 * The Anthropic answer for the gateway's error (see `Errors.fromSummary` and `Errors.toHttp`), with the
 * status codes and types of Anthropic's error reference (https://docs.anthropic.com/en/api/errors):
 *
 * | gateway | Anthropic |
 * |---|---|
 * | 400 | 400 `invalid_request_error` |
 * | 401 | 401 `authentication_error` |
 * | 403 | 403 `permission_error` |
 * | 404 | 404 `not_found_error` |
 * | 405 | 405 `invalid_request_error` |
 * | 409 (idempotency conflict) | 409 `conflict_error` |
 * | 413 | 413 `request_too_large` |
 * | 429 `insufficient_quota` (quota or balance gone) | 402 `billing_error` (no retry-after: retrying cannot help) |
 * | 429 (rate limits, queue full) | 429 `rate_limit_error`, `retry-after` kept |
 * | 503 `upstream_overloaded`, `queue_timeout` | 529 `overloaded_error`, `retry-after` kept |
 * | 504 (timeouts) | 504 `timeout_error` |
 * | other 5xx | same status, `api_error` |
 *
 * The message is the gateway's own (already free of upstream URLs and keys); the `code` travels in the message's
 * suffix so logs and clients can still tell causes apart (`... (code: upstream_unreachable)`).
 */
export const fromHttpError = (http: Errors.HttpError, requestId?: string): HttpError => {
  const { code } = http.body.error
  let status = http.status
  let type: string
  switch (status) {
    case 400:
    case 405:
      type = "invalid_request_error"
      break
    case 401:
      type = "authentication_error"
      break
    case 403:
      type = "permission_error"
      break
    case 404:
      type = "not_found_error"
      break
    case 409:
      type = "conflict_error"
      break
    case 413:
      type = "request_too_large"
      break
    case 429:
      if (code === "insufficient_quota") {
        status = 402
        type = "billing_error"
      } else type = "rate_limit_error"
      break
    case 503:
      if (code === "upstream_overloaded" || code === "queue_timeout") {
        status = 529
        type = "overloaded_error"
      } else type = "api_error"
      break
    case 504:
      type = "timeout_error"
      break
    default:
      type = status >= 500 ? "api_error" : "invalid_request_error"
  }
  const message =
    code !== null && code !== undefined ? `${http.body.error.message} (code: ${code})` : http.body.error.message
  return {
    status,
    body: { type: "error", error: { type, message }, ...(requestId !== undefined ? { request_id: requestId } : {}) },
    headers: type === "billing_error" ? {} : http.headers
  }
}

/** The final SSE event of a stream that failed after it started (the SDK raises it as an `APIError`). */
export const errorEvent = (error: HttpError): string => `event: error\ndata: ${JSON.stringify(error.body)}\n\n`
