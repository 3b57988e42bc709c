import { Effect, Exit, Result, Schema } from "effect"
import { Prompt, Tool } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as PromptConversion from "../src/PromptConversion.js"

const assistantWithTool = (reasoning: string | undefined) =>
  Prompt.assistantMessage({
    content: [
      ...(reasoning !== undefined ? [Prompt.reasoningPart({ text: reasoning })] : []),
      Prompt.toolCallPart({ id: "call_1", name: "f", params: { a: 1 }, providerExecuted: false })
    ]
  })
const assistantText = (reasoning: string, text: string) =>
  Prompt.assistantMessage({ content: [Prompt.reasoningPart({ text: reasoning }), Prompt.textPart({ text })] })

const convert = (messages: ReadonlyArray<Prompt.Message>, reasoning: PromptConversion.ReasoningReplay) =>
  Result.getOrThrow(PromptConversion.toMessages(Prompt.fromMessages(messages), { reasoning, providerName: "p" }))

describe("PromptConversion.toMessages: reasoning replay", () => {
  const cases: ReadonlyArray<[string, PromptConversion.ReasoningReplay, Prompt.Message, Record<string, unknown>]> = [
    ["never: reasoning dropped", { mode: "never" }, assistantWithTool("r"), { reasoning_content: undefined }],
    [
      "tool-calls: kept on a tool-call turn",
      { mode: "tool-calls" },
      assistantWithTool("r"),
      { reasoning_content: "r" }
    ],
    [
      "tool-calls: not sent on a text turn",
      { mode: "tool-calls" },
      assistantText("r", "t"),
      { reasoning_content: undefined }
    ],
    [
      "tool-calls: placeholder when lost",
      { mode: "tool-calls", placeholder: " " },
      assistantWithTool(undefined),
      { reasoning_content: " " }
    ],
    [
      "tool-calls: an empty string counts as missing",
      { mode: "tool-calls", placeholder: " " },
      assistantWithTool(""),
      { reasoning_content: " " }
    ],
    [
      "tool-calls: no placeholder configured, nothing sent",
      { mode: "tool-calls" },
      assistantWithTool(undefined),
      { reasoning_content: undefined }
    ],
    ["always: kept on a text turn", { mode: "always" }, assistantText("r", "t"), { reasoning_content: "r" }]
  ]
  for (const [name, policy, message, expected] of cases) {
    it(name, () => {
      const [wire] = convert([message], policy)
      expect(wire?.reasoning_content).toBe(expected.reasoning_content)
    })
  }

  it("a tool-call turn without text omits content; arguments are JSON", () => {
    const [wire] = convert([assistantWithTool("r")], { mode: "tool-calls" })
    expect(wire).toEqual({
      role: "assistant",
      reasoning_content: "r",
      tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }]
    })
  })

  it("drops an empty assistant message (Moonshot answers 400 'must not be empty')", () => {
    expect(convert([Prompt.assistantMessage({ content: [Prompt.textPart({ text: "" })] })], { mode: "never" })).toEqual(
      []
    )
  })

  it("merges options.conduit.wire into the wire message (e.g. partial: true)", () => {
    const [wire] = convert(
      [
        Prompt.assistantMessage({
          content: [Prompt.textPart({ text: "Once" })],
          options: { conduit: { wire: { partial: true } } }
        })
      ],
      { mode: "never" }
    )
    expect(wire).toEqual({ role: "assistant", content: "Once", partial: true })
  })
})

describe("PromptConversion.toMessages: user content", () => {
  it("all-text content becomes a string; images become data URLs; URLs (ms://) pass as is", () => {
    const wire = convert(
      [
        Prompt.userMessage({ content: [Prompt.textPart({ text: "a" }), Prompt.textPart({ text: "b" })] }),
        Prompt.userMessage({
          content: [
            Prompt.filePart({ mediaType: "image/png", data: new Uint8Array([1, 2, 3]) }),
            Prompt.filePart({ mediaType: "image/*", data: new URL("ms://cnhgqnucp7f5h7jfb3s0") })
          ]
        })
      ],
      { mode: "never" }
    )
    expect(wire[0]).toEqual({ role: "user", content: "a\nb" })
    expect(wire[1]?.content).toEqual([
      { type: "image_url", image_url: { url: "data:image/png;base64,AQID" } },
      { type: "image_url", image_url: { url: "ms://cnhgqnucp7f5h7jfb3s0" } }
    ])
  })

  it("refuses a PDF part with a message pointing at the files API", () => {
    const exit = Effect.runSyncExit(
      Effect.fromResult(
        PromptConversion.toMessages(
          Prompt.fromMessages([
            Prompt.userMessage({ content: [Prompt.filePart({ mediaType: "application/pdf", data: "AAAA" })] })
          ]),
          { reasoning: { mode: "never" }, providerName: "kimi" }
        )
      )
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/files API/)
  })
})

describe("PromptConversion.toTools", () => {
  const F = Tool.make("get_weather", { description: "weather", parameters: Schema.Struct({ location: Schema.String }) })
  const G = Tool.make("get_time", { parameters: Schema.Struct({ zone: Schema.String }) })
  const tools = (choice: Parameters<typeof PromptConversion.toTools>[1]) =>
    Result.getOrThrow(PromptConversion.toTools([F, G], choice, { providerName: "p" }))

  it("declares function tools with their JSON Schema", () => {
    const out = tools("auto")
    expect(out.tool_choice).toBe("auto")
    expect(out.tools?.[0]).toMatchObject({
      type: "function",
      function: { name: "get_weather", description: "weather", parameters: { type: "object", required: ["location"] } }
    })
  })

  it("maps a named choice and a oneOf restriction", () => {
    expect(tools({ tool: "get_time" }).tool_choice).toEqual({ type: "function", function: { name: "get_time" } })
    const restricted = tools({ oneOf: ["get_time"], mode: "required" })
    expect([restricted.tool_choice, restricted.tools?.map((t) => (t.function as { name: string }).name)]).toEqual([
      "required",
      ["get_time"]
    ])
  })

  it("omits tools and tool_choice when there are no tools", () => {
    expect(Result.getOrThrow(PromptConversion.toTools([], "auto", { providerName: "p" }))).toEqual({})
  })
})

describe("PromptConversion.wireToolDeclarations", () => {
  const upper = (schema: Record<string, unknown>) => ({ ...schema, normalized: true })
  const fn = { type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }
  const builtin = { type: "builtin_function", function: { name: "$web_search" } }

  it("gives function declarations the provider's schema rules and keeps other tools as sent", () => {
    expect(
      PromptConversion.wireToolDeclarations([fn, builtin], { providerName: "p", transformSchema: upper, strict: false })
    ).toEqual([
      {
        type: "function",
        function: { name: "f", description: "d", parameters: { type: "object", normalized: true }, strict: false }
      },
      builtin
    ])
  })

  it("declares a function tool in wire form as the toolkit path declares the same tool", () => {
    const F = Tool.dynamic("f", { description: "d", parameters: { type: "object" } as never }) as unknown as Tool.Any
    const options = { providerName: "p", transformSchema: upper }
    expect(PromptConversion.wireToolDeclarations([fn], options)).toEqual(
      Result.getOrThrow(PromptConversion.toTools([F], "auto", options)).tools
    )
  })

  it("a declaration's own strict flag wins over the provider's", () => {
    const strictFn = { type: "function", function: { ...fn.function, strict: true } }
    expect(PromptConversion.wireToolDeclarations([strictFn], { providerName: "p", strict: false })).toEqual([strictFn])
  })
})
