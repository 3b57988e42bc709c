/**
 * The pure parse step of the chat route: headers and a parsed JSON body into the engine's call, or a typed error.
 */
import { Result } from "effect"
import { AiError, Prompt } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as ChatRequest from "../src/ChatRequest.js"
import * as Errors from "../src/Errors.js"

const noHeaders: ChatRequest.CallHeaders = { sessionId: undefined, idempotencyKey: undefined, cacheMode: undefined }
const user = (content: unknown) => ({ role: "user", content })

/** The HTTP answer of a failed parse (a gateway error, or core's error through the error table). */
const failure = (result: Result.Result<unknown, unknown>) => {
  if (Result.isSuccess(result)) throw new Error("expected the parse to fail")
  const http = Errors.toHttp(result.failure)
  if (http === undefined) throw new Error(`not an HTTP failure: ${String(result.failure)}`)
  return { status: http.status, code: http.body.error.code, param: http.body.error.param }
}

const parsed = (body: unknown, headers: ChatRequest.CallHeaders = noHeaders) => {
  const result = ChatRequest.parse(headers, body)
  if (Result.isFailure(result)) throw new Error(`expected the parse to succeed: ${String(result.failure)}`)
  return result.success
}

describe("readHeaders", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly headers: Record<string, string>
    readonly expected: ChatRequest.CallHeaders | { readonly param: string }
  }> = [
    { name: "no headers", headers: {}, expected: noHeaders },
    {
      name: "all three",
      headers: { "x-session-id": "user-1:chat@a/b+c=d", "idempotency-key": "k.1", "x-conduit-cache": "never" },
      expected: { sessionId: "user-1:chat@a/b+c=d", idempotencyKey: "k.1", cacheMode: "never" }
    },
    { name: "an empty session id is none", headers: { "x-session-id": "" }, expected: noHeaders },
    { name: "a session id with a space", headers: { "x-session-id": "a b" }, expected: { param: "x-session-id" } },
    {
      name: "an idempotency key of 129 characters",
      headers: { "idempotency-key": "k".repeat(129) },
      expected: { param: "idempotency-key" }
    },
    {
      name: "an unknown cache mode",
      headers: { "x-conduit-cache": "sometimes" },
      expected: { param: "x-conduit-cache" }
    }
  ]
  for (const row of rows) {
    it(row.name, () => {
      const result = ChatRequest.readHeaders(row.headers)
      if ("param" in row.expected) {
        expect(failure(result)).toEqual({ status: 400, code: "invalid_header", param: row.expected.param })
      } else {
        expect(result).toEqual(Result.succeed(row.expected))
      }
    })
  }
})

describe("parse: refusals", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly body: unknown
    readonly code: string | null
    readonly param: string | null
  }> = [
    { name: "an array body", body: [], code: "invalid_type", param: null },
    { name: "a string body", body: "hi", code: "invalid_type", param: null },
    { name: "no messages", body: { model: "m" }, code: "invalid_type", param: "messages" },
    {
      name: "a role that is not a string",
      body: { model: "m", messages: [{ role: 1 }] },
      code: "invalid_type",
      param: "messages.0.role"
    },
    { name: "no message at all", body: { model: "m", messages: [] }, code: "invalid_value", param: "messages" },
    { name: "n above 1", body: { model: "m", messages: [user("hi")], n: 2 }, code: "invalid_value", param: "n" },
    {
      name: "a user message without content (core's conversion)",
      body: { model: "m", messages: [{ role: "user" }] },
      code: null,
      param: "messages[0].content"
    },
    {
      name: "a function tool without a name (core's conversion)",
      body: { model: "m", messages: [user("hi")], tools: [{ type: "function", function: { name: "" } }] },
      code: null,
      param: "tools[0]"
    }
  ]
  for (const row of rows) {
    it(row.name, () => {
      expect(failure(ChatRequest.parse(noHeaders, row.body))).toEqual({ status: 400, code: row.code, param: row.param })
    })
  }

  it("a conversion failure is core's InvalidRequestError", () => {
    const result = ChatRequest.parse(noHeaders, { model: "m", messages: [{ role: "robot", content: "x" }] })
    expect(Result.isFailure(result) && AiError.isAiError(result.failure)).toBe(true)
  })
})

