/**
 * The Vercel AI SDK (`ai` with `@ai-sdk/openai-compatible`) against the simulated gateway: one row per feature and
 * target model; each surfaced value is compared with what crossed the wire for that exchange.
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { APICallError, generateText, streamText } from "ai"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { apiKey, targets, unknownModel, unknownProviderModels } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
let conduit: ReturnType<typeof createOpenAICompatible>
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
  conduit = createOpenAICompatible({ name: "conduit", baseURL: wire.baseURL, apiKey, includeUsage: true })
})
afterAll(() => wire.close())

const prompt = "Say hello in one short sentence."

describe.each(targets)("Vercel AI SDK × $label", ({ model }) => {
  it("generateText: the answer, finish reason and usage as on the wire", async () => {
    wire.take()
    const result = await generateText({ model: conduit(model), prompt, maxRetries: 0 })
    const [exchange] = wire.take()
    const usage = Wire.usage(exchange!)
    expect(result.text).toBe(Wire.message(exchange!).content)
    expect(result.text.trim().length).toBeGreaterThan(0)
    expect(result.finishReason).toBe("stop")
    expect(result.usage).toMatchObject({
      inputTokens: usage.prompt_tokens,
      outputTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens
    })
  })

  it("streamText: text deltas add up to the streamed text, then a finish reason and usage", async () => {
    wire.take()
    const result = streamText({ model: conduit(model), prompt, maxRetries: 0 })
    const deltas: Array<string> = []
    for await (const delta of result.textStream) deltas.push(delta)
    const [finishReason, usage] = await Promise.all([result.finishReason, result.usage])
    const [exchange] = wire.take()
    const wireUsage = Wire.usage(exchange!)
    expect(exchange?.request).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(deltas.length).toBeGreaterThan(1)
    expect(deltas.join("")).toBe(Wire.streamedText(exchange!))
    expect(finishReason).toBe("stop")
    expect(usage).toMatchObject({
      inputTokens: wireUsage.prompt_tokens,
      outputTokens: wireUsage.completion_tokens,
      totalTokens: wireUsage.total_tokens
    })
  })

  it("usage: a repeated prefix is reported as cacheReadTokens; cached and reasoning tokens as on the wire", async () => {
    const system = `You are a careful assistant. ${"Context line. ".repeat(200)}`
    wire.take()
    const first = await generateText({ model: conduit(model), system, prompt: "Summarise the context.", maxRetries: 0 })
    const second = await generateText({
      model: conduit(model),
      system,
      prompt: "Summarise the context.",
      maxRetries: 0
    })
    const [one, two] = wire.take()
    for (const [result, exchange] of [
      [first, one],
      [second, two]
    ] as const) {
      const usage = Wire.usage(exchange!)
      expect(result.usage.inputTokenDetails.cacheReadTokens).toBe(usage.prompt_tokens_details?.cached_tokens)
      expect(result.usage.outputTokenDetails.reasoningTokens).toBe(usage.completion_tokens_details?.reasoning_tokens)
      expect(result.usage.inputTokenDetails.noCacheTokens).toBe(
        usage.prompt_tokens - (usage.prompt_tokens_details?.cached_tokens ?? 0)
      )
    }
    expect(second.usage.inputTokenDetails.cacheReadTokens).toBeGreaterThan(0)
  })

  it("abort mid-stream: fullStream ends with an abort part (parts already buffered come first), never a finish part", async () => {
    wire.take()
    const controller = new AbortController()
    const result = streamText({
      model: conduit(model),
      prompt: "Tell me a long story.",
      abortSignal: controller.signal,
      maxRetries: 0
    })
    const parts: Array<string> = []
    let text = ""
    for await (const part of result.fullStream) {
      parts.push(part.type)
      if (part.type === "text-delta") text += part.text
      if (part.type === "text-delta" || part.type === "reasoning-delta") controller.abort()
    }
    const [exchange] = wire.take()
    expect(Wire.events(exchange!.body).length).toBeGreaterThan(1)
    expect(parts.at(-1)).toBe("abort")
    expect(parts).not.toContain("finish")
    expect(Wire.streamedText(exchange!).startsWith(text)).toBe(true)
  })

  it("a malformed request (top_p as a string via providerOptions) is an APICallError (400)", async () => {
    const error = await generateText({
      model: conduit(model),
      prompt,
      maxRetries: 0,
      providerOptions: { conduit: { top_p: "high" } }
    }).catch((e: unknown) => e)
    expect(APICallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ statusCode: 400, isRetryable: false })
    expect((error as APICallError).message).toContain("top_p")
  })
})

describe("Vercel AI SDK × errors", () => {
  it("an unknown model is an APICallError (404, not retryable) carrying the gateway's message", async () => {
    const error = await generateText({ model: conduit(unknownModel), prompt, maxRetries: 0 }).catch((e: unknown) => e)
    expect(APICallError.isInstance(error)).toBe(true)
    expect(error).toMatchObject({ statusCode: 404, isRetryable: false })
    expect((error as APICallError).message).toContain("unknown model")
    expect(JSON.parse((error as APICallError).responseBody ?? "{}").error.code).toBe("model_not_found")
  })

  it.each(unknownProviderModels)(
    "an unknown %s (the provider's own 404) is an APICallError whose message names no upstream address",
    async (model) => {
      const error = await generateText({ model: conduit(model), prompt, maxRetries: 0 }).catch((e: unknown) => e)
      expect(APICallError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ statusCode: 404, isRetryable: false })
      expect((error as APICallError).message).toMatch(/model/i) // the provider's own words (GLM does not name the id)
      expect((error as APICallError).responseBody).not.toMatch(/https?:\/\/|simulated\.invalid/)
    }
  )
})
