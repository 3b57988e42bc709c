import { Effect, Exit, Layer, Schema, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatLanguageModel from "../src/OpenAiCompatLanguageModel.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as ProviderError from "../src/ProviderError.js"
import * as RequestContext from "../src/RequestContext.js"
import * as ResponseCacheHook from "../src/ResponseCacheHook.js"
import * as ResponseSummary from "../src/ResponseSummary.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as TimeoutPolicy from "../src/TimeoutPolicy.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"

const baseURL = "https://model.test/v1"
const makeProvider = (overrides: Partial<OpenAiCompatProvider.Declarations> = {}) =>
  OpenAiCompatProvider.make({
    name: "sample",
    baseURLs: { default: baseURL },
    apiKeyEnv: ["SAMPLE_API_KEY"],
    errorTable: ProviderError.openAiTable,
    defaultModel: "small",
    catalog: ModelCatalog.make("sample", [
      {
        id: "small",
        provider: "sample",
        contextWindow: 200,
        maxOutputTokens: 100,
        capabilities: { ...ModelCatalog.conservativeCapabilities, partialMode: true },
        lifecycle: { status: "active" }
      },
      {
        id: "old",
        provider: "sample",
        contextWindow: 8_000,
        maxOutputTokens: 1_000,
        capabilities: ModelCatalog.conservativeCapabilities,
        lifecycle: { status: "retired", date: "2026-01-31", replacements: ["small"] }
      }
    ]),
    reasoningReplay: { mode: "tool-calls", placeholder: " " },
    ...overrides
  })

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const layerOf = (
  provider: ReturnType<typeof makeProvider>,
  model = "small",
  config?: OpenAiCompatLanguageModel.ModelConfig
) => provider.layer(model, config).pipe(Layer.provide(provider.clientLayer({ apiKey: "k" })))

const run = <A>(
  effect: Effect.Effect<A, AiError.AiError, LanguageModel.LanguageModel>,
  layer: Layer.Layer<LanguageModel.LanguageModel>
) =>
  Effect.runPromiseExit(
    effect.pipe(
      Effect.provideService(RetryPolicy.CallRetryPolicy, { baseDelayMs: 1, maxDelayMs: 2 }),
      Effect.provide(layer)
    )
  )

const failure = (exit: Exit.Exit<unknown, AiError.AiError>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason?._tag !== "Fail") throw new Error(String(exit.cause))
  return reason.error
}

const completion = (
  content: string,
  finish: string,
  usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 }
) => ({
  id: "c",
  created: 1,
  model: "small",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finish }],
  usage
})
const chunk = (delta: Record<string, unknown>, finish: string | null = null, usage?: Record<string, unknown>) => ({
  id: "s",
  created: 1,
  model: "small",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...(usage ? { usage } : {})
})

describe("continuation after finish_reason: length", () => {
  it("prefill strategy: continues with the partial answer as a partial assistant prefix and merges the answer", async () => {
    const provider = makeProvider({ continuation: "prefill" })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          MockUpstream.json(index === 0 ? completion("The quick brown", "length") : completion(" fox jumps.", "stop")),
        recorder
      )
    )
    const exit = await run(
      LanguageModel.generateText({ prompt: "Tell me" }),
      layerOf(provider, "small", { continuation: true, preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("The quick brown fox jumps.")
    expect(exit.value.finishReason).toBe("stop")
    expect(exit.value.usage.outputTokens.total).toBe(10)
    const summary = ResponseSummary.fromParts(exit.value.content)
    expect(summary.metadata.continuations).toBe(1)
    const second = recorder.calls[1]!.body as { messages: Array<Record<string, unknown>> }
    expect(second.messages.at(-1)).toEqual({ role: "assistant", content: "The quick brown", partial: true })
  })

  it("instruction strategy, streaming: one merged stream with one finish part", async () => {
    const provider = makeProvider({ continuation: "instruction" })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          MockUpstream.sse(
            index === 0
              ? [chunk({ content: "Part one" }), chunk({}, "length", { prompt_tokens: 5, completion_tokens: 2 })]
              : [chunk({ content: ", part two." }), chunk({}, "stop", { prompt_tokens: 9, completion_tokens: 3 })]
          ),
        recorder
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "Go" })),
      layerOf(provider, "small", { continuation: { maxContinuations: 2 }, preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const summary = ResponseSummary.fromParts(exit.value)
    expect(summary.text).toBe("Part one, part two.")
    expect(exit.value.filter((p) => p.type === "finish")).toHaveLength(1)
    expect(exit.value.filter((p) => p.type === "response-metadata")).toHaveLength(1)
    expect(summary.metadata).toMatchObject({ continuations: 1, streamed: true, attempts: 2 })
    expect(summary.usage.outputTokens).toBe(5)
    const second = recorder.calls[1]!.body as { messages: Array<Record<string, unknown>> }
    expect(second.messages.slice(-2)).toEqual([
      { role: "assistant", content: "Part one" },
      { role: "user", content: OpenAiCompatLanguageModel.continueInstruction }
    ])
  })

  it("prefill falls back to the instruction strategy on a model without partial mode", async () => {
    const provider = makeProvider({ continuation: "prefill" })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) => MockUpstream.json(index === 0 ? completion("Once", "length") : completion(" upon.", "stop")),
        recorder
      )
    )
    const exit = await run(
      LanguageModel.generateText({ prompt: "Tell me" }),
      layerOf(provider, "unlisted-model", { continuation: true, preflight: false })
    )
    expect(Exit.isSuccess(exit) && exit.value.text).toBe("Once upon.")
    const second = recorder.calls[1]!.body as { messages: Array<Record<string, unknown>> }
    expect(second.messages.at(-1)).toEqual({ role: "user", content: OpenAiCompatLanguageModel.continueInstruction })
  })

  it("stops at maxContinuations and reports length", async () => {
    const provider = makeProvider({ continuation: "prefill" })
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("more ", "length")), recorder))
    const exit = await run(
      LanguageModel.generateText({ prompt: "Tell me" }),
      layerOf(provider, "small", { continuation: { maxContinuations: 2 }, preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(recorder.count).toBe(3)
    expect(exit.value.finishReason).toBe("length")
    expect(exit.value.text).toBe("more more more ")
  })

  it("is off by default", async () => {
    const provider = makeProvider({ continuation: "prefill" })
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("cut", "length")), recorder))
    const exit = await run(
      LanguageModel.generateText({ prompt: "x" }),
      layerOf(provider, "small", { preflight: false })
    )
    expect(Exit.isSuccess(exit) && exit.value.finishReason).toBe("length")
    expect(recorder.count).toBe(1)
  })

  it("does not continue a length finish that produced only reasoning", async () => {
    const provider = makeProvider({ continuation: "prefill" })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.json({
            id: "c",
            choices: [{ index: 0, message: { content: "", reasoning_content: "thinking..." }, finish_reason: "length" }]
          }),
        recorder
      )
    )
    const exit = await run(
      LanguageModel.generateText({ prompt: "x" }),
      layerOf(provider, "small", { continuation: true, preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(recorder.count).toBe(1)
    expect(ResponseSummary.fromParts(exit.value.content).metadata.lengthInReasoning).toBe(true)
  })
})

