import { type ProviderError, ResponseSummary } from "@conduitkit/core"
import type { Response } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as OpenAiWire from "../src/OpenAiWire.js"
import type { Json } from "./support.js"

const summary = (overrides: Partial<ProviderError.ErrorSummary>): ProviderError.ErrorSummary => ({
  reason: "UnknownError",
  message: "boom",
  retryable: false,
  kind: "http",
  provider: "kimi",
  status: undefined,
  type: undefined,
  code: undefined,
  requestId: undefined,
  retryAfterMs: undefined,
  timeout: undefined,
  limitMs: undefined,
  contextLength: false,
  param: undefined,
  ...overrides
})

describe("fromSummary: the error table", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly input: Partial<ProviderError.ErrorSummary>
    readonly status: number
    readonly type: string
    readonly code: string | null
    readonly headers?: Record<string, string>
  }> = [
    {
      name: "invalid request",
      input: { reason: "InvalidRequestError", status: 400, code: "invalid_value" },
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value"
    },
    {
      name: "context length",
      input: { reason: "InvalidRequestError", status: 400, contextLength: true },
      status: 400,
      type: "invalid_request_error",
      code: "context_length_exceeded"
    },
    {
      name: "upstream 404 model",
      input: { reason: "InvalidRequestError", status: 404 },
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found"
    },
    {
      name: "retired model",
      input: { reason: "InvalidRequestError", kind: "retired-model" },
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found"
    },
    {
      name: "content policy",
      input: { reason: "ContentPolicyError", status: 400 },
      status: 400,
      type: "invalid_request_error",
      code: "content_policy_violation"
    },
    {
      name: "upstream 403",
      input: { reason: "AuthenticationError", status: 403 },
      status: 403,
      type: "permission_error",
      code: "upstream_permission_denied"
    },
    {
      name: "upstream 401 (the gateway's key)",
      input: { reason: "AuthenticationError", status: 401 },
      status: 502,
      type: "upstream_error",
      code: "upstream_authentication_failed"
    },
    {
      name: "quota",
      input: { reason: "QuotaExhaustedError", status: 429 },
      status: 429,
      type: "insufficient_quota",
      code: "insufficient_quota"
    },
    {
      name: "rate limit with advice",
      input: { reason: "RateLimitError", status: 429, retryAfterMs: 2500 },
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      headers: { "retry-after": "3", "retry-after-ms": "2500" }
    },
    {
      name: "rate limit without advice",
      input: { reason: "RateLimitError", status: 429 },
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      headers: {}
    },
    {
      name: "overloaded 503",
      input: { reason: "InternalProviderError", status: 503, retryAfterMs: 1000 },
      status: 503,
      type: "upstream_error",
      code: "upstream_overloaded",
      headers: { "retry-after": "1", "retry-after-ms": "1000" }
    },
    {
      name: "overloaded 529",
      input: { reason: "InternalProviderError", status: 529 },
      status: 503,
      type: "upstream_error",
      code: "upstream_overloaded"
    },
    {
      name: "upstream 500",
      input: { reason: "InternalProviderError", status: 500 },
      status: 502,
      type: "upstream_error",
      code: "upstream_error"
    },
    {
      name: "network",
      input: { reason: "NetworkError", kind: undefined },
      status: 502,
      type: "upstream_error",
      code: "upstream_unreachable"
    },
    {
      name: "truncated stream",
      input: { reason: "InvalidResponseError", kind: "truncated-stream" },
      status: 502,
      type: "upstream_error",
      code: "upstream_stream_truncated"
    },
    {
      name: "first-token timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "firstToken" },
      status: 504,
      type: "timeout",
      code: "first_token_timeout"
    },
    {
      name: "idle timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "idle" },
      status: 504,
      type: "timeout",
      code: "idle_timeout"
    },
    {
      name: "total timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "total" },
      status: 504,
      type: "timeout",
      code: "total_timeout"
    },
    {
      name: "idempotency conflict",
      input: { reason: "InvalidRequestError", kind: "idempotency-conflict" },
      status: 409,
      type: "invalid_request_error",
      code: "idempotency_conflict"
    },
    {
      name: "cache store down (fail-closed)",
      input: { reason: "InternalProviderError", kind: "cache-unavailable" },
      status: 503,
      type: "upstream_error",
      code: "cache_unavailable"
    }
  ]
  for (const row of rows) {
    it(row.name, () => {
      const http = OpenAiWire.fromSummary(summary(row.input))
      expect(http.status).toBe(row.status)
      expect(http.body.error.type).toBe(row.type)
      expect(http.body.error.code).toBe(row.code)
      expect(http.body.error.message.length).toBeGreaterThan(0)
      if (row.headers !== undefined) expect(http.headers).toEqual(row.headers)
    })
  }

  it("names the offending parameter when the failure knows it", () => {
    const http = OpenAiWire.fromSummary(summary({ reason: "InvalidRequestError", status: 400 }), "temperature")
    expect(http.body.error.param).toBe("temperature")
  })

  it("rounds Retry-After up to whole seconds and never below one", () => {
    expect(OpenAiWire.retryAfterHeaders(1)).toEqual({ "retry-after": "1", "retry-after-ms": "1" })
    expect(OpenAiWire.retryAfterHeaders(1001)).toEqual({ "retry-after": "2", "retry-after-ms": "1001" })
    expect(OpenAiWire.retryAfterHeaders(undefined)).toEqual({})
  })
})

