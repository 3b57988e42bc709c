import { ResponseSummary } from "@conduitkit/core"
import { Schema } from "effect"
import { LanguageModel, Tool, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiModels from "../src/KimiModels.js"
import * as KimiProvider from "../src/KimiProvider.js"
import * as KimiWebSearch from "../src/KimiWebSearch.js"
import { KimiMock } from "../src/testing/index.js"
import { collectExit, modelLayer, runExit, successOf, summarize } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const mockWith = (options: KimiMock.Options = {}) => {
  const mock = KimiMock.make(options)
  server.use(...mock.handlers)
  return mock
}
type Sent = { messages: Array<Record<string, unknown>>; tools?: Array<unknown>; thinking?: unknown }
const chatBodies = (mock: KimiMock.Mock) =>
  mock.recorder.calls.filter((call) => call.url.endsWith("/chat/completions")).map((call) => call.body as Sent)

const Search = Toolkit.make(KimiWebSearch.tool)

describe("$web_search round trip", () => {
  it("declares the provider-defined tool, echoes the arguments back unchanged, and reports the search usage", async () => {
    const mock = mockWith()
    const response = successOf(
      await runExit(LanguageModel.generateText({ prompt: "News today?", toolkit: Search }), modelLayer("kimi-k3"))
    )
    expect(response.text).toBe("According to the search results, here is the answer.")
    const [first, second] = chatBodies(mock)
    expect(first?.tools).toEqual([{ type: "builtin_function", function: { name: "$web_search" } }])
    const call = (
      (second?.messages.at(-2)?.tool_calls ?? []) as Array<{ id: string; function: { arguments: string } }>
    )[0]
    expect(second?.messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: call?.id,
      name: "$web_search",
      content: call?.function.arguments
    })
    expect(second?.tools).toEqual(first?.tools)
    const summary = ResponseSummary.fromParts(response.content)
    expect(summary.metadata.providerExecutedRounds).toBe(1)
    const announced = JSON.parse(call?.function.arguments ?? "{}").usage.total_tokens
    expect(KimiWebSearch.usageOf(response.content)).toEqual({ searches: 1, searchTokens: announced })
    expect(KimiWebSearch.usageOf(summary)).toEqual({ searches: 1, searchTokens: announced })
    expect(summary.toolCalls).toEqual([expect.objectContaining({ name: "web_search", providerExecuted: true })])
  })

  it("streams the round trip too", async () => {
    const mock = mockWith()
    const parts = successOf(
      await collectExit(LanguageModel.streamText({ prompt: "News today?", toolkit: Search }), modelLayer("kimi-k3"))
    )
    const summary = summarize(parts)
    expect(summary.text).toBe("According to the search results, here is the answer.")
    expect(summary.metadata.providerExecutedRounds).toBe(1)
    expect(KimiWebSearch.usageOf(parts).searches).toBe(1)
    expect(chatBodies(mock)).toHaveLength(2)
  })

  it("a server round on a thinking model without reasoning still sends a non-empty reasoning_content", async () => {
    // Moonshot answers the search call with no reasoning; core's echo turn then has none, and thinking is on.
    const mock = mockWith({
      respond: ({ body, index }) =>
        index === 0
          ? {
              model: String(body.model),
              toolCalls: [{ name: "$web_search", id: "$web_search_0", arguments: { usage: { total_tokens: 10 } } }]
            }
          : undefined
    })
    successOf(await runExit(LanguageModel.generateText({ prompt: "Search", toolkit: Search }), modelLayer("kimi-k3")))
    const echoed = chatBodies(mock)[1]?.messages.at(-2)
    expect(echoed).toMatchObject({ role: "assistant", reasoning_content: " " })
  })

  it("a server round keeps the reasoning the model gave with its search call", async () => {
    const mock = mockWith()
    successOf(await runExit(LanguageModel.generateText({ prompt: "Search", toolkit: Search }), modelLayer("kimi-k3")))
    const echoed = chatBodies(mock)[1]?.messages.at(-2)
    expect(echoed).toMatchObject({ role: "assistant", reasoning_content: "I should search the web for this." })
  })

  it("a server round with thinking off sends no reasoning_content (kimi-k2.5, and thinking disabled)", async () => {
    const provider = KimiProvider.make({
      catalog: KimiModels.make({ "kimi-k2.5": { lifecycle: { status: "active" } } })
    })
    const mock = mockWith({ serveRetired: true })
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Search", toolkit: Search }),
        modelLayer("kimi-k2.5", { provider })
      )
    )
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Search", toolkit: Search }),
        modelLayer("kimi-k3", { config: { providerOptions: { thinking: "disabled" } } })
      )
    )
    const bodies = chatBodies(mock)
    expect(bodies).toHaveLength(4)
    for (const body of [bodies[1], bodies[3]]) {
      expect(body?.messages.at(-2)).toMatchObject({ role: "assistant", tool_calls: expect.any(Array) })
      expect(body?.messages.at(-2)).not.toHaveProperty("reasoning_content")
    }
  })

  it("stops after the bound of server rounds", async () => {
    const mock = mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        toolCalls: [{ name: "$web_search", id: "$web_search_0", arguments: { usage: { total_tokens: 5 } } }]
      })
    })
    const provider = KimiProvider.make({ webSearchMaxRounds: 2 })
    const response = successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Search forever", toolkit: Search, disableToolCallResolution: true }),
        modelLayer("kimi-k3", { provider })
      )
    )
    expect(chatBodies(mock)).toHaveLength(3)
    expect(ResponseSummary.fromParts(response.content).metadata.providerExecutedRounds).toBe(2)
  })

  it("kimi-k2.5 (thinking by default) searches with thinking switched off; with thinking asked for it is sent as asked", async () => {
    const provider = KimiProvider.make({
      catalog: KimiModels.make({ "kimi-k2.5": { lifecycle: { status: "active" } } })
    })
    const mock = mockWith({ serveRetired: true })
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Search", toolkit: Search }),
        modelLayer("kimi-k2.5", { provider })
      )
    )
    expect(chatBodies(mock).map((body) => body.thinking)).toEqual([{ type: "disabled" }, { type: "disabled" }])
    await runExit(
      LanguageModel.generateText({ prompt: "Search", toolkit: Search }),
      modelLayer("kimi-k2.5", { provider, config: { providerOptions: { thinking: "enabled" } } })
    )
    expect(chatBodies(mock)[2]?.thinking).toEqual({ type: "enabled" })
  })

  it("can be mixed with function tools", async () => {
    const Weather = Tool.make("get_weather", {
      parameters: Schema.Struct({ city: Schema.String }),
      success: Schema.String
    })
    const mock = mockWith()
    successOf(
      await runExit(
        LanguageModel.generateText({
          prompt: "Search",
          toolkit: Toolkit.make(KimiWebSearch.tool, Weather),
          disableToolCallResolution: true
        }),
        modelLayer("kimi-k3")
      )
    )
    expect(chatBodies(mock)[0]?.tools).toEqual([
      { type: "builtin_function", function: { name: "$web_search" } },
      expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "get_weather" }) })
    ])
  })
})

