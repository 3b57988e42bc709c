/**
 * The implementation of core's `ResponseCacheHook`: an opt-in exact-match response cache with single flight, and
 * idempotency keys, over whatever `CacheStore` is provided (memory or Redis: one layer swap).
 *
 * **Response cache.** A call is cached when `options.mode` is `"always"`, or `"auto"` (the default) and the wire
 * request is deterministic (`temperature: 0` or an explicit `seed`, see `CacheKey.isDeterministic`); `"never"`
 * bypasses it. The key is `response:v1:<kind>:<sha256 of the normalized call>` (`kind` is `generate` or `stream`;
 * see `CacheKey.requestHash`: key order and whitespace do not matter). A non-stream answer and a stream are both
 * stored as their parts; a stream hit replays as a stream of the same parts. On a replay the `finish` and
 * `response-metadata` parts carry `metadata.conduit.cache = "hit"`; the call that went upstream carries `"miss"`.
 * Only complete answers are stored: a failed or interrupted upstream call, a stream that fails midway, or one that
 * reports an error part is never stored. Each entry records the usage of its `finish` part, which {@link Stats}
 * adds up as tokens saved.
 *
 * **Single flight.** Concurrent identical cacheable calls in one process make exactly one upstream call; the others
 * join it (a joining stream receives the parts emitted so far, then follows live) and are marked `"hit"`. The
 * upstream call belongs to all of them: it is cancelled only when every caller has gone away. The answer is stored
 * before any caller sees its end (one store round trip, bounded by the store's operation timeout), so a call made
 * right after is a hit.
 *
 * **Across instances.** When the store offers an atomic claim (`Store.ClaimableStore.setIfAbsent`, `SET NX PX` on
 * Redis; both stores of this package do), the instance that misses first claims the key
 * (`response-claim:v1:<kind>:<hash>`, TTL `crossInstance.pendingTtl`, refreshed while its call runs) and calls
 * upstream; an instance that misses while the claim is held does not call upstream but polls the store every
 * `crossInstance.pollInterval` and replays the answer once it is stored (marked `"hit"`; it does not follow the
 * stream live). The wait is bounded: when the claim disappears without an answer (the call failed, or its process
 * died and the claim lapsed) a waiter claims the key itself, and after `crossInstance.maxWait` it gives up and calls
 * upstream (counted in `claimTimeouts`). One waiter per instance polls: its local duplicates join it. Over a store
 * without `setIfAbsent` (core's default), or with `crossInstance: false`, single flight is per process only.
 *
 * **Idempotency.** A call with `options.idempotencyKey` is executed once per key within `idempotency.ttl`: a
 * concurrent duplicate joins the in-flight call (`metadata.conduit.idempotency = "joined"`), a later one replays the
 * stored parts (`"replayed"`), and the same key with a different request (or stream vs non-stream) fails with an
 * idempotency conflict (`Idempotency.isIdempotencyConflict`, HTTP 409 at the gateway). A failed call releases its
 * key, so a retry executes again. Across processes the key is claimed atomically (`SET NX PX` on Redis) and a
 * duplicate arriving on another instance waits for the first to complete, then replays it.
 *
 * **Failures.** The store decides (see `Store.FailureMode`): a fail-open store never fails, so calls proceed
 * uncached while it is down. A fail-closed store's `CacheStoreError` on a read before the call surfaces as an
 * `AiError` with reason `InternalProviderError` and `metadata.conduit.kind = "cache-unavailable"` (see
 * {@link isCacheUnavailable}); a failed write after a successful call is logged and counted, never thrown (the
 * answer was paid for). An entry that no longer decodes is a miss and is removed.
 *
 * ```ts
 * import { MemoryStore, RedisStore, ResponseCache } from "@conduitkit/cache"
 * import { Layer } from "effect"
 *
 * // one process
 * const CacheLive = ResponseCache.layer({ ttl: "1 hour" }).pipe(Layer.provideMerge(MemoryStore.layer()))
 * // several instances
 * const SharedCacheLive = ResponseCache.layer().pipe(Layer.provideMerge(RedisStore.layerConfig({ prefix: "gw:" })))
 * ```
 *
 * @since 0.1.0
 */
