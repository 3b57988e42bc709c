/**
 * Test helpers of @conduitkit/provider-glm: an MSW mock of the Z.ai API and the scenario data it speaks (authored
 * in this repository to reproduce the recorded wire shapes), including core's conformance fixtures for GLM.
 *
 * Requires `msw` in the consuming project (`vitest` only to run core's conformance suite).
 *
 * @since 0.1.0
 */

/**
 * An MSW mock of Z.ai: auth errors with the real bodies, code-based errors, chat streams with thinking, tools and
 * multi-tool turns, web search, tokenizer, files, async chat and models.
 *
 * @since 0.1.0
 */
export * as GlmMock from "./GlmMock.js"
/**
 * Authored scenario data reproducing the recorded wire shapes (bodies, chunks, error bodies, conformance fixtures).
 *
 * @since 0.1.0
 */
export * as GlmScenarios from "./GlmScenarios.js"
