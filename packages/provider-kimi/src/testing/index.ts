/**
 * Test helpers of @conduitkit/provider-kimi: MSW handlers that behave like Moonshot's API, and the authored wire
 * data they answer with. Requires `msw` (an optional peer dependency) in the consuming project.
 *
 * ```ts
 * import { KimiMock } from "@conduitkit/provider-kimi/testing"
 * import { setupServer } from "msw/node"
 *
 * const mock = KimiMock.make({ apiKey: "sk-test" })
 * const server = setupServer(...mock.handlers)
 * server.listen({ onUnhandledFrame: "error" })
 * ```
 *
 * @since 0.1.0
 */

/**
 * MSW handlers behaving like Moonshot (validations with the real 400 bodies, bearer check, streams with both usage
 * placements, files, caching, tokenizer, balance, models).
 *
 * @since 0.1.0
 */
export * as KimiMock from "./KimiMock.js"
/**
 * Authored wire data in the recorded shapes: completion bodies, stream chunks, error bodies.
 *
 * @since 0.1.0
 */
export * as KimiScenarios from "./KimiScenarios.js"
