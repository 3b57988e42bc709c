/**
 * The Anthropic encoder, table by table: stop reasons, usage, the non-stream message, the stream's event sequence
 * (thinking, text, streamed and whole tool calls, provider-executed rounds hidden), and the error table.
 */
import { ResponseSummary, Usage } from "@conduitkit/core"
import type { Response } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as AnthropicWire from "../src/AnthropicWire.js"
import * as Errors from "../src/Errors.js"
import type { Json } from "./support.js"

const finish = (reason: Response.FinishReason, raw?: string): Response.AnyPartEncoded =>
  ({
    type: "finish",
    reason,
    usage: Usage.toResponseUsage({
      inputTokens: 1200,
      cachedInputTokens: 1024,
      outputTokens: 300,
      reasoningTokens: 250,
      totalTokens: 1500
    }),
    ...(raw !== undefined ? { metadata: { conduit: { rawFinishReason: raw } } } : {})
  }) as never

describe("stopReason", () => {
  const rows: ReadonlyArray<readonly [Response.FinishReason, unknown, boolean, string]> = [
    ["stop", "stop", false, "end_turn"],
    ["tool-calls", "tool_calls", true, "tool_use"],
    ["length", "length", false, "max_tokens"],
    ["stop", "stop_sequence", false, "stop_sequence"],
    ["content-filter", "sensitive", false, "refusal"],
    ["unknown", undefined, false, "end_turn"],
    // a provider-executed round only (no client tool call) is not tool_use
    ["tool-calls", "tool_calls", false, "end_turn"]
  ]
  for (const [reason, raw, calls, expected] of rows) {
    it(`${reason} / ${String(raw)} / calls ${calls} → ${expected}`, () => {
      expect(AnthropicWire.stopReason(reason, raw, calls)).toBe(expected)
    })
  }
})

describe("usage", () => {
  it("counts cache reads apart from input tokens", () => {
    expect(
      AnthropicWire.usage({
        inputTokens: 1200,
        cachedInputTokens: 1024,
        outputTokens: 300,
        reasoningTokens: 250,
        totalTokens: 1500
      })
    ).toEqual({ input_tokens: 176, output_tokens: 300, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 })
  })
})

describe("message", () => {
  it("has thinking, text and tool_use blocks with parsed input; provider-executed calls hidden", () => {
    const summary = ResponseSummary.fromParts([
      { type: "reasoning", text: "Think." },
      { type: "text", text: "Checking." },
      { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Oslo" }, providerExecuted: false },
      { type: "tool-call", id: "call_2", name: "lookup", params: '{"q":"x"}', providerExecuted: false },
      { type: "tool-call", id: "$web_search_0", name: "$web_search", params: {}, providerExecuted: true },
      finish("tool-calls", "tool_calls")
    ] as never)
    expect(AnthropicWire.message({ id: "msg_1", model: "default", summary })).toEqual({
      id: "msg_1",
      type: "message",
      role: "assistant",
      model: "default",
      content: [
        { type: "thinking", thinking: "Think.", signature: "conduit" },
        { type: "text", text: "Checking.", citations: null },
        { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } },
        { type: "tool_use", id: "call_2", name: "lookup", input: { q: "x" } }
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      stop_details: null,
      usage: { input_tokens: 176, output_tokens: 300, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 }
    })
  })
})

/** Parses SSE text into `[event, data]` pairs and checks every frame's `type` equals its event name. */
const events = (text: string): Array<Json> =>
  text
    .split("\n\n")
    .filter((frame) => frame !== "")
    .map((frame) => {
      const [eventLine, dataLine] = frame.split("\n")
      const name = eventLine?.slice("event: ".length)
      const data = JSON.parse(dataLine?.slice("data: ".length) ?? "null")
      expect(data.type).toBe(name)
      return data
    })

const encode = (parts: ReadonlyArray<Response.AnyPartEncoded>) => {
  const encoder = AnthropicWire.makeStreamEncoder({ id: "msg_1", model: "default" })
  let text = encoder.start()
  for (const part of parts) text += encoder.push(part)
  expect(encoder.finished()).toBe(parts.some((part) => part.type === "finish"))
  if (encoder.finished()) text += encoder.end()
  return events(text)
}

describe("stream encoder", () => {
  it("opens with message_start and ping, streams thinking then text, and ends with message_delta and message_stop", () => {
    const out = encode([
      { type: "response-metadata", id: "up-1" },
      { type: "reasoning-start", id: "r" },
      { type: "reasoning-delta", id: "r", delta: "Hm" },
      { type: "reasoning-delta", id: "r", delta: "m." },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "Hel" },
      { type: "text-delta", id: "t", delta: "" },
      { type: "text-delta", id: "t", delta: "lo" },
      finish("stop", "stop")
    ] as never)
    expect(out.map((event) => event.delta?.type ?? event.type)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "thinking_delta",
      "thinking_delta",
      "signature_delta",
      "content_block_stop",
      "content_block_start",
      "text_delta",
      "text_delta",
      "content_block_stop",
      "message_delta",
      "message_stop"
    ])
    expect(out[0].message).toMatchObject({ id: "msg_1", role: "assistant", model: "default", content: [] })
    expect(out[2]).toEqual({
      type: "content_block_start",
      index: 0,
      content_block: { type: "thinking", thinking: "", signature: "" }
    })
    expect(out[7]).toEqual({
      type: "content_block_start",
      index: 1,
      content_block: { type: "text", text: "", citations: null }
    })
    expect(out[11]).toEqual({
      type: "message_delta",
      delta: { stop_reason: "end_turn", stop_sequence: null, stop_details: null },
      usage: { input_tokens: 176, output_tokens: 300, cache_creation_input_tokens: 0, cache_read_input_tokens: 1024 }
    })
  })

  it("streams tool input as input_json_delta, sends a whole call as one delta, hides provider-executed rounds", () => {
    const out = encode([
      { type: "text-delta", id: "t", delta: "Let me check." },
      { type: "tool-params-start", id: "$ws", name: "$web_search", providerExecuted: true },
      { type: "tool-params-delta", id: "$ws", delta: "{}" },
      { type: "tool-call", id: "$ws", name: "$web_search", params: {}, providerExecuted: true },
      { type: "tool-params-start", id: "call_1", name: "get_weather" },
      { type: "tool-params-delta", id: "call_1", delta: '{"city":' },
      { type: "tool-params-delta", id: "call_1", delta: '"Oslo"}' },
      { type: "tool-params-end", id: "call_1" },
      { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Oslo" } },
      { type: "tool-call", id: "call_2", name: "get_weather", params: { city: "Rome" } },
      finish("tool-calls", "tool_calls")
    ] as never)
    const blocks = out.filter((event) => event.type === "content_block_start").map((event) => event.content_block)
    expect(blocks).toEqual([
      { type: "text", text: "", citations: null },
      { type: "tool_use", id: "call_1", name: "get_weather", input: {} },
      { type: "tool_use", id: "call_2", name: "get_weather", input: {} }
    ])
    const json = (index: number) =>
      out
        .filter((event) => event.type === "content_block_delta" && event.index === index)
        .map((event) => event.delta.partial_json)
        .join("")
    expect(JSON.parse(json(1))).toEqual({ city: "Oslo" })
    expect(JSON.parse(json(2))).toEqual({ city: "Rome" })
    expect(out.filter((event) => event.type === "content_block_stop").map((event) => event.index)).toEqual([0, 1, 2])
    expect(out.at(-2)?.delta).toEqual({ stop_reason: "tool_use", stop_sequence: null, stop_details: null })
  })

  it("is unfinished without a finish part", () => {
    const encoder = AnthropicWire.makeStreamEncoder({ id: "msg_1", model: "m" })
    encoder.push({ type: "text-delta", id: "t", delta: "partial" } as never)
    expect(encoder.finished()).toBe(false)
    expect(encoder.usage()).toBeUndefined()
  })
})

