/**
 * The Promise face: `createGlm({ apiKey, region?, plan?, baseURL? })` with chat, stream, listModels, webSearch and
 * countTokens, over the MSW mock of Z.ai.
 */
import { PromiseClient } from "@conduitkit/core"
import { Conformance } from "@conduitkit/core/testing"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { createGlm, GlmModels } from "../src/index.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Get the weather",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] }
  }
}

describe("createGlm", () => {
  it("chat: text with metadata, on the coding plan endpoint", async () => {
    const zai = GlmMock.make({ baseURL: "https://api.z.ai/api/coding/paas/v4" })
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key", plan: "coding" })
    const result = await glm.chat({ model: "glm-4.6", prompt: "hello" })
    expect(result.text).toBe(GlmScenarios.text.text)
    expect(result.metadata).toMatchObject({ provider: "glm", model: "glm-4.6", streamed: false, attempts: 1 })
    expect(result.metadata.requestId).toMatch(/^\d{14}[0-9a-f]{16}$/)
    await glm.close()
  })

  it("chat: thinking and a tool call with the default model", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    const result = await glm.chat({
      messages: [{ role: "user", content: "Weather in Florence, Italy?" }],
      tools: [weatherTool],
      providerOptions: { thinking: { type: "enabled" } }
    })
    expect(result.reasoning).toBe('The user asks: "Weather in Florence, Italy?". I will call get_weather to answer it.')
    expect(result.toolCalls.map((call) => [call.name, call.params])).toEqual([
      ["get_weather", { location: "Florence, Italy" }]
    ])
    expect((zai.recorder.last().body as { model: string }).model).toBe("glm-4.6")
    await glm.close()
  })

  it("stream: parts as an AsyncIterable, tool_stream on with tools", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    const types: Array<string> = []
    for await (const part of glm.stream({ model: "glm-4.6", prompt: "Weather?", tools: [weatherTool] })) {
      types.push(part.type)
    }
    expect(types).toContain("tool-params-delta")
    expect(types).toContain("tool-call")
    expect(types.at(-1)).toBe("finish")
    expect((zai.recorder.last().body as { tool_stream?: boolean }).tool_stream).toBe(true)
    await glm.close()
  })

  it("a { type: web_search } tool is sent with the web_search defaults, and results come back as sources", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    const result = await glm.chat({
      model: "glm-4-air",
      prompt: "Weather in Florence?",
      tools: [{ type: "web_search", web_search: { search_engine: "search-prime", count: 3 } }]
    })
    expect((zai.recorder.last().body as { tools: unknown }).tools).toEqual([
      { type: "web_search", web_search: { enable: true, search_engine: "search-prime", search_result: true, count: 3 } }
    ])
    expect(result.sources.map((source) => [source.id, source.url])).toEqual(
      GlmScenarios.webSearch.results.map((r) => [r.refer, r.link])
    )
    await glm.close()
  })

  it("requests without built-in tools send only their function tools; a bad web_search tool is refused", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    await glm.chat({ model: "glm-4.6", prompt: "Weather?", tools: [weatherTool] })
    expect((zai.recorder.last().body as { tools: Array<{ type: string }> }).tools.map((tool) => tool.type)).toEqual([
      "function"
    ])
    const refused = await glm
      .chat({ model: "glm-4-air", prompt: "hi", tools: [{ type: "web_search", web_search: { count: 51 } }] })
      .catch((e: unknown) => e)
    expect(refused).toMatchObject({ reason: "InvalidRequestError" })
    expect(zai.recorder.count).toBe(1)
    await glm.close()
  })

  it("listModels: the catalog, or the account's models with live: true", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    expect(await glm.listModels()).toBe(GlmModels.catalog.list)
    const live = await glm.listModels({ live: true })
    expect(live.map((info) => info.id)).toEqual(GlmModels.models.map((info) => info.id))
    expect(zai.recorder.last().url).toBe("https://api.z.ai/api/paas/v4/models")
  })

  it("webSearch and countTokens", async () => {
    const zai = GlmMock.make({ baseURL: "https://open.bigmodel.cn/api/paas/v4" })
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key", region: "cn" })
    const search = await glm.webSearch({ search_query: "Florence weather" })
    expect(search.results).toHaveLength(GlmScenarios.webSearch.results.length)
    expect(search.intents[0]?.query).toBe("Florence weather")
    const count = await glm.countTokens({ model: "glm-4.6", messages: [{ role: "user", content: "你好" }] })
    expect(count.totalTokens).toBeGreaterThan(0)
  })

  it("failures reject with ConduitError carrying the reason, status and retryability", async () => {
    const zai = GlmMock.make({ chat: () => GlmMock.errorResponse(GlmScenarios.errors.insufficientBalanceCn) })
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    const error = await glm.chat({ prompt: "hi", retry: { maxRetries: 2, baseDelayMs: 1 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PromiseClient.ConduitError)
    expect(error).toMatchObject({ reason: "QuotaExhaustedError", status: 429, retryable: false })
    expect(zai.recorder.count).toBe(1)
    const rejected = await glm.webSearch({ search_query: "" }).catch((e: unknown) => e)
    expect(rejected).toMatchObject({ reason: "InvalidRequestError" })
    await glm.close()
  })
})

describe("createGlm without a key", () => {
  afterEach(() => vi.unstubAllEnvs())

  it("throws a ConduitError naming ZAI_API_KEY and ZHIPUAI_API_KEY, before any HTTP call", () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    Conformance.expectCreateWithoutKeyThrows({
      create: createGlm,
      keyVariables: ["ZAI_API_KEY", "ZHIPUAI_API_KEY"],
      sent: () => zai.recorder.count
    })
  })

  it("takes the key from ZAI_API_KEY, else ZHIPUAI_API_KEY", async () => {
    const zai = GlmMock.make({ apiKey: "zhipu-secret" })
    server.use(...zai.handlers)
    vi.stubEnv("ZAI_API_KEY", undefined)
    vi.stubEnv("ZHIPUAI_API_KEY", "zhipu-secret")
    const glm = createGlm()
    expect((await glm.chat({ model: "glm-4.6", prompt: "hello" })).text).toBe(GlmScenarios.text.text)
    expect(zai.recorder.last().headers.authorization).toBe("Bearer zhipu-secret")
    await glm.close()
  })
})

describe("unknown provider options", () => {
  it("a typo (thinkin) is refused naming the key and the accepted keys, before any HTTP call", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const glm = createGlm({ apiKey: "test-key" })
    const refused = glm.chat({ model: "glm-4.6", prompt: "hello", providerOptions: { thinkin: { type: "disabled" } } })
    await expect(refused).rejects.toBeInstanceOf(PromiseClient.ConduitError)
    await expect(refused).rejects.toMatchObject({ reason: "InvalidRequestError" })
    await expect(refused).rejects.toThrow(
      /unknown GLM provider option "thinkin" \(accepted: thinking, tool_stream, do_sample, request_id, user_id, reasoning_effort, web_search, forceToolChoice\)/
    )
    expect(zai.recorder.count).toBe(0)
    await glm.close()
  })
})
