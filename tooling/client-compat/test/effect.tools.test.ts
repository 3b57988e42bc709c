/**
 * `@effect/ai-openai-compat`'s model-driven rows against the simulated gateway: a `Toolkit` tool loop over a `Chat`,
 * streamed tool calls (`tool-params-*` parts), `generateObject`, and reasoning surfaced and replayed in a thinking
 * model's tool round trip.
 */
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai-compat"
import { Cause, Effect, Exit, Layer, Redacted, Schema, Stream } from "effect"
import { Chat, LanguageModel, Tool, Toolkit } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { cityPrompt, isCity, toolPrompt, weather, weatherTool } from "./support/fixtures.js"
import { apiKey, targets } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
let client: Layer.Layer<OpenAiClient.OpenAiClient>
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
  client = OpenAiClient.layer({ apiKey: Redacted.make(apiKey), apiUrl: wire.baseURL }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
})
afterAll(() => wire.close())

const GetWeather = Tool.make(weatherTool.name, {
  description: weatherTool.description,
  parameters: Schema.Struct({ city: Schema.String.annotate({ description: "The city name, e.g. Paris" }) }),
  success: Schema.Struct({ city: Schema.String, temperature_c: Schema.Number, conditions: Schema.String })
})
const WeatherToolkit = Toolkit.make(GetWeather)
const WeatherHandlers = WeatherToolkit.toLayer({ get_weather: (params) => Effect.succeed(weather(params)) })

const City = Schema.Struct({ name: Schema.String, country: Schema.String, population: Schema.Int })

/** Runs `effect` with `model` as the LanguageModel and the weather handlers, to its value. */
const run = async <A, E>(
  model: string,
  effect: Effect.Effect<A, E, LanguageModel.LanguageModel | Tool.HandlersFor<typeof WeatherToolkit.tools>>
) => {
  const exit = await Effect.runPromiseExit(
    effect.pipe(
      Effect.provide(OpenAiLanguageModel.model(model)),
      Effect.provide(WeatherHandlers),
      Effect.provide(client)
    )
  )
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(Cause.pretty(exit.cause))
}

describe.each(targets)("Effect ai-openai-compat × $label", ({ model, thinking }) => {
  it("tool loop: a Chat with the toolkit resolves the call, the next turn answers with its result", async () => {
    wire.take()
    const [first, second] = await run(
      model,
      Effect.gen(function* () {
        const chat = yield* Chat.empty
        const toolkit = yield* WeatherToolkit
        const first = yield* chat.generateText({ prompt: toolPrompt, toolkit })
        const second = yield* chat.generateText({ prompt: [], toolkit })
        return [first, second] as const
      })
    )
    const [, replay] = wire.take()
    expect(first.finishReason).toBe("tool-calls")
    expect(first.toolCalls.map((call) => [call.name, call.params])).toEqual([["get_weather", { city: "Paris" }]])
    expect(first.toolResults.map((result) => result.result)).toEqual([weather({ city: "Paris" })])
    expect(second.finishReason).toBe("stop")
    expect(second.text).toContain('"temperature_c":21')
    expect(replay?.request.messages.map((message: Wire.Json) => message.role)).toEqual(["user", "assistant", "tool"])
    if (thinking) {
      // the thinking model's tool round trip: the client replays the reasoning it received
      expect(first.reasoningText?.trim().length).toBeGreaterThan(0)
      expect(replay?.request.messages[1].reasoning_content).toBe(first.reasoningText)
    }
  })

  it("streamed tool calls: tool-params-start, deltas that join to the params, a tool-call part, finish reason tool-calls", async () => {
    wire.take()
    const parts = await run(
      model,
      Effect.gen(function* () {
        const toolkit = yield* WeatherToolkit
        return yield* Stream.runCollect(
          LanguageModel.streamText({ prompt: toolPrompt, toolkit, disableToolCallResolution: true })
        )
      })
    )
    wire.take()
    const start = parts.find((part) => part.type === "tool-params-start")
    const deltas = parts.flatMap((part) => (part.type === "tool-params-delta" ? [part.delta] : []))
    const calls = parts.flatMap((part) => (part.type === "tool-call" ? [[part.name, part.params]] : []))
    expect(start?.type === "tool-params-start" && start.name).toBe("get_weather")
    expect(JSON.parse(deltas.join(""))).toEqual({ city: "Paris" })
    expect(calls).toEqual([["get_weather", { city: "Paris" }]])
    expect(parts.find((part) => part.type === "finish")).toMatchObject({ reason: "tool-calls" })
  })

  it("structured output: generateObject decodes the object the wire carried", async () => {
    wire.take()
    const response = await run(
      model,
      LanguageModel.generateObject({ prompt: cityPrompt, schema: City, objectName: "city" })
    )
    const [exchange] = wire.take()
    expect(isCity(response.value)).toBe(true)
    expect(response.value).toEqual(JSON.parse(Wire.message(exchange!).content))
  })

  if (thinking) {
    it("reasoning: reasoning parts, generated and streamed, as on the wire", async () => {
      wire.take()
      const generated = await run(model, LanguageModel.generateText({ prompt: "Why is the sky blue?" }))
      const parts = await run(model, Stream.runCollect(LanguageModel.streamText({ prompt: "Why is the sky blue?" })))
      const [one, two] = wire.take()
      const streamed = parts.flatMap((part) => (part.type === "reasoning-delta" ? [part.delta] : [])).join("")
      expect(generated.reasoningText?.trim().length).toBeGreaterThan(0)
      expect(generated.reasoningText).toBe(Wire.message(one!).reasoning_content)
      expect(streamed).toBe(Wire.streamedText(two!, "reasoning_content"))
    })
  }
})
