/**
 * The Promise face (`createKimi`) against the Moonshot-like MSW handlers.
 */
import { PromiseClient } from "@conduitkit/core"
import { Conformance } from "@conduitkit/core/testing"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest"
import { createKimi, KimiModels, KimiProvider, KimiWebSearch } from "../src/index.js"
import { KimiMock, KimiScenarios } from "../src/testing/index.js"
import { testKey } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const mockWith = (options: KimiMock.Options = {}) => {
  const mock = KimiMock.make(options)
  server.use(...mock.handlers)
  return mock
}
const chatBodies = (mock: KimiMock.Mock) =>
  mock.recorder.calls
    .filter((call) => call.url.endsWith("/chat/completions"))
    .map((call) => call.body as Record<string, unknown>)

describe("createKimi", () => {
  it("chat: kimi-k3 by default, text, reasoning, usage and metadata", async () => {
    const mock = mockWith()
    const kimi = createKimi({ apiKey: testKey })
    const result = await kimi.chat({ prompt: "Hi", system: "Be brief." })
    expect(result).toMatchObject({ text: "Hello from simulated Kimi.", finishReason: "stop" })
    expect(result.reasoning).not.toBe("")
    expect(result.metadata).toMatchObject({ provider: "kimi", model: "kimi-k3", streamed: false, attempts: 1 })
    expect(chatBodies(mock)[0]?.model).toBe("kimi-k3")
    await kimi.close()
  })

  it("stream: an async iterable of parts", async () => {
    mockWith()
    const kimi = createKimi({ apiKey: testKey })
    let text = ""
    for await (const part of kimi.stream({
      model: "kimi-k2.6",
      prompt: "Hi",
      providerOptions: { thinking: "disabled" }
    })) {
      if (part.type === "text-delta") text += part.delta
    }
    expect(text).toBe("Hello from simulated Kimi.")
    await kimi.close()
  })

  it("developer messages are sent as system messages", async () => {
    const mock = mockWith()
    const kimi = createKimi({ apiKey: testKey })
    await kimi.chat({
      messages: [
        { role: "developer", content: "Rules" },
        { role: "user", content: "Hi" }
      ]
    })
    expect(((chatBodies(mock)[0]?.messages ?? []) as Array<{ role: string }>).map((message) => message.role)).toEqual([
      "system",
      "user"
    ])
    await kimi.close()
  })

  it("rejects with a ConduitError carrying the reason, status and retry advice", async () => {
    mockWith({ respond: () => KimiScenarios.errors.quotaExhausted() })
    const kimi = createKimi({ apiKey: testKey })
    const error = await kimi.chat({ prompt: "Hi" }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PromiseClient.ConduitError)
    expect(error).toMatchObject({ reason: "QuotaExhaustedError", status: 429, retryable: false })
    await kimi.close()
  })

  it("$web_search as a built-in tool: chat answers after the server round, with the search reported", async () => {
    const mock = mockWith()
    const kimi = createKimi({ apiKey: testKey })
    const result = await kimi.chat({
      prompt: "News today?",
      tools: [{ type: "builtin_function", function: { name: "$web_search" } }]
    })
    expect(result.text).toBe("According to the search results, here is the answer.")
    expect(result.finishReason).toBe("stop")
    const [first, second] = chatBodies(mock) as Array<{ tools?: unknown; messages: Array<Record<string, unknown>> }>
    expect(chatBodies(mock)).toHaveLength(2)
    expect(first?.tools).toEqual([{ type: "builtin_function", function: { name: "$web_search" } }])
    expect(second?.tools).toEqual(first?.tools)
    const call = (
      (second?.messages.at(-2)?.tool_calls ?? []) as Array<{ id: string; function: { arguments: string } }>
    )[0]
    expect(second?.messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: call?.id,
      name: "$web_search",
      content: call?.function.arguments
    })
    expect(result.metadata.providerExecutedRounds).toBe(1)
    const announced = JSON.parse(call?.function.arguments ?? "{}").usage.total_tokens
    expect(KimiWebSearch.usageOf(result)).toEqual({ searches: 1, searchTokens: announced })
    // the Promise face declares the provider-defined tool on the wire only (core's `wireTools`): the search
    // is reported under the name the caller declared, as a provider-executed call (no toolkit tool, so no tool-result part)
    expect(result.toolCalls).toEqual([expect.objectContaining({ name: "$web_search", providerExecuted: true })])
    await kimi.close()
  })

  it("$web_search as KimiWebSearch.declaration: streams the round trip, with function tools beside it", async () => {
    const mock = mockWith()
    const kimi = createKimi({ apiKey: testKey })
    let text = ""
    const types: Array<string> = []
    const calls: Array<{ name: string; providerExecuted?: boolean | undefined }> = []
    for await (const part of kimi.stream({
      prompt: "News today?",
      tools: [
        KimiWebSearch.declaration,
        { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }
      ]
    })) {
      types.push(part.type)
      if (part.type === "text-delta") text += part.delta
      if (part.type === "tool-call") calls.push({ name: part.name, providerExecuted: part.providerExecuted })
    }
    expect(text).toBe("According to the search results, here is the answer.")
    expect(types.at(-1)).toBe("finish")
    expect(calls).toEqual([{ name: "$web_search", providerExecuted: true }])
    expect(types).not.toContain("tool-result")
    const bodies = chatBodies(mock)
    expect(bodies).toHaveLength(2)
    expect(bodies[0]?.tools).toEqual([
      expect.objectContaining({ type: "function", function: expect.objectContaining({ name: "get_weather" }) }),
      { type: "builtin_function", function: { name: "$web_search" } }
    ])
    await kimi.close()
  })

  it("$web_search on kimi-k2.5 through createKimi: thinking is switched off for the search", async () => {
    const mock = mockWith({ serveRetired: true })
    const kimi = createKimi({
      apiKey: testKey,
      provider: KimiProvider.make({ catalog: KimiModels.make({ "kimi-k2.5": { lifecycle: { status: "active" } } }) })
    })
    const result = await kimi.chat({ model: "kimi-k2.5", prompt: "Search", tools: [KimiWebSearch.declaration] })
    expect(result.text).toBe("According to the search results, here is the answer.")
    expect(chatBodies(mock).map((body) => body.thinking)).toEqual([{ type: "disabled" }, { type: "disabled" }])
    await kimi.close()
  })

  it("plan coding: kimi-for-coding by default on the Kimi Code endpoint", async () => {
    const mock = mockWith({ baseURL: "https://api.kimi.com/coding/v1", apiKey: "sk-kimi-test" })
    const kimi = createKimi({ apiKey: "sk-kimi-test", plan: "coding" })
    await kimi.chat({ prompt: "Refactor this" })
    expect(chatBodies(mock)[0]?.model).toBe("kimi-for-coding")
    await kimi.close()
  })

  it("listModels, countTokens and getBalance", async () => {
    mockWith()
    const kimi = createKimi({ apiKey: testKey, region: "global" })
    const models = await kimi.listModels()
    expect(models.find((model) => model.id === "kimi-k3")?.source).toMatch(/GET \/v1\/models/)
    expect(await kimi.countTokens({ messages: [{ role: "user", content: "Hello" }] })).toBeGreaterThan(0)
    expect(await kimi.getBalance()).toMatchObject({ currency: "USD", available: 49.5 })
    await kimi.close()
  })

  it("files: upload bytes, list, content, system messages, delete", async () => {
    mockWith()
    const kimi = createKimi({ apiKey: testKey })
    const file = await kimi.files.upload({ data: new TextEncoder().encode("Menu: noodles"), filename: "menu.txt" })
    expect((await kimi.files.list()).map((f) => f.id)).toEqual([file.id])
    expect((await kimi.files.retrieve(file.id)).filename).toBe("menu.txt")
    const extracted = await kimi.files.content(file.id)
    expect(kimi.files.toSystemMessages([extracted])).toEqual([{ role: "system", content: extracted.raw }])
    expect(kimi.files.reference(file.id)).toBe(`ms://${file.id}`)
    expect(kimi.files.wirePart(file.id)).toEqual({ type: "image_url", image_url: { url: `ms://${file.id}` } })
    expect((await kimi.files.delete(file.id)).deleted).toBe(true)
    await expect(kimi.files.retrieve(file.id)).rejects.toMatchObject({ status: 404 })
    await kimi.close()
  })

  // explicit caches are a moonshot-v1 feature; the catalog marks the family retired, so these tests keep it active
  const explicitCaching = KimiProvider.make({
    catalog: KimiModels.make({ "moonshot-v1-8k": { lifecycle: { status: "active" } } })
  })

  it("contextCache: create, tag, use by message, delete", async () => {
    const mock = mockWith({ serveRetired: true })
    const kimi = createKimi({ apiKey: testKey, provider: explicitCaching })
    const cache = await kimi.contextCache.create({
      model: "moonshot-v1-8k",
      messages: [{ role: "system", content: "manual" }],
      ttl: 600
    })
    await kimi.contextCache.createTag("manual", cache.id)
    expect((await kimi.contextCache.getTag("manual")).cache_id).toBe(cache.id)
    expect((await kimi.contextCache.getTagContent("manual")).id).toBe(cache.id)
    expect((await kimi.contextCache.listTags()).length).toBe(1)
    expect((await kimi.contextCache.list()).map((c) => c.id)).toEqual([cache.id])
    expect((await kimi.contextCache.update(cache.id, { ttl: 60 })).status).toBe("pending")
    expect((await kimi.contextCache.get(cache.id)).id).toBe(cache.id)
    const result = await kimi.chat({
      model: "moonshot-v1-8k",
      prompt: "Chapter 2?",
      providerOptions: { contextCache: { tag: "manual" } }
    })
    expect(result.metadata).toMatchObject({ contextCacheId: cache.id })
    expect(((chatBodies(mock)[0]?.messages ?? []) as Array<unknown>)[0]).toEqual({
      role: "cache",
      content: "tag=manual"
    })
    expect((await kimi.contextCache.deleteTag("manual")).deleted).toBe(true)
    expect((await kimi.contextCache.delete(cache.id)).deleted).toBe(true)
    await kimi.close()
  })

  it("contextCache by headers: the X-Msh-Context-Cache headers reach chat and stream requests", async () => {
    const mock = mockWith({ serveRetired: true })
    const kimi = createKimi({ apiKey: testKey, provider: explicitCaching })
    const cache = await kimi.contextCache.create({
      model: "moonshot-v1-8k",
      messages: [{ role: "system", content: "manual" }]
    })
    const request = {
      model: "moonshot-v1-8k",
      messages: [
        { role: "system", content: "manual" },
        { role: "user", content: "Chapter 2?" }
      ],
      providerOptions: { contextCache: { cacheId: cache.id, via: "headers", resetTtl: 600 } }
    } as const
    await kimi.chat(request)
    for await (const _part of kimi.stream(request)) {
      // drain
    }
    const chats = mock.recorder.calls.filter((call) => call.url.endsWith("/chat/completions"))
    expect(
      chats.map((call) => [call.headers["x-msh-context-cache"], call.headers["x-msh-context-cache-reset-ttl"]])
    ).toEqual([
      [cache.id, "600"],
      [cache.id, "600"]
    ])
    expect(chats.map((call) => JSON.stringify(call.body)).join("")).not.toContain("__conduit_kimi")
    await kimi.close()
  })
})

