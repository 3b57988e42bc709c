import { describe, expect, it } from "vitest"
import { packageName } from "../src/index.js"

describe("@conduit-llm/cache", () => {
  it("names itself", () => {
    expect(packageName).toBe("@conduit-llm/cache")
  })
})
