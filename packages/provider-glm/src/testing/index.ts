/**
 * Test helpers of @conduit-llm/provider-glm.
 *
 * @since 0.1.0
 */

/** The entry point this module is served from. */
export const entryPoint = "@conduit-llm/provider-glm/testing"
