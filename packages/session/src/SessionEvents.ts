/**
 * Lifecycle events published by the session manager, for dashboards, logs and the demo.
 *
 * Every request goes through `created`, then usually `queued` (only when it had to wait), `running`, one terminal
 * event (`completed`, `failed`, `timed-out` or `cancelled`) and finally `released`, published after its permits and
 * registry entry were given back. A request refused before it ran (queue full, queue timeout, metadata too large,
 * rate limited) goes from `created` (or `queued`) straight to its terminal event and `released`. Idle sessions
 * produce `session-expired` when they are dropped from the registry.
 *
 * Events are delivered through a sliding PubSub: a subscriber that falls behind by more than the manager's
 * `eventBufferSize` loses the oldest events instead of slowing requests down. All times are epoch milliseconds and
 * all durations milliseconds.
 *
 * @since 0.1.0
 */
import type { RunMetadata } from "./SessionManager.js"

/**
 * The states of a request, in lifecycle order.
 *
 * @since 0.1.0
 */
export type RequestState =
  | "created"
  | "queued"
  | "running"
  | "completed"
  | "failed"
  | "timed-out"
  | "cancelled"
  | "released"

/**
 * The four ways a request ends.
 *
 * @since 0.1.0
 */
export type Outcome = "completed" | "failed" | "timed-out" | "cancelled"

/**
 * Fields shared by every request event.
 *
 * @since 0.1.0
 */
export interface RequestEventBase {
  readonly requestId: string
  readonly sessionId: string
  /** When it happened (epoch ms). */
  readonly at: number
}

/**
 * The request was registered (ids assigned, metadata checked).
 *
 * @since 0.1.0
 */
export interface Created extends RequestEventBase {
  readonly type: "created"
  /** The caller's metadata, when given. */
  readonly metadata: Readonly<Record<string, unknown>> | undefined
}

/**
 * The request has to wait for a permit. `position` counts the requests waiting when it joined, itself included.
 *
 * @since 0.1.0
 */
export interface Queued extends RequestEventBase {
  readonly type: "queued"
  readonly position: number
}

/**
 * The request got its permits and its work started, after waiting `queuedMs`.
 *
 * @since 0.1.0
 */
export interface Running extends RequestEventBase {
  readonly type: "running"
  readonly queuedMs: number
}

/**
 * The request ended. `error` is the failure's `_tag` (or a short description) for `failed` and `timed-out`;
 * `phase` tells whether it ended while waiting for admission or while running.
 *
 * @since 0.1.0
 */
export interface Ended extends RequestEventBase {
  readonly type: Outcome
  readonly phase: "admission" | "running"
  readonly queuedMs: number
  readonly durationMs: number
  readonly attempts: number
  readonly error: string | undefined
}

/**
 * The request's permits and registry entry were given back; `metadata` is its final response metadata.
 *
 * @since 0.1.0
 */
export interface Released extends RequestEventBase {
  readonly type: "released"
  readonly outcome: Outcome
  readonly metadata: RunMetadata
}

/**
 * An idle session (nothing running or queued for `idleMs`, at least the session TTL) was dropped from the registry.
 *
 * @since 0.1.0
 */
export interface SessionExpired {
  readonly type: "session-expired"
  readonly sessionId: string
  readonly at: number
  readonly idleMs: number
  /** How many requests the session admitted over its life. */
  readonly requests: number
}

/**
 * Any event of a request.
 *
 * @since 0.1.0
 */
export type RequestEvent = Created | Queued | Running | Ended | Released

/**
 * Any event the session manager publishes.
 *
 * @since 0.1.0
 */
export type SessionEvent = RequestEvent | SessionExpired

/**
 * Whether the event ends a request (`completed`, `failed`, `timed-out`, `cancelled`).
 *
 * @since 0.1.0
 */
export const isEnded = (event: SessionEvent): event is Ended =>
  event.type === "completed" || event.type === "failed" || event.type === "timed-out" || event.type === "cancelled"

const ms = (value: number): string => `${value < 10 ? value.toFixed(2) : value.toFixed(0)}ms`

/**
 * One human-readable line for an event, e.g.
 * `req_…  sess_…  completed  queued=0.12ms run=812ms attempts=2`.
 *
 * @since 0.1.0
 */
export const format = (event: SessionEvent): string => {
  if (event.type === "session-expired") {
    return `session ${event.sessionId} expired after ${ms(event.idleMs)} idle (${event.requests} requests)`
  }
  const head = `${event.requestId} ${event.sessionId} ${event.type}`
  switch (event.type) {
    case "created":
      return head
    case "queued":
      return `${head} position=${event.position}`
    case "running":
      return `${head} queued=${ms(event.queuedMs)}`
    case "released":
      return `${head} outcome=${event.outcome}`
    default:
      return `${head} phase=${event.phase} queued=${ms(event.queuedMs)} run=${ms(event.durationMs)} attempts=${event.attempts}${
        event.error === undefined ? "" : ` error=${event.error}`
      }`
  }
}
