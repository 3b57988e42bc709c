/**
 * The GLM twin held against the live recordings: every request recorded in `glm/fantasy/*.yaml` is sent to `GlmMock`
 * as recorded, and the twin's answer must have the recording's shape (fields, types, placement of usage, reasoning
 * and tool calls; streams: the same kinds of delta in the same order, `role` on every content delta, the finish
 * chunk's shape) and, where the recording called a tool, the same tool with arguments valid for its schema (the
 * same arguments where the prompt names them). Then the behaviours the recordings do not cover, table-driven:
 * thinking modes, structured output the provider's way, the recorded refusals, usage that adds up.
 */
import { Sse, TokenEstimator } from "@conduitkit/core"
import { Recordings, Twin } from "@conduitkit/core/testing"
import { Ajv } from "ajv"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const base = "https://api.z.ai/api/coding/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

// biome-ignore lint/suspicious/noExplicitAny: raw wire JSON in assertions
type Wire = any

const post = (body: unknown) =>
  fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer test-key" },
    body: JSON.stringify(body)
  })

const chunksOf = (payloads: ReadonlyArray<string>): Array<Wire> =>
  payloads.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data))

/** The kinds of delta in order of first appearance: reasoning, text (not blank), tool calls. */
const kinds = (chunks: ReadonlyArray<Wire>) => {
  const out: Array<string> = []
  const add = (kind: string) => out.includes(kind) || out.push(kind)
  for (const chunk of chunks) {
    const delta = chunk.choices?.[0]?.delta ?? {}
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content.trim() !== "") add("reasoning")
    if (typeof delta.content === "string" && delta.content.trim() !== "") add("text")
    if (Array.isArray(delta.tool_calls)) add("tool_calls")
  }
  return out
}

const toolCallsOf = (body: Wire): Array<{ name: string; arguments: unknown }> =>
  (body.choices[0].message.tool_calls ?? []).map((call: Wire) => ({
    name: call.function.name,
    arguments: JSON.parse(call.function.arguments)
  }))

const streamedCalls = (chunks: ReadonlyArray<Wire>) => {
  const calls: Array<{ name: string; arguments: string }> = []
  for (const chunk of chunks) {
    for (const call of chunk.choices?.[0]?.delta?.tool_calls ?? []) {
      calls[call.index] ??= { name: "", arguments: "" }
      const slot = calls[call.index] as { name: string; arguments: string }
      slot.name += call.function?.name ?? ""
      slot.arguments += call.function?.arguments ?? ""
    }
  }
  return calls.map((call) => ({ name: call.name, arguments: JSON.parse(call.arguments) }))
}

const ajv = new Ajv({ strict: false })
const expectValidArguments = (request: Wire, calls: ReadonlyArray<{ name: string; arguments: unknown }>) => {
  for (const call of calls) {
    const tool = Twin.functionTools(request).find((candidate) => candidate.name === call.name)
    expect(tool, call.name).toBeDefined()
    const check = ajv.compile(tool?.parameters as object)
    expect(check(call.arguments), JSON.stringify(check.errors)).toBe(true)
  }
}

Recordings.describeRecordings("the twin answers each recorded request in the recorded shape", () => {
  const cases = Recordings.list("glm/fantasy", /\.yaml$/).flatMap((file) =>
    Recordings.readCassette(file).interactions.map((interaction, index) => ({
      name: `${file.replace("glm/fantasy/", "")} #${index}`,
      request: interaction.request.json as Wire,
      response: interaction.response
    }))
  )

  it.each(cases)("$name", async ({ request, response }) => {
    server.use(...GlmMock.make({ baseURL: base }).handlers)
    const answer = await post(request)
    expect(answer.status).toBe(response.status)
    if (response.sse === undefined) {
      const body: Wire = await answer.json()
      const recorded = response.json as Wire
      expect(Twin.shapeOf(body)).toEqual(Twin.shapeOf(recorded))
      expect(body.choices[0].finish_reason).toBe(recorded.choices[0].finish_reason)
      const calls = toolCallsOf(body)
      expect(calls.map((call) => call.name)).toEqual(toolCallsOf(recorded).map((call) => call.name))
      expectValidArguments(request, calls)
      return
    }
    const chunks = chunksOf(Sse.decodeAll(await answer.text()).map((event) => event.data))
    const recorded = chunksOf(response.sse)
    expect(kinds(chunks)).toEqual(kinds(recorded))
    expect(Twin.shapeOf(chunks.at(-1))).toEqual(Twin.shapeOf(recorded.at(-1)))
    expect(chunks.at(-1).choices[0].finish_reason).toBe(recorded.at(-1).choices[0].finish_reason)
    for (const chunk of chunks.slice(0, -1)) {
      const delta = chunk.choices[0].delta
      expect(delta.role === "assistant" || Array.isArray(delta.tool_calls), JSON.stringify(delta)).toBe(true)
    }
    const calls = streamedCalls(chunks)
    expect(calls.map((call) => call.name)).toEqual(streamedCalls(recorded).map((call) => call.name))
    expectValidArguments(request, calls)
  })

  it.each([
    "TestOpenAICompatObjectGeneration__zai-glm-4.5__simple_object.yaml",
    "TestZAICommon__zai-glm-4.6__tool.yaml",
    "TestOpenAICompatibleThinking__zai-glm-4.5__thinking.yaml",
    "TestZAICommon__zai-glm-4.6__multi_tool.yaml"
  ])("%s: the arguments the live model chose, taken from the prompt", async (file) => {
    server.use(...GlmMock.make({ baseURL: base }).handlers)
    const [first] = Recordings.readCassette(`glm/fantasy/${file}`).interactions
    const body: Wire = await (await post(first?.request.json)).json()
    expect(toolCallsOf(body)).toEqual(toolCallsOf(first?.response.json))
  })
})