describe("provider-executed tool rounds", () => {
  const WebSearch = Tool.providerDefined({
    id: "sample.web_search",
    customName: "web_search",
    providerName: "$web_search",
    parameters: Schema.Unknown,
    success: Schema.Unknown
  })(undefined as never)

  it("echoes the arguments back and asks again, up to the bound", async () => {
    const provider = makeProvider({
      providerTool: () => ({ type: "builtin_function", function: { name: "$web_search" } }),
      providerExecutedTools: { names: ["$web_search"], resolve: (call) => call.arguments, maxRounds: 2 }
    })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          MockUpstream.json(
            index === 0
              ? {
                  id: "c",
                  choices: [
                    {
                      index: 0,
                      message: {
                        role: "assistant",
                        content: "",
                        tool_calls: [
                          {
                            id: "ws_0",
                            type: "builtin_function",
                            function: { name: "$web_search", arguments: '{"q":"x"}' }
                          }
                        ]
                      },
                      finish_reason: "tool_calls"
                    }
                  ],
                  usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 }
                }
              : completion("Found it.", "stop", { prompt_tokens: 300, completion_tokens: 4, total_tokens: 304 })
          ),
        recorder
      )
    )
    const toolkit = Toolkit.make(WebSearch)
    const exit = await run(
      LanguageModel.generateText({ prompt: "search", toolkit, disableToolCallResolution: true }),
      layerOf(provider, "small", { preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const response = exit.value
    expect(response.text).toBe("Found it.")
    expect(recorder.count).toBe(2)
    const second = recorder.calls[1]!.body as { messages: Array<Record<string, unknown>> }
    expect(second.messages.slice(-2)).toEqual([
      {
        role: "assistant",
        reasoning_content: " ",
        tool_calls: [{ id: "ws_0", type: "function", function: { name: "$web_search", arguments: '{"q":"x"}' } }]
      },
      { role: "tool", tool_call_id: "ws_0", name: "$web_search", content: '{"q":"x"}' }
    ])
    expect(response.usage.inputTokens.total).toBe(310)
    expect(ResponseSummary.fromParts(response.content).metadata.providerExecutedRounds).toBe(1)
  })
})

describe("pre-flight and catalog", () => {
  it("with preflight: true, refuses a prompt that cannot fit the context window before any HTTP call", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    const exit = await run(
      LanguageModel.generateText({ prompt: "word ".repeat(400) }),
      layerOf(makeProvider(), "small", { request: { max_tokens: 50 }, preflight: true })
    )
    const error = failure(exit)
    expect(ProviderError.describe(error)).toMatchObject({ reason: "InvalidRequestError", contextLength: true })
    expect(recorder.count).toBe(0)
  })

  it("by default the catalog's context window does not gate the request (the provider's answer decides)", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    const exit = await run(
      LanguageModel.generateText({ prompt: "word ".repeat(400) }),
      layerOf(makeProvider(), "small", { request: { max_tokens: 50 } })
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(recorder.count).toBe(1)
  })

  it("calls an exact counter only when the cheap bound (3 x the JSON length + max_tokens) does not settle it", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop"))))
    const counted: Array<number> = []
    const provider = makeProvider({
      countTokens: (request) =>
        Effect.sync(() => {
          counted.push(JSON.stringify(request.messages).length)
          return 10
        })
    })
    const layer = layerOf(provider, "small", { request: { max_tokens: 50 }, preflight: true })
    // "hi": 3 x 29 + 50 <= 200, nothing to count
    expect(Exit.isSuccess(await run(LanguageModel.generateText({ prompt: "hi" }), layer))).toBe(true)
    expect(counted).toHaveLength(0)
    // 100 characters: 3 x 127 + 50 > 200, counted (10 tokens: fits)
    expect(Exit.isSuccess(await run(LanguageModel.generateText({ prompt: "x".repeat(100) }), layer))).toBe(true)
    expect(counted).toHaveLength(1)
  })

  it("sends a model the catalog marks retired, with a warning naming its replacement", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    const exit = await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(makeProvider(), "old"))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(recorder.count).toBe(1)
    if (Exit.isFailure(exit)) return
    expect(ResponseSummary.fromParts(exit.value.content).metadata.warnings).toEqual([
      expect.stringMatching(/"old" is marked retired \(2026-01-31\).*sent anyway; current models: small/)
    ])
  })

  it("passes an unknown model id through", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    const exit = await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(makeProvider(), "brand-new-model"))
    expect(Exit.isSuccess(exit)).toBe(true)
    expect((recorder.last().body as { model: string }).model).toBe("brand-new-model")
  })
})

