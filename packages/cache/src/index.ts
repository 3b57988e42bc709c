/**
 * @conduit-llm/cache
 *
 * @since 0.1.0
 */

/** The npm name of this package. */
export const packageName = "@conduit-llm/cache"
