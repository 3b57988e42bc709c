/**
 * GLM models end to end against MSW: finish reasons, the GLM transport behaviour, thinking and reasoning replay,
 * tools and tool_stream, web search sources, request ids, and refusals before any HTTP call.
 */
import { OpenAiCompatLanguageModel, ProviderError, ResponseSummary, RetryPolicy } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect, Exit, Layer, Schema, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, Tool, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmConfig from "../src/GlmConfig.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmWebSearch from "../src/GlmWebSearch.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const baseURL = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const GetWeather = Tool.make("get_weather", {
  description: "Get the weather",
  parameters: Schema.Struct({ location: Schema.String }),
  success: Schema.String
})
const Add = Tool.make("add", {
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})
const Multiply = Tool.make("multiply", {
  parameters: Schema.Struct({ a: Schema.Number, b: Schema.Number }),
  success: Schema.Number
})

const fast = { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 2 }

const modelLayer = (model = "glm-4.6", config: GlmConfig.ModelConfig = {}, options: GlmClient.Options = {}) =>
  GlmLanguageModel.layer(model, config).pipe(Layer.provide(GlmClient.layer({ ...options, apiKey: "test-key" })))

const respond = (reply: (call: MockUpstream.ChatCall) => globalThis.Response, url = baseURL) => {
  const recorder = new MockUpstream.Recorder()
  server.use(MockUpstream.chatCompletions(url, reply, recorder))
  return recorder
}

const generate = <A, E>(
  effect: Effect.Effect<A, E, LanguageModel.LanguageModel>,
  layer = modelLayer()
): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(effect.pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, fast), Effect.provide(layer)))

const collect = (
  stream: Stream.Stream<Response.AnyPart, AiError.AiError, LanguageModel.LanguageModel>,
  layer = modelLayer()
) =>
  Effect.runPromiseExit(
    Stream.runCollect(stream).pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, fast), Effect.provide(layer))
  )

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
  return exit.value
}

const failure = (exit: Exit.Exit<unknown, AiError.AiError>): AiError.AiError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") throw new Error(String(exit.cause))
  return reason.error
}

const summaryOf = (parts: ReadonlyArray<Response.AnyPart>) => ResponseSummary.fromParts(parts)

const textChunks = (id: string, text: string) =>
  GlmScenarios.pieces(text).map((p) => GlmScenarios.chunk(id, "glm-4.6", { content: p }))

