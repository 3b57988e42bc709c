/**
 * ProviderMock: the generic MSW mock of a provider built with `OpenAiCompatProvider.make`, driven through the
 * provider's own Promise face (chat, SSE stream, key check, unknown model, queued provider errors, /models), and
 * WireFixtures' shapes.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as PromiseClient from "../src/PromiseClient.js"
import * as ProviderError from "../src/ProviderError.js"
import type { ConformanceFixtures } from "../src/testing/Conformance.js"
import * as ProviderMock from "../src/testing/ProviderMock.js"
import * as WireFixtures from "../src/testing/WireFixtures.js"

const Mocked = OpenAiCompatProvider.make({
  name: "mocked",
  baseURLs: { default: "https://api.mocked.test/v1" },
  apiKeyEnv: ["MOCKED_API_KEY"],
  errorTable: ProviderError.openAiTable,
  defaultModel: "mocked-1",
  catalog: ModelCatalog.make("mocked", [
    {
      id: "mocked-1",
      provider: "mocked",
      aliases: ["mocked-latest"],
      contextWindow: 64_000,
      maxOutputTokens: 4_096,
      capabilities: ModelCatalog.conservativeCapabilities,
      lifecycle: { status: "active" }
    }
  ]),
  reasoningReplay: { mode: "never" }
})

const { chunk, completion, error, toolCall } = WireFixtures.shapes({ model: "mocked-1", id: "chatcmpl-mocked" })
const fixtures: ConformanceFixtures = {
  completions: {
    text: { body: completion({ content: "Hello!" }, "stop"), text: "Hello!" },
    toolCall: {
      body: completion(
        { content: null, tool_calls: [toolCall("call_0", "get_weather", { location: "Paris" })] },
        "tool_calls"
      ),
      location: "Paris"
    }
  },
  streams: {
    text: { chunks: [chunk({ content: "Hel" }), chunk({ content: "lo!" }), chunk({}, "stop")], text: "Hello!" },
    reasoning: { chunks: [chunk({ content: "x" }), chunk({}, "stop")], reasoning: "", text: "x" },
    toolCall: {
      chunks: [
        chunk({ tool_calls: [{ index: 0, ...toolCall("call_1", "get_weather", "") }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"location":"Oslo"}' } }] }),
        chunk({}, "tool_calls")
      ],
      location: "Oslo"
    },
    usage: {
      chunks: [chunk({}, "stop")],
      usage: { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, reasoningTokens: 0, totalTokens: 0 }
    }
  },
  errors: {
    unauthorized: { status: 401, body: error("Bad key", "mocked_auth", "bad_key") },
    notFound: { status: 404, body: error("No such model", "mocked_model", "model_not_found") },
    rateLimited: {
      status: 429,
      body: error("Slow down", "requests", "rate_limit_exceeded"),
      headers: { "retry-after-ms": "5" }
    },
    quotaExhausted: { status: 429, body: error("Out of credit", "insufficient_quota", "insufficient_quota") },
    serverError: { status: 500, body: error("Oops", "server_error", null) },
    contentPolicy: { status: 400, body: error("Refused", "invalid_request_error", "content_policy_violation") }
  }
}

const server = setupServer()
const fast = { retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 2 } } as const
const reasonOf = (promise: Promise<unknown>) =>
  promise.then(
    () => "success",
    (e: unknown) => (e instanceof PromiseClient.ConduitError ? e.reason : String(e))
  )

describe("ProviderMock", () => {
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  it("answers chat (non-stream) with the text completion and checks the key", async () => {
    const mock = ProviderMock.make({ provider: Mocked, fixtures, apiKey: "k-1" })
    server.use(...mock.handlers)
    const result = await Mocked.promise({ apiKey: "k-1" }).chat({ prompt: "Hi", ...fast })
    expect(result.text).toBe("Hello!")
    expect(mock.recorder.count).toBe(1)
    expect(mock.recorder.last().headers.authorization).toBe("Bearer k-1")
    expect(mock.recorder.last().url).toBe("https://api.mocked.test/v1/chat/completions")
  })

  it("rejects another key with the provider's unauthorized body (mapped by its error table)", async () => {
    server.use(...ProviderMock.handlers({ provider: Mocked, fixtures, apiKey: "k-1" }))
    expect(await reasonOf(Mocked.promise({ apiKey: "wrong" }).chat({ prompt: "Hi", ...fast }))).toBe(
      "AuthenticationError"
    )
  })

  it("streams the text chunks as SSE ended with [DONE], tool-call chunks when tools are declared", async () => {
    const mock = ProviderMock.make({ provider: Mocked, fixtures })
    server.use(...mock.handlers)
    const client = Mocked.promise({ apiKey: "test-key" })
    const parts: Array<PromiseClient.StreamPart> = []
    for await (const part of client.stream({ prompt: "Hi", ...fast })) parts.push(part)
    expect(parts.map((part) => (part.type === "text-delta" ? part.delta : "")).join("")).toBe("Hello!")
    expect(parts.some((part) => part.type === "finish")).toBe(true)
    expect((mock.recorder.last().body as { stream?: boolean }).stream).toBe(true)

    const tool = { type: "function", function: { name: "get_weather", parameters: { type: "object" } } } as const
    const result = await client.chat({ prompt: "Weather?", tools: [tool], ...fast })
    expect(result.toolCalls.map((call) => call.name)).toEqual(["get_weather"])
    const streamed: Array<PromiseClient.StreamPart> = []
    for await (const part of client.stream({ prompt: "Weather?", tools: [tool], ...fast })) streamed.push(part)
    const calls = streamed.filter((part) => part.type === "tool-call")
    expect(calls.map((call) => [call.name, call.params])).toEqual([["get_weather", { location: "Oslo" }]])
  })

  it("answers an unknown model with the provider's not-found body; aliases are known", async () => {
    server.use(...ProviderMock.handlers({ provider: Mocked, fixtures }))
    const client = Mocked.promise({ apiKey: "test-key" })
    expect(await reasonOf(client.chat({ model: "other-9", prompt: "Hi", ...fast }))).toBe("InvalidRequestError")
    expect((await client.chat({ model: "mocked-latest", prompt: "Hi", ...fast })).text).toBe("Hello!")
  })

  it("answers queued provider errors: a 429 retried then success, a quota 429 not retried", async () => {
    const mock = ProviderMock.make({ provider: Mocked, fixtures })
    server.use(...mock.handlers)
    const client = Mocked.promise({ apiKey: "test-key" })
    mock.fail("rateLimited")
    expect((await client.chat({ prompt: "Hi", ...fast })).text).toBe("Hello!")
    expect(mock.recorder.count).toBe(2)
    mock.recorder.reset()
    mock.fail("quotaExhausted", 3)
    expect(await reasonOf(client.chat({ prompt: "Hi", ...fast }))).toBe("QuotaExhaustedError")
    expect(mock.recorder.count).toBe(1)
  })

  it("lets `reply` answer first, lists the catalog on /models, and honours a custom base URL", async () => {
    const mock = ProviderMock.make({
      provider: Mocked,
      fixtures,
      baseURL: "https://proxy.test/v1/",
      reply: ({ index }) => (index === 0 ? fixtures.errors.contentPolicy : undefined)
    })
    server.use(...mock.handlers)
    const client = Mocked.promise({ apiKey: "test-key", baseURL: "https://proxy.test/v1" })
    expect(await reasonOf(client.chat({ prompt: "Hi", ...fast }))).toBe("ContentPolicyError")
    expect((await client.chat({ prompt: "Hi", ...fast })).text).toBe("Hello!")
    const listed = await fetch("https://proxy.test/v1/models", { headers: { authorization: "Bearer test-key" } })
    expect(((await listed.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id)).toEqual([
      "mocked-1"
    ])
    expect((await fetch("https://proxy.test/v1/models")).status).toBe(401)
  })

  it("keeps msw out of core's main entry (only ./testing loads it)", () => {
    const src = path.resolve(import.meta.dirname, "../src")
    const main = fs.readdirSync(src).filter((file) => file.endsWith(".ts"))
    for (const file of main) {
      expect(fs.readFileSync(path.join(src, file), "utf8"), file).not.toMatch(/from "msw|import\("msw/)
    }
  })
})
