import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    // storms and timing properties: one file at a time so they do not compete for the two cores
    fileParallelism: false
  }
})
