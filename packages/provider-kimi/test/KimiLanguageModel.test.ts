/**
 * The Kimi model end to end against the Moonshot-like MSW handlers: each quirk of issue 4 has a test named after
 * it, and the handlers answer with Moonshot's real 400 bodies when a request would fail upstream.
 */
import { ProviderError, ResponseSummary } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect, Exit, Schema, Stream } from "effect"
import { LanguageModel, Prompt, Tool, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiConfig from "../src/KimiConfig.js"
import * as KimiModels from "../src/KimiModels.js"
import * as KimiProvider from "../src/KimiProvider.js"
import { KimiMock, KimiScenarios } from "../src/testing/index.js"
import {
  collectExit,
  describe as describeError,
  failureOf,
  modelLayer,
  runExit,
  successOf,
  summarize,
  testKey
} from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const mockWith = (options: KimiMock.Options = {}) => {
  const mock = KimiMock.make(options)
  server.use(...mock.handlers)
  return mock
}
// biome-ignore lint/suspicious/noExplicitAny: sent bodies are inspected loosely
type Sent = Record<string, any>
const chatBodies = (mock: KimiMock.Mock) =>
  mock.recorder.calls.filter((call) => call.url.endsWith("/chat/completions")).map((call) => call.body as Sent)

const GetWeather = Tool.make("get_weather", {
  description: "Weather of a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.String
})
const Weather = Toolkit.make(GetWeather)

/** A conversation whose assistant tool-call turn lost its reasoning (LangChain-style clients drop the field). */
const lostReasoning = Prompt.make([
  { role: "user", content: "Weather in Paris?" },
  {
    role: "assistant",
    content: [
      {
        type: "tool-call",
        id: "get_weather_0",
        name: "get_weather",
        params: { city: "Paris" },
        providerExecuted: false
      }
    ]
  },
  {
    role: "tool",
    content: [
      { type: "tool-result", id: "get_weather_0", name: "get_weather", isFailure: false, result: "Sunny, 21°C" }
    ]
  }
])

describe("reasoning replay", () => {
  it("regression: thinking is enabled but reasoning_content is missing (400) — placeholder is sent when reasoning was lost", async () => {
    const mock = mockWith()
    // Without Conduit's shaping, Moonshot answers the real 400.
    const raw = KimiClient.make({ apiKey: testKey })
    const refused = await Effect.runPromiseExit(
      raw.createChatCompletion({
        model: "kimi-k2.6",
        messages: [
          { role: "user", content: "Weather in Paris?" },
          {
            role: "assistant",
            tool_calls: [
              {
                id: "get_weather_0",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' }
              }
            ]
          },
          { role: "tool", tool_call_id: "get_weather_0", content: "Sunny" }
        ]
      })
    )
    expect(describeError(failureOf(refused)).message).toContain(
      "thinking is enabled but reasoning_content is missing in assistant tool call message at index 1"
    )
    // Through the model, the placeholder is sent and the call succeeds.
    const exit = await runExit(
      LanguageModel.generateText({ prompt: lostReasoning, toolkit: Weather, disableToolCallResolution: true }),
      modelLayer("kimi-k2.6")
    )
    expect(successOf(exit).text).toBe("Simulated Kimi: get_weather returned: Sunny, 21°C.")
    const sent = chatBodies(mock).at(-1)
    expect(sent?.messages[1]).toMatchObject({ role: "assistant", reasoning_content: " " })
    expect(sent?.messages[1].reasoning_content).not.toBe("")
  })

  it("real reasoning is replayed as is on tool-call turns", async () => {
    const mock = mockWith()
    const prompt = Prompt.make([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: [
          { type: "reasoning", text: "I need the weather tool." },
          {
            type: "tool-call",
            id: "get_weather_0",
            name: "get_weather",
            params: { city: "Paris" },
            providerExecuted: false
          }
        ]
      },
      {
        role: "tool",
        content: [{ type: "tool-result", id: "get_weather_0", name: "get_weather", isFailure: false, result: "Sunny" }]
      }
    ])
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt, toolkit: Weather, disableToolCallResolution: true }),
        modelLayer("kimi-k3")
      )
    )
    expect(chatBodies(mock).at(-1)?.messages[1].reasoning_content).toBe("I need the weather tool.")
  })

  it("with thinking off, replayed reasoning is not sent", async () => {
    const mock = mockWith()
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: lostReasoning, toolkit: Weather, disableToolCallResolution: true }),
        modelLayer("kimi-k2.6", { config: { providerOptions: { thinking: "disabled" } } })
      )
    )
    const sent = chatBodies(mock).at(-1)
    expect(sent?.thinking).toEqual({ type: "disabled" })
    expect(sent?.messages[1]).not.toHaveProperty("reasoning_content")
  })
})

