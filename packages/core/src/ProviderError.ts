/**
 * The error taxonomy: every failure of a model call is an `effect/ai` `AiError`, whose `reason` says what happened
 * and whose `reason.metadata.conduit` says the rest (provider, HTTP status, wire type/code, request id, Retry-After,
 * which timeout fired).
 *
 * - Each provider supplies one {@link ErrorTable}: a function from the wire error (status, `error.type`,
 *   `error.code`, headers) to an {@link ErrorRule}. Tables classify by type and code, never by message text
 *   (Zhipu's messages come in Chinese or English for the same code).
 * - {@link fromSdkError} turns anything the `openai` SDK throws (`APIError` with status, headers and body;
 *   `APIConnectionError`; aborts) into an `AiError` through that table.
 * - Failures Conduit itself detects are `AiError`s too, so `effect/ai` (Chat, ExecutionPlan) handles them:
 *   {@link timeout} (first-token, idle, total: `InternalProviderError` with `conduit.kind = "timeout"`) and
 *   {@link truncatedStream} (`InvalidResponseError` with `conduit.kind = "truncated-stream"`).
 * - {@link isRetryable} is the one retry classifier of the stack: rate limits, overload, 5xx, network errors and
 *   first-token timeouts are retryable; quota and balance exhaustion, auth, invalid requests and content policy
 *   never are, whatever HTTP status they came with (quota errors often arrive as 429).
 * - {@link describe} flattens an error for the gateway and the Promise face.
 *
 * This module is the taxonomy (the shapes, the tables' vocabulary, the classification, Conduit's own failures);
 * the mapping from headers, wire bodies and SDK errors to reasons lives in `internal/errors.ts` and is re-exported
 * here where it is public.
 *
 * @since 0.1.0
 */
import { Duration, Predicate } from "effect"
import { AiError } from "effect/ai"
import * as Internal from "./internal/errors.js"

// =============================================================================
// Metadata
// =============================================================================

/**
 * What Conduit records in `reason.metadata.conduit` (JSON only).
 *
 * - `kind`: `"http"` (an HTTP error response), `"network"`, `"timeout"`, `"truncated-stream"`, `"stream-error"`
 *   (an error frame inside a 200 stream), `"preflight"` (refused before sending), or a provider/package specific
 *   kind such as `"idempotency-conflict"`.
 * - `retryable`: overrides the reason's default retryability (see {@link isRetryable}).
 * - `retryAfterMs`: the server's advice in ms (from `retry-after-ms`, `retry-after`, `x-retry-after`).
 * - `timeout` / `limitMs`: which timeout fired and its value in ms.
 * - `contextLength`: the provider said the prompt does not fit the context window.
 *
 * @since 0.1.0
 */
export interface ConduitErrorMetadata {
  readonly kind: string
  readonly provider?: string | undefined
  readonly status?: number | undefined
  readonly type?: string | undefined
  readonly code?: string | undefined
  readonly requestId?: string | undefined
  readonly retryable?: boolean | undefined
  readonly retryAfterMs?: number | undefined
  readonly timeout?: TimeoutKind | undefined
  readonly limitMs?: number | undefined
  readonly chunkCount?: number | undefined
  readonly contextLength?: boolean | undefined
  readonly [key: string]: unknown
}

/**
 * The three stream timeouts (see `TimeoutPolicy`).
 *
 * @since 0.1.0
 */
export type TimeoutKind = "firstToken" | "idle" | "total"

const metadataOf = Internal.metadataOf

/**
 * Reads `metadata.conduit` of an error or reason, if it has one.
 *
 * @since 0.1.0
 */
export const conduitMetadata = (error: AiError.AiError | AiError.AiErrorReason): ConduitErrorMetadata | undefined => {
  const reason = AiError.isAiError(error) ? error.reason : error
  const metadata = (reason as { readonly metadata?: AiError.ProviderMetadata }).metadata
  const conduit = metadata?.conduit
  return Predicate.isObject(conduit) && typeof (conduit as { kind?: unknown }).kind === "string"
    ? (conduit as unknown as ConduitErrorMetadata)
    : undefined
}

