/**
 * Cost arithmetic, table-tested against published prices (cached and reasoning tokens included) and against the
 * usages of recorded responses (read in place through the Recordings helper).
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import type * as ChatCompletions from "../src/ChatCompletions.js"
import * as Cost from "../src/Cost.js"
import * as Recordings from "../src/testing/Recordings.js"
import * as Usage from "../src/Usage.js"

// Published prices (USD per million tokens), as docs/providers/kimi.md#pricing and docs/providers/glm.md#pricing
// give them: kimi-k3 on platform.moonshot.ai, glm-4.6 on api.z.ai, glm-4-32b-0414-128k (no cached price published),
// glm-4.5-flash (free).
const kimiK3: Cost.Pricing = { currency: "USD", inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15 }
const glm46: Cost.Pricing = {
  currency: "USD",
  inputPerMillion: 0.6,
  cachedInputPerMillion: 0.11,
  outputPerMillion: 2.2
}
const glm432b: Cost.Pricing = { currency: "USD", inputPerMillion: 0.1, outputPerMillion: 0.1 }
const glm45Flash: Cost.Pricing = { currency: "USD", inputPerMillion: 0, cachedInputPerMillion: 0, outputPerMillion: 0 }
const glm4PlusCny: Cost.Pricing = { currency: "CNY", inputPerMillion: 5, outputPerMillion: 5 }

const usage = (inputTokens: number, cachedInputTokens: number, outputTokens: number, reasoningTokens = 0) => ({
  inputTokens,
  cachedInputTokens,
  outputTokens,
  reasoningTokens,
  totalTokens: inputTokens + outputTokens
})

describe("Cost.costOf", () => {
  const table: ReadonlyArray<
    readonly [name: string, usage: Usage.TokenUsage, pricing: Cost.Pricing | undefined, cost: string | undefined]
  > = [
    // 6,000 × 3 + 4,000 × 0.3 + 2,000 × 15 = 49,200 per million
    ["kimi-k3, cached and reasoning tokens", usage(10_000, 4_000, 2_000, 500), kimiK3, "0.0492 USD"],
    // reasoning tokens are part of the output count: the same usage without reasoning costs the same
    ["kimi-k3, no reasoning", usage(10_000, 4_000, 2_000, 0), kimiK3, "0.0492 USD"],
    ["kimi-k3, one million input tokens", usage(1_000_000, 0, 0), kimiK3, "3 USD"],
    ["kimi-k3, one million cached input tokens", usage(1_000_000, 1_000_000, 0), kimiK3, "0.3 USD"],
    ["kimi-k3, one million output tokens", usage(0, 0, 1_000_000, 999_999), kimiK3, "15 USD"],
    // 3 × 0.6 is 1.7999999999999998 in floating point: rounded to 1e-10
    ["glm-4.6, three input tokens", usage(3, 0, 0), glm46, "0.0000018 USD"],
    // 900 × 0.6 + 100 × 0.11 + 1,000 × 2.2 = 2,751 per million
    ["glm-4.6, cached and reasoning tokens", usage(1_000, 100, 1_000, 800), glm46, "0.002751 USD"],
    ["no cached price, no cached tokens", usage(1_000_000, 0, 1_000_000), glm432b, "0.2 USD"],
    ["no cached price, cached tokens: unknown", usage(1_000, 10, 10), glm432b, undefined],
    ["free model", usage(50_000, 20_000, 9_000, 4_000), glm45Flash, "0 USD"],
    ["CNY stays CNY", usage(200_000, 0, 100_000), glm4PlusCny, "1.5 CNY"],
    ["unknown price", usage(1_000, 0, 1_000), undefined, undefined],
    ["zero usage", Usage.zero, kimiK3, "0 USD"]
  ]
  it.each(table)("%s", (_name, tokens, pricing, expected) => {
    const cost = Cost.costOf(tokens, pricing)
    expect(cost === undefined ? undefined : Cost.format(cost)).toBe(expected)
  })

  it("gives no cost for unknown usage", () => {
    expect(Cost.costOf(undefined, kimiK3)).toBeUndefined()
  })

  it("says when the price is UNCONFIRMED", () => {
    expect(Cost.costOf(usage(1, 0, 1), { ...kimiK3, source: "UNCONFIRMED: secondary table" })?.unconfirmed).toBe(true)
    expect(
      Cost.costOf(usage(1, 0, 1), { ...kimiK3, source: "https://platform.kimi.ai/docs/pricing" })?.unconfirmed
    ).toBe(false)
  })

  it("is exact to 1e-10 for large responses", () => {
    // 1,048,576 input (524,288 cached) + 131,072 output at kimi-k3 prices
    const cost = Cost.costOf(usage(1_048_576, 524_288, 131_072), kimiK3)
    // 1,572,864 + 157,286.4 + 1,966,080 = 3,696,230.4 per million (the unrounded float sum is 3.6962303999999997)
    expect(cost?.amount).toBe(3.6962304)
  })
})

describe("Cost.format", () => {
  it.each([
    [0.0492, "0.0492 USD"],
    [1.2e-7, "0.00000012 USD"],
    [12, "12 USD"],
    [0, "0 USD"]
  ])("%s", (amount, text) => {
    expect(Cost.format({ amount, currency: "USD", unconfirmed: false })).toBe(text)
  })
})

describe("Cost.select", () => {
  const both = [kimiK3, { ...kimiK3, currency: "CNY", inputPerMillion: 20 }]
  it("picks the price in the endpoint's currency, never another", () => {
    expect(Cost.select(both, "CNY")?.inputPerMillion).toBe(20)
    expect(Cost.select(both, "USD")).toBe(kimiK3)
    expect(Cost.select([kimiK3], "CNY")).toBeUndefined()
    expect(Cost.select(both, undefined)).toBeUndefined()
    expect(Cost.select(undefined, "USD")).toBeUndefined()
  })
})

describe("Cost.currencyByHost", () => {
  const billing = Cost.currencyByHost(
    { "api.example.com": "USD", "api.example.cn": "CNY" },
    { unbilledPath: /\/plan\// }
  )
  it.each([
    ["https://api.example.com/v1", "USD"],
    ["https://api.example.cn/v1", "CNY"],
    ["https://api.example.com/plan/v1", undefined],
    ["https://proxy.example.org/v1", undefined],
    ["https://constructor/v1", undefined],
    ["not a url", undefined]
  ])("%s bills in %s", (baseURL, currency) => {
    expect(billing(baseURL)).toBe(currency)
    // asked again (answered from what it parsed the first time)
    expect(billing(baseURL)).toBe(currency)
  })
})

describe("Cost.spent", () => {
  const cost = { amount: 0.5, currency: "USD", unconfirmed: false }
  it.each([
    ["an upstream answer", { cost }, cost],
    ["the call that filled the response cache", { cost, cache: "miss" }, cost],
    ["a response cache hit", { cost, cache: "hit" }, undefined],
    ["an idempotent replay", { cost, idempotency: "replayed" }, undefined],
    ["an idempotent join", { cost, idempotency: "joined" }, undefined],
    ["no price", {}, undefined],
    ["no metadata", undefined, undefined]
  ])("%s", (_name, conduit, expected) => {
    expect(Cost.spent(conduit)).toEqual(expected)
  })
})

describe("Cost.fromMetadata", () => {
  it("reads a cost back from response metadata, and nothing from anything else", () => {
    expect(Cost.fromMetadata({ amount: 0.5, currency: "USD", unconfirmed: true })).toEqual({
      amount: 0.5,
      currency: "USD",
      unconfirmed: true
    })
    expect(Cost.fromMetadata({ amount: 0.5, currency: "USD" })?.unconfirmed).toBe(false)
    expect(Cost.fromMetadata({ amount: "0.5", currency: "USD" })).toBeUndefined()
    expect(Cost.fromMetadata({ amount: Number.NaN, currency: "USD" })).toBeUndefined()
    expect(Cost.fromMetadata(undefined)).toBeUndefined()
  })
})

describe("Cost.Pricing schema", () => {
  const decode = Schema.decodeUnknownExit(Cost.Pricing)
  it("accepts a price and refuses negative prices and non-ISO currencies", () => {
    expect(decode({ currency: "USD", inputPerMillion: 0.6, outputPerMillion: 2.2 })._tag).toBe("Success")
    expect(decode({ currency: "USD", inputPerMillion: -1, outputPerMillion: 2.2 })._tag).toBe("Failure")
    expect(decode({ currency: "usd", inputPerMillion: 1, outputPerMillion: 2 })._tag).toBe("Failure")
  })
})

Recordings.describeRecordings("Cost.costOf over recorded usages", () => {
  const completion = (file: string) => Usage.fromCompletion(Recordings.readJson(file) as ChatCompletions.ChatCompletion)
  const table: ReadonlyArray<readonly [file: string, pricing: Cost.Pricing, cost: string]> = [
    // 9 input (4 cached), 329 output of which 253 reasoning: 5 × 0.6 + 4 × 0.11 + 329 × 2.2 = 727.24 per million
    ["glm/octollm/glm-4.6_nonstream_reasoning.json", glm46, "0.00072724 USD"],
    // 90 input, all cached (top-level and nested cached_tokens), 34 output of which 17 reasoning:
    // 90 × 0.3 + 34 × 15 = 537 per million
    ["kimi/vercel-ai/moonshotai-usage-live.json", kimiK3, "0.000537 USD"],
    // 951 input (60 cached), 6000 output with 6001 reasoning reported (clamped to 6000):
    // 891 × 3 + 60 × 0.3 + 6000 × 15 = 92,691 per million
    ["kimi/vercel-ai/issue-19311-kimi-k3-negative-usage.json", kimiK3, "0.092691 USD"]
  ]
  it.each(table)("%s", (file, pricing, expected) => {
    const cost = Cost.costOf(completion(file), pricing)
    expect(cost === undefined ? undefined : Cost.format(cost)).toBe(expected)
  })

  it("a Moonshot stream's usage (choice-level usage on the finish chunk)", () => {
    const chunks = Recordings.readChunks("kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt")
    const usages = chunks.flatMap((chunk) => {
      const found = Usage.fromChunk(chunk as ChatCompletions.ChatCompletionChunk)
      return found === undefined ? [] : [found]
    })
    const last = usages.at(-1)
    if (last === undefined) throw new Error("the recording has no usage")
    const cost = Cost.costOf(last, kimiK3)
    const expected =
      ((last.inputTokens - last.cachedInputTokens) * 3 + last.cachedInputTokens * 0.3 + last.outputTokens * 15) / 1e6
    expect(cost?.amount).toBeCloseTo(expected, 12)
    expect(cost?.amount).toBeGreaterThan(0)
  })
})
