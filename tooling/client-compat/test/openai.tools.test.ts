/**
 * The `openai` SDK's model-driven rows against the simulated gateway: a tool loop written by hand, streamed tool
 * calls, structured output (`chat.completions.parse` with a zod response format, and `json_object`), and reasoning
 * (`reasoning_content`, untyped in the SDK) surfaced and replayed in a thinking model's tool round trip.
 */
import OpenAI from "openai"
import { zodResponseFormat } from "openai/helpers/zod"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { z } from "zod"
import { cityPrompt, citySchema, isCity, toolPrompt, weather, weatherTool } from "./support/fixtures.js"
import { apiKey, targets } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
let client: OpenAI
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
  client = new OpenAI({ apiKey, baseURL: wire.baseURL, maxRetries: 0, timeout: 20_000 })
})
afterAll(() => wire.close())

const tools: Array<OpenAI.ChatCompletionTool> = [{ type: "function", function: weatherTool }]

/** `reasoning_content`, which the SDK passes through untyped. */
const reasoningOf = (value: object): unknown => (value as { reasoning_content?: unknown }).reasoning_content

describe.each(targets)("openai SDK × $label", ({ model, thinking }) => {
  it("tool loop by hand: the model calls get_weather, the tool result turn gets an answer that uses it", async () => {
    wire.take()
    const messages: Array<OpenAI.ChatCompletionMessageParam> = [{ role: "user", content: toolPrompt }]
    const first = await client.chat.completions.create({ model, messages, tools })
    const choice = first.choices[0]!
    expect(choice.finish_reason).toBe("tool_calls")
    const call = choice.message.tool_calls?.[0]
    expect(call?.type).toBe("function")
    if (call?.type !== "function") return
    expect(call.function.name).toBe("get_weather")
    const args = JSON.parse(call.function.arguments)
    expect(args).toEqual({ city: "Paris" })
    // the assistant turn as received (with reasoning_content on a thinking model), then the tool result
    messages.push(choice.message, { role: "tool", tool_call_id: call.id, content: JSON.stringify(weather(args)) })
    const second = await client.chat.completions.create({ model, messages, tools })
    expect(second.choices[0]?.finish_reason).toBe("stop")
    expect(second.choices[0]?.message.content).toContain('"temperature_c":21')
    const [, replay] = wire.take()
    expect(replay?.status).toBe(200)
    expect(replay?.request.messages[1]).toMatchObject({ role: "assistant", tool_calls: [{ id: call.id }] })
    if (thinking) expect(replay?.request.messages[1].reasoning_content).toBe(reasoningOf(choice.message))
  })

  it("streamed tool calls: id and name first, argument fragments that join to valid JSON, finish reason tool_calls", async () => {
    wire.take()
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      tools,
      messages: [{ role: "user", content: toolPrompt }]
    })
    const calls = new Map<number, { id?: string; name?: string; arguments: string; fragments: number }>()
    let finishReason: string | null = null
    for await (const chunk of stream) {
      for (const choice of chunk.choices) {
        finishReason = choice.finish_reason ?? finishReason
        for (const delta of choice.delta.tool_calls ?? []) {
          const call = calls.get(delta.index) ?? { arguments: "", fragments: 0 }
          if (delta.id !== undefined) call.id = delta.id
          if (delta.function?.name !== undefined) call.name = delta.function.name
          if (delta.function?.arguments) {
            call.arguments += delta.function.arguments
            call.fragments++
          }
          calls.set(delta.index, call)
        }
      }
    }
    wire.take()
    expect(finishReason).toBe("tool_calls")
    expect([...calls.keys()]).toEqual([0])
    const call = calls.get(0)!
    expect(call.id).toMatch(/\S/)
    expect(call.name).toBe("get_weather")
    expect(JSON.parse(call.arguments)).toEqual({ city: "Paris" })
  })

  it("structured output: chat.completions.parse with zodResponseFormat gives the parsed object the wire carried", async () => {
    wire.take()
    const City = z.object({ name: z.string(), country: z.string(), population: z.number().int() })
    const completion = await client.chat.completions.parse({
      model,
      messages: [{ role: "user", content: cityPrompt }],
      response_format: zodResponseFormat(City, "city")
    })
    const [exchange] = wire.take()
    const parsed = completion.choices[0]?.message.parsed
    expect(exchange?.request.response_format).toMatchObject({ type: "json_schema", json_schema: { name: "city" } })
    expect(isCity(parsed)).toBe(true)
    expect(parsed).toEqual(JSON.parse(Wire.message(exchange!).content))
  })

  it("structured output: json_object with the schema in a system message answers an object of that schema", async () => {
    const completion = await client.chat.completions.create({
      model,
      response_format: { type: "json_object" },
      messages: [
        {
          role: "system",
          content: `Respond with a JSON object that conforms to this JSON Schema:\n${JSON.stringify(citySchema)}`
        },
        { role: "user", content: cityPrompt }
      ]
    })
    expect(isCity(JSON.parse(completion.choices[0]?.message.content ?? ""))).toBe(true)
  })

  if (thinking) {
    it("reasoning: reasoning_content surfaced (untyped) non-streamed and streamed, as on the wire", async () => {
      wire.take()
      const completion = await client.chat.completions.create({
        model,
        messages: [{ role: "user", content: "Why is the sky blue?" }]
      })
      const stream = await client.chat.completions.create({
        model,
        stream: true,
        messages: [{ role: "user", content: "Why is the sky blue?" }]
      })
      let streamed = ""
      for await (const chunk of stream) {
        for (const choice of chunk.choices) {
          const delta = reasoningOf(choice.delta)
          if (typeof delta === "string") streamed += delta
        }
      }
      const [one, two] = wire.take()
      const reasoning = reasoningOf(completion.choices[0]!.message)
      expect(typeof reasoning === "string" && reasoning.trim().length > 0).toBe(true)
      expect(reasoning).toBe(Wire.message(one!).reasoning_content)
      expect(streamed).toBe(Wire.streamedText(two!, "reasoning_content"))
      expect(streamed.trim().length).toBeGreaterThan(0)
    })
  }
})
