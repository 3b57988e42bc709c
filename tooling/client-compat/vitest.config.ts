import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // one simulated gateway process (apps/gateway/dist/main.js) for every file; see test/support/globalSetup.ts
    globalSetup: ["test/support/globalSetup.ts"],
    // a time budget, not a property: each case is one or a few loopback round trips to a simulation, but the suites
    // share a loaded 2-core machine
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // the global teardown stops the gateway (SIGTERM, then SIGKILL after 10 s): vitest's 10 s default is too short
    // on a loaded machine
    teardownTimeout: 30_000,
    // the clients are heavy to import (LangChain, the AI SDK, Effect): one module graph per worker, not per file (no
    // file changes global state; each starts its own proxy and clients)
    isolate: false
  }
})
