/**
 * Every failure a request can meet, as an OpenAI error envelope with an HTTP status.
 *
 * - {@link GatewayError}: failures the gateway itself detects (authentication, body size, malformed JSON, invalid
 *   UTF-8, schema violations, unknown routes), carrying their final HTTP answer.
 * - Model failures (`AiError`) go through `OpenAiWire.fromSummary` (the provider error table).
 * - Session failures: rate limit and queue full 429 with `Retry-After`, queue timeout 503, execution timeout 504,
 *   rate-limit or conversation store down 503.
 * - `UnknownModelError` from the registry: 404 `model_not_found`.
 * - Anything else (a defect): 500 `internal_error`, with no detail leaked to the client.
 */
import { ProviderError, ProviderRegistry } from "@conduitkit/core"
import { type Cause, Schema } from "effect"
import { AiError } from "effect/ai"
import * as OpenAiWire from "./OpenAiWire.js"

/** A failure detected by the gateway, with its HTTP answer. */
export class GatewayError extends Schema.TaggedError<GatewayError>()("GatewayError", {
  status: Schema.Number,
  message: Schema.String,
  type: Schema.String,
  code: Schema.NullOr(Schema.String),
  param: Schema.NullOr(Schema.String)
}) {
  /** The HTTP answer. */
  toHttp(): OpenAiWire.HttpError {
    return OpenAiWire.httpError(this.status, this.message, this.type, this.code, this.param)
  }
}

/** 400 `invalid_request_error` with an optional code and the offending field. */
export const badRequest = (message: string, code: string | null = null, param: string | null = null) =>
  new GatewayError({ status: 400, message, type: "invalid_request_error", code, param })

/** 401: no bearer key was sent. */
export const missingKey = new GatewayError({
  status: 401,
  message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
  type: "invalid_request_error",
  code: "missing_api_key",
  param: null
})

/** 401: the bearer key is not one of `CONDUIT_API_KEYS`. */
export const invalidKey = new GatewayError({
  status: 401,
  message: "Incorrect API key provided.",
  type: "invalid_request_error",
  code: "invalid_api_key",
  param: null
})

/** 413: the body is larger than `CONDUIT_MAX_BODY_BYTES`. */
export const tooLarge = (maxBytes: number) =>
  new GatewayError({
    status: 413,
    message: `The request body is larger than the ${maxBytes}-byte limit.`,
    type: "invalid_request_error",
    code: "request_too_large",
    param: null
  })

/** 404: no such route. */
export const routeNotFound = (method: string, path: string) =>
  new GatewayError({
    status: 404,
    message: `No route for ${method} ${path}. Routes: POST /v1/chat/completions, GET /v1/models, GET /healthz, GET /metrics.`,
    type: "invalid_request_error",
    code: "not_found",
    param: null
  })

/** 405: a known path with another method. */
export const methodNotAllowed = (method: string, path: string, allowed: string) =>
  new GatewayError({
    status: 405,
    message: `${method} is not allowed on ${path}; use ${allowed}.`,
    type: "invalid_request_error",
    code: "method_not_allowed",
    param: null
  })

/** 503: a request arrived on a kept-alive connection after shutdown began. */
export const shuttingDown = new GatewayError({
  status: 503,
  message: "The gateway is shutting down; retry the request.",
  type: "server_error",
  code: "server_shutting_down",
  param: null
})

/** 502: the upstream stream ended before producing anything. */
export const emptyStream = new GatewayError({
  status: 502,
  message: "The upstream stream ended without producing anything.",
  type: "upstream_error",
  code: "upstream_stream_truncated",
  param: null
})

const internal = OpenAiWire.httpError(500, "The gateway failed unexpectedly.", "server_error", "internal_error")

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/**
 * The HTTP answer for a failure value (the `E` of a failed request). Returns `undefined` for values it does not know
 * (the caller answers 500 and logs them).
 */
export const toHttp = (error: unknown): OpenAiWire.HttpError | undefined => {
  if (error instanceof GatewayError) return error.toHttp()
  if (AiError.isAiError(error)) {
    return OpenAiWire.fromSummary(ProviderError.describe(error))
  }
  if (error instanceof ProviderRegistry.UnknownModelError) {
    return OpenAiWire.httpError(404, error.message, "invalid_request_error", "model_not_found", "model")
  }
  const value = error as Record<string, unknown>
  switch (tagOf(error)) {
    case "RateLimitExceededError":
      return OpenAiWire.httpError(
        429,
        String(value.message),
        "rate_limit_error",
        "rate_limit_exceeded",
        null,
        OpenAiWire.retryAfterHeaders(Number(value.retryAfterMs))
      )
    case "QueueFullError":
      return OpenAiWire.httpError(
        429,
        "The gateway is at capacity: too many requests are waiting. Retry shortly.",
        "rate_limit_error",
        "queue_full",
        null,
        OpenAiWire.retryAfterHeaders(1000)
      )
    case "QueueTimeoutError":
      return OpenAiWire.httpError(
        503,
        `The request waited ${value.timeoutMs} ms for a free slot (queue timeout).`,
        "server_error",
        "queue_timeout",
        null,
        OpenAiWire.retryAfterHeaders(1000)
      )
    case "ExecutionTimeoutError":
      return OpenAiWire.httpError(
        504,
        `The request did not finish within the gateway's request timeout of ${value.timeoutMs} ms.`,
        "timeout",
        "request_timeout"
      )
    case "MetadataTooLargeError":
      return OpenAiWire.httpError(400, String(value.message), "invalid_request_error", "metadata_too_large")
    case "RateLimitStoreError":
      return OpenAiWire.httpError(
        503,
        "The rate-limit store is unavailable.",
        "server_error",
        "rate_limit_store_unavailable"
      )
    case "ConversationError":
      return OpenAiWire.httpError(
        503,
        "The conversation store is unavailable.",
        "server_error",
        "conversation_store_unavailable"
      )
    default:
      return undefined
  }
}

/**
 * The HTTP answer for a failed request's cause: its first failure (see {@link toHttp}), else 500. `known` is false
 * for defects and unknown failures, which the caller should log with the cause.
 */
export const fromCause = (
  cause: Cause.Cause<unknown>
): { readonly http: OpenAiWire.HttpError; readonly known: boolean } => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") {
      const http = toHttp(reason.error)
      if (http !== undefined) return { http, known: true }
    }
  }
  return { http: internal, known: false }
}