// =============================================================================
// Wire error info and provider tables
// =============================================================================

/**
 * A wire error as a provider table sees it.
 *
 * - `status`: HTTP status.
 * - `type` / `code`: `error.type` (Moonshot) and `error.code` as a string (Zhipu sends `"1113"` or `1113`).
 * - `message`: for descriptions only; tables must not classify on it.
 * - `headers`: lower-cased response headers. `body`: the raw body text when known.
 * - `requestId`: from the provider's request-id header or body.
 * - `retryAfter`: parsed server advice (see {@link retryAfterFromHeaders}).
 *
 * @since 0.1.0
 */
export interface ErrorInfo {
  readonly provider: string
  readonly method: string
  readonly url: string
  readonly status: number
  readonly type: string | undefined
  readonly code: string | undefined
  readonly message: string | undefined
  readonly param: string | undefined
  readonly headers: Readonly<Record<string, string>>
  readonly body: string | undefined
  readonly requestId: string | undefined
  readonly retryAfter: Duration.Duration | undefined
}

/**
 * The classification a table returns. `reason` names the `effect/ai` reason; the other fields refine it.
 *
 * - `authKind`: for `AuthenticationError` (default `"InvalidKey"` for 401, `"InsufficientPermissions"` for 403).
 * - `retryable`: force retryability (e.g. `InternalProviderError` for a permanent server-side failure: `false`).
 * - `contextLength`: an `InvalidRequestError` meaning "prompt too long" (the gateway answers
 *   `context_length_exceeded`).
 * - `description`: replaces the provider's message (for example to explain a gate).
 *
 * @since 0.1.0
 */
export interface ErrorRule {
  readonly reason:
    | "RateLimitError"
    | "QuotaExhaustedError"
    | "AuthenticationError"
    | "ContentPolicyError"
    | "InvalidRequestError"
    | "InternalProviderError"
    | "InvalidResponseError"
    | "UnknownError"
  readonly authKind?: "InvalidKey" | "ExpiredKey" | "MissingKey" | "InsufficientPermissions" | "Unknown" | undefined
  readonly retryable?: boolean | undefined
  readonly contextLength?: boolean | undefined
  readonly description?: string | undefined
  /** Overrides `metadata.conduit.kind` (default `"http"`), e.g. `"gateway-timeout"`. */
  readonly kind?: string | undefined
}

/**
 * A provider's mapping from wire errors to rules; `undefined` falls back to {@link defaultRule}.
 *
 * @since 0.1.0
 */
export type ErrorTable = (info: ErrorInfo) => ErrorRule | undefined

/**
 * The fallback by HTTP status alone: 400/404/409/413/422 invalid request, 401 invalid key, 403 insufficient
 * permissions, 408 and 429 rate limit, 5xx internal provider error (retryable), anything else unknown.
 *
 * @since 0.1.0
 */
export const defaultRule = (status: number): ErrorRule => {
  if (status === 401) return { reason: "AuthenticationError", authKind: "InvalidKey" }
  if (status === 403) return { reason: "AuthenticationError", authKind: "InsufficientPermissions" }
  if (status === 408 || status === 429) return { reason: "RateLimitError" }
  if (status >= 500) return { reason: "InternalProviderError" }
  if (status >= 400 && status < 500) return { reason: "InvalidRequestError" }
  return { reason: "UnknownError" }
}

/**
 * The table for OpenAI itself and servers that copy its error vocabulary (vLLM, DeepSeek, Azure OpenAI):
 * `insufficient_quota` (sent as 429) is quota exhaustion; `rate_limit_exceeded` a rate limit;
 * `context_length_exceeded` / `string_above_max_length` a context-length invalid request;
 * `content_policy_violation` / `content_filter` content policy; `invalid_api_key` an invalid key.
 * Source: https://platform.openai.com/docs/guides/error-codes/api-errors.
 *
 * @since 0.1.0
 */
