/**
 * Pure encoding of `effect/ai` response parts as OpenAI Chat Completions objects, and of failures as OpenAI error
 * envelopes with an HTTP status.
 *
 * - Non-stream: one `chat.completion` with `message.content`, `message.reasoning_content` (kept, so clients can send
 *   it back), `tool_calls`, `finish_reason` and `usage` including `prompt_tokens_details.cached_tokens` and
 *   `completion_tokens_details.reasoning_tokens`.
 * - Stream: a {@link StreamEncoder} turning parts into `chat.completion.chunk` objects as they arrive: the first chunk
 *   carries `role`, deltas carry `content` / `reasoning_content` / `tool_calls` fragments (by index), the finish chunk
 *   carries `finish_reason`, and with `stream_options.include_usage` a final `choices: []` usage chunk.
 * - Provider-executed tool calls and results (Moonshot `$web_search` round trips, handled upstream of the client) are
 *   not shown to clients.
 */

import { type ProviderError, type ResponseSummary, Usage } from "@conduit-llm/core"
import type { Response } from "effect/ai"

type Part = Response.AnyPart | Response.AnyPartEncoded

/** OpenAI finish reasons from `effect/ai` ones (the provider's raw reason wins when it is an OpenAI value). */
export const finishReason = (reason: Response.FinishReason, raw: unknown): string => {
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

/** OpenAI `usage` from normalized usage. */
export const usage = (u: Usage.TokenUsage) => ({
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

/** A non-streaming `chat.completion` from a summary. `model` is the name the client asked for. */
export const completion = (params: {
  readonly id: string
  readonly created: number
  readonly model: string
  readonly summary: ResponseSummary.Summary
}) => {
  const { summary } = params
  const calls = summary.toolCalls.filter((call) => !call.providerExecuted)
  return {
    id: params.id,
    object: "chat.completion" as const,
    created: params.created,
    model: params.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant" as const,
          content: summary.text === "" && calls.length > 0 ? null : summary.text,
          ...(summary.reasoning !== "" ? { reasoning_content: summary.reasoning } : {}),
          ...(calls.length > 0 ? { tool_calls: calls.map(toolCallJson) } : {})
        },
        finish_reason: finishReason(summary.finishReason, summary.metadata.rawFinishReason)
      }
    ],
    usage: usage(summary.usage)
  }
}

/**
 * Turns stream parts into chunk objects. `push` returns the chunks a part produces (often none); `usageChunk`
 * gives the trailing usage chunk once the finish part was seen.
 */
export interface StreamEncoder {
  readonly push: (part: Part) => Array<Record<string, unknown>>
  readonly finished: () => boolean
  readonly usageChunk: () => Record<string, unknown> | undefined
}

export const makeStreamEncoder = (params: {
  readonly id: string
  readonly created: number
  readonly model: string
}): StreamEncoder => {
  let sentRole = false
  let finishUsage: Usage.TokenUsage | undefined
  let finished = false
  const toolIndex = new Map<string, number>()
  const serverTools = new Set<string>()
  const streamedParams = new Set<string>()
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => {
    const out = {
      id: params.id,
      object: "chat.completion.chunk",
      created: params.created,
      model: params.model,
      choices: [{ index: 0, delta: sentRole ? delta : { role: "assistant", ...delta }, finish_reason: finish }]
    }
    sentRole = true
    return out
  }
  return {
    push: (part) => {
      switch (part.type) {
        case "text-delta":
          return part.delta === "" ? [] : [chunk({ content: part.delta })]
        case "reasoning-delta":
          return part.delta === "" ? [] : [chunk({ reasoning_content: part.delta })]
        case "tool-params-start": {
          if ((part as { providerExecuted?: boolean }).providerExecuted === true) {
            serverTools.add(part.id)
            return []
          }
          const index = toolIndex.size
          toolIndex.set(part.id, index)
          streamedParams.add(part.id)
          return [
            chunk({
              tool_calls: [{ index, id: part.id, type: "function", function: { name: part.name, arguments: "" } }]
            })
          ]
        }
        case "tool-params-delta": {
          const index = toolIndex.get(part.id)
          if (index === undefined || serverTools.has(part.id)) return []
          return [chunk({ tool_calls: [{ index, function: { arguments: part.delta } }] })]
        }
        case "tool-call": {
          if (part.providerExecuted === true) {
            // a provider-executed call (e.g. $web_search) whose params were streamed: retract nothing, hide it
            return []
          }
          if (streamedParams.has(part.id)) return []
          const index = toolIndex.size
          toolIndex.set(part.id, index)
          return [chunk({ tool_calls: [{ index, ...toolCallJson(part) }] })]
        }
        case "finish": {
          finished = true
          const conduit = (part.metadata as { conduit?: { rawFinishReason?: unknown } } | undefined)?.conduit
          finishUsage = Usage.fromResponseUsage(part.usage as typeof Response.Usage.Encoded)
          return [chunk({}, finishReason(part.reason, conduit?.rawFinishReason))]
        }
        default:
          return []
      }
    },
    finished: () => finished,
    usageChunk: () =>
      finishUsage === undefined
        ? undefined
        : {
            id: params.id,
            object: "chat.completion.chunk",
            created: params.created,
            model: params.model,
            choices: [],
            usage: usage(finishUsage)
          }
  }
}

