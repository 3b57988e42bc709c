import { Effect, Exit, Layer, Option, Stream, Tracer } from "effect"
import { type AiError, LanguageModel, Response, Telemetry, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as EncodedStream from "../src/EncodedStream.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as MemoryTracer from "../src/testing/MemoryTracer.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"
import * as Recordings from "../src/testing/Recordings.js"
import { baseURL, decoderOf, layer, run, untimed } from "./encoded.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

/** What effect/ai's `LanguageModel.streamText` gives (the gateway's options): the decoded parts. */
const decodedStream = (prompt: string) =>
  Stream.runCollect(
    LanguageModel.streamText({
      prompt,
      toolkit: Toolkit.empty,
      disableToolCallResolution: true,
      toolCallValidation: "deferred"
    })
  )

/** effect/ai's own decode of a call's parts. */
const decodeParts = decoderOf(Response.StreamPart(Toolkit.empty))

Recordings.describeRecordings("EncodedStream.streamText over the recorded streams", () => {
  const files = Recordings.list("kimi", /\.chunks\.txt$/)

  it("has recordings to replay", () => {
    expect(files.length).toBeGreaterThan(5)
  })

  it.each(files)("%s: the parts effect/ai's streamText gives, before its decode", async (file) => {
    const chunks = Recordings.readChunks(file)
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(chunks)))
    const encoded = await run(Stream.runCollect(EncodedStream.streamText({ prompt: "hi" })))
    const decoded = await run(decodedStream("hi"))
    if (Exit.isFailure(decoded)) {
      // a recording the guards refuse (an error event, a cut stream): the same failure either way
      expect(Exit.isFailure(encoded)).toBe(true)
      if (Exit.isFailure(encoded)) expect(String(encoded.cause)).toBe(String(decoded.cause))
      return
    }
    expect(Exit.isSuccess(encoded)).toBe(true)
    if (Exit.isSuccess(encoded)) {
      expect(encoded.value.length).toBe(decoded.value.length)
      expect(decodeParts(encoded.value).map(untimed)).toEqual(decoded.value.map(untimed))
    }
  })
})

describe("EncodedStream.streamText", () => {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id: "chatcmpl-e",
    created: 1,
    model: "small-2026",
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...(finish !== null ? { usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 } } : {})
  })
  const answer = () =>
    MockUpstream.sse([
      chunk({ role: "assistant", reasoning_content: "think" }),
      chunk({ content: "Hel" }),
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] }),
      chunk({}, "tool_calls")
    ])

  it("gives the provider's parts undecoded: no part brand, no metadata defaults", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const exit = await run(Stream.runCollect(EncodedStream.streamText({ prompt: "hi" })))
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isFailure(exit)) return
    const parts = exit.value
    expect(parts.map((part) => part.type)).toEqual([
      "response-metadata",
      "reasoning-start",
      "reasoning-delta",
      "reasoning-end",
      "text-start",
      "text-delta",
      "text-end",
      "tool-params-start",
      "tool-params-delta",
      "tool-params-end",
      "tool-call",
      "finish"
    ])
    expect(parts.some((part) => Response.isPart(part))).toBe(false)
    const finish = parts.find((part) => part.type === "finish")
    expect(finish).toMatchObject({
      reason: "tool-calls",
      usage: { inputTokens: { total: 12 }, outputTokens: { total: 3 } }
    })
  })

  it("traces the call as effect/ai does: a LanguageModel.streamText span with its attributes, the call's span in it", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const spansOf = async (stream: Stream.Stream<unknown, AiError.AiError, LanguageModel.LanguageModel>) => {
      const { tracer, ended } = MemoryTracer.make()
      const exit = await Effect.runPromiseExit(
        Stream.runDrain(stream).pipe(
          Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 0 }),
          Effect.provide(layer),
          Effect.provideService(Tracer.Tracer, tracer)
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      const call = ended.find((span) => span.name === "LanguageModel.streamText")!
      const chat = ended.find((span) => span.name === "chat small")!
      expect(Option.getOrUndefined(chat.parent)?.spanId).toBe(call.spanId)
      return { kind: call.kind, attributes: Object.fromEntries(call.attributes), names: ended.map((s) => s.name) }
    }
    const ours = await spansOf(EncodedStream.streamText({ prompt: "hi" }))
    const theirs = await spansOf(decodedStream("hi").pipe(Stream.fromEffect))
    expect(ours).toEqual(theirs)
    expect(ours.attributes).toMatchObject({ "gen_ai.output.type": "text", "gen_ai.usage.input_tokens": 12 })
  })

  it("is effect/ai's own streamText for a LanguageModel that core did not build", async () => {
    const parts: Array<Response.StreamPartEncoded> = [
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "hi" },
      { type: "text-end", id: "t" },
      {
        type: "finish",
        reason: "stop",
        usage: {
          inputTokens: { total: 1, uncached: 1, cacheRead: 0, cacheWrite: 0 },
          outputTokens: { total: 1, text: 1, reasoning: 0 }
        }
      }
    ]
    const foreign = Layer.effect(
      LanguageModel.LanguageModel,
      LanguageModel.make({ generateText: () => Effect.succeed([]), streamText: () => Stream.fromIterable(parts) })
    )
    const exit = await run(Stream.runCollect(EncodedStream.streamText({ prompt: "hi" })), foreign)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) {
      expect(exit.value.every((part) => Response.isPart(part))).toBe(true) // decoded by effect/ai
      expect(exit.value.map((part) => part.type)).toEqual(["text-start", "text-delta", "text-end", "finish"])
    }
  })

  it("leaves a call with a span transformer to effect/ai, which hands it the response", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const seen: Array<number> = []
    const exit = await run(
      Stream.runCollect(EncodedStream.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(Telemetry.CurrentSpanTransformer, (options) => {
          seen.push(options.response.length)
        })
      )
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) {
      expect(exit.value.every((part) => Response.isPart(part))).toBe(true)
      expect(seen).toEqual([exit.value.length])
    }
  })
})
