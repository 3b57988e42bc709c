/**
 * The testing entry point's mock behaves like Z.ai on the wire: the auth bodies match the recorded ones, streams
 * have the recorded shape, and the other endpoints answer.
 */

import { Sse } from "@conduitkit/core"
import { Recordings } from "@conduitkit/core/testing"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const base = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const post = (path: string, body: unknown, key: string | null = "test-key") =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key !== null ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body)
  })

// biome-ignore lint/suspicious/noExplicitAny: raw wire JSON in assertions
type Wire = any

const events = async (response: Response) => Sse.decodeAll(await response.text()).map((event) => event.data)

Recordings.describeRecordings("auth errors with the real bodies", () => {
  it("no Authorization header: 401 with the body the crawler recorded from api.z.ai", async () => {
    server.use(...GlmMock.make().handlers)
    const response = await post("/chat/completions", { model: "glm-4.6", messages: [] }, null)
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual(Recordings.readJson("glm/errors/zai_GET_api_paas_v4_no_auth_1001.json"))
  })

  it("a wrong key: 401 with the body of the docs' transcript", async () => {
    server.use(...GlmMock.make().handlers)
    const response = await post("/chat/completions", { model: "glm-4.6", messages: [] }, "wrong")
    const transcript = Recordings.readText("glm/errors/zai_docs_http401_1002_curl_transcript.txt")
    expect(response.status).toBe(401)
    expect(await response.json()).toEqual(JSON.parse(transcript.slice(transcript.indexOf('{"error"')).trim()))
  })
})

describe("chat streams in the recorded shape", () => {
  it("role on every text delta, finish and usage together on the last chunk, then [DONE]", async () => {
    server.use(...GlmMock.make().handlers)
    const data = await events(
      await post("/chat/completions", { model: "glm-4.6", stream: true, messages: [{ role: "user", content: "hi" }] })
    )
    expect(data.at(-1)).toBe("[DONE]")
    const chunks = data.slice(0, -1).map((payload) => JSON.parse(payload))
    for (const chunk of chunks) {
      expect(chunk.object).toBeUndefined()
      expect(chunk.choices[0].delta.role).toBe("assistant")
    }
    const last = chunks.at(-1)
    expect(last.choices[0].finish_reason).toBe("stop")
    expect(last.usage.prompt_tokens_details.cached_tokens).toBe(0)
  })

  it("tool calls arrive complete, one chunk per call, without role; several tools make a multi-tool turn", async () => {
    server.use(...GlmMock.make().handlers)
    const fn = (name: string) => ({
      type: "function",
      function: { name, parameters: { type: "object", properties: { a: { type: "integer" }, b: { type: "integer" } } } }
    })
    const data = await events(
      await post("/chat/completions", {
        model: "glm-4.6",
        stream: true,
        messages: [{ role: "user", content: "add and multiply 2 and 3" }],
        tools: [fn("add"), fn("multiply")]
      })
    )
    const calls = data
      .filter((payload) => payload !== "[DONE]")
      .map((payload) => JSON.parse(payload).choices[0].delta)
      .filter((delta) => delta.tool_calls !== undefined)
    expect(calls.map((delta) => [delta.role, delta.tool_calls[0].index, delta.tool_calls[0].function])).toEqual([
      [undefined, 0, { name: "add", arguments: '{"a":2,"b":3}' }],
      [undefined, 1, { name: "multiply", arguments: '{"a":2,"b":3}' }]
    ])
    expect(calls.every((delta) => /^call_[0-9a-f]{24}$/.test(delta.tool_calls[0].id))).toBe(true)
  })

  it("answers with the tool result after a tool turn", async () => {
    server.use(...GlmMock.make().handlers)
    const response = await post("/chat/completions", {
      model: "glm-4.6",
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "40 C" }
      ],
      tools: [{ type: "function", function: { name: "w", parameters: { type: "object" } } }]
    })
    const body: Wire = await response.json()
    expect(body.choices[0].message.content).toBe("\n\nw returned: 40 C.")
    expect(body.id).toBe(body.request_id)
  })

  it("a custom answer per call, and error responses by code", async () => {
    server.use(
      ...GlmMock.make({
        chat: ({ index }) => (index === 0 ? GlmMock.errorResponse(GlmScenarios.errors.concurrencyCn) : undefined)
      }).handlers
    )
    const first = await post("/chat/completions", { model: "glm-4.6", messages: [{ role: "user", content: "hi" }] })
    expect([first.status, ((await first.json()) as Wire).error.code]).toEqual([429, "1302"])
    const second = await post("/chat/completions", { model: "glm-4.6", messages: [{ role: "user", content: "hi" }] })
    expect(second.status).toBe(200)
  })
})

describe("other endpoints", () => {
  it("async tasks answer PROCESSING, then SUCCESS with the answer", async () => {
    server.use(...GlmMock.make({ asyncPolls: 1 }).handlers)
    const task: Wire = await (
      await post("/async/chat/completions", { model: "glm-4.6", messages: [{ role: "user", content: "hi" }] })
    ).json()
    const poll = () => fetch(`${base}/async-result/${task.id}`, { headers: { authorization: "Bearer test-key" } })
    expect(((await (await poll()).json()) as Wire).task_status).toBe("PROCESSING")
    const done: Wire = await (await poll()).json()
    expect(done.task_status).toBe("SUCCESS")
    expect(done.choices[0].message.content).toBe(GlmScenarios.text.text)
  })
})
