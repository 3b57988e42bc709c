/**
 * The provider conformance suite: one vitest suite every provider package runs against MSW handlers that speak
 * its wire format, so "a provider" means the same thing everywhere.
 *
 * It covers: text (non-stream and stream), reasoning, tool calls (non-stream and stream), usage with cached and
 * reasoning tokens, 401, 404, a retryable 429 with `Retry-After` (honoured, then success), a quota 429 (exactly one
 * attempt), a 5xx retried, content policy, a truncated stream (typed failure, never a short answer), an idle
 * timeout, a first-token timeout, and abort (the upstream request is aborted when the consumer stops).
 *
 * The provider supplies {@link ConformanceFixtures}: its own authored scenario data reproducing the recorded wire
 * shapes (chunks, bodies, error bodies and headers), and a layer factory pointing its model at a test base URL.
 *
 * The Promise face's missing-key case is {@link expectCreateWithoutKeyThrows}, for a provider's own tests.
 *
 * @since 0.1.0
 */
import { Duration, Effect, Exit, type Layer, Schema, Stream } from "effect"
import { AiError, LanguageModel, type Response, Tool, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import * as OpenAiCompatLanguageModel from "../OpenAiCompatLanguageModel.js"
import * as PromiseClient from "../PromiseClient.js"
import * as ProviderError from "../ProviderError.js"
import * as RetryPolicy from "../RetryPolicy.js"
import * as TimeoutPolicy from "../TimeoutPolicy.js"
import type * as Usage from "../Usage.js"
import { vitest } from "./internal/vitest.js"
import * as MockUpstream from "./MockUpstream.js"

/**
 * An HTTP error as the provider sends it.
 *
 * @since 0.1.0
 */
export interface WireError {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

/**
 * The provider's scenario data. Chunk lists are stream chunk objects (no `[DONE]`: the suite adds it); bodies are
 * non-streaming response bodies. Tool-call fixtures must call a tool named `get_weather` with
 * `{ "location": string }` arguments.
 *
 * @since 0.1.0
 */
export interface ConformanceFixtures {
  readonly completions: {
    readonly text: { readonly body: unknown; readonly text: string }
    readonly toolCall: { readonly body: unknown; readonly location: string }
  }
  readonly streams: {
    readonly text: { readonly chunks: ReadonlyArray<unknown>; readonly text: string }
    readonly reasoning: { readonly chunks: ReadonlyArray<unknown>; readonly reasoning: string; readonly text: string }
    readonly toolCall: { readonly chunks: ReadonlyArray<unknown>; readonly location: string }
    readonly usage: { readonly chunks: ReadonlyArray<unknown>; readonly usage: Usage.TokenUsage }
  }
  readonly errors: {
    readonly unauthorized: WireError
    readonly notFound: WireError
    readonly rateLimited: WireError
    readonly quotaExhausted: WireError
    readonly serverError: WireError
    readonly contentPolicy: WireError
  }
}

/**
 * Options of {@link runProviderConformance}.
 *
 * - `name`: the suite name. `baseURL`: where the provider's layer sends requests (MSW intercepts it).
 * - `layer`: the provider's `LanguageModel` layer for `model`, configured with a test key and `baseURL`.
 * - `fixtures`: the scenario data.
 * - `assemblesNonStream`: the provider sends a plain non-stream text request in streaming mode and assembles the
 *   answer (its spec's `assembleNonStream`; default false). The non-stream scenarios' upstream answers with JSON,
 *   which core reads as the one chunk of the stream.
 *
 * @since 0.1.0
 */
export interface ConformanceOptions {
  readonly name: string
  readonly baseURL: string
  readonly layer: Layer.Layer<LanguageModel.LanguageModel>
  readonly fixtures: ConformanceFixtures
  readonly assemblesNonStream?: boolean | undefined
}

const GetWeather = Tool.make("get_weather", {
  description: "Get the current weather for a location",
  parameters: Schema.Struct({ location: Schema.String }),
  success: Schema.String
})
const Tools = Toolkit.make(GetWeather)

const fastRetries: RetryPolicy.RetryPolicyInput = { baseDelayMs: 5, maxDelayMs: 20, maxRetries: 2 }

/**
 * Registers the suite (call it at the top level of a test file).
 *
 * @since 0.1.0
 */
export const runProviderConformance = (options: ConformanceOptions): void => {
  const { afterAll, afterEach, beforeAll, describe, expect, it } = vitest("Conformance.runProviderConformance")
  const { baseURL, fixtures } = options
  const server = setupServer()
  const run = <A>(effect: Effect.Effect<A, AiError.AiError, LanguageModel.LanguageModel>) =>
    Effect.runPromiseExit(
      effect.pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, fastRetries), Effect.provide(options.layer))
    )
  const respond = (reply: (call: MockUpstream.ChatCall) => Response | Promise<Response>) => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, reply, recorder))
    return recorder
  }
  const wireError = (e: WireError) => MockUpstream.error(e.status, e.body, e.headers)
  const collect = <A>(stream: Stream.Stream<A, AiError.AiError, LanguageModel.LanguageModel>) =>
    run(Stream.runCollect(stream))
  const failureOf = (exit: Exit.Exit<unknown, AiError.AiError>): AiError.AiError => {
    if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
    const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
    if (error === undefined || error._tag !== "Fail" || !AiError.isAiError(error.error)) {
      throw new Error(`expected an AiError failure, got ${String(exit.cause)}`)
    }
    return error.error
  }
  const textOf = (parts: ReadonlyArray<Response.AnyPart>) =>
    parts.map((part) => (part.type === "text-delta" ? part.delta : "")).join("")

  describe(`${options.name}: provider conformance`, () => {
    beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
    afterEach(() => server.resetHandlers())
    afterAll(() => server.close())

    it("generates text (non-stream)", async () => {
      const recorder = respond(() => MockUpstream.json(fixtures.completions.text.body))
      const exit = await run(LanguageModel.generateText({ prompt: "Say hello" }))
      expect(Exit.isSuccess(exit) && exit.value.text).toBe(fixtures.completions.text.text)
      expect(recorder.count).toBe(1)
      const sent = recorder.last().body as { messages: Array<{ role: string; content: unknown }>; stream?: unknown }
      expect(sent.messages.at(-1)).toMatchObject({ role: "user", content: "Say hello" })
      expect(sent.stream ?? false).toBe(options.assemblesNonStream ?? false)
      expect(recorder.last().headers.authorization).toMatch(/^Bearer .+/)
    })

    it("streams text and reports stream metadata", async () => {
      const recorder = respond(() => MockUpstream.sse(fixtures.streams.text.chunks))
      const exit = await collect(LanguageModel.streamText({ prompt: "Say hello" }))
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      expect(textOf(exit.value)).toBe(fixtures.streams.text.text)
      const finish = exit.value.find((part) => part.type === "finish")
      expect(finish).toBeDefined()
      expect(finish?.metadata.conduit).toMatchObject({ streamed: true, attempts: 1 })
      expect((recorder.last().body as { stream?: boolean }).stream).toBe(true)
    })

    it("streams reasoning separately from the answer", async () => {
      respond(() => MockUpstream.sse(fixtures.streams.reasoning.chunks))
      const exit = await collect(LanguageModel.streamText({ prompt: "Think, then answer" }))
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      const reasoning = exit.value.map((part) => (part.type === "reasoning-delta" ? part.delta : "")).join("")
      expect(reasoning).toBe(fixtures.streams.reasoning.reasoning)
      expect(textOf(exit.value)).toBe(fixtures.streams.reasoning.text)
    })

    it("returns a tool call (non-stream)", async () => {
      respond(() => MockUpstream.json(fixtures.completions.toolCall.body))
      const exit = await run(
        LanguageModel.generateText({ prompt: "Weather?", toolkit: Tools, disableToolCallResolution: true })
      )
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      expect(exit.value.toolCalls.map((call) => [call.name, call.params])).toEqual([
        ["get_weather", { location: fixtures.completions.toolCall.location }]
      ])
      expect(exit.value.finishReason).toBe("tool-calls")
    })

    it("streams a tool call assembled from its deltas", async () => {
      const recorder = respond(() => MockUpstream.sse(fixtures.streams.toolCall.chunks))
      const exit = await collect(
        LanguageModel.streamText({ prompt: "Weather?", toolkit: Tools, disableToolCallResolution: true })
      )
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      const calls = exit.value.filter((part) => part.type === "tool-call")
      expect(calls.map((call) => [call.name, call.params])).toEqual([
        ["get_weather", { location: fixtures.streams.toolCall.location }]
      ])
      const tools = (recorder.last().body as { tools?: Array<{ function?: { name?: string } }> }).tools
      expect(tools?.[0]?.function?.name).toBe("get_weather")
    })

    it("reports usage with cached input and reasoning tokens", async () => {
      respond(() => MockUpstream.sse(fixtures.streams.usage.chunks))
      const exit = await collect(LanguageModel.streamText({ prompt: "Hi" }))
      if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
      const finish = exit.value.find((part) => part.type === "finish")
      const expected = fixtures.streams.usage.usage
      expect(finish?.usage.inputTokens.total).toBe(expected.inputTokens)
      expect(finish?.usage.inputTokens.cacheRead).toBe(expected.cachedInputTokens)
      expect(finish?.usage.outputTokens.total).toBe(expected.outputTokens)
      expect(finish?.usage.outputTokens.reasoning).toBe(expected.reasoningTokens)
    })

    it("maps 401 to an authentication error, without retrying", async () => {
      const recorder = respond(() => wireError(fixtures.errors.unauthorized))
      const error = failureOf(await run(LanguageModel.generateText({ prompt: "Hi" })))
      expect(error.reason._tag).toBe("AuthenticationError")
      expect(recorder.count).toBe(1)
    })

    it("maps 404 to a non-retryable invalid request", async () => {
      const recorder = respond(() => wireError(fixtures.errors.notFound))
      const error = failureOf(await run(LanguageModel.generateText({ prompt: "Hi" })))
      expect(error.reason._tag).toBe("InvalidRequestError")
      expect(ProviderError.isRetryable(error)).toBe(false)
      expect(recorder.count).toBe(1)
    })

    it("retries a rate-limited 429 after its Retry-After, then succeeds", async () => {
      const advisedMs = ProviderError.retryAfterFromHeaders(fixtures.errors.rateLimited.headers ?? {})
      expect(advisedMs).toBeDefined()
      const times: Array<number> = []
      const recorder = respond(({ index }) => {
        times.push(performance.now())
        return index === 0 ? wireError(fixtures.errors.rateLimited) : MockUpstream.json(fixtures.completions.text.body)
      })
      const exit = await run(LanguageModel.generateText({ prompt: "Hi" }))
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(recorder.count).toBe(2)
      const waited = (times[1] ?? 0) - (times[0] ?? 0)
      expect(waited).toBeGreaterThanOrEqual((advisedMs === undefined ? 0 : Duration.toMillis(advisedMs)) - 5)
    })

    it("never retries a quota error sent as 429 (exactly one attempt)", async () => {
      const recorder = respond(() => wireError(fixtures.errors.quotaExhausted))
      const error = failureOf(await run(LanguageModel.generateText({ prompt: "Hi" })))
      expect(error.reason._tag).toBe("QuotaExhaustedError")
      expect(recorder.count).toBe(1)
    })

    it("retries a 5xx, then succeeds", async () => {
      const recorder = respond(({ index }) =>
        index === 0 ? wireError(fixtures.errors.serverError) : MockUpstream.json(fixtures.completions.text.body)
      )
      const exit = await run(LanguageModel.generateText({ prompt: "Hi" }))
      expect(Exit.isSuccess(exit) && exit.value.text).toBe(fixtures.completions.text.text)
      expect(recorder.count).toBe(2)
    })

    it("stops after maxRetries + 1 attempts on a persistent 5xx", async () => {
      const recorder = respond(() => wireError(fixtures.errors.serverError))
      const error = failureOf(await run(LanguageModel.generateText({ prompt: "Hi" })))
      expect(error.reason._tag).toBe("InternalProviderError")
      expect(recorder.count).toBe((fastRetries.maxRetries ?? 0) + 1)
    })

    it("maps a content-policy rejection, without retrying", async () => {
      const recorder = respond(() => wireError(fixtures.errors.contentPolicy))
      const error = failureOf(await run(LanguageModel.generateText({ prompt: "Hi" })))
      expect(error.reason._tag).toBe("ContentPolicyError")
      expect(recorder.count).toBe(1)
    })

    it("fails a stream that ends without [DONE] or a finish reason (never a short answer)", async () => {
      const withoutFinish = fixtures.streams.text.chunks.slice(0, Math.max(1, fixtures.streams.text.chunks.length - 1))
      respond(() => MockUpstream.sse(withoutFinish, { done: false }))
      const exit = await collect(
        LanguageModel.streamText({ prompt: "Hi" }).pipe(
          Stream.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 0 })
        )
      )
      const error = failureOf(exit)
      expect(error.reason._tag).toBe("InvalidResponseError")
      expect(ProviderError.conduitMetadata(error)?.kind).toBe("truncated-stream")
    })

    it("fails a stalled stream with an idle timeout naming its limit", async () => {
      // stall right after the first chunk that carries text (before it, the first-token limit applies)
      const firstText = fixtures.streams.text.chunks.findIndex((chunk) =>
        /"content":"[^"]/.test(JSON.stringify((chunk as { choices?: unknown }).choices ?? []))
      )
      respond(() => MockUpstream.sse(fixtures.streams.text.chunks, { stallAfter: firstText + 1 }))
      const exit = await collect(
        LanguageModel.streamText({ prompt: "Hi" }).pipe(
          Stream.provideService(TimeoutPolicy.CallTimeoutPolicy, { idleMs: 150 })
        )
      )
      const error = failureOf(exit)
      expect(ProviderError.describe(error)).toMatchObject({ kind: "timeout", timeout: "idle", limitMs: 150 })
    })

    it("fails a silent upstream with a first-token timeout, retried before giving up", async () => {
      const recorder = respond(() => MockUpstream.sse(fixtures.streams.text.chunks, { stallAfter: 0 }))
      const exit = await collect(
        LanguageModel.streamText({ prompt: "Hi" }).pipe(
          Stream.provideService(TimeoutPolicy.CallTimeoutPolicy, { firstTokenMs: 100 }),
          Stream.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 1, baseDelayMs: 1 })
        )
      )
      const error = failureOf(exit)
      expect(ProviderError.describe(error)).toMatchObject({ kind: "timeout", timeout: "firstToken", limitMs: 100 })
      expect(recorder.count).toBe(2)
    })

    it("aborts the upstream request when the consumer stops reading", async () => {
      let cancelled = false
      const recorder = respond(({ onCancel }) =>
        MockUpstream.sse(fixtures.streams.text.chunks, {
          delayMs: 50,
          onCancel: () => {
            cancelled = true
            onCancel()
          }
        })
      )
      const exit = await collect(LanguageModel.streamText({ prompt: "Hi" }).pipe(Stream.take(1)))
      expect(Exit.isSuccess(exit)).toBe(true)
      const deadline = Date.now() + 1_000
      while (!recorder.last().aborted && !cancelled && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(recorder.last().aborted || cancelled).toBe(true)
    })

    it("merges per-call wire parameters into the request", async () => {
      const recorder = respond(() => MockUpstream.json(fixtures.completions.text.body))
      await run(
        LanguageModel.generateText({ prompt: "Hi" }).pipe(
          OpenAiCompatLanguageModel.withCallConfig({ request: { max_tokens: 77 } })
        )
      )
      expect((recorder.last().body as { max_tokens?: number }).max_tokens).toBe(77)
    })
  })
}

