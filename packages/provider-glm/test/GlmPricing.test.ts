/**
 * Zhipu's prices in the catalog, the currency per endpoint, and the cost of recorded responses replayed through the
 * model at the catalog's prices.
 */
import { Cost, ResponseSummary } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Layer, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmModels from "../src/GlmModels.js"
import * as GlmPricing from "../src/GlmPricing.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("GlmPricing", () => {
  it.each([
    ["https://api.z.ai/api/paas/v4", "USD"],
    ["https://open.bigmodel.cn/api/paas/v4", "CNY"],
    ["https://api.z.ai/api/coding/paas/v4", undefined],
    ["https://open.bigmodel.cn/api/coding/paas/v4", undefined],
    ["http://127.0.0.1:9000/v4", undefined],
    ["", undefined]
  ])("bills %s in %s", (baseURL, currency) => {
    expect(GlmPricing.billingCurrency(baseURL)).toBe(currency)
  })

  it("prices only catalogued models, each with a valid price, a source and a date", () => {
    const decode = Schema.decodeUnknownSync(Cost.Pricing)
    for (const [id, entries] of Object.entries(GlmPricing.prices)) {
      expect(GlmModels.catalog.get(id)?.pricing, id).toBe(entries)
      expect(new Set(entries.map((entry) => entry.currency)).size, id).toBe(entries.length)
      for (const entry of entries) {
        expect(decode(entry)).toEqual(entry)
        expect(entry.source, id).toBeTruthy()
        expect(entry.date, id).toMatch(/^\d{4}-\d{2}(-\d{2})?$/)
      }
    }
  })

  it("glm-4.5-flash is free: its cost is 0, not unknown", () => {
    const pricing = Cost.select(GlmModels.catalog.get("glm-4.5-flash")?.pricing, "USD")
    expect(
      Cost.costOf(
        { inputTokens: 5_000, cachedInputTokens: 1_000, outputTokens: 800, reasoningTokens: 300, totalTokens: 5_800 },
        pricing
      )
    ).toEqual({ amount: 0, currency: "USD", unconfirmed: false })
  })
})

Recordings.describeRecordings("the cost of recorded Zhipu responses", () => {
  const generate = async (model: string, baseURL: string, body: unknown) => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(body)))
    const layer = GlmLanguageModel.layer(model).pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key", baseURL })))
    const response = await Effect.runPromise(LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(layer)))
    return ResponseSummary.fromParts(response.content)
  }
  const zai = "https://api.z.ai/api/paas/v4"

  it("glm-4.6 with reasoning (octollm): 5 × 0.6 + 4 × 0.11 + 329 × 2.2 = 727.24 per million", async () => {
    const summary = await generate("glm-4.6", zai, Recordings.readJson("glm/octollm/glm-4.6_nonstream_reasoning.json"))
    expect(summary.usage).toMatchObject({
      inputTokens: 9,
      cachedInputTokens: 4,
      outputTokens: 329,
      reasoningTokens: 253
    })
    expect(summary.cost).toEqual({ amount: 0.00072724, currency: "USD", unconfirmed: false })
  })

  it("glm-4.6 on a live cassette's response: 18 × 0.6 + 859 × 2.2 = 1,900.6 per million", async () => {
    const cassette = Recordings.readCassette("glm/fantasy/TestZAICommon__zai-glm-4.6__simple.yaml")
    const summary = await generate("glm-4.6", zai, cassette.interactions[0]?.response.json)
    expect(summary.usage).toMatchObject({ inputTokens: 18, cachedInputTokens: 0, outputTokens: 859 })
    expect(summary.cost).toEqual({ amount: 0.0019006, currency: "USD", unconfirmed: false })
  })

  it("the coding plan the cassettes were recorded on has no per-token cost; BigModel bills glm-4.6 in CNY, unknown", async () => {
    const body = Recordings.readJson("glm/octollm/glm-4.6_nonstream_reasoning.json")
    expect((await generate("glm-4.6", "https://api.z.ai/api/coding/paas/v4", body)).cost).toBeUndefined()
    expect((await generate("glm-4.6", "https://open.bigmodel.cn/api/paas/v4", body)).cost).toBeUndefined()
  })
})