describe("request shaping before sending", () => {
  it("pinned temperature on kimi-k2.6 is refused before sending with the model's rule", async () => {
    const mock = mockWith()
    const error = failureOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k2.6", { config: { request: { temperature: 0.3 } } })
      )
    )
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
    expect(describeError(error).message).toMatch(
      /kimi-k2\.6 pins temperature to 1 with thinking on and 0\.6 with thinking off/
    )
    expect(chatBodies(mock)).toHaveLength(0)
  })

  it("the same temperature sent anyway (strictSampling: false) gets Moonshot's 400", async () => {
    mockWith()
    const error = failureOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k2.6", {
          config: { request: { temperature: 0.3 }, providerOptions: { strictSampling: false } }
        })
      )
    )
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", status: 400 })
    expect(describeError(error).message).toContain("invalid temperature: only 1 is allowed for this model")
  })

  it("the pinned value itself is accepted and omitted", async () => {
    const mock = mockWith()
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k3", { config: { request: { temperature: 1 } } })
      )
    )
    expect(chatBodies(mock)[0]).not.toHaveProperty("temperature")
  })

  it("stop: more than 5 strings are refused before sending", async () => {
    const mock = mockWith()
    const error = failureOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k3", { config: { request: { stop: ["a", "b", "c", "d", "e", "f"] } } })
      )
    )
    expect(describeError(error).message).toMatch(/at most 5 stop strings, got 6/)
    expect(chatBodies(mock)).toHaveLength(0)
  })

  it("n > 5 is sent (the documented limit has no recording of the API refusing it)", async () => {
    const mock = mockWith()
    await runExit(
      LanguageModel.generateText({ prompt: "Hi" }),
      modelLayer("kimi-k3", { config: { request: { n: 6 } } })
    )
    expect(chatBodies(mock)[0]).toMatchObject({ n: 6 })
  })

  it("kimi-k2.6 (thinking only on by default): a forced tool_choice is sent with thinking off, with a warning", async () => {
    const mock = mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }]
      })
    })
    const response = successOf(
      await runExit(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Weather,
          toolChoice: { tool: "get_weather" },
          disableToolCallResolution: true
        }),
        modelLayer("kimi-k2.6")
      )
    )
    expect(chatBodies(mock)[0]).toMatchObject({
      tool_choice: { type: "function", function: { name: "get_weather" } },
      thinking: { type: "disabled" }
    })
    const finish = response.content.find((part) => part.type === "finish")
    expect((finish?.metadata as { conduit?: { warnings?: unknown } } | undefined)?.conduit?.warnings).toEqual([
      expect.stringMatching(/thinking was switched off for this call/)
    ])
  })

  it("kimi-k2.6 with thinking asked for: a forced tool_choice is refused, naming the request fields", async () => {
    const mock = mockWith()
    const error = failureOf(
      await runExit(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Weather,
          toolChoice: "required",
          disableToolCallResolution: true
        }),
        modelLayer("kimi-k2.6", { config: { providerOptions: { thinking: "enabled" } } })
      )
    )
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
    expect(describeError(error).message).toMatch(/set thinking\.type to "disabled" or use tool_choice "auto"/)
    expect(chatBodies(mock)).toHaveLength(0)
  })

  it("tool_choice required is sent with thinking off, and on kimi-k3 with thinking on", async () => {
    const mock = mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }]
      })
    })
    const run = (model: string, providerOptions?: KimiConfig.ProviderOptions) =>
      runExit(
        LanguageModel.generateText({
          prompt: "Weather?",
          toolkit: Weather,
          toolChoice: "required",
          disableToolCallResolution: true
        }),
        modelLayer(model, { config: { providerOptions } })
      )
    successOf(await run("kimi-k2.6", { thinking: "disabled" }))
    successOf(await run("kimi-k3"))
    expect(chatBodies(mock).map((body) => body.tool_choice)).toEqual(["required", "required"])
  })

  it("kimi-k2.7-code: thinking disabled is refused up front (Moonshot: only type=enabled)", async () => {
    const mock = mockWith()
    const error = failureOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k2.7-code", { config: { providerOptions: { thinking: "disabled" } } })
      )
    )
    expect(describeError(error).message).toMatch(/omit thinking or set thinking\.type to "enabled"/)
    expect(chatBodies(mock)).toHaveLength(0)
  })

  it("thinking switch and reasoning_effort are sent as typed provider options", async () => {
    const mock = mockWith()
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }),
        modelLayer("kimi-k3", {
          config: {
            providerOptions: {
              thinking: { type: "enabled", keep: "all" },
              reasoningEffort: "low",
              promptCacheKey: "task-7"
            }
          }
        })
      )
    )
    expect(chatBodies(mock)[0]).toMatchObject({
      thinking: { type: "enabled", keep: "all" },
      reasoning_effort: "low",
      prompt_cache_key: "task-7"
    })
  })

  it("a per-call override changes the thinking switch for that call only", async () => {
    const mock = mockWith()
    const layer = modelLayer("kimi-k2.6")
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Hi" }).pipe(KimiConfig.withProviderOptions({ thinking: "disabled" })),
        layer
      )
    )
    successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), layer))
    expect(chatBodies(mock).map((body) => body.thinking)).toEqual([{ type: "disabled" }, undefined])
  })

  it("kimi-k2.6 gets a max_tokens default (reasoning counts toward it); kimi-k3 keeps the server's", async () => {
    const mock = mockWith()
    successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(chatBodies(mock).map((body) => body.max_tokens)).toEqual([32_768, undefined])
  })

  it("structured output: a json_schema response format without $schema (MFJS)", async () => {
    const mock = mockWith({ respond: ({ body }) => ({ model: String(body.model), text: ['{"answer":"ok"}'] }) })
    const exit = await runExit(
      LanguageModel.generateObject({
        prompt: "Answer",
        schema: Schema.Struct({ answer: Schema.String }),
        objectName: "reply"
      }),
      modelLayer("kimi-k3")
    )
    expect(successOf(exit).value).toEqual({ answer: "ok" })
    const format = chatBodies(mock)[0]?.response_format
    expect(format?.type).toBe("json_schema")
    expect(JSON.stringify(format)).not.toContain("$schema")
  })
})