/**
 * The Promise face's missing-key case, for a provider's tests: with every key variable unset (`vi.stubEnv`; the
 * caller's `afterEach(() => vi.unstubAllEnvs())` restores them), `create()`, `create({})` and
 * `create({ apiKey: undefined })` each throw a `PromiseClient.ConduitError` (`reason: "AuthenticationError"`, no
 * `status`) whose message names the variables (`"A or B"`), and nothing is sent: `sent()` (the mock's request count)
 * stays 0.
 *
 * @since 0.1.0
 */
export const expectCreateWithoutKeyThrows = (options: {
  readonly create: (options?: { readonly apiKey?: undefined }) => unknown
  readonly keyVariables: readonly [string, ...Array<string>]
  readonly sent: () => number
}): void => {
  const { expect, vi } = vitest("Conformance.expectCreateWithoutKeyThrows")
  const { create, keyVariables } = options
  for (const variable of keyVariables) vi.stubEnv(variable, undefined)
  for (const attempt of [() => create(), () => create({}), () => create({ apiKey: undefined })]) {
    let thrown: unknown
    try {
      attempt()
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(PromiseClient.ConduitError)
    expect(thrown).toMatchObject({ reason: "AuthenticationError", status: undefined })
    expect((thrown as Error).message).toMatch(keyVariables.join(" or "))
  }
  expect(options.sent()).toBe(0)
}
