import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // every answer the tests read is checked against OpenAI's published schema after each file (test/setup.ts)
    setupFiles: ["test/setup.ts"],
    // a time budget, not a property: the suites run beside each other on a shared 2-core machine, where vitest's
    // 5 s default is exceeded by property tests and loopback servers under load (timing properties are asserted
    // inside the tests, with their own margins)
    testTimeout: 60_000,
    hookTimeout: 120_000
  }
})
