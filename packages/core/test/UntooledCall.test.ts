import { Effect, Layer, Stream } from "effect"
import { LanguageModel, type Response } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as MockUpstream from "../src/testing/MockUpstream.js"
import * as UntooledCall from "../src/UntooledCall.js"
import { sampleProvider } from "./sample.js"

const usage = {
  inputTokens: { total: 12, uncached: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 7, text: 5, reasoning: 2 }
}
const finish = { type: "finish", reason: "stop", usage, metadata: { conduit: { durationMs: 3, attempts: 1 } } }

/** Encoded parts a provider answers, and what a call without a toolkit makes of them. */
const cases: ReadonlyArray<{ readonly name: string; readonly parts: ReadonlyArray<Response.PartEncoded> }> = [
  { name: "text", parts: [{ type: "text", text: "Hello." }, finish as Response.PartEncoded] },
  {
    name: "response metadata, reasoning and text",
    parts: [
      { type: "response-metadata", id: "chatcmpl-1", modelId: "m1", timestamp: "2026-12-07T00:00:00.000Z" },
      { type: "reasoning", text: "Thinking." },
      { type: "text", text: "Hi." },
      finish as Response.PartEncoded
    ]
  },
  {
    name: "a call of a tool the request declared on the wire",
    parts: [
      { type: "tool-call", id: "t1", name: "get_weather", params: { city: "Beijing" } },
      { ...finish, reason: "tool-calls" } as Response.PartEncoded
    ]
  },
  {
    name: "a provider-executed built-in tool call",
    parts: [
      { type: "tool-call", id: "t2", name: "$web_search", params: { query: "x" }, providerExecuted: true },
      { type: "text", text: "Found." },
      finish as Response.PartEncoded
    ]
  },
  { name: "finish only", parts: [finish as Response.PartEncoded] }
]

const answering = (parts: ReadonlyArray<Response.PartEncoded>) => {
  const seen: Array<LanguageModel.ProviderOptions> = []
  const model = Effect.runSync(
    LanguageModel.make({
      generateText: (options) => {
        seen.push(options)
        return Effect.succeed(parts as Array<Response.PartEncoded>)
      },
      streamText: () => Stream.empty
    })
  )
  const run = <A, E>(effect: Effect.Effect<A, E, LanguageModel.LanguageModel>) =>
    Effect.runPromise(Effect.provideService(effect, LanguageModel.LanguageModel, model))
  return { seen, run }
}

describe("UntooledCall.generateText", () => {
  it.each(cases)("answers as generateText without a toolkit: $name", async ({ parts }) => {
    const { seen, run } = answering(parts)
    const untooled = await run(UntooledCall.generateText("Hi"))
    const plain = await run(
      LanguageModel.generateText({ prompt: "Hi", disableToolCallResolution: true, toolCallValidation: "deferred" })
    )
    expect(untooled.content).toEqual(plain.content)
    expect(untooled.content.map((part) => part.type)).toEqual(parts.map((part) => part.type))
    // the provider is offered no tool either way
    expect(seen.map((options) => options.tools.length)).toEqual([0, 0])
    expect(seen[0]?.prompt).toEqual(seen[1]?.prompt)
  })

  it("the placeholder tool's name is not a valid OpenAI function name", () => {
    expect(/^[a-zA-Z0-9_-]{1,64}$/.test(UntooledCall.placeholderToolName)).toBe(false)
  })
})

describe("UntooledCall over core's provider", () => {
  const baseURL = "https://untooled.test/v1"
  const Sample = sampleProvider(baseURL)
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  it("sends no tools and no tool_choice, and returns the model's tool calls as they come", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.json({
            id: "c",
            model: "m1",
            choices: [
              {
                index: 0,
                message: {
                  content: "",
                  tool_calls: [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }]
                },
                finish_reason: "tool_calls"
              }
            ],
            usage: { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 }
          }),
        recorder
      )
    )
    const response = await Effect.runPromise(
      UntooledCall.generateText("find x").pipe(
        Effect.provide(Sample.layer("m1").pipe(Layer.provide(Sample.clientLayer({ apiKey: "k", baseURL }))))
      )
    )
    const call = response.content.find((part) => part.type === "tool-call")
    expect(call).toMatchObject({ name: "lookup", params: { q: "x" } })
    const sent = recorder.last().body as Record<string, unknown>
    expect(sent).not.toHaveProperty("tools")
    expect(sent).not.toHaveProperty("tool_choice")
  })
})
