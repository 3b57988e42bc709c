import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // a time budget, not a property: the suites run beside each other on a shared 2-core machine, where vitest's
    // 5 s default can be exceeded by loopback round trips under load
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
