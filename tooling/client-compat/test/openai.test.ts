/**
 * The official `openai` SDK (the workspace's version) against the simulated gateway: one row per feature and
 * target model; each surfaced value is compared with what crossed the wire for that exchange.
 */
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { apiKey, publishedPrices, targets, unknownModel, unknownProviderModels } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
let client: OpenAI
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
  client = new OpenAI({ apiKey, baseURL: wire.baseURL, maxRetries: 0, timeout: 20_000 })
})
afterAll(() => wire.close())

describe.each(targets)("openai SDK × $label", ({ model }) => {
  it("text: the answer, finish reason and usage as on the wire", async () => {
    wire.take()
    const completion = await client.chat.completions.create({
      model,
      messages: [{ role: "user", content: "Say hello in one short sentence." }]
    })
    const [exchange] = wire.take()
    expect(exchange?.status).toBe(200)
    const choice = completion.choices[0]
    expect(choice?.message.content).toBe(Wire.message(exchange!).content)
    expect(choice?.message.content?.trim().length).toBeGreaterThan(0)
    expect(choice?.finish_reason).toBe("stop")
    expect(completion.usage).toEqual(Wire.usage(exchange!))
    expect(completion.usage?.total_tokens).toBe(
      (completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0)
    )
  })

  it("streaming: the deltas add up to the streamed text, then a finish reason and usage", async () => {
    wire.take()
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Say hello in one short sentence." }]
    })
    let text = ""
    let finishReason: string | null = null
    let usage: OpenAI.CompletionUsage | undefined
    let chunks = 0
    for await (const chunk of stream) {
      chunks++
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? ""
        finishReason = choice.finish_reason ?? finishReason
      }
      if (chunk.usage != null) usage = chunk.usage
    }
    const [exchange] = wire.take()
    expect(chunks).toBeGreaterThan(1)
    expect(text.trim().length).toBeGreaterThan(0)
    expect(text).toBe(Wire.streamedText(exchange!))
    expect(finishReason).toBe("stop")
    expect(usage).toEqual(Wire.usage(exchange!))
    expect(usage?.completion_tokens).toBeGreaterThan(0)
  })

  it("usage: a repeated prefix is reported as cached_tokens; cached and reasoning token details reach the caller", async () => {
    const messages: Array<OpenAI.ChatCompletionMessageParam> = [
      { role: "system", content: `You are a careful assistant. ${"Context line. ".repeat(200)}` },
      { role: "user", content: "Summarise the context." }
    ]
    wire.take()
    const first = await client.chat.completions.create({ model, messages })
    const second = await client.chat.completions.create({ model, messages })
    const [one, two] = wire.take()
    expect(first.usage).toEqual(Wire.usage(one!))
    expect(second.usage).toEqual(Wire.usage(two!))
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBeGreaterThan(0)
    expect(second.usage?.prompt_tokens_details?.cached_tokens).toBeLessThanOrEqual(second.usage?.prompt_tokens ?? 0)
    expect(second.usage?.completion_tokens_details?.reasoning_tokens).toBeTypeOf("number")
  })

  it("cost: x-conduit-cost on the JSON answer and conduit.cost on the final usage chunk are the wire usage at the published price", async () => {
    const price = publishedPrices[model]!
    const expected = (usage: OpenAI.CompletionUsage) => {
      const cached = usage.prompt_tokens_details?.cached_tokens ?? 0
      return (
        ((usage.prompt_tokens - cached) * price.input +
          cached * price.cached +
          usage.completion_tokens * price.output) /
        1e6
      )
    }
    wire.take()
    const { data, response } = await client.chat.completions
      .create({ model, messages: [{ role: "user", content: "Say hello in one short sentence." }] })
      .withResponse()
    const [exchange] = wire.take()
    expect(data.usage).toEqual(Wire.usage(exchange!))
    const header = response.headers.get("x-conduit-cost") ?? ""
    expect(header).toBe(exchange?.headers["x-conduit-cost"])
    expect(header).toMatch(/^\d+(\.\d+)? USD$/)
    expect(Number(header.split(" ")[0])).toBeCloseTo(expected(data.usage!), 10)
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Say hello in one short sentence." }]
    })
    let last: (OpenAI.ChatCompletionChunk & { conduit?: { cost?: { amount: number; currency: string } } }) | undefined
    for await (const chunk of stream) last = chunk
    expect(last?.choices).toEqual([])
    expect(last?.conduit?.cost?.currency).toBe("USD")
    expect(last?.conduit?.cost?.amount).toBeCloseTo(expected(last!.usage!), 10)
  })

  it("abort mid-stream: the loop ends at the abort (openai 7 ends it silently), the gateway request is closed", async () => {
    wire.take()
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model, stream: true, messages: [{ role: "user", content: "Tell me a long story." }] },
      { signal: controller.signal }
    )
    let received = 0
    let thrown: unknown
    try {
      for await (const _ of stream) {
        received++
        if (received === 1) controller.abort()
      }
    } catch (error) {
      thrown = error
    }
    const [exchange] = wire.take()
    const sent = Wire.events(exchange!.body).length
    expect(received).toBe(1)
    expect(sent).toBeGreaterThan(1)
    expect(thrown).toBeUndefined()
    expect(controller.signal.aborted).toBe(true)
  })
})

describe("openai SDK × errors", () => {
  it("an unknown model is a NotFoundError (404, code model_not_found)", async () => {
    const error = await client.chat.completions
      .create({ model: unknownModel, messages: [{ role: "user", content: "hi" }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect(error).toMatchObject({ status: 404, code: "model_not_found", type: "invalid_request_error" })
  })

  it.each(unknownProviderModels)(
    "an unknown %s (the provider's own 404) is a NotFoundError whose message names no upstream address",
    async (model) => {
      const error = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: "hi" }] })
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect(error).toMatchObject({ status: 404, code: "model_not_found" })
      expect((error as Error).message).toMatch(/model/i) // the provider's own words (GLM does not name the id)
      expect((error as Error).message).not.toMatch(/https?:\/\/|simulated\.invalid/)
    }
  )

  it.each(targets)("a malformed request (no messages) to $label is a BadRequestError (400)", async ({ model }) => {
    const error = await client.chat.completions.create({ model, messages: [] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.BadRequestError)
    expect(error).toMatchObject({ status: 400, param: "messages", type: "invalid_request_error" })
  })
})
