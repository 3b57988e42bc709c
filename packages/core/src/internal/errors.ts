/**
 * The mapping behind `ProviderError`'s taxonomy: from what the wire and the `openai` SDK give (headers, error
 * bodies, thrown SDK errors) to `effect/ai` reasons carrying `metadata.conduit`. Public API in `ProviderError`
 * (which re-exports what is public here and owns the classification: tables, `defaultRule`, `isRetryable`).
 *
 * - Headers: plain lower-cased records, the provider's request id, the server's retry advice, redaction.
 * - Wire bodies: the `{ error: { type, code, message } }` envelope (or the bare object relays send) to `ErrorInfo`.
 * - SDK errors: `APIError` / connection errors / aborts to an `AiError`, through a classifier.
 * - Presentation: a classified error to its reason, with the HTTP context (headers redacted, body truncated) and
 *   the description `effect/ai` builds.
 *
 * Pure, except that `fromSdkError` inspects the error it is given.
 */
import { Duration, Predicate } from "effect"
import { AiError } from "effect/ai"
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai"
import type { ConduitErrorMetadata, ErrorInfo, ErrorRule, RequestTarget } from "../ProviderError.js"

// =============================================================================
// Metadata
// =============================================================================

const stripUndefined = (record: Record<string, unknown>): Record<string, AiError.ProviderMetadata[string]> => {
  const out: Record<string, AiError.ProviderMetadata[string]> = {}
  for (const [key, value] of Object.entries(record)) {
    if (value !== undefined) out[key] = value as AiError.ProviderMetadata[string]
  }
  return out
}

/** `metadata` of a reason with Conduit's record under `conduit` (undefined fields left out: JSON only). */
export const metadataOf = (conduit: ConduitErrorMetadata): AiError.ProviderMetadata => ({
  conduit: stripUndefined(conduit) as AiError.ProviderMetadata[string]
})

// =============================================================================
// Headers
// =============================================================================

/** Headers of a fetch `Headers`-like object as a plain record with lower-case keys. */
export const headersToRecord = (headers: Headers | undefined | null): Record<string, string> => {
  const out: Record<string, string> = {}
  headers?.forEach((value, key) => {
    out[key.toLowerCase()] = value
  })
  return out
}

/**
 * The provider's request id from response headers (the provider's own names first, then `x-request-id`,
 * `request-id`) or from a body `request_id` (top level or inside `error`).
 */
export const requestIdFrom = (
  headers: Readonly<Record<string, string>>,
  names: ReadonlyArray<string> | undefined,
  body?: unknown
): string | undefined => {
  for (const name of [...(names ?? []), "x-request-id", "request-id"]) {
    const value = headers[name]
    if (value !== undefined && value !== "") return value
  }
  if (Predicate.isObject(body)) {
    const direct = (body as { request_id?: unknown }).request_id
    if (typeof direct === "string") return direct
    const nested = (body as { error?: { request_id?: unknown } }).error?.request_id
    if (typeof nested === "string") return nested
  }
  return undefined
}

/**
 * The server's retry advice: `retry-after-ms` (milliseconds), then `retry-after` (seconds, fractional allowed, or an
 * HTTP date), then Moonshot's `x-retry-after` (seconds). Negative, unparseable or past values give `undefined`.
 * `now` is the current time in ms (for HTTP dates).
 */
export const retryAfterFromHeaders = (
  headers: Readonly<Record<string, string>>,
  now: number = Date.now()
): Duration.Duration | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined) {
    const value = Number(ms)
    if (ms.trim() !== "" && Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  for (const name of ["retry-after", "x-retry-after"]) {
    const raw = headers[name]
    if (raw === undefined || raw.trim() === "") continue
    const seconds = Number(raw)
    if (Number.isFinite(seconds)) {
      if (seconds >= 0) return Duration.millis(seconds * 1000)
      continue
    }
    const date = Date.parse(raw)
    if (Number.isFinite(date) && date >= now) return Duration.millis(date - now)
  }
  return undefined
}

const redactHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    out[key] = /authorization|cookie|api-key|token/i.test(key) ? "<redacted>" : value
  }
  return out
}

// =============================================================================
// Wire bodies
// =============================================================================

/** The key under which core's transport keeps the raw error body on the SDK's error (see `OpenAiCompatClient`). */
export const rawBodyKey: unique symbol = Symbol.for("@conduitkit/core/rawErrorBody")

/**
 * The `ErrorInfo` of an HTTP error from its parts: the envelope is `body.error` when that is an object, else the
 * body itself (relays strip the wrapper); `code` is read as a string whether the wire sends a string or a number.
 */
export const errorInfo = (params: {
  readonly target: RequestTarget
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  readonly bodyText?: string | undefined
  readonly now?: number | undefined
}): ErrorInfo => {
  const body = params.body
  const envelope = Predicate.isObject(body)
    ? Predicate.isObject((body as { error?: unknown }).error)
      ? (body as { error: Record<string, unknown> }).error
      : (body as Record<string, unknown>)
    : undefined
  const asString = (value: unknown) =>
    typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined
  return {
    provider: params.target.provider,
    method: params.target.method,
    url: params.target.url,
    status: params.status,
    type: asString(envelope?.type) || undefined,
    code: asString(envelope?.code) || undefined,
    message: asString(envelope?.message) ?? asString(envelope?.msg),
    param: asString(envelope?.param),
    headers: params.headers,
    body: params.bodyText ?? (body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)),
    requestId: requestIdFrom(params.headers, params.target.requestIdHeaders, body) ?? params.target.clientRequestId,
    retryAfter: retryAfterFromHeaders(params.headers, params.now)
  }
}

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

