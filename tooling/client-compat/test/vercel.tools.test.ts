/**
 * The Vercel AI SDK's model-driven rows against the simulated gateway: `generateText` with a tool and several steps,
 * streamed tool calls (`fullStream` tool-input parts), structured output (`generateObject`, `Output.object`), and
 * reasoning surfaced and replayed in a thinking model's tool round trip.
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateObject, generateText, Output, stepCountIs, streamText, tool } from "ai"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { z } from "zod"
import { cityPrompt, isCity, toolPrompt, weather, weatherTool } from "./support/fixtures.js"
import { apiKey, targets } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
let conduit: ReturnType<typeof createOpenAICompatible>
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
  // supportsStructuredOutputs: send json_schema (the gateway accepts it for every model; see the json_object row)
  conduit = createOpenAICompatible({
    name: "conduit",
    baseURL: wire.baseURL,
    apiKey,
    includeUsage: true,
    supportsStructuredOutputs: true
  })
})
afterAll(() => wire.close())

const tools = {
  get_weather: tool({
    description: weatherTool.description,
    inputSchema: z.object({ city: z.string().describe("The city name, e.g. Paris") }),
    execute: async (input) => weather(input)
  })
}

const City = z.object({ name: z.string(), country: z.string(), population: z.number().int() })

describe.each(targets)("Vercel AI SDK × $label", ({ model, thinking }) => {
  it("tool loop: generateText with a tool and stopWhen runs the call, then answers with its result", async () => {
    wire.take()
    const result = await generateText({
      model: conduit(model),
      tools,
      stopWhen: stepCountIs(4),
      prompt: toolPrompt,
      maxRetries: 0
    })
    const [, replay] = wire.take()
    expect(result.steps).toHaveLength(2)
    expect(result.steps[0]?.finishReason).toBe("tool-calls")
    expect(result.steps[0]?.toolCalls.map((call) => [call.toolName, call.input])).toEqual([
      ["get_weather", { city: "Paris" }]
    ])
    expect(result.steps[0]?.toolResults[0]?.output).toEqual(weather({ city: "Paris" }))
    expect(result.finishReason).toBe("stop")
    expect(result.text).toContain('"temperature_c":21')
    expect(replay?.request.messages.map((message: Wire.Json) => message.role)).toEqual(["user", "assistant", "tool"])
    if (thinking) {
      // the thinking model's tool round trip: the SDK replays the reasoning it received
      expect(result.steps[0]?.reasoningText?.trim().length).toBeGreaterThan(0)
      expect(replay?.request.messages[1].reasoning_content).toBe(result.steps[0]?.reasoningText)
    }
  })

  it("streamed tool calls: tool-input-start, deltas that join to the input, a tool-call part, finish reason tool-calls", async () => {
    wire.take()
    const result = streamText({
      model: conduit(model),
      // no execute: the stream stops at the call
      tools: {
        get_weather: tool({ description: weatherTool.description, inputSchema: tools.get_weather.inputSchema })
      },
      prompt: toolPrompt,
      maxRetries: 0
    })
    let started: { id: string; toolName: string } | undefined
    let input = ""
    const calls: Array<{ toolName: string; input: unknown }> = []
    for await (const part of result.fullStream) {
      if (part.type === "tool-input-start") started = { id: part.id, toolName: part.toolName }
      if (part.type === "tool-input-delta") input += part.delta
      if (part.type === "tool-call") calls.push({ toolName: part.toolName, input: part.input })
    }
    wire.take()
    expect(started?.toolName).toBe("get_weather")
    expect(JSON.parse(input)).toEqual({ city: "Paris" })
    expect(calls).toEqual([{ toolName: "get_weather", input: { city: "Paris" } }])
    expect(await result.finishReason).toBe("tool-calls")
  })

  it("structured output: generateObject (json_schema) gives the object the wire carried", async () => {
    wire.take()
    const result = await generateObject({ model: conduit(model), schema: City, prompt: cityPrompt, maxRetries: 0 })
    const [exchange] = wire.take()
    expect(exchange?.request.response_format).toMatchObject({ type: "json_schema" })
    expect(isCity(result.object)).toBe(true)
    expect(result.object).toEqual(JSON.parse(Wire.message(exchange!).content))
  })

  it("structured output: generateText with Output.object gives the object the wire carried", async () => {
    wire.take()
    const result = await generateText({
      model: conduit(model),
      output: Output.object({ schema: City }),
      prompt: cityPrompt,
      maxRetries: 0
    })
    const [exchange] = wire.take()
    expect(isCity(result.output)).toBe(true)
    expect(result.output).toEqual(JSON.parse(Wire.message(exchange!).content))
  })

  if (thinking) {
    it("reasoning: reasoningText and streamed reasoning deltas, as on the wire", async () => {
      wire.take()
      const generated = await generateText({ model: conduit(model), prompt: "Why is the sky blue?", maxRetries: 0 })
      const streamed = streamText({ model: conduit(model), prompt: "Why is the sky blue?", maxRetries: 0 })
      let reasoning = ""
      for await (const part of streamed.fullStream) if (part.type === "reasoning-delta") reasoning += part.text
      const [one, two] = wire.take()
      expect(generated.reasoningText?.trim().length).toBeGreaterThan(0)
      expect(generated.reasoningText).toBe(Wire.message(one!).reasoning_content)
      expect(reasoning).toBe(Wire.streamedText(two!, "reasoning_content"))
    })
  }
})