describe("finish reasons", () => {
  it("finish_reason sensitive is a content-filter finish (non-stream)", async () => {
    respond(() =>
      MockUpstream.json(
        GlmScenarios.completion(
          GlmScenarios.responseId(40),
          "glm-4.6",
          { content: "" },
          "sensitive",
          GlmScenarios.usage(5, 0)
        )
      )
    )
    const response = success(await generate(LanguageModel.generateText({ prompt: "hi" })))
    expect(response.finishReason).toBe("content-filter")
  })

  it("finish_reason sensitive is a content-filter finish (stream)", async () => {
    const id = GlmScenarios.responseId(41)
    respond(() =>
      MockUpstream.sse([
        ...textChunks(id, "Partial"),
        GlmScenarios.finishChunk(id, "glm-4.6", "sensitive", GlmScenarios.usage(5, 2))
      ])
    )
    const summary = summaryOf(success(await collect(LanguageModel.streamText({ prompt: "hi" }))))
    expect(summary.finishReason).toBe("content-filter")
    expect(summary.metadata.rawFinishReason).toBe("sensitive")
    expect(summary.text).toBe("Partial")
  })

  it("network_error finish: a non-streaming answer is a retryable failure, retried", async () => {
    const recorder = respond(({ index }) =>
      index === 0
        ? MockUpstream.json(
            GlmScenarios.completion(
              GlmScenarios.responseId(42),
              "glm-4.6",
              { content: "half an ans" },
              "network_error",
              GlmScenarios.usage(5, 3)
            )
          )
        : MockUpstream.json(GlmScenarios.text.body)
    )
    const response = success(await generate(LanguageModel.generateText({ prompt: "hi" })))
    expect(response.text).toBe(GlmScenarios.text.text)
    expect(recorder.count).toBe(2)
  })

  it("network_error finish: a non-streaming answer that keeps failing is a retryable InternalProviderError", async () => {
    const id = GlmScenarios.responseId(49)
    const recorder = respond(() =>
      MockUpstream.json(
        GlmScenarios.completion(id, "glm-4.6", { content: "half" }, "network_error", GlmScenarios.usage(5, 1))
      )
    )
    const error = failure(await generate(LanguageModel.generateText({ prompt: "hi" })))
    expect(error.reason._tag).toBe("InternalProviderError")
    expect(ProviderError.describe(error)).toMatchObject({
      kind: "finish-network-error",
      code: "network_error",
      retryable: true,
      requestId: id
    })
    expect(ProviderError.describe(error).message).toMatch(/network_error.*partial answer is discarded/)
    expect(recorder.count).toBe(fast.maxRetries + 1)
  })

  it("network_error finish: a stream failing before its first part is retried", async () => {
    const id = GlmScenarios.responseId(43)
    const recorder = respond(({ index }) =>
      index === 0
        ? MockUpstream.sse([GlmScenarios.finishChunk(id, "glm-4.6", "network_error", GlmScenarios.usage(5, 0))])
        : MockUpstream.sse(GlmScenarios.text.chunks)
    )
    const summary = summaryOf(success(await collect(LanguageModel.streamText({ prompt: "hi" }))))
    expect(summary.text).toBe(GlmScenarios.text.text)
    expect(recorder.count).toBe(2)
  })

  it("network_error finish: after streamed text, the stream fails (never a silent short answer)", async () => {
    const id = GlmScenarios.responseId(44)
    const recorder = respond(() =>
      MockUpstream.sse(
        [
          ...textChunks(id, "The answer is"),
          GlmScenarios.finishChunk(id, "glm-4.6", "network_error", GlmScenarios.usage(5, 3))
        ],
        { delayMs: 5 }
      )
    )
    const error = failure(await collect(LanguageModel.streamText({ prompt: "hi" })))
    expect(error.reason._tag).toBe("InternalProviderError")
    expect(ProviderError.describe(error)).toMatchObject({
      kind: "finish-network-error",
      retryable: true,
      requestId: id
    })
    expect(recorder.count).toBe(1)
  })

  it("model_context_window_exceeded with no output is a context-length error, not retried", async () => {
    const recorder = respond(() =>
      MockUpstream.json(
        GlmScenarios.completion(
          GlmScenarios.responseId(45),
          "glm-4.6",
          { content: "" },
          "model_context_window_exceeded",
          GlmScenarios.usage(200_000, 0)
        )
      )
    )
    const error = failure(await generate(LanguageModel.generateText({ prompt: "hi" })))
    expect(error.reason._tag).toBe("InvalidRequestError")
    expect(ProviderError.describe(error).contextLength).toBe(true)
    expect(recorder.count).toBe(1)
  })

  it("model_context_window_exceeded after some output is a length finish", async () => {
    const id = GlmScenarios.responseId(46)
    respond(() =>
      MockUpstream.sse([
        ...textChunks(id, "A long answer"),
        GlmScenarios.finishChunk(id, "glm-4.6", "model_context_window_exceeded", GlmScenarios.usage(199_000, 1000))
      ])
    )
    const summary = summaryOf(success(await collect(LanguageModel.streamText({ prompt: "hi" }))))
    expect(summary.finishReason).toBe("length")
    expect(summary.metadata.rawFinishReason).toBe("model_context_window_exceeded")
  })

  it("model_context_window_exceeded with no output fails a stream with a context-length error", async () => {
    const id = GlmScenarios.responseId(47)
    respond(() =>
      MockUpstream.sse([
        GlmScenarios.finishChunk(id, "glm-4.6", "model_context_window_exceeded", GlmScenarios.usage(9, 0))
      ])
    )
    const error = failure(await collect(LanguageModel.streamText({ prompt: "hi" })))
    expect(ProviderError.describe(error)).toMatchObject({ reason: "InvalidRequestError", contextLength: true })
  })
})

