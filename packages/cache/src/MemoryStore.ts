/**
 * A store for one process: LRU eviction bounded by entry count AND by approximate bytes, a TTL per entry, and no
 * timer per entry (expired entries are dropped when they are read or when `stats` runs). Built on `lru-cache`.
 *
 * Values are kept as their JSON text, so a reader always gets a fresh copy (as it would from Redis) and the byte
 * bound counts what is really held. The time source is Effect's `Clock`, so `TestClock` drives expiry in tests.
 *
 * ```ts
 * import { MemoryStore } from "@conduitkit/cache"
 *
 * const CacheLive = MemoryStore.layer({ capacity: 10_000, maxBytes: 64 * 1024 * 1024, defaultTtl: "1 hour" })
 * ```
 *
 * @since 0.1.0
 */
import { CacheStore } from "@conduitkit/core"
import { Clock, Duration, Effect, Layer, Option, type Schema } from "effect"
import { LRUCache } from "lru-cache"
import type { ClaimableStore, StoreStats } from "./Store.js"

/**
 * Options of {@link make} / {@link layer}.
 *
 * - `capacity`: maximum number of entries (default 10,000).
 * - `maxBytes`: maximum approximate bytes held, counted by {@link entryBytes} (default 64 MiB).
 * - `maxEntryBytes`: an entry larger than this is not stored (counted as an eviction). Default: `maxBytes`.
 * - `defaultTtl`: TTL of a `set` without one (default 1 hour). `Duration.infinity` means no expiry.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly capacity?: number | undefined
  readonly maxBytes?: number | undefined
  readonly maxEntryBytes?: number | undefined
  readonly defaultTtl?: Duration.Input | undefined
}

/**
 * Defaults of {@link Options}: 10,000 entries, 64 MiB, TTL 1 hour.
 *
 * @since 0.1.0
 */
export const defaults = {
  capacity: 10_000,
  maxBytes: 64 * 1024 * 1024,
  defaultTtl: Duration.hours(1)
} as const

/**
 * Fixed per-entry overhead (bytes) added by {@link entryBytes}: the LRU's bookkeeping slots, the map entry and the
 * two string headers.
 *
 * @since 0.1.0
 */
export const entryOverheadBytes = 128

/**
 * Approximate bytes an entry holds: 2 bytes per UTF-16 code unit of the key and of the value's JSON text (V8 keeps
 * ASCII strings in 1 byte per character, so this is an upper bound) plus {@link entryOverheadBytes}.
 *
 * @since 0.1.0
 */
export const entryBytes = (key: string, json: string): number => 2 * (key.length + json.length) + entryOverheadBytes

const toTtlMillis = (input: Duration.Input): number => {
  const duration = Duration.fromInputUnsafe(input)
  return Duration.isFinite(duration) ? Duration.toMillis(duration) : Number.POSITIVE_INFINITY
}

const positive = (name: string, value: number): number => {
  if (!(value > 0) || !Number.isFinite(value)) throw new RangeError(`MemoryStore: ${name} must be a positive number`)
  return Math.floor(value)
}

/**
 * Builds a store with an explicit clock (`now()` in milliseconds). Prefer {@link make}, which uses Effect's
 * `Clock`. Throws a `RangeError` for a non-positive `capacity`, `maxBytes` or `maxEntryBytes`.
 *
 * @since 0.1.0
 */
export const makeWithClock = (options: Options | undefined, now: () => number): ClaimableStore => {
  const capacity = positive("capacity", options?.capacity ?? defaults.capacity)
  const maxBytes = positive("maxBytes", options?.maxBytes ?? defaults.maxBytes)
  const maxEntryBytes = positive("maxEntryBytes", options?.maxEntryBytes ?? maxBytes)
  const defaultTtlMs = toTtlMillis(options?.defaultTtl ?? defaults.defaultTtl)
  const origin = now()
  let hits = 0
  let misses = 0
  let evictions = 0
  let expirations = 0

  const lru = new LRUCache<string, string>({
    max: capacity,
    maxSize: maxBytes,
    maxEntrySize: maxEntryBytes,
    sizeCalculation: (json, key) => entryBytes(key, json),
    // A TTL on the cache enables per-entry TTL tracking; each `set` passes its own.
    ttl: Number.isFinite(defaultTtlMs) && defaultTtlMs > 0 ? defaultTtlMs : 0,
    ttlAutopurge: false,
    ttlResolution: 0,
    allowStale: false,
    updateAgeOnGet: false,
    // lru-cache treats a start time of 0 as "no TTL", so the clock is shifted to start at 1.
    perf: { now: () => now() - origin + 1 },
    dispose: (_value, _key, reason) => {
      if (reason === "evict") evictions++
      else if (reason === "expire") expirations++
    }
  })

  const encode = (operation: "set", key: string, value: Schema.Json) =>
    Effect.try({
      try: () => JSON.stringify(value),
      catch: (cause) =>
        new CacheStore.CacheStoreError({ operation, key, message: "value is not serializable as JSON", cause })
    })

  const put = (key: string, json: string, ttl: Duration.Input | undefined): void => {
    const ttlMs = ttl === undefined ? defaultTtlMs : toTtlMillis(ttl)
    if (!(ttlMs > 0)) {
      lru.delete(key)
      return
    }
    const status: LRUCache.Status<string, string> = {}
    lru.set(key, json, { ttl: Number.isFinite(ttlMs) ? ttlMs : 0, status })
    if (status.maxEntrySizeExceeded === true) evictions++
  }

  const live = (key: string): boolean => lru.has(key)

  return {
    get: (key) =>
      Effect.sync(() => {
        const json = lru.get(key)
        if (json === undefined) {
          misses++
          return Option.none()
        }
        hits++
        return Option.some(JSON.parse(json) as Schema.Json)
      }),
    set: (key, value, setOptions) => Effect.map(encode("set", key, value), (json) => put(key, json, setOptions?.ttl)),
    setIfAbsent: (key, value, setOptions) =>
      Effect.map(encode("set", key, value), (json) => {
        if (live(key)) return false
        put(key, json, setOptions?.ttl)
        return true
      }),
    delete: (key) =>
      Effect.sync(() => {
        const had = live(key)
        lru.delete(key)
        return had
      }),
    stats: Effect.sync((): StoreStats => {
      lru.purgeStale()
      return {
        hits,
        misses,
        size: lru.size,
        evictions,
        expirations,
        bytes: lru.calculatedSize,
        failures: 0,
        undecodable: 0
      }
    })
  }
}

/**
 * Builds a memory store whose TTLs follow Effect's `Clock` (so `TestClock.adjust` expires entries in tests).
 * Never fails at runtime except `set` of a value that is not serializable (`CacheStoreError`); dies with a
 * `RangeError` for invalid {@link Options}.
 *
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<ClaimableStore> =>
  Clock.clockWith((clock) => Effect.sync(() => makeWithClock(options, () => clock.currentTimeMillisUnsafe())))

/**
 * A layer providing core's `CacheStore` with a memory store (see {@link Options}).
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<never> => Layer.effect(CacheStore.CacheStore, make(options))
