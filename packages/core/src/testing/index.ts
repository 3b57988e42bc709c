/**
 * Test helpers of @conduit-llm/core: recorded-fixture access, MSW handlers for OpenAI-compatible upstreams, a real
 * Redis server for integration tests, and the provider conformance suite.
 *
 * @since 0.1.0
 */

/**
 * A real `redis-server` on a free loopback port.
 *
 * @since 0.1.0
 */
export * as RedisServer from "./RedisServer.js"
