/**
 * The built bin (`dist/main.js`) as a child process over stdio, as desktop MCP clients run it, driven by the MCP
 * SDK's own client: without keys (both providers simulated, every tool called, chat progress, errors), and in live
 * mode against a loopback stand-in of Moonshot's API (cancellation aborts the upstream request). Then the MCP
 * Inspector's CLI mode as a real third-party client.
 */
import { execFile } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { errorOf, eventually, fileRoot, newClient, textOf } from "./support.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const main = path.resolve(here, "../dist/main.js")
const files = fileRoot()

/** A clean environment: no provider keys from the machine, logs at warn (stderr). */
const environment = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "",
  HOME: files.dir,
  CONDUIT_MCP_FILE_ROOTS: files.dir,
  CONDUIT_LOG_LEVEL: "warn",
  ...extra
})

/** Every message each client's transport received, in arrival order (what the server wrote on stdout). */
const received = new WeakMap<Client, Array<unknown>>()

const spawn = async (env: Record<string, string>): Promise<Client> => {
  const client = newClient()
  const transport = new StdioClientTransport({ command: process.execPath, args: [main], env, stderr: "pipe" })
  await client.connect(transport, { timeout: 150_000 })
  // recorded below the SDK's Protocol, which runs a response at once but a notification in a microtask and drops a
  // request's progress handler with its response: progress notifications read together with the result never reach
  // `onprogress` (MCP SDK 1.32), although the server sent them first
  const messages: Array<unknown> = []
  const dispatch = transport.onmessage
  transport.onmessage = (message) => {
    messages.push(message)
    dispatch?.(message)
  }
  received.set(client, messages)
  return client
}

let simulated: Client
let live: Client
let upstream: Upstream

beforeAll(async () => {
  upstream = await startUpstream({ chunks: 400, pacingMs: 10 })
  ;[simulated, live] = await Promise.all([
    spawn(environment()),
    spawn(
      environment({
        MOONSHOT_API_KEY: "sk-loopback",
        MOONSHOT_BASE_URL: upstream.baseURL("moonshot"),
        CONDUIT_SIMULATE: "0"
      })
    )
  ])
})
afterAll(async () => {
  await simulated?.close()
  await live?.close()
  await upstream?.close()
  files.cleanup()
})

describe("stdio, simulated (no keys)", () => {
  it("lists the five tools with their schemas", async () => {
    const { tools } = await simulated.listTools()
    expect(tools.map((tool) => [tool.name, tool.outputSchema?.type])).toEqual([
      ["chat", "object"],
      ["models", "object"],
      ["web_search", "object"],
      ["extract_file", "object"],
      ["count_tokens", "object"]
    ])
  })

  it("calls every tool; simulated answers say so", async () => {
    const chat = await simulated.callTool({ name: "chat", arguments: { model: "default", prompt: "Hello" } })
    expect(chat.structuredContent).toMatchObject({ provider: "kimi", simulated: true })
    expect(textOf(chat)).toMatch(/^\[simulated: /)

    const models = await simulated.callTool({ name: "models", arguments: {} })
    expect((models.structuredContent as { models: Array<{ id: string }> }).models.map((m) => m.id)).toContain("fast")

    const search = await simulated.callTool({ name: "web_search", arguments: { query: "Conduit" } })
    expect((search.structuredContent as { results: Array<unknown> }).results.length).toBeGreaterThan(0)

    const extracted = await simulated.callTool({ name: "extract_file", arguments: { path: files.file } })
    expect(extracted.structuredContent).toMatchObject({ content: "Conduit routes Kimi and GLM.\n", simulated: true })

    const counted = await simulated.callTool({
      name: "count_tokens",
      arguments: { model: "glm/glm-4.6", messages: [{ role: "user", content: "Hello" }] }
    })
    expect(counted.structuredContent).toMatchObject({ exact: true, simulated: true })
  })

  it("streams chat deltas as progress notifications", async () => {
    const messages = received.get(simulated)!
    const from = messages.length
    const result = await simulated.callTool(
      { name: "chat", arguments: { model: "glm/glm-4.6", prompt: "Hi", stream: true } },
      undefined,
      { onprogress: () => undefined }
    )
    const deltas = messages
      .slice(from)
      .flatMap((message) =>
        (message as { method?: string }).method === "notifications/progress"
          ? [(message as { params: { message?: string } }).params.message ?? ""]
          : []
      )
    expect(deltas.length).toBeGreaterThan(1)
    // the deltas, in order, are the answer's text (after any continuation prefix)
    expect((result.structuredContent as { text: string }).text.endsWith(deltas.join(""))).toBe(true)
  })

  it("errors are tool errors with the typed reason", async () => {
    expect(
      errorOf(await simulated.callTool({ name: "chat", arguments: { model: "nope/x", prompt: "a" } }))
    ).toMatchObject({ reason: "UnknownModelError", status: 404 })
    expect(errorOf(await simulated.callTool({ name: "web_search", arguments: { query: "" } }))).toMatchObject({
      reason: "InvalidRequestError",
      code: "invalid_arguments"
    })
  })
})

describe("stdio, live against a loopback stand-in", () => {
  it("answers without the simulation notice; a disabled provider's tool says how to enable it", async () => {
    const chat = await live.callTool({ name: "chat", arguments: { model: "kimi/kimi-k2.6", prompt: "plain" } })
    expect(chat.structuredContent).toMatchObject({ provider: "kimi", simulated: false })
    expect(textOf(chat)).not.toMatch(/simulated/)
    expect(errorOf(await live.callTool({ name: "web_search", arguments: { query: "x" } }))).toMatchObject({
      code: "provider_unavailable",
      status: 503
    })
  })

  it("cancelling a streaming chat aborts the upstream request", async () => {
    const controller = new AbortController()
    const call = live.callTool(
      { name: "chat", arguments: { model: "kimi/kimi-k2.6", prompt: "cancel me", stream: true } },
      undefined,
      { signal: controller.signal, onprogress: () => controller.abort() }
    )
    await expect(call).rejects.toThrow()
    expect(await eventually(() => upstream.records.get("cancel me")?.aborts === 1, 60_000)).toBe(true)
  })
})

describe("the MCP Inspector's CLI as a client", () => {
  const launcher = path.join(
    path.dirname(createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector/package.json")),
    "clients/launcher/build/index.js"
  )
  const inspect = (args: ReadonlyArray<string>) =>
    new Promise<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [launcher, "--cli", "--connect-timeout", "150000", process.execPath, main, ...args],
        { env: environment(), timeout: 240_000, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
      )
    })

  it("lists the tools (strict schema portability check) and calls one", async () => {
    // one after the other: each starts the server (slow on a loaded machine; the Inspector waits 60 s for initialize)
    const listed = await inspect(["--method", "tools/list", "--strict"])
    const called = await inspect([
      "--method",
      "tools/call",
      "--tool-name",
      "count_tokens",
      "--tool-arg",
      "model=kimi/kimi-k2.6",
      "--tool-arg",
      "prompt=Hello"
    ])
    expect(listed.code, listed.stderr).toBe(0)
    const tools = (JSON.parse(listed.stdout) as { tools: Array<{ name: string }> }).tools
    expect(tools.map((tool) => tool.name)).toEqual(["chat", "models", "web_search", "extract_file", "count_tokens"])
    expect(called.code, called.stderr).toBe(0)
    expect(JSON.parse(called.stdout)).toMatchObject({
      structuredContent: { provider: "kimi", exact: true, simulated: true }
    })
  }, 480_000) // two Inspector runs, each may wait up to 240 s on a loaded 2-core machine
})
