import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000,
    // the gateway process a file starts may take up to 150 s to listen on a loaded machine (test/support.ts)
    hookTimeout: 240_000,
    // storms and timing properties: one file at a time so they do not compete for the two cores
    fileParallelism: false
  }
})