describe("thinking and reasoning replay", () => {
  const history = Prompt.make([
    { role: "user", content: "Who are you?" },
    {
      role: "assistant",
      content: [
        { type: "reasoning", text: "They ask who I am." },
        { type: "text", text: "I am GLM." }
      ]
    },
    { role: "user", content: "And what can you do?" }
  ])

  it("reasoning replayed when clear_thinking is false", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.reasoning.body))
    const thinking = { type: "enabled", clear_thinking: false } as const
    const response = success(
      await generate(LanguageModel.generateText({ prompt: history }).pipe(GlmConfig.withProviderOptions({ thinking })))
    )
    expect(response.text).toBe(GlmScenarios.reasoning.text)
    const sent = recorder.last().body as { thinking: unknown; messages: Array<{ reasoning_content?: string }> }
    expect(sent.thinking).toEqual(thinking)
    expect(sent.messages[1]?.reasoning_content).toBe("They ask who I am.")
  })

  it("reasoning of a plain turn is not replayed when thinking is cleared (general endpoint default)", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.reasoning.body))
    success(await generate(LanguageModel.generateText({ prompt: history })))
    const sent = recorder.last().body as { messages: Array<{ reasoning_content?: string }> }
    expect(sent.messages[1]?.reasoning_content).toBeUndefined()
  })

  it("the coding plan replays reasoning by default (Preserved Thinking is its default)", async () => {
    const coding = "https://api.z.ai/api/coding/paas/v4"
    const recorder = respond(() => MockUpstream.json(GlmScenarios.reasoning.body), coding)
    success(
      await generate(LanguageModel.generateText({ prompt: history }), modelLayer("glm-4.6", {}, { plan: "coding" }))
    )
    const sent = recorder.last().body as { messages: Array<{ reasoning_content?: string }> }
    expect(sent.messages[1]?.reasoning_content).toBe("They ask who I am.")
  })

  it("model-level provider options are sent, and call options merge over them", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.text.body))
    const layer = modelLayer("glm-4.6", { providerOptions: { thinking: { type: "disabled" }, user_id: "user-000001" } })
    success(
      await generate(
        LanguageModel.generateText({ prompt: "hi" }).pipe(GlmConfig.withProviderOptions({ request_id: "req-000001" })),
        layer
      )
    )
    expect(recorder.last().body).toMatchObject({
      thinking: { type: "disabled" },
      user_id: "user-000001",
      request_id: "req-000001"
    })
  })

  it("streams reasoning before the answer", async () => {
    respond(() => MockUpstream.sse(GlmScenarios.reasoning.chunks))
    const summary = summaryOf(
      success(
        await collect(
          LanguageModel.streamText({ prompt: "你好" }).pipe(
            GlmConfig.streamWithProviderOptions({ thinking: { type: "enabled" } })
          )
        )
      )
    )
    expect(summary.reasoning).toBe(GlmScenarios.reasoning.reasoning)
    expect(summary.text).toBe(GlmScenarios.reasoning.text)
    expect(summary.usage).toMatchObject({ cachedInputTokens: 4, reasoningTokens: 40 })
  })
})