describe("catalog and lifecycle", () => {
  it("a model the catalog marks retired is sent, with a warning; the provider's 404 names the current models", async () => {
    const mock = mockWith()
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.5")))
    expect(chatBodies(mock)).toHaveLength(1)
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", status: 404 })
    expect(describeError(error).message).toMatch(/current models: kimi-k3, kimi-k2\.6/)
    const served = mockWith({ serveRetired: true })
    const response = successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.5")))
    expect(chatBodies(served)).toHaveLength(1)
    const finish = response.content.find((part) => part.type === "finish")
    expect((finish?.metadata as { conduit?: { warnings?: unknown } } | undefined)?.conduit?.warnings).toEqual([
      expect.stringMatching(/"kimi-k2\.5" is marked retired \(2026-08-31\).*sent anyway; current models: kimi-k3/)
    ])
  })

  it("a model the catalog is told to keep active reaches Moonshot, whose 404 also names current models", async () => {
    mockWith()
    const provider = KimiProvider.make({
      catalog: KimiModels.make({ "kimi-k2.5": { lifecycle: { status: "active" } } })
    })
    const error = failureOf(
      await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.5", { provider }))
    )
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", status: 404, retryable: false })
    expect(describeError(error).message).toMatch(/Not found the model kimi-k2\.5.*current models: kimi-k3/)
  })

  it("an unknown model id is passed through", async () => {
    const mock = mockWith({
      extraModels: [{ ...(KimiModels.catalog.get("kimi-k3") as KimiModels.KimiModelInfo), id: "kimi-k3.1-preview" }]
    })
    successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3.1-preview")))
    expect(chatBodies(mock)[0]?.model).toBe("kimi-k3.1-preview")
  })
})

