/**
 * A store shared by several processes through Redis: every key is written under an application prefix, values
 * are JSON text, and TTLs are enforced by Redis itself (`SET key value PX ms`), so no process sweeps anything.
 *
 * It runs over Effect's `Redis` service (`effect/persistence/Redis`), the same service `RateLimiter` and
 * `Persistence` use, so an application can share one connection among them. {@link layer} brings its own
 * connection (`@effect/platform-node`'s `NodeRedis`, on the `redis` client), scoped to the layer: the client is
 * closed when the layer's scope closes.
 *
 * Failure behaviour (see `Store.FailureMode`): every operation is bounded by `operationTimeout`; when Redis is down,
 * refuses, or is slower than that, a fail-open store (the default) logs a warning, counts the failure and behaves
 * as an empty cache, while a fail-closed store fails with core's `CacheStoreError`. Commands are never queued while
 * the connection is down (`disableOfflineQueue`), so an outage costs no memory and no waiting. A stored value that
 * is not valid JSON is removed, reported as a miss and counted in `stats.undecodable` (a schema mismatch is handled
 * by core's `getDecoded` and not counted here).
 *
 * Stats: `hits`, `misses`, `failures` and `undecodable` are this process's own counts; there are no `evictions`,
 * `expirations` or `bytes` (Redis expires and evicts entries by itself, unobserved; see `INFO stats`); `size` counts
 * the keys under the prefix with `SCAN ... MATCH <prefix>*`, one round trip per 1,000 keys scanned, so poll it, do
 * not call it per request.
 *
 * ```ts
 * import { RedisStore } from "@conduitkit/cache"
 *
 * const CacheLive = RedisStore.layer({ url: "redis://127.0.0.1:6379", prefix: "my-app:", failureMode: "open" })
 * const CacheFromEnv = RedisStore.layerConfig({ prefix: "my-app:" }) // reads REDIS_URL
 * ```
 *
 * @since 0.1.0
 */
import { CacheStore } from "@conduitkit/core"
import type * as NodeRedis from "@effect/platform-node/NodeRedis"
import {
  Cause,
  Config,
  Context,
  Duration,
  Effect,
  Exit,
  Layer,
  Option,
  Redacted,
  Result,
  Schedule,
  type Schema,
  Scope
} from "effect"
import * as Redis from "effect/persistence/Redis"
import type { createClient } from "redis"
import type { ClaimableStore, FailureMode, StoreStats } from "./Store.js"

/**
 * Options of the store itself (independent of how the connection is made).
 *
 * - `prefix`: prepended to every key (default `"conduit:"`); give each application its own. Two stores with the
 *   same prefix on the same Redis see the same entries.
 * - `failureMode`: `"open"` (default) or `"closed"`, see `Store.FailureMode`.
 * - `operationTimeout`: bound on each Redis round trip (default 500 ms); slower counts as a failure.
 * - `defaultTtl`: TTL of a `set` without one (default 1 hour). `Duration.infinity` stores without expiry.
 * - `fallback`: fail-open only: the store an operation uses while Redis fails (for example a `MemoryStore`), so the
 *   response cache and idempotency keys keep working per instance during an outage instead of turning into misses.
 *   Entries it holds are not copied to Redis when Redis is back; Redis is tried first on every operation.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly prefix?: string | undefined
  readonly failureMode?: FailureMode | undefined
  readonly operationTimeout?: Duration.Input | undefined
  readonly defaultTtl?: Duration.Input | undefined
  readonly fallback?: ClaimableStore | undefined
}

/**
 * Extra `redis` (node-redis) client options, passed to `createClient` after Conduit's own (`url`,
 * `disableOfflineQueue: true`, `socket.connectTimeout`).
 *
 * @since 0.1.0
 */
export type ClientOptions = Omit<NonNullable<Parameters<typeof createClient>[0]>, "url">

