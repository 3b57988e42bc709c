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
import { RequestContext } from "@conduitkit/core"
import type { Clock } from "effect"
import { Cause, Context, Duration, Effect, Exit, Layer, Option, PubSub, type Scope, Stream } from "effect"
import { Admission, Decision, Ticket, TicketState } from "./internal/admission.js"
import { Samples } from "./internal/samples.js"
import type * as RateLimits from "./RateLimits.js"
import { RateLimits as RateLimitsService } from "./RateLimits.js"
import {
  ExecutionTimeoutError,
  MetadataTooLargeError,
  QueueFullError,
  QueueTimeoutError,
  type SessionError
} from "./SessionError.js"
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
  /** Queue timeout of this request (overrides the manager's `queueTimeout`). */
  readonly queueTimeout?: Duration.Input | undefined
  /** Caller data attached to the request's registry entry and `created` event (JSON, at most `maxMetadataBytes`). */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
  /**
   * Rate limits to check before queueing (needs `RateLimits` in the context the manager's layer was built in).
   * `actualTokens` reads the actual usage from the work's value (for a stream, from each element, summed; return
   * `undefined` for elements without usage) to settle the token estimate. A request refused by the queue gets its
   * rate-limit consumption refunded.
   */
  readonly rateLimit?:
    | (RateLimits.Request & { readonly actualTokens?: ((value: A) => number | undefined) | undefined })
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

const defaults = {
  maxConcurrent: 200,
  maxConcurrentPerSession: 1,
  maxQueued: 1_000,
  queueTimeout: Duration.seconds(60),
  maxMetadataBytes: 10_240,
  sessionTtl: Duration.minutes(30),
  eventBufferSize: 1_024,
  statsWindow: 1_024
}

const toMillis = (input: Duration.Input | undefined): number =>
  input === undefined ? Number.POSITIVE_INFINITY : Duration.toMillis(Duration.fromInputUnsafe(input))

const positiveInt = (name: string, value: number | undefined, fallback: number, min: number): number => {
  const result = value ?? fallback
  if (!(Number.isInteger(result) || result === Number.POSITIVE_INFINITY) || result < min) {
    throw new RangeError(`SessionManager: ${name} must be an integer >= ${min}, got ${result}`)
  }
  return result
}

const nanosToMs = (nanos: bigint): number => Number(nanos) / 1e6

const encoder = new TextEncoder()

/** The JSON size of `metadata` in bytes, or -1 when it is not JSON. */
const jsonBytes = (metadata: unknown, max: number): number => {
  let json: string | undefined
  try {
    json = JSON.stringify(metadata)
  } catch {
    return -1
  }
  if (json === undefined) return -1
  // A UTF-16 code unit is at most 3 UTF-8 bytes: skip encoding when it cannot exceed.
  if (json.length * 3 <= max) return json.length
  return encoder.encode(json).byteLength
}

const errorName = (cause: Cause.Cause<unknown>): string | undefined => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const value: unknown = error.value
    if (typeof value === "object" && value !== null && "_tag" in value && typeof value._tag === "string") {
      return value._tag
    }
    return value instanceof Error ? value.name : "Error"
  }
  if (Cause.hasDies(cause)) return "Defect"
  return undefined
}

/** One request: its admission ticket plus timing, counters and registry data. */
class Request extends Ticket {
  phase: "created" | "queued" | "running" = "created"
  attempts = 0
  usageTokens: number | undefined = undefined
  startedNanos: bigint | undefined = undefined
  endedNanos: bigint | undefined = undefined
  timeoutError: ExecutionTimeoutError | QueueTimeoutError | undefined = undefined
  reservation: RateLimits.Reservation | undefined = undefined
  finished = false

  constructor(
    requestId: string,
    sessionId: string,
    ephemeralSession: boolean,
    readonly clock: Clock.Clock,
    readonly createdAt: number,
    readonly createdNanos: bigint,
    readonly metadata: Readonly<Record<string, unknown>> | undefined
  ) {
    super(requestId, sessionId, ephemeralSession)
  }

  queuedMs(): number {
    const end = this.startedNanos ?? this.endedNanos ?? this.clock.monotonicTimeNanosUnsafe()
    return nanosToMs(end - this.createdNanos)
  }

