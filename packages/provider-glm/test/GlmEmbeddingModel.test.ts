/**
 * Embeddings: the catalog, the pure wire helpers, batching within the limits, `dimensions`, usage, retries and the
 * error table, against the GLM simulation (GlmMock) and hand-written upstream answers; and the Promise face.
 */
import { RequestContext, RetryPolicy } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect, Exit } from "effect"
import { AiError, EmbeddingModel } from "effect/ai"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmEmbeddingModel from "../src/GlmEmbeddingModel.js"
import { createGlm } from "../src/index.js"
import { GlmMock } from "../src/testing/index.js"

const baseURL = "https://api.z.ai/api/paas/v4"
const mock = GlmMock.make({ baseURL })
const server = setupServer(...mock.handlers)
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => {
  server.resetHandlers()
  mock.recorder.reset()
})
afterAll(() => server.close())

const clientLayer = GlmClient.layer({ apiKey: "test-key" })
const noRetryDelay = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2 }

const embedMany = (model: string, inputs: ReadonlyArray<string>, config?: GlmEmbeddingModel.Config) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const embeddings = yield* EmbeddingModel.EmbeddingModel
      return yield* embeddings.embedMany(inputs)
    }).pipe(Effect.provide(GlmEmbeddingModel.layer(model, config)), Effect.provide(clientLayer))
  )

const embeddingCalls = () => mock.recorder.calls.filter((call) => call.url.endsWith("/embeddings"))

describe("the catalog", () => {
  it("lists embedding-3 and embedding-2 with their dimensions and limits", () => {
    expect(GlmEmbeddingModel.catalog.get("embedding-3")).toMatchObject({
      dimensions: 2048,
      dimensionOptions: [256, 512, 1024, 2048],
      maxInputs: 64
    })
    expect(GlmEmbeddingModel.catalog.get("EMBEDDING-2")).toMatchObject({ dimensions: 1024, maxInputTokens: 512 })
    expect(GlmEmbeddingModel.catalog.get("embedding-2")?.dimensionOptions).toBeUndefined()
  })

  it("passes an unknown id through with conservative limits", () => {
    expect(GlmEmbeddingModel.catalog.resolve("embedding-4")).toMatchObject({ id: "embedding-4", unknown: true })
  })
})

describe("wire helpers", () => {
  const e3 = GlmEmbeddingModel.catalog.resolve("embedding-3")
  const e2 = GlmEmbeddingModel.catalog.resolve("embedding-2")
  it.each([
    ["embedding-3 without dimensions", e3, undefined, { model: "embedding-3", input: ["a"] }],
    ["embedding-3 with dimensions", e3, 256, { model: "embedding-3", input: ["a"], dimensions: 256 }],
    ["embedding-2 asking for its fixed length", e2, 1024, { model: "embedding-2", input: ["a"] }],
    ["embedding-2 asking for another length", e2, 256, { model: "embedding-2", input: ["a"], dimensions: 256 }]
  ])("%s", (_name, info, dimensions, expected) => {
    expect(GlmEmbeddingModel.toWire(info, ["a"], dimensions)).toEqual(expected)
  })

  it("orders vectors by index and reads prompt_tokens", () => {
    expect(
      GlmEmbeddingModel.fromWire({
        data: [
          { index: 1, embedding: [2] },
          { index: 0, embedding: [1] }
        ],
        usage: { prompt_tokens: 7, total_tokens: 7 }
      })
    ).toEqual({ vectors: [[1], [2]], inputTokens: 7 })
  })
})