describe("transport failures", () => {
  it("an HTML 504 page is an internal provider error that keeps the body, retried", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () => MockUpstream.error(504, "<html><body>504 Gateway Time-out</body></html>"),
        recorder
      )
    )
    const error = failure(await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(makeProvider())))
    expect(error.reason._tag).toBe("InternalProviderError")
    expect(ProviderError.describe(error).status).toBe(504)
    expect(recorder.count).toBe(3)
  })

  it("an error frame inside a 200 stream is classified by the provider table", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([{ error: { message: "quota", type: "insufficient_quota", code: "insufficient_quota" } }], {
          done: false
        })
      )
    )
    const error = failure(
      await run(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })), layerOf(makeProvider()))
    )
    expect(error.reason._tag).toBe("QuotaExhaustedError")
  })

  it("a connection dropped mid-stream is a truncated stream, not a short answer, and is not retried after output", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.sse([chunk({ content: "Hel" }), chunk({ content: "lo" }), chunk({}, "stop")], {
            disconnectAfter: 2
          }),
        recorder
      )
    )
    const error = failure(
      await run(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })), layerOf(makeProvider()))
    )
    expect(ProviderError.conduitMetadata(error), error.message).toMatchObject({ kind: "truncated-stream" })
    expect(recorder.count).toBe(1)
  })

  it("a stream with a finish reason but no [DONE] completes", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([chunk({ content: "ok" }), chunk({}, "stop")], { done: false })
      )
    )
    const exit = await run(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })), layerOf(makeProvider()))
    expect(Exit.isSuccess(exit) && ResponseSummary.fromParts(exit.value).text).toBe("ok")
  })

  it("a stream retried before its first part reports every attempt to the request context", async () => {
    const attempts: Array<number> = []
    server.use(
      MockUpstream.chatCompletions(baseURL, ({ index }) =>
        index < 2
          ? MockUpstream.error(503, { error: { message: "busy", type: "server_error" } })
          : MockUpstream.sse([chunk({ content: "ok" }), chunk({}, "stop")])
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(RequestContext.RequestContext, { onAttempt: (n) => attempts.push(n) })
      ),
      layerOf(makeProvider())
    )
    expect(Exit.isSuccess(exit) && ResponseSummary.fromParts(exit.value).metadata.attempts).toBe(3)
    expect(attempts).toEqual([1, 2, 3])
  })
})

describe("reasoning replay", () => {
  it("sends the reasoning of a tool-call turn back, and a placeholder when it was lost", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("done", "stop")), recorder))
    const prompt = Prompt.fromMessages([
      Prompt.userMessage({ content: [Prompt.textPart({ text: "weather?" })] }),
      Prompt.assistantMessage({
        content: [
          Prompt.reasoningPart({ text: "I should call the tool" }),
          Prompt.toolCallPart({ id: "t1", name: "get_weather", params: { location: "Oslo" }, providerExecuted: false })
        ]
      }),
      Prompt.toolMessage({
        content: [
          Prompt.toolResultPart({
            id: "t1",
            name: "get_weather",
            isFailure: false,
            result: "sunny",
            providerExecuted: false
          })
        ]
      }),
      Prompt.assistantMessage({
        content: [
          Prompt.toolCallPart({ id: "t2", name: "get_weather", params: { location: "Rome" }, providerExecuted: false })
        ]
      }),
      Prompt.toolMessage({
        content: [
          Prompt.toolResultPart({
            id: "t2",
            name: "get_weather",
            isFailure: false,
            result: "rain",
            providerExecuted: false
          })
        ]
      })
    ])
    await run(LanguageModel.generateText({ prompt }), layerOf(makeProvider()))
    const sent = (recorder.last().body as { messages: Array<Record<string, unknown>> }).messages
    expect(sent[1]).toMatchObject({ role: "assistant", reasoning_content: "I should call the tool" })
    expect(sent[3]).toMatchObject({ role: "assistant", reasoning_content: " " })
    expect(sent[2]).toEqual({ role: "tool", tool_call_id: "t1", name: "get_weather", content: "sunny" })
  })
})