describe("tools", () => {
  const mock = () => {
    const zai = GlmMock.make({ baseURL })
    server.use(...zai.handlers)
    return zai
  }

  it("tool_stream sent when streaming with tools, and the fragments are assembled", async () => {
    const zai = mock()
    const parts = success(
      await collect(
        LanguageModel.streamText({
          prompt: "Weather in Florence, Italy?",
          toolkit: Toolkit.make(GetWeather),
          disableToolCallResolution: true
        })
      )
    )
    expect((zai.recorder.last().body as { tool_stream?: boolean }).tool_stream).toBe(true)
    expect(parts.filter((part) => part.type === "tool-params-delta").length).toBeGreaterThan(1)
    const summary = summaryOf(parts)
    expect(summary.toolCalls.map((call) => [call.name, call.params])).toEqual([
      ["get_weather", { location: "Florence, Italy" }]
    ])
    expect(summary.finishReason).toBe("tool-calls")
  })

  it("multi-tool turns: two calls in one streamed turn", async () => {
    mock()
    const summary = summaryOf(
      success(
        await collect(
          LanguageModel.streamText({
            prompt: "Add and multiply 2 and 3",
            toolkit: Toolkit.make(Add, Multiply),
            disableToolCallResolution: true
          }).pipe(GlmConfig.streamWithProviderOptions({ tool_stream: false }))
        )
      )
    )
    expect(summary.toolCalls.map((call) => [call.name, call.params])).toEqual([
      ["add", { a: 2, b: 3 }],
      ["multiply", { a: 2, b: 3 }]
    ])
  })

  it("multi-tool turns: the recorded shape (complete calls, one chunk each) yields both calls", async () => {
    respond(() => MockUpstream.sse(GlmScenarios.multiTool.chunks))
    const summary = summaryOf(
      success(
        await collect(
          LanguageModel.streamText({
            prompt: "Add and multiply 2 and 3",
            toolkit: Toolkit.make(Add, Multiply),
            disableToolCallResolution: true
          })
        )
      )
    )
    expect(summary.toolCalls.map(({ name, params }) => ({ name, params }))).toEqual(GlmScenarios.multiTool.calls)
    expect(summary.text).toBe("\n\nI'll add and multiply 2 and 3.\n")
  })

  it("tool calls with odd ids (call_-<signed decimal>) keep their ids", async () => {
    respond(() => MockUpstream.json(GlmScenarios.toolCall.body))
    const response = success(
      await generate(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Toolkit.make(GetWeather),
          disableToolCallResolution: true
        })
      )
    )
    expect(response.toolCalls.map((call) => call.id)).toEqual(["call_-7394015628301947265"])
  })

  // docs/providers/glm.md#responses: `function.arguments` is a JSON string on the wire (ZAI-OAS declares an object).
  it("tool-call arguments arrive as a JSON string (non-stream): parsed into params", async () => {
    const wire = GlmScenarios.toolCall.body as unknown as {
      choices: Array<{ message: { tool_calls: Array<{ function: { arguments: unknown } }> } }>
    }
    expect(wire.choices.flatMap((c) => c.message.tool_calls.map((call) => typeof call.function.arguments))).toEqual([
      "string"
    ])
    respond(() => MockUpstream.json(GlmScenarios.toolCall.body))
    const response = success(
      await generate(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Toolkit.make(GetWeather),
          disableToolCallResolution: true
        })
      )
    )
    expect(response.toolCalls.map((call) => [call.name, call.params])).toEqual([
      ["get_weather", { location: GlmScenarios.toolCall.location }]
    ])
  })

  it("tool-call arguments arrive as a JSON string (stream, complete in one delta): parsed into params", async () => {
    const chunks = GlmScenarios.toolCall.chunks as unknown as ReadonlyArray<{
      choices: Array<{ delta: { tool_calls?: Array<{ function: { arguments: unknown } }> } }>
    }>
    const wire = chunks.flatMap((chunk) => chunk.choices.flatMap((c) => c.delta.tool_calls ?? []))
    expect(wire.map((call) => typeof call.function.arguments)).toEqual(["string"])
    respond(() => MockUpstream.sse(GlmScenarios.toolCall.chunks))
    const summary = summaryOf(
      success(
        await collect(
          LanguageModel.streamText({
            prompt: "Weather?",
            toolkit: Toolkit.make(GetWeather),
            disableToolCallResolution: true
          }),
          modelLayer("glm-4.6", { providerOptions: { tool_stream: false } })
        )
      )
    )
    expect(summary.toolCalls.map((call) => [call.name, call.params])).toEqual([
      ["get_weather", { location: GlmScenarios.toolCall.location }]
    ])
  })

  it("a forced tool_choice reaches the upstream on glm-4.6 (LangChain's withStructuredOutput forces one)", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.toolCall.body))
    await generate(
      LanguageModel.generateText({
        prompt: "Weather?",
        toolkit: Toolkit.make(GetWeather),
        toolChoice: { tool: "get_weather" },
        disableToolCallResolution: true
      })
    )
    expect(recorder.count).toBe(1)
    expect(recorder.last().body).toMatchObject({ tool_choice: { type: "function", function: { name: "get_weather" } } })
  })

  it("forced tool_choice sent on glm-4.5", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.toolCall.body))
    success(
      await generate(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Toolkit.make(GetWeather),
          toolChoice: { tool: "get_weather" },
          disableToolCallResolution: true
        }),
        modelLayer("glm-4.5")
      )
    )
    expect((recorder.last().body as { tool_choice: unknown }).tool_choice).toEqual({
      type: "function",
      function: { name: "get_weather" }
    })
  })

  // docs/providers/glm.md#tool-choice: glm-4.6 with a forced function choice sends one reasoning delta, then nothing
  // (https://github.com/Smana/runlore/issues/391). The reasoning delta is a chunk, so core's first-token timeout is
  // already satisfied: the idle timeout (gap between chunks) is the one that ends the hang.
  it("forced tool_choice hang: one reasoning delta then a stall ends with core's idle timeout", async () => {
    const id = GlmScenarios.responseId(0x4f1)
    const recorder = respond(() =>
      MockUpstream.sse([GlmScenarios.chunk(id, "glm-4.6", { reasoning_content: "Let me call" })], { stallAfter: 1 })
    )
    const started = Date.now()
    const error = failure(
      await collect(
        LanguageModel.streamText({
          prompt: "Weather?",
          toolkit: Toolkit.make(GetWeather),
          toolChoice: { tool: "get_weather" },
          disableToolCallResolution: true
        }),
        modelLayer("glm-4.6", {
          providerOptions: { forceToolChoice: true },
          timeouts: { firstTokenMs: 20_000, idleMs: 150, totalMs: 40_000 }
        })
      )
    )
    expect(ProviderError.describe(error)).toMatchObject({
      reason: "InternalProviderError",
      kind: "timeout",
      timeout: "idle",
      limitMs: 150,
      retryable: false
    })
    // ended by the idle bound, long before the first-token (20 s) or total (40 s) bound
    expect(Date.now() - started).toBeLessThan(15_000)
    // the forced choice was sent (forceToolChoice), and the idle timeout is not retried
    expect(recorder.count).toBe(1)
    expect((recorder.last().body as { tool_choice: unknown }).tool_choice).toEqual({
      type: "function",
      function: { name: "get_weather" }
    })
  })

  it("forced tool_choice hang: a stall before any delta ends with core's first-token timeout (retryable)", async () => {
    const recorder = respond(() => MockUpstream.sse([], { stallAfter: 0 }))
    const error = failure(
      await collect(
        LanguageModel.streamText({
          prompt: "Weather?",
          toolkit: Toolkit.make(GetWeather),
          toolChoice: { tool: "get_weather" },
          disableToolCallResolution: true
        }),
        modelLayer("glm-4.6", {
          providerOptions: { forceToolChoice: true },
          timeouts: { firstTokenMs: 150, idleMs: 5_000, totalMs: 40_000 }
        })
      )
    )
    expect(ProviderError.describe(error)).toMatchObject({
      reason: "InternalProviderError",
      kind: "timeout",
      timeout: "firstToken",
      limitMs: 150,
      retryable: true
    })
    expect(recorder.count).toBe(fast.maxRetries + 1)
  })
})

