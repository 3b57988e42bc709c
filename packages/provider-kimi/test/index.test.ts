import { describe, expect, it } from "vitest"
import { packageName } from "../src/index.js"

describe("@conduit-llm/provider-kimi", () => {
  it("names itself", () => {
    expect(packageName).toBe("@conduit-llm/provider-kimi")
  })
})
