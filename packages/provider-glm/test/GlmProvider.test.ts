/**
 * The declarations: finish reasons over every value seen on the wire, and the provider core builds from them.
 */
import { FinishReason } from "@conduit-llm/core"
import { MockUpstream, Recordings } from "@conduit-llm/core/testing"
import { Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"
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
})
