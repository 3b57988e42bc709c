/**
 * @conduit-llm/core: the plumbing every Conduit provider shares.
 *
 * @since 0.1.0
 */

/**
 * The key/value store with TTL that providers ask for (context-cache ids, response cache, idempotency).
 *
 * @since 0.1.0
 */
export * as CacheStore from "./CacheStore.js"
/**
 * Per-request context (request id, session id, attempt observer) shared with outer layers.
 *
 * @since 0.1.0
 */
export * as RequestContext from "./RequestContext.js"
/**
 * The hook through which a response cache and an idempotency store wrap model calls.
 *
 * @since 0.1.0
 */
export * as ResponseCache from "./ResponseCache.js"