describe("the response cache hook", () => {
  it("wraps every call with the normalized wire request (no stream flags)", async () => {
    const seen: Array<ResponseCacheHook.CacheableCall> = []
    const hook: ResponseCacheHook.ResponseCacheHookShape = {
      generate: (call, run) =>
        Effect.suspend(() => {
          seen.push(call)
          return run
        }),
      stream: (call, run) =>
        Stream.suspend(() => {
          seen.push(call)
          return run
        })
    }
    server.use(
      MockUpstream.chatCompletions(baseURL, ({ body }) =>
        body.stream
          ? MockUpstream.sse([chunk({ content: "s" }), chunk({}, "stop")])
          : MockUpstream.json(completion("g", "stop"))
      )
    )
    const layer = layerOf(makeProvider())
    await run(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provideService(ResponseCacheHook.ResponseCacheHook, hook)
      ),
      layer
    )
    await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(ResponseCacheHook.ResponseCacheHook, hook)
      ),
      layer
    )
    expect(seen).toHaveLength(2)
    expect(seen[0]!.request).toEqual(seen[1]!.request)
    expect(seen[0]!.request).not.toHaveProperty("stream")
    expect(seen[0]!.provider).toBe("sample")
  })
})

describe("provider hooks added for Zhipu", () => {
  it("a finish reason declared as a failure is retried before any output and never returned as a short answer", async () => {
    const provider = makeProvider({
      finishFailures: { network_error: { reason: "InternalProviderError", retryable: true } }
    })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          MockUpstream.json(index === 0 ? completion("cut", "network_error") : completion("whole", "stop")),
        recorder
      )
    )
    const exit = await run(
      LanguageModel.generateText({ prompt: "x" }),
      layerOf(provider, "small", { preflight: false })
    )
    expect(Exit.isSuccess(exit) && exit.value.text).toBe("whole")
    expect(recorder.count).toBe(2)

    server.resetHandlers(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([chunk({ content: "partial" }), chunk({}, "network_error")])
      )
    )
    const streamed = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "x" })),
      layerOf(provider, "small", { preflight: false })
    )
    expect(ProviderError.describe(failure(streamed))).toMatchObject({
      reason: "InternalProviderError",
      code: "network_error"
    })
  })

  it("extra wire tools (built-in provider tools) are appended to the declared ones", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    await run(
      LanguageModel.generateText({ prompt: "x" }),
      layerOf(makeProvider(), "small", {
        preflight: false,
        wireTools: [{ type: "web_search", web_search: { enable: true } }]
      })
    )
    expect((recorder.last().body as { tools: unknown }).tools).toEqual([
      { type: "web_search", web_search: { enable: true } }
    ])
  })

  it("the response id is the request id when declared so; a client request_id reaches errors", async () => {
    const provider = makeProvider({ responseIdIsRequestId: true })
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([{ id: "2026abc", choices: [{ index: 0, delta: { content: "ok" }, finish_reason: "stop" }] }])
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "x" })),
      layerOf(provider, "small", { preflight: false })
    )
    expect(Exit.isSuccess(exit) && ResponseSummary.fromParts(exit.value).metadata.requestId).toBe("2026abc")

    server.resetHandlers(
      MockUpstream.chatCompletions(baseURL, () => MockUpstream.error(400, { error: { code: "1214", message: "bad" } }))
    )
    const failed = await run(
      LanguageModel.generateText({ prompt: "x" }),
      layerOf(provider, "small", { preflight: false, request: { request_id: "client-req-7" } })
    )
    expect(ProviderError.describe(failure(failed)).requestId).toBe("client-req-7")
  })

  it("the reasoning-replay policy can be chosen per call from the configuration and the client", async () => {
    const provider = makeProvider({
      reasoningReplay: ({ config, client }) =>
        config.providerOptions?.preserve === true || client.config.baseURL.includes("coding")
          ? { mode: "always" }
          : { mode: "never" }
    })
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("x", "stop")), recorder))
    const prompt = Prompt.fromMessages([
      Prompt.userMessage({ content: [Prompt.textPart({ text: "a" })] }),
      Prompt.assistantMessage({ content: [Prompt.reasoningPart({ text: "thought" }), Prompt.textPart({ text: "b" })] }),
      Prompt.userMessage({ content: [Prompt.textPart({ text: "c" })] })
    ])
    await run(LanguageModel.generateText({ prompt }), layerOf(provider, "small", { preflight: false }))
    await run(
      LanguageModel.generateText({ prompt }),
      layerOf(provider, "small", { preflight: false, providerOptions: { preserve: true } })
    )
    const replayed = recorder.calls.map(
      (call) => (call.body as { messages: Array<Record<string, unknown>> }).messages[1]?.reasoning_content
    )
    expect(replayed).toEqual([undefined, "thought"])
  })
})