  durationMs(): number {
    if (this.startedNanos === undefined) return 0
    const end = this.endedNanos ?? this.clock.monotonicTimeNanosUnsafe()
    return nanosToMs(end - this.startedNanos)
  }

  runMetadata(): RunMetadata {
    return {
      sessionId: this.sessionId,
      requestId: this.requestId,
      queuedMs: this.queuedMs(),
      durationMs: this.durationMs(),
      attempts: this.attempts
    }
  }
}

/**
 * Builds a manager whose sweeper fiber and event hub live in the current scope.
 *
 * @since 0.1.0
 */
export const make = (config: Config = {}): Effect.Effect<SessionManager["Service"], never, Scope.Scope> =>
  Effect.gen(function* () {
    const limit = positiveInt("maxConcurrent", config.maxConcurrent, defaults.maxConcurrent, 1)
    const perSession = positiveInt(
      "maxConcurrentPerSession",
      config.maxConcurrentPerSession,
      defaults.maxConcurrentPerSession,
      1
    )
    const maxQueued = positiveInt("maxQueued", config.maxQueued, defaults.maxQueued, 0)
    const maxMetadataBytes = positiveInt("maxMetadataBytes", config.maxMetadataBytes, defaults.maxMetadataBytes, 0)
    const queueTimeoutMs = toMillis(config.queueTimeout ?? defaults.queueTimeout)
    const timeoutMs = toMillis(config.timeout)
    const sessionTtlMs = toMillis(config.sessionTtl ?? defaults.sessionTtl)
    const rateLimits = Option.getOrUndefined(yield* Effect.serviceOption(RateLimitsService))

    const admission = new Admission(limit, perSession, maxQueued)
    const registry = new Set<Request>()
    const queueSamples = new Samples(config.statsWindow ?? defaults.statsWindow)
    const runSamples = new Samples(config.statsWindow ?? defaults.statsWindow)
    const counters = { created: 0, completed: 0, failed: 0, timedOut: 0, cancelled: 0, rejected: 0 }

    const pubsub = yield* PubSub.sliding<SessionEvent>(config.eventBufferSize ?? defaults.eventBufferSize)
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))
    let subscribers = 0
    const publish = (event: SessionEvent): void => {
      if (!PubSub.publishUnsafe(pubsub, event)) Effect.runSync(PubSub.publish(pubsub, event))
    }

    const subscribe: Effect.Effect<PubSub.Subscription<SessionEvent>, never, Scope.Scope> = Effect.flatMap(
      Effect.acquireRelease(
        Effect.sync(() => {
          subscribers++
        }),
        () =>
          Effect.sync(() => {
            subscribers--
          })
      ),
      () => PubSub.subscribe(pubsub)
    )

    const sweepAt = (now: number): void => {
      if (!Number.isFinite(sessionTtlMs)) return
      const expired = admission.sweep(now, sessionTtlMs)
      if (subscribers > 0) {
        for (const slot of expired) {
          publish({
            type: "session-expired",
            sessionId: slot.id,
            at: now,
            idleMs: now - slot.lastActiveAt,
            requests: slot.requests
          })
        }
      }
    }
    const sweep = Effect.clockWith((clock) => Effect.sync(() => sweepAt(clock.currentTimeMillisUnsafe())))

    if (Number.isFinite(sessionTtlMs)) {
      const every = Math.min(60_000, Math.max(1_000, sessionTtlMs / 4))
      yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(every)), sweep)))
    }

    // --- lifecycle -------------------------------------------------------------------------------------------------

    const markRunning = (request: Request): void => {
      request.phase = "running"
      request.startedNanos = request.clock.monotonicTimeNanosUnsafe()
      const queuedMs = request.queuedMs()
      queueSamples.add(queuedMs)
      if (subscribers > 0) {
        publish({
          type: "running",
          requestId: request.requestId,
          sessionId: request.sessionId,
          at: request.clock.currentTimeMillisUnsafe(),
          queuedMs
        })
      }
    }

    /** A waiting request got its permits (while another one was released): it is running from now on. */
    const onGrant = (ticket: Ticket): void => markRunning(ticket as Request)

    const classify = (request: Request, cause: Cause.Cause<unknown>): Outcome => {
      if (request.timeoutError !== undefined) {
        const error = Cause.findErrorOption(cause)
        if (Option.isSome(error) && error.value === request.timeoutError) return "timed-out"
      }
      return Cause.hasInterruptsOnly(cause) ? "cancelled" : "failed"
    }

    /**
     * Gives back the request's permits and registry entry, counts and publishes its end, and returns what remains to
     * run (rate-limit settlement, `onEnd`). Idempotent.
     */
    const end = (
      request: Request,
      outcome: Outcome,
      error: string | undefined,
      onEnd: RunOptions["onEnd"],
      settle: Effect.Effect<void, RateLimits.RateLimitStoreError> | undefined
    ): Effect.Effect<void> => {
      if (request.finished) return Effect.void
      request.finished = true
      const clock = request.clock
      if (request.endedNanos === undefined) request.endedNanos = clock.monotonicTimeNanosUnsafe()
      const now = clock.currentTimeMillisUnsafe()
      const ran = request.startedNanos !== undefined
      admission.release(request, now)
      registry.delete(request)
      switch (outcome) {
        case "completed":
          counters.completed++
          break
        case "failed":
          counters.failed++
          break
        case "timed-out":
          counters.timedOut++
          break
        case "cancelled":
          counters.cancelled++
          break
      }
      if (ran) runSamples.add(request.durationMs())
      else counters.rejected++
      const metadata = request.runMetadata()
      if (subscribers > 0) {
        publish({
          type: outcome,
          phase: ran ? "running" : "admission",
          requestId: request.requestId,
          sessionId: request.sessionId,
          at: now,
          queuedMs: metadata.queuedMs,
          durationMs: metadata.durationMs,
          attempts: metadata.attempts,
          error
        })
        publish({
          type: "released",
          requestId: request.requestId,
          sessionId: request.sessionId,
          at: now,
          outcome,
          metadata
        })
      }
      admission.wake(onGrant)
      let after: Effect.Effect<void> | undefined
      if (settle !== undefined) {
        after = Effect.catchCause(settle, (cause) =>
          Effect.logWarning("SessionManager: could not settle rate limits", cause)
        )
      }
      if (onEnd !== undefined) {
        const callback = Effect.catchCause(
          Effect.suspend(() => onEnd({ outcome, metadata, error })),
          (cause) => Effect.logError("SessionManager: onEnd failed", cause)
        )
        after = after === undefined ? callback : Effect.andThen(after, callback)
      }
      return after ?? Effect.void
    }

    /** Ends a request that never ran (refused, timed out or interrupted while waiting) and fails with `cause`. */
    const reject = <E>(
      request: Request,
      cause: Cause.Cause<E>,
      onEnd: RunOptions["onEnd"]
    ): Effect.Effect<never, E> => {
      const outcome = classify(request, cause)
      const settle = request.reservation?.refund
      return Effect.andThen(end(request, outcome, errorName(cause), onEnd, settle), Effect.failCause(cause))
    }

    const admit = (request: Request, options: RunOptions<never>): Effect.Effect<Request, SessionError> => {
      const decision = admission.admit(request, request.clock.currentTimeMillisUnsafe())
      if (decision === Decision.Granted) {
        markRunning(request)
        return Effect.succeed(request)
      }
      if (decision === Decision.QueueFull) {
        return reject(
          request,
          Cause.fail(new QueueFullError({ requestId: request.requestId, sessionId: request.sessionId, maxQueued })),
          options.onEnd
        )
      }
      request.phase = "queued"
      if (subscribers > 0) {
        publish({
          type: "queued",
          requestId: request.requestId,
          sessionId: request.sessionId,
          at: request.clock.currentTimeMillisUnsafe(),
          position: admission.queued
        })
      }
      // Resuming with `yieldNow` makes the woken fiber continue in a task of its own scheduler instead of on the
      // stack of the fiber that released the permit (no recursion through chains of releases, events in order).
      let wait: Effect.Effect<void, QueueTimeoutError> = Effect.callback<void>((resume) => {
        if (request.state === TicketState.Granted) return resume(Effect.void)
        request.resume = () => resume(Effect.yieldNow)
      })
      const waitMs = options.queueTimeout === undefined ? queueTimeoutMs : toMillis(options.queueTimeout)
      if (Number.isFinite(waitMs)) {
        wait = Effect.timeoutOrElse(wait, {
          duration: Duration.millis(waitMs),
          orElse: () =>
            Effect.suspend(() => {
              const error = new QueueTimeoutError({
                requestId: request.requestId,
                sessionId: request.sessionId,
                timeoutMs: waitMs
              })
              request.timeoutError = error
              return Effect.fail(error)
            })
        })
      }
      return Effect.matchCauseEffect(Effect.interruptible(wait), {
        onFailure: (cause) => reject(request, cause, options.onEnd),
        onSuccess: () => {
          if (request.state !== TicketState.Granted) {
            // Cannot happen: resumed means granted. Refuse loudly rather than run without permits.
            return reject(request, Cause.die(new Error("SessionManager: resumed without permits")), options.onEnd)
          }
          return Effect.succeed(request)
        }
      })
    }

    /**
     * Creates, checks and admits a request. Must run uninterruptibly: it only waits (queue, rate-limit store) in
     * interruptible regions, and it either returns a request holding its permits or fails having released everything.
     */
    const acquire = (options: RunOptions<never>): Effect.Effect<Request, SessionError> =>
      Effect.clockWith((clock) => {
        if (options.rateLimit !== undefined && rateLimits === undefined) {
          return Effect.die(
            new Error(
              "SessionManager: a rateLimit option was given but no RateLimits service was in the context the manager was built in (provide RateLimits.layer to SessionManager.layer)"
            )
          )
        }
        const request = new Request(
          options.requestId ?? `req_${crypto.randomUUID()}`,
          options.sessionId ?? `sess_${crypto.randomUUID()}`,
          options.sessionId === undefined,
          clock,
          clock.currentTimeMillisUnsafe(),
          clock.monotonicTimeNanosUnsafe(),
          options.metadata
        )
        registry.add(request)
        counters.created++
        if (subscribers > 0) {
          publish({
            type: "created",
            requestId: request.requestId,
            sessionId: request.sessionId,
            at: request.createdAt,
            metadata: options.metadata
          })
        }
        if (options.metadata !== undefined) {
          const size = jsonBytes(options.metadata, maxMetadataBytes)
          if (size < 0 || size > maxMetadataBytes) {
            return reject(
              request,
              Cause.fail(
                new MetadataTooLargeError({
                  requestId: request.requestId,
                  sessionId: request.sessionId,
                  sizeBytes: size,
                  maxBytes: maxMetadataBytes
                })
              ),
              options.onEnd
            )
          }
        }
        if (options.rateLimit !== undefined && rateLimits !== undefined) {
          return Effect.matchCauseEffect(Effect.interruptible(rateLimits.acquire(options.rateLimit)), {
            onFailure: (cause) => reject(request, cause, options.onEnd),
            onSuccess: (reservation) => {
              request.reservation = reservation
              return admit(request, options)
            }
          })
        }
        return admit(request, options)
      })

    /** Settles the token estimate of a request that ran, when its actual usage is known. */
    const settleAfterRun = (request: Request) =>
      request.reservation === undefined || request.usageTokens === undefined
        ? undefined
        : request.reservation.reportUsage(request.usageTokens)

    const finish = <A>(request: Request, exit: Exit.Exit<unknown, unknown>, options: RunOptions<A>) =>
      Effect.suspend(() => {
        const settle = settleAfterRun(request)
        if (Exit.isSuccess(exit)) return end(request, "completed", undefined, options.onEnd, settle)
        return end(request, classify(request, exit.cause), errorName(exit.cause), options.onEnd, settle)
      })

    const withContext = (request: Request) => (outer: RequestContext.RequestContextShape) => ({
      ...outer,
      requestId: request.requestId,
      sessionId: request.sessionId,
      onAttempt: (attempt: number) => {
        request.attempts++
        outer.onAttempt?.(attempt)
      }
    })

    const timeoutOf = (options: RunOptions<never>): number =>
      options.timeout === undefined ? timeoutMs : toMillis(options.timeout)

    const executionTimeout = (request: Request, ms: number): Effect.Effect<never, ExecutionTimeoutError> =>
      Effect.suspend(() => {
        const error = new ExecutionTimeoutError({
          requestId: request.requestId,
          sessionId: request.sessionId,
          timeoutMs: ms
        })
        request.timeoutError = error
        return Effect.fail(error)
      })

    const run = <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      options: RunOptions<A> = {}
    ): Effect.Effect<Completed<A>, E | SessionError, R> =>
      Effect.acquireUseRelease(
        acquire(options),
        (request) => {
          let body: Effect.Effect<A, E | SessionError, R> = Effect.updateService(
            effect,
            RequestContext.RequestContext,
            withContext(request)
          )
          const ms = timeoutOf(options)
          if (Number.isFinite(ms)) {
            body = Effect.timeoutOrElse(body, {
              duration: Duration.millis(ms),
              orElse: () => executionTimeout(request, ms)
            })
          }
          return Effect.map(body, (value) => {
            request.endedNanos = request.clock.monotonicTimeNanosUnsafe()
            const actual = options.rateLimit?.actualTokens
            if (actual !== undefined) request.usageTokens = actual(value)
            return { value, metadata: request.runMetadata() }
          })
        },
        (request, exit) => finish(request, exit, options)
      )

    const runStream = <A, E, R>(
      stream: Stream.Stream<A, E, R>,
      options: RunOptions<A> = {}
    ): Stream.Stream<A, E | SessionError, R> =>
      Stream.scoped(
        Stream.unwrap(
          Effect.uninterruptible(
            Effect.flatMap(acquire(options), (request) =>
              Effect.as(
                Effect.addFinalizer((exit) => finish(request, exit, options)),
                wrapStream(request, stream, options)
              )
            )
          )
        )
      )

    const wrapStream = <A, E, R>(
      request: Request,
      stream: Stream.Stream<A, E, R>,
      options: RunOptions<A>
    ): Stream.Stream<A, E | SessionError, R> => {
      let body: Stream.Stream<A, E | SessionError, R> = Stream.updateService(
        stream,
        RequestContext.RequestContext,
        withContext(request)
      )
      const actual = options.rateLimit?.actualTokens
      if (actual !== undefined) {
        body = Stream.map(body, (element) => {
          const tokens = actual(element)
          if (tokens !== undefined) request.usageTokens = (request.usageTokens ?? 0) + tokens
          return element
        })
      }
      const ms = timeoutOf(options)
      if (Number.isFinite(ms)) {
        body = Stream.interruptWhen(
          body,
          Effect.andThen(Effect.sleep(Duration.millis(ms)), executionTimeout(request, ms))
        )
      }
      return body
    }

    const stats: Effect.Effect<Stats> = Effect.sync(() => {
      const [queueP50, queueP95] = queueSamples.percentiles([50, 95])
      const [runP50, runP95] = runSamples.percentiles([50, 95])
      return {
        active: admission.active,
        queued: admission.queued,
        inFlight: registry.size,
        sessions: admission.sessions.size,
        ...counters,
        permits: { limit, available: limit - admission.active, sessionHeld: admission.sessionPermits },
        queueMs: { p50: queueP50 ?? 0, p95: queueP95 ?? 0 },
        runMs: { p50: runP50 ?? 0, p95: runP95 ?? 0 }
      }
    })

    const requests: Effect.Effect<ReadonlyArray<RequestInfo>> = Effect.sync(() =>
      Array.from(registry, (request) => ({
        requestId: request.requestId,
        sessionId: request.sessionId,
        state: request.phase,
        createdAt: request.createdAt,
        metadata: request.metadata
      }))
    )

    const sessions: Effect.Effect<ReadonlyArray<SessionInfo>> = Effect.andThen(
      sweep,
      Effect.sync(() =>
        Array.from(admission.sessions.values(), (slot) => ({
          sessionId: slot.id,
          createdAt: slot.createdAt,
          lastActiveAt: slot.lastActiveAt,
          active: slot.active,
          queued: slot.pendingLive,
          requests: slot.requests
        }))
      )
    )

    const events: Stream.Stream<SessionEvent> = Stream.unwrap(Effect.map(subscribe, Stream.fromSubscription))

    return SessionManager.of({ run, runStream, stats, events, subscribe, requests, sessions })
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
