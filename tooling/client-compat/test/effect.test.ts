/**
 * `@effect/ai-openai-compat` (with the `effect` version it pins, kept inside this package) against the simulated
 * gateway: one row per feature and target model; each surfaced value is compared with what crossed the wire for
 * that exchange.
 */
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai-compat"
import { Cause, Effect, Exit, Layer, Redacted, Stream } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { apiKey, targets, unknownModel, unknownProviderModels } from "./support/targets.js"
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

type ModelConfig = Parameters<typeof OpenAiLanguageModel.model>[1]

/** Runs `effect` with `model` as the LanguageModel, to its Exit. */
const run = <A, E>(
  model: string,
  effect: Effect.Effect<A, E, LanguageModel.LanguageModel>,
  options: { readonly signal?: AbortSignal; readonly config?: ModelConfig } = {}
) =>
  Effect.runPromiseExit(
    effect.pipe(Effect.provide(OpenAiLanguageModel.model(model, options.config)), Effect.provide(client)),
    options.signal === undefined ? undefined : { signal: options.signal }
  )

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(`expected a success, got ${Cause.pretty(exit.cause)}`)
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "Some") return error.value
  }
  throw new Error(`expected a failure, got ${JSON.stringify(exit)}`)
}

const prompt = "Say hello in one short sentence."

describe.each(targets)("Effect ai-openai-compat × $label", ({ model }) => {
  it("generateText: the answer, finish reason and usage as on the wire", async () => {
    wire.take()
    const response = success(await run(model, LanguageModel.generateText({ prompt })))
    const [exchange] = wire.take()
    const usage = Wire.usage(exchange!)
    expect(response.text).toBe(Wire.message(exchange!).content)
    expect(response.text.trim().length).toBeGreaterThan(0)
    expect(response.finishReason).toBe("stop")
    expect(response.usage.inputTokens.total).toBe(usage.prompt_tokens)
    expect(response.usage.outputTokens.total).toBe(usage.completion_tokens)
  })

  it("streamText: text deltas add up to the streamed text, then a finish part with usage", async () => {
    wire.take()
    const parts = success(await run(model, Stream.runCollect(LanguageModel.streamText({ prompt }))))
    const [exchange] = wire.take()
    const usage = Wire.usage(exchange!)
    const deltas = parts.flatMap((part) => (part.type === "text-delta" ? [part.delta] : []))
    const finish = parts.find((part) => part.type === "finish")
    expect(exchange?.request).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join("")).toBe(Wire.streamedText(exchange!))
    expect(finish?.reason).toBe("stop")
    expect(finish?.usage.inputTokens.total).toBe(usage.prompt_tokens)
    expect(finish?.usage.outputTokens.total).toBe(usage.completion_tokens)
  })

  it("usage: a repeated prefix is reported as cacheRead; cacheRead and reasoning tokens as on the wire", async () => {
    const system = `You are a careful assistant. ${"Context line. ".repeat(200)}`
    const ask = LanguageModel.generateText({
      prompt: [
        { role: "system", content: system },
        { role: "user", content: "Summarise the context." }
      ]
    })
    wire.take()
    const first = success(await run(model, ask))
    const second = success(await run(model, ask))
    const [one, two] = wire.take()
    for (const [response, exchange] of [
      [first, one],
      [second, two]
    ] as const) {
      const usage = Wire.usage(exchange!)
      expect(response.usage.inputTokens.cacheRead).toBe(usage.prompt_tokens_details?.cached_tokens)
      expect(response.usage.outputTokens.reasoning).toBe(usage.completion_tokens_details?.reasoning_tokens)
    }
    expect(second.usage.inputTokens.cacheRead).toBeGreaterThan(0)
  })

  it("abort mid-stream: aborting the run's signal interrupts the stream, the gateway request is closed", async () => {
    wire.take()
    const controller = new AbortController()
    let received = 0
    const exit = await run(
      model,
      LanguageModel.streamText({ prompt: "Tell me a long story." }).pipe(
        Stream.runForEach((part) =>
          Effect.sync(() => {
            if (part.type === "text-delta" || part.type === "reasoning-delta") {
              received++
              controller.abort()
            }
          })
        )
      ),
      { signal: controller.signal }
    )
    const [exchange] = wire.take()
    expect(Wire.events(exchange!.body).length).toBeGreaterThan(1)
    expect(received).toBeGreaterThanOrEqual(1)
    expect(Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)).toBe(true)
  })

  it("a malformed request (top_p as a string in the model config) is an AiError, InvalidRequestError reason (400)", async () => {
    // the config type allows any extra key; a wrongly typed known one comes from JSON read at run time
    const config = JSON.parse('{ "top_p": "high" }') as ModelConfig
    const error = failure(await run(model, LanguageModel.generateText({ prompt }), { config }))
    expect(error).toBeInstanceOf(AiError.AiError)
    expect(error.reason._tag).toBe("InvalidRequestError")
    expect(error.reason).toMatchObject({
      http: { response: { status: 400 } },
      metadata: { "openai-compat": { errorCode: "invalid_type", errorType: "invalid_request_error" } }
    })
  })
})

describe("Effect ai-openai-compat × errors", () => {
  it("an unknown model is an AiError with an InvalidRequestError reason (404, code model_not_found)", async () => {
    const error = failure(await run(unknownModel, LanguageModel.generateText({ prompt })))
    expect(error).toBeInstanceOf(AiError.AiError)
    expect(error.reason._tag).toBe("InvalidRequestError")
    expect(error.reason).toMatchObject({
      http: { response: { status: 404 } },
      metadata: { "openai-compat": { errorCode: "model_not_found", errorType: "invalid_request_error" } }
    })
  })

  it.each(unknownProviderModels)(
    "an unknown %s (the provider's own 404) is an AiError, InvalidRequestError reason, no upstream address in the body",
    async (model) => {
      const error = failure(await run(model, LanguageModel.generateText({ prompt })))
      expect(error.reason._tag).toBe("InvalidRequestError")
      expect(error.reason).toMatchObject({
        http: { response: { status: 404 } },
        metadata: { "openai-compat": { errorCode: "model_not_found" } }
      })
      expect((error.reason as { http?: { body?: string } }).http?.body).not.toMatch(/https?:\/\/|simulated\.invalid/)
    }
  )
})