describe("hooks found missing while moving the providers onto core", () => {
  it("per-request headers (requestHeaders) are sent on streams as on non-stream calls", async () => {
    const provider = makeProvider({
      requestHeaders: (_request, context) => ({ "x-sample-mode": context.streaming ? "stream" : "json" })
    })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ body }) =>
          (body as { stream?: boolean }).stream === true
            ? MockUpstream.sse([chunk({ content: "x" }), chunk({}, "stop")])
            : MockUpstream.json(completion("x", "stop")),
        recorder
      )
    )
    const layer = layerOf(provider, "small", { preflight: false })
    await run(LanguageModel.generateText({ prompt: "x" }), layer)
    await run(Stream.runDrain(LanguageModel.streamText({ prompt: "x" })), layer)
    expect(recorder.calls.map((call) => call.headers["x-sample-mode"])).toEqual(["json", "stream"])
  })

  it("a stream failing with a finish failure before any output is retried, and its metadata part comes out once", async () => {
    const provider = makeProvider({
      finishFailures: { network_error: { reason: "InternalProviderError", retryable: true } }
    })
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          MockUpstream.sse(
            index === 0
              ? [chunk({ role: "assistant" }), chunk({}, "network_error")]
              : [chunk({ content: "whole" }), chunk({}, "stop")]
          ),
        recorder
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "x" })),
      layerOf(provider, "small", { preflight: false })
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const parts = [...exit.value]
    expect(recorder.count).toBe(2)
    expect(parts.filter((part) => part.type === "response-metadata")).toHaveLength(1)
    expect(parts[0]?.type).toBe("response-metadata")
    expect(ResponseSummary.fromParts(parts).text).toBe("whole")
  })

  describe("a finish failure only without output (onlyWithoutOutput)", () => {
    const provider = makeProvider({
      finishReasons: { model_context_window_exceeded: "length" },
      finishFailures: {
        model_context_window_exceeded: { reason: "InvalidRequestError", contextLength: true, onlyWithoutOutput: true }
      }
    })
    const layer = layerOf(provider, "small", { preflight: false })

    it.each([
      ["non-stream", false],
      ["stream", true]
    ])("%s: no output is a context-length error, not retried", async (_name, streaming) => {
      const recorder = new MockUpstream.Recorder()
      server.use(
        MockUpstream.chatCompletions(
          baseURL,
          () =>
            streaming
              ? MockUpstream.sse([chunk({ role: "assistant" }), chunk({}, "model_context_window_exceeded")])
              : MockUpstream.json(completion("", "model_context_window_exceeded")),
          recorder
        )
      )
      const exit = await run(
        streaming
          ? Stream.runDrain(LanguageModel.streamText({ prompt: "x" }))
          : LanguageModel.generateText({ prompt: "x" }),
        layer
      )
      expect(ProviderError.describe(failure(exit))).toMatchObject({
        reason: "InvalidRequestError",
        contextLength: true,
        code: "model_context_window_exceeded",
        retryable: false
      })
      expect(recorder.count).toBe(1)
    })

    it.each([
      ["non-stream", false],
      ["stream", true]
    ])("%s: after some output it is a length finish with the output kept", async (_name, streaming) => {
      server.use(
        MockUpstream.chatCompletions(baseURL, () =>
          streaming
            ? MockUpstream.sse([chunk({ content: "partial" }), chunk({}, "model_context_window_exceeded")])
            : MockUpstream.json(completion("partial", "model_context_window_exceeded"))
        )
      )
      const exit = await run(
        streaming
          ? Effect.map(Stream.runCollect(LanguageModel.streamText({ prompt: "x" })), (parts) =>
              ResponseSummary.fromParts([...parts])
            )
          : Effect.map(LanguageModel.generateText({ prompt: "x" }), (response) =>
              ResponseSummary.fromParts(response.content)
            ),
        layer
      )
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      expect(exit.value).toMatchObject({ text: "partial", finishReason: "length" })
    })

    it("stream: tool calls alone are output too (the stream path agrees with the non-stream one)", async () => {
      server.use(
        MockUpstream.chatCompletions(baseURL, () =>
          MockUpstream.sse([
            chunk({
              role: "assistant",
              tool_calls: [
                { index: 0, id: "c1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }
              ]
            }),
            chunk({}, "model_context_window_exceeded")
          ])
        )
      )
      const toolkit = Toolkit.make(
        Tool.make("lookup", { parameters: Schema.Struct({ q: Schema.String }), success: Schema.String })
      )
      const exit = await run(
        Effect.map(
          Stream.runCollect(LanguageModel.streamText({ prompt: "x", toolkit, disableToolCallResolution: true })),
          (parts) => ResponseSummary.fromParts([...parts])
        ),
        layer
      )
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      expect(exit.value.toolCalls.map((call) => call.name)).toEqual(["lookup"])
    })
  })
})

