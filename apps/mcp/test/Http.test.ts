/**
 * The MCP server over Streamable HTTP, driven by the MCP SDK's own client, on the shipped providers' simulations:
 * tools/list with input and output schemas, every tool called (the client validates each `structuredContent`
 * against the tool's output schema), chat streamed as progress notifications, cancellation reaching the upstream
 * request, tool errors with their typed reason, bearer keys and sessions.
 */

import { MockUpstream } from "@conduitkit/core/testing"
import { Auth, Providers } from "@conduitkit/gateway"
import { GlmMock, GlmScenarios } from "@conduitkit/provider-glm/testing"
import { KimiMock } from "@conduitkit/provider-kimi/testing"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { McpError } from "@modelcontextprotocol/sdk/types.js"
import { Redacted } from "effect"
import { http, passthrough } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Http from "../src/Http.js"
import type * as McpServer from "../src/McpServer.js"
import {
  errorOf,
  eventually,
  fileRoot,
  runner as makeRunner,
  newClient,
  realFetch,
  simulated,
  textOf
} from "./support.js"

const kimi = simulated(Providers.kimi)
const glm = simulated(Providers.glm)
const files = fileRoot()

/** GLM chat answers: a stalling stream for the prompt "stall" (recorded for the cancellation test), else the default. */
let stalled: MockUpstream.RecordedCall | undefined
const zai = GlmMock.make({
  ...glm.simulation,
  chat: ({ call, body, onCancel }) => {
    const messages = body.messages as ReadonlyArray<{ content: string }>
    if (messages.at(-1)?.content !== "stall") return undefined
    stalled = call
    return MockUpstream.sse([GlmScenarios.chunk("stall-1", "glm-4.6", { role: "assistant", content: "partial " })], {
      stallAfter: 1,
      onCancel
    })
  }
})
const kimiMock = KimiMock.make(kimi.simulation)
const server = setupServer(
  http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()),
  ...zai.handlers,
  ...kimiMock.handlers
)

let runner: McpServer.Runner & { readonly dispose: () => Promise<void> }
let open: Http.Running
let keyed: Http.Running

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  runner = await makeRunner({
    entries: [kimi.entry, glm.entry],
    clients: new Map([
      ["kimi", kimi.client],
      ["glm", glm.client]
    ]),
    roots: [files.dir]
  })
  open = await Http.serve(runner, { host: "127.0.0.1", port: 0, apiKeys: [], maxBodyBytes: 1_000_000 })
  keyed = await Http.serve(runner, {
    host: "127.0.0.1",
    port: 0,
    apiKeys: [Redacted.make("sk-mcp-test")],
    maxBodyBytes: 1_000_000
  })
})
afterEach(() => {
  stalled = undefined
})
afterAll(async () => {
  await open.close()
  await keyed.close()
  await runner.dispose()
  server.close()
  files.cleanup()
})

const connect = async (url = open.url, headers: Record<string, string> = {}) => {
  const client = newClient()
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { fetch: realFetch, requestInit: { headers } }))
  return client
}

describe("tools/list", () => {
  it("lists the five tools, each with an input and an output schema", async () => {
    const client = await connect()
    try {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual(["chat", "models", "web_search", "extract_file", "count_tokens"])
      for (const tool of tools) {
        expect(tool.inputSchema.type).toBe("object")
        expect(tool.outputSchema?.type).toBe("object")
        expect(tool.description).not.toBe("")
      }
      const chat = tools.find((tool) => tool.name === "chat")!
      expect(chat.inputSchema.required).toEqual(["model"])
      expect(Object.keys(chat.inputSchema.properties ?? {})).toEqual(
        expect.arrayContaining(["model", "prompt", "messages", "system", "stream"])
      )
    } finally {
      await client.close()
    }
  })
})

