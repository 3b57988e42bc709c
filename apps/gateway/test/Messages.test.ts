/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens` driven by the official `@anthropic-ai/sdk`, on the Kimi
 * and GLM simulations the gateway runs in simulated mode (each provider's `./testing` entry: `KimiMock`, `GlmMock`):
 * text, streaming (the raw event sequence and the SDK's own accumulation), tool loops, thinking blocks and their
 * replay as Kimi's `reasoning_content`, errors in Anthropic's envelope (auth by `x-api-key` and bearer, unknown
 * models, bad input, rate limits with `retry-after`, overload, a stream cut after it started), abort, and a
 * multi-turn tool conversation that falls back from Kimi to GLM during a simulated outage.
 */
import Anthropic from "@anthropic-ai/sdk"
import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { GlmMock } from "@conduitkit/provider-glm/testing"
import { KimiMock, KimiScenarios } from "@conduitkit/provider-kimi/testing"
import { Redacted } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import { eventually, type Json, mswServer, realFetch, type Started, startGateway } from "./support.js"

const kimiBase = "https://api.moonshot.ai.simulated.invalid/v1"
const glmBase = "https://api.z.ai.simulated.invalid/api/paas/v4"

/** Per-test overrides of the simulations' answers (`undefined`: the simulation's default). */
let kimiReply: ((call: KimiMock.MockChatCall) => KimiMock.MockReply) | undefined
let glmReply: ((call: MockUpstream.ChatCall) => Response | undefined) | undefined

const kimi = KimiMock.make({ baseURL: kimiBase, apiKey: "sk-test-kimi", respond: (call) => kimiReply?.(call) })
const glm = GlmMock.make({ baseURL: glmBase, apiKey: "test-key", chat: (call) => glmReply?.(call) })
const server = mswServer()
server.use(...kimi.handlers, ...glm.handlers)

const simulated = (module: Providers.ProviderModule, apiKey: string, baseURL: string) =>
  Providers.entry(module, module.connect({ apiKey: Redacted.make(apiKey), baseURL }), "simulated")

const noRetry = { maxRetries: 0 }
const models = {
  models: {
    // what Claude Code sends by default, and its small/fast model, as models.yaml names
    "claude-sonnet-4-5-20250929": { target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6"], retry: noRetry },
    "claude-haiku-4-5-20251001": { target: "glm/glm-4.5-air", retry: noRetry },
    thinking: { target: "kimi/kimi-k3", retry: noRetry },
    coder: { target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6"], retry: noRetry },
    "kimi-only": { target: "kimi/kimi-k2.6", retry: noRetry },
    "glm-only": { target: "glm/glm-4.6", retry: noRetry }
  }
}

const gatewayKey = "sk-conduit-anthropic-test"
let gateway: Started

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({
    providers: [simulated(Providers.kimi, "sk-test-kimi", kimiBase), simulated(Providers.glm, "test-key", glmBase)],
    models,
    config: { apiKeys: [Redacted.make(gatewayKey)] }
  })
})
afterEach(() => {
  kimiReply = undefined
  glmReply = undefined
  kimi.recorder.reset()
  glm.recorder.reset()
})
afterAll(async () => {
  await gateway.close()
  server.close()
})

const client = (options: { readonly apiKey?: string | null; readonly authToken?: string } = {}) =>
  new Anthropic({
    baseURL: gateway.url,
    apiKey: options.apiKey === undefined ? gatewayKey : options.apiKey,
    ...(options.authToken !== undefined ? { authToken: options.authToken } : {}),
    maxRetries: 0,
    fetch: realFetch
  })

const weatherTool: Anthropic.Tool = {
  name: "get_weather",
  description: "The current weather of a city.",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] }
}

const lastUpstreamBody = (recorder: MockUpstream.Recorder): Json => recorder.last().body
const chatCalls = (recorder: MockUpstream.Recorder) =>
  recorder.calls.filter((call) => call.url.endsWith("/chat/completions"))

describe("text", () => {
  it("answers a prompt with a text block, usage and Anthropic headers (x-api-key auth)", async () => {
    const { data, response } = await client()
      .messages.create({
        model: "kimi-only",
        max_tokens: 256,
        system: "Be brief.",
        messages: [{ role: "user", content: "Hello?" }]
      })
      .withResponse()
    expect(data.type).toBe("message")
    expect(data.role).toBe("assistant")
    expect(data.model).toBe("kimi-only")
    // kimi-k2.6 thinks unless told otherwise: its reasoning (quoting the prompt) comes first, as a thinking block
    const thinking = 'The user asks: "Hello?". I will answer briefly.'
    expect(data.content).toEqual([
      { type: "thinking", thinking, signature: "conduit" },
      { type: "text", text: "Hello from simulated Kimi.", citations: null }
    ])
    expect(data.stop_reason).toBe("end_turn")
    expect(data.usage.input_tokens).toBeGreaterThan(0)
    expect(data.usage.output_tokens).toBe(
      TokenEstimator.estimateText("Hello from simulated Kimi.") + TokenEstimator.estimateText(thinking)
    )
    expect(response.headers.get("x-conduit-provider")).toBe("kimi")
    expect(response.headers.get("request-id")).toBe(response.headers.get("x-request-id"))
    const sent = lastUpstreamBody(kimi.recorder)
    expect(sent.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello?" }
    ])
    expect(sent.max_tokens).toBe(256)
  })

  it("accepts the same key as Authorization: Bearer", async () => {
    const data = await client({ apiKey: null, authToken: gatewayKey }).messages.create({
      model: "glm-only",
      max_tokens: 64,
      messages: [{ role: "user", content: "Hi" }]
    })
    // glm-4.6 thinks by default: a thinking block, then the text
    expect(data.content.map((block) => block.type)).toEqual(["thinking", "text"])
  })

  it("maps a Claude Code model name through models.yaml", async () => {
    const { data, response } = await client()
      .messages.create({
        model: "claude-haiku-4-5-20251001",
        max_tokens: 64,
        messages: [{ role: "user", content: "Name this conversation." }]
      })
      .withResponse()
    expect(data.model).toBe("claude-haiku-4-5-20251001")
    expect(response.headers.get("x-conduit-provider")).toBe("glm")
    expect(lastUpstreamBody(glm.recorder).model).toBe("glm-4.5-air")
  })
})

describe("engine features", () => {
  it("replays an answer for a repeated Idempotency-Key without calling the provider again", async () => {
    const params = { model: "glm-only", max_tokens: 32, messages: [{ role: "user" as const, content: "Once" }] }
    const options = { headers: { "idempotency-key": "anthropic-once-1" } }
    const first = await client().messages.create(params, options).withResponse()
    const second = await client().messages.create(params, options).withResponse()
    expect(second.data.content).toEqual(first.data.content)
    expect(second.response.headers.get("x-conduit-attempts")).toBe("0")
    expect(chatCalls(glm.recorder)).toHaveLength(1)
  })

  it("names what was not sent in x-conduit-warnings", async () => {
    const { response } = await client()
      .messages.create({
        model: "coder",
        max_tokens: 32,
        metadata: { user_id: "user-1234" },
        tools: [weatherTool, { type: "web_search_20250305", name: "web_search" }],
        messages: [{ role: "user", content: "Hi" }]
      })
      .withResponse()
    const warnings = response.headers.get("x-conduit-warnings") ?? ""
    expect(warnings).toContain("metadata.user_id was not sent")
    expect(warnings).toContain("web_search")
    expect((lastUpstreamBody(kimi.recorder).tools as Array<Json>).map((tool) => tool.function.name)).toEqual([
      "get_weather"
    ])
  })
})

describe("stream", () => {
  it("sends Anthropic's event sequence, which the SDK accumulates into the final message", async () => {
    const stream = client().messages.stream({
      model: "kimi-only",
      max_tokens: 128,
      thinking: { type: "disabled" },
      messages: [{ role: "user", content: "Hello?" }]
    })
    const types: Array<string> = []
    let text = ""
    stream.on("streamEvent", (event) => {
      types.push(event.type === "content_block_delta" ? event.delta.type : event.type)
    })
    stream.on("text", (delta) => {
      text += delta
    })
    const message = await stream.finalMessage()
    expect(text).toBe("Hello from simulated Kimi.")
    expect(message.content).toEqual([{ type: "text", text: "Hello from simulated Kimi.", citations: null }])
    expect(message.stop_reason).toBe("end_turn")
    expect(message.usage.output_tokens).toBe(6)
    expect(message.usage.input_tokens).toBeGreaterThan(0)
    expect(types[0]).toBe("message_start")
    expect(types).toContain("text_delta")
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"])
    expect(lastUpstreamBody(kimi.recorder).stream).toBe(true)
  })

  it("streams thinking blocks from a thinking model and tool input as input_json_delta", async () => {
    kimiReply = () => ({
      model: "kimi-k3",
      reasoning: ["I should", " look it up."],
      toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Oslo" } }],
      usage: { prompt: 80, completion: 20, reasoning: 10 }
    })
    const stream = await client().messages.create({
      model: "thinking",
      max_tokens: 512,
      stream: true,
      thinking: { type: "enabled", budget_tokens: 1024 },
      tools: [weatherTool],
      messages: [{ role: "user", content: "Weather in Oslo?" }]
    })
    const events: Array<Anthropic.RawMessageStreamEvent> = []
    for await (const event of stream) events.push(event)
    const starts = events.flatMap((event) => (event.type === "content_block_start" ? [event.content_block.type] : []))
    expect(starts).toEqual(["thinking", "tool_use"])
    const deltas = events.flatMap((event) => (event.type === "content_block_delta" ? [event.delta.type] : []))
    expect(deltas.slice(0, 3)).toEqual(["thinking_delta", "thinking_delta", "signature_delta"])
    expect(new Set(deltas.slice(3))).toEqual(new Set(["input_json_delta"]))
    const json = events
      .flatMap((event) =>
        event.type === "content_block_delta" && event.delta.type === "input_json_delta"
          ? [event.delta.partial_json]
          : []
      )
      .join("")
    expect(JSON.parse(json)).toEqual({ city: "Oslo" })
    const messageDelta = events.find((event) => event.type === "message_delta")
    expect(messageDelta?.type === "message_delta" && messageDelta.delta.stop_reason).toBe("tool_use")
    expect(lastUpstreamBody(kimi.recorder).thinking).toEqual({ type: "enabled" })
  })

  it("ends with an error event when the upstream stream is cut after it started", async () => {
    const scenario: KimiScenarios.Scenario = { model: "kimi-k2.6", text: ["Part", "ial", " answer"] }
    kimiReply = () => MockUpstream.sse(KimiScenarios.chunks(scenario).slice(0, 3), { done: false })
    const stream = client().messages.stream({
      model: "kimi-only",
      max_tokens: 64,
      messages: [{ role: "user", content: "Hi" }]
    })
    let text = ""
    stream.on("text", (delta) => {
      text += delta
    })
    const error = await stream.finalMessage().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "api_error", message: expect.stringContaining("upstream_stream_truncated") }
    })
    expect(text.length).toBeGreaterThan(0)
  })

  it("aborts the upstream request when the client aborts", async () => {
    let cancelled = false
    const scenario: KimiScenarios.Scenario = { model: "kimi-k2.6", text: ["one", " two", " three"] }
    kimiReply = () =>
      MockUpstream.sse(KimiScenarios.chunks(scenario), {
        stallAfter: 2,
        onCancel: () => {
          cancelled = true
        }
      })
    const stream = client().messages.stream({
      model: "kimi-only",
      max_tokens: 64,
      messages: [{ role: "user", content: "Count" }]
    })
    await new Promise<void>((resolve) => stream.on("text", () => resolve()))
    stream.abort()
    await expect(stream.finalMessage()).rejects.toBeInstanceOf(Anthropic.APIUserAbortError)
    await eventually(() => cancelled || kimi.recorder.last().aborted)
  })
})

describe("tools and thinking replay", () => {
  it("runs a tool loop on GLM: tool_use with parsed input, then the answer from the tool_result", async () => {
    const anthropic = client()
    const messages: Array<Anthropic.MessageParam> = [{ role: "user", content: "Weather in Oslo?" }]
    const first = await anthropic.messages.create({
      model: "glm-only",
      max_tokens: 256,
      tools: [weatherTool],
      messages
    })
    expect(first.stop_reason).toBe("tool_use")
    const call = first.content.find((block) => block.type === "tool_use")
    expect(call?.type === "tool_use" && call.name).toBe("get_weather")
    expect(call?.type === "tool_use" && typeof (call.input as Json).city).toBe("string")
    messages.push({ role: "assistant", content: first.content as Array<Anthropic.ContentBlockParam> })
    messages.push({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: (call as Anthropic.ToolUseBlock).id, content: "12°C and clear" }]
    })
    const second = await anthropic.messages.create({
      model: "glm-only",
      max_tokens: 256,
      tools: [weatherTool],
      messages
    })
    expect(second.stop_reason).toBe("end_turn")
    expect(second.content.find((block) => block.type === "text")).toMatchObject({
      text: expect.stringContaining("12°C and clear")
    })
    const sent = lastUpstreamBody(glm.recorder).messages as Array<Json>
    expect(sent.at(-1)).toMatchObject({
      role: "tool",
      tool_call_id: (call as Anthropic.ToolUseBlock).id,
      content: "12°C and clear"
    })
  })

  it("replays a thinking block as Kimi's reasoning_content on the tool-call turn (Kimi refuses the turn without it)", async () => {
    kimiReply = (call) => {
      const messages = call.body.messages as Array<Json>
      if (messages.at(-1)?.role === "tool") {
        return {
          model: "kimi-k3",
          reasoning: ["Done."],
          text: ["It is 12°C in Oslo."],
          usage: { prompt: 90, completion: 9, reasoning: 2 }
        }
      }
      return {
        model: "kimi-k3",
        reasoning: ["Need the weather."],
        toolCalls: [{ id: "call_k1", name: "get_weather", arguments: { city: "Oslo" } }],
        usage: { prompt: 80, completion: 20, reasoning: 5 }
      }
    }
    const anthropic = client()
    const params = {
      model: "thinking",
      max_tokens: 512,
      tools: [weatherTool],
      thinking: { type: "enabled" as const, budget_tokens: 1024 }
    }
    const messages: Array<Anthropic.MessageParam> = [{ role: "user", content: "Weather in Oslo?" }]
    const first = await anthropic.messages.create({ ...params, messages })
    expect(first.content.map((block) => block.type)).toEqual(["thinking", "tool_use"])
    expect(first.content[0]).toEqual({ type: "thinking", thinking: "Need the weather.", signature: "conduit" })
    messages.push({ role: "assistant", content: first.content as Array<Anthropic.ContentBlockParam> })
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: "call_k1", content: "12°C" }] })
    const second = await anthropic.messages.create({ ...params, messages })
    expect(second.content.at(-1)).toMatchObject({ type: "text", text: "It is 12°C in Oslo." })
    const replayed = (lastUpstreamBody(kimi.recorder).messages as Array<Json>).find(
      (message) => message.role === "assistant"
    )
    expect(replayed).toMatchObject({
      reasoning_content: "Need the weather.",
      tool_calls: [{ id: "call_k1", function: { name: "get_weather" } }]
    })
  })
})

describe("errors", () => {
  const apiError = async (promise: Promise<unknown>) => {
    const error = await promise.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Anthropic.APIError)
    return error as InstanceType<typeof Anthropic.APIError>
  }

  it("refuses a missing or wrong key with authentication_error", async () => {
    const wrong = await apiError(
      client({ apiKey: "sk-wrong" }).messages.create({
        model: "kimi-only",
        max_tokens: 8,
        messages: [{ role: "user", content: "x" }]
      })
    )
    expect(wrong).toBeInstanceOf(Anthropic.AuthenticationError)
    expect(wrong.error).toMatchObject({ type: "error", error: { type: "authentication_error" } })
    const response = await realFetch(`${gateway.url}/v1/messages`, { method: "POST", body: "{}" })
    expect(response.status).toBe(401)
    expect(await response.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } })
  })

  it("answers an unknown model with not_found_error and bad input with invalid_request_error", async () => {
    const missing = await apiError(
      client().messages.create({ model: "claude-opus-9", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
    )
    expect(missing).toBeInstanceOf(Anthropic.NotFoundError)
    expect(missing.error).toMatchObject({ error: { type: "not_found_error" } })
    const bad = await apiError(
      client().messages.create({
        model: "kimi-only",
        max_tokens: 8,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "file_1" } }] }]
      } as never)
    )
    expect(bad).toBeInstanceOf(Anthropic.BadRequestError)
    expect(bad.message).toContain("messages.0.content.0.source.type")
    const noMax = await apiError(client().messages.create({ model: "kimi-only", messages: [] } as never))
    expect(noMax).toBeInstanceOf(Anthropic.BadRequestError)
    expect(noMax.message).toContain("max_tokens")
  })

  it("passes the upstream's rate limit as rate_limit_error with retry-after, saying no more than the OpenAI door", async () => {
    kimiReply = () => KimiScenarios.errors.rateLimited(7)
    const limited = await apiError(
      client().messages.create({ model: "kimi-only", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
    )
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError)
    expect(limited.error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } })
    expect(limited.headers?.get("retry-after")).toBe("7")
    expect(JSON.stringify(limited.error)).not.toContain("sk-test-kimi")
    // the message is the gateway's own error text (sanitized in one place, Errors), as the OpenAI door sends it
    const openai = await realFetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${gatewayKey}` },
      body: JSON.stringify({ model: "kimi-only", messages: [{ role: "user", content: "x" }] })
    })
    const body = (await openai.json()) as Json
    expect(openai.status).toBe(429)
    const withoutIds = (message: string) => message.replace(/\[requestId: [^\]]*\]/g, "")
    expect(withoutIds((limited.error as Json).error.message)).toBe(
      withoutIds(`${body.error.message} (code: ${body.error.code})`)
    )
  })

  it("answers an exhausted quota with billing_error and an overloaded upstream with overloaded_error (529)", async () => {
    kimiReply = () => KimiScenarios.errors.quotaExhausted()
    const quota = await apiError(
      client().messages.create({ model: "kimi-only", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
    )
    expect(quota.status).toBe(402)
    expect(quota.error).toMatchObject({ error: { type: "billing_error" } })
    glmReply = () => MockUpstream.error(503, { error: { message: "Service Unavailable" } }, { "retry-after": "2" })
    const overloaded = await apiError(
      client().messages.create({ model: "glm-only", max_tokens: 8, messages: [{ role: "user", content: "x" }] })
    )
    expect(overloaded.status).toBe(529)
    expect(overloaded.error).toMatchObject({ error: { type: "overloaded_error" } })
  })
})

