/**
 * One request of the manager: its admission ticket plus its timing, attempt and usage counters, rate-limit
 * reservation and registry data.
 *
 * @internal
 */
import { type Clock, Effect } from "effect"
import type * as Budget from "../Budget.js"
import type * as RateLimits from "../RateLimits.js"
import type { ExecutionTimeoutError, QueueTimeoutError } from "../SessionError.js"
import type { RunMetadata } from "../SessionManager.js"
import { Ticket } from "./admission.js"

const nanosToMs = (nanos: bigint): number => Number(nanos) / 1e6

/** One request: its admission ticket plus timing, counters and registry data. */
export class Request extends Ticket {
  phase: "created" | "queued" | "running" = "created"
  attempts = 0
  usageTokens: number | undefined = undefined
  usageCost: Budget.Cost | undefined = undefined
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

  /** Records `error` as this request's own timeout (so its end is classified `timed-out`) and fails with it. */
  timeOut<E extends ExecutionTimeoutError | QueueTimeoutError>(error: E): Effect.Effect<never, E> {
    this.timeoutError = error
    return Effect.fail(error)
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
