/**
 * Embedding catalogs: lookup by id or alias, unknown ids passed through, duplicates refused, and batching within a
 * model's limits.
 */
import { describe, expect, it } from "vitest"
import * as EmbeddingCatalog from "../src/EmbeddingCatalog.js"

const info: EmbeddingCatalog.EmbeddingModelInfo = {
  id: "vec-1",
  provider: "ref",
  aliases: ["vec"],
  dimensions: 8,
  maxInputs: 4,
  maxInputTokens: 100,
  maxBatchTokens: 1000,
  lifecycle: { status: "active" }
}

describe("catalogs", () => {
  it("finds a model by id or alias, case-insensitively, and passes unknown ids through", () => {
    const catalog = EmbeddingCatalog.make("ref", [info])
    expect(catalog.get("VEC")).toBe(info)
    expect(catalog.resolve("vec-1")).toBe(info)
    expect(catalog.get("other")).toBeUndefined()
    expect(catalog.resolve("other")).toMatchObject({ id: "other", provider: "ref", unknown: true })
  })

  it("refuses a duplicate id or alias at construction", () => {
    expect(() => EmbeddingCatalog.make("ref", [info, { ...info, id: "vec", aliases: [] }])).toThrow(/duplicate/)
  })
})

describe("batching", () => {
  it.each([
    ["fewer inputs than the limit", 3, 10, 8192, [[0, 3]]],
    [
      "more inputs than the limit",
      5,
      2,
      8192,
      [
        [0, 2],
        [2, 4],
        [4, 5]
      ]
    ],
    ["no inputs", 0, 2, 8192, []]
  ])("%s", (_name, count, maxInputs, maxBatchTokens, expected) => {
    const inputs = Array.from({ length: count }, (_, i) => `text ${i}`)
    expect(EmbeddingCatalog.batches(inputs, { maxInputs, maxBatchTokens })).toEqual(expected)
  })

  it("splits by estimated tokens, and sends an input above the budget alone", () => {
    const long = "word ".repeat(2000)
    expect(EmbeddingCatalog.batches(["a", long, "b", "c"], { maxInputs: 64, maxBatchTokens: 100 })).toEqual([
      [0, 1],
      [1, 2],
      [2, 4]
    ])
  })
})
