import { Effect, Exit, Layer, Option, Stream, Tracer } from "effect"
import { type AiError, LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as Tracing from "../src/Tracing.js"
import * as MemoryTracer from "../src/testing/MemoryTracer.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"
import { sampleModel, sampleProvider } from "./sample.js"

const baseURL = "https://model.test:8443/v1"
const provider = sampleProvider(baseURL, {
  defaultModel: "small",
  catalog: ModelCatalog.make("sample", [sampleModel("small")]),
  reasoningReplay: { mode: "never" }
})
const layer = provider.layer("small").pipe(Layer.provide(provider.clientLayer({ apiKey: "k" })))

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const usage = {
  prompt_tokens: 120,
  completion_tokens: 30,
  total_tokens: 150,
  prompt_tokens_details: { cached_tokens: 100 },
  completion_tokens_details: { reasoning_tokens: 12 }
}
const completion = {
  id: "chatcmpl-1",
  created: 1,
  model: "small-2026",
  choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, finish_reason: "stop" }],
  usage
}
const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-s",
  created: 1,
  model: "small-2026",
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra
})

const run = <A>(
  effect: Effect.Effect<A, AiError.AiError, LanguageModel.LanguageModel>,
  tracer: Tracer.Tracer | undefined,
  capture = false
) =>
  Effect.runPromiseExit(
    effect.pipe(
      Effect.provideService(RetryPolicy.CallRetryPolicy, { baseDelayMs: 1, maxDelayMs: 2 }),
      Effect.provideService(Tracing.CaptureContent, capture),
      Effect.provide(layer),
      (traced) => (tracer === undefined ? traced : Effect.provideService(traced, Tracer.Tracer, tracer))
    )
  )

const attributes = (span: Tracer.NativeSpan) => Object.fromEntries(span.attributes)
const parentId = (span: Tracer.NativeSpan) => Option.getOrUndefined(span.parent)?.spanId