describe("createKimi without a key", () => {
  afterEach(() => vi.unstubAllEnvs())

  it("throws a ConduitError naming MOONSHOT_API_KEY and KIMI_API_KEY, before any HTTP call", () => {
    const mock = mockWith()
    Conformance.expectCreateWithoutKeyThrows({
      create: createKimi,
      keyVariables: ["MOONSHOT_API_KEY", "KIMI_API_KEY"],
      sent: () => mock.recorder.count
    })
  })

  it("takes the key from MOONSHOT_API_KEY, else KIMI_API_KEY", async () => {
    const mock = mockWith()
    vi.stubEnv("MOONSHOT_API_KEY", undefined)
    vi.stubEnv("KIMI_API_KEY", testKey)
    const kimi = createKimi()
    expect((await kimi.chat({ prompt: "Hi" })).text).toBe("Hello from simulated Kimi.")
    expect(mock.recorder.last().headers.authorization).toBe(`Bearer ${testKey}`)
    await kimi.close()
  })
})

describe("unknown provider options", () => {
  it("a typo (thinkin) is refused naming the key and the accepted keys, before any HTTP call", async () => {
    const mock = mockWith()
    const kimi = createKimi({ apiKey: testKey })
    const refused = kimi.chat({ model: "kimi-k2.6", prompt: "Hi", providerOptions: { thinkin: "disabled" } })
    await expect(refused).rejects.toBeInstanceOf(PromiseClient.ConduitError)
    await expect(refused).rejects.toMatchObject({ reason: "InvalidRequestError" })
    await expect(refused).rejects.toThrow(
      /unknown Kimi provider option "thinkin" \(accepted: thinking, reasoningEffort, /
    )
    expect(mock.recorder.count).toBe(0)
    await kimi.close()
  })
})
