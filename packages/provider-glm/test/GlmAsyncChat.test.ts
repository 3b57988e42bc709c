/**
 * Async chat: polling `/async-result/{id}` on a Schedule (TestClock), the timeout, failed tasks, and the round trip
 * against the mock.
 */

import type { OpenAiCompatProvider } from "@conduitkit/core"
import { ProviderError } from "@conduitkit/core"
import { it as effectIt } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmAsyncChat from "../src/GlmAsyncChat.js"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

/** A client whose `GET /async-result/{id}` answers the given statuses in turn (the last one repeats). */
const scripted = (statuses: ReadonlyArray<string>) => {
  const polls: Array<string> = []
  const client = {
    ...GlmClient.make({ apiKey: "test-key" }),
    request: (options: { readonly path: string }) =>
      Effect.sync(() => {
        polls.push(options.path)
        const status = statuses[Math.min(polls.length - 1, statuses.length - 1)] ?? "PROCESSING"
        const body =
          status === "SUCCESS"
            ? { ...GlmScenarios.reasoning.body, task_status: status }
            : { id: "task-1", request_id: "req-async-1", task_status: status }
        return { body, headers: {}, requestId: undefined }
      })
  } as unknown as OpenAiCompatProvider.ProviderClient
  return { layer: Layer.succeed(GlmClient.GlmClient, client), polls }
}

describe("awaitResult", () => {
  effectIt.effect("polls /async-result on the schedule until SUCCESS", () =>
    Effect.gen(function* () {
      const { layer, polls } = scripted(["PROCESSING", "PROCESSING", "PROCESSING", "SUCCESS"])
      const fiber = yield* Effect.forkChild(
        GlmAsyncChat.awaitResult("task-1", { intervalMs: 1_000, timeoutMs: 60_000 }).pipe(Effect.provide(layer))
      )
      yield* TestClock.adjust("999 millis")
      expect(polls).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(polls).toHaveLength(2)
      yield* TestClock.adjust("2 seconds")
      const completed = yield* Fiber.join(fiber)
      expect(polls).toEqual(Array.from({ length: 4 }, () => "/async-result/task-1"))
      expect(completed.task_status).toBe("SUCCESS")
      const parts = GlmAsyncChat.toParts(completed)
      expect(parts._tag === "Success" && parts.success.map((part) => part.type)).toEqual([
        "response-metadata",
        "reasoning",
        "text",
        "finish"
      ])
    })
  )

  effectIt.effect("fails with a total timeout when the task stays PROCESSING", () =>
    Effect.gen(function* () {
      const { layer, polls } = scripted(["PROCESSING"])
      const fiber = yield* Effect.forkChild(
        Effect.result(
          GlmAsyncChat.awaitResult("task-1", { intervalMs: 2_000, timeoutMs: 10_000 }).pipe(Effect.provide(layer))
        )
      )
      yield* TestClock.adjust("10 seconds")
      const result = yield* Fiber.join(fiber)
      if (result._tag !== "Failure") throw new Error("expected a timeout")
      expect(ProviderError.describe(result.failure)).toMatchObject({
        kind: "timeout",
        timeout: "total",
        limitMs: 10_000
      })
      expect(polls.length).toBeGreaterThanOrEqual(5)
      expect(polls.length).toBeLessThanOrEqual(6)
    })
  )

  effectIt.effect("a FAIL status is a non-retryable failure", () =>
    Effect.gen(function* () {
      const { layer } = scripted(["PROCESSING", "FAIL"])
      const fiber = yield* Effect.forkChild(
        Effect.result(GlmAsyncChat.awaitResult("task-1", { intervalMs: 100 }).pipe(Effect.provide(layer)))
      )
      yield* TestClock.adjust("100 millis")
      const result = yield* Fiber.join(fiber)
      if (result._tag !== "Failure") throw new Error("expected a failure")
      expect(AiError.isAiError(result.failure) && result.failure.reason._tag).toBe("InternalProviderError")
      expect(ProviderError.describe(result.failure)).toMatchObject({ kind: "async-task-failed", retryable: false })
    })
  )
})

