import { CacheStore, ResponseSummary } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { it as effectIt } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Schema, Stream } from "effect"
import { LanguageModel, Prompt } from "effect/ai"
import { TestClock } from "effect/testing"
import { http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiConfig from "../src/KimiConfig.js"
import * as KimiContextCache from "../src/KimiContextCache.js"
import * as KimiLanguageModel from "../src/KimiLanguageModel.js"
import * as KimiModels from "../src/KimiModels.js"
import * as KimiProvider from "../src/KimiProvider.js"
import { KimiMock } from "../src/testing/index.js"
import { describe as describeError, failureOf, modelLayer, runExit, successOf, testKey } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const mockWith = (options: KimiMock.Options = {}) => {
  const mock = KimiMock.make({ serveRetired: true, ...options })
  server.use(...mock.handlers)
  return mock
}
const calls = (mock: KimiMock.Mock, method: string, suffix: RegExp) =>
  mock.recorder.calls.filter((call) => call.method === method && suffix.test(new URL(call.url).pathname))
type Sent = { messages: Array<{ role: string; content?: unknown }>; tools?: unknown }

const clientLayer = KimiClient.layer({ apiKey: testKey })
const run = <A>(effect: Effect.Effect<A, unknown, KimiClient.KimiClient>) =>
  Effect.runPromiseExit(effect.pipe(Effect.provide(clientLayer)))

// moonshot-v1 is the family with explicit caches; the catalog marks it retired, so these tests keep it active.
const provider = KimiProvider.make({
  catalog: KimiModels.make({ "moonshot-v1-8k": { lifecycle: { status: "active" } } })
})

const document = Prompt.systemMessage({ content: "A very long product manual ... (imagine 50k tokens)" })

describe("the explicit cache API", () => {
  it("creates a cache for the model family, gets, lists by metadata, updates and deletes it", async () => {
    const mock = mockWith()
    const created = successOf(
      await run(
        KimiContextCache.create({
          model: "moonshot-v1-8k",
          messages: [{ role: "system", content: "manual" }],
          tools: [{ type: "function", function: { name: "run_code", parameters: { type: "object" } } }],
          name: "manual",
          metadata: { biz_id: "110998541001" },
          ttl: 600
        })
      )
    )
    expect(created).toMatchObject({ status: "pending", model: "moonshot-v1" })
    expect(calls(mock, "POST", /\/caching$/)[0]?.body).toMatchObject({
      model: "moonshot-v1",
      ttl: 600,
      metadata: { biz_id: "110998541001" }
    })
    expect(successOf(await run(KimiContextCache.get(created.id))).status).toBe("ready")
    successOf(
      await run(KimiContextCache.create({ model: "moonshot-v1-32k", messages: [{ role: "system", content: "other" }] }))
    )
    const filtered = successOf(
      await run(KimiContextCache.list({ metadata: { biz_id: "110998541001" }, limit: 10, order: "asc" }))
    )
    expect(filtered.map((cache) => cache.id)).toEqual([created.id])
    expect(new URL(calls(mock, "GET", /\/caching$/)[0]?.url ?? "").searchParams.get("metadata[biz_id]")).toBe(
      "110998541001"
    )
    const updated = successOf(await run(KimiContextCache.update(created.id, { ttl: 3600, metadata: { biz_id: "2" } })))
    expect(updated).toMatchObject({ status: "pending", metadata: { biz_id: "2" } })
    expect(successOf(await run(KimiContextCache.delete(created.id)))).toMatchObject({ deleted: true, id: created.id })
    expect(describeError(failureOf(await run(KimiContextCache.get(created.id))))).toMatchObject({
      status: 404,
      reason: "InvalidRequestError"
    })
  })

  it("tags: create, list, get, content, delete", async () => {
    mockWith()
    const cache = successOf(
      await run(KimiContextCache.create({ model: "moonshot-v1", messages: [{ role: "system", content: "faq" }] }))
    )
    const tag = successOf(await run(KimiContextCache.createTag("faq-v1", cache.id)))
    expect(tag).toMatchObject({ tag: "faq-v1", cache_id: cache.id, object: "cache_object.tag" })
    expect(successOf(await run(KimiContextCache.listTags())).map((t) => t.tag)).toEqual(["faq-v1"])
    expect(successOf(await run(KimiContextCache.getTag("faq-v1"))).cache_id).toBe(cache.id)
    expect(successOf(await run(KimiContextCache.getTagContent("faq-v1"))).id).toBe(cache.id)
    expect(successOf(await run(KimiContextCache.deleteTag("faq-v1")))).toMatchObject({ deleted: true, tag: "faq-v1" })
    expect(successOf(await run(KimiContextCache.deleteTag("faq-v1"))).deleted).toBe(true)
  })

  const invalid: ReadonlyArray<readonly [string, KimiContextCache.CreateParams, RegExp]> = [
    [
      "ttl and expiredAt together",
      { model: "moonshot-v1", messages: [{ role: "system", content: "x" }], ttl: 60, expiredAt: 1 },
      /not both/
    ],
    [
      "a ttl above one hour",
      { model: "moonshot-v1", messages: [{ role: "system", content: "x" }], ttl: 3601 },
      /\(0, 3600\]/
    ],
    ["no messages", { model: "moonshot-v1", messages: [] }, /at least one message/],
    [
      "a partial message",
      { model: "moonshot-v1", messages: [{ role: "assistant", content: "x", partial: true }] },
      /partial-mode/
    ],
    [
      "a long name",
      { model: "moonshot-v1", messages: [{ role: "system", content: "x" }], name: "n".repeat(257) },
      /256/
    ],
    [
      "17 metadata pairs",
      {
        model: "moonshot-v1",
        messages: [{ role: "system", content: "x" }],
        metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, "v"]))
      },
      /16 pairs/
    ],
    [
      "a tag starting with a digit",
      { model: "moonshot-v1", messages: [{ role: "system", content: "x" }], tags: ["1abc"] },
      /invalid tag/
    ]
  ]
  for (const [name, params, refused] of invalid) {
    it(`refuses ${name} before sending`, async () => {
      const mock = mockWith()
      expect(KimiContextCache.validateCreate(params)).toMatch(refused)
      const error = failureOf(await run(KimiContextCache.create(params)))
      expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
      expect(mock.recorder.count).toBe(0)
    })
  }

  it("refuses an invalid tag name before sending", async () => {
    const mock = mockWith()
    expect(describeError(failureOf(await run(KimiContextCache.createTag("-bad", "cache-x")))).kind).toBe("preflight")
    expect(mock.recorder.count).toBe(0)
  })

  it("builds the cache message and headers", () => {
    expect(KimiContextCache.cacheMessage({ tag: "faq", resetTtl: 3600 })).toEqual({
      role: "cache",
      content: "tag=faq;reset_ttl=3600"
    })
    expect(KimiContextCache.headers({ cacheId: "cache-1", resetTtl: 60 })).toEqual({
      "X-Msh-Context-Cache": "cache-1",
      "X-Msh-Context-Cache-Reset-TTL": "60"
    })
    expect(KimiContextCache.modelFamily("moonshot-v1-128k")).toBe("moonshot-v1")
    expect(KimiContextCache.listQuery({ limit: 5, before: "cache-9", metadata: { a: "b" } })).toEqual({
      limit: 5,
      before: "cache-9",
      "metadata[a]": "b"
    })
  })
})