describe("finishReason", () => {
  const rows: ReadonlyArray<readonly [Response.FinishReason, unknown, string]> = [
    ["stop", "stop", "stop"],
    ["length", undefined, "length"],
    ["tool-calls", undefined, "tool_calls"],
    ["content-filter", "sensitive", "content_filter"],
    ["other", "tool_calls", "tool_calls"],
    ["unknown", "network_error", "stop"]
  ]
  for (const [reason, raw, expected] of rows) {
    it(`${reason} / ${String(raw)} → ${expected}`, () => expect(OpenAiWire.finishReason(reason, raw)).toBe(expected))
  }
})

const usage = {
  inputTokens: { total: 1200, uncached: 176, cacheRead: 1024 },
  outputTokens: { total: 300, text: 50, reasoning: 250 }
}
const finish = (reason: Response.FinishReason, raw?: string) =>
  ({
    type: "finish",
    reason,
    usage,
    ...(raw !== undefined ? { metadata: { conduit: { rawFinishReason: raw } } } : {})
  }) as unknown as Response.AnyPartEncoded

const parse = (frames: string) =>
  frames
    .split("\n\n")
    .filter((frame) => frame !== "")
    .map((frame) => {
      expect(frame.startsWith("data: ")).toBe(true)
      const data = frame.slice(6)
      return data === "[DONE]" ? data : (JSON.parse(data) as Json)
    })

