/**
 * The session manager: admits every model call under global and per-session concurrency limits, records its
 * lifecycle and returns its metadata, and gives every permit back whatever happens (success, failure, timeout,
 * interruption).
 *
 * ```ts
 * import { SessionManager } from "@conduitkit/session"
 *
 * const program = Effect.gen(function* () {
 *   const sessions = yield* SessionManager.SessionManager
 *   const { value, metadata } = yield* sessions.run(callTheModel, { sessionId: "conversation-42" })
 *   // metadata: { sessionId, requestId, queuedMs, durationMs, attempts }
 * }).pipe(Effect.provide(SessionManager.layer({ maxConcurrent: 200 })))
 * ```
 *
 * Lifecycle: `created` → (`queued`) → `running` → `completed` | `failed` | `timed-out` | `cancelled` → `released`
 * (see `SessionEvents`). Admission: a request first takes a permit of its session (`maxConcurrentPerSession`,
 * default 1, so the turns of one conversation run one at a time, in the order they arrived), then a global permit
 * (`maxConcurrent`, default 200). Both waits are FIFO queues; at most `maxQueued` requests wait at once (more fail
 * with `QueueFullError`) and each waits at most `queueTimeout` (then `QueueTimeoutError`). Once running, the work is
 * bounded by its execution `timeout` (`ExecutionTimeoutError`).
 *
 * Attempts: the manager provides core's `RequestContext` (requestId, sessionId and an `onAttempt` observer, chained
 * to any observer already in the context) to the work, and counts the upstream HTTP attempts core reports through
 * it. Work that makes no upstream call (a cache hit) reports 0.
 *
 * Idle sessions (nothing running or waiting) are forgotten `sessionTtl` after their last activity, by one sweeper
 * fiber per manager (no timer per session). A session id the manager generated (the request named none) is forgotten
 * as soon as its request ends: reusing it later simply starts a new session entry.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Option, type PubSub, type Scope, Stream } from "effect"
import type * as Budget from "./Budget.js"
import * as EventHub from "./internal/eventHub.js"
import * as Execution from "./internal/execution.js"
import { Lifecycle } from "./internal/lifecycle.js"
import * as Settings from "./internal/settings.js"
import * as Snapshots from "./internal/snapshots.js"
import type * as RateLimits from "./RateLimits.js"
import { RateLimits as RateLimitsService } from "./RateLimits.js"
import type { SessionError } from "./SessionError.js"
import type { Outcome, RequestState, SessionEvent } from "./SessionEvents.js"

/**
 * Limits and knobs of a manager. Every field is optional. An invalid value (a count that is not an integer, or below
 * its minimum) makes `make` / `layer` die with a `RangeError`.
 *
 * @since 0.1.0
 */
export interface Config {
  /** Requests running at once, over all sessions (default 200). */
  readonly maxConcurrent?: number | undefined
  /** Requests of one session running at once (default 1: the turns of a conversation run in order). */
  readonly maxConcurrentPerSession?: number | undefined
  /** Requests waiting for a permit at once; one more fails with `QueueFullError` (default 1,000; 0: never wait). */
  readonly maxQueued?: number | undefined
  /** Longest wait for a permit (default 60 seconds; `Infinity` or `"infinity"`: no limit). */
  readonly queueTimeout?: Duration.Input | undefined
  /** Default execution timeout, from the start of the work (default: none). */
  readonly timeout?: Duration.Input | undefined
  /** Largest caller metadata, as UTF-8 JSON (default 10,240 bytes). */
  readonly maxMetadataBytes?: number | undefined
  /** How long an idle session is remembered (default 30 minutes). */
  readonly sessionTtl?: Duration.Input | undefined
  /** Events buffered per subscriber before the oldest are dropped (default 1,024). */
  readonly eventBufferSize?: number | undefined
  /** How many recent requests the p50/p95 figures of `stats` cover (default 1,024). */
  readonly statsWindow?: number | undefined
}

/**
 * The metadata of one request. `queuedMs` is the time from creation to the start of the work (or to the refusal);
 * `durationMs` the time the work ran (0 when it never started); `attempts` the upstream HTTP attempts reported
 * through `RequestContext.onAttempt`.
 *
 * @since 0.1.0
 */
export interface RunMetadata {
  readonly sessionId: string
  readonly requestId: string
  readonly queuedMs: number
  readonly durationMs: number
  readonly attempts: number
}

/**
 * What `run` returns: the work's value and the request's metadata.
 *
 * @since 0.1.0
 */