describe("the total timeout bounds the whole call, retries included", () => {
  // a 429 asking for a 40 s wait, with the Retry-After cap above it: only the total timeout (2 s) can end the call.
  // The margins hold on a loaded machine: the first attempt has 2 s to reach the upstream, and the call must end
  // well before the 40 s sleep would (15 s), not merely before a second attempt.
  const slowRetry = () =>
    MockUpstream.error(
      429,
      { error: { message: "slow down", type: "rate_limit_reached_error" } },
      { "retry-after-ms": "40000" }
    )
  const policies = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { totalMs: 2_000 }),
      Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 3, maxRetryAfterMs: 60_000 })
    )

  it("stream: a retry's sleep past the deadline ends the stream with the total timeout", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, slowRetry, recorder))
    const started = Date.now()
    const exit = await Effect.runPromiseExit(
      policies(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" }))).pipe(
        Effect.provide(layerOf(makeProvider()))
      )
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 2_000 })
    // the call's own error (not the transport's), as for a wait inside an attempt
    expect(failure(exit)).toMatchObject({ module: "LanguageModel", method: "streamText" })
    // without the bound it ends after the 40 s Retry-After sleep (and a second attempt)
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(recorder.count).toBe(1)
  })

  const answer = Array.from({ length: 6 }, (_, i) => chunk({ content: `w${i} ` })).concat([
    chunk({}, "stop", { prompt_tokens: 4, completion_tokens: 6, total_tokens: 10 })
  ])
  const bounded = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { firstTokenMs: 20_000, idleMs: 20_000, totalMs: 1_000 }),
      Effect.provide(layerOf(makeProvider()))
    )

  it("stream: a stall mid-answer ends at the deadline with the call's total timeout, after the parts before it", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(answer, { stallAfter: 2 })))
    const deltas: Array<string> = []
    const started = Date.now()
    const exit = await Effect.runPromiseExit(
      bounded(
        Stream.runForEach(LanguageModel.streamText({ prompt: "hi" }), (part) =>
          Effect.sync(() => part.type === "text-delta" && deltas.push(part.delta))
        )
      )
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 1_000 })
    expect(failure(exit)).toMatchObject({ module: "LanguageModel", method: "streamText" })
    expect(deltas).toEqual(["w0 ", "w1 "])
    // the idle and first-token bounds (20 s) are far away: only the total one ends it
    expect(Date.now() - started).toBeLessThan(15_000)
  })

  it("stream: the request's deadline (RequestContext) bounds it when tighter than its own total timeout", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(answer, { stallAfter: 2 })))
    const exit = await Effect.runPromiseExit(
      Stream.runDrain(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { idleMs: 20_000, totalMs: 30_000 }),
        Effect.provideService(RequestContext.RequestContext, { deadline: { at: Date.now() + 800, timeoutMs: 800 } }),
        Effect.provide(layerOf(makeProvider()))
      )
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 800 })
  })

  it("stream: a consumer slower than the deadline gets the total timeout at its next pull", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(answer)))
    const deltas: Array<string> = []
    const exit = await Effect.runPromiseExit(
      bounded(
        Stream.runForEach(LanguageModel.streamText({ prompt: "hi" }), (part) =>
          part.type === "text-delta"
            ? Effect.andThen(
                Effect.sync(() => deltas.push(part.delta)),
                deltas.length === 0 ? Effect.sleep("1200 millis") : Effect.void
              )
            : Effect.void
        )
      )
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 1_000 })
    // the whole answer was in hand before the deadline: only the check at the pull ends it
    expect(failure(exit)).toMatchObject({ module: "LanguageModel", method: "streamText" })
    expect(deltas[0]).toBe("w0 ")
  })

  it("non-stream: the same bound", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, slowRetry, recorder))
    const started = Date.now()
    const exit = await Effect.runPromiseExit(
      policies(LanguageModel.generateText({ prompt: "hi" })).pipe(Effect.provide(layerOf(makeProvider())))
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 2_000 })
    expect(Date.now() - started).toBeLessThan(15_000)
    expect(recorder.count).toBe(1)
  })
})

describe("the total timeout of a non-stream call, plain or assembled: the same error at the deadline", () => {
  // totalMs 1.5 s far below every other bound (first token, idle 20 s; a 40 s Retry-After): only the total timeout can
  // end these calls, and it must end them with the call's own error (module LanguageModel, method generateText),
  // whether the plain call is raced against a timer or the assembled call's waits check the deadline
  const totalMs = 1_500
  const bounds = { firstTokenMs: 20_000, idleMs: 20_000, totalMs }
  const stalled = [chunk({ role: "assistant", content: "" }), chunk({ content: "Hel" }), chunk({ content: "lo" })]
  const hang = ({ body }: MockUpstream.ChatCall) =>
    body.stream === true
      ? MockUpstream.sse(stalled, { stallAfter: 2 })
      : new Promise<Response>(() => {
          // a plain request that is never answered
        })
  const cases = [
    {
      name: "a retry's sleep past the deadline",
      respond: () =>
        MockUpstream.error(
          429,
          { error: { message: "slow down", type: "rate_limit_reached_error" } },
          {
            "retry-after-ms": "40000"
          }
        )
    },
    { name: "an answer that stalls (assembled: mid-body; plain: before its headers)", respond: hang }
  ]
  const modes = [
    { mode: "plain", assembleNonStream: false },
    { mode: "assembled", assembleNonStream: true }
  ]
  for (const { name, respond } of cases) {
    for (const { mode, assembleNonStream } of modes) {
      it(`${mode}: ${name}`, async () => {
        const recorder = new MockUpstream.Recorder()
        server.use(MockUpstream.chatCompletions(baseURL, respond, recorder))
        const started = performance.now()
        const exit = await Effect.runPromiseExit(
          LanguageModel.generateText({ prompt: "hi" }).pipe(
            Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, bounds),
            Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 3, maxRetryAfterMs: 60_000 }),
            Effect.provide(layerOf(makeProvider(), "small", { assembleNonStream }))
          )
        )
        const elapsed = performance.now() - started
        const error = failure(exit)
        expect({ module: error.module, method: error.method }).toEqual({
          module: "LanguageModel",
          method: "generateText"
        })
        expect(ProviderError.describe(error)).toMatchObject({ kind: "timeout", timeout: "total", limitMs: totalMs })
        expect(recorder.count).toBe(1)
        expect((recorder.last().body as { stream?: unknown }).stream).toBe(assembleNonStream)
        // not before the deadline; well before any other bound (20 s, 40 s) on a loaded machine
        expect(elapsed).toBeGreaterThanOrEqual(totalMs - 5)
        expect(elapsed).toBeLessThan(15_000)
      })
    }
  }
})