const user = (content: string) => ({ role: "user", content })
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
  }
}

describe("thinking follows the catalog's thinking mode", () => {
  it.each([
    { model: "glm-4.6", thinking: undefined, reasons: true, why: "optional: on by default" },
    { model: "glm-4.6", thinking: { type: "disabled" }, reasons: false, why: "optional: switched off" },
    { model: "glm-4.7", thinking: undefined, reasons: true, why: "always" },
    { model: "glm-4-plus", thinking: { type: "enabled" }, reasons: false, why: "none: never" }
  ])("$model, $why", async ({ model, thinking, reasons }) => {
    server.use(...GlmMock.make().handlers)
    const response = await fetch("https://api.z.ai/api/paas/v4/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer test-key" },
      body: JSON.stringify({ model, messages: [user(`Hello from a ${model} test`)], ...(thinking ? { thinking } : {}) })
    })
    const body: Wire = await response.json()
    const reasoning = body.choices[0].message.reasoning_content
    expect(reasoning === undefined ? false : reasoning.includes(`Hello from a ${model} test`)).toBe(reasons)
  })
})

describe("structured output, the provider's way", () => {
  const schema = {
    type: "object",
    properties: { city: { type: "string" }, temperature: { type: "number" } },
    required: ["city", "temperature"]
  }
  it.each([
    {
      name: "json_object with the schema in a system message (what GlmLanguageModel sends for json_schema)",
      body: {
        response_format: { type: "json_object" },
        messages: [
          {
            role: "system",
            content: `Respond with a single JSON object named "weather" that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(schema)}`
          },
          user("It is 31 degrees in Rome")
        ]
      },
      expected: { city: "Rome", temperature: 31 }
    },
    {
      name: "json_object alone",
      body: { response_format: { type: "json_object" }, messages: [user("Say hi as JSON")] },
      expected: { answer: "Say hi as JSON" }
    }
  ])("$name", async ({ body, expected }) => {
    server.use(...GlmMock.make().handlers)
    const response = await fetch("https://api.z.ai/api/paas/v4/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer test-key" },
      body: JSON.stringify({ model: "glm-4.6", ...body })
    })
    const wire: Wire = await response.json()
    expect(JSON.parse(wire.choices[0].message.content)).toEqual(expected)
  })
})

describe("refusals as the live API answers them", () => {
  it.each([
    {
      name: "an unknown model: 400 code 1211 (live, glm/errors/third_party_observed_error_bodies.jsonl)",
      body: { model: "glm-9-imaginary", messages: [user("hi")] },
      error: GlmScenarios.errors.unknownModelEn
    },
    {
      name: "thinking disabled on a model that always thinks: 400 code 1210 (live, same file)",
      body: { model: "glm-4.7", thinking: { type: "disabled" }, messages: [user("hi")] },
      error: GlmScenarios.errors.thinkingAlwaysCn
    },
    {
      name: "a prompt over the context window: 400 code 1261 (live, same file)",
      body: { model: "glm-4.6", messages: [user("lorem ".repeat(300_000))] },
      error: GlmScenarios.errors.promptTooLongEn
    }
  ])("$name", async ({ body, error }) => {
    server.use(...GlmMock.make().handlers)
    const response = await fetch("https://api.z.ai/api/paas/v4/chat/completions", {
      method: "POST",
      headers: { authorization: "Bearer test-key" },
      body: JSON.stringify(body)
    })
    expect(response.status).toBe(error.status)
    expect(await response.json()).toEqual(error.body)
  })

  it("the recorded bodies are the ones the twin sends", () => {
    const observed = Recordings.readText("glm/errors/third_party_observed_error_bodies.jsonl")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line).body)
    for (const error of [
      GlmScenarios.errors.unknownModelEn,
      GlmScenarios.errors.thinkingAlwaysCn,
      GlmScenarios.errors.promptTooLongEn
    ]) {
      expect(observed).toContainEqual(error.body)
    }
  })
})

describe("usage adds up", () => {
  it("prompt from core's estimator, cached when a prefix repeats, reasoning within completion", async () => {
    server.use(...GlmMock.make().handlers)
    const system = { role: "system", content: "You answer questions about the weather. ".repeat(10) }
    const ask = async (messages: ReadonlyArray<unknown>): Promise<Wire> => {
      const response = await fetch("https://api.z.ai/api/paas/v4/chat/completions", {
        method: "POST",
        headers: { authorization: "Bearer test-key" },
        body: JSON.stringify({ model: "glm-4.7", messages, tools: [weather] })
      })
      const body: Wire = await response.json()
      return body.usage
    }
    const first = await ask([system, user("Weather in Oslo?")])
    expect(first.prompt_tokens).toBe(
      TokenEstimator.estimateRequest({ messages: [system, user("Weather in Oslo?")], tools: [weather] })
    )
    expect(first.prompt_tokens_details.cached_tokens).toBe(0)
    expect(first.completion_tokens_details.reasoning_tokens).toBeGreaterThan(0)
    expect(first.completion_tokens_details.reasoning_tokens).toBeLessThan(first.completion_tokens)
    expect(first.total_tokens).toBe(first.prompt_tokens + first.completion_tokens)
    const second = await ask([
      system,
      user("Weather in Oslo?"),
      { role: "assistant", content: "Sunny." },
      user("And Bergen?")
    ])
    expect(second.prompt_tokens_details.cached_tokens).toBe(
      TokenEstimator.estimateMessages([system, user("Weather in Oslo?")])
    )
  })
})