describe("responses", () => {
  const finish = (parts: ReadonlyArray<unknown>) => summarize(parts as never)

  it("top-level cached_tokens counted as cached input", async () => {
    // The 2026 doc shape: only the Moonshot field, no prompt_tokens_details.
    const usage = { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110, cached_tokens: 80 }
    server.use(
      MockUpstream.chatCompletions("https://api.moonshot.ai/v1", ({ body }) =>
        body.stream === true
          ? MockUpstream.sse([
              ...KimiScenarios.chunks({ model: "kimi-k2.6", text: ["Hi"] }).slice(0, -1),
              {
                id: "cmpl-x",
                object: "chat.completion.chunk",
                created: 1,
                model: "kimi-k2.6",
                choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
                usage
              }
            ])
          : MockUpstream.json({ ...KimiScenarios.completion({ model: "kimi-k2.6", text: ["Hi"] }), usage })
      )
    )
    const generated = successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    expect(generated.usage.inputTokens).toMatchObject({ total: 100, cacheRead: 80, uncached: 20 })
    const streamed = successOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    expect(finish(streamed).usage).toMatchObject({ inputTokens: 100, cachedInputTokens: 80 })
  })

  it("usage inside choices[0] of the finish chunk", async () => {
    // No trailing include_usage chunk: the usage exists only inside the finish chunk's choice.
    const chunks = KimiScenarios.chunks({
      model: "kimi-k2.6",
      reasoning: ["Think"],
      text: ["OK"],
      usage: { prompt: 12, completion: 5, reasoning: 1 }
    })
    expect(chunks.at(-1)).not.toHaveProperty("usage")
    server.use(MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () => MockUpstream.sse(chunks)))
    const parts = successOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    expect(finish(parts).usage).toMatchObject({ inputTokens: 12, outputTokens: 5, reasoningTokens: 1 })
  })

  it("length finish inside reasoning reported as such", async () => {
    mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        reasoning: ["The user wants", " me to call"],
        finishReason: "length",
        usage: { prompt: 41, completion: 32, reasoning: 31 }
      })
    })
    for (const parts of [
      successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.6"))).content,
      successOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    ]) {
      const summary = finish(parts)
      expect(summary.finishReason).toBe("length")
      expect(summary.text).toBe("")
      expect(summary.metadata).toMatchObject({ rawFinishReason: "length", lengthInReasoning: true })
    }
  })

  it("tool-call ids such as get_weather_0 and functions.get_weather:0 are treated as opaque", async () => {
    const mock = mockWith({
      respond: ({ body, index }) =>
        index === 0
          ? {
              model: String(body.model),
              toolCalls: [
                { name: "get_weather", id: "get_weather_0", arguments: { city: "Paris" } },
                { name: "get_weather", id: "functions.get_weather:1", arguments: { city: "Oslo" } }
              ]
            }
          : undefined
    })
    const first = successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Weather?", toolkit: Weather, disableToolCallResolution: true }),
        modelLayer("kimi-k3")
      )
    )
    expect(first.toolCalls.map((call) => [call.id, call.name, call.params])).toEqual([
      ["get_weather_0", "get_weather", { city: "Paris" }],
      ["functions.get_weather:1", "get_weather", { city: "Oslo" }]
    ])
    expect(first.finishReason).toBe("tool-calls")
    const followUp = Prompt.concat(Prompt.make("Weather?"), Prompt.fromResponseParts(first.content)).pipe(
      Prompt.concat(
        Prompt.make([
          {
            role: "tool",
            content: [
              { type: "tool-result", id: "get_weather_0", name: "get_weather", isFailure: false, result: "Sunny" },
              {
                type: "tool-result",
                id: "functions.get_weather:1",
                name: "get_weather",
                isFailure: false,
                result: "Rain"
              }
            ]
          }
        ])
      )
    )
    successOf(
      await runExit(
        LanguageModel.generateText({ prompt: followUp, toolkit: Weather, disableToolCallResolution: true }),
        modelLayer("kimi-k3")
      )
    )
    const sent = chatBodies(mock)[1]?.messages as Array<Record<string, unknown>>
    expect(sent.filter((message) => message.role === "tool").map((message) => message.tool_call_id)).toEqual([
      "get_weather_0",
      "functions.get_weather:1"
    ])
  })

  it("msh-context-cache-token-saved surfaced in metadata", async () => {
    mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        text: ["OK"],
        usage: { prompt: 5000, completion: 2, cached: 4700 }
      })
    })
    const generated = successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    const streamed = successOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k2.6")))
    for (const parts of [generated.content, streamed]) {
      const summary = finish(parts)
      expect(summary.metadata.contextCacheTokensSaved).toBe(4700)
      expect(summary.usage.cachedInputTokens).toBe(4700)
    }
  })

  it("the request id from msh-request-id, else x-msh-trace-id, reaches the metadata", async () => {
    mockWith()
    const generated = successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(finish(generated.content).metadata.requestId).toMatch(/-4dae-11ef-/)
    server.use(
      MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () =>
        MockUpstream.json(KimiScenarios.completion({ model: "kimi-k3", text: ["OK"] }), {
          headers: { "x-msh-trace-id": "trace-99" }
        })
      )
    )
    const traced = successOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(finish(traced.content).metadata).toMatchObject({ requestId: "trace-99", traceId: "trace-99" })
  })

  it("finish reasons are mapped (stop, length, tool_calls, content_filter)", async () => {
    const reasons = ["stop", "length", "tool_calls", "content_filter"]
    mockWith({
      respond: ({ body, index }) => ({
        model: String(body.model),
        text: ["x"],
        ...(reasons[index] === "tool_calls"
          ? { toolCalls: [{ name: "get_weather", arguments: { city: "Rome" } }] }
          : {}),
        finishReason: reasons[index]
      })
    })
    const out: Array<string> = []
    for (const _ of reasons) {
      const response = successOf(
        await runExit(
          LanguageModel.generateText({ prompt: "Hi", toolkit: Weather, disableToolCallResolution: true }),
          modelLayer("kimi-k3")
        )
      )
      out.push(response.finishReason)
    }
    expect(out).toEqual(["stop", "length", "tool-calls", "content-filter"])
  })
})

