/**
 * The transport on its own: the generic `request` path (JSON with a schema, text, bytes, a body that does not decode,
 * an error status) and `use`, and the stream reader over bodies written in pieces of any size.
 */
import { Effect, Redacted, Schema, Stream } from "effect"
import fc from "fast-check"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
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
