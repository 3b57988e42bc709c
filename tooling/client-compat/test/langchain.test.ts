/**
 * LangChain (`@langchain/openai`'s ChatOpenAI on `@langchain/core`) against the simulated gateway: one row per
 * feature and target model; each surfaced value is compared with what crossed the wire for that exchange.
 */
import type { AIMessageChunk, UsageMetadata } from "@langchain/core/messages"
import { ChatOpenAI } from "@langchain/openai"
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { apiKey, targets, unknownModel, unknownProviderModels } from "./support/targets.js"
import * as Wire from "./support/wire.js"

let wire: Wire.Wire
beforeAll(async () => {
  wire = await Wire.start(inject("gatewayURL"))
})
afterAll(() => wire.close())

const chat = (model: string, fields: Partial<ConstructorParameters<typeof ChatOpenAI>[0] & object> = {}) =>
  new ChatOpenAI({ model, apiKey, configuration: { baseURL: wire.baseURL }, maxRetries: 0, ...fields })

const prompt = "Say hello in one short sentence."

describe.each(targets)("LangChain × $label", ({ model }) => {
  it("invoke: the answer, finish reason and usage_metadata as on the wire", async () => {
    wire.take()
    const message = await chat(model).invoke(prompt)
    const [exchange] = wire.take()
    const usage = Wire.usage(exchange!)
    expect(message.content).toBe(Wire.message(exchange!).content)
    expect(String(message.content).trim().length).toBeGreaterThan(0)
    expect(message.response_metadata.finish_reason).toBe("stop")
    expect(message.usage_metadata).toMatchObject({
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens
    })
  })

  it("stream: chunks concatenate to the streamed text, with a finish reason and usage_metadata", async () => {
    wire.take()
    let merged: AIMessageChunk | undefined
    let chunks = 0
    for await (const chunk of await chat(model).stream(prompt)) {
      chunks++
      merged = merged === undefined ? chunk : merged.concat(chunk)
    }
    const [exchange] = wire.take()
    const usage = Wire.usage(exchange!)
    expect(exchange?.request).toMatchObject({ stream: true, stream_options: { include_usage: true } })
    expect(chunks).toBeGreaterThan(1)
    expect(merged?.content).toBe(Wire.streamedText(exchange!))
    expect(merged?.response_metadata.finish_reason).toBe("stop")
    expect(merged?.usage_metadata).toMatchObject({
      input_tokens: usage.prompt_tokens,
      output_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens
    })
  })

  it("usage: a repeated prefix is reported as cache_read; cache_read and reasoning details as on the wire", async () => {
    const messages = [
      { role: "system", content: `You are a careful assistant. ${"Context line. ".repeat(200)}` },
      { role: "user", content: "Summarise the context." }
    ]
    wire.take()
    const first = await chat(model).invoke(messages)
    const second = await chat(model).invoke(messages)
    const [one, two] = wire.take()
    const pairs: Array<[AIMessageChunk, Wire.Exchange | undefined]> = [
      [first, one],
      [second, two]
    ]
    for (const [message, exchange] of pairs) {
      const usage = Wire.usage(exchange!)
      // (TypeScript 7 infers `never` for usage_metadata through LangChain's message-structure generics)
      const metadata = message.usage_metadata as UsageMetadata | undefined
      expect(metadata?.input_token_details?.cache_read).toBe(usage.prompt_tokens_details?.cached_tokens)
      expect(metadata?.output_token_details?.reasoning).toBe(usage.completion_tokens_details?.reasoning_tokens)
    }
    expect((second.usage_metadata as UsageMetadata | undefined)?.input_token_details?.cache_read).toBeGreaterThan(0)
  })

  it("abort mid-stream: the stream throws an Error named AbortError, the gateway request is closed", async () => {
    wire.take()
    const controller = new AbortController()
    let received = 0
    const error = await (async () => {
      for await (const _ of await chat(model).stream("Tell me a long story.", { signal: controller.signal })) {
        received++
        controller.abort()
      }
    })().catch((e: unknown) => e)
    const [exchange] = wire.take()
    expect(Wire.events(exchange!.body).length).toBeGreaterThan(1)
    expect(received).toBe(1)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).toBe("AbortError")
  })

  it("a malformed request (top_p as a string via modelKwargs) is the openai SDK's BadRequestError (400)", async () => {
    const error = await chat(model, { modelKwargs: { top_p: "high" } })
      .invoke(prompt)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 400, param: "top_p", type: "invalid_request_error" })
    expect((error as Error).constructor.name).toBe("BadRequestError")
  })
})

describe("LangChain × errors", () => {
  it("an unknown model is a NotFoundError marked lc_error_code MODEL_NOT_FOUND", async () => {
    const error = await chat(unknownModel)
      .invoke(prompt)
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ status: 404, code: "model_not_found", lc_error_code: "MODEL_NOT_FOUND" })
    expect((error as Error).constructor.name).toBe("NotFoundError")
  })

  it.each(unknownProviderModels)(
    "an unknown %s (the provider's own 404) is a NotFoundError marked MODEL_NOT_FOUND, no upstream address",
    async (model) => {
      const error = await chat(model)
        .invoke(prompt)
        .catch((e: unknown) => e)
      expect(error).toMatchObject({ status: 404, code: "model_not_found", lc_error_code: "MODEL_NOT_FOUND" })
      // (LangChain appends its own troubleshooting URL to the message; the gateway's message is the error body's)
      expect((error as Error).message).toContain("Troubleshooting URL: https://docs.langchain.com/")
      const body = (error as { error?: { message?: string } }).error
      expect(body?.message).toMatch(/model/i) // the provider's own words (GLM does not name the id)
      expect(body?.message).not.toMatch(/https?:\/\/|simulated\.invalid/)
    }
  )
})
