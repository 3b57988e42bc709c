/**
 * Both shipped providers through the gateway, in the simulated mode `main` uses (each provider's own MSW mock, with
 * the provider's validations and wire format), driven by the `openai` SDK: reasoning in deltas and usage, tool calls,
 * the reasoning round trip the Kimi API enforces, Kimi's `$web_search` mixed with a function tool (server round
 * completed upstream of the client), GLM's thinking switch passed through, models.yaml `providerOptions` reaching the
 * request of their own provider only, and provider error codes mapped to OpenAI statuses.
 */
import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { GlmMock, GlmScenarios } from "@conduitkit/provider-glm/testing"
import { KimiMock, KimiScenarios } from "@conduitkit/provider-kimi/testing"
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
    expect(reasoning).toBe('The user asks: "Why is the sky blue?". I will answer briefly.')
    expect(content).toBe("Hello from simulated Kimi.")
    expect(usage?.completion_tokens_details?.reasoning_tokens).toBe(TokenEstimator.estimateText(reasoning))
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
    expect(second.choices[0]?.message.content).toBe('Simulated Kimi: get_weather returned: {"celsius":21}.')
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
    expect(withoutReasoning.choices[0]?.message.content).toBe('Simulated Kimi: get_weather returned: {"celsius":21}.')
  })

  it("$web_search mixed with a function tool: the function normalized, the built-in appended, the search round completed upstream", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(...KimiMock.make({ ...kimi.simulation, recorder }).handlers)
    // `$schema` is not Moonshot Flavored JSON Schema: the provider strips it from function parameters
    const lookup = {
      type: "function" as const,
      function: {
        name: "lookup",
        description: "Looks a word up",
        parameters: {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          type: "object",
          properties: { word: { type: "string" } },
          required: ["word"]
        }
      }
    }
    const builtin = { type: "builtin_function", function: { name: "$web_search" } }
    const tools = [lookup, builtin] as unknown as Array<OpenAI.ChatCompletionTool>
    const answer = "According to the search results, here is the answer."

    const completion = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      messages: [{ role: "user", content: "What happened today?" }],
      tools
    })
    expect(completion.choices[0]?.message.content).toBe(answer)
    expect(completion.choices[0]?.message.tool_calls).toBeUndefined()
    expect(completion.choices[0]?.finish_reason).toBe("stop")
    expect(recorder.count).toBe(2) // the search call, then the answer once its arguments were echoed back
    const first = recorder.calls[0]?.body as { tools: Array<Record<string, unknown>> }
    expect(first.tools).toEqual([
      {
        type: "function",
        function: {
          name: "lookup",
          description: "Looks a word up",
          parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] }
        }
      },
      builtin
    ])
    const second = recorder.calls[1]?.body as { messages: Array<Record<string, unknown>>; tools: unknown }
    expect(second.messages.at(-1)).toMatchObject({ role: "tool", name: "$web_search" })
    expect(second.tools).toEqual(first.tools)

    const stream = await client(gateway).chat.completions.create({
      model: "kimi/kimi-k2.6",
      messages: [{ role: "user", content: "What happened today?" }],
      tools,
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(answer)
    expect(chunks.some((chunk) => chunk.choices[0]?.delta.tool_calls !== undefined)).toBe(false)
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop")
    expect(recorder.count).toBe(4)
    const [third, fourth] = recorder.calls.slice(2).map((call) => call.body as typeof second)
    expect(third?.tools).toEqual(first.tools)
    expect(fourth?.messages.at(-1)).toMatchObject({ role: "tool", name: "$web_search" })
  })

  it("a model the catalog marks retired reaches the upstream; its 404 names the current models", async () => {
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
    expect(recorder.count).toBe(1)
  })
})