describe("against the simulation", () => {
  it("embeds deterministically: 2048 unit-length dimensions for embedding-3, usage in tokens", async () => {
    const first = await embedMany("embedding-3", ["你好", "hello"])
    const again = await embedMany("embedding-3", ["hello"])
    expect(first.embeddings).toHaveLength(2)
    expect(first.embeddings[0]?.vector).toHaveLength(2048)
    expect(first.embeddings[1]?.vector).toEqual(again.embeddings[0]?.vector)
    expect(first.embeddings[0]?.vector).not.toEqual(first.embeddings[1]?.vector)
    const norm = Math.hypot(...(first.embeddings[0]?.vector ?? []))
    expect(norm).toBeCloseTo(1, 6)
    expect(first.usage.inputTokens).toBeGreaterThan(0)
  })

  it("sends dimensions and gets vectors of that length", async () => {
    const result = await embedMany("embedding-3", ["a"], { dimensions: 256 })
    expect(result.embeddings[0]?.vector).toHaveLength(256)
    expect(embeddingCalls()[0]?.body).toEqual({ model: "embedding-3", input: ["a"], dimensions: 256 })
  })

  it("splits 130 inputs into batches of at most 64, in order, and sums the usage", async () => {
    const inputs = Array.from({ length: 130 }, (_, i) => `sentence number ${i}`)
    const result = await embedMany("embedding-2", inputs)
    const calls = embeddingCalls()
    expect(calls.map((call) => ((call.body as { input: Array<string> }).input ?? []).length)).toEqual([64, 64, 2])
    expect(result.embeddings).toHaveLength(130)
    expect(result.embeddings[129]?.vector).toEqual(GlmMock.embeddingVector("embedding-2", inputs[129]!, 1024))
    const single = await embedMany("embedding-2", [inputs[0]!])
    expect(result.usage.inputTokens).toBeGreaterThan(single.usage.inputTokens ?? 0)
  })

  it("concurrent embed calls share one upstream request", async () => {
    const vectors = await Effect.runPromise(
      Effect.gen(function* () {
        const embeddings = yield* EmbeddingModel.EmbeddingModel
        return yield* Effect.all(
          ["one", "two", "three"].map((text) => embeddings.embed(text)),
          { concurrency: "unbounded" }
        )
      }).pipe(Effect.provide(GlmEmbeddingModel.layer("embedding-2")), Effect.provide(clientLayer))
    )
    expect(vectors.map((v) => v.vector)).toEqual(
      ["one", "two", "three"].map((text) => GlmMock.embeddingVector("embedding-2", text, 1024))
    )
    expect(embeddingCalls()).toHaveLength(1)
  })

  it("provides effect/ai's Dimensions", async () => {
    const dimensions = await Effect.runPromise(
      Effect.service(EmbeddingModel.Dimensions).pipe(
        Effect.provide(GlmEmbeddingModel.layer("embedding-3", { dimensions: 512 })),
        Effect.provide(clientLayer)
      )
    )
    expect(dimensions).toBe(512)
  })

  it("an unknown model is sent, and Zhipu's 1211 answer is an InvalidRequestError", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(Effect.service(EmbeddingModel.EmbeddingModel), (m) => m.embedMany(["a"])).pipe(
        Effect.provide(GlmEmbeddingModel.layer("glm-4.6")),
        Effect.provide(clientLayer)
      )
    )
    expect(embeddingCalls()).toHaveLength(1)
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit)) {
      const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
      expect(error?._tag === "Fail" && AiError.isAiError(error.error) && error.error.reason._tag).toBe(
        "InvalidRequestError"
      )
    }
  })

  it("retries a 500, counting attempts through RequestContext", async () => {
    let calls = 0
    server.use(
      http.post(`${baseURL}/embeddings`, async ({ request }) => {
        calls++
        if (calls === 1)
          return HttpResponse.json({ error: { code: "500", message: "Internal Error" } }, { status: 500 })
        const body = (await request.json()) as { input: Array<string> }
        return MockUpstream.json({
          data: body.input.map((_, index) => ({ index, embedding: [index] })),
          usage: { prompt_tokens: 3 }
        })
      })
    )
    const attempts: Array<number> = []
    const result = await Effect.runPromise(
      Effect.flatMap(Effect.service(EmbeddingModel.EmbeddingModel), (m) => m.embedMany(["a", "b"])).pipe(
        Effect.provide(GlmEmbeddingModel.layer("embedding-3", { retry: noRetryDelay })),
        Effect.provide(clientLayer),
        Effect.provideService(RequestContext.RequestContext, { onAttempt: (n) => attempts.push(n) }),
        Effect.provideService(RetryPolicy.CallRetryPolicy, noRetryDelay)
      )
    )
    expect(result.embeddings.map((e) => e.vector)).toEqual([[0], [1]])
    expect(attempts).toEqual([1, 2])
  })
})

describe("the Promise face", () => {
  it("createGlm().embed embeds one text or several", async () => {
    const glm = createGlm({ apiKey: "test-key", baseURL })
    try {
      const one = await glm.embed({ model: "embedding-3", input: "hello", dimensions: 1024 })
      expect(one.embeddings).toHaveLength(1)
      expect(one.embeddings[0]).toEqual(GlmMock.embeddingVector("embedding-3", "hello", 1024))
      const many = await glm.embed({ model: "embedding-2", input: ["a", "b"] })
      expect(many.embeddings).toHaveLength(2)
      expect(many.usage.inputTokens).toBeGreaterThan(0)
      await expect(glm.embed({ model: "embedding-3", input: "" })).rejects.toMatchObject({
        reason: "InvalidRequestError"
      })
    } finally {
      await glm.close()
    }
  })
})
