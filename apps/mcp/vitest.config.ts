import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the stdio and Inspector tests start the server as a child process (a few seconds, much more on a loaded machine)
    testTimeout: 120_000,
    hookTimeout: 180_000
  }
})
