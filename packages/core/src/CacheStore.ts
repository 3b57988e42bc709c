/**
 * The key/value store with TTL that providers and applications ask for when they need to remember something for a
 * while: Kimi's prompt-prefix hash to context-cache id, per-session cache state, response-cache entries,
 * idempotency records.
 *
 * Core defines only the interface and a small in-memory default (Effect's own `Cache`, bounded by entry count), so a
 * provider package works installed alone. `@conduitkit/cache` supplies the production layers: a byte-bounded LRU
 * (`lru-cache`) for one process and a Redis store for several; swapping them is one layer.
 *
 * Values are JSON (`Schema.Json`); typed access goes through {@link getDecoded} / {@link setEncoded}, which encode
 * and decode with a Schema. A value that no longer decodes (a schema changed between deploys) is treated as a miss
 * and removed, never a crash.
 *
 * @since 0.1.0
 */
import { Cache, Context, Duration, Effect, Exit, Option, Schema } from "effect"

/**
 * Counters of a store since it was created. `size` is the number of live entries. `evictions` (entries dropped to
 * respect a bound) and `expirations` (entries dropped because their TTL passed) are present when the backing store
 * can observe them (the cache package's memory store does; Redis and core's default do not).
 *
 * @since 0.1.0
 */
export interface CacheStats {
  readonly hits: number
  readonly misses: number
  readonly size: number
  readonly evictions?: number | undefined
  readonly expirations?: number | undefined
  /** Approximate bytes held, for stores bounded by size. */
  readonly bytes?: number | undefined
  /** Operations that failed because the backing service did (fail-open stores count them). */
  readonly failures?: number | undefined
}

/**
 * A store operation failed (the backing service is down or slow, a value could not be serialized). Decoding
 * failures are not errors: they are misses (see {@link getDecoded}).
 *
 * @since 0.1.0
 */