describe("using a cache in chat", () => {
  it("by message (cache id or tag): the cache message goes first and the metadata reports the tokens saved", async () => {
    const mock = mockWith()
    const cache = successOf(
      await run(
        KimiContextCache.create({
          model: "moonshot-v1",
          messages: [{ role: "system", content: "manual" }],
          tags: ["manual"]
        })
      )
    )
    const layer = modelLayer("moonshot-v1-8k", {
      provider,
      config: { providerOptions: { contextCache: { tag: "manual", resetTtl: 3600 } } }
    })
    const response = successOf(await runExit(LanguageModel.generateText({ prompt: "What does chapter 2 say?" }), layer))
    const sent = calls(mock, "POST", /chat\/completions$/)[0]?.body as Sent
    expect(sent.messages[0]).toEqual({ role: "cache", content: "tag=manual;reset_ttl=3600" })
    expect(ResponseSummary.fromParts(response.content).metadata).toMatchObject({
      contextCacheId: cache.id,
      contextCacheTokensSaved: cache.tokens
    })
  })

  it("by headers: X-Msh-Context-Cache is sent, the prefix still in the messages, the private field never", async () => {
    const mock = mockWith()
    const cache = successOf(
      await run(KimiContextCache.create({ model: "moonshot-v1", messages: [{ role: "system", content: "manual" }] }))
    )
    const layer = modelLayer("moonshot-v1-8k", {
      provider,
      config: { providerOptions: { contextCache: { cacheId: cache.id, via: "headers", resetTtl: 600 } } }
    })
    const prompt = Prompt.fromMessages([
      Prompt.systemMessage({ content: "manual" }),
      Prompt.userMessage({ content: [Prompt.textPart({ text: "Q" })] })
    ])
    const response = successOf(await runExit(LanguageModel.generateText({ prompt }), layer))
    const chat = calls(mock, "POST", /chat\/completions$/)[0]
    expect(chat?.headers["x-msh-context-cache"]).toBe(cache.id)
    expect(chat?.headers["x-msh-context-cache-reset-ttl"]).toBe("600")
    expect(((chat?.body ?? { messages: [] }) as Sent).messages[0]).toEqual({ role: "system", content: "manual" })
    expect(JSON.stringify(chat?.body)).not.toContain("__conduit_kimi")
    expect(ResponseSummary.fromParts(response.content).metadata.contextCacheId).toBe(cache.id)
  })

  it("by headers, streaming: the same X-Msh-Context-Cache headers reach the stream request", async () => {
    const mock = mockWith()
    const cache = successOf(
      await run(KimiContextCache.create({ model: "moonshot-v1", messages: [{ role: "system", content: "manual" }] }))
    )
    const layer = modelLayer("moonshot-v1-8k", {
      provider,
      config: { providerOptions: { contextCache: { cacheId: cache.id, via: "headers", resetTtl: 600, dryRun: false } } }
    })
    const prompt = Prompt.fromMessages([
      Prompt.systemMessage({ content: "manual" }),
      Prompt.userMessage({ content: [Prompt.textPart({ text: "Q" })] })
    ])
    const parts = successOf(await runExit(Stream.runCollect(LanguageModel.streamText({ prompt })), layer))
    const chat = calls(mock, "POST", /chat\/completions$/)[0]
    expect(chat?.headers["x-msh-context-cache"]).toBe(cache.id)
    expect(chat?.headers["x-msh-context-cache-reset-ttl"]).toBe("600")
    expect(chat?.headers["x-msh-context-cache-dryrun"]).toBe("0")
    expect(JSON.stringify(chat?.body)).not.toContain("__conduit_kimi")
    expect(ResponseSummary.fromParts(parts).metadata.contextCacheId).toBe(cache.id)
  })

  it("a cache the server does not know: Moonshot's 404", async () => {
    mockWith()
    const layer = modelLayer("moonshot-v1-8k", {
      provider,
      config: { providerOptions: { contextCache: { cacheId: "cache-missing" } } }
    })
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Q" }), layer))
    expect(describeError(error).status).toBe(404)
  })
})