export interface Completed<A> {
  readonly value: A
  readonly metadata: RunMetadata
}

/**
 * What `onEnd` receives, once per request, after its permits were given back: how it ended and its metadata.
 * `error` is the failure's `_tag` (or a short description) for `failed` and `timed-out`.
 *
 * @since 0.1.0
 */
export interface RunEnd {
  readonly outcome: Outcome
  readonly metadata: RunMetadata
  readonly error: string | undefined
}

/**
 * Options of one request. `A` is the work's value (or, for a stream, its element type).
 *
 * @since 0.1.0
 */
export interface RunOptions<A = unknown> {
  /** The session (conversation) id; a fresh `sess_<uuid>` when missing (the request is then alone in its session). */
  readonly sessionId?: string | undefined
  /** The request id; a fresh `req_<uuid>` when missing. */
  readonly requestId?: string | undefined
  /** Execution timeout of this request (overrides the manager's `timeout`). */
  readonly timeout?: Duration.Input | undefined
  /**
   * For `runStream`: the stream ends each of its waits by core's `RequestContext.deadline` (core's streamed calls
   * do, and the manager sets it to the execution timeout's end). The timeout is then checked at each pull and at
   * those waits instead of by a timer fiber merged into the stream, and a failure once the deadline passed (or the
   * call's `total` timeout naming this timeout) is the `ExecutionTimeoutError`. Default `false`: the stream is
   * interrupted at the timeout wherever it waits.
   */
  readonly honorsDeadline?: boolean | undefined
  /** Queue timeout of this request (overrides the manager's `queueTimeout`). */
  readonly queueTimeout?: Duration.Input | undefined
  /** Caller data attached to the request's registry entry and `created` event (JSON, at most `maxMetadataBytes`). */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /**
   * Rate limits to check before queueing (needs `RateLimits` in the context the manager's layer was built in).
   * `actualTokens` reads the actual usage from the work's value (for a stream, from each element, summed; return
   * `undefined` for elements without usage) to settle the token estimate; `actualCost` reads what the work cost the
   * same way (a stream's costs in one currency are summed), charged to the key's budget when it has one. A request
   * refused by the queue gets its rate-limit consumption refunded.
   */
  readonly rateLimit?:
    | (RateLimits.Request & {
        readonly actualTokens?: ((value: A) => number | undefined) | undefined
        readonly actualCost?: ((value: A) => Budget.Cost | undefined) | undefined
      })
    | undefined
  /**
   * Called once when the request is over (whatever the outcome, refusals included), after its permits were given
   * back. For a stream this is where the final metadata arrives; pass `(end) => Deferred.succeed(deferred, end)` to
   * await it elsewhere. Failures of the callback are logged, never propagated.
   */
  readonly onEnd?: ((end: RunEnd) => Effect.Effect<void>) | undefined
}

/**
 * Nearest-rank percentiles over the manager's recent requests (ms).
 *
 * @since 0.1.0
 */
export interface Percentiles {
  readonly p50: number
  readonly p95: number
}

/**
 * A snapshot of the manager. Counters (`created` … `rejected`) are totals since the manager started; `rejected`
 * counts the requests refused before running (they are also counted in `failed`, `timedOut` or `cancelled`).
 * `queueMs` covers requests that started; `runMs` requests that ended after starting.
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Requests running. */
  readonly active: number
  /** Requests waiting for a permit. */
  readonly queued: number
  /** Requests in the registry (created and not yet released). */
  readonly inFlight: number
  /** Sessions remembered (active or idle for less than the TTL). */
  readonly sessions: number
  readonly created: number
  readonly completed: number
  readonly failed: number
  readonly timedOut: number
  readonly cancelled: number
  readonly rejected: number
  readonly permits: {
    /** `maxConcurrent`. */
    readonly limit: number
    /** Global permits free (`limit - active`). */
    readonly available: number
    /** Session permits held (by running requests and by requests waiting for a global permit). */
    readonly sessionHeld: number
  }
  readonly queueMs: Percentiles
  readonly runMs: Percentiles
}

/**
 * One request in the registry.
 *
 * @since 0.1.0
 */
export interface RequestInfo {
  readonly requestId: string
  readonly sessionId: string
  readonly state: Extract<RequestState, "created" | "queued" | "running">
  /** Epoch ms. */
  readonly createdAt: number
  readonly metadata: Readonly<Record<string, unknown>> | undefined
}

/**
 * One session in the registry.
 *
 * @since 0.1.0
 */
