/**
 * The bookkeeping of every request's lifecycle: the registry of requests in flight, the admission controller they
 * take permits from, the counters and duration samples of those that ended, idle-session expiry, and the lifecycle
 * events (published only while someone listens). Synchronous, except for what `end` hands back to run afterwards.
 *
 * @internal
 */
import type { Clock } from "effect"
import { Cause, Effect, Exit, Option } from "effect"
import type * as RateLimits from "../RateLimits.js"
import type { Outcome } from "../SessionEvents.js"
import type { RunOptions } from "../SessionManager.js"
import { Admission, type Ticket } from "./admission.js"
import type { EventHub } from "./eventHub.js"
import { Request } from "./request.js"
import { Samples } from "./samples.js"
import type { Settings } from "./settings.js"

/** The failure's `_tag` (or error name, or `"Defect"`) for `onEnd` and the terminal event. */
export const errorName = (cause: Cause.Cause<unknown>): string | undefined => {
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

/** How a request that failed ended: its own timeout fired, it was interrupted, or it failed. */
const classify = (request: Request, cause: Cause.Cause<unknown>): Outcome => {
  if (request.timeoutError !== undefined) {
    const error = Cause.findErrorOption(cause)
    if (Option.isSome(error) && error.value === request.timeoutError) return "timed-out"
  }
  return Cause.hasInterruptsOnly(cause) ? "cancelled" : "failed"
}

/** The lifecycle of a manager's requests. */
export class Lifecycle {
  readonly admission: Admission
  readonly registry = new Set<Request>()
  readonly queueSamples: Samples
  readonly runSamples: Samples
  readonly counters = { created: 0, completed: 0, failed: 0, timedOut: 0, cancelled: 0, rejected: 0 }

  constructor(
    readonly settings: Settings,
    readonly hub: EventHub
  ) {
    this.admission = new Admission(settings.limit, settings.perSession, settings.maxQueued)
    this.queueSamples = new Samples(settings.statsWindow)
    this.runSamples = new Samples(settings.statsWindow)
  }

  /** Registers a new request (ids generated when the options name none) and publishes `created`. */
  create(options: RunOptions<never>, clock: Clock.Clock): Request {
    const request = new Request(
      options.requestId ?? `req_${crypto.randomUUID()}`,
      options.sessionId ?? `sess_${crypto.randomUUID()}`,
      options.sessionId === undefined,
      clock,
      clock.currentTimeMillisUnsafe(),
      clock.monotonicTimeNanosUnsafe(),
      options.metadata
    )
    this.registry.add(request)
    this.counters.created++
    if (this.hub.listening) {
      this.hub.publish({
        type: "created",
        requestId: request.requestId,
        sessionId: request.sessionId,
        at: request.createdAt,
        metadata: options.metadata
      })
    }
    return request
  }

  /** The request waits for a permit; `position` is the number of requests waiting. */
  markQueued(request: Request): void {
    request.phase = "queued"
    if (this.hub.listening) {
      this.hub.publish({
        type: "queued",
        requestId: request.requestId,
        sessionId: request.sessionId,
        at: request.clock.currentTimeMillisUnsafe(),
        position: this.admission.queued
      })
    }
  }

  /** The request holds its permits: it is running from now on. */
  markRunning(request: Request): void {
    request.phase = "running"
    request.startedNanos = request.clock.monotonicTimeNanosUnsafe()
    const queuedMs = request.queuedMs()
    this.queueSamples.add(queuedMs)
    if (this.hub.listening) {
      this.hub.publish({
        type: "running",
        requestId: request.requestId,
        sessionId: request.sessionId,
        at: request.clock.currentTimeMillisUnsafe(),
        queuedMs
      })
    }
  }

  /** A waiting request got its permits (while another one was released): it is running from now on. */
  private readonly onGrant = (ticket: Ticket): void => this.markRunning(ticket as Request)

  /**
   * Gives back the request's permits and registry entry, counts and publishes its end, and returns what remains to
   * run (rate-limit settlement, `onEnd`). Idempotent.
   */
  end(
    request: Request,
    outcome: Outcome,
    error: string | undefined,
    onEnd: RunOptions["onEnd"],
    settle: Effect.Effect<void, RateLimits.RateLimitStoreError> | undefined
  ): Effect.Effect<void> {
    if (request.finished) return Effect.void
    request.finished = true
    const clock = request.clock
    if (request.endedNanos === undefined) request.endedNanos = clock.monotonicTimeNanosUnsafe()
    const now = clock.currentTimeMillisUnsafe()
    const ran = request.startedNanos !== undefined
    this.admission.release(request, now)
    this.registry.delete(request)
    this.count(outcome)
    if (ran) this.runSamples.add(request.durationMs())
    else this.counters.rejected++
    const metadata = request.runMetadata()
    if (this.hub.listening) {
      this.hub.publish({
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
      this.hub.publish({
        type: "released",
        requestId: request.requestId,
        sessionId: request.sessionId,
        at: now,
        outcome,
        metadata
      })
    }
    this.admission.wake(this.onGrant)
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

  private count(outcome: Outcome): void {
    switch (outcome) {
      case "completed":
        this.counters.completed++
        break
      case "failed":
        this.counters.failed++
        break
      case "timed-out":
        this.counters.timedOut++
        break
      case "cancelled":
        this.counters.cancelled++
        break
    }
  }

  /** Ends a request that never ran (refused, timed out or interrupted while waiting) and fails with `cause`. */
  reject<E>(request: Request, cause: Cause.Cause<E>, onEnd: RunOptions["onEnd"]): Effect.Effect<never, E> {
    const outcome = classify(request, cause)
    const settle = request.reservation?.refund
    return Effect.andThen(this.end(request, outcome, errorName(cause), onEnd, settle), Effect.failCause(cause))
  }

  /** Ends a request that ran, with its exit; settles its token estimate when its actual usage is known. */
  finish(request: Request, exit: Exit.Exit<unknown, unknown>, onEnd: RunOptions["onEnd"]): Effect.Effect<void> {
    return Effect.suspend(() => {
      const reservation = request.reservation
      const settle =
        reservation === undefined || (request.usageTokens === undefined && request.usageCost === undefined)
          ? undefined
          : reservation.reportUsage(request.usageTokens ?? reservation.tokens, request.usageCost)
      if (Exit.isSuccess(exit)) return this.end(request, "completed", undefined, onEnd, settle)
      return this.end(request, classify(request, exit.cause), errorName(exit.cause), onEnd, settle)
    })
  }

  /** Forgets the sessions idle for the TTL at `now`, publishing `session-expired` for each. */
  sweepAt(now: number): void {
    const ttlMs = this.settings.sessionTtlMs
    if (!Number.isFinite(ttlMs)) return
    const expired = this.admission.sweep(now, ttlMs)
    if (this.hub.listening) {
      for (const slot of expired) {
        this.hub.publish({
          type: "session-expired",
          sessionId: slot.id,
          at: now,
          idleMs: now - slot.lastActiveAt,
          requests: slot.requests
        })
      }
    }
  }

  /** {@link sweepAt} at the clock's current time. */
  readonly sweep: Effect.Effect<void> = Effect.clockWith((clock) =>
    Effect.sync(() => this.sweepAt(clock.currentTimeMillisUnsafe()))
  )
}
