/**
 * @conduitkit/session: request lifecycle, concurrency control, rate limits and conversation sessions for Conduit.
 *
 * @since 0.1.0
 */

/**
 * Spend budgets per key (per UTC day or calendar month): the window arithmetic, the refusal, and the spend counters
 * (memory or Redis) that `RateLimits` checks and charges.
 *
 * @since 0.1.0
 */
export * as Budget from "./Budget.js"
/**
 * Conversation history per session id on effect/ai `Chat` persistence (memory or Redis), reasoning and tool turns
 * kept for replay.
 *
 * @since 0.1.0
 */
export * as Conversation from "./Conversation.js"
/**
 * Requests-per-minute and tokens-per-minute limits per key and per model on effect's `RateLimiter` (memory or Redis).
 *
 * @since 0.1.0
 */
export * as RateLimits from "./RateLimits.js"
/**
 * The typed failures of the session manager (queue full, queue timeout, execution timeout, metadata too large).
 *
 * @since 0.1.0
 */
export * as SessionError from "./SessionError.js"
/**
 * The lifecycle events the session manager publishes (created, queued, running, completed, failed, timed-out,
 * cancelled, released, session-expired) and a one-line formatter.
 *
 * @since 0.1.0
 */
export * as SessionEvents from "./SessionEvents.js"
/**
 * Admits every model call under global and per-session concurrency limits (FIFO queues, queue and execution
 * timeouts), records its lifecycle and metadata (`sessionId`, `requestId`, `queuedMs`, `durationMs`, `attempts`), and
 * gives every permit back on success, failure, timeout and interruption.
 *
 * @since 0.1.0
 */
export * as SessionManager from "./SessionManager.js"
