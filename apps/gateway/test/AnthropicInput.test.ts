/**
 * The Anthropic request converter, table by table: body checks, messages to the prompt (system, text, images,
 * tool_use / tool_result with is_error, thinking blocks as replayed reasoning), tools, tool choice, and the
 * per-provider parameter rules (top_k, metadata.user_id, thinking).
 */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as AnthropicInput from "../src/AnthropicInput.js"
import type { Json } from "./support.js"

const base = { model: "kimi/kimi-k3", max_tokens: 64 }

/** The prompt as plain JSON (role and parts), for comparisons. */
const promptOf = (body: Json): Json => {
  const result = AnthropicInput.toPrompt(body)
  if (Result.isFailure(result)) throw new Error(`conversion failed: ${result.failure.message}`)
  return JSON.parse(JSON.stringify(result.success.content)).map((message: Json) => ({
    role: message.role,
    content:
      typeof message.content === "string"
        ? message.content
        : message.content.map((part: Json) => {
            const { options: _options, "~effect/ai/Prompt/Part": _brand, ...rest } = part
            return rest
          })
  }))
}

const failureOf = <A>(result: Result.Result<A, AnthropicInput.InputError>) => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("checkRequest", () => {
  const rows: ReadonlyArray<{ readonly name: string; readonly body: unknown; readonly param: string }> = [
    { name: "not an object", body: [1], param: "body" },
    { name: "no model", body: { max_tokens: 1, messages: [] }, param: "model" },
    { name: "no max_tokens", body: { model: "m", messages: [] }, param: "max_tokens" },
    { name: "max_tokens 0", body: { model: "m", max_tokens: 0, messages: [] }, param: "max_tokens" },
    { name: "fractional max_tokens", body: { model: "m", max_tokens: 1.5, messages: [] }, param: "max_tokens" },
    { name: "messages not an array", body: { ...base, messages: "hi" }, param: "messages" },
    { name: "bad role", body: { ...base, messages: [{ role: "tool", content: "x" }] }, param: "messages.0.role" },
    {
      name: "content a number",
      body: { ...base, messages: [{ role: "user", content: 1 }] },
      param: "messages.0.content"
    },
    { name: "stream a string", body: { ...base, messages: [], stream: "yes" }, param: "stream" },
    { name: "system a number", body: { ...base, messages: [], system: 3 }, param: "system" },
    { name: "tools an object", body: { ...base, messages: [], tools: {} }, param: "tools" }
  ]
  for (const row of rows) {
    it(`refuses ${row.name}`, () => {
      expect(failureOf(AnthropicInput.checkRequest(row.body, { requireMaxTokens: true })).param).toBe(row.param)
    })
  }
  it("accepts a minimal request, and count_tokens bodies without max_tokens", () => {
    expect(Result.isSuccess(AnthropicInput.checkRequest({ ...base, messages: [] }, { requireMaxTokens: true }))).toBe(
      true
    )
    expect(
      Result.isSuccess(AnthropicInput.checkRequest({ model: "m", messages: [] }, { requireMaxTokens: false }))
    ).toBe(true)
  })
})

