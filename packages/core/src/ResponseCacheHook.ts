/**
 * The response-cache hook (the port): the seam through which a response cache and an idempotency store wrap every
 * model call. `@conduitkit/cache`'s `ResponseCache` is the implementation that plugs in here.
 *
 * Core's OpenAI-compatible `LanguageModel` calls the {@link ResponseCacheHook} service around each request with the
 * final wire request (after provider shaping, so it is the normalized request: model, messages, tools, sampling,
 * provider options) and the effect or stream that would call upstream. The default passes straight through.
 * `@conduitkit/cache` supplies the real implementation (exact-match cache for deterministic requests, single
 * flight for concurrent identical misses, idempotency keys, replay of streams from stored parts).
 *
 * Per-call behaviour is set with {@link CallOptions} (`Effect.provideService(CallOptions, {...})`), which the
 * gateway fills from the `Idempotency-Key` header.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Stream } from "effect"
import type { AiError, Response } from "effect/ai"

/**
 * What a call asks of the cache layer.
 *
 * - `mode`: `"auto"` (default) caches only deterministic requests (temperature 0 or an explicit seed);
 *   `"always"` opts this call in; `"never"` bypasses the cache.
 * - `idempotencyKey`: run at most once per key and TTL; a concurrent duplicate joins, a later one replays, the same
 *   key with a different request fails with an idempotency conflict.
 *
 * @since 0.1.0
 */
export interface CallOptionsShape {
  readonly mode?: "auto" | "always" | "never" | undefined
  readonly idempotencyKey?: string | undefined
}

/**
 * Per-call cache options (default: `{}`, i.e. `mode: "auto"`, no idempotency key).
 *
 * @since 0.1.0
 */
export const CallOptions: Context.Reference<CallOptionsShape> = Context.Reference<CallOptionsShape>(
  "@conduitkit/core/ResponseCacheHook/CallOptions",
  { defaultValue: () => ({}) }
)

/**
 * One model call as the cache sees it.
 *
 * - `provider`: the provider name (`"kimi"`, `"glm"`), part of the key.
 * - `request`: the JSON wire request body (without `stream` / `stream_options`, which do not change the answer).
 * - `options`: the call's {@link CallOptionsShape}.
 *
 * @since 0.1.0
 */
export interface CacheableCall {
  readonly provider: string
  readonly request: Readonly<Record<string, unknown>>
  readonly options: CallOptionsShape
}

/**
 * The cache hook. Implementations must return exactly what `run` would (parts in order), adding
 * `metadata.conduit.cache = "hit"` to the `finish` part of a replay.
 *
 * @since 0.1.0
 */
export interface ResponseCacheHookShape {
  readonly generate: (
    call: CacheableCall,
    run: Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  ) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
  readonly stream: (
    call: CacheableCall,
    run: Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
  ) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
}

/**
 * A hook that never caches.
 *
 * @since 0.1.0
 */
export const passthrough: ResponseCacheHookShape = {
  generate: (_call, run) => run,
  stream: (_call, run) => run
}

/**
 * The response-cache service; defaults to {@link passthrough}.
 *
 * @since 0.1.0
 */
export const ResponseCacheHook: Context.Reference<ResponseCacheHookShape> = Context.Reference<ResponseCacheHookShape>(
  "@conduitkit/core/ResponseCacheHook",
  { defaultValue: () => passthrough }
)