describe("usageOf", () => {
  const call = (name: string, params: unknown, providerExecuted = true) =>
    ({ type: "tool-call", id: "x", name, params, providerExecuted }) as const
  const cases: ReadonlyArray<readonly [string, ReadonlyArray<ReturnType<typeof call>>, KimiWebSearch.SearchUsage]> = [
    ["no calls", [], { searches: 0, searchTokens: 0 }],
    [
      "one call with usage",
      [call("web_search", { usage: { total_tokens: 13046 } })],
      { searches: 1, searchTokens: 13046 }
    ],
    [
      "arguments as a JSON string",
      [call("$web_search", '{"usage":{"total_tokens":7}}')],
      { searches: 1, searchTokens: 7 }
    ],
    [
      "a call without usage counts as a search of unknown size",
      [call("web_search", {})],
      { searches: 1, searchTokens: 0 }
    ],
    [
      "client-executed calls are not searches",
      [call("web_search", { usage: { total_tokens: 5 } }, false)],
      { searches: 0, searchTokens: 0 }
    ],
    [
      "two rounds add up",
      [call("web_search", { usage: { total_tokens: 5 } }), call("web_search", { usage: { total_tokens: 6 } })],
      { searches: 2, searchTokens: 11 }
    ]
  ]
  for (const [name, parts, expected] of cases) {
    it(name, () => {
      expect(KimiWebSearch.usageOf(parts as never)).toEqual(expected)
    })
  }

  it("declares only its own provider-defined tool", () => {
    expect(KimiWebSearch.providerTool(KimiWebSearch.tool)).toEqual({
      type: "builtin_function",
      function: { name: "$web_search" }
    })
    const other = Tool.providerDefined({ id: "other.search", customName: "search", providerName: "search" })(
      undefined as never
    )
    expect(KimiWebSearch.providerTool(other)).toBeUndefined()
  })
})