describe("toPrompt", () => {
  const rows: ReadonlyArray<{ readonly name: string; readonly body: Json; readonly prompt: Json }> = [
    {
      name: "a system string and a user string",
      body: { system: "Be brief.", messages: [{ role: "user", content: "Hi" }] },
      prompt: [
        { role: "system", content: "Be brief." },
        { role: "user", content: [{ type: "text", text: "Hi" }] }
      ]
    },
    {
      name: "system text blocks (joined) and a system message",
      body: {
        system: [
          { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Be careful." }
        ],
        messages: [
          { role: "system", content: "Extra rule." },
          { role: "user", content: [{ type: "text", text: "Go" }] }
        ]
      },
      prompt: [
        { role: "system", content: "You are Claude Code.\nBe careful." },
        { role: "system", content: "Extra rule." },
        { role: "user", content: [{ type: "text", text: "Go" }] }
      ]
    },
    {
      name: "a base64 image and a url image",
      body: {
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
              { type: "image", source: { type: "url", url: "https://example.com/a.jpg" } },
              { type: "text", text: "What is this?" }
            ]
          }
        ]
      },
      prompt: [
        {
          role: "user",
          content: [
            { type: "file", mediaType: "image/png", data: "iVBORw0KGgo=" },
            { type: "file", mediaType: "image/*", data: "https://example.com/a.jpg" },
            { type: "text", text: "What is this?" }
          ]
        }
      ]
    },
    {
      name: "a tool loop with thinking replayed and an error result",
      body: {
        messages: [
          { role: "user", content: "Weather in Oslo and Rome?" },
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "I need the weather tool.", signature: "conduit" },
              { type: "redacted_thinking", data: "opaque" },
              { type: "text", text: "Checking." },
              { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Oslo" } },
              { type: "tool_use", id: "call_2", name: "get_weather", input: { city: "Rome" } }
            ]
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "call_1", content: "12°C" },
              {
                type: "tool_result",
                tool_use_id: "call_2",
                content: [{ type: "text", text: "service down" }],
                is_error: true
              },
              { type: "text", text: "Summarize." }
            ]
          }
        ]
      },
      prompt: [
        { role: "user", content: [{ type: "text", text: "Weather in Oslo and Rome?" }] },
        {
          role: "assistant",
          content: [
            { type: "reasoning", text: "I need the weather tool." },
            { type: "text", text: "Checking." },
            { type: "tool-call", id: "call_1", name: "get_weather", params: { city: "Oslo" }, providerExecuted: false },
            { type: "tool-call", id: "call_2", name: "get_weather", params: { city: "Rome" }, providerExecuted: false }
          ]
        },
        {
          role: "tool",
          content: [
            {
              type: "tool-result",
              id: "call_1",
              name: "get_weather",
              isFailure: false,
              result: "12°C",
              providerExecuted: false
            },
            {
              type: "tool-result",
              id: "call_2",
              name: "get_weather",
              isFailure: true,
              result: "service down",
              providerExecuted: false
            }
          ]
        },
        { role: "user", content: [{ type: "text", text: "Summarize." }] }
      ]
    },
    {
      name: "a tool result alone (no user text after it) and a plain-text document",
      body: {
        messages: [
          { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "read", input: {} }] },
          { role: "user", content: [{ type: "tool_result", tool_use_id: "t1" }] },
          {
            role: "user",
            content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "notes" } }]
          }
        ]
      },
      prompt: [
        {
          role: "assistant",
          content: [{ type: "tool-call", id: "t1", name: "read", params: {}, providerExecuted: false }]
        },
        {
          role: "tool",
          content: [
            { type: "tool-result", id: "t1", name: "read", isFailure: false, result: "", providerExecuted: false }
          ]
        },
        { role: "user", content: [{ type: "text", text: "notes" }] }
      ]
    },
    {
      name: "an assistant prefill string",
      body: {
        messages: [
          { role: "user", content: "Count" },
          { role: "assistant", content: "1, 2," }
        ]
      },
      prompt: [
        { role: "user", content: [{ type: "text", text: "Count" }] },
        { role: "assistant", content: [{ type: "text", text: "1, 2," }] }
      ]
    }
  ]
  for (const row of rows) {
    it(`converts ${row.name}`, () => {
      expect(promptOf(row.body)).toEqual(row.prompt)
    })
  }

  const refusals: ReadonlyArray<{ readonly name: string; readonly body: Json; readonly param: string }> = [
    {
      name: "a file image source",
      body: { messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }] },
      param: "messages.0.content.0.source.type"
    },
    {
      name: "a PDF document",
      body: {
        messages: [
          {
            role: "user",
            content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "x" } }]
          }
        ]
      },
      param: "messages.0.content.0.source"
    },
    {
      name: "a server tool block in an assistant turn",
      body: {
        messages: [
          { role: "assistant", content: [{ type: "server_tool_use", id: "s", name: "web_search", input: {} }] }
        ]
      },
      param: "messages.0.content.0.type"
    },
    {
      name: "a thinking block in a user turn",
      body: { messages: [{ role: "user", content: [{ type: "thinking", thinking: "x", signature: "" }] }] },
      param: "messages.0.content.0.type"
    },
    {
      name: "a tool_result without tool_use_id",
      body: { messages: [{ role: "user", content: [{ type: "tool_result", content: "x" }] }] },
      param: "messages.0.content.0.tool_use_id"
    },
    {
      name: "a system block that is not text",
      body: { system: [{ type: "image" }], messages: [] },
      param: "system.0"
    }
  ]
  for (const row of refusals) {
    it(`refuses ${row.name}`, () => {
      expect(failureOf(AnthropicInput.toPrompt(row.body as never)).param).toBe(row.param)
    })
  }
})

