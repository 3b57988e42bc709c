/**
 * The round policy as a table: a segment's summary and the call's progress in, the next round out (a
 * provider-executed round with its request and tool-result parts, a continuation with its request, or done).
 */
import { describe, expect, it } from "vitest"
import type * as ChatCompletions from "../src/ChatCompletions.js"
import * as ModelCatalog from "../src/ModelCatalog.js"
import type * as ProviderSpec from "../src/ProviderSpec.js"
import * as RoundPolicy from "../src/RoundPolicy.js"

const search: NonNullable<ProviderSpec.ProviderSpec["providerExecutedTools"]> = {
  names: ["$web_search"],
  resolve: (call) => `echo:${call.arguments}`,
  maxRounds: 2
}

const spec = (overrides: Partial<ProviderSpec.ProviderSpec> = {}): ProviderSpec.ProviderSpec => ({
  name: "p",
  catalog: ModelCatalog.make("p", []),
  reasoningReplay: { mode: "never" },
  providerExecutedTools: search,
  continuation: "prefill",
  ...overrides
})

const first: ChatCompletions.WireRequest = {
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  max_completion_tokens: 500
}

const call = (overrides: Partial<RoundPolicy.RoundCall> = {}): RoundPolicy.RoundCall => ({
  info: {
    ...ModelCatalog.unknownModel("p", "m"),
    capabilities: { ...ModelCatalog.conservativeCapabilities, partialMode: true }
  },
  replay: { mode: "tool-calls", placeholder: " " },
  continuation: { enabled: true, maxContinuations: 2, maxTotalTokens: 1000 },
  request: first,
  declaredTools: new Set(["web_search"]),
  ...overrides
})

const toolCall = (id: string, name: string) => ({ type: "tool-call", id, name, params: {} }) as const

const searchSegment: RoundPolicy.SegmentSummary = {
  text: "",
  reasoning: "",
  rawFinishReason: "tool_calls",
  toolCalls: [toolCall("c1", "web_search")],
  wireToolCalls: [{ id: "c1", name: "$web_search", arguments: '{"q":"x"}' }],
  toolCallsComplete: true
}

const lengthSegment: RoundPolicy.SegmentSummary = {
  text: "partial",
  reasoning: "",
  rawFinishReason: "length",
  toolCalls: [],
  wireToolCalls: [],
  toolCallsComplete: true
}

const progress = (overrides: Partial<RoundPolicy.CallProgress> = {}): RoundPolicy.CallProgress => ({
  providerExecutedRounds: 0,
  continuations: 0,
  outputTokens: 100,
  text: "partial",
  ...overrides
})

const later: ChatCompletions.WireRequest = {
  ...first,
  messages: [...first.messages, { role: "user", content: "more" }]
}

describe("RoundPolicy.next: provider-executed rounds", () => {
  it("answers calls that are all provider-executed: the segment's request plus the call turn and the answers", () => {
    const next = RoundPolicy.next(spec(), call(), later, searchSegment, progress({ text: "" }))
    expect(next).toEqual({
      _tag: "ProviderExecutedRound",
      request: {
        ...later,
        messages: [
          ...later.messages,
          {
            role: "assistant",
            reasoning_content: " ",
            tool_calls: [{ id: "c1", type: "function", function: { name: "$web_search", arguments: '{"q":"x"}' } }]
          },
          { role: "tool", tool_call_id: "c1", name: "$web_search", content: 'echo:{"q":"x"}' }
        ]
      },
      results: [
        {
          type: "tool-result",
          id: "c1",
          name: "web_search",
          isFailure: false,
          result: '{"q":"x"}',
          providerExecuted: true
        }
      ]
    })
  })

  const roundCases: ReadonlyArray<
    readonly [string, Partial<RoundPolicy.SegmentSummary>, Partial<RoundPolicy.RoundCall>, Record<string, unknown>]
  > = [
    [
      "the text and reasoning of the call turn",
      { text: "t", reasoning: "r" },
      {},
      { content: "t", reasoning_content: "r" }
    ],
    ["reasoning replay never", { reasoning: "r" }, { replay: { mode: "never" } }, { reasoning_content: undefined }],
    ["blank reasoning: the placeholder", { reasoning: "  " }, {}, { reasoning_content: " " }],
    ["no placeholder: nothing", {}, { replay: { mode: "always" } }, { reasoning_content: undefined }]
  ]
  it.each(roundCases)("replays %s", (_name, segment, overrides, turn) => {
    const next = RoundPolicy.next(spec(), call(overrides), first, { ...searchSegment, ...segment }, progress())
    expect(next._tag).toBe("ProviderExecutedRound")
    const messages = next._tag === "ProviderExecutedRound" ? next.request.messages : []
    const assistant = messages[first.messages.length] as Record<string, unknown>
    for (const [key, value] of Object.entries(turn)) expect(assistant[key]).toEqual(value)
  })

  it("reports tool-result parts only for toolkit tools (a wire-only declaration has no tool to decode them)", () => {
    const next = RoundPolicy.next(spec(), call({ declaredTools: new Set() }), first, searchSegment, progress())
    expect(next).toMatchObject({ _tag: "ProviderExecutedRound", results: [] })
  })

  const doneCases: ReadonlyArray<
    readonly [string, ProviderSpec.ProviderSpec, Partial<RoundPolicy.SegmentSummary>, Partial<RoundPolicy.CallProgress>]
  > = [
    ["the spec has no provider-executed tools", spec({ providerExecutedTools: undefined }), {}, {}],
    ["the bound of rounds is reached", spec(), {}, { providerExecutedRounds: 2 }],
    [
      "the calls are not final (a stream that did not finish with tool_calls)",
      spec(),
      { toolCallsComplete: false },
      {}
    ],
    [
      "one of the calls is a client tool",
      spec(),
      {
        toolCalls: [toolCall("c1", "web_search"), toolCall("c2", "lookup")],
        wireToolCalls: [
          { id: "c1", name: "$web_search", arguments: "{}" },
          { id: "c2", name: "lookup", arguments: "{}" }
        ]
      },
      {}
    ],
    ["there are no calls", spec(), { toolCalls: [], wireToolCalls: [], rawFinishReason: "stop" }, {}]
  ]
  it.each(doneCases)("is done when %s", (_name, providerSpec, segment, state) => {
    expect(RoundPolicy.next(providerSpec, call(), first, { ...searchSegment, ...segment }, progress(state))).toEqual({
      _tag: "Done"
    })
  })
})

