/**
 * The `/tokenizer` exact counter, and its use in the pre-flight context-window check.
 */
import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect, Exit, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import { http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmTokenizer from "../src/GlmTokenizer.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const baseURL = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const clientLayer = GlmClient.layer({ apiKey: "test-key" })

/** A tokenizer answering `tokens` (text) and `images`, recording what it was asked. */
const tokenizer = (tokens: number, images = 0) => {
  const recorder = new MockUpstream.Recorder()
  server.use(
    http.post(`${baseURL}/tokenizer`, async ({ request }) => {
      await recorder.record(request)
      return MockUpstream.json({
        created: 1_767_268_800,
        id: "20260101120000aaaaaaaaaaaaaaaa",
        request_id: "20260101120000aaaaaaaaaaaaaaaa",
        usage: { prompt_tokens: tokens, image_tokens: images, video_tokens: 0, total_tokens: tokens + images }
      })
    })
  )
  return recorder
}

describe("count", () => {
  it("counts wire messages and tools (tokens), with the request id", async () => {
    const recorder = tokenizer(57, 12)
    const messages = [{ role: "user", content: "你好，请介绍一下你自己" }]
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }]
    const count = await Effect.runPromise(
      GlmTokenizer.count({ model: "glm-4.6", messages, tools, request_id: "req-tokens-1" }).pipe(
        Effect.provide(clientLayer)
      )
    )
    expect(count).toEqual({
      promptTokens: 57,
      imageTokens: 12,
      videoTokens: 0,
      totalTokens: 69,
      requestId: "20260101120000aaaaaaaaaaaaaaaa"
    })
    expect(recorder.last().body).toEqual({ model: "glm-4.6", messages, tools, request_id: "req-tokens-1" })
  })

  it("converts an effect/ai prompt as the language model does", async () => {
    const recorder = tokenizer(10)
    await Effect.runPromise(
      GlmTokenizer.countPrompt("glm-4.5", [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" }
      ]).pipe(Effect.provide(clientLayer))
    )
    expect(recorder.last().body).toEqual({
      model: "glm-4.5",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" }
      ]
    })
  })

  it("refuses an empty message list before sending", async () => {
    const recorder = tokenizer(1)
    const exit = await Effect.runPromiseExit(
      GlmTokenizer.count({ model: "glm-4.6", messages: [] }).pipe(Effect.provide(clientLayer))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(recorder.count).toBe(0)
  })

  it("the counter estimates models the endpoint does not document", async () => {
    const recorder = tokenizer(1)
    const request = { model: "glm-4-plus", messages: [{ role: "user", content: "hello world" }] }
    const counted = await Effect.runPromise(GlmTokenizer.counter(GlmClient.make({ apiKey: "test-key" }))(request))
    expect(counted).toBe(TokenEstimator.estimateRequest({ messages: request.messages }))
    expect(recorder.count).toBe(0)
  })
})

describe("exact pre-flight", () => {
  const chat = () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(GlmScenarios.text.body), recorder))
    return recorder
  }
  // long enough that core's cheap bound (3 x the JSON length) does not settle it without counting
  const long = "x".repeat(70_000)
  const run = (model: string) =>
    Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: long }).pipe(
        Effect.provide(GlmLanguageModel.layer(model, { exactPreflight: true }).pipe(Layer.provide(clientLayer)))
      )
    )

  it("counts with /tokenizer before sending, and sends when the prompt fits", async () => {
    const tokens = tokenizer(12)
    const calls = chat()
    expect(Exit.isSuccess(await run("glm-4.6"))).toBe(true)
    expect([tokens.count, calls.count]).toEqual([1, 1])
  })

  it("refuses a prompt the tokenizer counts above the context window, without the chat call", async () => {
    tokenizer(199_995)
    const calls = chat()
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: long }).pipe(
        Effect.provide(
          GlmLanguageModel.layer("glm-4.6", { exactPreflight: true, request: { max_tokens: 10 } }).pipe(
            Layer.provide(clientLayer)
          )
        )
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(
      /199995 tokens\) plus max_tokens \(10\) exceeds the 200000-token context window of glm-4.6/
    )
    expect(calls.count).toBe(0)
  })

  it("does not count a prompt that fits by core's cheap bound (no extra HTTP call)", async () => {
    const tokens = tokenizer(12)
    const calls = chat()
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(GlmLanguageModel.layer("glm-4.6", { exactPreflight: true }).pipe(Layer.provide(clientLayer)))
      )
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect([tokens.count, calls.count]).toEqual([0, 1])
  })

  it("uses the mock's tokenizer too (testing entry point)", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const count = await Effect.runPromise(
      GlmTokenizer.count({ model: "glm-4.6", messages: [{ role: "user", content: "hello" }] }).pipe(
        Effect.provide(clientLayer)
      )
    )
    expect(count.promptTokens).toBeGreaterThan(0)
  })
})