import { CacheStore, ResponseCacheHook } from "@conduitkit/core"
import { Clock, Context, Duration, Effect, Layer, Option, type Scope, Stream } from "effect"
import type { AiError, Response } from "effect/ai"
import { isDeterministic, requestHash } from "./CacheKey.js"
import * as Claims from "./internal/claims.js"
import * as Errors from "./internal/errors.js"
import * as Flights from "./internal/flights.js"
import * as Idempotency from "./internal/idempotency.js"
import {
  Entry,
  isStorable,
  type Kind,
  mark,
  marker,
  type Part,
  type Resolved,
  type SavedUsage,
  toStream,
  usageOf
} from "./internal/parts.js"

/**
 * Options of {@link make} / {@link layer}.
 *
 * - `store`: the store to use (default: the `CacheStore` in context, i.e. the provided store layer, else core's
 *   small in-memory default).
 * - `ttl`: lifetime of a stored response (default 1 hour).
 * - `cacheResponses`: `false` turns the response cache off and keeps only idempotency (default `true`).
 * - `idempotency.ttl`: how long a completed call is remembered for its key (default 24 hours).
 * - `idempotency.pendingTtl`: lifetime of the claim a running call holds on its key (default 30 seconds); the claim
 *   is refreshed every third of it while the call runs, so a duplicate in another process waits as long as the
 *   first call runs, and at most this long after its process crashed, then executes itself.
 * - `idempotency.pollInterval`: how often such a duplicate looks at the store (default 100 ms).
 * - `crossInstance`: single flight across instances sharing the store (see the module doc); `false` turns it off.
 *   `crossInstance.maxWait`: how long an instance waits for another instance's identical call before calling
 *   upstream itself (default 30 seconds); `crossInstance.pendingTtl`: lifetime of the claim, refreshed every third
 *   of it while the call runs (default 30 seconds); `crossInstance.pollInterval`: how often a waiting instance
 *   looks at the store (default 100 ms).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly store?: CacheStore.CacheStoreShape | undefined
  readonly ttl?: Duration.Input | undefined
  readonly cacheResponses?: boolean | undefined
  readonly idempotency?:
    | {
        readonly ttl?: Duration.Input | undefined
        readonly pendingTtl?: Duration.Input | undefined
        readonly pollInterval?: Duration.Input | undefined
      }
    | undefined
  readonly crossInstance?:
    | false
    | {
        readonly maxWait?: Duration.Input | undefined
        readonly pendingTtl?: Duration.Input | undefined
        readonly pollInterval?: Duration.Input | undefined
      }
    | undefined
}

/**
 * Defaults of {@link Options}.
 *
 * @since 0.1.0
 */
export const defaults = {
  ttl: Duration.hours(1),
  cacheResponses: true,
  idempotency: {
    ttl: Duration.hours(24),
    pendingTtl: Duration.seconds(30),
    pollInterval: Duration.millis(100)
  },
  crossInstance: {
    maxWait: Duration.seconds(30),
    pendingTtl: Duration.seconds(30),
    pollInterval: Duration.millis(100)
  }
} as const

/**
 * Counters since the cache was built. Calls:
 *
 * - `hits`: answered from a stored response; `joins`: shared an identical in-flight call; `misses`: cacheable calls
 *   that went upstream; `bypassed`: calls not eligible for the response cache (mode, or not deterministic).
 * - `stored`: responses written; `storeFailures`: writes that failed (logged, never surfaced).
 * - `idempotentExecutions` / `idempotentReplays` / `idempotentJoins` / `idempotencyConflicts`: calls with a key.
 * - `savedInputTokens` / `savedOutputTokens`: usage (from the `finish` part) of the answers served without an
 *   upstream call (hits, joins, idempotent replays and joins).
 * - `claimWaits`: cacheable misses that found another instance's claim and waited for its answer (then counted in
 *   `hits` when it came, or in `misses` when they called upstream themselves); `claimTimeouts`: waits that reached
 *   `crossInstance.maxWait` and called upstream.
 * - `inFlight`: upstream calls currently shared by single flight (response cache plus idempotency).
 *
 * @since 0.1.0
 */
export interface Stats {
  readonly hits: number
  readonly joins: number
  readonly misses: number
  readonly bypassed: number
  readonly stored: number
  readonly storeFailures: number
  readonly idempotentExecutions: number
  readonly idempotentReplays: number
  readonly idempotentJoins: number
  readonly idempotencyConflicts: number
  readonly savedInputTokens: number
  readonly savedOutputTokens: number
  readonly claimWaits: number
  readonly claimTimeouts: number
  readonly inFlight: number
}

/**
 * Core's hook plus the counters.
 *
 * @since 0.1.0
 */
