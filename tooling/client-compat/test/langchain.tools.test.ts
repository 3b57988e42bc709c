/**
 * LangChain's model-driven rows against the simulated gateway: `bindTools` with a `ToolMessage` round, streamed tool
 * call chunks, `withStructuredOutput` with each of its methods, and reasoning (`additional_kwargs.reasoning_content`)
 * surfaced; in a thinking model's tool round trip LangChain does not send the reasoning back (see the row).
 */
import { type AIMessageChunk, HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages"
import { tool } from "@langchain/core/tools"
import { ChatOpenAI } from "@langchain/openai"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { z } from "zod"
import { cityPrompt, citySchema, isCity, toolPrompt, weather, weatherTool } from "./support/fixtures.js"
import { apiKey, targets } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
})
afterAll(() => wire.close())

const chat = (model: string) =>
  new ChatOpenAI({ model, apiKey, configuration: { baseURL: wire.baseURL }, maxRetries: 0 })

const getWeather = tool(async (input: { city: string }) => JSON.stringify(weather(input)), {
  name: weatherTool.name,
  description: weatherTool.description,
  schema: z.object({ city: z.string().describe("The city name, e.g. Paris") })
})

const City = z.object({ name: z.string(), country: z.string(), population: z.number().int() })

describe.each(targets)("LangChain × $label", ({ model, thinking }) => {
  it("tool loop: bindTools, the model's tool_calls, a ToolMessage round, an answer that uses the result", async () => {
    wire.take()
    const model_ = chat(model).bindTools([getWeather])
    const human = new HumanMessage(toolPrompt)
    const ai = await model_.invoke([human])
    expect(ai.response_metadata.finish_reason).toBe("tool_calls")
    expect(ai.tool_calls?.map((call) => [call.name, call.args])).toEqual([["get_weather", { city: "Paris" }]])
    const call = ai.tool_calls![0]!
    const result = new ToolMessage({
      tool_call_id: call.id!,
      content: await getWeather.invoke(call.args as { city: string })
    })
    const answer = await model_.invoke([human, ai, result])
    const [first, replay] = wire.take()
    expect(answer.response_metadata.finish_reason).toBe("stop")
    expect(answer.content).toContain('"temperature_c":21')
    expect(replay?.request.messages[1]).toMatchObject({ role: "assistant", tool_calls: [{ id: call.id }] })
    if (thinking) {
      // LangChain surfaces the reasoning (additional_kwargs.reasoning_content) but does not send it back with the
      // tool-call turn; the gateway's Kimi provider fills the turn's reasoning in, so the round trip still succeeds
      expect(ai.additional_kwargs.reasoning_content).toBe(Wire.message(first!).reasoning_content)
      expect(replay?.request.messages[1]).not.toHaveProperty("reasoning_content")
      expect(replay?.status).toBe(200)
    }
  })

  it("streamed tool calls: tool_call_chunks across chunks concatenate to one call with parsed args", async () => {
    wire.take()
    let merged: AIMessageChunk | undefined
    let withChunks = 0
    for await (const chunk of await chat(model).bindTools([getWeather]).stream(toolPrompt)) {
      if ((chunk.tool_call_chunks?.length ?? 0) > 0) withChunks++
      merged = merged === undefined ? chunk : merged.concat(chunk)
    }
    wire.take()
    expect(withChunks).toBeGreaterThan(0)
    expect(merged?.tool_calls?.map((call) => [call.name, call.args])).toEqual([["get_weather", { city: "Paris" }]])
    expect(merged?.tool_calls?.[0]?.id).toMatch(/\S/)
    expect(merged?.response_metadata.finish_reason).toBe("tool_calls")
  })

  it.each(["jsonSchema", "functionCalling"] as const)(
    "structured output: withStructuredOutput method %s parses the object the wire carried",
    async (method) => {
      if (method === "functionCalling" && thinking && model.startsWith("kimi/")) {
        // functionCalling forces the function (a named tool_choice), which Moonshot refuses on a model that is
        // thinking (the provider's rule, as the twin answers it): a typed 400 naming the way out
        const error = await chat(model)
          .withStructuredOutput(City, { method, name: "city" })
          .invoke(cityPrompt)
          .catch((e: unknown) => e)
        expect((error as Error).constructor.name).toBe("BadRequestError")
        expect(error).toMatchObject({ status: 400 })
        expect((error as Error).message).toMatch(/named tool_choice is incompatible with thinking/)
        return
      }
      wire.take()
      const city = await chat(model).withStructuredOutput(City, { method, name: "city" }).invoke(cityPrompt)
      const [exchange] = wire.take()
      expect(isCity(city)).toBe(true)
      const message = Wire.message(exchange!)
      if (method === "jsonSchema") {
        expect(exchange?.request.response_format).toMatchObject({ type: "json_schema" })
        expect(city).toEqual(JSON.parse(message.content))
      } else {
        expect(exchange?.request.tool_choice).toMatchObject({ type: "function", function: { name: "city" } })
        expect(city).toEqual(JSON.parse(message.tool_calls[0].function.arguments))
      }
    }
  )

  it("structured output: withStructuredOutput method jsonMode (the schema in a system message) parses the object", async () => {
    wire.take()
    const city = await chat(model)
      .withStructuredOutput(City, { method: "jsonMode" })
      .invoke([
        new SystemMessage(
          `Respond with a JSON object that conforms to this JSON Schema:\n${JSON.stringify(citySchema)}`
        ),
        new HumanMessage(cityPrompt)
      ])
    const [exchange] = wire.take()
    expect(exchange?.request.response_format).toEqual({ type: "json_object" })
    expect(isCity(city)).toBe(true)
    expect(city).toEqual(JSON.parse(Wire.message(exchange!).content))
  })

  if (thinking) {
    it("reasoning: additional_kwargs.reasoning_content, invoked and streamed, as on the wire", async () => {
      wire.take()
      const invoked = await chat(model).invoke("Why is the sky blue?")
      let merged: AIMessageChunk | undefined
      for await (const chunk of await chat(model).stream("Why is the sky blue?")) {
        merged = merged === undefined ? chunk : merged.concat(chunk)
      }
      const [one, two] = wire.take()
      const reasoning = invoked.additional_kwargs.reasoning_content
      expect(typeof reasoning === "string" && reasoning.trim().length > 0).toBe(true)
      expect(reasoning).toBe(Wire.message(one!).reasoning_content)
      expect(merged?.additional_kwargs.reasoning_content).toBe(Wire.streamedText(two!, "reasoning_content"))
    })
  }
})