describe("fromHttpError", () => {
  const rows: ReadonlyArray<{
    readonly from: Errors.HttpError
    readonly status: number
    readonly type: string
    readonly retryAfter?: string
  }> = [
    {
      from: Errors.httpError(400, "bad", "invalid_request_error", "invalid_json"),
      status: 400,
      type: "invalid_request_error"
    },
    {
      from: Errors.httpError(401, "no key", "invalid_request_error", "missing_api_key"),
      status: 401,
      type: "authentication_error"
    },
    {
      from: Errors.httpError(403, "denied", "permission_error", "upstream_permission_denied"),
      status: 403,
      type: "permission_error"
    },
    {
      from: Errors.httpError(404, "nope", "invalid_request_error", "model_not_found"),
      status: 404,
      type: "not_found_error"
    },
    {
      from: Errors.httpError(409, "again", "invalid_request_error", "idempotency_conflict"),
      status: 409,
      type: "conflict_error"
    },
    {
      from: Errors.httpError(413, "big", "invalid_request_error", "request_too_large"),
      status: 413,
      type: "request_too_large"
    },
    {
      from: Errors.httpError(429, "quota", "insufficient_quota", "insufficient_quota", null, {
        "retry-after": "9"
      }),
      status: 402,
      type: "billing_error"
    },
    {
      from: Errors.httpError(
        429,
        "slow",
        "rate_limit_error",
        "rate_limit_exceeded",
        null,
        Errors.retryAfterHeaders(2500)
      ),
      status: 429,
      type: "rate_limit_error",
      retryAfter: "3"
    },
    {
      from: Errors.httpError(
        503,
        "busy",
        "upstream_error",
        "upstream_overloaded",
        null,
        Errors.retryAfterHeaders(1000)
      ),
      status: 529,
      type: "overloaded_error",
      retryAfter: "1"
    },
    {
      from: Errors.httpError(503, "waited", "server_error", "queue_timeout"),
      status: 529,
      type: "overloaded_error"
    },
    {
      from: Errors.httpError(503, "redis", "server_error", "rate_limit_store_unavailable"),
      status: 503,
      type: "api_error"
    },
    { from: Errors.httpError(504, "slow", "timeout", "first_token_timeout"), status: 504, type: "timeout_error" },
    {
      from: Errors.httpError(502, "down", "upstream_error", "upstream_unreachable"),
      status: 502,
      type: "api_error"
    },
    { from: Errors.httpError(500, "oops", "server_error", "internal_error"), status: 500, type: "api_error" }
  ]
  for (const row of rows) {
    it(`${row.from.status} ${row.from.body.error.code} → ${row.status} ${row.type}`, () => {
      const error = AnthropicWire.fromHttpError(row.from, "req_1")
      expect(error.status).toBe(row.status)
      expect(error.body).toEqual({
        type: "error",
        error: { type: row.type, message: `${row.from.body.error.message} (code: ${row.from.body.error.code})` },
        request_id: "req_1"
      })
      expect(error.headers["retry-after"]).toBe(row.retryAfter)
    })
  }
  it("frames a stream error as an error event", () => {
    const error = AnthropicWire.fromHttpError(
      Errors.httpError(502, "cut", "upstream_error", "upstream_stream_truncated")
    )
    expect(events(AnthropicWire.errorEvent(error))).toEqual([
      { type: "error", error: { type: "api_error", message: "cut (code: upstream_stream_truncated)" } }
    ])
  })
})
