import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Packing, an npm install from the registry and a type check of the installed packages: budgets, not properties
    // (the packing and install alone exceeded 300 s on the shared 2-core machine at load 37).
    testTimeout: 600_000,
    hookTimeout: 900_000
  }
})