export const openAiTable: ErrorTable = (info) => {
  const key = info.code ?? info.type
  switch (key) {
    case "insufficient_quota":
    case "billing_hard_limit_reached":
      return { reason: "QuotaExhaustedError" }
    case "rate_limit_exceeded":
    case "requests":
    case "tokens":
      return { reason: "RateLimitError" }
    case "context_length_exceeded":
    case "string_above_max_length":
      return { reason: "InvalidRequestError", contextLength: true }
    case "content_policy_violation":
    case "content_filter":
      return { reason: "ContentPolicyError" }
    case "invalid_api_key":
      return { reason: "AuthenticationError", authKind: "InvalidKey" }
    default:
      return undefined
  }
}

/**
 * Where a request was going, for error context.
 *
 * @since 0.1.0
 */
export interface RequestTarget {
  readonly provider: string
  readonly method: string
  readonly url: string
  /** Names of response headers that carry the provider's request id, in order of preference. */
  readonly requestIdHeaders?: ReadonlyArray<string> | undefined
  /** A request id the client chose and sent (Zhipu's `request_id`), used when the response names none. */
  readonly clientRequestId?: string | undefined
}

// =============================================================================
// Mapping (implemented in internal/errors.ts)
// =============================================================================

/**
 * Headers of a fetch `Headers`-like object as a plain record with lower-case keys.
 *
 * @since 0.1.0
 */
export const headersToRecord = Internal.headersToRecord

/**
 * The provider's request id from response headers (`x-request-id` and the provider's own names, e.g. Moonshot's
 * `msh-request-id`) or from a body `request_id`.
 *
 * @since 0.1.0
 */
export const requestIdFrom = Internal.requestIdFrom

/**
 * The raw error body the SDK saw (kept by core's transport; see `OpenAiCompatClient`).
 *
 * @since 0.1.0
 */
export const rawBodyKey: typeof Internal.rawBodyKey = Internal.rawBodyKey

/**
 * Builds the {@link ErrorInfo} of an HTTP error from its parts (used for SDK errors and for error frames inside
 * streams).
 *
 * @since 0.1.0
 */
export const errorInfo = Internal.errorInfo

/**
 * Converts anything the `openai` SDK (or a `fetch` under it) throws into an `AiError`:
 * `APIError` with a status goes through the provider's `table` (then {@link defaultRule});
 * `APIConnectionError` / `APIConnectionTimeoutError` become a retryable `NetworkError`;
 * `APIUserAbortError` an `UnknownError` (`conduit.kind = "aborted"`); anything else an `UnknownError` (not retryable).
 *
 * @since 0.1.0
 */
export const fromSdkError = (
  error: unknown,
  params: {
    readonly target: RequestTarget
    readonly table: ErrorTable
    readonly module: string
    readonly method: string
  }
): AiError.AiError =>
  Internal.fromSdkError(error, {
    target: params.target,
    classify: (info) => params.table(info) ?? defaultRule(info.status),
    module: params.module,
    method: params.method
  })

/**
 * Parses the server's retry advice: `retry-after-ms` (milliseconds), then `retry-after` (seconds, fractional
 * allowed, or an HTTP date), then Moonshot's `x-retry-after` (seconds). Negative, unparseable or past values give
 * `undefined`. `now` is the current time in ms (for HTTP dates).
 *
 * @since 0.1.0
 */
export const retryAfterFromHeaders = Internal.retryAfterFromHeaders

/**
 * Builds the `effect/ai` reason for a classified wire error, with HTTP context (headers redacted, body truncated
 * to 2,000 characters) and `metadata.conduit`.
 *
 * @since 0.1.0
 */