export class CacheStoreError extends Schema.TaggedError<CacheStoreError>()("CacheStoreError", {
  operation: Schema.Literals(["get", "set", "delete", "stats", "connect"]),
  key: Schema.optional(Schema.String),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Options of {@link CacheStoreShape.set}.
 *
 * @since 0.1.0
 */
export interface SetOptions {
  /** Time to live. Omitted: the store's default (core's default store: 1 hour). */
  readonly ttl?: Duration.Input | undefined
}

/**
 * The operations every store implements.
 *
 * - `get`: the value, or `Option.none()` when missing or expired.
 * - `set`: insert or replace, with an optional TTL.
 * - `delete`: `true` when something was removed.
 * - `stats`: counters (see {@link CacheStats}).
 *
 * All fail with {@link CacheStoreError} only when the backing service fails.
 *
 * @since 0.1.0
 */
export interface CacheStoreShape {
  readonly get: (key: string) => Effect.Effect<Option.Option<Schema.Json>, CacheStoreError>
  readonly set: (key: string, value: Schema.Json, options?: SetOptions) => Effect.Effect<void, CacheStoreError>
  readonly delete: (key: string) => Effect.Effect<boolean, CacheStoreError>
  readonly stats: Effect.Effect<CacheStats, CacheStoreError>
  /**
   * Atomic claim: stores `value` only when `key` is absent and answers whether it did (Redis `SET NX PX`).
   * Optional: stores without it are claimed by read-then-write, which is only safe within one process.
   */
  readonly setIfAbsent?:
    | ((key: string, value: Schema.Json, options?: SetOptions) => Effect.Effect<boolean, CacheStoreError>)
    | undefined
}

/**
 * Default capacity (entries) and TTL of core's built-in store.
 *
 * @since 0.1.0
 */
export const defaultMemoryOptions = { capacity: 1_000, ttl: Duration.hours(1) } as const

interface Stored {
  readonly value: Schema.Json
  readonly ttl: Duration.Duration
}

/**
 * An in-memory store on Effect's `Cache` (bounded by entry count, per-entry TTL, oldest entries evicted first).
 * Fine for one process and modest sizes; for byte bounds, eviction counters or several instances use the layers of
 * `@conduitkit/cache`.
 *
 * @since 0.1.0
 */
export const makeMemory = (options?: {
  readonly capacity?: number | undefined
  readonly ttl?: Duration.Input | undefined
}): CacheStoreShape => {
  const capacity = options?.capacity ?? defaultMemoryOptions.capacity
  const defaultTtl = Duration.fromInputUnsafe(options?.ttl ?? defaultMemoryOptions.ttl)
  let hits = 0
  let misses = 0
  let cache: Cache.Cache<string, Stored, Option.Option<never>> | undefined
  const getCache = Effect.suspend(() =>
    cache !== undefined
      ? Effect.succeed(cache)
      : Cache.makeWith<string, Stored, Option.Option<never>>(() => Effect.fail(Option.none()), {
          capacity,
          timeToLive: (exit) => (Exit.isSuccess(exit) ? exit.value.ttl : Duration.zero)
        }).pipe(Effect.tap((made) => Effect.sync(() => (cache = made))))
  )
  return {
    get: (key) =>
      getCache.pipe(
        Effect.flatMap((c) => Cache.getOption(c, key)),
        Effect.map(Option.map((stored) => stored.value)),
        Effect.orElseSucceed(() => Option.none<Schema.Json>()),
        Effect.tap((found) =>
          Effect.sync(() => {
            if (Option.isSome(found)) hits++
            else misses++
          })
        )
      ),
    set: (key, value, setOptions) =>
      getCache.pipe(
        Effect.flatMap((c) =>
          Cache.set(c, key, {
            value,
            ttl: setOptions?.ttl === undefined ? defaultTtl : Duration.fromInputUnsafe(setOptions.ttl)
          })
        )
      ),
    delete: (key) =>
      getCache.pipe(
        Effect.flatMap((c) => Cache.has(c, key).pipe(Effect.flatMap((had) => Effect.as(Cache.invalidate(c, key), had))))
      ),
    stats: getCache.pipe(
      Effect.flatMap(Cache.size),
      Effect.map((size) => ({ hits, misses, size }))
    ),
    // one process, one thread: the check and the write cannot interleave with another fiber's
    setIfAbsent: (key, value, setOptions) =>
      getCache.pipe(
        Effect.flatMap((c) =>
          Cache.getOption(c, key).pipe(
            Effect.orElseSucceed(() => Option.none()),
            Effect.flatMap((existing) =>
              Option.isSome(existing)
                ? Effect.succeed(false)
                : Effect.as(
                    Cache.set(c, key, {
                      value,
                      ttl: setOptions?.ttl === undefined ? defaultTtl : Duration.fromInputUnsafe(setOptions.ttl)
                    }),
                    true
                  )
            )
          )
        )
      )
  }
}

/**
 * The store service. Its default (used when no layer provides one) is a per-runtime {@link makeMemory} store, so
 * `Effect.provide(layer)` of a cache-package store is an opt-in upgrade, not a requirement.
 *
 * @since 0.1.0
 */
export const CacheStore: Context.Reference<CacheStoreShape> = Context.Reference<CacheStoreShape>(
  "@conduitkit/core/CacheStore",
  { defaultValue: () => makeMemory() }
)

/**
 * Reads `key` and decodes it with `schema`. A value that does not decode is deleted and reported as a miss, so a
 * schema change between deploys never crashes a reader.
 *
 * @since 0.1.0
 */
export const getDecoded = <S extends Schema.Codec<unknown, Schema.Json>>(
  store: CacheStoreShape,
  key: string,
  schema: S
): Effect.Effect<Option.Option<S["Type"]>, CacheStoreError> =>
  store.get(key).pipe(
    Effect.flatMap(
      Option.match({
        onNone: () => Effect.succeed(Option.none()),
        onSome: (json) =>
          Schema.decodeUnknownEffect(schema)(json).pipe(
            Effect.map(Option.some),
            Effect.catchTag("SchemaError", () => Effect.as(store.delete(key), Option.none()))
          )
      })
    )
  ) as Effect.Effect<Option.Option<S["Type"]>, CacheStoreError>

/**
 * Encodes `value` with `schema` and stores it under `key`.
 *
 * @since 0.1.0
 */
export const setEncoded = <S extends Schema.Codec<unknown, Schema.Json>>(
  store: CacheStoreShape,
  key: string,
  schema: S,
  value: S["Type"],
  options?: SetOptions
): Effect.Effect<void, CacheStoreError> =>
  Schema.encodeEffect(schema)(value).pipe(
    Effect.mapError(
      (error) => new CacheStoreError({ operation: "set", key, message: `value does not encode: ${error.message}` })
    ),
    Effect.flatMap((json) => store.set(key, json as Schema.Json, options))
  ) as Effect.Effect<void, CacheStoreError>