export interface ResponseCacheWithStats extends ResponseCacheHook.ResponseCacheHookShape {
  readonly stats: Effect.Effect<Stats>
}

/**
 * The counters of the response cache provided by {@link layer}: `yield* ResponseCacheStats` then `.stats`.
 *
 * @since 0.1.0
 */
export class ResponseCacheStats extends Context.Service<ResponseCacheStats, { readonly stats: Effect.Effect<Stats> }>()(
  "@conduitkit/cache/ResponseCacheStats"
) {}

/**
 * Whether an error is the fail-closed "cache unavailable" `AiError` (reason `InternalProviderError`,
 * `metadata.conduit.kind === "cache-unavailable"`, `metadata.conduit.operation` the failed store operation).
 *
 * @since 0.1.0
 */
export const isCacheUnavailable: (error: unknown) => error is AiError.AiError = Errors.isCacheUnavailable

/**
 * Whether a call is eligible for the response cache: `mode: "always"`, or `"auto"` / unset with a deterministic
 * request (`CacheKey.isDeterministic`). `mode: "never"` is never eligible.
 *
 * @since 0.1.0
 */
export const isCacheable = (call: ResponseCacheHook.CacheableCall): boolean => {
  const mode = call.options.mode ?? "auto"
  return mode === "always" || (mode === "auto" && isDeterministic(call.request))
}

/** Cross-instance single flight: on when the store has an atomic claim and `crossInstance` is not `false`. */
interface Shared {
  readonly claims: Claims.Claims
  readonly maxWait: number
  readonly pollInterval: Duration.Duration
}

const makeShared = (store: CacheStore.CacheStoreShape, options: Options["crossInstance"]): Shared | undefined => {
  if (options === false) return undefined
  const claims = Claims.make(store, {
    pendingTtl: Duration.fromInputUnsafe(options?.pendingTtl ?? defaults.crossInstance.pendingTtl),
    module: "@conduitkit/cache/ResponseCache",
    what: "ResponseCache"
  })
  if (!claims.atomic) return undefined
  return {
    claims,
    maxWait: Duration.toMillis(Duration.fromInputUnsafe(options?.maxWait ?? defaults.crossInstance.maxWait)),
    pollInterval: Duration.fromInputUnsafe(options?.pollInterval ?? defaults.crossInstance.pollInterval)
  }
}