describe("partial mode and continuation", () => {
  it("partial mode: the prefix is sent as the last assistant message with partial: true", async () => {
    const mock = mockWith({ respond: ({ body }) => ({ model: String(body.model), text: [" leaves fall softly"] }) })
    const response = successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "A haiku about autumn" }),
        modelLayer("kimi-k3", { config: { providerOptions: { partial: { content: "Autumn" } } } })
      )
    )
    expect(response.text).toBe(" leaves fall softly")
    expect(chatBodies(mock)[0]?.messages.at(-1)).toEqual({ role: "assistant", content: "Autumn", partial: true })
  })

  it("partial mode with json_object is sent (documented limit only)", async () => {
    const mock = mockWith({ respond: ({ body }) => ({ model: String(body.model), text: ["}"] }) })
    await runExit(
      LanguageModel.generateText({ prompt: "x" }),
      modelLayer("kimi-k3", {
        config: {
          request: { response_format: { type: "json_object" } },
          providerOptions: { partial: { content: "{" } }
        }
      })
    )
    expect(chatBodies(mock)[0]).toMatchObject({ response_format: { type: "json_object" } })
  })

  it("continuation after length continues with a partial-mode prefill and merges the answer", async () => {
    const mock = mockWith({
      respond: ({ body, index }) =>
        index === 0
          ? {
              model: String(body.model),
              text: ["Once upon"],
              finishReason: "length",
              usage: { prompt: 10, completion: 3 }
            }
          : { model: String(body.model), text: [" a time."], usage: { prompt: 13, completion: 3 } }
    })
    const response = successOf(
      await runExit(
        LanguageModel.generateText({ prompt: "Tell a story" }),
        modelLayer("kimi-k3", { config: { continuation: true } })
      )
    )
    expect(response.text).toBe("Once upon a time.")
    expect(chatBodies(mock)[1]?.messages.at(-1)).toEqual({ role: "assistant", content: "Once upon", partial: true })
    expect(ResponseSummary.fromParts(response.content).metadata.continuations).toBe(1)
  })
})

