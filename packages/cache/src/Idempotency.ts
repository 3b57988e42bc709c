/**
 * Idempotency keys for model calls, on the same stores as the response cache.
 *
 * A call made with `CallOptions.idempotencyKey` (the gateway fills it from the `Idempotency-Key` header; library
 * callers set it per call with `Effect.provideService(ResponseCacheHook.CallOptions, { idempotencyKey })` from core)
 * is executed at most once per key within the TTL:
 *
 * - a concurrent duplicate joins the in-flight call and receives the same parts
 *   (`metadata.conduit.idempotency = "joined"` on the `finish` part);
 * - a later duplicate gets the stored result, a stream replayed from its stored parts (`"replayed"`);
 * - the same key with a different request body (or a stream call reusing a non-stream call's key) fails with an
 *   `AiError` whose reason is `InvalidRequestError` with `metadata.conduit = { kind: "idempotency-conflict",
 *   idempotencyKey }` ({@link isIdempotencyConflict}; HTTP 409 at the gateway);
 * - a call that fails (or is interrupted, or ends with an error part) is not remembered: its key is released and a
 *   retry executes again.
 *
 * Keys are global to the store (prefix included): namespace them per client (for example `${apiKeyId}:${key}`)
 * when several clients share one gateway. The hook is part of `ResponseCache.layer`; {@link layer} is the same
 * hook with the response cache turned off.
 *
 * @since 0.1.0
 */
import type { Duration, Layer } from "effect"
import type { AiError } from "effect/ai"
import * as Errors from "./internal/errors.js"
import * as ResponseCache from "./ResponseCache.js"

/**
 * Options of {@link layer}: the store (default: the `CacheStore` in context) and the idempotency durations (see
 * `ResponseCache.Options`: `ttl` 24 hours, `pendingTtl` 30 seconds, `pollInterval` 100 ms).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly store?: ResponseCache.Options["store"]
  readonly ttl?: Duration.Input | undefined
  readonly pendingTtl?: Duration.Input | undefined
  readonly pollInterval?: Duration.Input | undefined
}

/**
 * Whether an error is an idempotency conflict (an `AiError` whose reason is `InvalidRequestError` with
 * `metadata.conduit.kind === "idempotency-conflict"`; `metadata.conduit.idempotencyKey` holds the key).
 *
 * @since 0.1.0
 */
export const isIdempotencyConflict: (error: unknown) => error is AiError.AiError = Errors.isIdempotencyConflict

/**
 * The conflict error for a key, as the hook raises it (`method` is `"generate"` or `"stream"`). For gateways and
 * tests that need to build or match it.
 *
 * @since 0.1.0
 */
export const conflictError: (idempotencyKey: string, method: string) => AiError.AiError = Errors.idempotencyConflict

/**
 * A layer providing core's `ResponseCacheHook` with idempotency only (no response caching), plus
 * `ResponseCache.ResponseCacheStats`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ResponseCache.ResponseCacheStats> =>
  ResponseCache.layer({
    store: options?.store,
    cacheResponses: false,
    idempotency: { ttl: options?.ttl, pendingTtl: options?.pendingTtl, pollInterval: options?.pollInterval }
  })