/**
 * Options of {@link layer}: the store's {@link Options} plus the connection.
 *
 * - `url`: `redis://[user:password@]host:port[/db]` (default `redis://127.0.0.1:6379`); a `Redacted` URL is never
 *   logged.
 * - `connectTimeout`: bound on opening the connection (default 2 s).
 * - `reconnectInterval`: fail-open only: when Redis is unreachable at startup the layer still builds, serves as an
 *   empty cache and retries the connection at this interval (default 1 s) in the background. A fail-closed layer
 *   instead fails to build with `RedisError`. Once connected, the client reconnects by itself with backoff.
 * - `client`: extra {@link ClientOptions}.
 *
 * @since 0.1.0
 */
export interface LayerOptions extends Options {
  readonly url?: string | Redacted.Redacted<string> | undefined
  readonly connectTimeout?: Duration.Input | undefined
  readonly reconnectInterval?: Duration.Input | undefined
  readonly client?: ClientOptions | undefined
}

/**
 * Defaults of {@link Options} and {@link LayerOptions}.
 *
 * @since 0.1.0
 */
export const defaults = {
  prefix: "conduit:",
  failureMode: "open",
  operationTimeout: Duration.millis(500),
  defaultTtl: Duration.hours(1),
  url: "redis://127.0.0.1:6379",
  connectTimeout: Duration.seconds(2),
  reconnectInterval: Duration.seconds(1)
} as const

type Operation = "get" | "set" | "delete" | "stats"

const globEscape = (text: string): string => text.replace(/[*?[\]\\]/g, (char) => `\\${char}`)

const ttlArgs = (input: Duration.Input): ReadonlyArray<string> | "expired" => {
  const duration = Duration.fromInputUnsafe(input)
  if (!Duration.isFinite(duration)) return []
  const millis = Math.ceil(Duration.toMillis(duration))
  return millis > 0 ? ["PX", String(millis)] : "expired"
}

/**
 * Builds a store over a Redis service obtained lazily from `connection` (`undefined` while not connected, which
 * counts as a failure). Used by {@link make} and by {@link layer}'s background connection.
 *
 * @since 0.1.0
 */
