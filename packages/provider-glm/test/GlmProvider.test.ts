/**
 * The declarations: finish reasons over every value seen on the wire, and the provider core builds from them, which
 * behaves like `GlmClient` + `GlmLanguageModel` (the same scenarios through both).
 */
import { FinishReason, ProviderError, ResponseSummary, RetryPolicy } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Exit, Layer, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, type Response } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmConfig from "../src/GlmConfig.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmProvider from "../src/GlmProvider.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

describe("finish reasons", () => {
  it.each([
    ["stop", "stop", false, "stop"],
    ["stop with tool calls", "stop", true, "tool-calls"],
    ["length", "length", false, "length"],
    ["tool_calls", "tool_calls", true, "tool-calls"],
    ["finish_reason sensitive is a content-filter finish", "sensitive", false, "content-filter"],
    ["network_error finish", "network_error", false, "error"],
    ["model_context_window_exceeded", "model_context_window_exceeded", false, "length"],
    ["a value Zhipu never documented (the SDK tests' fake normal)", "normal", false, "other"]
  ] as const)("%s", (_name, wire, hasToolCalls, expected) => {
    expect(FinishReason.map(wire, { hasToolCalls, extra: GlmProvider.finishReasons })).toBe(expected)
  })

  Recordings.describeRecordings("every finish reason recorded in glm/fantasy is mapped", () => {
    it("maps each recorded value to a known effect/ai reason", () => {
      const seen = new Set<string>()
      for (const file of Recordings.list("glm/fantasy", /\.yaml$/)) {
        for (const { response } of Recordings.readCassette(file).interactions) {
          for (const match of (response.sse?.join("\n") ?? response.body).matchAll(/"finish_reason":"(\w+)"/g)) {
            if (match[1] !== undefined) seen.add(match[1])
          }
        }
      }
      expect([...seen].sort()).toEqual(["stop", "tool_calls"])
      for (const raw of seen) {
        expect(Object.keys(GlmProvider.finishReasons)).toContain(raw)
      }
    })
  })
})

describe("the provider core builds", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  it("serves a model through core's own layer (declarations only)", async () => {
    server.use(
      MockUpstream.chatCompletions(GlmProvider.baseURLs.default, () => MockUpstream.json(GlmScenarios.text.body))
    )
    const provider = GlmProvider.provider
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(provider.layer("glm-4.6").pipe(Layer.provide(provider.clientLayer({ apiKey: "test-key" }))))
      )
    )
    expect(response.text).toBe(GlmScenarios.text.text)
    expect(provider.name).toBe("glm")
  })

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
  const replayed = async (url: string, options: Omit<GlmProvider.ClientOptions, "apiKey">) => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(url, () => MockUpstream.json(GlmScenarios.text.body), recorder))
    const provider = GlmProvider.provider
    await Effect.runPromise(
      LanguageModel.generateText({ prompt: history }).pipe(
        Effect.provide(
          provider.layer("glm-4.6").pipe(Layer.provide(provider.clientLayer({ ...options, apiKey: "test-key" })))
        )
      )
    )
    return (recorder.last().body as { messages: Array<{ reasoning_content?: string }> }).messages[1]?.reasoning_content
  }

  it("the shaping follows the client's endpoint, with core's own layer: Preserved Thinking on the coding plan", async () => {
    expect(await replayed(GlmProvider.baseURLs.default, {})).toBeUndefined()
    expect(await replayed(GlmProvider.baseURLs["global-coding"], { plan: "coding" })).toBe("They ask who I am.")
    expect(await replayed(GlmProvider.baseURLs["cn-coding"], { baseURL: GlmProvider.baseURLs["cn-coding"] })).toBe(
      "They ask who I am."
    )
    // plan "coding" through a proxy: the plan decides
    expect(await replayed("https://proxy.test/v4", { plan: "coding", baseURL: "https://proxy.test/v4" })).toBe(
      "They ask who I am."
    )
  })
})

