import { Effect, Exit, Result } from "effect"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as PromiseClient from "../src/PromiseClient.js"
import * as ProviderError from "../src/ProviderError.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"
import * as WireInput from "../src/WireInput.js"
import { sampleProvider } from "./sample.js"

const baseURL = "https://promise.test/v1"
const Sample = sampleProvider(baseURL)
const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "s",
  choices: [{ index: 0, delta, finish_reason: finish }]
})

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("PromiseClient", () => {
  it("chat: sends OpenAI-shaped messages, tools and wire parameters; returns text, tool calls and usage", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        () =>
          MockUpstream.json({
            id: "c",
            choices: [
              {
                index: 0,
                message: {
                  content: "",
                  tool_calls: [{ id: "t1", type: "function", function: { name: "lookup", arguments: '{"q":"x"}' } }]
                },
                finish_reason: "tool_calls"
              }
            ],
            usage: {
              prompt_tokens: 20,
              completion_tokens: 4,
              total_tokens: 24,
              prompt_tokens_details: { cached_tokens: 16 }
            }
          }),
        recorder
      )
    )
    const client = Sample.promise({ apiKey: "k" })
    const result = await client.chat({
      system: "be brief",
      messages: [{ role: "user", content: "find x" }],
      tools: [
        {
          type: "function",
          function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } }
        }
      ],
      request: { temperature: 0.1 }
    })
    expect(result.toolCalls.map((call) => [call.name, call.params])).toEqual([["lookup", { q: "x" }]])
    expect(result.usage).toMatchObject({ inputTokens: 20, cachedInputTokens: 16, outputTokens: 4 })
    expect(result.finishReason).toBe("tool-calls")
    // biome-ignore lint/suspicious/noExplicitAny: the recorded request body is read loosely
    const sent = recorder.last().body as Record<string, any>
    expect(sent.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "find x" }
    ])
    expect(sent.tools[0].function.name).toBe("lookup")
    expect(sent.temperature).toBe(0.1)
    await client.close()
  })

  it("chat: rejects with a ConduitError carrying reason, status, request id and retry advice", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.error(
          429,
          { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } },
          { "retry-after": "120", "x-request-id": "req-42" }
        )
      )
    )
    const client = Sample.promise({ apiKey: "k" })
    const error = await client.chat({ prompt: "hi" }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PromiseClient.ConduitError)
    expect(error).toMatchObject({
      reason: "RateLimitError",
      status: 429,
      requestId: "req-42",
      retryAfterMs: 120_000,
      retryable: true
    })
    await client.close()
  })

  it("stream: yields parts as they arrive", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([
          chunk({ reasoning_content: "hmm" }),
          chunk({ content: "Hel" }),
          chunk({ content: "lo" }),
          chunk({}, "stop")
        ])
      )
    )
    const client = Sample.promise({ apiKey: "k" })
    const deltas: Array<string> = []
    for await (const part of client.stream({ prompt: "hi" })) if (part.type === "text-delta") deltas.push(part.delta)
    expect(deltas.join("")).toBe("Hello")
    await client.close()
  })

  it("stream: an AbortSignal stops the stream and aborts the upstream request", async () => {
    const recorder = new MockUpstream.Recorder()
    let cancelled = false
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ onCancel }) =>
          MockUpstream.sse(
            Array.from({ length: 50 }, (_, i) => chunk({ content: `${i} ` })),
            {
              // 100 ms apart: a reader held up by a loaded machine finds few chunks queued behind the abort
              delayMs: 100,
              onCancel: () => {
                cancelled = true
                onCancel()
              }
            }
          ),
        recorder
      )
    )
    const client = Sample.promise({ apiKey: "k" })
    const controller = new AbortController()
    let seen = 0
    const consume = async () => {
      for await (const part of client.stream({ prompt: "hi", signal: controller.signal })) {
        if (part.type === "text-delta" && ++seen === 2) controller.abort()
      }
    }
    await expect(consume()).rejects.toBeInstanceOf(PromiseClient.AbortError)
    const deadline = Date.now() + 10_000
    while (!cancelled && !recorder.last().aborted && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(cancelled || recorder.last().aborted).toBe(true)
    expect(seen).toBeLessThan(10)
    await client.close()
  })

  it("chat: an AbortSignal rejects with AbortError", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse([], { stallAfter: 0 })))
    const client = Sample.promise({ apiKey: "k" })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    await expect(client.chat({ prompt: "hi", signal: controller.signal })).rejects.toBeInstanceOf(
      PromiseClient.AbortError
    )
    await client.close()
  })

  it("refuses a request with neither messages nor a prompt", async () => {
    const client = Sample.promise({ apiKey: "k" })
    await expect(client.chat({})).rejects.toMatchObject({ reason: "InvalidRequestError" })
    await client.close()
  })

  it("lists the catalog", async () => {
    expect(await Sample.promise({ apiKey: "k" }).listModels()).toEqual([])
  })
})