/** Frames one SSE data event. */
export const sseData = (value: unknown): string =>
  `data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`

// =============================================================================
// Errors
// =============================================================================

/** An OpenAI error envelope with its HTTP status and extra response headers. */
export interface HttpError {
  readonly status: number
  readonly body: {
    readonly error: {
      readonly message: string
      readonly type: string
      readonly code: string | null
      readonly param: string | null
    }
  }
  readonly headers: Readonly<Record<string, string>>
}

export const httpError = (
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
  headers: Readonly<Record<string, string>> = {}
): HttpError => ({ status, body: { error: { message, type, code, param } }, headers })

const retryAfterHeader = (ms: number | undefined): Record<string, string> =>
  ms === undefined
    ? {}
    : { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))), "retry-after-ms": String(Math.ceil(ms)) }

/**
 * The HTTP answer for a model failure (see the README's error table):
 * invalid request 400 (`context_length_exceeded` when the prompt is too long), upstream auth failure 502 (the
 * operator's key, not the client's), upstream permission 403, content policy 400, rate limit 429 with Retry-After,
 * quota 429 `insufficient_quota`, timeouts 504 naming which, truncated or failed upstream 502, overload 503.
 */
export const fromSummary = (summary: ProviderError.ErrorSummary): HttpError => {
  const message = summary.message
  if (summary.kind === "idempotency-conflict")
    return httpError(409, message, "invalid_request_error", "idempotency_conflict")
  if (summary.kind === "timeout") {
    return httpError(
      504,
      message,
      "timeout",
      `${summary.timeout ?? "total"}_timeout`.replace("firstToken", "first_token")
    )
  }
  switch (summary.reason) {
    case "InvalidRequestError":
    case "InvalidUserInputError":
    case "UnsupportedSchemaError":
      if (summary.contextLength)
        return httpError(400, message, "invalid_request_error", "context_length_exceeded", "messages")
      if (summary.kind === "retired-model" || summary.status === 404)
        return httpError(404, message, "invalid_request_error", "model_not_found", "model")
      return httpError(400, message, "invalid_request_error", summary.code ?? null)
    case "ContentPolicyError":
      return httpError(400, message, "invalid_request_error", "content_policy_violation")
    case "AuthenticationError":
      return summary.status === 403
        ? httpError(403, message, "permission_error", "upstream_permission_denied")
        : httpError(
            502,
            `the upstream provider rejected the gateway's credentials: ${message}`,
            "upstream_error",
            "upstream_authentication_failed"
          )
    case "QuotaExhaustedError":
      return httpError(429, message, "insufficient_quota", "insufficient_quota")
    case "RateLimitError":
      return httpError(
        429,
        message,
        "rate_limit_error",
        "rate_limit_exceeded",
        null,
        retryAfterHeader(summary.retryAfterMs)
      )
    case "InternalProviderError":
      return summary.status === 503 || summary.status === 529
        ? httpError(503, message, "upstream_error", "upstream_overloaded", null, retryAfterHeader(summary.retryAfterMs))
        : httpError(502, message, "upstream_error", "upstream_error")
    default:
      return httpError(
        502,
        message,
        "upstream_error",
        summary.kind === "truncated-stream" ? "upstream_stream_truncated" : "upstream_error"
      )
  }
}
