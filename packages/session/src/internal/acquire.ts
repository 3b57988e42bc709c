/**
 * Getting a request its permits: create it, check its metadata, take its rate-limit reservation, then admit it at
 * once or wait in the queue (bounded by the queue timeout). Either a request holding its permits comes out, or the
 * request has been ended (everything given back) and the effect fails.
 *
 * @internal
 */
import { Cause, Duration, Effect } from "effect"
import type { RateLimits as RateLimitsService } from "../RateLimits.js"
import { MetadataTooLargeError, QueueFullError, QueueTimeoutError, type SessionError } from "../SessionError.js"
import type { RunOptions } from "../SessionManager.js"
import { Decision, TicketState } from "./admission.js"
import type { Lifecycle } from "./lifecycle.js"
import type { Request } from "./request.js"
import { toMillis } from "./settings.js"

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

/** Admits a created request: runs it at once, refuses it (queue full), or waits for its permits. */
const admit = (
  lifecycle: Lifecycle,
  request: Request,
  options: RunOptions<never>
): Effect.Effect<Request, SessionError> => {
  const { settings } = lifecycle
  const decision = lifecycle.admission.admit(request, request.clock.currentTimeMillisUnsafe())
  if (decision === Decision.Granted) {
    lifecycle.markRunning(request)
    return Effect.succeed(request)
  }
  if (decision === Decision.QueueFull) {
    return lifecycle.reject(
      request,
      Cause.fail(
        new QueueFullError({
          requestId: request.requestId,
          sessionId: request.sessionId,
          maxQueued: settings.maxQueued
        })
      ),
      options.onEnd
    )
  }
  lifecycle.markQueued(request)
  // Resuming with `yieldNow` makes the woken fiber continue in a task of its own scheduler instead of on the
  // stack of the fiber that released the permit (no recursion through chains of releases, events in order).
  let wait: Effect.Effect<void, QueueTimeoutError> = Effect.callback<void>((resume) => {
    if (request.state === TicketState.Granted) return resume(Effect.void)
    request.resume = () => resume(Effect.yieldNow)
  })
  const waitMs = options.queueTimeout === undefined ? settings.queueTimeoutMs : toMillis(options.queueTimeout)
  if (Number.isFinite(waitMs)) {
    wait = Effect.timeoutOrElse(wait, {
      duration: Duration.millis(waitMs),
      orElse: () =>
        Effect.suspend(() =>
          request.timeOut(
            new QueueTimeoutError({ requestId: request.requestId, sessionId: request.sessionId, timeoutMs: waitMs })
          )
        )
    })
  }
  return Effect.matchCauseEffect(Effect.interruptible(wait), {
    onFailure: (cause) => lifecycle.reject(request, cause, options.onEnd),
    onSuccess: () => {
      if (request.state !== TicketState.Granted) {
        // Cannot happen: resumed means granted. Refuse loudly rather than run without permits.
        return lifecycle.reject(request, Cause.die(new Error("SessionManager: resumed without permits")), options.onEnd)
      }
      return Effect.succeed(request)
    }
  })
}

/**
 * Creates, checks and admits a request. Must run uninterruptibly: it only waits (queue, rate-limit store) in
 * interruptible regions, and it either returns a request holding its permits or fails having released everything.
 * `rateLimits` is the `RateLimits` service of the manager's context, if any.
 */
export const acquire = (
  lifecycle: Lifecycle,
  rateLimits: RateLimitsService["Service"] | undefined,
  options: RunOptions<never>
): Effect.Effect<Request, SessionError> =>
  Effect.clockWith((clock) => {
    if (options.rateLimit !== undefined && rateLimits === undefined) {
      return Effect.die(
        new Error(
          "SessionManager: a rateLimit option was given but no RateLimits service was in the context the manager was built in (provide RateLimits.layer to SessionManager.layer)"
        )
      )
    }
    const request = lifecycle.create(options, clock)
    const maxMetadataBytes = lifecycle.settings.maxMetadataBytes
    if (options.metadata !== undefined) {
      const size = jsonBytes(options.metadata, maxMetadataBytes)
      if (size < 0 || size > maxMetadataBytes) {
        return lifecycle.reject(
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
        onFailure: (cause) => lifecycle.reject(request, cause, options.onEnd),
        onSuccess: (reservation) => {
          request.reservation = reservation
          return admit(lifecycle, request, options)
        }
      })
    }
    return admit(lifecycle, request, options)
  })
