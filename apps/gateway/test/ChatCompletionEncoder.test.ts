import { ResponseSummary } from "@conduitkit/core"
import type { Response } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as ChatCompletionEncoder from "../src/ChatCompletionEncoder.js"
import * as Errors from "../src/Errors.js"
import type { Json } from "./support.js"

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
    it(`${reason} / ${String(raw)} → ${expected}`, () =>
      expect(ChatCompletionEncoder.finishReason(reason, raw)).toBe(expected))
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
  const encoder = () =>
    ChatCompletionEncoder.makeStreamEncoder({ id: "chatcmpl-1", created: 1700000000, model: "fast" })

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
    const e = ChatCompletionEncoder.makeStreamEncoder({
      id: "chatcmpl-1",
      created: 1,
      model: "kimi/kimi-k2.6",
      providerExecutedTools: ChatCompletionEncoder.providerExecutedToolNames([
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
    expect([...ChatCompletionEncoder.providerExecutedToolNames([{ type: "web_search" }])]).toEqual(["web_search"])
  })

  it("a finish with nothing before it still carries the role", () => {
    const chunks = parse(encoder().push(finish("length"))) as Array<Json>
    expect(chunks[0]?.choices[0]).toEqual({ index: 0, delta: { role: "assistant" }, finish_reason: "length" })
  })

  it("escapes ids and model names that need it", () => {
    const e = ChatCompletionEncoder.makeStreamEncoder({ id: 'a"b', created: 1, model: "x\\y" })
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
    const body = ChatCompletionEncoder.completion({
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
            refusal: null,
            reasoning_content: "Need the weather.",
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
            ]
          },
          logprobs: null,
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

  it("the error event is an unnamed data frame with the OpenAI envelope (what the openai SDK, Vercel and EventSource readers surface)", () => {
    const frame = ChatCompletionEncoder.errorEvent(Errors.httpError(502, "gone", "upstream_error", "upstream_error"))
    expect(frame).toBe(
      'data: {"error":{"message":"gone","type":"upstream_error","code":"upstream_error","param":null}}\n\n'
    )
  })
})
