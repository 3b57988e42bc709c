import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // a time budget, not a property: each test runs the demo as a child process (one or two), which took ~60 s each
    // while every suite ran at once on the shared 2-core machine (a test running two timed out at 120 s)
    testTimeout: 300_000
  }
})
