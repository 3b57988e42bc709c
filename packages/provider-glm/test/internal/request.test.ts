/**
 * The pure request shaping (`internal/request.ts`), table-driven: each GLM quirk has a row named after it.
 */
import type { ChatCompletions, ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { AiError } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as GlmModels from "../../src/GlmModels.js"
import { type ShapeInput, shape } from "../../src/internal/request.js"

const info = (id: string): ModelCatalog.ModelInfo => {
  const found = GlmModels.get(id)
  if (found === undefined) throw new Error(`${id} is not in the catalog`)
  return found
}

const weather = {
  type: "function",
  function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: {} } }
}
const add = { type: "function", function: { name: "add", parameters: { type: "object", properties: {} } } }

const draft = (extra: Partial<ChatCompletions.WireRequest> = {}): ChatCompletions.WireRequest => ({
  model: "glm-4.6",
  messages: [{ role: "user", content: "hi" }],
  ...extra
})

const run = (
  body: ChatCompletions.WireRequest,
  options: Partial<Omit<ShapeInput, "model">> & { readonly model?: string } = {}
) => {
  const model = info(options.model ?? body.model)
  return shape(body, {
    model,
    features: GlmModels.features(model),
    providerOptions: options.providerOptions,
    streaming: options.streaming ?? false,
    preservedThinkingByDefault: options.preservedThinkingByDefault ?? false,
    warn: options.warn
  })
}

const sent = (result: ReturnType<typeof run>) => {
  if (Result.isFailure(result)) throw new Error(`refused: ${result.failure.message}`)
  return result.success
}

