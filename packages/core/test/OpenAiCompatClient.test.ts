/**
 * The transport on its own: the generic `request` path (JSON with a schema, text, bytes, a body that does not decode,
 * an error status) and `use`, and the stream reader over bodies written in pieces of any size.
 */
import { Effect, Redacted, Schema, Stream } from "effect"
import fc from "fast-check"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as CompletionAssembly from "../src/CompletionAssembly.js"
import * as OpenAiCompatClient from "../src/OpenAiCompatClient.js"
import * as ProviderError from "../src/ProviderError.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"

const baseURL = "https://transport.test/v1"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const client = OpenAiCompatClient.make({
  provider: "sample",
  apiKey: Redacted.make("sk-transport"),
  baseURL,
  errorTable: ProviderError.openAiTable
})
const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.result(effect))

describe("OpenAiCompatClient.request", () => {
  it("decodes a JSON body with the given schema and returns the headers", async () => {
    server.use(
      http.get(`${baseURL}/balance`, ({ request }) =>
        request.headers.get("authorization") === "Bearer sk-transport"
          ? HttpResponse.json({ available: 12.5 }, { headers: { "x-request-id": "req-1" } })
          : HttpResponse.json({ error: { message: "no key" } }, { status: 401 })
      )
    )
    const result = await run(
      client.request({ method: "get", path: "/balance", schema: Schema.Struct({ available: Schema.Number }) })
    )
    if (result._tag === "Failure") throw result.failure
    expect(result.success.body).toEqual({ available: 12.5 })
    expect(result.success.requestId).toBe("req-1")
  })

  it("a body that does not match the schema is an InvalidResponseError naming the endpoint", async () => {
    server.use(http.get(`${baseURL}/balance`, () => HttpResponse.json({ available: "lots" })))
    const result = await run(
      client.request({ method: "get", path: "/balance", schema: Schema.Struct({ available: Schema.Number }) })
    )
    if (result._tag === "Success") throw new Error("expected a failure")
    expect(result.failure.reason._tag).toBe("InvalidResponseError")
    expect(result.failure.message).toContain("/balance")
  })

  it("reads text and bytes bodies as such", async () => {
    server.use(
      http.get(`${baseURL}/files/f1/content`, () => HttpResponse.text("plain text, not JSON")),
      http.get(`${baseURL}/files/f2/content`, () => HttpResponse.arrayBuffer(new Uint8Array([0, 1, 254, 255]).buffer))
    )
    const text = await run(client.request<string>({ method: "get", path: "/files/f1/content", responseType: "text" }))
    const bytes = await run(
      client.request<Uint8Array>({ method: "get", path: "/files/f2/content", responseType: "bytes" })
    )
    if (text._tag === "Failure" || bytes._tag === "Failure") throw new Error("expected success")
    expect(text.success.body).toBe("plain text, not JSON")
    expect([...bytes.success.body]).toEqual([0, 1, 254, 255])
  })

  it("an error status goes through the provider's error table", async () => {
    server.use(
      http.post(`${baseURL}/files`, () =>
        HttpResponse.json({ error: { message: "too big", type: "invalid_request_error" } }, { status: 400 })
      )
    )
    const result = await run(client.request({ method: "post", path: "/files", body: { x: 1 } }))
    if (result._tag === "Success") throw new Error("expected a failure")
    expect(result.failure.reason._tag).toBe("InvalidRequestError")
    expect(ProviderError.describe(result.failure).status).toBe(400)
  })

  it("a failed connection names the HTTP method and URL, not the operation", async () => {
    server.use(
      http.post(`${baseURL}/chat/completions`, () => HttpResponse.error()),
      http.delete(`${baseURL}/files/f9`, () => HttpResponse.error())
    )
    const chat = await run(client.createChatCompletion({ model: "m", messages: [] }))
    const deletion = await run(client.request({ method: "delete", path: "/files/f9" }))
    if (chat._tag === "Success" || deletion._tag === "Success") throw new Error("expected failures")
    for (const [result, method, path] of [
      [chat, "POST", "/chat/completions"],
      [deletion, "DELETE", "/files/f9"]
    ] as const) {
      const reason = result.failure.reason
      expect(reason._tag).toBe("NetworkError")
      expect(reason).toMatchObject({ method, url: `${baseURL}${path}` })
    }
  })

  it("use: the SDK escape hatch maps its errors the same way", async () => {
    server.use(
      http.get(`${baseURL}/models`, () => HttpResponse.json({ error: { message: "bad key" } }, { status: 401 }))
    )
    const result = await run(client.use("models.list", (sdk, { signal }) => sdk.models.list({ signal }), "/models"))
    if (result._tag === "Success") throw new Error("expected a failure")
    expect(result.failure.reason._tag).toBe("AuthenticationError")
  })
})

