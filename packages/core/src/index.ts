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