describe("parse: the call", () => {
  it("a plain request: the new turn, wire parameters, no tools, not streamed", () => {
    const chat = parsed({ model: "fast", messages: [user("hi")], temperature: 0.2, max_tokens: 50, user: "u" })
    expect(chat.stream).toBe(false)
    expect(chat.includeUsage).toBe(false)
    expect(chat.providerExecutedTools).toEqual([])
    expect(chat.call.model).toBe("fast")
    expect(chat.call.prompt).toEqual(
      Prompt.fromMessages([Prompt.userMessage({ content: [Prompt.textPart({ text: "hi" })] })])
    )
    expect(chat.call.config).toEqual({ request: { temperature: 0.2, max_tokens: 50, user: "u" } })
    expect(chat.call.tokenEstimate()).toBeGreaterThan(50)
  })

  it("the headers' values go to the call as the client sent them", () => {
    const headers = { sessionId: "s", idempotencyKey: "k", cacheMode: "always" } as const
    const chat = parsed({ model: "fast", messages: [user("hi")] }, headers)
    expect([chat.call.sessionId, chat.call.idempotencyKey, chat.call.cacheMode]).toEqual(["s", "k", "always"])
  })

  it("a stream with a usage chunk", () => {
    const chat = parsed({
      model: "fast",
      messages: [user("hi")],
      stream: true,
      stream_options: { include_usage: true }
    })
    expect([chat.stream, chat.includeUsage]).toEqual([true, true])
    expect(chat.call.config.request).toEqual({})
  })

  it("tools as wire declarations (functions first, built-ins as sent), tool_choice as a wire parameter", () => {
    const webSearch = { type: "builtin_function", function: { name: "$web_search" } }
    const chat = parsed({
      model: "kimi/kimi-k2.6",
      messages: [user("weather?")],
      tools: [webSearch, { type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "get_weather" } }
    })
    expect(chat.call.config).toEqual({
      request: { tool_choice: { type: "function", function: { name: "get_weather" } } },
      wireTools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }, webSearch]
    })
    expect(chat.providerExecutedTools).toEqual([webSearch])
  })
})

describe("parse: tool_choice goes with function tools only", () => {
  const fn = { type: "function", function: { name: "f", description: "does f", strict: true, extra: 1 } }
  const rows: ReadonlyArray<readonly [string, ReadonlyArray<unknown>, unknown, unknown]> = [
    ["no choice: auto", [fn], undefined, "auto"],
    ["none", [fn], "none", "none"],
    ["required", [fn], "required", "required"],
    [
      "a named function",
      [fn],
      { type: "function", function: { name: "f" } },
      { type: "function", function: { name: "f" } }
    ],
    ["an unknown form: auto", [fn], { type: "allowed_tools" }, "auto"],
    ["no function tool: omitted", [{ type: "web_search" }], "required", undefined]
  ]
  for (const [name, tools, choice, expected] of rows) {
    it(name, () => {
      const chat = parsed({
        model: "m",
        messages: [user("hi")],
        tools,
        ...(choice !== undefined ? { tool_choice: choice } : {})
      })
      expect(chat.call.config.request?.tool_choice).toEqual(expected)
    })
  }

  it("a function declaration keeps its name and description, and gets an empty object schema when it has none", () => {
    expect(parsed({ model: "m", messages: [user("hi")], tools: [fn] }).call.config.wireTools).toEqual([
      {
        type: "function",
        function: { name: "f", description: "does f", parameters: { type: "object", properties: {} } }
      }
    ])
  })
})