describe("tools and tool_choice", () => {
  const weather = {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather",
      parameters: { type: "object", properties: { city: { type: "string" } } }
    }
  }
  it("turns custom tools into function declarations and leaves Anthropic-defined tools out", () => {
    const result = AnthropicInput.toTools([
      {
        name: "get_weather",
        description: "Weather",
        input_schema: { type: "object", properties: { city: { type: "string" } } },
        cache_control: { type: "ephemeral" }
      },
      { type: "custom", name: "noop", input_schema: { type: "object" } },
      { type: "web_search_20250305", name: "web_search" },
      { type: "bash_20250124", name: "bash" }
    ])
    if (Result.isFailure(result)) throw new Error(result.failure.message)
    expect(result.success.functions).toEqual([
      weather,
      { type: "function", function: { name: "noop", parameters: { type: "object" } } }
    ])
    expect(result.success.dropped).toEqual(["web_search", "bash"])
  })
  it("refuses a custom tool without input_schema", () => {
    expect(failureOf(AnthropicInput.toTools([{ name: "x" }])).param).toBe("tools.0.input_schema")
  })
  const choices: ReadonlyArray<readonly [unknown, unknown]> = [
    [undefined, undefined],
    [{ type: "auto" }, "auto"],
    [{ type: "any", disable_parallel_tool_use: true }, "required"],
    [{ type: "none" }, "none"],
    [
      { type: "tool", name: "get_weather" },
      { type: "function", function: { name: "get_weather" } }
    ]
  ]
  for (const [input, output] of choices) {
    it(`maps tool_choice ${JSON.stringify(input)}`, () => {
      const result = AnthropicInput.toToolChoice(input, [weather])
      expect(Result.isSuccess(result) && result.success).toEqual(output)
    })
  }
  it("sends no tool_choice without tools", () => {
    const result = AnthropicInput.toToolChoice({ type: "any" }, [])
    expect(Result.isSuccess(result) && result.success).toBeUndefined()
  })
  it("refuses an unknown tool_choice type, a tool choice without a name, and one naming no declared tool", () => {
    expect(failureOf(AnthropicInput.toToolChoice({ type: "some" }, [weather])).param).toBe("tool_choice.type")
    expect(failureOf(AnthropicInput.toToolChoice({ type: "tool" }, [weather])).param).toBe("tool_choice.name")
    expect(failureOf(AnthropicInput.toToolChoice({ type: "tool", name: "web_search" }, [weather])).param).toBe(
      "tool_choice.name"
    )
  })
})

describe("parameters", () => {
  const kimi = (thinking: "none" | "optional" | "always") =>
    ({ provider: "kimi", info: { capabilities: { thinking } } }) as never
  const glm = (thinking: "none" | "optional" | "always") =>
    ({ provider: "glm", info: { capabilities: { thinking } } }) as never
  const vllm = { provider: "vllm", info: { capabilities: { thinking: "none" }, unknown: true } } as never
  const request = (extra: Json) => ({ ...base, messages: [], ...extra }) as AnthropicInput.MessagesRequest

  const rows: ReadonlyArray<{
    readonly name: string
    readonly extra: Json
    readonly steps: ReadonlyArray<AnthropicInput.Step>
    readonly wire: Json
    readonly warnings: number
  }> = [
    {
      name: "sampling and stop sequences",
      extra: { temperature: 0.2, top_p: 0.9, stop_sequences: ["END"] },
      steps: [kimi("optional")],
      wire: { max_tokens: 64, temperature: 0.2, top_p: 0.9, stop: ["END"] },
      warnings: 0
    },
    {
      name: "top_k on Kimi (dropped) and on a backend (sent)",
      extra: { top_k: 40 },
      steps: [kimi("optional")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "top_k on a vLLM backend",
      extra: { top_k: 40 },
      steps: [vllm],
      wire: { max_tokens: 64, top_k: 40 },
      warnings: 0
    },
    {
      name: "user_id on Kimi",
      extra: { metadata: { user_id: "user-1234" } },
      steps: [kimi("optional")],
      wire: { max_tokens: 64, safety_identifier: "user-1234" },
      warnings: 0
    },
    {
      name: "user_id on GLM",
      extra: { metadata: { user_id: "user-1234" } },
      steps: [glm("optional")],
      wire: { max_tokens: 64, user_id: "user-1234" },
      warnings: 0
    },
    {
      name: "user_id too short for GLM",
      extra: { metadata: { user_id: "u1" } },
      steps: [glm("optional")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "user_id on a Kimi route with a GLM fallback (no common field)",
      extra: { metadata: { user_id: "user-1234" } },
      steps: [kimi("optional"), glm("optional")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "thinking enabled on models that can think",
      extra: { thinking: { type: "enabled", budget_tokens: 2048 } },
      steps: [kimi("optional"), glm("always")],
      wire: { max_tokens: 64, thinking: { type: "enabled" } },
      warnings: 0
    },
    {
      name: "thinking disabled where a fallback always thinks",
      extra: { thinking: { type: "disabled" } },
      steps: [kimi("optional"), glm("always")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "thinking enabled on a model without thinking",
      extra: { thinking: { type: "enabled", budget_tokens: 1024 } },
      steps: [glm("none")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "thinking adaptive (the model's default, as Claude Code sends it)",
      extra: { thinking: { type: "adaptive" } },
      steps: [kimi("optional")],
      wire: { max_tokens: 64 },
      warnings: 0
    },
    {
      name: "thinking between_tools (no equivalent)",
      extra: { thinking: { type: "between_tools" } },
      steps: [kimi("optional")],
      wire: { max_tokens: 64 },
      warnings: 1
    },
    {
      name: "thinking disabled on an unknown model",
      extra: { thinking: { type: "disabled" } },
      steps: [vllm],
      wire: { max_tokens: 64, thinking: { type: "disabled" } },
      warnings: 0
    }
  ]
  for (const row of rows) {
    it(row.name, () => {
      const { wire, warnings } = AnthropicInput.parameters(request(row.extra), row.steps)
      expect(wire).toEqual(row.wire)
      expect(warnings).toHaveLength(row.warnings)
    })
  }
})