// =============================================================================
// Presentation
// =============================================================================

const truncate = (text: string | undefined, max = 2_000): string | undefined =>
  text === undefined ? undefined : text.length > max ? `${text.slice(0, max)}…` : text

/**
 * The `effect/ai` reason for a classified wire error, with HTTP context (headers redacted, body truncated to 2,000
 * characters, 200 in the description) and `metadata.conduit`.
 */
export const reasonFromRule = (rule: ErrorRule, info: ErrorInfo): AiError.AiErrorReason => {
  const retryAfterMs = info.retryAfter === undefined ? undefined : Duration.toMillis(info.retryAfter)
  const metadata = metadataOf({
    kind: rule.kind ?? "http",
    provider: info.provider,
    status: info.status,
    type: info.type,
    code: info.code,
    requestId: info.requestId,
    retryable: rule.retryable,
    retryAfterMs,
    contextLength: rule.contextLength
  })
  const http = {
    response: { status: info.status, headers: redactHeaders(info.headers) },
    ...(info.body !== undefined ? { body: truncate(info.body) } : {})
  }
  const description = AiError.buildErrorDescription({
    status: info.status,
    message: rule.description ?? info.message,
    method: info.method,
    url: info.url,
    errorCode: info.code,
    errorType: info.type,
    requestId: info.requestId,
    body: truncate(info.body, 200)
  })
  switch (rule.reason) {
    case "RateLimitError":
      return new AiError.RateLimitError({
        ...(info.retryAfter !== undefined ? { retryAfter: info.retryAfter } : {}),
        metadata: { ...metadata, description },
        http
      })
    case "QuotaExhaustedError":
      return new AiError.QuotaExhaustedError({ metadata: { ...metadata, description }, http })
    case "AuthenticationError":
      return new AiError.AuthenticationError({
        kind: rule.authKind ?? (info.status === 403 ? "InsufficientPermissions" : "InvalidKey"),
        description,
        metadata,
        http
      })
    case "ContentPolicyError":
      return new AiError.ContentPolicyError({ description, metadata, http })
    case "InvalidRequestError":
      return new AiError.InvalidRequestError({
        description,
        ...(info.param !== undefined ? { parameter: info.param } : {}),
        ...(rule.contextLength ? { constraint: "context_length_exceeded" } : {}),
        metadata,
        http
      })
    case "InternalProviderError":
      return new AiError.InternalProviderError({ description, metadata, http })
    case "InvalidResponseError":
      return new AiError.InvalidResponseError({ description, metadata, http })
    case "UnknownError":
      return new AiError.UnknownError({ description, metadata, http })
  }
}

// =============================================================================
// SDK errors
// =============================================================================

/**
 * Anything the `openai` SDK (or a `fetch` under it) throws, as an `AiError`: an `APIError` with a status is
 * classified by `classify` (the provider's table with its fallback); connection errors become a retryable
 * `NetworkError`; an abort an `UnknownError` (`conduit.kind = "aborted"`); anything else an `UnknownError`.
 */
export const fromSdkError = (
  error: unknown,
  params: {
    readonly target: RequestTarget
    readonly classify: (info: ErrorInfo) => ErrorRule
    readonly module: string
    readonly method: string
  }
): AiError.AiError => {
  const { target, module, method } = params
  if (AiError.isAiError(error)) return error
  const make = (reason: AiError.AiErrorReason) => AiError.make({ module, method, reason })
  if (error instanceof APIUserAbortError) {
    return make(
      new AiError.UnknownError({
        description: "the request was aborted",
        metadata: metadataOf({ kind: "aborted", provider: target.provider })
      })
    )
  }
  if (error instanceof APIConnectionError || error instanceof APIConnectionTimeoutError) {
    const cause = (error as { cause?: unknown }).cause
    return make(
      new AiError.NetworkError({
        reason: "TransportError",
        method: target.method,
        url: target.url,
        description: `${error.message}${cause instanceof Error ? `: ${cause.message}` : ""}`,
        cause: error
      })
    )
  }
  if (error instanceof APIError && typeof error.status === "number") {
    const headers = headersToRecord(error.headers)
    const raw = (error as unknown as Record<symbol, unknown>)[rawBodyKey]
    const body = raw !== undefined ? raw : error.error !== undefined ? { error: error.error } : undefined
    const info = errorInfo({
      target,
      status: error.status,
      headers,
      body: typeof raw === "string" ? (safeJson(raw) ?? raw) : body,
      bodyText: typeof raw === "string" ? raw : undefined
    })
    return make(reasonFromRule(params.classify(info), info))
  }
  return make(
    new AiError.UnknownError({
      description: error instanceof Error ? error.message : String(error),
      metadata: metadataOf({ kind: "unknown", provider: target.provider })
    })
  )
}