describe("GlmProvider.provider behaves like GlmClient and GlmLanguageModel", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  const fast = { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 2 }
  type Stack = Layer.Layer<LanguageModel.LanguageModel>
  // the builder's own client and model layers, as the gateway and the registry use them
  const viaProvider = (): Stack =>
    GlmProvider.provider.layer("glm-4.6").pipe(Layer.provide(GlmProvider.provider.clientLayer({ apiKey: "test-key" })))
  // the package's modules
  const viaModules = (): Stack =>
    GlmLanguageModel.layer("glm-4.6").pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key" })))

  const textChunks = (id: string, text: string) =>
    GlmScenarios.pieces(text).map((p) => GlmScenarios.chunk(id, "glm-4.6", { content: p }))

  /** What a caller observes: the answer (text, finish, raw finish, request id, attempts) or the error's summary. */
  const outcome = (exit: Exit.Exit<ReadonlyArray<Response.AnyPart>, AiError.AiError>) => {
    if (Exit.isSuccess(exit)) {
      const summary = ResponseSummary.fromParts(exit.value)
      return {
        ok: true,
        text: summary.text,
        finishReason: summary.finishReason,
        rawFinishReason: summary.metadata.rawFinishReason,
        requestId: summary.metadata.requestId,
        attempts: summary.metadata.attempts
      }
    }
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    if (reason === undefined || reason._tag !== "Fail") throw new Error(String(exit.cause))
    const {
      reason: tag,
      kind,
      retryable,
      contextLength,
      requestId,
      code,
      status,
      message
    } = ProviderError.describe(reason.error)
    return { ok: false, reason: tag, kind, retryable, contextLength, requestId, code, status, message }
  }

  const run = async (
    stack: Stack,
    mode: "generate" | "stream",
    reply: (call: MockUpstream.ChatCall) => globalThis.Response,
    requestId?: string
  ) => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(GlmProvider.baseURLs.default, reply, recorder))
    const options = requestId === undefined ? {} : { request_id: requestId }
    const parts: Effect.Effect<ReadonlyArray<Response.AnyPart>, AiError.AiError, LanguageModel.LanguageModel> = mode ===
    "generate"
      ? LanguageModel.generateText({ prompt: "hi" }).pipe(
          GlmConfig.withProviderOptions(options),
          Effect.map((response) => response.content)
        )
      : Stream.runCollect(LanguageModel.streamText({ prompt: "hi" }).pipe(GlmConfig.streamWithProviderOptions(options)))
    const exit = await Effect.runPromiseExit(
      parts.pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, fast), Effect.provide(stack))
    )
    server.resetHandlers()
    return { ...outcome(exit), requests: recorder.count }
  }

  const id = GlmScenarios.responseId(60)
  const networkError = (tokens = GlmScenarios.usage(5, 0)) =>
    MockUpstream.sse([GlmScenarios.finishChunk(id, "glm-4.6", "network_error", tokens)])
  const windowExceeded = (message: Record<string, unknown>) =>
    MockUpstream.json(
      GlmScenarios.completion(id, "glm-4.6", message, "model_context_window_exceeded", GlmScenarios.usage(200_000, 0))
    )
  const scenarios: ReadonlyArray<
    readonly [
      string,
      "generate" | "stream",
      (call: MockUpstream.ChatCall) => globalThis.Response,
      Record<string, unknown>,
      string?
    ]
  > = [
    [
      "network_error before any output in a stream: retried",
      "stream",
      ({ index }) => (index === 0 ? networkError() : MockUpstream.sse(GlmScenarios.text.chunks)),
      { ok: true, text: GlmScenarios.text.text, finishReason: "stop", requests: 2 }
    ],
    [
      "network_error in a non-streaming answer: retried",
      "generate",
      ({ index }) =>
        index === 0
          ? MockUpstream.json(
              GlmScenarios.completion(id, "glm-4.6", { content: "half" }, "network_error", GlmScenarios.usage(5, 1))
            )
          : MockUpstream.json(GlmScenarios.text.body),
      { ok: true, text: GlmScenarios.text.text, finishReason: "stop", requests: 2 }
    ],
    [
      "network_error after streamed text: fails, not retried",
      "stream",
      () =>
        MockUpstream.sse(
          [
            ...textChunks(id, "The answer is"),
            GlmScenarios.finishChunk(id, "glm-4.6", "network_error", GlmScenarios.usage(5, 3))
          ],
          { delayMs: 5 }
        ),
      { ok: false, reason: "InternalProviderError", kind: "finish-network-error", requestId: id, requests: 1 }
    ],
    [
      "model_context_window_exceeded without output (non-stream): a context-length error, not retried",
      "generate",
      () => windowExceeded({ content: "" }),
      {
        ok: false,
        reason: "InvalidRequestError",
        kind: "finish-context-window-exceeded",
        contextLength: true,
        retryable: false,
        requestId: id,
        requests: 1
      }
    ],
    [
      "model_context_window_exceeded without output (stream): a context-length error, not retried",
      "stream",
      () =>
        MockUpstream.sse([
          GlmScenarios.finishChunk(id, "glm-4.6", "model_context_window_exceeded", GlmScenarios.usage(9, 0))
        ]),
      {
        ok: false,
        reason: "InvalidRequestError",
        kind: "finish-context-window-exceeded",
        contextLength: true,
        retryable: false,
        requestId: id,
        requests: 1
      }
    ],
    [
      "model_context_window_exceeded after output (non-stream): a length finish",
      "generate",
      () => windowExceeded({ content: "A long answer" }),
      { ok: true, text: "A long answer", finishReason: "length", rawFinishReason: "model_context_window_exceeded" }
    ],
    [
      "model_context_window_exceeded after output (stream): a length finish",
      "stream",
      () =>
        MockUpstream.sse([
          ...textChunks(id, "A long answer"),
          GlmScenarios.finishChunk(id, "glm-4.6", "model_context_window_exceeded", GlmScenarios.usage(199_000, 1000))
        ]),
      { ok: true, text: "A long answer", finishReason: "length", rawFinishReason: "model_context_window_exceeded" }
    ],
    [
      "request id of a stream: the response id",
      "stream",
      () => MockUpstream.sse(GlmScenarios.text.chunks),
      { ok: true, requestId: GlmScenarios.text.chunks[0]?.id }
    ],
    [
      "request id of a failed call: the client's request_id",
      "generate",
      () => GlmMock.errorResponse(GlmScenarios.errors.insufficientBalanceEn),
      { ok: false, reason: "QuotaExhaustedError", requestId: "my-request-61" },
      "my-request-61"
    ]
  ]

  for (const [name, mode, reply, expected, requestId] of scenarios) {
    it(name, async () => {
      const modules = await run(viaModules(), mode, reply, requestId)
      const provider = await run(viaProvider(), mode, reply, requestId)
      expect(modules).toMatchObject(expected)
      expect(provider).toEqual(modules)
    })
  }
})