describe("a plain non-stream call under its total timeout", () => {
  it("interrupted by its caller, aborts the upstream request (the call runs in a fiber raced against a timer)", async () => {
    let aborted = false
    server.use(
      http.post(`${baseURL}/chat/completions`, ({ request }) => {
        // never answers; records the client giving up
        return new Promise<Response>((resolve) =>
          request.signal.addEventListener(
            "abort",
            () => {
              aborted = true
              resolve(HttpResponse.error())
            },
            { once: true }
          )
        )
      })
    )
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { totalMs: 60_000 }),
        Effect.provide(layerOf(makeProvider(), "small", { assembleNonStream: false })),
        Effect.timeoutOrElse({ duration: 300, orElse: () => Effect.succeed("caller gave up" as const) })
      )
    )
    expect(Exit.isSuccess(exit) && exit.value).toBe("caller gave up")
    // at once in practice; the margin is for a loaded machine (the call's own bound is 60 s)
    for (let waited = 0; !aborted && waited < 5_000; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50))
    expect(aborted).toBe(true)
  })
})

describe("response metadata", () => {
  const finishMetadata = (parts: ReadonlyArray<{ readonly type: string }>) =>
    (parts.find((part) => part.type === "finish") as { metadata?: { conduit?: Record<string, unknown> } })?.metadata
      ?.conduit

  it("a stream's finish part carries streamed, chunkCount, timeToFirstTokenMs, durationMs, attempts and provider", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([chunk({ role: "assistant" }), chunk({ content: "ok" }), chunk({}, "stop")])
      )
    )
    const exit = await run(Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })), layerOf(makeProvider()))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const conduit = finishMetadata(exit.value)
    expect(conduit).toMatchObject({ streamed: true, chunkCount: 3, attempts: 1, provider: "sample" })
    expect(conduit?.timeToFirstTokenMs).toEqual(expect.any(Number))
    expect(conduit?.durationMs).toEqual(expect.any(Number))
    expect(conduit?.timeToFirstTokenMs as number).toBeGreaterThanOrEqual(0)
    expect(conduit?.durationMs as number).toBeGreaterThanOrEqual(conduit?.timeToFirstTokenMs as number)
  })

  it("a non-stream call reports the same shape (streamed: false)", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("ok", "stop"))))
    const exit = await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(makeProvider()))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const conduit = finishMetadata(exit.value.content)
    expect(conduit).toMatchObject({ streamed: false, attempts: 1, provider: "sample" })
    expect(conduit?.durationMs).toEqual(expect.any(Number))
  })
})

describe("continuation limits", () => {
  it("clamps max_tokens of a continuation to what maxTotalTokens leaves, and stops once it is spent", async () => {
    const provider = makeProvider({ continuation: "instruction" })
    const recorder = new MockUpstream.Recorder()
    // each answer spends 40 output tokens; the budget is 100: continue (40 < 100), continue (80 < 100) with
    // max_tokens clamped to 20, then stop (120 >= 100)
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.json(
            completion("more ", "length", { prompt_tokens: 5, completion_tokens: 40, total_tokens: 45 })
          ),
        recorder
      )
    )
    const exit = await run(
      LanguageModel.generateText({ prompt: "Tell me" }).pipe(
        Effect.provideService(OpenAiCompatLanguageModel.CallConfig, {
          request: { max_tokens: 50 },
          continuation: { maxContinuations: 5, maxTotalTokens: 100 },
          preflight: false
        })
      ),
      layerOf(provider)
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(recorder.count).toBe(3)
    expect(recorder.calls.map((call) => (call.body as { max_tokens?: number }).max_tokens)).toEqual([50, 50, 20])
    expect(exit.value.finishReason).toBe("length")
  })

  it("turned on per call through CallConfig, with the default of 3 continuations", async () => {
    const provider = makeProvider({ continuation: "instruction" })
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("more ", "length")), recorder))
    const exit = await run(
      LanguageModel.generateText({ prompt: "Tell me" }).pipe(
        Effect.provideService(OpenAiCompatLanguageModel.CallConfig, { continuation: true, preflight: false })
      ),
      layerOf(provider)
    )
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(recorder.count).toBe(1 + OpenAiCompatLanguageModel.defaultContinuation.maxContinuations)
    expect(OpenAiCompatLanguageModel.defaultContinuation.maxContinuations).toBe(3)
  })
})

describe("the first-token timeout waits for a token, not for the first chunk", () => {
  it("a stream that opens with a role-only chunk and stalls fails with the first-token timeout, retried", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.sse([chunk({ role: "assistant", content: "" }), chunk({ content: "late" })], { stallAfter: 1 }),
        recorder
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { firstTokenMs: 150, idleMs: 60_000 }),
        Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 1, baseDelayMs: 1 })
      ),
      layerOf(makeProvider())
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({
      kind: "timeout",
      timeout: "firstToken",
      limitMs: 150
    })
    expect(recorder.count).toBe(2)
  })

  it("a reasoning delta is a token: a stall after it is an idle timeout, not retried", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () => MockUpstream.sse([chunk({ role: "assistant", reasoning_content: "Let me" })], { stallAfter: 1 }),
        recorder
      )
    )
    const exit = await run(
      Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { firstTokenMs: 60_000, idleMs: 150 })
      ),
      layerOf(makeProvider())
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "idle", limitMs: 150 })
    expect(recorder.count).toBe(1)
  })
})

