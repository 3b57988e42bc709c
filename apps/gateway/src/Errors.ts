/**
 * Every failure a request can meet, as an OpenAI error envelope with an HTTP status.
 *
 * - {@link GatewayError}: failures the gateway itself detects (authentication, body size, malformed JSON, invalid
 *   UTF-8, schema violations, unknown routes), carrying their final HTTP answer.
 * - Model failures (`AiError`) go through {@link fromSummary} (the provider error table).
 * - Session failures: rate limit, key budget spent ({@link budgetExceeded}) and queue full 429 with `Retry-After`, queue timeout 503, execution timeout 504,
 *   rate-limit or conversation store down 503.
 * - `UnknownModelError` from the registry: 404 `model_not_found`.
 * - Anything else (a defect): 500 `internal_error`, with no detail leaked to the client.
 *
 * Client-facing messages never carry the upstream's URL (a config-only backend's address is internal), credentials,
 * or raw upstream text that could hold them ({@link clientMessage}); the full detail goes to the logs
 * ({@link logDetail}: URLs kept without their userinfo, credentials redacted).
 *
 * {@link errorResponse} is the HTTP response of an {@link HttpError}.
 */
import { ProviderError, ProviderRegistry } from "@conduitkit/core"
import type { Budget } from "@conduitkit/session"
import { type Cause, Schema } from "effect"
import { AiError } from "effect/ai"
import { HttpServerResponse } from "effect/http"
import type { ErrorObject } from "openai/resources/shared"

// =============================================================================
// OpenAI error envelopes
// =============================================================================

/**
 * An OpenAI error envelope (the `openai` SDK's `ErrorObject`: `message`, `type`, `code` and `param`, the last two
 * nullable) with its HTTP status and extra response headers (lower-case names).
 */
export interface HttpError {
  readonly status: number
  readonly body: { readonly error: Readonly<ErrorObject> }
  readonly headers: Readonly<Record<string, string>>
}

/** Builds an {@link HttpError}. */
export const httpError = (
  status: number,
  message: string,
  type: string,
  code: string | null = null,
  param: string | null = null,
  headers: Readonly<Record<string, string>> = {}
): HttpError => ({ status, body: { error: { message, type, code, param } }, headers })

/**
 * `Retry-After` (whole seconds, rounded up, at least 1) and `retry-after-ms` for a delay in ms; no headers when the
 * delay is unknown.
 */
export const retryAfterHeaders = (ms: number | undefined): Record<string, string> =>
  ms === undefined || !Number.isFinite(ms)
    ? {}
    : {
        "retry-after": String(Math.max(1, Math.ceil(ms / 1000))),
        "retry-after-ms": String(Math.max(0, Math.ceil(ms)))
      }

// =============================================================================
// What a client may see of a failure's message
// =============================================================================

/** effect/ai's request line in an error description: ` (POST https://host/v1/chat/completions)`. */
const requestLine = /\s*\((?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^)]*\)/g
/** effect/ai appends the raw upstream body (` Response: ...`) when the upstream sent no message. */
const rawBody = /\s*Response: [\s\S]*$/
const url = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>)\]]+/gi
const userinfo = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]*@/gi
/** A header or field that holds a credential, echoed with its value (`Authorization: Bearer ...`, `"api_key":"..."`). */
const credentialField =
  /\b(authorization|proxy-authorization|x-api-key|api[-_]?key|apikey|cookie|password|passwd|secret|(?:access[-_]?|refresh[-_]?)?token)(["']?\s*[:=]\s*["']?)(?:(?:bearer|basic)\s+)?[^\s"',;}&]+/gi