describe("attempt spans", () => {
  it("a retried non-stream call: one `chat {model}` span per attempt under the LanguageModel span, traceparent sent", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index }) =>
          index === 0
            ? MockUpstream.error(
                429,
                { error: { message: "slow down", type: "rate_limit_reached_error" } },
                {
                  "retry-after-ms": "3"
                }
              )
            : MockUpstream.json(completion),
        recorder
      )
    )
    const { tracer, ended } = MemoryTracer.make()
    const exit = await run(LanguageModel.generateText({ prompt: "Say hi" }), tracer)
    expect(Exit.isSuccess(exit)).toBe(true)

    const attempts = ended.filter((span) => span.name === "chat small")
    const call = ended.find((span) => span.name === "LanguageModel.generateText")!
    expect(attempts).toHaveLength(2)
    expect(attempts.map(parentId)).toEqual([call.spanId, call.spanId])
    expect(attempts.every((span) => span.kind === "client" && span.traceId === call.traceId)).toBe(true)

    const [first, second] = attempts.map(attributes)
    expect(first).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "sample",
      "gen_ai.request.model": "small",
      "server.address": "model.test",
      "server.port": 8443,
      "conduit.attempt": 1,
      "conduit.streamed": false,
      "error.type": "RateLimitError",
      "http.response.status_code": 429,
      "conduit.error.kind": "http"
    })
    expect(first!["conduit.retry.delay_ms"]).toBeUndefined()
    expect(attempts[0]!.status._tag === "Ended" && Exit.isFailure(attempts[0]!.status.exit)).toBe(true)
    expect(second).toMatchObject({
      "conduit.attempt": 2,
      "conduit.retry.delay_ms": 3,
      "http.response.status_code": 200,
      "gen_ai.response.id": "chatcmpl-1",
      "gen_ai.response.model": "small-2026",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 120,
      "gen_ai.usage.output_tokens": 30,
      "gen_ai.usage.cache_read.input_tokens": 100,
      "gen_ai.usage.reasoning.output_tokens": 12
    })
    expect(second!["error.type"]).toBeUndefined()
    // content is off by default
    expect(Object.keys(second!).filter((key) => key.endsWith(".messages"))).toEqual([])

    // each attempt's HTTP request carried its own span as the parent
    expect(recorder.calls.map((c) => c.headers.traceparent)).toEqual(
      attempts.map((span) => `00-${span.traceId}-${span.spanId}-01`)
    )
    // the call's totals on effect/ai's span
    expect(attributes(call)).toMatchObject({
      "gen_ai.provider.name": "sample",
      "gen_ai.request.model": "small",
      "gen_ai.response.model": "small-2026",
      "gen_ai.usage.input_tokens": 120,
      "gen_ai.usage.cache_read.input_tokens": 100
    })
  })

  it("a stream: one span lasting the whole body, with the first token as an event and the final usage", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.sse([
            chunk({ role: "assistant", content: "" }),
            chunk({ content: "Hel" }),
            chunk({ content: "lo" }),
            chunk({}, "stop", { usage })
          ]),
        recorder
      )
    )
    const { tracer, ended } = MemoryTracer.make()
    const exit = await run(Stream.runCollect(LanguageModel.streamText({ prompt: "Say hi" })), tracer)
    expect(Exit.isSuccess(exit)).toBe(true)
    const [span] = ended.filter((s) => s.name === "chat small")
    const call = ended.find((s) => s.name === "LanguageModel.streamText")!
    expect(parentId(span!)).toBe(call.spanId)
    expect(attributes(span!)).toMatchObject({
      "conduit.streamed": true,
      "gen_ai.response.id": "chatcmpl-s",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.output_tokens": 30,
      "gen_ai.usage.reasoning.output_tokens": 12,
      "http.response.status_code": 200
    })
    const events = span!.events.map(([name, , attrs]) => [name, typeof attrs["conduit.time_to_first_token_ms"]])
    expect(events).toEqual([["conduit.first_token", "number"]])
    expect(recorder.calls[0]!.headers.traceparent).toBe(`00-${span!.traceId}-${span!.spanId}-01`)
    expect(attributes(call)["gen_ai.usage.input_tokens"]).toBe(120)
  })

  it("records messages only when content capture is on", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion)))
    const { tracer, ended } = MemoryTracer.make()
    await run(LanguageModel.generateText({ prompt: "Say hi" }), tracer, true)
    const span = ended.find((s) => s.name === "chat small")!
    expect(JSON.parse(span.attributes.get("gen_ai.input.messages") as string)).toEqual([
      { role: "user", parts: [{ type: "text", content: "Say hi" }] }
    ])
    expect(JSON.parse(span.attributes.get("gen_ai.output.messages") as string)).toEqual([
      { role: "assistant", parts: [{ type: "text", content: "Hi there" }], finish_reason: "stop" }
    ])
  })

  it("without a tracer (Effect's native one) or with tracing disabled: no traceparent upstream", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(completion), recorder))
    expect(Exit.isSuccess(await run(LanguageModel.generateText({ prompt: "a" }), undefined))).toBe(true)
    const { tracer, ended } = MemoryTracer.make()
    const disabled = await run(
      LanguageModel.generateText({ prompt: "b" }).pipe(Effect.withTracerEnabled(false)),
      tracer
    )
    expect(Exit.isSuccess(disabled)).toBe(true)
    expect(recorder.calls.map((c) => c.headers.traceparent)).toEqual([undefined, undefined])
    expect(ended.filter((s) => s.name === "chat small")).toEqual([])
  })
})

describe("annotateCall", () => {
  it("puts the finish part's cost on the span", () => {
    const span = new Tracer.NativeSpan({
      name: "call",
      parent: Option.none(),
      annotations: undefined as never,
      links: [],
      startTime: 0n,
      kind: "client",
      sampled: true
    })
    Tracing.annotateCall(span, { provider: "kimi", model: "kimi-k2" }, [
      {
        type: "finish",
        reason: "stop",
        usage: { inputTokens: { total: 10 }, outputTokens: { total: 2 } } as never,
        metadata: { conduit: { cost: { amount: 0.0012, currency: "USD", unconfirmed: false } } }
      } as never
    ])
    expect(attributes(span)).toMatchObject({
      "gen_ai.provider.name": "kimi",
      "gen_ai.request.model": "kimi-k2",
      "gen_ai.response.finish_reasons": ["stop"],
      "conduit.cost.amount": 0.0012,
      "conduit.cost.currency": "USD",
      "conduit.cost.unconfirmed": false
    })
  })
})