describe("OpenAiCompatClient.streamChatCompletion over bodies written in pieces", () => {
  const chunks = [
    { id: "s", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "" } }] },
    { id: "s", created: 1, model: "m", choices: [{ index: 0, delta: { content: "你好, " } }] },
    { id: "s", created: 1, model: "m", choices: [{ index: 0, delta: { content: "world 🌍" } }] },
    { id: "s", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }
  ]
  const collect = () =>
    Effect.runPromise(
      Effect.scoped(
        Effect.flatMap(client.streamChatCompletion({ model: "m", messages: [], stream: true }), (chat) =>
          Stream.runCollect(chat.chunks)
        )
      )
    )

  it("property: any write size (multi-byte characters split anywhere) gives the same chunks", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 64 }), async (splitBytes) => {
        server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(chunks, { splitBytes })))
        const got = await collect()
        expect(got).toEqual(chunks)
      }),
      { numRuns: 25 }
    )
  })
})

describe("OpenAiCompatClient.assembleChatCompletion reads a body as streamChatCompletion does", () => {
  const chunk = (delta: object, finish: string | null = null, extra: object = {}) => ({
    id: "c1",
    created: 1,
    model: "m",
    ...extra,
    choices: [{ index: 0, delta, finish_reason: finish }]
  })
  const hello = [chunk({ role: "assistant", content: "Hel" }), chunk({ content: "lo" }), chunk({}, "stop")]
  const raw = (text: string) =>
    new HttpResponse(text, { headers: { "content-type": "text/event-stream", "transfer-encoding": "chunked" } })
  const withIds = OpenAiCompatClient.make({
    provider: "sample",
    apiKey: Redacted.make("sk-transport"),
    baseURL,
    errorTable: ProviderError.openAiTable,
    requestIdHeaders: ["x-request-id"]
  })
  const request = { model: "m", messages: [], stream: true }
  const limits = { firstTokenMs: 5_000, idleMs: 5_000, buffered: true }

  type Outcome =
    | { readonly _tag: "answer"; readonly text: unknown; readonly finish: unknown; readonly requestId: unknown }
    | { readonly _tag: "error"; readonly reason: string; readonly kind: unknown; readonly retryable: boolean }
  const failed = (error: unknown): Outcome => {
    const summary = ProviderError.describe(error as never)
    return { _tag: "error", reason: summary.reason, kind: summary.kind, retryable: summary.retryable }
  }
  const viaStream = async (streamLimits = limits): Promise<Outcome> => {
    const result = await run(
      Effect.scoped(
        Effect.flatMap(withIds.streamChatCompletion(request, streamLimits), (chat) =>
          Effect.map(Stream.runCollect(chat.chunks), (chunks) => ({ chunks, requestId: chat.requestId() }))
        )
      )
    )
    if (result._tag === "Failure") return failed(result.failure)
    const body = CompletionAssembly.assemble(result.success.chunks)
    const choice = body.choices[0]
    return {
      _tag: "answer",
      text: choice?.message?.content,
      finish: choice?.finish_reason,
      requestId: result.success.requestId
    }
  }
  const viaAssembly = async (assemblyLimits = limits): Promise<Outcome> => {
    const result = await run(withIds.assembleChatCompletion(request, assemblyLimits))
    if (result._tag === "Failure") return failed(result.failure)
    const choice = result.success.body.choices[0]
    return {
      _tag: "answer",
      text: choice?.message?.content,
      finish: choice?.finish_reason,
      requestId: result.success.requestId
    }
  }
  const answer = (text: string, requestId: string | undefined, finish = "stop"): Outcome => ({
    _tag: "answer",
    text,
    finish,
    requestId
  })
  const error = (reason: string, kind: unknown, retryable: boolean): Outcome => ({
    _tag: "error",
    reason,
    kind,
    retryable
  })

  const cases: ReadonlyArray<{
    readonly name: string
    readonly respond: () => Response
    readonly limits?: typeof limits
    readonly expected: Outcome
  }> = [
    { name: "a whole stream", respond: () => MockUpstream.sse(hello), expected: answer("Hello", undefined) },
    {
      name: "a finish chunk without [DONE]",
      respond: () => MockUpstream.sse(hello, { done: false }),
      expected: answer("Hello", undefined)
    },
    {
      name: "the request id from the headers",
      respond: () => MockUpstream.sse(hello, { headers: { "x-request-id": "req-h" } }),
      expected: answer("Hello", "req-h")
    },
    {
      name: "the request id from the chunks",
      respond: () => MockUpstream.sse(hello.map((c) => ({ ...c, request_id: "req-b" }))),
      expected: answer("Hello", "req-b")
    },
    {
      name: "no finish chunk and no [DONE]: truncated",
      respond: () => MockUpstream.sse(hello.slice(0, 2), { done: false }),
      expected: error("InvalidResponseError", "truncated-stream", true)
    },
    {
      name: "a last event without its blank line, no finish and no [DONE]: truncated",
      respond: () => raw(`data: ${JSON.stringify(hello[0])}\n\ndata: ${JSON.stringify(hello[1])}\n`),
      expected: error("InvalidResponseError", "truncated-stream", true)
    },
    {
      name: "a last event cut mid-line: truncated",
      respond: () => raw(`data: ${JSON.stringify(hello[0])}\n\ndata: {"id":"c1","cho`),
      expected: error("InvalidResponseError", "truncated-stream", true)
    },
    {
      name: "a connection reset before the finish chunk: truncated",
      respond: () => MockUpstream.sse(hello, { disconnectAfter: 2 }),
      expected: error("InvalidResponseError", "truncated-stream", true)
    },
    {
      name: "a connection reset after the finish chunk: the answer",
      respond: () => MockUpstream.sse([...hello, "[DONE]"], { disconnectAfter: 3 }),
      expected: answer("Hello", undefined)
    },
    {
      name: "an error frame inside a 200 stream",
      respond: () =>
        MockUpstream.sse([hello[0], { error: { message: "overloaded", type: "server_error", code: "overloaded" } }]),
      expected: error("InternalProviderError", "http", true)
    },
    {
      name: "an event that is not JSON",
      respond: () => raw(`data: ${JSON.stringify(hello[0])}\n\ndata: {not json\n\n`),
      expected: error("InvalidResponseError", "invalid-response", false)
    },
    {
      name: "a JSON answer to a stream request",
      respond: () =>
        MockUpstream.json(
          {
            id: "c1",
            created: 1,
            model: "m",
            choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }]
          },
          { headers: { "x-request-id": "req-j" } }
        ),
      expected: answer("Hello", "req-j")
    },
    {
      name: "a stream that opens with a role-only chunk and stalls: the first-token bound, retryable",
      respond: () => MockUpstream.sse([chunk({ role: "assistant" }), ...hello], { stallAfter: 1 }),
      limits: { firstTokenMs: 150, idleMs: 5_000, buffered: true },
      expected: error("InternalProviderError", "timeout", true)
    },
    {
      name: "a stream that stalls after its first token: the idle bound, retryable when buffered",
      respond: () => MockUpstream.sse(hello, { stallAfter: 2 }),
      limits: { firstTokenMs: 5_000, idleMs: 150, buffered: true },
      expected: error("InternalProviderError", "timeout", true)
    }
  ]
  it.each(cases)("$name", async ({ respond, limits: caseLimits, expected }) => {
    server.use(MockUpstream.chatCompletions(baseURL, respond))
    const assembled = await viaAssembly(caseLimits)
    const streamed = await viaStream(caseLimits)
    expect(assembled).toEqual(expected)
    expect(streamed).toEqual(assembled)
  })
})