export interface SessionInfo {
  readonly sessionId: string
  /** Epoch ms. */
  readonly createdAt: number
  /** Epoch ms of the last admission or release. */
  readonly lastActiveAt: number
  /** Session permits held (running, or waiting for a global permit). */
  readonly active: number
  /** Requests waiting for a permit of this session. */
  readonly queued: number
  /** Requests admitted over the session's life. */
  readonly requests: number
}

/**
 * The session manager service.
 *
 * @since 0.1.0
 */
export class SessionManager extends Context.Service<
  SessionManager,
  {
    /**
     * Runs `effect` as one request: waits for its permits, runs it with `RequestContext` provided and the execution
     * timeout applied, gives the permits back and returns the value with the request's metadata. Fails with the
     * work's own errors or a `SessionError`.
     */
    readonly run: <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      options?: RunOptions<A>
    ) => Effect.Effect<Completed<A>, E | SessionError, R>
    /**
     * Runs `stream` as one request. Admission happens when the stream is first pulled; the permits are held until
     * the stream ends, fails or is interrupted (a consumer that stops early ends it). The execution timeout bounds the
     * whole stream. The metadata is delivered to `onEnd` (and in the `released` event).
     */
    readonly runStream: <A, E, R>(
      stream: Stream.Stream<A, E, R>,
      options?: RunOptions<A>
    ) => Stream.Stream<A, E | SessionError, R>
    /** A snapshot of counters, permits and percentiles. */
    readonly stats: Effect.Effect<Stats>
    /** The lifecycle events from the moment the stream is run (each run subscribes anew). */
    readonly events: Stream.Stream<SessionEvent>
    /** A subscription to the lifecycle events for the lifetime of the scope (events are buffered from now on). */
    readonly subscribe: Effect.Effect<PubSub.Subscription<SessionEvent>, never, Scope.Scope>
    /** The requests created and not yet released. */
    readonly requests: Effect.Effect<ReadonlyArray<RequestInfo>>
    /** The sessions remembered (idle ones beyond the TTL are expired first). */
    readonly sessions: Effect.Effect<ReadonlyArray<SessionInfo>>
  }
>()("@conduitkit/session/SessionManager") {}

/**
 * Builds a manager whose sweeper fiber and event hub live in the current scope.
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}): Effect.Effect<SessionManager["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const settings = Settings.resolve(config)
    const rateLimits = Option.getOrUndefined(yield* Effect.serviceOption(RateLimitsService))
    const hub = yield* EventHub.make(settings.eventBufferSize)
    const lifecycle = new Lifecycle(settings, hub)

    if (Number.isFinite(settings.sessionTtlMs)) {
      const every = Math.min(60_000, Math.max(1_000, settings.sessionTtlMs / 4))
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(every)), lifecycle.sweep)))
    }

    const run = <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      options: RunOptions<A> = {}
    ): Effect.Effect<Completed<A>, E | SessionError, R> => Execution.run(lifecycle, rateLimits, effect, options)

    const runStream = <A, E, R>(
      stream: Stream.Stream<A, E, R>,
      options: RunOptions<A> = {}
    ): Stream.Stream<A, E | SessionError, R> => Execution.runStream(lifecycle, rateLimits, stream, options)

    return SessionManager.of({
      run,
      runStream,
      stats: Snapshots.stats(lifecycle),
      events: hub.events,
      subscribe: hub.subscribe,
      requests: Snapshots.requests(lifecycle),
      sessions: Snapshots.sessions(lifecycle)
    })
  })

/**
 * A manager built with `config`. If `RateLimits` is in the context the layer is built in (e.g.
 * `SessionManager.layer(config).pipe(Layer.provide(RateLimits.layer(limits)))`), requests may pass `rateLimit`.
 *
 * @since 0.1.0
 */
export const layer = (config: Config = {}): Layer.Layer<SessionManager> => Layer.effect(SessionManager, make(config))

/**
 * Runs `effect` through the manager in the context. See `SessionManager.run`.
 *
 * @since 0.1.0
 */
export const run = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  options?: RunOptions<A>
): Effect.Effect<Completed<A>, E | SessionError, R | SessionManager> =>
  SessionManager.use((manager) => manager.run(effect, options))

/**
 * Runs `stream` through the manager in the context. See `SessionManager.runStream`.
 *
 * @since 0.1.0
 */
export const runStream = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  options?: RunOptions<A>
): Stream.Stream<A, E | SessionError, R | SessionManager> =>
  Stream.unwrap(SessionManager.useSync((manager) => manager.runStream(stream, options)))