describe("makeStreamEncoder", () => {
  const encoder = () => OpenAiWire.makeStreamEncoder({ id: "chatcmpl-1", created: 1700000000, model: "fast" })

  it("sends role once, then content and reasoning deltas, then the finish reason", () => {
    const e = encoder()
    const frames = [
      e.push({ type: "response-metadata", id: "x" } as Response.AnyPartEncoded),
      e.push({ type: "reasoning-delta", id: "r", delta: "Think" } as Response.AnyPartEncoded),
      e.push({ type: "text-delta", id: "t", delta: 'He said "hi"\n' } as Response.AnyPartEncoded),
      e.push({ type: "text-delta", id: "t", delta: "" } as Response.AnyPartEncoded),
      e.push(finish("stop"))
    ]
    expect(frames[0]).toBe("")
    expect(frames[3]).toBe("")
    const chunks = parse(frames.join("")) as Array<Json>
    expect(chunks.map((c) => c.choices[0].delta)).toEqual([
      { role: "assistant", reasoning_content: "Think" },
      { content: 'He said "hi"\n' },
      {}
    ])
    expect(chunks.map((c) => c.choices[0].finish_reason)).toEqual([null, null, "stop"])
    for (const c of chunks) {
      expect(c).toMatchObject({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1700000000, model: "fast" })
    }
    expect(e.finished()).toBe(true)
  })

  it("ends with a usage chunk only when asked, then [DONE]", () => {
    const e = encoder()
    e.push(finish("stop"))
    const withUsage = parse(e.end(true))
    expect(withUsage[1]).toBe("[DONE]")
    expect(withUsage[0]).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 300,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 250 }
      }
    })
    expect(parse(e.end(false))).toEqual(["[DONE]"])
  })

  it("streams tool calls by index and hides provider-executed ones", () => {
    const e = encoder()
    const out = [
      e.push({ type: "tool-params-start", id: "call_a", name: "get_weather" } as Response.AnyPartEncoded),
      e.push({ type: "tool-params-delta", id: "call_a", delta: '{"location":' } as Response.AnyPartEncoded),
      e.push({ type: "tool-params-delta", id: "call_a", delta: '"Paris"}' } as Response.AnyPartEncoded),
      e.push({
        type: "tool-call",
        id: "call_a",
        name: "get_weather",
        params: { location: "Paris" }
      } as Response.AnyPartEncoded),
      e.push({
        type: "tool-params-start",
        id: "srv",
        name: "$web_search",
        providerExecuted: true
      } as Response.AnyPartEncoded),
      e.push({ type: "tool-params-delta", id: "srv", delta: "{}" } as Response.AnyPartEncoded),
      e.push({
        type: "tool-call",
        id: "srv",
        name: "$web_search",
        params: {},
        providerExecuted: true
      } as Response.AnyPartEncoded),
      e.push({ type: "tool-call", id: "call_b", name: "get_time", params: { zone: "UTC" } } as Response.AnyPartEncoded),
      e.push(finish("tool-calls"))
    ]
    expect(out[3]).toBe("")
    expect(out[4]).toBe("")
    expect(out[5]).toBe("")
    expect(out[6]).toBe("")
    const chunks = parse(out.join("")) as Array<Json>
    expect(chunks.map((c) => c.choices[0].delta)).toEqual([
      {
        role: "assistant",
        tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: "" } }]
      },
      { tool_calls: [{ index: 0, function: { arguments: '{"location":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] },
      {
        tool_calls: [
          { index: 1, id: "call_b", type: "function", function: { name: "get_time", arguments: '{"zone":"UTC"}' } }
        ]
      },
      {}
    ])
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe("tool_calls")
  })

  it("holds a streamed call of a declared built-in until its tool-call part: dropped when provider-executed, else sent whole", () => {
    const e = OpenAiWire.makeStreamEncoder({
      id: "chatcmpl-1",
      created: 1,
      model: "kimi/kimi-k2.6",
      builtinTools: OpenAiWire.builtinToolNames([
        { type: "builtin_function", function: { name: "$web_search" } },
        { type: "web_search", web_search: { enable: true } }
      ])
    })
    const call = (id: string, providerExecuted: boolean) => [
      e.push({ type: "tool-params-start", id, name: "$web_search" } as Response.AnyPartEncoded),
      e.push({ type: "tool-params-delta", id, delta: '{"q":1}' } as Response.AnyPartEncoded),
      e.push({
        type: "tool-call",
        id,
        name: "$web_search",
        params: { q: 1 },
        ...(providerExecuted ? { providerExecuted } : {})
      } as Response.AnyPartEncoded)
    ]
    expect(call("srv", true)).toEqual(["", "", ""])
    const [start, delta, whole] = call("left", false)
    expect([start, delta]).toEqual(["", ""])
    expect((parse(whole ?? "") as Array<Json>).map((c) => c.choices[0].delta)).toEqual([
      {
        role: "assistant",
        tool_calls: [
          { index: 0, id: "left", type: "function", function: { name: "$web_search", arguments: '{"q":1}' } }
        ]
      }
    ])
    expect([...OpenAiWire.builtinToolNames([{ type: "web_search" }])]).toEqual(["web_search"])
  })

  it("a finish with nothing before it still carries the role", () => {
    const chunks = parse(encoder().push(finish("length"))) as Array<Json>
    expect(chunks[0]?.choices[0]).toEqual({ index: 0, delta: { role: "assistant" }, finish_reason: "length" })
  })

  it("escapes ids and model names that need it", () => {
    const e = OpenAiWire.makeStreamEncoder({ id: 'a"b', created: 1, model: "x\\y" })
    const [chunk] = parse(
      e.push({ type: "text-delta", id: "t", delta: "ok" } as Response.AnyPartEncoded)
    ) as Array<Json>
    expect(chunk).toMatchObject({ id: 'a"b', model: "x\\y" })
  })
})

describe("completion", () => {
  it("keeps reasoning, tool calls (not provider-executed ones) and detailed usage", () => {
    const parts = [
      { type: "reasoning", text: "Need the weather." },
      { type: "tool-call", id: "srv", name: "$web_search", params: {}, providerExecuted: true },
      { type: "tool-call", id: "call_1", name: "get_weather", params: { location: "Paris" } },
      finish("tool-calls")
    ] as unknown as ReadonlyArray<Response.AnyPartEncoded>
    const body = OpenAiWire.completion({
      id: "chatcmpl-2",
      created: 5,
      model: "kimi/kimi-k3",
      summary: ResponseSummary.fromParts(parts)
    })
    expect(body).toEqual({
      id: "chatcmpl-2",
      object: "chat.completion",
      created: 5,
      model: "kimi/kimi-k3",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: null,
            reasoning_content: "Need the weather.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
            ]
          },
          finish_reason: "tool_calls"
        }
      ],
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 300,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 1024 },
        completion_tokens_details: { reasoning_tokens: 250 }
      }
    })
  })

  it("the error event is an SSE `error` frame with the OpenAI envelope", () => {
    const frame = OpenAiWire.errorEvent(OpenAiWire.httpError(502, "gone", "upstream_error", "upstream_error"))
    expect(frame).toBe(
      'event: error\ndata: {"error":{"message":"gone","type":"upstream_error","code":"upstream_error","param":null}}\n\n'
    )
  })
})