export const reasonFromRule = Internal.reasonFromRule

// =============================================================================
// Conduit's own failures
// =============================================================================

/**
 * A `finish_reason` that means the generation failed (Zhipu `network_error`: the upstream broke mid-generation),
 * classified with `rule` (`retryable` decides whether it is retried before any output reached the caller).
 *
 * @since 0.1.0
 */
export const finishFailure = (params: {
  readonly provider: string
  readonly finishReason: string
  readonly rule: ErrorRule
  readonly requestId?: string | undefined
}): AiError.AiError =>
  AiError.make({
    module: "LanguageModel",
    method: "finish",
    reason: reasonFromRule(
      {
        ...params.rule,
        description:
          params.rule.description ?? `the provider ended the answer with finish_reason "${params.finishReason}"`
      },
      {
        provider: params.provider,
        method: "POST",
        url: "chat/completions",
        status: 200,
        type: undefined,
        code: params.finishReason,
        message: undefined,
        param: undefined,
        headers: {},
        body: undefined,
        requestId: params.requestId,
        retryAfter: undefined
      }
    )
  })

const describeTimeout = (kind: TimeoutKind, limitMs: number): string =>
  kind === "firstToken"
    ? `no first chunk within the first-token timeout of ${limitMs} ms`
    : kind === "idle"
      ? `no chunk for ${limitMs} ms (idle timeout between chunks)`
      : `the request did not complete within the total timeout of ${limitMs} ms`

/**
 * A timeout fired. `InternalProviderError` (the provider did not deliver in time) with
 * `conduit = { kind: "timeout", timeout, limitMs }`; a first-token timeout is retryable (nothing reached the
 * caller), an idle or total timeout is not unless `retryable` says so (an idle timeout of a buffered answer).
 *
 * @since 0.1.0
 */
export const timeout = (params: {
  readonly kind: TimeoutKind
  readonly limitMs: number
  readonly provider: string
  readonly requestId?: string | undefined
  readonly chunkCount?: number | undefined
  readonly module?: string | undefined
  readonly method?: string | undefined
  readonly retryable?: boolean | undefined
}): AiError.AiError =>
  AiError.make({
    module: params.module ?? "OpenAiCompatClient",
    method: params.method ?? "streamChatCompletion",
    reason: new AiError.InternalProviderError({
      description: describeTimeout(params.kind, params.limitMs),
      metadata: metadataOf({
        kind: "timeout",
        provider: params.provider,
        timeout: params.kind,
        limitMs: params.limitMs,
        requestId: params.requestId,
        chunkCount: params.chunkCount,
        retryable: params.retryable ?? params.kind === "firstToken"
      })
    })
  })

/**
 * A stream ended without `data: [DONE]` and without a finish reason: the answer is incomplete.
 * `InvalidResponseError` with `conduit = { kind: "truncated-stream", chunkCount }`.
 *
 * @since 0.1.0
 */
export const truncatedStream = (params: {
  readonly provider: string
  readonly chunkCount: number
  readonly requestId?: string | undefined
  readonly detail?: string | undefined
}): AiError.AiError =>
  AiError.make({
    module: "OpenAiCompatClient",
    method: "streamChatCompletion",
    reason: new AiError.InvalidResponseError({
      description: `the stream ended after ${params.chunkCount} chunk(s) without [DONE] or a finish reason${
        params.detail ? ` (${params.detail})` : ""
      }: the answer is incomplete`,
      metadata: metadataOf({
        kind: "truncated-stream",
        provider: params.provider,
        chunkCount: params.chunkCount,
        requestId: params.requestId,
        retryable: true
      })
    })
  })

/**
 * A request refused before any HTTP call (a sampling value the model pins, too many stop words, a prompt that
 * cannot fit the context window, a retired model): `InvalidRequestError` with `conduit.kind = "preflight"`.
 *
 * @since 0.1.0
 */
