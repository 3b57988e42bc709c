/**
 * @conduitkit/cache: bounded in-memory (LRU + TTL) and Redis-backed stores for core's `CacheStore` service, a
 * response cache with single flight, and idempotency keys, for core's `ResponseCacheHook`.
 *
 * @since 0.1.0
 */

/**
 * Stable request keys: canonical JSON (keys sorted recursively), SHA-256 `requestHash`, `isDeterministic`.
 *
 * @since 0.1.0
 */
export * as CacheKey from "./CacheKey.js"
/**
 * Idempotency keys (`Idempotency-Key`): once per key and TTL, join, replay, typed conflict
 * (`isIdempotencyConflict`); `layer` for idempotency without response caching.
 *
 * @since 0.1.0
 */
export * as Idempotency from "./Idempotency.js"
/**
 * One-process store: LRU bounded by entries (default 10,000) and approximate bytes (default 64 MiB), per-entry TTL,
 * eviction/expiration counters. `MemoryStore.layer(options)` provides core's `CacheStore`.
 *
 * @since 0.1.0
 */
export * as MemoryStore from "./MemoryStore.js"
/**
 * Shared store on Redis (prefix per application, TTL by `SET ... PX`, fail-open or fail-closed, bounded operation
 * time). `RedisStore.layer({ url, prefix, failureMode })`, `layerConfig` (reads `REDIS_URL`), `layerRedis` (over an
 * existing `Redis` service).
 *
 * @since 0.1.0
 */
export * as RedisStore from "./RedisStore.js"
/**
 * The implementation of core's `ResponseCacheHook`: exact-match cache for deterministic calls, single flight (across
 * instances too, over a store with `setIfAbsent`), stream replay, tokens-saved stats, idempotency;
 * `ResponseCache.layer(options)`.
 *
 * @since 0.1.0
 */
export * as ResponseCache from "./ResponseCache.js"
/**
 * What this package's stores add to core's interface: `FailureMode`, `StoreStats`, `ClaimableStore.setIfAbsent`.
 *
 * @since 0.1.0
 */
export * as Store from "./Store.js"
