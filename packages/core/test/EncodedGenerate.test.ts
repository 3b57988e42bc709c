import { Effect, Exit, Layer, Option, Stream, Tracer } from "effect"
import { type AiError, LanguageModel, Response, Telemetry, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as EncodedGenerate from "../src/EncodedGenerate.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as MemoryTracer from "../src/testing/MemoryTracer.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"
import * as Recordings from "../src/testing/Recordings.js"
import { baseURL, decoderOf, layer, run, untimed } from "./encoded.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

/** What effect/ai's `LanguageModel.generateText` gives (the gateway's options): the decoded parts. */
const decodedAnswer = (prompt: string) =>
  Effect.map(
    LanguageModel.generateText({
      prompt,
      toolkit: Toolkit.empty,
      disableToolCallResolution: true,
      toolCallValidation: "deferred"
    }),
    (response) => response.content
  )

/** effect/ai's own decode of a call's parts. */
const decodeParts = decoderOf(Response.Part(Toolkit.empty))

Recordings.describeRecordings("EncodedGenerate.generateText over the recorded answers", () => {
  const bodies = [...Recordings.list("kimi", /\.json$/), ...Recordings.list("glm", /\.json$/)].flatMap((file) => {
    const json = Recordings.readJson(file) as { choices?: Array<{ message?: unknown }> }
    return Array.isArray(json.choices) && json.choices[0]?.message !== undefined ? [[file, json] as const] : []
  })

  it("has recordings to replay", () => {
    expect(bodies.length).toBeGreaterThan(5)
  })

  it.each(bodies)("%s: the parts effect/ai's generateText gives, before its decode", async (_file, body) => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(body)))
    const encoded = await run(EncodedGenerate.generateText({ prompt: "hi" }))
    const decoded = await run(decodedAnswer("hi"))
    if (Exit.isFailure(decoded)) {
      // an answer the finish rules refuse: the same failure either way
      expect(Exit.isFailure(encoded)).toBe(true)
      if (Exit.isFailure(encoded)) expect(String(encoded.cause)).toBe(String(decoded.cause))
      return
    }
    expect(Exit.isSuccess(encoded)).toBe(true)
    if (Exit.isSuccess(encoded)) {
      expect(encoded.value.some((part) => Response.isPart(part))).toBe(false)
      expect(decodeParts(encoded.value).map(untimed)).toEqual(decoded.value.map(untimed))
    }
  })
})

describe("EncodedGenerate.generateText", () => {
  const body = {
    id: "chatcmpl-e",
    object: "chat.completion",
    created: 1,
    model: "small-2026",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: "Hel",
          reasoning_content: "think",
          tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }]
        },
        finish_reason: "tool_calls"
      }
    ],
    usage: { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }
  }
  const answer = () => MockUpstream.json(body)

  it("gives the provider's parts undecoded: no part brand, the timestamp as sent, usage and metadata", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const exit = await run(EncodedGenerate.generateText({ prompt: "hi" }))
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isFailure(exit)) return
    const parts = exit.value
    expect(parts.map((part) => part.type)).toEqual(["response-metadata", "reasoning", "text", "tool-call", "finish"])
    expect(parts.some((part) => Response.isPart(part))).toBe(false)
    expect(parts[0]).toMatchObject({ id: "chatcmpl-e", modelId: "small-2026", timestamp: "1970-01-01T00:00:01.000Z" })
    expect(parts[3]).toMatchObject({ id: "call_1", name: "f", params: {} })
    expect(parts[4]).toMatchObject({
      reason: "tool-calls",
      usage: { inputTokens: { total: 12 }, outputTokens: { total: 3 } },
      metadata: { conduit: { streamed: false, attempts: 1 } }
    })
  })

  it("traces the call as effect/ai does: a LanguageModel.generateText span with its attributes, the call's span in it", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const spansOf = async (effect: Effect.Effect<unknown, AiError.AiError, LanguageModel.LanguageModel>) => {
      const { tracer, ended } = MemoryTracer.make()
      const exit = await Effect.runPromiseExit(
        effect.pipe(
          Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 0 }),
          Effect.provide(layer),
          Effect.provideService(Tracer.Tracer, tracer)
        )
      )
      expect(Exit.isSuccess(exit)).toBe(true)
      const call = ended.find((span) => span.name === "LanguageModel.generateText")!
      const chat = ended.find((span) => span.name === "chat small")!
      expect(Option.getOrUndefined(chat.parent)?.spanId).toBe(call.spanId)
      return { kind: call.kind, attributes: Object.fromEntries(call.attributes), names: ended.map((s) => s.name) }
    }
    const ours = await spansOf(EncodedGenerate.generateText({ prompt: "hi" }))
    const theirs = await spansOf(decodedAnswer("hi"))
    expect(ours).toEqual(theirs)
    expect(ours.attributes).toMatchObject({
      "gen_ai.output.type": "text",
      "effect.ai.tool_choice": "auto",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.response.finish_reasons": ["tool-calls"]
    })
  })

  it("fails with the model's error, as effect/ai's generateText does", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.error(400, { error: { message: "bad temperature", type: "invalid_request_error" } })
      )
    )
    const encoded = await run(EncodedGenerate.generateText({ prompt: "hi" }))
    const decoded = await run(decodedAnswer("hi"))
    expect(Exit.isFailure(encoded)).toBe(true)
    if (Exit.isFailure(encoded)) expect(String(encoded.cause)).toBe(String(Exit.isFailure(decoded) && decoded.cause))
  })

  it("is effect/ai's own generateText for a LanguageModel that core did not build", async () => {
    const parts: Array<Response.PartEncoded> = [
      { type: "text", text: "hi" },
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
      LanguageModel.make({ generateText: () => Effect.succeed(parts), streamText: () => Stream.empty })
    )
    const exit = await run(EncodedGenerate.generateText({ prompt: "hi" }), foreign)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isSuccess(exit)) {
      expect(exit.value.every((part) => Response.isPart(part))).toBe(true) // decoded by effect/ai
      expect(exit.value.map((part) => part.type)).toEqual(["text", "finish"])
    }
  })

  it("leaves a call with a span transformer to effect/ai, which hands it the response", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const seen: Array<number> = []
    const exit = await run(
      EncodedGenerate.generateText({ prompt: "hi" }).pipe(
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