/**
 * Builds the hook over the given (or ambient) store. The scope owns the shared upstream calls: closing it cancels
 * those still running.
 *
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<ResponseCacheWithStats, never, Scope.Scope> =>
  Effect.gen(function* () {
    const store = options?.store ?? (yield* CacheStore.CacheStore)
    const scope = yield* Effect.scope
    const ttl = Duration.fromInputUnsafe(options?.ttl ?? defaults.ttl)
    const cacheResponses = options?.cacheResponses ?? defaults.cacheResponses
    const flights = Flights.make<Part, AiError.AiError>(scope)

    let hits = 0
    let joins = 0
    let misses = 0
    let bypassed = 0
    let stored = 0
    let savedInputTokens = 0
    let savedOutputTokens = 0
    let claimWaits = 0
    let claimTimeouts = 0
    const counters: Idempotency.Counters = {
      idempotentExecutions: 0,
      idempotentReplays: 0,
      idempotentJoins: 0,
      idempotencyConflicts: 0,
      storeFailures: 0,
      saved: (usage: SavedUsage | undefined) => {
        if (usage === undefined) return
        savedInputTokens += usage.inputTokens
        savedOutputTokens += usage.outputTokens
      }
    }
    const idempotency = Idempotency.make(
      {
        store,
        ...Idempotency.durations({
          ttl: options?.idempotency?.ttl ?? defaults.idempotency.ttl,
          pendingTtl: options?.idempotency?.pendingTtl ?? defaults.idempotency.pendingTtl,
          pollInterval: options?.idempotency?.pollInterval ?? defaults.idempotency.pollInterval
        })
      },
      counters,
      scope
    )
    const shared = makeShared(store, options?.crossInstance)

    const storeEntry = (key: string, kind: Kind, parts: ReadonlyArray<Part>) =>
      Effect.gen(function* () {
        if (!isStorable(parts)) return
        const usage = usageOf(parts)
        const entry: Entry = {
          version: 1,
          kind,
          parts: parts as Entry["parts"],
          ...(usage === undefined ? {} : { usage }),
          storedAt: yield* Clock.currentTimeMillis
        }
        yield* CacheStore.setEncoded(store, key, Entry, entry, { ttl })
        stored++
      }).pipe(
        Effect.catch((error) =>
          Effect.sync(() => counters.storeFailures++).pipe(
            Effect.andThen(Effect.logWarning(`ResponseCache: could not store a response: ${error.message}`)),
            Effect.annotateLogs({ module: "@conduitkit/cache/ResponseCache" })
          )
        )
      )

    const joinFlight = (flight: Flights.Flight<Part, AiError.AiError>): Resolved<AiError.AiError> => {
      joins++
      const marked = marker({ cache: "hit" })
      return {
        stream: flights.subscribe(flight).pipe(
          Stream.map((part) => {
            if (part.type === "finish") counters.saved(usageOf([part]))
            return marked(part)
          })
        )
      }
    }

    /** The stored answer for `key`, if any (an entry that no longer decodes is removed by `getDecoded`). */
    const lookup = (
      key: string,
      kind: Kind,
      onUnavailable: (error: CacheStore.CacheStoreError) => AiError.AiError
    ): Effect.Effect<Option.Option<Entry>, AiError.AiError> =>
      CacheStore.getDecoded(store, key, Entry).pipe(
        Effect.map(Option.filter((entry) => entry.kind === kind)),
        Effect.mapError(onUnavailable)
      )

    const replay = (entry: Entry): ReadonlyArray<Part> => {
      hits++
      counters.saved(entry.usage)
      return entry.parts
    }

    /**
     * Cross-instance single flight, run inside the local flight (so one caller per instance does this): claim the
     * key and call upstream, or wait for the claim holder's stored answer (bounded by `maxWait`).
     */
    const claimOrWait = (
      shared: Shared,
      key: string,
      claimKey: string,
      kind: Kind,
      onUnavailable: (error: CacheStore.CacheStoreError) => AiError.AiError,
      upstream: Stream.Stream<Part, AiError.AiError>,
      state: { owned: boolean; replayed: boolean }
    ): Effect.Effect<Resolved<AiError.AiError>, AiError.AiError> =>
      Effect.gen(function* () {
        const start = yield* Clock.currentTimeMillis
        let waited = false
        while (true) {
          const now = yield* Clock.currentTimeMillis
          const record = { version: 1, state: "pending", startedAt: now }
          const claimed = yield* shared.claims.claim(claimKey, record).pipe(Effect.mapError(onUnavailable))
          if (claimed) {
            // Another instance may have stored the answer and released its claim since our last look.
            const found = yield* lookup(key, kind, onUnavailable).pipe(
              Effect.tapError(() => shared.claims.release(claimKey))
            )
            if (Option.isSome(found)) {
              yield* shared.claims.release(claimKey)
              state.replayed = true
              return { parts: replay(found.value) }
            }
            misses++
            state.owned = true
            return { stream: shared.claims.holding(claimKey, record, upstream) }
          }
          if (!waited) {
            waited = true
            claimWaits++
          }
          const remaining = shared.maxWait - (now - start)
          if (remaining <= 0) {
            claimTimeouts++
            misses++
            yield* Effect.logWarning(
              `ResponseCache: another instance's identical call did not finish within ${shared.maxWait} ms; calling upstream`
            ).pipe(Effect.annotateLogs({ module: "@conduitkit/cache/ResponseCache" }))
            return { stream: upstream }
          }
          yield* Effect.sleep(Duration.min(shared.pollInterval, Duration.millis(remaining)))
          const found = yield* lookup(key, kind, onUnavailable)
          if (Option.isSome(found)) {
            state.replayed = true
            return { parts: replay(found.value) }
          }
        }
      })

    const cached = (
      kind: Kind,
      hash: string,
      onUnavailable: (error: CacheStore.CacheStoreError) => AiError.AiError,
      upstream: Stream.Stream<Part, AiError.AiError>
    ): Effect.Effect<Resolved<AiError.AiError>, AiError.AiError> =>
      Effect.gen(function* () {
        const key = `response:v1:${kind}:${hash}`
        const local = flights.get(key)
        if (local !== undefined) return joinFlight(local)
        const found = yield* lookup(key, kind, onUnavailable)
        if (Option.isSome(found)) return { parts: replay(found.value).map(marker({ cache: "hit" })) }
        const raced = flights.get(key)
        if (raced !== undefined) return joinFlight(raced)
        if (shared === undefined) {
          misses++
          const flight = flights.create(key, hash, upstream, {
            onSuccess: (parts) => storeEntry(key, kind, parts),
            onFailure: () => Effect.void
          })
          return { stream: flights.subscribe(flight).pipe(Stream.map(marker({ cache: "miss" }))) }
        }
        const state = { owned: false, replayed: false }
        const claimKey = `response-claim:v1:${kind}:${hash}`
        const body = Stream.unwrap(
          Effect.map(claimOrWait(shared, key, claimKey, kind, onUnavailable, upstream, state), toStream)
        )
        const flight = flights.create(key, hash, body, {
          // the answer is stored before the claim is released, so a waiting instance finds it
          onSuccess: (parts) =>
            state.replayed
              ? Effect.void
              : storeEntry(key, kind, parts).pipe(
                  Effect.andThen(state.owned ? shared.claims.release(claimKey) : Effect.void)
                ),
          onFailure: () => (state.owned ? shared.claims.release(claimKey) : Effect.void)
        })
        return {
          stream: flights
            .subscribe(flight)
            .pipe(Stream.map((part) => mark(part, { cache: state.replayed ? "hit" : "miss" })))
        }
      })

    /** How to answer one call, or `undefined` when neither the response cache nor idempotency applies. */
    const resolve = (
      call: ResponseCacheHook.CacheableCall,
      kind: Kind,
      method: string,
      upstream: () => Stream.Stream<Part, AiError.AiError>
    ): Effect.Effect<Resolved<AiError.AiError>, AiError.AiError> | undefined => {
      const cacheable = cacheResponses && isCacheable(call)
      const idempotencyKey = call.options.idempotencyKey
      if (!cacheable) bypassed++
      if (!cacheable && idempotencyKey === undefined) return undefined
      let hash: string
      try {
        hash = requestHash(call.provider, call.request)
      } catch {
        return undefined
      }
      const onUnavailable = (error: CacheStore.CacheStoreError) => Errors.cacheUnavailable(error, method)
      const inner = cacheable
        ? cached(kind, hash, onUnavailable, upstream())
        : Effect.succeed<Resolved<AiError.AiError>>({ stream: upstream() })
      if (idempotencyKey === undefined) return inner
      return idempotency.wrap({
        idempotencyKey,
        fingerprint: `${kind}:${hash}`,
        kind,
        method,
        onUnavailable,
        inner: Stream.unwrap(Effect.map(inner, toStream))
      })
    }

    const hook: ResponseCacheWithStats = {
      generate: (call, run) => {
        const resolved = resolve(
          call,
          "generate",
          "generate",
          () => Stream.fromIterableEffect(run) as Stream.Stream<Part, AiError.AiError>
        )
        if (resolved === undefined) return run
        return Effect.flatMap(resolved, (answer) =>
          "parts" in answer ? Effect.succeed(Array.from(answer.parts)) : Stream.runCollect(answer.stream)
        ) as unknown as Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>
      },
      stream: (call, run) => {
        const resolved = resolve(call, "stream", "stream", () => run as unknown as Stream.Stream<Part, AiError.AiError>)
        if (resolved === undefined) return run
        return Stream.unwrap(Effect.map(resolved, toStream)) as unknown as Stream.Stream<
          Response.StreamPartEncoded,
          AiError.AiError
        >
      },
      stats: Effect.sync(() => ({
        hits,
        joins,
        misses,
        bypassed,
        stored,
        storeFailures: counters.storeFailures,
        idempotentExecutions: counters.idempotentExecutions,
        idempotentReplays: counters.idempotentReplays,
        idempotentJoins: counters.idempotentJoins,
        idempotencyConflicts: counters.idempotencyConflicts,
        savedInputTokens,
        savedOutputTokens,
        claimWaits,
        claimTimeouts,
        inFlight: flights.size() + idempotency.inFlight()
      }))
    }
    return hook
  })

/**
 * A layer providing core's `ResponseCacheHook` (so core's `LanguageModel` uses it around every call) and
 * {@link ResponseCacheStats}. It uses the `CacheStore` in context when it is built, so put the store layer under
 * it: `ResponseCache.layer().pipe(Layer.provideMerge(RedisStore.layer({...})))`.
 *
 * @since 0.1.0
 */
export const layer = (options?: Options): Layer.Layer<ResponseCacheStats> =>
  Layer.effectContext(
    Effect.map(make(options), (hook) =>
      Context.make(ResponseCacheHook.ResponseCacheHook, hook).pipe(
        Context.add(ResponseCacheStats, { stats: hook.stats })
      )
    )
  )