describe("explicit caches only where the model supports them", () => {
  const anyModel = KimiProvider.make({
    catalog: KimiModels.make({
      "kimi-thinking-preview": { lifecycle: { status: "active" } },
      "moonshot-v1-8k-vision-preview": { lifecycle: { status: "active" } }
    })
  })
  const cases: ReadonlyArray<readonly [string, KimiConfig.ContextCache]> = [
    ["kimi-k3", { cacheId: "cache-abc" }],
    ["kimi-k2.6", { tag: "manual" }],
    ["kimi-k2.7-code", { cacheId: "cache-abc", via: "headers" }],
    ["kimi-thinking-preview", { cacheId: "cache-abc" }]
  ]
  for (const [model, contextCache] of cases) {
    it(`contextCache ${JSON.stringify(contextCache)} on ${model}: sent (the catalog's caching facts are documented only)`, async () => {
      const mock = mockWith({ serveRetired: true })
      const layer = modelLayer(model, { provider: anyModel, config: { providerOptions: { contextCache } } })
      await runExit(LanguageModel.generateText({ prompt: "Q" }), layer)
      expect(mock.recorder.count).toBeGreaterThan(0)
    })
  }

  for (const model of ["kimi-k3", "kimi-k2.6", "kimi-thinking-preview", "moonshot-v1-8k-vision-preview"]) {
    it(`KimiContextCache.create for ${model}: refused before any request`, async () => {
      const mock = mockWith()
      expect(KimiModels.canCreateCache(model)).toBe(false)
      const error = describeError(
        failureOf(await run(KimiContextCache.create({ model, messages: [{ role: "system", content: "x" }] })))
      )
      expect(error).toMatchObject({ reason: "InvalidRequestError", kind: "preflight", param: "model" })
      expect(error.message).toMatch(/does not support explicit context caches/)
      expect(mock.recorder.count).toBe(0)
    })
  }

  it("the family id, the moonshot-v1 text models and unknown ids may create caches", () => {
    for (const model of ["moonshot-v1", "moonshot-v1-8k", "moonshot-v1-auto", "some-future-model"]) {
      expect(KimiModels.canCreateCache(model)).toBe(true)
    }
  })

  it("a vision preview uses an existing cache", async () => {
    const mock = mockWith()
    const cache = successOf(
      await run(KimiContextCache.create({ model: "moonshot-v1", messages: [{ role: "system", content: "m" }] }))
    )
    const layer = modelLayer("moonshot-v1-8k-vision-preview", {
      provider: anyModel,
      config: { providerOptions: { contextCache: { cacheId: cache.id } } }
    })
    successOf(await runExit(LanguageModel.generateText({ prompt: "Q" }), layer))
    expect(((calls(mock, "POST", /chat\/completions$/)[0]?.body ?? { messages: [] }) as Sent).messages[0]?.role).toBe(
      "cache"
    )
  })
})

