import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Layer, Schema } from "effect"
import { LanguageModel } from "effect/ai"
import { http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiLanguageModel from "../src/KimiLanguageModel.js"
import * as KimiTokenizer from "../src/KimiTokenizer.js"
import { KimiMock } from "../src/testing/index.js"
import { describe as describeError, failureOf, runExit, successOf, testKey } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const run = <A>(
  effect: Effect.Effect<A, unknown, KimiClient.KimiClient>,
  options: Omit<KimiClient.Options, "apiKey"> = {}
) => Effect.runPromiseExit(effect.pipe(Effect.provide(KimiClient.layer({ apiKey: testKey, ...options }))))

describe("countTokens", () => {
  it("posts the chat-shaped body and returns data.total_tokens", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    const messages = [
      { role: "system", content: "You are Kimi." },
      { role: "user", content: "你好，请介绍一下你自己。" }
    ]
    const count = successOf(await run(KimiTokenizer.countTokens({ model: "kimi-k3", messages })))
    expect(count).toBe(TokenEstimator.estimateRequest({ messages }))
    expect(mock.recorder.last().body).toEqual({ model: "kimi-k3", messages })
    expect(new URL(mock.recorder.last().url).pathname).toBe("/v1/tokenizers/estimate-token-count")
  })

  it("accepts an effect/ai prompt and tools", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }]
    successOf(await run(KimiTokenizer.countTokens({ model: "kimi-k2.6", prompt: "Hello", tools })))
    expect(mock.recorder.last().body).toEqual({
      model: "kimi-k2.6",
      messages: [{ role: "user", content: "Hello" }],
      tools
    })
  })

  it("a body without data.total_tokens is an invalid response", async () => {
    server.use(
      http.post("https://api.moonshot.ai/v1/tokenizers/estimate-token-count", () => MockUpstream.json({ data: {} }))
    )
    const error = failureOf(
      await run(KimiTokenizer.countTokens({ model: "kimi-k3", messages: [{ role: "user", content: "x" }] }))
    )
    expect(error.reason._tag).toBe("InvalidResponseError")
  })

  it("as the pre-flight counter: an exact count too large for the window is refused before the chat call", async () => {
    const mock = KimiMock.make()
    server.use(
      http.post("https://api.moonshot.ai/v1/tokenizers/estimate-token-count", () =>
        MockUpstream.json({ data: { total_tokens: 300_000 } })
      ),
      ...mock.handlers
    )
    const layer = Layer.mergeAll(
      KimiLanguageModel.layer("kimi-k2.6", { preflight: true }),
      KimiTokenizer.layerExactPreflight
    ).pipe(Layer.provide(KimiClient.layer({ apiKey: testKey })))
    // long enough that core's cheap bound (3 x the JSON length, plus max_tokens) does not settle it without counting
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "x".repeat(80_000) }), layer))
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", contextLength: true })
    expect(describeError(error).message).toMatch(
      /the prompt \(300000 tokens\) plus max_tokens \(32768\) exceeds the 262144-token context window/
    )
    expect(mock.recorder.calls.filter((call) => call.url.endsWith("/chat/completions"))).toHaveLength(0)
  })

  it("without the layer, core's local estimate is used (no tokenizer call)", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    const layer = KimiLanguageModel.layer("kimi-k2.6").pipe(Layer.provide(KimiClient.layer({ apiKey: testKey })))
    successOf(await runExit(LanguageModel.generateText({ prompt: "short" }), layer))
    expect(mock.recorder.calls.map((call) => new URL(call.url).pathname)).toEqual(["/v1/chat/completions"])
  })
})

describe("getBalance", () => {
  it("reads the balance envelope, in USD on api.moonshot.ai and CNY on api.moonshot.cn", async () => {
    for (const [region, baseURL, currency] of [
      ["global", "https://api.moonshot.ai/v1", "USD"],
      ["cn", "https://api.moonshot.cn/v1", "CNY"]
    ] as const) {
      server.use(...KimiMock.handlers({ baseURL }))
      const balance = successOf(await run(KimiTokenizer.getBalance(), { region }))
      expect(balance).toEqual({ available: 49.5, voucher: 46.5, cash: 3, currency })
    }
  })

  it("an envelope with status false is an invalid response", async () => {
    server.use(
      http.get("https://api.moonshot.ai/v1/users/me/balance", () =>
        MockUpstream.json({ code: 5, data: { available_balance: 0 }, scode: "0x5", status: false })
      )
    )
    const error = failureOf(await run(KimiTokenizer.getBalance()))
    expect(describeError(error).message).toMatch(/answered code 5 \(0x5\)/)
  })

  it("the currency of other hosts is unknown", () => {
    expect(KimiTokenizer.currencyOf("https://proxy.example.test/v1")).toBeUndefined()
  })
})

Recordings.describeRecordings("the documented tokenizer and balance bodies", () => {
  it("decodes the estimate-token-count example", () => {
    const recorded = Recordings.readJson("kimi/official-doc-examples/estimate-token-count-response-doc.json") as {
      data: { total_tokens: number }
    }
    expect(Schema.decodeUnknownSync(KimiTokenizer.EstimateResponse)(recorded).data.total_tokens).toBe(
      recorded.data.total_tokens
    )
  })

  it("decodes the balance example and serves it through getBalance", async () => {
    const recorded = Recordings.readJson("kimi/official-doc-examples/balance-response-doc.json") as {
      data: { available_balance: number; voucher_balance: number; cash_balance: number }
    }
    server.use(http.get("https://api.moonshot.ai/v1/users/me/balance", () => MockUpstream.json(recorded)))
    const balance = successOf(await run(KimiTokenizer.getBalance()))
    expect(balance).toEqual({
      available: recorded.data.available_balance,
      voucher: recorded.data.voucher_balance,
      cash: recorded.data.cash_balance,
      currency: "USD"
    })
  })
})
