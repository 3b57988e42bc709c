import { describe, expect, it } from "vitest"
import { packageName } from "../src/index.js"

describe("@conduit-llm/provider-glm", () => {
  it("names itself", () => {
    expect(packageName).toBe("@conduit-llm/provider-glm")
  })
})