export const invalidRequest = (params: {
  readonly provider: string
  readonly description: string
  readonly parameter?: string | undefined
  readonly contextLength?: boolean | undefined
  readonly module?: string | undefined
  readonly method?: string | undefined
  readonly kind?: string | undefined
}): AiError.AiError =>
  AiError.make({
    module: params.module ?? "LanguageModel",
    method: params.method ?? "prepareRequest",
    reason: new AiError.InvalidRequestError({
      description: params.description,
      ...(params.parameter !== undefined ? { parameter: params.parameter } : {}),
      ...(params.contextLength ? { constraint: "context_length_exceeded" } : {}),
      metadata: metadataOf({
        // refusal-helper
        kind: params.kind ?? "preflight",
        provider: params.provider,
        contextLength: params.contextLength
      })
    })
  })

// =============================================================================
// Classification
// =============================================================================

/**
 * Whether retrying can help. `metadata.conduit.retryable` decides when set; otherwise rate limits, internal
 * provider errors (5xx, overload) and transport errors are retryable and everything else is not (quota, auth,
 * invalid request, content policy, invalid output, tool errors).
 *
 * @since 0.1.0
 */
export const isRetryable = (error: AiError.AiError): boolean => {
  const override = conduitMetadata(error)?.retryable
  if (typeof override === "boolean") return override
  switch (error.reason._tag) {
    case "RateLimitError":
    case "InternalProviderError":
      return true
    case "NetworkError":
      return error.reason.reason === "TransportError"
    default:
      return false
  }
}

/**
 * The retry advice an error carries (`RateLimitError.retryAfter`, else `metadata.conduit.retryAfterMs`).
 *
 * @since 0.1.0
 */
export const retryAfterOf = (error: AiError.AiError): Duration.Duration | undefined => {
  if (error.reason._tag === "RateLimitError" && error.reason.retryAfter !== undefined) return error.reason.retryAfter
  const ms = conduitMetadata(error)?.retryAfterMs
  return typeof ms === "number" ? Duration.millis(ms) : undefined
}

/**
 * A flat view of an error for HTTP mapping and the Promise face.
 *
 * @since 0.1.0
 */
export interface ErrorSummary {
  readonly reason: AiError.AiErrorReason["_tag"]
  readonly message: string
  readonly retryable: boolean
  readonly kind: string | undefined
  readonly provider: string | undefined
  readonly status: number | undefined
  readonly type: string | undefined
  readonly code: string | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly timeout: TimeoutKind | undefined
  readonly limitMs: number | undefined
  readonly contextLength: boolean
  /** The offending request parameter of an `InvalidRequestError` (e.g. `"temperature"`, `"tools[0]"`). */
  readonly param: string | undefined
}

/**
 * Summarizes an `AiError`.
 *
 * @since 0.1.0
 */
export const describe = (error: AiError.AiError): ErrorSummary => {
  const conduit = conduitMetadata(error)
  const retryAfter = retryAfterOf(error)
  const description =
    (error.reason as { description?: string }).description ??
    (error.reason as { metadata?: { description?: unknown } }).metadata?.description
  return {
    reason: error.reason._tag,
    message: typeof description === "string" ? description : error.reason.message,
    retryable: isRetryable(error),
    kind: conduit?.kind,
    provider: conduit?.provider,
    status: conduit?.status,
    type: conduit?.type,
    code: conduit?.code,
    requestId: conduit?.requestId,
    retryAfterMs: retryAfter === undefined ? undefined : Duration.toMillis(retryAfter),
    timeout: conduit?.timeout,
    limitMs: conduit?.limitMs,
    contextLength:
      conduit?.contextLength === true ||
      (error.reason._tag === "InvalidRequestError" && error.reason.constraint === "context_length_exceeded"),
    param: error.reason._tag === "InvalidRequestError" ? error.reason.parameter : undefined
  }
}
