/**
 * The model listing, built once: the list JSON and the lookup of one name from the path.
 */
import { describe, expect, it } from "vitest"
import * as ModelRoutes from "../src/ModelRoutes.js"
import * as ModelsRoute from "../src/ModelsRoute.js"
import { referenceEntry } from "./support.js"

const routes = ModelRoutes.make([referenceEntry("ref")], { models: { "team/fast": { target: "ref/ref-chat-1" } } })
const listing = ModelsRoute.make(routes, new Map([["ref", "simulated"]]))

describe("ModelsRoute", () => {
  it("lists every routable name in OpenAI's list shape, with the provider's mode", () => {
    const list = JSON.parse(listing.list) as { object: string; data: Array<Record<string, unknown>> }
    expect(list.object).toBe("list")
    expect(list.data[0]).toMatchObject({
      id: "team/fast",
      object: "model",
      owned_by: "ref",
      target: "ref/ref-chat-1",
      mode: "simulated"
    })
  })

  const rows: ReadonlyArray<readonly [string, string, boolean]> = [
    ["team/fast", "team/fast", true],
    ["team%2Ffast", "team/fast", true],
    ["nope", "nope", false],
    ["%E0%A4%A", "%E0%A4%A", false]
  ]
  for (const [raw, name, found] of rows) {
    it(`looks up ${raw} as ${name}`, () => {
      const result = listing.lookup(raw)
      expect(result.name).toBe(name)
      expect(result.json !== undefined).toBe(found)
    })
  }
})