describe("the transport hook", () => {
  it("wraps each model's transport (once per model service), for wire quirks below the Chat Completions shapes", async () => {
    const seen: Array<string> = []
    const provider = makeProvider({
      transport: (client, model) => {
        seen.push(model)
        return {
          ...client,
          createChatCompletion: (request, headers) =>
            Effect.map(client.createChatCompletion(request, headers), (response) => ({
              ...response,
              body: {
                ...response.body,
                choices: response.body.choices.map((choice) => ({
                  ...choice,
                  message: { ...choice.message, content: String(choice.message?.content).toUpperCase() }
                }))
              }
            }))
        }
      }
    })
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion("quiet words", "stop"))))
    const exit = await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(provider))
    expect(Exit.isSuccess(exit) && exit.value.text).toBe("QUIET WORDS")
    expect(seen).toEqual(["small"])
  })
})

describe("non-stream calls in streaming mode, assembled (assembleNonStream)", () => {
  const assembling = makeProvider({ assembleNonStream: () => true })
  // bounds an answered attempt meets on a loaded machine (its first chunk and each next one within 1.5 s), so only
  // the never-answering and stalling upstreams below reach them
  const bounds = { firstTokenMs: 1_500, idleMs: 1_500, totalMs: 30_000 }
  const answer = [
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }),
    chunk({}, "stop", { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 })
  ]
  const generate = (layer: Layer.Layer<LanguageModel.LanguageModel>, retries = 2) =>
    run(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, bounds),
        Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: retries, baseDelayMs: 1, maxDelayMs: 2 })
      ),
      layer
    )
  /** Answers the first request with `first` (a never-answered request when undefined), the others with `answer`. */
  const upstream = (first: (() => Response) | undefined, recorder: MockUpstream.Recorder) =>
    server.use(
      http.post(`${baseURL}/chat/completions`, async ({ request }) => {
        await recorder.record(request.clone())
        if (recorder.count > 1) return MockUpstream.sse(answer)
        if (first !== undefined) return first()
        // reads the request and never answers (until the client gives up)
        return new Promise<Response>((resolve) =>
          request.signal.addEventListener("abort", () => resolve(HttpResponse.error()), { once: true })
        )
      })
    )

  it("sends the request in streaming mode with include_usage and answers with the assembled text and usage", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(answer), recorder))
    const exit = await generate(layerOf(assembling))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("Hello")
    expect(exit.value.usage).toMatchObject({ inputTokens: { total: 4 }, outputTokens: { total: 2 } })
    expect(recorder.last().body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
  })

  it("an upstream that reads the request and never answers is retried after the first-token bound", async () => {
    const recorder = new MockUpstream.Recorder()
    upstream(undefined, recorder)
    const started = performance.now()
    const exit = await generate(layerOf(assembling))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("Hello")
    expect(recorder.count).toBe(2)
    // detected at the first-token bound (1.5 s), far inside the total bound (30 s)
    expect(performance.now() - started).toBeLessThan(12_000)
  })

  it("a stall mid-answer (idle bound) is retried: nothing reached the caller", async () => {
    const recorder = new MockUpstream.Recorder()
    upstream(() => MockUpstream.sse(answer, { stallAfter: 2 }), recorder)
    const exit = await generate(layerOf(assembling))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("Hello")
    expect(recorder.count).toBe(2)
  })

  it("a connection reset mid-stream is retried", async () => {
    const recorder = new MockUpstream.Recorder()
    upstream(() => MockUpstream.sse(answer, { disconnectAfter: 2 }), recorder)
    const exit = await generate(layerOf(assembling))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("Hello")
    expect(recorder.count).toBe(2)
  })

  it("a hung attempt without retries left fails with the retryable first-token timeout", async () => {
    const recorder = new MockUpstream.Recorder()
    upstream(undefined, recorder)
    const exit = await generate(layerOf(assembling), 0)
    expect(ProviderError.describe(failure(exit))).toMatchObject({
      kind: "timeout",
      timeout: "firstToken",
      retryable: true
    })
    expect(recorder.count).toBe(1)
  })

  it("a model configured with assembleNonStream: false sends plain requests, bounded by the total timeout only", async () => {
    const recorder = new MockUpstream.Recorder()
    upstream(undefined, recorder)
    const exit = await run(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        // a first-token bound below the total one: applied to this plain request, it would end it first
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { firstTokenMs: 200, idleMs: 200, totalMs: 1_000 })
      ),
      layerOf(assembling, "small", { assembleNonStream: false })
    )
    expect(ProviderError.describe(failure(exit))).toMatchObject({ kind: "timeout", timeout: "total" })
    expect(recorder.count).toBe(1)
    expect((recorder.last().body as { stream?: unknown }).stream).toBe(false)
  })
})

describe("plain non-stream calls: a connection reset mid-body", () => {
  it("is a retryable network error, retried under the policy", async () => {
    const recorder = new MockUpstream.Recorder()
    const body = JSON.stringify(completion("Hello", "stop"))
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) => {
          if (index > 0) return MockUpstream.json(completion("Hello", "stop"))
          const stream = new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(new TextEncoder().encode(body.slice(0, 20)))
              await new Promise((resolve) => setTimeout(resolve, 20))
              controller.error(new Error("upstream connection reset"))
            }
          })
          return new HttpResponse(stream, {
            headers: { "content-type": "application/json", "transfer-encoding": "chunked" }
          })
        },
        recorder
      )
    )
    const exit = await run(LanguageModel.generateText({ prompt: "hi" }), layerOf(makeProvider()))
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    expect(exit.value.text).toBe("Hello")
    expect(recorder.count).toBe(2)
  })
})