describe("web search", () => {
  it("web_search results become source parts (toolkit tool)", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.webSearchBody))
    const search = GlmWebSearch.tool({ count: 5, search_recency_filter: "oneDay" })
    const response = success(
      await generate(
        LanguageModel.generateText({ prompt: "Weather in Florence?", toolkit: Toolkit.make(search) }),
        modelLayer("glm-4-air")
      )
    )
    expect((recorder.last().body as { tools: unknown }).tools).toEqual([
      {
        type: "web_search",
        web_search: {
          enable: true,
          search_engine: "search-prime",
          search_result: true,
          count: 5,
          search_recency_filter: "oneDay"
        }
      }
    ])
    const sources = response.content.filter((part) => part.type === "source")
    expect(sources.map((part) => [part.id, part.sourceType === "url" ? String(part.url) : "", part.title])).toEqual(
      GlmScenarios.webSearch.results.map((result) => [result.refer, result.link, result.title])
    )
    expect(sources[0]?.metadata).toEqual({
      glm: {
        refer: "ref_1",
        media: "Weather Example",
        publishDate: "2026-01-01",
        icon: "https://example.org/icon-weather.png",
        content: GlmScenarios.webSearch.results[0].content
      }
    })
    expect(response.text).toBe(GlmScenarios.webSearch.text)
  })

  it("web_search results on a stream chunk become source parts", async () => {
    const zai = GlmMock.make({ baseURL })
    server.use(...zai.handlers)
    const summary = summaryOf(
      success(
        await collect(
          LanguageModel.streamText({ prompt: "Weather?" }).pipe(GlmConfig.streamWithProviderOptions({ web_search: {} }))
        )
      )
    )
    expect(summary.sources.map((source) => source.id)).toEqual(["ref_1", "ref_2"])
    expect(summary.text).toBe(GlmScenarios.webSearch.text)
  })
})

