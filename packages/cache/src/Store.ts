/**
 * What the stores of this package add to core's `CacheStoreShape`: an atomic "set if absent" (used by the
 * idempotency store and the response cache to claim a key across processes, `SET ... NX PX` on Redis), richer counters, and the failure-mode vocabulary.
 *
 * Both {@link MemoryStore} and {@link RedisStore} return a {@link ClaimableStore}; anything that only needs core's
 * interface can use them as a plain `CacheStoreShape`.
 *
 * @since 0.1.0
 */
import type { CacheStore } from "@conduitkit/core"
import type { Effect, Schema } from "effect"

/**
 * What a store does when its backing service fails or is slower than the operation timeout:
 *
 * - `"open"`: the operation behaves as if the cache were empty (`get` is a miss, `set` / `delete` do nothing), the
 *   event is logged with Effect's logger (warning) and counted in {@link StoreStats.failures}. Requests proceed
 *   without caching.
 * - `"closed"`: the operation fails with core's `CacheStoreError`.
 *
 * @since 0.1.0
 */
export type FailureMode = "open" | "closed"

/**
 * Counters of this package's stores (core's `CacheStats` plus):
 *
 * - `failures`: operations that failed (backing service down, slow, or refused) in either failure mode.
 * - `undecodable`: stored values that were not valid JSON and were removed (counted as misses too). A value that is
 *   valid JSON but no longer matches its Schema is removed by core's `CacheStore.getDecoded`, above the store: it is
 *   not counted here (the store's `get` counted a hit).
 *
 * `evictions`, `expirations` and `bytes` are reported by the memory store only.
 *
 * @since 0.1.0
 */
export interface StoreStats extends CacheStore.CacheStats {
  readonly failures: number
  readonly undecodable: number
}

/**
 * A store with an atomic claim operation.
 *
 * `setIfAbsent(key, value, options)` stores `value` only when `key` holds no live entry and succeeds with `true`
 * when it did. It fails with `CacheStoreError` like `set`; a fail-open store that cannot reach its backing service
 * succeeds with `true` (the caller proceeds as if it owned the key, which is what fail-open means).
 *
 * @since 0.1.0
 */
export interface ClaimableStore extends CacheStore.CacheStoreShape {
  readonly setIfAbsent: (
    key: string,
    value: Schema.Json,
    options?: CacheStore.SetOptions
  ) => Effect.Effect<boolean, CacheStore.CacheStoreError>
  readonly stats: Effect.Effect<StoreStats, CacheStore.CacheStoreError>
}

/**
 * Whether a store offers {@link ClaimableStore.setIfAbsent}. Stores that do not (core's default) are used with a
 * read-then-write claim, which is atomic only within one process.
 *
 * @since 0.1.0
 */
export const isClaimable = (store: CacheStore.CacheStoreShape): store is ClaimableStore =>
  typeof (store as Partial<ClaimableStore>).setIfAbsent === "function"