describe("RoundPolicy.next: continuation after finish_reason length", () => {
  it("prefill: the first request plus the answer so far as a partial assistant prefix, max_tokens lowered", () => {
    const next = RoundPolicy.next(spec(), call(), later, lengthSegment, progress({ text: "so far", outputTokens: 700 }))
    expect(next).toEqual({
      _tag: "Continuation",
      request: {
        model: "m",
        messages: [...first.messages, { role: "assistant", content: "so far", partial: true }],
        max_tokens: 300
      }
    })
  })

  const strategyCases: ReadonlyArray<
    readonly [string, Partial<ProviderSpec.ProviderSpec>, Partial<RoundPolicy.RoundCall>, unknown]
  > = [
    [
      "instruction: the answer as an assistant turn, then the continue instruction",
      { continuation: "instruction" },
      {},
      [
        { role: "assistant", content: "partial" },
        { role: "user", content: RoundPolicy.continueInstruction }
      ]
    ],
    [
      "prefill on a model without partial mode falls back to the instruction",
      {},
      { info: ModelCatalog.unknownModel("p", "m") },
      [
        { role: "assistant", content: "partial" },
        { role: "user", content: RoundPolicy.continueInstruction }
      ]
    ],
    [
      "the spec's prefill message",
      { prefillMessage: (content) => ({ role: "assistant", content, prefix: true }) },
      {},
      [{ role: "assistant", content: "partial", prefix: true }]
    ]
  ]
  it.each(strategyCases)("%s", (_name, overrides, callOverrides, appended) => {
    const next = RoundPolicy.next(spec(overrides), call(callOverrides), first, lengthSegment, progress())
    expect(next._tag === "Continuation" && next.request.messages.slice(first.messages.length)).toEqual(appended)
  })

  const limitCases: ReadonlyArray<readonly [string, number | undefined, number]> = [
    ["the request's max_tokens, when below what is left", 500, 500],
    ["what maxTotalTokens leaves, when below the request's", 5000, 900],
    ["what is left, when the request sets no limit", undefined, 900]
  ]
  it.each(limitCases)("max_tokens is %s", (_name, requested, expected) => {
    const base: ChatCompletions.WireRequest = { model: "m", messages: first.messages, max_tokens: requested }
    const next = RoundPolicy.next(spec(), call({ request: base }), base, lengthSegment, progress())
    expect(next._tag === "Continuation" && next.request.max_tokens).toBe(expected)
  })

  const doneCases: ReadonlyArray<
    readonly [
      string,
      Partial<RoundPolicy.SegmentSummary>,
      Partial<RoundPolicy.RoundCall>,
      Partial<RoundPolicy.CallProgress>
    ]
  > = [
    ["continuation is off", {}, { continuation: { enabled: false, maxContinuations: 2, maxTotalTokens: 1000 } }, {}],
    ["the finish is not length", { rawFinishReason: "stop" }, {}, {}],
    ["there is no text yet", { text: "" }, {}, { text: "" }],
    ["the segment made tool calls", { toolCalls: [toolCall("c1", "lookup")] }, {}, {}],
    ["maxContinuations is reached", {}, {}, { continuations: 2 }],
    ["maxTotalTokens is spent", {}, {}, { outputTokens: 1000 }]
  ]
  it.each(doneCases)("is done when %s", (_name, segment, overrides, state) => {
    const next = RoundPolicy.next(spec(), call(overrides), first, { ...lengthSegment, ...segment }, progress(state))
    expect(next).toEqual({ _tag: "Done" })
  })
})