describe("request ids", () => {
  it("the response id reaches the finish metadata of a stream (chunks carry only id)", async () => {
    respond(() => MockUpstream.sse(GlmScenarios.text.chunks))
    const summary = summaryOf(success(await collect(LanguageModel.streamText({ prompt: "hi" }))))
    expect(summary.metadata.requestId).toBe(GlmScenarios.text.chunks[0]?.id)
  })

  it("the response request_id reaches the metadata of a non-streaming answer", async () => {
    respond(() => MockUpstream.json(GlmScenarios.text.body))
    const response = success(await generate(LanguageModel.generateText({ prompt: "hi" })))
    expect(summaryOf(response.content).metadata.requestId).toBe(GlmScenarios.text.body.request_id)
  })

  it("a client request_id reaches the error of a failed call", async () => {
    respond(() => GlmMock.errorResponse(GlmScenarios.errors.insufficientBalanceEn))
    const error = failure(
      await generate(
        LanguageModel.generateText({ prompt: "hi" }).pipe(
          GlmConfig.withProviderOptions({ request_id: "my-request-42" })
        )
      )
    )
    expect(ProviderError.describe(error)).toMatchObject({ reason: "QuotaExhaustedError", requestId: "my-request-42" })
  })

  it("a client request_id reaches the error of a failed stream", async () => {
    respond(() => GlmMock.errorResponse(GlmScenarios.errors.insufficientBalanceEn))
    const error = failure(
      await collect(
        LanguageModel.streamText({ prompt: "hi" }).pipe(
          GlmConfig.streamWithProviderOptions({ request_id: "my-request-43" })
        )
      )
    )
    expect(ProviderError.describe(error)).toMatchObject({ reason: "QuotaExhaustedError", requestId: "my-request-43" })
  })

  it("a request id the server gave is kept over the client's request_id", async () => {
    const wire = GlmScenarios.errors.insufficientBalanceEn
    respond(() => MockUpstream.error(wire.status, wire.body, { "x-request-id": "server-000001" }))
    const error = failure(
      await generate(
        LanguageModel.generateText({ prompt: "hi" }).pipe(GlmConfig.withProviderOptions({ request_id: "other-000002" }))
      )
    )
    expect(ProviderError.describe(error).requestId).toBe("server-000001")
  })

  it("the first chunk's id is the request id of a stream error after it (chunks carry only id)", async () => {
    const id = GlmScenarios.responseId(48)
    respond(() =>
      MockUpstream.sse([...textChunks(id, "Partial"), { error: { code: "1234", message: "网络错误" } }], { delayMs: 1 })
    )
    const error = failure(await collect(LanguageModel.streamText({ prompt: "hi" })))
    expect(ProviderError.describe(error).requestId).toBe(id)
  })
})

describe("refusals before any HTTP call", () => {
  it.each([["invalid provider options", { providerOptions: { request_id: "x" } as never }]])(
    "%s",
    async (_name, config) => {
      const recorder = respond(() => MockUpstream.json(GlmScenarios.text.body))
      const error = failure(
        await generate(
          LanguageModel.generateText({ prompt: "hi" }).pipe(
            OpenAiCompatLanguageModel.withCallConfig(config as OpenAiCompatLanguageModel.ModelConfig)
          )
        )
      )
      expect(error.reason._tag).toBe("InvalidRequestError")
      expect(recorder.count).toBe(0)
    }
  )

  it("temperature 0 becomes do_sample false on the wire (glm-4-plus)", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.text.body))
    success(
      await generate(
        LanguageModel.generateText({ prompt: "hi" }),
        modelLayer("glm-4-plus", { request: { temperature: 0 } })
      )
    )
    const sent = recorder.last().body as Record<string, unknown>
    expect(sent.do_sample).toBe(false)
    expect("temperature" in sent).toBe(false)
  })

  it("disabling thinking on glm-5.3 is refused up front", async () => {
    const recorder = respond(() => MockUpstream.json(GlmScenarios.text.body))
    const error = failure(
      await generate(
        LanguageModel.generateText({ prompt: "hi" }),
        modelLayer("glm-5.3", { providerOptions: { thinking: { type: "disabled" } } })
      )
    )
    expect((error.reason as AiError.InvalidRequestError).parameter).toBe("thinking")
    expect(recorder.count).toBe(0)
  })
})