const refusal = (result: ReturnType<typeof run>) => {
  if (Result.isSuccess(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result.success)}`)
  const error = result.failure
  expect(AiError.isAiError(error)).toBe(true)
  expect(error.reason._tag).toBe("InvalidRequestError")
  return error.reason as AiError.InvalidRequestError
}

describe("sampling", () => {
  it.each([
    // [name, model, temperature, expected temperature, expected do_sample]
    ["temperature 0 becomes do_sample false", "glm-4-plus", 0, undefined, false],
    ["temperature 0 becomes do_sample false on the GLM-4 flash model", "glm-4-flash-250414", 0, undefined, false],
    ["temperature 0 is sent as is where the model accepts it", "glm-4.6", 0, 0, undefined],
    ["temperature 1 becomes 0.99 where 1 is excluded", "glm-4-plus", 1, 0.99, undefined],
    ["temperature 1 is sent as is where the model accepts it", "glm-4.5", 1, 1, undefined],
    ["an in-range temperature is untouched", "glm-4-plus", 0.7, 0.7, undefined]
  ] as const)("%s", (_name, model, temperature, expected, doSample) => {
    const body = sent(run(draft({ model, temperature })))
    expect(body.temperature).toBe(expected)
    expect(body.do_sample).toBe(doSample)
  })

  it.each([
    ["a temperature above 1", "glm-4.6", { temperature: 1.5 }],
    ["a negative temperature", "glm-4-plus", { temperature: -0.1 }],
    ["top_p below 0.01", "glm-4.6", { top_p: 0 }],
    ["top_p above 1", "glm-4.5", { top_p: 1.2 }]
  ] as const)("sends %s as is (documented ranges only)", (_name, model, extra) => {
    expect(sent(run(draft({ model, ...extra })))).toMatchObject(extra)
  })

  it("an adapted sampling value comes with a warning", () => {
    const warnings: Array<string> = []
    sent(run(draft({ model: "glm-4-plus", temperature: 0 }), { warn: (warning) => warnings.push(warning) }))
    expect(warnings).toEqual([expect.stringMatching(/sent as do_sample: false/)])
  })

  it("top_p 1 becomes 0.99 where 1 is excluded", () => {
    expect(sent(run(draft({ model: "glm-4-plus", top_p: 1 }))).top_p).toBe(0.99)
  })

  it("an explicit do_sample provider option is passed through", () => {
    expect(sent(run(draft(), { providerOptions: { do_sample: false } })).do_sample).toBe(false)
  })
})

describe("stop, output cap, response_format", () => {
  it.each([
    ["a single stop word as a string is sent as a one-element array", "END", ["END"]],
    ["a single stop word as an array is sent as is", ["END"], ["END"]],
    ["an empty stop list is dropped", [], undefined]
  ] as const)("%s", (_name, stop, expected) => {
    expect(sent(run(draft({ stop: stop as never }))).stop).toEqual(expected)
  })

  it("two stop words are sent (the one-word limit is documented only)", () => {
    expect(sent(run(draft({ stop: ["END", "STOP"] }))).stop).toEqual(["END", "STOP"])
  })

  it("max_completion_tokens becomes max_tokens", () => {
    const body = sent(run(draft({ max_completion_tokens: 1000 })))
    expect(body.max_tokens).toBe(1000)
    expect("max_completion_tokens" in body).toBe(false)
  })

  it("max_tokens above the catalog's (unconfirmed) output cap is sent", () => {
    expect(sent(run(draft({ model: "glm-4.5", max_tokens: 98_305 }))).max_tokens).toBe(98_305)
  })

  it.each([
    ["text", { type: "text" }, { type: "text" }],
    ["json_object", { type: "json_object" }, { type: "json_object" }]
  ] as const)("response_format %s is sent as is", (_name, format, expected) => {
    expect(sent(run(draft({ response_format: format }))).response_format).toEqual(expected)
  })

  it("response_format json_schema becomes json_object plus the schema as a system instruction", () => {
    const schema = { type: "object", properties: { name: { type: "string" } } }
    const body = sent(run(draft({ response_format: { type: "json_schema", json_schema: { name: "Person", schema } } })))
    expect(body.response_format).toEqual({ type: "json_object" })
    expect(body.messages[0]?.role).toBe("system")
    expect(body.messages[0]?.content).toContain('"Person"')
    expect(body.messages[0]?.content).toContain(JSON.stringify(schema))
  })

  it("response_format is sent on a vision model, and unknown types too (documented limits only)", () => {
    expect(sent(run(draft({ model: "glm-4.5v", response_format: { type: "json_object" } }))).response_format).toEqual({
      type: "json_object"
    })
    expect(sent(run(draft({ response_format: { type: "grammar" } }))).response_format).toEqual({ type: "grammar" })
  })
})

describe("tools and tool_choice", () => {
  it("function declarations carry strict: false (the recorded shape Z.ai accepts)", () => {
    const body = sent(run(draft({ tools: [weather], tool_choice: "auto" })))
    expect(body.tools).toEqual([{ ...weather, function: { ...weather.function, strict: false } }])
    expect(body.tool_choice).toBe("auto")
  })

  it.each(["glm-4.6", "glm-4.7", "glm-5", "glm-4.5-air", "glm-4.5"])(
    "a forced tool_choice (named, or required) reaches the upstream on %s",
    (model) => {
      const forced = { type: "function", function: { name: "get_weather" } }
      expect(sent(run(draft({ model, tools: [weather], tool_choice: forced }))).tool_choice).toEqual(forced)
      expect(sent(run(draft({ model, tools: [weather, add], tool_choice: "required" }))).tool_choice).toBe("required")
    }
  )

  it("tool_choice none drops the function tools and the choice", () => {
    const body = sent(run(draft({ tools: [weather], tool_choice: "none" })))
    expect(body.tools).toBeUndefined()
    expect(body.tool_choice).toBeUndefined()
  })

  it("function tools are sent to a model the catalog lists without tools (glm-4.5v)", () => {
    expect(sent(run(draft({ model: "glm-4.5v", tools: [weather], tool_choice: "auto" }))).tools).toHaveLength(1)
  })

  it.each([
    // [name, model, streaming, tools, option, expected]
    ["tool_stream sent when streaming with tools", "glm-4.6", true, [weather], undefined, true],
    ["tool_stream sent when streaming with tools on glm-5.1", "glm-5.1", true, [weather], undefined, true],
    ["tool_stream not sent without streaming", "glm-4.6", false, [weather], undefined, undefined],
    ["tool_stream not sent when streaming without tools", "glm-4.6", true, [], undefined, undefined],
    ["tool_stream not sent to glm-4.5 (not in its docs)", "glm-4.5", true, [weather], undefined, undefined],
    ["tool_stream: true sends it to glm-4.5 when asked", "glm-4.5", true, [weather], true, true],
    ["tool_stream: false keeps it off on glm-4.6", "glm-4.6", true, [weather], false, undefined]
  ] as const)("%s", (_name, model, streaming, tools, option, expected) => {
    const body = sent(
      run(draft({ model, ...(tools.length > 0 ? { tools: [...tools], tool_choice: "auto" } : {}) }), {
        streaming,
        providerOptions: option === undefined ? {} : { tool_stream: option }
      })
    )
    expect(body.tool_stream).toBe(expected)
  })

  it("the web_search provider option adds the built-in tool with Conduit's defaults and every given field", () => {
    const body = sent(
      run(draft(), {
        providerOptions: { web_search: { search_engine: "search_pro", count: 5, search_recency_filter: "oneWeek" } }
      })
    )
    expect(body.tools).toEqual([
      {
        type: "web_search",
        web_search: {
          enable: true,
          search_engine: "search_pro",
          search_result: true,
          count: 5,
          search_recency_filter: "oneWeek"
        }
      }
    ])
    expect(body.tool_choice).toBe("auto")
    expect(body.tool_stream).toBeUndefined()
  })

  it("a web_search declaration sent as is gets the same defaults, in place; only the first is kept", () => {
    const fn = { type: "function", function: { name: "get_weather", parameters: { type: "object" } } }
    const body = sent(
      run(
        draft({
          tools: [
            fn,
            { type: "web_search", web_search: { search_engine: "search-prime", count: 3 } },
            { type: "web_search", web_search: { count: 9 } }
          ]
        })
      )
    )
    expect(body.tools).toEqual([
      { ...fn, function: { ...fn.function, strict: false } },
      { type: "web_search", web_search: { enable: true, search_engine: "search-prime", search_result: true, count: 3 } }
    ])
    const bare = sent(run(draft({ tools: [{ type: "web_search" }] })))
    expect(bare.tools).toEqual([
      { type: "web_search", web_search: { enable: true, search_engine: "search-prime", search_result: true } }
    ])
  })

  it("a web_search declaration with invalid fields is refused; the provider option wins over one", () => {
    expect(refusal(run(draft({ tools: [{ type: "web_search", web_search: { count: 51 } }] }))).parameter).toBe("tools")
    const body = sent(
      run(draft({ tools: [{ type: "web_search", web_search: { count: 51 } }] }), {
        providerOptions: { web_search: { count: 2 } }
      })
    )
    expect(body.tools).toEqual([
      { type: "web_search", web_search: { enable: true, search_engine: "search-prime", search_result: true, count: 2 } }
    ])
  })
})

describe("thinking and reasoning replay", () => {
  const history = (): Array<ChatCompletions.RequestMessage> => [
    { role: "user", content: "first" },
    { role: "assistant", content: "answer one", reasoning_content: "thought one" },
    { role: "user", content: "weather?" },
    {
      role: "assistant",
      reasoning_content: "thought two",
      tool_calls: [{ id: "call_-1", type: "function", function: { name: "get_weather", arguments: "{}" } }]
    },
    { role: "tool", tool_call_id: "call_-1", name: "get_weather", content: "40 C" }
  ]

  it("thinking is sent as given", () => {
    const thinking = { type: "enabled", clear_thinking: false } as const
    expect(sent(run(draft(), { providerOptions: { thinking } })).thinking).toEqual(thinking)
  })

  it("reasoning replayed when clear_thinking is false (Preserved Thinking: every assistant turn)", () => {
    const body = sent(
      run(draft({ messages: history() }), { providerOptions: { thinking: { type: "enabled", clear_thinking: false } } })
    )
    expect(body.messages.map((message) => message.reasoning_content)).toEqual([
      undefined,
      "thought one",
      undefined,
      "thought two",
      undefined
    ])
  })

  it("reasoning replayed on tool-call turns only when thinking is cleared (interleaved thinking)", () => {
    const body = sent(run(draft({ messages: history() }), { providerOptions: { thinking: { type: "enabled" } } }))
    expect(body.messages.map((message) => message.reasoning_content)).toEqual([
      undefined,
      undefined,
      undefined,
      "thought two",
      undefined
    ])
  })

  it("the coding plan preserves thinking by default, unless clear_thinking is true", () => {
    const preserved = sent(run(draft({ messages: history() }), { preservedThinkingByDefault: true }))
    expect(preserved.messages[1]?.reasoning_content).toBe("thought one")
    const cleared = sent(
      run(draft({ messages: history() }), {
        preservedThinkingByDefault: true,
        providerOptions: { thinking: { type: "enabled", clear_thinking: true } }
      })
    )
    expect(cleared.messages[1]?.reasoning_content).toBeUndefined()
  })

  it("tool messages lose name (not in the GLM schema)", () => {
    const body = sent(run(draft({ messages: history() })))
    expect(body.messages[4]).toEqual({ role: "tool", tool_call_id: "call_-1", content: "40 C" })
  })

  it.each([
    ["disabling thinking is refused on an always-thinking model", "glm-5.3", "disabled"],
    ["disabling thinking is refused on glm-4.5v", "glm-4.5v", "disabled"]
  ] as const)("%s", (_name, model, type) => {
    const reason = refusal(run(draft({ model }), { providerOptions: { thinking: { type } } }))
    expect(reason.parameter).toBe("thinking")
    expect(reason.description).toContain('omit thinking or set thinking.type to "enabled"')
  })

  it("enabling thinking on a model the catalog lists without it is sent (documented only)", () => {
    const body = sent(run(draft({ model: "glm-4-plus" }), { providerOptions: { thinking: { type: "enabled" } } }))
    expect(body.thinking).toEqual({ type: "enabled" })
  })
})

describe("pass-through and validation", () => {
  it("request_id, user_id and reasoning_effort are passed through", () => {
    const body = sent(
      run(draft(), { providerOptions: { request_id: "req-123456", user_id: "user-123456", reasoning_effort: "high" } })
    )
    expect(body).toMatchObject({ request_id: "req-123456", user_id: "user-123456", reasoning_effort: "high" })
  })

  it.each([
    ["a request_id shorter than 6 characters", { request_id: "abc" }],
    ["a thinking type that does not exist", { thinking: { type: "auto" } }],
    ["a web_search count above 50", { web_search: { count: 51 } }]
  ])("refuses %s", (_name, providerOptions) => {
    expect(refusal(run(draft(), { providerOptions })).parameter).toBe("providerOptions")
  })

  it("unknown models are passed through without catalog checks", () => {
    const unknown: ModelCatalog.ModelInfo = {
      id: "glm-9",
      provider: "glm",
      contextWindow: 32_768,
      maxOutputTokens: 4_096,
      capabilities: {
        vision: false,
        tools: true,
        toolChoiceRequired: false,
        jsonMode: true,
        jsonSchema: false,
        thinking: "none",
        partialMode: false,
        webSearch: false
      },
      lifecycle: { status: "active" },
      unknown: true
    }
    const result = shape(draft({ model: "glm-9", max_tokens: 200_000, temperature: 0 }), {
      model: unknown,
      features: GlmModels.features(unknown),
      providerOptions: { thinking: { type: "disabled" } },
      streaming: true,
      preservedThinkingByDefault: false
    })
    expect(sent(result)).toMatchObject({ max_tokens: 200_000, temperature: 0, thinking: { type: "disabled" } })
  })
})