describe("toParts: the finish-failure rules of normal chat", () => {
  const completed = (message: Record<string, unknown>, finish: string) =>
    ({
      ...GlmScenarios.completion(GlmScenarios.responseId(0xa51), "glm-4.6", message, finish, GlmScenarios.usage(20, 3)),
      task_status: "SUCCESS"
    }) as unknown as GlmAsyncChat.AsyncResult

  const failureOf = (parts: ReturnType<typeof GlmAsyncChat.toParts>) => {
    if (parts._tag !== "Failure") throw new Error("expected a failure")
    return parts.failure
  }

  it("async chat: a network_error finish is the retryable failure, not a short answer", () => {
    const error = failureOf(GlmAsyncChat.toParts(completed({ content: "half an ans" }, "network_error")))
    expect(error.reason._tag).toBe("InternalProviderError")
    expect(ProviderError.describe(error)).toMatchObject({
      kind: "finish-network-error",
      code: "network_error",
      retryable: true,
      requestId: GlmScenarios.responseId(0xa51)
    })
  })

  it("async chat: model_context_window_exceeded without output is a context-length error, with output a length finish", () => {
    const error = failureOf(GlmAsyncChat.toParts(completed({ content: "" }, "model_context_window_exceeded")))
    expect(ProviderError.describe(error)).toMatchObject({ reason: "InvalidRequestError", contextLength: true })
    const parts = GlmAsyncChat.toParts(completed({ content: "Some text" }, "model_context_window_exceeded"))
    expect(parts._tag === "Success" && parts.success.find((part) => part.type === "finish")).toMatchObject({
      reason: "length"
    })
  })

  it("async chat: inline <think> reasoning of a glm-z1 model becomes a reasoning part", () => {
    const parts = GlmAsyncChat.toParts({
      ...GlmScenarios.completion(
        GlmScenarios.responseId(0xa52),
        "glm-z1-air",
        { content: "<think>why</think>so" },
        "stop",
        GlmScenarios.usage(5, 5)
      ),
      task_status: "SUCCESS"
    } as unknown as GlmAsyncChat.AsyncResult)
    if (parts._tag !== "Success") throw new Error("expected parts")
    expect(parts.success.filter((part) => part.type === "reasoning" || part.type === "text")).toEqual([
      { type: "reasoning", text: "why" },
      { type: "text", text: "so" }
    ])
  })
})

describe("against the mock", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())
  const layer = GlmClient.layer({ apiKey: "test-key" })

  it("submits, polls and converts the answer", async () => {
    const zai = GlmMock.make({ asyncPolls: 2 })
    server.use(...zai.handlers)
    const result = await Effect.runPromise(
      GlmAsyncChat.generate(
        {
          request: { model: "glm-4.6", messages: [{ role: "user", content: "你好" }], stop: "END", temperature: 0.5 },
          providerOptions: { thinking: { type: "enabled" } }
        },
        // a total bound a loaded machine stays far inside (a submit and three polls)
        { intervalMs: 5, timeoutMs: 50_000 }
      ).pipe(Effect.provide(layer))
    )
    expect(result.task.task_status).toBe("PROCESSING")
    expect(result.result.task_status).toBe("SUCCESS")
    const submitted = zai.recorder.calls[0]
    expect(submitted?.url).toBe("https://api.z.ai/api/paas/v4/async/chat/completions")
    expect(submitted?.body).toMatchObject({ stop: ["END"], temperature: 0.5, thinking: { type: "enabled" } })
    expect(zai.recorder.calls.filter((call) => call.url.includes("/async-result/"))).toHaveLength(3)
    const text = result.parts.find((part) => part.type === "text")
    expect(text?.type === "text" && text.text).toBe(GlmScenarios.text.text)
    const reasoning = result.parts.find((part) => part.type === "reasoning")
    expect(reasoning?.type === "reasoning" && reasoning.text).toBe('The user asks: "你好". I will answer briefly.')
  })

  it("async chat: Preserved Thinking follows the language model's isCodingClient (plan coding behind a proxy URL)", async () => {
    const proxy = "https://llm-proxy.example.com/zai/v4"
    const messages = [
      { role: "user" as const, content: "hi" },
      { role: "assistant" as const, content: "hello", reasoning_content: "greet back" },
      { role: "user" as const, content: "again" }
    ]
    const submitWith = async (options: GlmClient.Options) => {
      const zai = GlmMock.make({ baseURL: proxy })
      server.use(...zai.handlers)
      await Effect.runPromise(
        GlmAsyncChat.submit({ request: { model: "glm-4.6", messages } }).pipe(
          Effect.provide(GlmClient.layer({ ...options, apiKey: "test-key", baseURL: proxy }))
        )
      )
      return (zai.recorder.last().body as { messages: Array<Record<string, unknown>> }).messages[1]
    }
    // plan "coding": Preserved Thinking is the default, the reasoning is replayed (the URL alone would not say so)
    expect(await submitWith({ plan: "coding" })).toMatchObject({ reasoning_content: "greet back" })
    expect(await submitWith({})).not.toHaveProperty("reasoning_content")
  })

  it("refuses what the shaping refuses, before submitting", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const exit = await Effect.runPromiseExit(
      GlmAsyncChat.submit({
        request: { model: "glm-4.6", messages: [{ role: "user", content: "hi" }] },
        providerOptions: { request_id: "x" }
      }).pipe(Effect.provide(layer))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(zai.recorder.count).toBe(0)
  })
})