describe("the prefix registry", () => {
  const registryLayer = (options?: KimiContextCache.RegistryOptions) =>
    Layer.mergeAll(
      KimiLanguageModel.layer(
        "moonshot-v1-8k",
        { providerOptions: { contextCache: { auto: true, ttlSeconds: 120 } } },
        provider
      ),
      KimiContextCache.layerRegistry(options)
    ).pipe(Layer.provide(clientLayer))

  const ask = (system: Prompt.SystemMessage, question: string) =>
    LanguageModel.generateText({
      prompt: Prompt.fromMessages([system, Prompt.userMessage({ content: [Prompt.textPart({ text: question })] })])
    })

  effectIt.effect("a repeated prefix reuses its cache once ready; the cached prefix is not sent again", () =>
    Effect.gen(function* () {
      const mock = mockWith()
      const first = yield* ask(document, "Chapter 1?")
      yield* TestClock.adjust("10 seconds")
      const second = yield* ask(document, "Chapter 2?")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(1)
      const cacheId = [...mock.state.caches.keys()][0]
      const chats = calls(mock, "POST", /chat\/completions$/).map((call) => call.body as Sent)
      // the create response says "pending": the first call carries the full prompt
      expect(chats[0]?.messages).toEqual([
        { role: "system", content: document.content },
        { role: "user", content: "Chapter 1?" }
      ])
      expect(chats[1]?.messages).toEqual([
        { role: "cache", content: `cache_id=${cacheId}` },
        { role: "user", content: "Chapter 2?" }
      ])
      expect(ResponseSummary.fromParts(first.content).metadata.contextCacheId).toBeUndefined()
      expect(ResponseSummary.fromParts(second.content).metadata.contextCacheId).toBe(cacheId)
      expect(ResponseSummary.fromParts(second.content).metadata.contextCacheTokensSaved).toBeGreaterThan(0)
      const created = calls(mock, "POST", /\/caching$/)[0]?.body as { model: string; messages: unknown; ttl: number }
      expect(created).toMatchObject({
        model: "moonshot-v1",
        messages: [{ role: "system", content: document.content }],
        ttl: 120
      })
    }).pipe(Effect.provide(registryLayer()), Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory()))
  )

  /** A mock whose clock moves with the TestClock. */
  const clockedMock = (options: KimiMock.Options = {}) => {
    let seconds = 1_800_000_000
    const mock = mockWith({ nowSeconds: () => seconds, ...options })
    const advance = (by: number) =>
      Effect.andThen(
        Effect.sync(() => {
          seconds += by
        }),
        TestClock.adjust(Duration.seconds(by))
      )
    const chats = () => calls(mock, "POST", /chat\/completions$/).map((call) => call.body as Sent)
    return { mock, advance, chats }
  }

  effectIt.effect("a pending cache is not used: the full prompt is sent until the cache API reports ready", () =>
    Effect.gen(function* () {
      const { mock, advance, chats } = clockedMock({ cacheReadySeconds: 45 })
      yield* ask(document, "Q1") // creates the cache: pending
      yield* advance(5)
      yield* ask(document, "Q2") // checked 5 s ago: no status request
      yield* advance(10)
      yield* ask(document, "Q3") // GET: still pending
      yield* advance(40)
      const last = yield* ask(document, "Q4") // GET: ready
      const cacheId = [...mock.state.caches.keys()][0]
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(1)
      expect(calls(mock, "GET", /\/caching\/cache-/)).toHaveLength(2)
      expect(chats().map((sent) => sent.messages[0])).toEqual([
        { role: "system", content: document.content },
        { role: "system", content: document.content },
        { role: "system", content: document.content },
        { role: "cache", content: `cache_id=${cacheId}` }
      ])
      expect(ResponseSummary.fromParts(last.content).metadata.contextCacheId).toBe(cacheId)
    }).pipe(Effect.provide(registryLayer()), Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory()))
  )

  effectIt.effect("a cache that turns error is replaced by a new one", () =>
    Effect.gen(function* () {
      const { mock, advance, chats } = clockedMock({ cacheReadySeconds: 45 })
      yield* ask(document, "Q1")
      const [firstId] = [...mock.state.caches.keys()]
      server.use(
        http.get(`https://api.moonshot.ai/v1/caching/${firstId}`, () =>
          MockUpstream.json({ id: firstId, status: "error", error: { type: "server_error", message: "failed" } })
        )
      )
      yield* advance(10)
      yield* ask(document, "Q2")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(2)
      expect(chats().every((sent) => sent.messages[0]?.role === "system")).toBe(true)
    }).pipe(Effect.provide(registryLayer()), Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory()))
  )

  effectIt.effect("the registry's resetTtl reaches the wire and keeps the server's cache alive", () =>
    Effect.gen(function* () {
      const { mock, advance, chats } = clockedMock()
      yield* ask(document, "Q1") // t=0: create (ttl 120), full prompt
      yield* advance(10)
      yield* ask(document, "Q2") // t=10: ready; reset_ttl=120 → server expiry t=130
      yield* advance(80)
      yield* ask(document, "Q3") // t=90 → server expiry t=210
      yield* advance(80)
      yield* ask(document, "Q4") // t=170: past the creation TTL (120), alive thanks to reset_ttl
      const cacheId = [...mock.state.caches.keys()][0]
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(1)
      expect(chats().map((sent) => sent.messages[0]?.content)).toEqual([
        document.content,
        `cache_id=${cacheId};reset_ttl=120`,
        `cache_id=${cacheId};reset_ttl=120`,
        `cache_id=${cacheId};reset_ttl=120`
      ])
      expect(mock.state.caches.get(cacheId ?? "")?.expired_at).toBe(1_800_000_000 + 170 + 120)
    }).pipe(
      Effect.provide(registryLayer({ resetTtl: 120 })),
      Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory())
    )
  )

  effectIt.effect("a call's contextCache.resetTtl overrides the registry's", () =>
    Effect.gen(function* () {
      const { advance, chats } = clockedMock()
      yield* ask(document, "Q1")
      yield* advance(10)
      yield* ask(document, "Q2").pipe(
        KimiConfig.withProviderOptions({ contextCache: { auto: true, ttlSeconds: 120, resetTtl: 600 } })
      )
      expect(chats()[1]?.messages[0]?.content).toMatch(/;reset_ttl=600$/)
    }).pipe(
      Effect.provide(registryLayer({ resetTtl: 120 })),
      Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory())
    )
  )

  it("without reset_ttl, a cache past its TTL is refused by the mock (the cached prefix is not in the request)", async () => {
    let seconds = 1_800_000_000
    mockWith({ nowSeconds: () => seconds })
    const cache = successOf(
      await run(
        KimiContextCache.create({ model: "moonshot-v1", messages: [{ role: "system", content: "m" }], ttl: 60 })
      )
    )
    const ask = (contextCache: KimiConfig.ContextCache) =>
      runExit(
        LanguageModel.generateText({ prompt: "Q" }),
        modelLayer("moonshot-v1-8k", { provider, config: { providerOptions: { contextCache } } })
      )
    successOf(await ask({ cacheId: cache.id }))
    seconds += 61
    expect(describeError(failureOf(await ask({ cacheId: cache.id })))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/not ready \(status inactive\)/)
    })
    // reset_ttl re-activates it (pending again; the mock's readiness delay is 0 here)
    successOf(await ask({ cacheId: cache.id, resetTtl: 300 }))
  })

  effectIt.effect("a different prefix gets its own cache", () =>
    Effect.gen(function* () {
      const mock = mockWith()
      yield* ask(document, "Q1")
      yield* ask(Prompt.systemMessage({ content: "Another manual" }), "Q2")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(2)
    }).pipe(Effect.provide(registryLayer()), Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory()))
  )

  effectIt.effect("TTL respected: an expired entry creates a new cache", () =>
    Effect.gen(function* () {
      const mock = mockWith()
      yield* ask(document, "Q1")
      yield* TestClock.adjust("80 seconds")
      yield* ask(document, "Q2")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(1)
      // 120 s TTL minus the 30 s safety margin: past 90 s the cache is not handed out any more.
      yield* TestClock.adjust("20 seconds")
      yield* ask(document, "Q3")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(2)
    }).pipe(Effect.provide(registryLayer()), Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory()))
  )

  effectIt.effect("with resetTtl, each use extends the entry", () =>
    Effect.gen(function* () {
      const mock = mockWith()
      yield* ask(document, "Q1")
      yield* TestClock.adjust("80 seconds")
      yield* ask(document, "Q2")
      yield* TestClock.adjust("80 seconds")
      yield* ask(document, "Q3")
      expect(calls(mock, "POST", /\/caching$/)).toHaveLength(1)
    }).pipe(
      Effect.provide(registryLayer({ resetTtl: 120 })),
      Effect.provideService(CacheStore.CacheStore, CacheStore.makeMemory())
    )
  )

  effectIt.effect("entries live in the CacheStore from context, under a stable prefix key", () =>
    Effect.gen(function* () {
      mockWith()
      const store = CacheStore.makeMemory()
      yield* ask(document, "Q1").pipe(Effect.provideService(CacheStore.CacheStore, store))
      const key = KimiContextCache.prefixKey({
        model: "moonshot-v1-8k",
        messages: [{ role: "system", content: document.content }],
        tools: undefined
      })
      const entry = yield* CacheStore.getDecoded(store, key, KimiContextCache.RegistryEntry)
      expect(Option.isSome(entry) && entry.value.prefixLength).toBe(1)
    }).pipe(Effect.provide(registryLayer()))
  )

  effectIt.effect("fails open: a failing store or cache API means no cache, never a failed call", () =>
    Effect.gen(function* () {
      const mock = mockWith()
      server.use(
        http.post("https://api.moonshot.ai/v1/caching", () =>
          MockUpstream.error(500, { error: { type: "server_error", message: "down" } })
        )
      )
      const failing: CacheStore.CacheStoreShape = {
        get: (key) => Effect.fail(new CacheStore.CacheStoreError({ operation: "get", key, message: "down" })),
        set: (key) => Effect.fail(new CacheStore.CacheStoreError({ operation: "set", key, message: "down" })),
        delete: () => Effect.succeed(false),
        stats: Effect.succeed({ hits: 0, misses: 0, size: 0 })
      }
      const response = yield* ask(document, "Q").pipe(Effect.provideService(CacheStore.CacheStore, failing))
      expect(response.text).toBe("Hello from simulated Kimi.")
      const sent = calls(mock, "POST", /chat\/completions$/)[0]?.body as Sent
      expect(sent.messages[0]).toEqual({ role: "system", content: document.content })
    }).pipe(Effect.provide(registryLayer()))
  )

  it("without the registry installed, auto caching is refused with a clear error", async () => {
    const mock = mockWith()
    const layer = modelLayer("moonshot-v1-8k", {
      provider,
      config: { providerOptions: { contextCache: { auto: true } } }
    })
    const error = failureOf(await runExit(ask(document, "Q"), layer))
    expect(describeError(error).message).toMatch(/provide KimiContextCache\.layerRegistry/)
    expect(calls(mock, "POST", /chat\/completions$/)).toHaveLength(0)
  })

  it("models with automatic prefix caching do not create explicit caches", async () => {
    const mock = mockWith()
    const layer = Layer.mergeAll(
      KimiLanguageModel.layer("kimi-k3", { providerOptions: { contextCache: { auto: true } } }),
      KimiContextCache.layerRegistry()
    ).pipe(Layer.provide(clientLayer))
    successOf(await runExit(ask(document, "Q"), layer))
    expect(calls(mock, "POST", /\/caching$/)).toHaveLength(0)
    expect(((calls(mock, "POST", /chat\/completions$/)[0]?.body ?? { messages: [] }) as Sent).messages[0]?.role).toBe(
      "system"
    )
  })

  it("the prefix key is stable across key order and processes, and changes with the content", () => {
    const a = KimiContextCache.prefixKey({
      model: "moonshot-v1-8k",
      messages: [{ role: "system", content: "x", name: "n" }],
      tools: undefined
    })
    const b = KimiContextCache.prefixKey({
      model: "moonshot-v1-32k",
      messages: [{ name: "n", content: "x", role: "system" }],
      tools: []
    })
    const c = KimiContextCache.prefixKey({
      model: "moonshot-v1-8k",
      messages: [{ role: "system", content: "y" }],
      tools: undefined
    })
    expect(a).toBe(b)
    expect(a).not.toBe(c)
    expect(a).toMatch(/^kimi:context-cache:[0-9a-f]{64}$/)
  })
})

Recordings.describeRecordings("the documented cache objects decode", () => {
  const cases: ReadonlyArray<readonly [string, Schema.Decoder<unknown>]> = [
    ["kimi/official-doc-examples/caching-create-response-doc.json", KimiContextCache.ContextCacheObject],
    ["kimi/official-doc-examples/caching-delete-response-doc.json", KimiContextCache.DeleteResult],
    ["kimi/official-doc-examples/caching-tag-object-doc.json", KimiContextCache.CacheTag],
    ["kimi/official-doc-examples/caching-tag-delete-response-doc.json", KimiContextCache.DeleteResult]
  ]
  for (const [path, schema] of cases) {
    it(path, () => {
      const recorded = Recordings.readJson(path) as Record<string, unknown>
      const decoded = Schema.decodeUnknownSync(schema)(recorded) as Record<string, unknown>
      for (const key of ["id", "status", "tokens", "cache_id", "tag", "deleted"]) {
        if (key in recorded) expect(decoded[key]).toEqual(recorded[key])
      }
    })
  }
})
