/**
 * Read-only views of a manager's lifecycle state: `stats`, `requests` and `sessions`.
 *
 * @internal
 */
import { Effect } from "effect"
import type { RequestInfo, SessionInfo, Stats } from "../SessionManager.js"
import type { Lifecycle } from "./lifecycle.js"

/** Counters, permits and percentiles. */
export const stats = (lifecycle: Lifecycle): Effect.Effect<Stats> =>
  Effect.sync(() => {
    const { admission, counters, registry } = lifecycle
    const limit = lifecycle.settings.limit
    const [queueP50, queueP95] = lifecycle.queueSamples.percentiles([50, 95])
    const [runP50, runP95] = lifecycle.runSamples.percentiles([50, 95])
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

/** The requests created and not yet released. */
export const requests = (lifecycle: Lifecycle): Effect.Effect<ReadonlyArray<RequestInfo>> =>
  Effect.sync(() =>
    Array.from(lifecycle.registry, (request) => ({
      requestId: request.requestId,
      sessionId: request.sessionId,
      state: request.phase,
      createdAt: request.createdAt,
      metadata: request.metadata
    }))
  )

/** The sessions remembered, after idle ones beyond the TTL were expired. */
export const sessions = (lifecycle: Lifecycle): Effect.Effect<ReadonlyArray<SessionInfo>> =>
  Effect.andThen(
    lifecycle.sweep,
    Effect.sync(() =>
      Array.from(lifecycle.admission.sessions.values(), (slot) => ({
        sessionId: slot.id,
        createdAt: slot.createdAt,
        lastActiveAt: slot.lastActiveAt,
        active: slot.active,
        queued: slot.pendingLive,
        requests: slot.requests
      }))
    )
  )