export const makeWith = (
  connection: () => Redis.Redis["Service"] | undefined,
  options?: Options
): Effect.Effect<ClaimableStore> =>
  Effect.sync(() => {
    const prefix = options?.prefix ?? defaults.prefix
    const failureMode = options?.failureMode ?? defaults.failureMode
    const timeout = Duration.fromInputUnsafe(options?.operationTimeout ?? defaults.operationTimeout)
    const defaultTtl = options?.defaultTtl ?? defaults.defaultTtl
    let hits = 0
    let misses = 0
    let failures = 0
    let undecodable = 0
    let lastSize = 0

    const send = <A>(command: string, ...args: ReadonlyArray<string>): Effect.Effect<A, unknown> =>
      Effect.suspend(() => {
        const redis = connection()
        return redis === undefined
          ? Effect.fail(new Error("not connected to Redis"))
          : (redis.send<A>(command, ...args) as Effect.Effect<A, unknown>)
      })

    const backup = options?.fallback
    const guard = <A>(
      operation: Operation,
      key: string | undefined,
      fallback: () => A,
      fromBackup?: (store: ClaimableStore) => Effect.Effect<A, CacheStore.CacheStoreError>
    ) => {
      const describe = (cause: unknown): string => {
        if (Cause.isTimeoutError(cause)) return `timed out after ${Duration.format(timeout)}`
        const inner = cause instanceof Redis.RedisError ? cause.cause : cause
        return inner instanceof Error ? inner.message : String(inner)
      }
      return (effect: Effect.Effect<A, unknown>): Effect.Effect<A, CacheStore.CacheStoreError> =>
        effect.pipe(
          Effect.timeout(timeout),
          Effect.catch((cause) => {
            failures++
            const message = `Redis ${operation} failed: ${describe(cause)}`
            if (failureMode === "closed") {
              return Effect.fail(
                new CacheStore.CacheStoreError({ operation, ...(key === undefined ? {} : { key }), message, cause })
              )
            }
            const instead =
              backup !== undefined && fromBackup !== undefined ? fromBackup(backup) : Effect.sync(fallback)
            return Effect.logWarning(
              `${message}; continuing ${backup !== undefined ? "on the fallback store" : "without cache"} (fail-open)`
            ).pipe(Effect.annotateLogs({ module: "@conduitkit/cache/RedisStore", operation }), Effect.andThen(instead))
          })
        )
    }

    const encode = (key: string, value: Schema.Json) =>
      Effect.try({
        try: () => JSON.stringify(value),
        catch: (cause) =>
          new CacheStore.CacheStoreError({ operation: "set", key, message: "value is not serializable as JSON", cause })
      })

    const write = (key: string, json: string, ttl: Duration.Input | undefined, onlyIfAbsent: boolean) => {
      const expiry = ttlArgs(ttl ?? defaultTtl)
      if (expiry === "expired") {
        return onlyIfAbsent ? Effect.succeed(false) : Effect.as(send<number>("DEL", prefix + key), false)
      }
      const args = [prefix + key, json, ...expiry, ...(onlyIfAbsent ? ["NX"] : [])]
      return Effect.map(send<string | null>("SET", ...args), (reply) => reply === "OK")
    }

    const countKeys = Effect.gen(function* () {
      const pattern = `${globEscape(prefix)}*`
      let cursor = "0"
      let count = 0
      do {
        const [next, keys] = yield* send<[string, Array<string>]>("SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
        count += keys.length
        cursor = next
      } while (cursor !== "0")
      lastSize = count
      return count
    })

    const store: ClaimableStore = {
      get: (key) =>
        send<string | null>("GET", prefix + key).pipe(
          Effect.flatMap((json) => {
            if (json === null) {
              misses++
              return Effect.succeed(Option.none<Schema.Json>())
            }
            try {
              const value = JSON.parse(json) as Schema.Json
              hits++
              return Effect.succeed(Option.some(value))
            } catch {
              misses++
              undecodable++
              return send<number>("DEL", prefix + key).pipe(
                Effect.andThen(Effect.logWarning("RedisStore: removed a value that is not valid JSON")),
                Effect.annotateLogs({ module: "@conduitkit/cache/RedisStore", operation: "get" }),
                Effect.as(Option.none<Schema.Json>())
              )
            }
          }),
          guard(
            "get",
            key,
            () => Option.none<Schema.Json>(),
            (b) => b.get(key)
          )
        ),
      set: (key, value, setOptions) =>
        Effect.flatMap(encode(key, value), (json) =>
          write(key, json, setOptions?.ttl, false).pipe(
            Effect.asVoid,
            guard<void>(
              "set",
              key,
              () => undefined,
              (b) => b.set(key, value, setOptions)
            )
          )
        ),
      setIfAbsent: (key, value, setOptions) =>
        Effect.flatMap(encode(key, value), (json) =>
          write(key, json, setOptions?.ttl, true).pipe(
            guard(
              "set",
              key,
              () => true,
              (b) => b.setIfAbsent(key, value, setOptions)
            )
          )
        ),
      delete: (key) =>
        send<number>("DEL", prefix + key).pipe(
          Effect.map((removed) => removed > 0),
          guard(
            "delete",
            key,
            () => false,
            (b) => b.delete(key)
          )
        ),
      stats: countKeys.pipe(
        guard("stats", undefined, () => lastSize),
        Effect.map((size): StoreStats => ({ hits, misses, size, failures, undecodable }))
      )
    }
    return store
  })

/**
 * Builds a store over the `Redis` service in context (see {@link Options}).
 *
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<ClaimableStore, never, Redis.Redis> =>
  Redis.Redis.use((redis) => makeWith(() => redis, options))

/**
 * A layer providing core's `CacheStore` over an existing `Redis` service (for example `NodeRedis.layer(...)` that
 * the application also gives to `RateLimiter`).
 *
 * @since 0.1.0
 */
export const layerRedis = (options?: Options): Layer.Layer<never, never, Redis.Redis> =>
  Layer.effect(CacheStore.CacheStore, make(options))

/**
 * The `NodeRedis.layer` options {@link layer} opens its connection with (see {@link LayerOptions}: `url`, default
 * `redis://127.0.0.1:6379`, a `Redacted` URL unwrapped here; `disableOfflineQueue: true`, so a command fails at once
 * while disconnected; `socket.connectTimeout` in ms, default 2 s), for an application that opens the connection
 * itself to share it with `RateLimiter` or `Chat` persistence.
 *
 * @since 0.1.0
 */
export const clientOptions = (options?: LayerOptions | undefined) => {
  const url = options?.url ?? defaults.url
  const connectTimeout = Duration.toMillis(Duration.fromInputUnsafe(options?.connectTimeout ?? defaults.connectTimeout))
  const extra = options?.client ?? {}
  return {
    ...extra,
    url: Redacted.isRedacted(url) ? Redacted.value(url) : url,
    disableOfflineQueue: true,
    socket: { ...extra.socket, connectTimeout }
  } as NonNullable<Parameters<typeof NodeRedis.layer>[0]>
}

/**
 * `NodeRedis.layer(options)` with `@effect/platform-node/NodeRedis` (and the `redis` client under it, ~7 MB of a
 * process's memory) loaded when the layer is built, so a process that never connects to Redis never loads it.
 *
 * @since 0.1.0
 */
export const nodeRedisLayer = (
  options: NonNullable<Parameters<typeof NodeRedis.layer>[0]>
): Layer.Layer<Redis.Redis, Redis.RedisError> =>
  Layer.unwrap(
    Effect.map(
      Effect.promise(() => import("@effect/platform-node/NodeRedis")),
      (m) => m.layer(options)
    )
  )

/**
 * A layer providing core's `CacheStore` over its own Redis connection (see {@link LayerOptions}), closed with the
 * layer. Fail-closed: fails to build with `RedisError` when Redis is unreachable. Fail-open (default): always
 * builds; until connected, it is an empty cache and retries in the background.
 *
 * @since 0.1.0
 */
export const layer = (options?: LayerOptions): Layer.Layer<never, Redis.RedisError> => {
  const connection = nodeRedisLayer(clientOptions(options))
  if ((options?.failureMode ?? defaults.failureMode) === "closed") {
    return Layer.provide(layerRedis(options), connection)
  }
  const reconnectInterval = options?.reconnectInterval ?? defaults.reconnectInterval
  return Layer.effect(
    CacheStore.CacheStore,
    Effect.gen(function* () {
      const scope = yield* Effect.scope
      let current: Redis.Redis["Service"] | undefined
      const connect = Effect.gen(function* () {
        const child = yield* Scope.fork(scope)
        const context = yield* Layer.buildWithScope(connection, child).pipe(
          Effect.onError(() => Scope.close(child, Exit.void))
        )
        current = Context.get(context, Redis.Redis)
      })
      const first = yield* Effect.result(connect)
      if (Result.isFailure(first)) {
        yield* Effect.logWarning(
          "RedisStore: Redis is unreachable; serving without cache (fail-open) and reconnecting in the background"
        ).pipe(Effect.annotateLogs({ module: "@conduitkit/cache/RedisStore" }))
        yield* connect.pipe(Effect.retry(Schedule.spaced(reconnectInterval)), Effect.ignore, Effect.forkIn(scope))
      }
      return yield* makeWith(() => current, options)
    })
  )
}

/**
 * {@link layer} with the URL read from `REDIS_URL` (as a redacted config value); the other options are given in
 * code. Fails with `ConfigError` when `REDIS_URL` is missing.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options?: Omit<LayerOptions, "url">
): Layer.Layer<never, Redis.RedisError | Config.ConfigError> =>
  Layer.unwrap(Effect.map(Config.Redacted("REDIS_URL"), (url) => layer({ ...options, url })))