describe("streaming", () => {
  it("streams reasoning then text, with both usage placements", async () => {
    mockWith({
      respond: ({ body }) => ({
        model: String(body.model),
        reasoning: ["Let me", " think."],
        text: ["Done", "."],
        usage: { prompt: 20, completion: 9, reasoning: 4, cached: 16 }
      })
    })
    const parts = successOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    const summary = summarize(parts)
    expect(summary).toMatchObject({ reasoning: "Let me think.", text: "Done." })
    expect(summary.usage).toMatchObject({ inputTokens: 20, outputTokens: 9, reasoningTokens: 4, cachedInputTokens: 16 })
    const types = parts.map((part) => part.type)
    expect(types.indexOf("reasoning-end")).toBeLessThan(types.indexOf("text-start"))
  })

  it("a stream cut before its finish is a typed failure, never a short answer", async () => {
    const chunks = KimiScenarios.chunks({ model: "kimi-k3", text: ["Part", "ial"] }).slice(0, -1)
    server.use(
      MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () => MockUpstream.sse(chunks, { done: false }))
    )
    const exit = await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k3"), { maxRetries: 0 })
    expect(Exit.isFailure(exit)).toBe(true)
    expect(ProviderError.conduitMetadata(failureOf(exit))?.kind).toBe("truncated-stream")
  })
})

describe("prompts with files", () => {
  it("an uploaded image is sent as an ms:// reference", async () => {
    const mock = mockWith()
    const prompt = Prompt.make([
      {
        role: "user",
        content: [
          { type: "text", text: "What is in the image?" },
          { type: "file", mediaType: "image/png", data: new URL("ms://cnhgqnucp7f5h7jfb3s0") }
        ]
      }
    ])
    successOf(await runExit(LanguageModel.generateText({ prompt }), modelLayer("kimi-k2.6")))
    expect(chatBodies(mock)[0]?.messages[0].content[1]).toEqual({
      type: "image_url",
      image_url: { url: "ms://cnhgqnucp7f5h7jfb3s0" }
    })
  })
})

describe("Stream helpers", () => {
  it("streamWithProviderOptions applies to streams", async () => {
    const mock = mockWith()
    successOf(
      await runExit(
        Stream.runCollect(
          LanguageModel.streamText({ prompt: "Hi" }).pipe(
            KimiConfig.streamWithProviderOptions({ thinking: "disabled" })
          )
        ),
        modelLayer("kimi-k2.6")
      )
    )
    expect(chatBodies(mock)[0]?.thinking).toEqual({ type: "disabled" })
  })
})