describe("tools/call", () => {
  it("chat: a simulated answer says it is simulated, with usage and the provider", async () => {
    const client = await connect()
    try {
      const result = await client.callTool({
        name: "chat",
        arguments: { model: "glm/glm-4.6", prompt: "Hello", system: "Be brief." }
      })
      const output = result.structuredContent as Record<string, unknown>
      expect(result.isError).toBeFalsy()
      expect(output.provider).toBe("glm")
      expect(output.simulated).toBe(true)
      expect(String(output.text)).toMatch(/^\[simulated: /)
      expect((output.usage as { input_tokens: number }).input_tokens).toBeGreaterThan(0)
      expect(textOf(result)).toBe(output.text)
      const sent = zai.recorder.last().body as { messages: Array<{ role: string }> }
      expect(sent.messages.map((m) => m.role)).toEqual(["system", "user"])
    } finally {
      await client.close()
    }
  })

  it("chat with stream: the deltas arrive as progress notifications and add up to the answer", async () => {
    const client = await connect()
    try {
      const deltas: Array<string> = []
      const result = await client.callTool(
        {
          name: "chat",
          arguments: { model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "Hi" }], stream: true }
        },
        undefined,
        { onprogress: (progress) => deltas.push(progress.message ?? "") }
      )
      const output = result.structuredContent as { text: string; provider: string; simulated: boolean }
      expect(output.provider).toBe("kimi")
      expect(deltas.length).toBeGreaterThan(1)
      expect(output.text.endsWith(deltas.join(""))).toBe(true)
      expect(output.text).toContain("simulated Kimi")
    } finally {
      await client.close()
    }
  })

  it("models: the routable names with capabilities, lifecycle and mode", async () => {
    const client = await connect()
    try {
      const result = await client.callTool({ name: "models", arguments: {} })
      const models = (result.structuredContent as { models: Array<Record<string, unknown>> }).models
      const names = models.map((model) => model.id)
      expect(names).toEqual(expect.arrayContaining(["default", "fast", "kimi/kimi-k2.6", "glm/glm-4.6"]))
      const fast = models.find((model) => model.id === "fast")!
      expect(fast).toMatchObject({ target: "glm/glm-4.5-air", lifecycle: "active", mode: "simulated" })
      expect(fast.capabilities).toHaveProperty("tools")
      const onlyGlm = await client.callTool({ name: "models", arguments: { provider: "glm" } })
      const glmModels = (onlyGlm.structuredContent as { models: Array<{ owned_by: string }> }).models
      expect(glmModels.length).toBeGreaterThan(0)
      expect(glmModels.every((model) => model.owned_by === "glm")).toBe(true)
    } finally {
      await client.close()
    }
  })

  it("web_search: GLM's search API, results with their URLs", async () => {
    const client = await connect()
    try {
      const result = await client.callTool({ name: "web_search", arguments: { query: "Florence weather", count: 3 } })
      const output = result.structuredContent as { results: Array<{ title: string; url?: string }>; simulated: boolean }
      expect(output.results.length).toBeGreaterThan(0)
      expect(output.results[0]?.url).toMatch(/^https?:\/\//)
      expect(output.simulated).toBe(true)
      expect(textOf(result)).toMatch(/^\[simulated: /)
      expect(zai.recorder.last().body).toMatchObject({ search_query: "Florence weather", count: 3 })
    } finally {
      await client.close()
    }
  })

  it("extract_file: uploads a file under the allowed roots to Kimi and returns its text, then deletes it", async () => {
    const client = await connect()
    try {
      const result = await client.callTool({ name: "extract_file", arguments: { path: files.file } })
      expect(result.structuredContent).toMatchObject({
        filename: "notes.txt",
        bytes: 29,
        content: "Conduit routes Kimi and GLM.\n",
        simulated: true
      })
      expect(kimiMock.state.files.size).toBe(0)
    } finally {
      await client.close()
    }
  })

  it("count_tokens: exact from Kimi's and GLM's endpoints, estimated elsewhere", async () => {
    const client = await connect()
    try {
      const kimiCount = await client.callTool({
        name: "count_tokens",
        arguments: { model: "kimi/kimi-k2.6", prompt: "Hello there" }
      })
      expect(kimiCount.structuredContent).toMatchObject({ provider: "kimi", exact: true })
      expect((kimiCount.structuredContent as { input_tokens: number }).input_tokens).toBeGreaterThan(0)
      const glmCount = await client.callTool({
        name: "count_tokens",
        arguments: { model: "glm/glm-4.6", prompt: "Hello" }
      })
      expect(glmCount.structuredContent).toMatchObject({ provider: "glm", exact: true })
      const estimated = await client.callTool({
        name: "count_tokens",
        arguments: { model: "glm/glm-4.5-air", prompt: "Hello" }
      })
      expect(estimated.structuredContent).toMatchObject({ provider: "glm", exact: false })
    } finally {
      await client.close()
    }
  })
})

describe("errors", () => {
  it.each([
    [
      "an unknown model",
      "chat",
      { model: "nope/x", prompt: "a" },
      { reason: "UnknownModelError", code: "model_not_found", status: 404 }
    ],
    [
      "neither prompt nor messages",
      "chat",
      { model: "default" },
      { reason: "InvalidRequestError", code: "invalid_value" }
    ],
    [
      "arguments that do not match the schema",
      "chat",
      { model: 42 },
      { reason: "InvalidRequestError", code: "invalid_arguments" }
    ],
    [
      "a file outside the allowed roots",
      "extract_file",
      { path: "/etc/hostname" },
      { code: "path_not_allowed", status: 403 }
    ],
    ["a file that does not exist", "extract_file", { path: `${files.dir}/missing.pdf` }, { code: "file_not_found" }]
  ])("%s is a tool error with its typed reason", async (_name, tool, args, expected) => {
    const client = await connect()
    try {
      expect(errorOf(await client.callTool({ name: tool, arguments: args }))).toMatchObject(expected)
    } finally {
      await client.close()
    }
  })

  it("an upstream failure keeps the provider's reason (GLM 1113: QuotaExhaustedError, not retried)", async () => {
    server.use(
      http.post(`${glm.simulation.baseURL}/web_search`, () =>
        MockUpstream.error(429, GlmScenarios.errors.insufficientBalanceEn.body)
      )
    )
    const client = await connect()
    try {
      const error = errorOf(await client.callTool({ name: "web_search", arguments: { query: "x" } }))
      expect(error).toMatchObject({ reason: "QuotaExhaustedError", retryable: false })
    } finally {
      server.resetHandlers()
      await client.close()
    }
  })

  it("an unknown tool is a protocol error", async () => {
    const client = await connect()
    try {
      await expect(client.callTool({ name: "nope", arguments: {} })).rejects.toBeInstanceOf(McpError)
    } finally {
      await client.close()
    }
  })
})

describe("cancellation", () => {
  it("a client that cancels a streaming chat aborts the upstream request", async () => {
    const client = await connect()
    try {
      const controller = new AbortController()
      const call = client.callTool(
        { name: "chat", arguments: { model: "glm/glm-4.6", prompt: "stall", stream: true } },
        undefined,
        { signal: controller.signal, onprogress: () => controller.abort() }
      )
      await expect(call).rejects.toThrow()
      expect(await eventually(() => stalled?.aborted === true)).toBe(true)
    } finally {
      await client.close()
    }
  })
})

describe("keys and budgets (models.yaml keys:, as in the gateway)", () => {
  it("chat runs on the gateway's engine: the answer's cost in the result, charged to the key's budget, then refused", async () => {
    // 10,000 USD per million input and 20,000 per million output tokens: any answer costs far more than the budget
    const priced = await makeRunner({
      entries: [kimi.entry, glm.entry],
      clients: new Map([["glm", glm.client]]),
      roots: [files.dir],
      models: {
        pricing: { "glm/glm-4.6": { currency: "USD", inputPerMillion: 10_000, outputPerMillion: 20_000 } },
        keys: { [Auth.keyId("sk-budget")]: { budget: { amount: 0.01, currency: "USD", period: "day" } } }
      }
    })
    const served = await Http.serve(priced, {
      host: "127.0.0.1",
      port: 0,
      apiKeys: [Redacted.make("sk-budget")],
      maxBodyBytes: 1_000_000
    })
    const client = await connect(served.url, { authorization: "Bearer sk-budget" })
    try {
      const first = await client.callTool({ name: "chat", arguments: { model: "glm/glm-4.6", prompt: "Hello" } })
      expect(first.isError).toBeFalsy()
      const output = first.structuredContent as {
        usage: { input_tokens: number; output_tokens: number }
        cost?: { amount: number; currency: string }
      }
      const expected = (output.usage.input_tokens * 10_000 + output.usage.output_tokens * 20_000) / 1_000_000
      expect(output.cost?.currency).toBe("USD")
      expect(output.cost?.amount).toBeCloseTo(expected, 9)
      expect(expected).toBeGreaterThan(0.01)
      const calls = zai.recorder.calls.length
      const second = await client.callTool({
        name: "chat",
        arguments: { model: "glm/glm-4.6", prompt: "Again", stream: true }
      })
      expect(second.isError).toBe(true)
      expect(errorOf(second)).toMatchObject({ code: "budget_exceeded", status: 429 })
      expect(zai.recorder.calls.length).toBe(calls) // refused before it was sent
    } finally {
      await client.close()
      await served.close()
      await priced.dispose()
    }
  })
})

describe("HTTP front door", () => {
  it("with keys: no key 401, a wrong key 401, the right key works", async () => {
    const initialize = (headers: Record<string, string>) =>
      realFetch(keyed.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "0" } }
        })
      })
    expect((await initialize({})).status).toBe(401)
    expect((await initialize({ authorization: "Bearer wrong" })).status).toBe(401)
    const client = await connect(keyed.url, { authorization: "Bearer sk-mcp-test" })
    try {
      expect((await client.listTools()).tools).toHaveLength(5)
    } finally {
      await client.close()
    }
  })

  it("an unknown session is 404, a request without a session that is not initialize 400, other paths 404", async () => {
    const post = (headers: Record<string, string>, url = open.url) =>
      realFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })
      })
    expect((await post({ "mcp-session-id": "nope" })).status).toBe(404)
    expect((await post({})).status).toBe(400)
    expect((await post({}, open.url.replace("/mcp", "/other"))).status).toBe(404)
  })

  it("DELETE /mcp (terminateSession) ends the session", async () => {
    const before = open.sessions()
    const client = await connect()
    expect(open.sessions()).toBe(before + 1)
    await (client.transport as StreamableHTTPClientTransport).terminateSession()
    expect(await eventually(() => open.sessions() === before)).toBe(true)
    await client.close()
  })
})