describe("GLM (simulated by GlmMock)", () => {
  it("thinking switched on by a provider extra streams reasoning_content", async () => {
    const mock = GlmMock.make(glm.simulation)
    server.use(...mock.handlers)
    const stream = await client(gateway).chat.completions.create({
      model: "glm/glm-4.6",
      messages: [{ role: "user", content: "Think first." }],
      stream: true,
      ...({ thinking: { type: "enabled" } } as object)
    })
    const { content, reasoning } = await collect(stream as AsyncIterable<OpenAI.ChatCompletionChunk>)
    expect(reasoning).toBe('The user asks: "Think first.". I will answer briefly.')
    expect(content).toBe(GlmScenarios.text.text)
    expect(mock.recorder.last().body).toMatchObject({ thinking: { type: "enabled" } })
  })

  it("calls the declared tool, then answers from its result (stream and non-stream)", async () => {
    server.use(...GlmMock.make(glm.simulation).handlers)
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
    expect(content).toContain("get_weather returned: sunny")
  })

  it("maps Zhipu's error codes: 1113 insufficient balance is 429 insufficient_quota, tried once", async () => {
    const mock = GlmMock.make({
      ...glm.simulation,
      chat: () => GlmMock.errorResponse(GlmScenarios.errors.insufficientBalanceEn)
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

describe("models.yaml providerOptions", () => {
  it("reach the request of their own provider only, on the target and on a fallback", async () => {
    const routed = await startGateway({
      providers: [kimi.entry, glm.entry],
      models: {
        models: {
          both: {
            target: "kimi/kimi-k2.6",
            fallbacks: ["glm/glm-4.6"],
            retry: { maxRetries: 0 },
            providerOptions: { kimi: { thinking: "disabled" }, glm: { thinking: { type: "enabled" } } }
          },
          glmOnly: { target: "kimi/kimi-k2.6", providerOptions: { glm: { thinking: { type: "disabled" } } } }
        }
      }
    })
    try {
      let failKimi = false
      const kimiRecorder = new MockUpstream.Recorder()
      const zai = GlmMock.make(glm.simulation)
      server.use(
        ...KimiMock.make({
          ...kimi.simulation,
          recorder: kimiRecorder,
          respond: () => (failKimi ? KimiScenarios.errors.serverError() : undefined)
        }).handlers,
        ...zai.handlers
      )
      const ask = (model: string, stream = false) =>
        stream
          ? client(routed)
              .chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], stream: true })
              .then(collect)
          : client(routed)
              .chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] })
              .then((completion) => ({ content: completion.choices[0]?.message.content ?? "" }))

      // the target: Kimi's switch, in Kimi's wire form; GLM's option stays with GLM
      expect((await ask("both")).content).toBe("Hello from simulated Kimi.")
      expect(kimiRecorder.last().body).toMatchObject({ thinking: { type: "disabled" } })
      expect((await ask("both", true)).content).toBe("Hello from simulated Kimi.")
      expect(kimiRecorder.last().body).toMatchObject({ thinking: { type: "disabled" } })
      expect(zai.recorder.count).toBe(0)

      // the fallback: GLM's own option, not Kimi's
      failKimi = true
      expect((await ask("both")).content).toBe(GlmScenarios.text.text)
      expect(zai.recorder.last().body).toMatchObject({ thinking: { type: "enabled" } })
      expect((await ask("both", true)).content).toBe(GlmScenarios.text.text)
      expect(zai.recorder.last().body).toMatchObject({ thinking: { type: "enabled" } })
      expect(zai.recorder.count).toBe(2)

      // options for a provider the route does not reach change nothing on the one it does
      failKimi = false
      await ask("glmOnly")
      await ask("kimi/kimi-k2.6")
      const [withOptions, without] = kimiRecorder.calls.slice(-2).map((call) => call.body)
      expect(withOptions).toEqual(without)
    } finally {
      await routed.close()
    }
  })

  it.each([
    [
      "a bad value",
      { thinking: "sometimes" },
      /^invalid Kimi provider options: Expected "enabled" \| "disabled" at \["thinking"\]$/
    ],
    ["an unknown key", { thinkin: "disabled" }, /^unknown Kimi provider option "thinkin" \(accepted: .*thinking/]
  ])(
    "%s answers 400 invalid_provider_options with one plain sentence, before any upstream call",
    async (_, kimiOptions, text) => {
      const routed = await startGateway({
        providers: [kimi.entry],
        models: { models: { odd: { target: "kimi/kimi-k2.6", providerOptions: { kimi: kimiOptions } } } }
      })
      try {
        const recorder = new MockUpstream.Recorder()
        server.use(...KimiMock.make({ ...kimi.simulation, recorder }).handlers)
        const error = await failure(
          client(routed).chat.completions.create({ model: "odd", messages: [{ role: "user", content: "hi" }] })
        )
        expect(error.status).toBe(400)
        expect(error.error).toMatchObject({
          type: "invalid_request_error",
          code: "invalid_provider_options",
          param: "providerOptions"
        })
        const message = (error.error as { message: string }).message
        expect(message).toMatch(text)
        expect(message).not.toContain("Cause(")
        expect(recorder.count).toBe(0)
      } finally {
        await routed.close()
      }
    }
  )
})
