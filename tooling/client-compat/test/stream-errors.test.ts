/**
 * A stream that fails after it started, as each client surfaces it. The gateway ends such a stream with an unnamed
 * `data: {"error": {...}}` frame and no `[DONE]` (`ChatCompletionEncoder.errorEvent`); this file drives a second
 * gateway process whose only route is a models.yaml backend on the loopback mock upstream cutting its stream after
 * three chunks (no finish reason, no `[DONE]`), and pins what the four clients make of it.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { type MockUpstream, start as startUpstream } from "@conduitkit/mock-upstream"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai-compat"
import { ChatOpenAI } from "@langchain/openai"
import { streamText } from "ai"
import { Effect, Exit, Layer, Redacted, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { FetchHttpClient } from "effect/http"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Gateway from "./support/gateway.js"
import { apiKey } from "./support/targets.js"

let upstream: MockUpstream
let gateway: Gateway.GatewayProcess
let dir: string
const model = "truncated"
const prompt = "Tell me a story."

beforeAll(async () => {
  upstream = await startUpstream({ chunks: 8, truncateAfter: 3 })
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "client-compat-"))
  const file = path.join(dir, "models.yaml")
  fs.writeFileSync(
    file,
    [
      "providers:",
      "  cut:",
      `    baseURL: ${upstream.baseURL("moonshot")}`,
      "    apiKeyEnv: CUT_API_KEY",
      "    models:",
      "      cut-1: { contextWindow: 32768, maxOutputTokens: 1024 }",
      "models:",
      `  ${model}:`,
      "    target: cut/cut-1",
      "    retry: { maxRetries: 0 }",
      ""
    ].join("\n")
  )
  gateway = await Gateway.start({
    CONDUIT_MODELS: file,
    CUT_API_KEY: "sk-cut-upstream",
    CONDUIT_SIMULATE: "0",
    CONDUIT_RESPONSE_CACHE: "0"
  })
})
afterAll(async () => {
  await gateway?.stop()
  await upstream?.close()
  fs.rmSync(dir, { recursive: true, force: true })
})

const baseURL = () => `${gateway.url}/v1`

describe("a stream cut after it started (final data: {error} frame, no [DONE])", () => {
  it("openai SDK: the loop throws an APIError with the gateway's type and code, after the text so far", async () => {
    const client = new OpenAI({ baseURL: baseURL(), apiKey, maxRetries: 0 })
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      messages: [{ role: "user", content: prompt }]
    })
    let text = ""
    let thrown: unknown
    try {
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? ""
    } catch (error) {
      thrown = error
    }
    expect(text.length).toBeGreaterThan(0)
    expect(thrown).toBeInstanceOf(OpenAI.APIError)
    expect(thrown).toMatchObject({ type: "upstream_error", code: "upstream_stream_truncated" })
  })

  it("Vercel AI SDK: fullStream carries an error part with the gateway's message, and the finish reason is error", async () => {
    const conduit = createOpenAICompatible({ name: "conduit", baseURL: baseURL(), apiKey })
    const result = streamText({ model: conduit(model), prompt, maxRetries: 0, onError: () => {} })
    const parts: Array<{ readonly type: string; readonly error?: unknown }> = []
    for await (const part of result.fullStream) parts.push(part)
    const error = parts.find((part) => part.type === "error")
    expect(parts.some((part) => part.type === "text-delta")).toBe(true)
    expect(JSON.stringify(error?.error)).toContain("incomplete")
    expect(await result.finishReason).toBe("error")
  })

  it("LangChain: the stream throws the openai SDK's APIError", async () => {
    const chat = new ChatOpenAI({ model, apiKey, configuration: { baseURL: baseURL() }, maxRetries: 0 })
    let text = ""
    let thrown: unknown
    try {
      for await (const chunk of await chat.stream(prompt)) text += String(chunk.content)
    } catch (error) {
      thrown = error
    }
    expect(text.length).toBeGreaterThan(0)
    expect(thrown).toBeInstanceOf(Error)
    expect(String((thrown as Error).message)).toContain("incomplete")
  })

  it("@effect/ai-openai-compat: the error frame is dropped (not a chunk); the stream ends with no finish part", async () => {
    const client = OpenAiClient.layer({ apiKey: Redacted.make(apiKey), apiUrl: baseURL() }).pipe(
      Layer.provide(FetchHttpClient.layer)
    )
    const exit = await Effect.runPromiseExit(
      LanguageModel.streamText({ prompt }).pipe(
        Stream.runCollect,
        Effect.provide(OpenAiLanguageModel.model(model)),
        Effect.provide(client)
      )
    )
    // a success: the text so far, and nothing that says the answer is incomplete but the missing finish part
    expect(Exit.isSuccess(exit)).toBe(true)
    const parts = Exit.isSuccess(exit) ? Array.from(exit.value) : []
    expect(parts.some((part) => part.type === "text-delta")).toBe(true)
    expect(parts.some((part) => part.type === "finish")).toBe(false)
  })
})
