/**
 * Both shipped providers through the gateway, in the simulated mode `main` uses (each provider's own MSW mock, with
 * the provider's validations and wire format), driven by the `openai` SDK: reasoning in deltas and usage, tool calls,
 * the reasoning round trip the Kimi API enforces, GLM's thinking switch passed through, and provider error codes
 * mapped to OpenAI statuses.
 */
import { MockUpstream } from "@conduit-llm/core/testing"
import { MockZai, Scenarios as ZaiScenarios } from "@conduit-llm/provider-glm/testing"
import { KimiMock } from "@conduit-llm/provider-kimi/testing"
import { Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import { client, mswServer, type Started, startGateway } from "./support.js"

const server = mswServer()
let gateway: Started

const simulated = (module: Providers.ProviderModule) => {
  const simulation = module.simulation
  if (simulation === undefined) throw new Error(`${module.name} has no simulation`)
  return {
    simulation,
    entry: Providers.entry(
      module,
      module.connect({ apiKey: Redacted.make(simulation.apiKey), baseURL: simulation.baseURL }),
      "simulated"
    )
  }
}
const kimi = simulated(Providers.kimi)
const glm = simulated(Providers.glm)

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({ providers: [kimi.entry, glm.entry] })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  server.close()
})

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather by city",
    parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] }
  }
}

/** The `APIError` a call fails with (fails the test when it succeeds). */
const failure = (call: Promise<unknown>) =>
  call.then(
    () => {
      throw new Error("expected the call to fail")
    },
    (error: unknown) => {
      if (!(error instanceof OpenAI.APIError)) throw error
      return error
    }
  )

const collect = async (stream: AsyncIterable<OpenAI.ChatCompletionChunk>) => {
  let content = ""
  let reasoning = ""
  let usage: OpenAI.CompletionUsage | undefined
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined
    content += delta?.content ?? ""
    reasoning += delta?.reasoning_content ?? ""
    usage = chunk.usage ?? usage
  }
  return { content, reasoning, usage }
}

describe("Kimi (simulated by KimiMock)", () => {
  it("a thinking model streams reasoning_content before the answer, with reasoning tokens in usage", async () => {
    server.use(...KimiMock.make(kimi.simulation).handlers)
    const stream = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      messages: [{ role: "user", content: "Why is the sky blue?" }],
      stream: true,
      stream_options: { include_usage: true }
    })
    const { content, reasoning, usage } = await collect(stream)
    expect(reasoning).toBe("The user asked a question; I will answer briefly.")
    expect(content).toBe("Hello from simulated Kimi.")
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(16)
  })

  it("tool calls round trip, with the reasoning of the tool-call turn replayed as the Kimi API requires", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      ...KimiMock.make({
        ...kimi.simulation,
        recorder,
        respond: (call) =>
          call.index === 0
            ? {
                model: "kimi-k2.6",
                reasoning: ["I need the weather tool."],
                toolCalls: [{ name: "get_weather", id: "get_weather:0", arguments: { location: "Beijing" } }]
              }
            : undefined
      }).handlers
    )
    const first = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      messages: [{ role: "user", content: "Weather in Beijing?" }],
      tools: [weather]
    })
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string }
    expect(first.choices[0]?.finish_reason).toBe("tool_calls")
    expect(message.reasoning_content).toBe("I need the weather tool.")
    expect(message.tool_calls?.[0]).toMatchObject({
      id: "get_weather:0",
      function: { name: "get_weather", arguments: '{"location":"Beijing"}' }
    })
    // the client sends the assistant turn back as it got it, reasoning included
    const second = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Beijing?" },
        message as OpenAI.ChatCompletionAssistantMessageParam,
        { role: "tool", tool_call_id: "get_weather:0", content: '{"celsius":21}' }
      ]
    })
    expect(second.choices[0]?.message.content).toBe("Hello from simulated Kimi.")
    const sent = recorder.last().body as { messages: Array<Record<string, unknown>> }
    expect(sent.messages[1]).toMatchObject({ role: "assistant", reasoning_content: "I need the weather tool." })
    // a client that drops the reasoning still gets an answer (the provider replays a placeholder)
    const withoutReasoning = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      tools: [weather],
      messages: [
        { role: "user", content: "Weather in Beijing?" },
        { role: "assistant", content: null, tool_calls: message.tool_calls ?? [] },
        { role: "tool", tool_call_id: "get_weather:0", content: '{"celsius":21}' }
      ]
    })
    expect(withoutReasoning.choices[0]?.message.content).toBe("Hello from simulated Kimi.")
  })

  it("a retired model is a 404 naming its replacements, before any upstream call", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(...KimiMock.make({ ...kimi.simulation, recorder }).handlers)
    const error = await failure(
      client(gateway).chat.completions.create({
        model: "kimi/moonshot-v1-8k",
        messages: [{ role: "user", content: "hi" }]
      })
    )
    expect(error.status).toBe(404)
    expect((error.error as { message: string }).message).toContain("kimi-k3")
    expect(recorder.count).toBe(0)
  })
})

describe("GLM (simulated by MockZai)", () => {
  it("thinking switched on by a provider extra streams reasoning_content", async () => {
    const mock = MockZai.make(glm.simulation)
    server.use(...mock.handlers)
    const stream = await client(gateway).chat.completions.create({
      model: "glm/glm-4.6",
      messages: [{ role: "user", content: "Think first." }],
      stream: true,
      ...({ thinking: { type: "enabled" } } as object)
    })
    const { content, reasoning } = await collect(stream as AsyncIterable<OpenAI.ChatCompletionChunk>)
    expect(reasoning).toBe(ZaiScenarios.reasoning.reasoning)
    expect(content).toBe(ZaiScenarios.reasoning.text)
    expect(mock.recorder.last().body).toMatchObject({ thinking: { type: "enabled" } })
  })

  it("calls the declared tool, then answers from its result (stream and non-stream)", async () => {
    server.use(...MockZai.make(glm.simulation).handlers)
    const first = await client(gateway).chat.completions.create({
      model: "glm/glm-4.6",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weather]
    })
    const call = first.choices[0]?.message.tool_calls?.[0]
    expect(first.choices[0]?.finish_reason).toBe("tool_calls")
    expect(call?.type === "function" ? call.function.name : undefined).toBe("get_weather")
    const stream = await client(gateway).chat.completions.create({
      model: "glm/glm-4.6",
      tools: [weather],
      stream: true,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: null, tool_calls: first.choices[0]?.message.tool_calls ?? [] },
        { role: "tool", tool_call_id: call?.id ?? "", content: "sunny" }
      ]
    })
    const { content } = await collect(stream)
    expect(content).toContain("The tool answered: sunny")
  })

  it("maps Zhipu's error codes: 1113 insufficient balance is 429 insufficient_quota, tried once", async () => {
    const mock = MockZai.make({
      ...glm.simulation,
      chat: () => MockZai.errorResponse(ZaiScenarios.errors.insufficientBalanceEn)
    })
    server.use(...mock.handlers)
    const error = await failure(
      client(gateway).chat.completions.create({ model: "glm/glm-4.6", messages: [{ role: "user", content: "hi" }] })
    )
    expect(error.status).toBe(429)
    expect(error.error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" })
    expect(mock.recorder.count).toBe(1)
  })
})
