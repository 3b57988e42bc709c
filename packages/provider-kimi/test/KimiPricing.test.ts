/**
 * Moonshot's prices in the catalog, the currency per endpoint, and the cost of recorded responses replayed through
 * the model (non-stream and stream), at the catalog's prices.
 */
import { Cost } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { KimiModels, KimiPricing } from "../src/index.js"
import { collectExit, modelLayer, runExit, successOf, summarize } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("KimiPricing", () => {
  it.each([
    ["https://api.moonshot.ai/v1", "USD"],
    ["https://api.moonshot.cn/v1", "CNY"],
    ["https://api.kimi.com/coding/v1", undefined],
    ["http://127.0.0.1:8080/v1", undefined],
    ["not a url", undefined]
  ])("bills %s in %s", (baseURL, currency) => {
    expect(KimiPricing.billingCurrency(baseURL)).toBe(currency)
  })

  it("prices only catalogued models, each with a valid price, a source and a date", () => {
    const decode = Schema.decodeUnknownSync(Cost.Pricing)
    for (const [id, entries] of Object.entries(KimiPricing.prices)) {
      expect(KimiModels.catalog.get(id)?.pricing, id).toBe(entries)
      expect(new Set(entries.map((entry) => entry.currency)).size, id).toBe(entries.length)
      for (const entry of entries) {
        expect(decode(entry)).toEqual(entry)
        expect(entry.source, id).toBeTruthy()
        expect(entry.date, id).toMatch(/^\d{4}-\d{2}(-\d{2})?$/)
      }
    }
  })

  it("kimi-k3: $3.00 input, $0.30 cached input, $15.00 output per million tokens (platform.kimi.ai)", () => {
    expect(Cost.select(KimiModels.catalog.get("kimi-k3")?.pricing, "USD")).toMatchObject({
      inputPerMillion: 3,
      cachedInputPerMillion: 0.3,
      outputPerMillion: 15
    })
  })
})

Recordings.describeRecordings("the cost of recorded Moonshot responses", () => {
  const replay = (baseURL: string, file: string) =>
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(Recordings.readJson(file))))
  const generate = async (model: string, baseURL = "https://api.moonshot.ai/v1") =>
    summarize(
      successOf(await runExit(LanguageModel.generateText({ prompt: "hi" }), modelLayer(model, { baseURL }))).content
    )

  it.each([
    // 90 input, all cached; 34 output (17 reasoning): 90 × 0.30 + 34 × 15 = 537 per million
    ["kimi-k3", "kimi/vercel-ai/moonshotai-usage-live.json", 0.000537],
    // 951 input (60 cached), 6000 output (6001 reasoning reported, clamped): 891 × 3 + 60 × 0.3 + 6000 × 15
    ["kimi-k3", "kimi/vercel-ai/issue-19311-kimi-k3-negative-usage.json", 0.092691],
    // 41 input, 32 output (31 reasoning), UNCONFIRMED price: 41 × 0.95 + 32 × 4 = 166.95 per million
    ["kimi-k2.6", "kimi/vercel-ai/moonshotai-k2.6-tool-choice-omitted.json", 0.00016695],
    // 11 input, 2 output: 11 × 0.20 + 2 × 2.00 = 6.2 per million
    ["moonshot-v1-8k", "kimi/vercel-ai/moonshotai-max-completion-tokens.json", 0.0000062]
  ])("%s, %s", async (model, file, amount) => {
    replay("https://api.moonshot.ai/v1", file)
    const summary = await generate(model)
    expect(summary.cost).toEqual({ amount, currency: "USD", unconfirmed: model === "kimi-k2.6" })
  })

  it("a stream that reports its usage twice (finish chunk and trailing chunk) is costed once", async () => {
    const chunks = Recordings.readChunks("kimi/vercel-ai/moonshotai-usage-live.chunks.txt")
    server.use(MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () => MockUpstream.sse(chunks)))
    const parts = successOf(await collectExit(LanguageModel.streamText({ prompt: "hi" }), modelLayer("kimi-k3")))
    const summary = summarize(parts)
    expect(summary.usage).toMatchObject({ inputTokens: 90, cachedInputTokens: 90, outputTokens: 50 })
    // 90 × 0.30 + 50 × 15 = 777 per million
    expect(summary.cost).toEqual({ amount: 0.000777, currency: "USD", unconfirmed: false })
  })

  it("api.moonshot.cn bills in CNY (never converted); Kimi Code has no per-token cost", async () => {
    replay("https://api.moonshot.cn/v1", "kimi/vercel-ai/moonshotai-usage-live.json")
    const cn = await generate("kimi-k3", "https://api.moonshot.cn/v1")
    // 90 × 2 + 34 × 100 = 3,580 per million, from a secondary source
    expect(cn.cost).toEqual({ amount: 0.00358, currency: "CNY", unconfirmed: true })
    replay("https://api.kimi.com/coding/v1", "kimi/vercel-ai/moonshotai-usage-live.json")
    const coding = await generate("kimi-k3", "https://api.kimi.com/coding/v1")
    expect(coding.usage.inputTokens).toBe(90)
    expect(coding.cost).toBeUndefined()
  })

  it("a model without a published price has no cost", async () => {
    replay("https://api.moonshot.ai/v1", "kimi/vercel-ai/moonshotai-usage-live.json")
    const summary = await generate("kimi-k2.5")
    expect(summary.usage.inputTokens).toBe(90)
    expect(summary.cost).toBeUndefined()
  })
})