describe("WireInput", () => {
  const prompt = (messages: ReadonlyArray<Record<string, unknown>>) =>
    Effect.runPromiseExit(Effect.fromResult(WireInput.toPrompt(messages as never)))

  it("keeps reasoning_content a client sends back, and names tool results after their call", async () => {
    const exit = await prompt([
      { role: "developer", content: "rules" },
      {
        role: "user",
        content: [
          { type: "text", text: "a" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }
        ]
      },
      {
        role: "assistant",
        content: null,
        reasoning_content: "need a tool",
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }]
      },
      { role: "tool", tool_call_id: "c1", content: "42" }
    ])
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    const [system, user, assistant, tool] = exit.value.content
    expect(system?.role).toBe("system")
    expect(user?.role === "user" && user.content.map((p) => p.type)).toEqual(["text", "file"])
    expect(user?.role === "user" && user.content[1]?.type === "file" && user.content[1].mediaType).toBe("image/png")
    expect(assistant?.role === "assistant" && assistant.content.map((p) => p.type)).toEqual(["reasoning", "tool-call"])
    expect(tool?.role === "tool" && tool.content[0]?.type === "tool-result" && tool.content[0].name).toBe("f")
  })

  const bad: ReadonlyArray<[string, ReadonlyArray<Record<string, unknown>>, RegExp]> = [
    ["an unknown role", [{ role: "wizard", content: "x" }], /unsupported role "wizard"/],
    ["a user message without content", [{ role: "user" }], /needs content/],
    ["an unknown part type", [{ role: "user", content: [{ type: "audio" }] }], /unsupported content part type/],
    [
      "tool arguments that are not JSON",
      [{ role: "assistant", tool_calls: [{ id: "1", function: { name: "f", arguments: "{" } }] }],
      /not valid JSON/
    ],
    ["a tool message without tool_call_id", [{ role: "tool", content: "x" }], /tool_call_id/]
  ]
  for (const [name, messages, message] of bad) {
    it(`refuses ${name} with a typed invalid-request error`, async () => {
      const exit = await prompt(messages)
      expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(message)
    })
  }

  it("splits tools into function declarations and built-ins, and names a function tool without a name", () => {
    const split = WireInput.splitTools([
      { type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } },
      { type: "web_search", web_search: { enable: true } },
      { type: "function", function: { name: "g" } }
    ])
    expect(split).toEqual(
      Result.succeed({
        functions: [
          { type: "function", function: { name: "f", parameters: { type: "object" } } },
          { type: "function", function: { name: "g", parameters: { type: "object", properties: {} } } }
        ],
        providerDefined: [{ type: "web_search", web_search: { enable: true } }]
      })
    )
    const bad = WireInput.splitTools([{ type: "function", function: {} }])
    expect(Result.isFailure(bad) && bad.failure.reason._tag).toBe("InvalidRequestError")
  })

  it("gives tool_choice in wire form only with function tools", () => {
    const f = [{ type: "function" as const, function: { name: "f", parameters: {} } }]
    expect(WireInput.toWireToolChoice(undefined, f)).toBe("auto")
    expect(WireInput.toWireToolChoice({ type: "function", function: { name: "f" } }, f)).toEqual({
      type: "function",
      function: { name: "f" }
    })
    expect(WireInput.toWireToolChoice("required", [])).toBeUndefined()
  })

  it("maps tool_choice and passes other parameters through", () => {
    expect(WireInput.toToolChoice({ type: "function", function: { name: "f" } })).toEqual({ tool: "f" })
    expect(WireInput.toToolChoice("required")).toBe("required")
    expect(
      WireInput.passThroughParameters({
        model: "m",
        messages: [],
        stream: true,
        temperature: 0,
        response_format: { type: "json_object" },
        thinking: { type: "enabled" }
      })
    ).toEqual({ temperature: 0, response_format: { type: "json_object" }, thinking: { type: "enabled" } })
  })
})