describe("count_tokens", () => {
  it("estimates input tokens, more for a longer prompt with tools", async () => {
    const anthropic = client()
    const short = await anthropic.messages.countTokens({
      model: "kimi-only",
      messages: [{ role: "user", content: "Hi" }]
    })
    const long = await anthropic.messages.countTokens({
      model: "kimi-only",
      system: "You are a careful assistant.",
      tools: [weatherTool],
      messages: [{ role: "user", content: "Tell me about the weather in Oslo, Rome and Lisbon this week, please." }]
    })
    expect(short.input_tokens).toBeGreaterThan(0)
    expect(long.input_tokens).toBeGreaterThan(short.input_tokens)
    expect(chatCalls(kimi.recorder)).toHaveLength(0)
  })
})

describe("a multi-turn tool conversation across an outage", () => {
  it("runs turns on Kimi, falls back to GLM while Kimi is down, and keeps the conversation going", async () => {
    const anthropic = client()
    let kimiDown = false
    kimiReply = (call) => {
      if (kimiDown) return KimiScenarios.errors.serverError()
      const messages = call.body.messages as Array<Json>
      if (messages.at(-1)?.role === "tool")
        return { model: "kimi-k2.6", text: ["Oslo: 12°C."], usage: { prompt: 60, completion: 5 } }
      return {
        model: "kimi-k2.6",
        toolCalls: [{ id: `call_k${messages.length}`, name: "get_weather", arguments: { city: "Oslo" } }],
        usage: { prompt: 50, completion: 12 }
      }
    }
    const params = { model: "coder", max_tokens: 256, tools: [weatherTool] }
    const messages: Array<Anthropic.MessageParam> = [{ role: "user", content: "Weather in Oslo?" }]
    const turn = async (stream: boolean) => {
      const { data, response } = stream
        ? { data: await anthropic.messages.stream({ ...params, messages }).finalMessage(), response: undefined }
        : await anthropic.messages.create({ ...params, messages }).withResponse()
      messages.push({ role: "assistant", content: data.content as Array<Anthropic.ContentBlockParam> })
      return { data, provider: response?.headers.get("x-conduit-provider") }
    }
    const answerTool = (data: Anthropic.Message, result: string) => {
      const call = data.content.find((block) => block.type === "tool_use") as Anthropic.ToolUseBlock
      messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: result }] })
    }

    // turn 1 on Kimi: a tool call; turn 2 on Kimi: the answer
    const one = await turn(false)
    expect(one.provider).toBe("kimi")
    expect(one.data.stop_reason).toBe("tool_use")
    answerTool(one.data, "12°C")
    const two = await turn(false)
    expect(two.provider).toBe("kimi")
    expect(two.data.content).toEqual([{ type: "text", text: "Oslo: 12°C.", citations: null }])

    // Kimi goes down: turn 3 (a new question) falls back to GLM, which calls the tool; turn 4 (streamed) too
    kimiDown = true
    messages.push({ role: "user", content: "And in Rome?" })
    const three = await turn(false)
    expect(three.provider).toBe("glm")
    expect(three.data.stop_reason).toBe("tool_use")
    answerTool(three.data, "24°C")
    const four = await turn(true)
    expect(four.data.stop_reason).toBe("end_turn")
    expect(four.data.content.find((block) => block.type === "text")).toMatchObject({
      text: expect.stringContaining("24°C")
    })
    // GLM received the whole conversation, Kimi's tool turn included
    const sent = lastUpstreamBody(glm.recorder).messages as Array<Json>
    expect(sent.filter((message) => message.role === "tool").map((message) => message.content)).toEqual([
      "12°C",
      "24°C"
    ])

    // Kimi is back: turn 5 runs on Kimi again
    kimiDown = false
    messages.push({ role: "user", content: "Thanks, and Oslo again?" })
    const five = await turn(false)
    expect(five.provider).toBe("kimi")
    const metrics = await (await realFetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/conduit_gateway_fallbacks_total\{model="coder"\} [1-9]/)
  })
})
