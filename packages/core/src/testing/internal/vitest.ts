/**
 * vitest, loaded only when it is installed: it is an optional peer, so `@conduitkit/core/testing` (and the
 * providers' `/testing` entries, which the gateway's and the demo's simulations use at runtime) import without it.
 * The helpers that register tests ask for it with {@link vitest}, which fails with a plain instruction when it is
 * missing.
 *
 * @internal
 */
let loaded: typeof import("vitest") | undefined
try {
  loaded = await import("vitest")
} catch {
  loaded = undefined
}

/** vitest, or an `Error` saying that `what` needs it and how to install it. */
export const vitest = (what: string): typeof import("vitest") => {
  if (loaded === undefined) {
    throw new Error(
      `${what} registers vitest tests, and vitest (an optional peer of @conduitkit/core) is not installed: npm install --save-dev vitest`
    )
  }
  return loaded
}
