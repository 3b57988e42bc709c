/**
 * The declarations: finish reasons over every value seen on the wire, and the provider core builds from them.
 */
import { FinishReason } from "@conduit-llm/core"
import { MockUpstream, Recordings } from "@conduit-llm/core/testing"
import { Effect, Layer } from "effect"
import { LanguageModel, Prompt } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmProvider from "../src/GlmProvider.js"
import * as Scenarios from "../src/testing/Scenarios.js"

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
    server.use(MockUpstream.chatCompletions(GlmProvider.baseURLs.default, () => MockUpstream.json(Scenarios.text.body)))
    const provider = GlmProvider.provider
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(
        Effect.provide(provider.layer("glm-4.6").pipe(Layer.provide(provider.clientLayer({ apiKey: "test-key" }))))
      )
    )
    expect(response.text).toBe(Scenarios.text.text)
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
    server.use(MockUpstream.chatCompletions(url, () => MockUpstream.json(Scenarios.text.body), recorder))
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
