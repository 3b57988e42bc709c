/**
 * Test helpers of @conduitkit/core: recorded-fixture access, MSW building blocks for OpenAI-compatible upstreams,
 * a real Redis server for integration tests, and the provider conformance suite.
 *
 * Requires `msw` in the consuming project; `vitest` only for the helpers that run tests (`Conformance`,
 * `Recordings.describeRecordings`), loaded when they are called.
 *
 * @since 0.1.0
 */

/**
 * The provider conformance suite.
 *
 * @since 0.1.0
 */
export * as Conformance from "./Conformance.js"

/**
 * An in-memory tracer: the spans a test's code made, as they ended.
 *
 * @since 0.1.0
 */
export * as MemoryTracer from "./MemoryTracer.js"
/**
 * MSW responses and handlers for OpenAI-compatible upstreams, including failure modes.
 *
 * @since 0.1.0
 */
export * as MockUpstream from "./MockUpstream.js"
/**
 * A generic MSW mock of an OpenAI-compatible provider from its declarations and scenario data: the testing
 * handlers a provider's `./testing` entry exports.
 *
 * @since 0.1.0
 */
export * as ProviderMock from "./ProviderMock.js"
/**
 * The recorded fixtures, read in place (`CONDUIT_RECORDINGS_DIR`, default `../shared/fixtures`).
 *
 * @since 0.1.0
 */
export * as Recordings from "./Recordings.js"
/**
 * A real `redis-server` on a free loopback port.
 *
 * @since 0.1.0
 */
export * as RedisServer from "./RedisServer.js"
/**
 * The behaviour the provider twins share: tool calls by a deterministic rule with arguments valid for the tool's
 * schema, answers about tool results, structured output, reasoning that quotes the request, usage and prefix caching.
 *
 * @since 0.1.0
 */
export * as Twin from "./Twin.js"
/**
 * Builders of OpenAI Chat Completions wire fixtures (chunks, completions, error bodies, tool calls) for scenario data.
 *
 * @since 0.1.0
 */
export * as WireFixtures from "./WireFixtures.js"