/** An echoed `Host` (or forwarding) header, and a bare IPv4 address with its port: an upstream's internal address. */
const hostField = /\b(host|x-forwarded-host|x-forwarded-for|x-real-ip)(["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi
const ipv4 = /\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g
const authScheme = /\b(bearer|basic)\s+[^\s"',;}]+/gi
/** A token-like word: a run of 20 or more letters and digits (API keys, JWTs, hex secrets), with what it is glued to. */
const tokenLike = /[\w.~+/-]*[A-Za-z0-9]{20,}(?:[\w~+/=-]|\.(?=\w))*/g
const hasLetterAndDigit = (word: string) => /\d/.test(word) && /[A-Za-z]/.test(word)

/**
 * A failure's message as the gateway's logs keep it: URLs without their userinfo (`user:pass@`), credentials that
 * upstream text echoed (`Authorization: Bearer ...`, `api_key=...`, key-like tokens) as `[redacted]`.
 */
export const logDetail = (message: string): string =>
  message
    .replace(userinfo, "$1")
    .replace(credentialField, "$1$2[redacted]")
    .replace(authScheme, "$1 [redacted]")
    .replace(tokenLike, (word) => (hasLetterAndDigit(word) ? "[redacted]" : word))

/**
 * A failure's message as a client may see it: {@link logDetail}, then without the upstream request line
 * (`(POST https://host/v1/...)`), the raw upstream body effect/ai appends when the upstream sent no message, any other
 * URL (`[url]`), an echoed `Host` header or a bare IPv4 address (`[address]`). The provider's error type and code stay
 * (`[code: ...]`, `[type: ...]`).
 */
export const clientMessage = (message: string): string =>
  logDetail(message.replace(requestLine, "").replace(rawBody, ""))
    .replace(url, "[url]")
    .replace(hostField, "$1$2[address]")
    .replace(ipv4, "[address]")

/**
 * The client message of a network failure: only the system error code (`ECONNREFUSED`, `ENOTFOUND`...) of the
 * description, which otherwise names the upstream's address.
 */
const networkMessage = (message: string): string => {
  const code = /\bE[A-Z]{3,}\b/.exec(message)?.[0]
  return `The upstream provider could not be reached${code !== undefined ? ` (${code})` : ""}.`
}

const timeoutCodes: Record<string, string> = {
  firstToken: "first_token_timeout",
  idle: "idle_timeout",
  total: "total_timeout"
}

/**
 * The HTTP answer for a model failure (see the README's error table). `param` names the offending request field
 * when the failure knows it.
 *
 * | failure | status | type / code |
 * |---|---|---|
 * | idempotency conflict | 409 | `invalid_request_error` / `idempotency_conflict` |
 * | timeout (first token, idle, total) | 504 | `timeout` / `first_token_timeout`, `idle_timeout`, `total_timeout` |
 * | prompt too long | 400 | `invalid_request_error` / `context_length_exceeded` |
 * | retired or unknown upstream model (upstream 404, or a provider code marked `model-not-found`) | 404 | `invalid_request_error` / `model_not_found` |
 * | other invalid request | 400 | `invalid_request_error` / provider code |
 * | content policy | 400 | `invalid_request_error` / `content_policy_violation` |
 * | upstream permission denied (403) | 403 | `permission_error` / `upstream_permission_denied` |
 * | upstream rejected the gateway's key | 502 | `upstream_error` / `upstream_authentication_failed` |
 * | quota or balance exhausted | 429 | `insufficient_quota` / `insufficient_quota` (no Retry-After) |
 * | rate limited | 429 | `rate_limit_error` / `rate_limit_exceeded`, `Retry-After` passed through |
 * | upstream overloaded (503, 529) or cache store down | 503 | `upstream_error` / `upstream_overloaded`, `cache_unavailable` |
 * | network failure | 502 | `upstream_error` / `upstream_unreachable` |
 * | truncated stream, other upstream failure | 502 | `upstream_error` / `upstream_stream_truncated`, `upstream_error` |
 */
export const fromSummary = (
  summary: ProviderError.ErrorSummary,
  param: string | null = summary.param ?? null
): HttpError => {
  const message = summary.reason === "NetworkError" ? networkMessage(summary.message) : clientMessage(summary.message)
  if (summary.kind === "idempotency-conflict") {
    return httpError(409, message, "invalid_request_error", "idempotency_conflict", "idempotency-key")
  }
  if (summary.kind === "timeout") {
    return httpError(504, message, "timeout", timeoutCodes[summary.timeout ?? "total"] ?? "total_timeout")
  }
  if (summary.kind === "cache-unavailable") {
    return httpError(503, message, "upstream_error", "cache_unavailable")
  }
  switch (summary.reason) {
    case "InvalidRequestError":
    case "InvalidUserInputError":
    case "UnsupportedSchemaError":
      if (summary.contextLength) {
        return httpError(400, message, "invalid_request_error", "context_length_exceeded", param ?? "messages")
      }
      // an upstream 404, or a provider's unknown-model code on another status (GLM's 1211 comes as HTTP 400)
      if (summary.kind === "retired-model" || summary.kind === "model-not-found" || summary.status === 404) {
        return httpError(404, message, "invalid_request_error", "model_not_found", "model")
      }
      return httpError(
        400,
        message,
        "invalid_request_error",
        summary.code ?? (param === "providerOptions" ? "invalid_provider_options" : null),
        param
      )
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
        retryAfterHeaders(summary.retryAfterMs)
      )
    case "InternalProviderError":
      return summary.status === 503 || summary.status === 529
        ? httpError(
            503,
            message,
            "upstream_error",
            "upstream_overloaded",
            null,
            retryAfterHeaders(summary.retryAfterMs)
          )
        : httpError(502, message, "upstream_error", "upstream_error")
    case "NetworkError":
      return httpError(502, message, "upstream_error", "upstream_unreachable")
    default:
      return httpError(
        502,
        message,
        "upstream_error",
        summary.kind === "truncated-stream" ? "upstream_stream_truncated" : "upstream_error"
      )
  }
}

/** The JSON response of an {@link HttpError}, with the request id. */
export const errorResponse = (http: HttpError, requestId: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(http.body), {
    status: http.status,
    headers: { "content-type": "application/json", ...http.headers, "x-request-id": requestId }
  })

// =============================================================================
// Failures the gateway detects, and the HTTP answer of any failure
// =============================================================================

/** A failure detected by the gateway, with its HTTP answer. */
export class GatewayError extends Schema.TaggedError<GatewayError>()("GatewayError", {
  status: Schema.Number,
  message: Schema.String,
  type: Schema.String,
  code: Schema.NullOr(Schema.String),
  param: Schema.NullOr(Schema.String)
}) {
  /** The HTTP answer. */
  toHttp(): HttpError {
    return httpError(this.status, this.message, this.type, this.code, this.param)
  }
}

/** 400 `invalid_request_error` with an optional code and the offending field. */
export const badRequest = (message: string, code: string | null = null, param: string | null = null) =>
  new GatewayError({ status: 400, message, type: "invalid_request_error", code, param })

/** 401: no bearer key was sent. */
export const missingKey = new GatewayError({
  status: 401,
  message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.",
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
    message: `No route for ${method} ${path}. Routes: POST /v1/chat/completions, POST /v1/embeddings, POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models, GET /healthz, GET /metrics.`,
    type: "invalid_request_error",
    code: "not_found",
    param: null
  })

/** 404: `GET /v1/models/{name}` of a name that is not routable. */
export const modelNotFound = (name: string) =>
  new GatewayError({
    status: 404,
    message: `The model '${name}' does not exist or is not routable.`,
    type: "invalid_request_error",
    code: "model_not_found",
    param: "model"
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

/**
 * 503: the name's provider is configured but disabled (`reason`: its key variable is unset, or it has no key and no
 * simulation); the gateway logged the same reason at startup.
 */
export const providerDisabled = (provider: string, reason: string) =>
  new GatewayError({
    status: 503,
    message: `The provider "${provider}" is disabled on this gateway: ${reason}. The gateway's operator can enable it and restart the gateway.`,
    type: "server_error",
    code: "provider_disabled",
    param: "model"
  })

/** 502: the upstream stream ended before producing anything. */
export const emptyStream = new GatewayError({
  status: 502,
  message: "The upstream stream ended without producing anything.",
  type: "upstream_error",
  code: "upstream_stream_truncated",
  param: null
})

/**
 * A key's budget is spent (`Budget.BudgetExceededError`): 429, type `insufficient_quota`, code `budget_exceeded`, the
 * message and the error's `budget` object giving the limit, the spend so far, the currency, the period (`day`: the
 * UTC day, `month`: the calendar month in UTC) and its reset (`reset_at`, ISO 8601); `Retry-After` (seconds) is the
 * time to that reset, and `x-should-retry: false` keeps the OpenAI and Anthropic SDKs from retrying at once.
 */
export const budgetExceeded = (error: Budget.BudgetExceededError): HttpError => {
  const base = httpError(429, error.message, "insufficient_quota", "budget_exceeded", null, {
    ...retryAfterHeaders(error.retryAfterMs),
    "x-should-retry": "false"
  })
  const budget = {
    limit: error.limit,
    spent: error.spent,
    currency: error.currency,
    period: error.period,
    reset_at: error.resetAt
  }
  const body: HttpError["body"]["error"] = Object.assign({ ...base.body.error }, { budget })
  return { ...base, body: { error: body } }
}

const internal = httpError(500, "The gateway failed unexpectedly.", "server_error", "internal_error")

const tagOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
    ? error._tag
    : undefined

/**
 * The HTTP answer for a failure value (the `E` of a failed request). Returns `undefined` for values it does not know
 * (the caller answers 500 and logs them).
 */
export const toHttp = (error: unknown): HttpError | undefined => {
  if (error instanceof GatewayError) return error.toHttp()
  if (AiError.isAiError(error)) {
    return fromSummary(ProviderError.describe(error))
  }
  if (error instanceof ProviderRegistry.UnknownModelError) {
    return httpError(404, error.message, "invalid_request_error", "model_not_found", "model")
  }
  const value = error as Record<string, unknown>
  switch (tagOf(error)) {
    case "BudgetExceededError":
      return budgetExceeded(error as Budget.BudgetExceededError)
    case "RateLimitExceededError":
      return httpError(
        429,
        String(value.message),
        "rate_limit_error",
        "rate_limit_exceeded",
        null,
        retryAfterHeaders(Number(value.retryAfterMs))
      )
    case "QueueFullError":
      return httpError(
        429,
        "The gateway is at capacity: too many requests are waiting. Retry shortly.",
        "rate_limit_error",
        "queue_full",
        null,
        retryAfterHeaders(1000)
      )
    case "QueueTimeoutError":
      return httpError(
        503,
        `The request waited ${value.timeoutMs} ms for a free slot (queue timeout).`,
        "server_error",
        "queue_timeout",
        null,
        retryAfterHeaders(1000)
      )
    case "ExecutionTimeoutError":
      return httpError(
        504,
        `The request did not finish within the gateway's request timeout of ${value.timeoutMs} ms.`,
        "timeout",
        "request_timeout"
      )
    case "MetadataTooLargeError":
      return httpError(400, String(value.message), "invalid_request_error", "metadata_too_large")
    case "RateLimitStoreError":
      return httpError(503, "The rate-limit store is unavailable.", "server_error", "rate_limit_store_unavailable")
    case "ConversationError":
      return httpError(503, "The conversation store is unavailable.", "server_error", "conversation_store_unavailable")
    default:
      return undefined
  }
}

/**
 * The HTTP answer for a failed request's cause: its first failure (see {@link toHttp}), else 500. `known` is false
 * for defects and unknown failures, which the caller should log with the cause; `detail` is a model failure's full
 * message for the logs ({@link logDetail}), when the client's is shorter.
 */
export const fromCause = (
  cause: Cause.Cause<unknown>
): { readonly http: HttpError; readonly known: boolean; readonly detail?: string | undefined } => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail") {
      const http = toHttp(reason.error)
      if (http !== undefined) {
        const full = AiError.isAiError(reason.error)
          ? logDetail(ProviderError.describe(reason.error).message)
          : undefined
        return {
          http,
          known: true,
          ...(full !== undefined && full !== http.body.error.message ? { detail: full } : {})
        }
      }
    }
  }
  return { http: internal, known: false }
}