describe("PromiseClient with a provider-executed built-in tool", () => {
  const Searching = sampleProvider(baseURL, {
    providerExecutedTools: { names: ["$web_search"], resolve: (call) => call.arguments, maxRounds: 2 }
  })
  const searchCall = {
    id: "ws_0",
    type: "builtin_function",
    function: { name: "$web_search", arguments: '{"q":"x"}' }
  }

  it("chat and stream: a built-in declared as a wire tool runs its server round (regression: the result part did not decode)", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        baseURL,
        ({ index, body }) => {
          const streaming = (body as { stream?: boolean }).stream === true
          if (index % 2 === 0) {
            return streaming
              ? MockUpstream.sse([chunk({ tool_calls: [{ index: 0, ...searchCall }] }), chunk({}, "tool_calls")])
              : MockUpstream.json({
                  id: "c",
                  choices: [
                    { index: 0, message: { role: "assistant", tool_calls: [searchCall] }, finish_reason: "tool_calls" }
                  ]
                })
          }
          return streaming
            ? MockUpstream.sse([chunk({ content: "Found it." }), chunk({}, "stop")])
            : MockUpstream.json({
                id: "c",
                choices: [{ index: 0, message: { role: "assistant", content: "Found it." }, finish_reason: "stop" }]
              })
        },
        recorder
      )
    )
    const client = Searching.promise({ apiKey: "k" })
    const tools = [{ type: "builtin_function", function: { name: "$web_search" } }]
    const result = await client.chat({ prompt: "search", tools })
    expect(result.text).toBe("Found it.")
    expect(result.toolCalls.map((call) => call.name)).toEqual(["$web_search"])
    const deltas: Array<string> = []
    const searchParts: Array<{ type: string; providerExecuted?: boolean }> = []
    for await (const part of client.stream({ prompt: "search", tools })) {
      if (part.type === "text-delta") deltas.push(part.delta)
      if ((part.type === "tool-params-start" || part.type === "tool-call") && part.name === "$web_search") {
        searchParts.push(part)
      }
    }
    expect(deltas.join("")).toBe("Found it.")
    // the params-start part and the call agree that the provider executed it
    expect(searchParts.map((part) => [part.type, part.providerExecuted])).toEqual([
      ["tool-params-start", true],
      ["tool-call", true]
    ])
    expect(recorder.count).toBe(4)
    expect((recorder.calls[0]!.body as { tools: unknown }).tools).toEqual(tools)
    await client.close()
  })
})

describe("PromiseClient: the cost of a response", () => {
  // prices per million tokens, one per billing currency; the endpoint's host picks the currency
  const Priced = OpenAiCompatProvider.make({
    name: "priced",
    baseURLs: { default: baseURL, china: "https://promise.test.cn/v1" },
    apiKeyEnv: ["PRICED_API_KEY"],
    errorTable: ProviderError.openAiTable,
    defaultModel: "m1",
    catalog: ModelCatalog.make("priced", [
      {
        ...ModelCatalog.unknownModel("priced", "m1"),
        unknown: false,
        pricing: [
          { currency: "USD", inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15, source: "test" },
          { currency: "CNY", inputPerMillion: 20, cachedInputPerMillion: 2, outputPerMillion: 100 }
        ]
      }
    ]),
    reasoningReplay: { mode: "tool-calls", placeholder: " " },
    billingCurrency: (url) => (new URL(url).hostname.endsWith(".cn") ? "CNY" : "USD")
  })
  // 10,000 input (4,000 cached), 2,000 output of which 500 reasoning
  const usage = {
    prompt_tokens: 10_000,
    completion_tokens: 2_000,
    total_tokens: 12_000,
    prompt_tokens_details: { cached_tokens: 4_000 },
    completion_tokens_details: { reasoning_tokens: 500 }
  }
  const answer = () =>
    MockUpstream.json({
      id: "c",
      choices: [{ index: 0, message: { content: "ok" }, finish_reason: "stop" }],
      usage
    })

  it("chat: the result's cost is the usage at the catalog's price for the endpoint's currency", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const client = Priced.promise({ apiKey: "k" })
    const result = await client.chat({ prompt: "hi" })
    // 6,000 × 3 + 4,000 × 0.3 + 2,000 × 15 = 49,200 per million
    expect(result.cost).toEqual({ amount: 0.0492, currency: "USD", unconfirmed: false })
    expect(result.metadata.cost).toEqual(result.cost)
    await client.close()
  })

  it("chat: a Chinese endpoint bills in CNY, never converted", async () => {
    server.use(MockUpstream.chatCompletions("https://promise.test.cn/v1", answer))
    const client = Priced.promise({ apiKey: "k", baseURL: "https://promise.test.cn/v1" })
    const result = await client.chat({ prompt: "hi" })
    // 6,000 × 20 + 4,000 × 2 + 2,000 × 100 = 328,000 per million
    expect(result.cost).toEqual({ amount: 0.328, currency: "CNY", unconfirmed: false })
    await client.close()
  })

  it("chat: a model without a price has no cost", async () => {
    server.use(MockUpstream.chatCompletions(baseURL, answer))
    const client = Priced.promise({ apiKey: "k" })
    const result = await client.chat({ model: "unpriced", prompt: "hi" })
    expect(result.usage.inputTokens).toBe(10_000)
    expect(result.cost).toBeUndefined()
    expect(result.metadata.cost).toBeUndefined()
    await client.close()
  })

  it("stream: the finish part carries the cost in metadata.conduit.cost", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([chunk({ content: "ok" }), chunk({}, "stop"), { id: "s", choices: [], usage }])
      )
    )
    const client = Priced.promise({ apiKey: "k" })
    let cost: unknown
    for await (const part of client.stream({ prompt: "hi" })) if (part.type === "finish") cost = part.metadata?.conduit
    expect(cost).toMatchObject({ cost: { amount: 0.0492, currency: "USD", unconfirmed: false } })
    await client.close()
  })
})
