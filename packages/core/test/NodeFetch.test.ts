import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as zlib from "node:zlib"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import * as NodeFetch from "../src/NodeFetch.js"

// A loopback server: each test names its behaviour in the path.
interface Seen {
  method: string
  headers: http.IncomingHttpHeaders
  body: string
}
let seen: Seen | undefined
let release: (() => void) | undefined
const server = http.createServer((req, res) => {
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (d) => (body += d))
  req.on("end", () => {
    seen = { method: req.method ?? "", headers: req.headers, body }
    switch (req.url) {
      case "/json":
        res.writeHead(201, "Made", { "content-type": "application/json", "x-request-id": "req-1" })
        return void res.end(JSON.stringify({ ok: true, echo: body }))
      case "/gzip":
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
        return void res.end(zlib.gzipSync(JSON.stringify({ zipped: true })))
      case "/empty":
        res.writeHead(204)
        return void res.end()
      case "/rate-limited":
        res.writeHead(429, { "content-type": "application/json", "retry-after-ms": "20" })
        return void res.end(JSON.stringify({ error: { message: "slow down", type: "rate_limit" } }))
      case "/sse":
        // the first event now, the rest only when the test releases it: the body must stream
        res.writeHead(200, { "content-type": "text/event-stream" })
        res.write("data: one\n\n")
        release = () => res.end("data: two\n\n")
        return
      case "/done":
        // the whole answer in one write: it has arrived by the time the client reads its first event, however
        // loaded the machine is (a later second write raced the test's wait under load)
        res.writeHead(200, { "content-type": "text/event-stream" })
        return void res.end("data: one\n\ndata: two\n\ndata: [DONE]\n\n")
      case "/hang":
        res.writeHead(200, { "content-type": "text/event-stream" })
        return void res.write("data: one\n\n")
      default:
        res.writeHead(404)
        res.end()
    }
  })
})
let connections = 0
server.on("connection", () => connections++)
let base = ""
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe("NodeFetch.fetch", () => {
  it("sends the method, headers and body (with its content-length) and answers a WHATWG Response", async () => {
    const response = await NodeFetch.fetch(`${base}/json`, {
      method: "POST",
      headers: new Headers({ "Content-Type": "application/json", Authorization: "Bearer k" }),
      body: '{"a":"é"}'
    })
    expect(seen).toMatchObject({
      method: "POST",
      body: '{"a":"é"}',
      headers: { "content-type": "application/json", authorization: "Bearer k", "content-length": "10" }
    })
    expect(response).toBeInstanceOf(Response)
    expect([response.status, response.statusText, response.ok]).toEqual([201, "Made", true])
    expect(response.headers.get("x-request-id")).toBe("req-1")
    expect(await response.json()).toEqual({ ok: true, echo: '{"a":"é"}' })
  })

  it("takes headers as a record or as pairs", async () => {
    await NodeFetch.fetch(`${base}/json`, { headers: { "X-One": "1" } })
    expect(seen?.headers["x-one"]).toBe("1")
    await NodeFetch.fetch(new URL(`${base}/json`), { headers: [["X-Two", "2"]] })
    expect(seen?.headers["x-two"]).toBe("2")
  })

  it("decompresses a gzip body and drops its content-encoding and content-length", async () => {
    const response = await NodeFetch.fetch(`${base}/gzip`)
    expect(response.headers.get("content-encoding")).toBeNull()
    expect(await response.json()).toEqual({ zipped: true })
  })

  it("answers a 204 with no body", async () => {
    const response = await NodeFetch.fetch(`${base}/empty`, { method: "DELETE" })
    expect(response.status).toBe(204)
    expect(response.body).toBeNull()
  })

  it("streams a text/event-stream body: the first event is readable before the server ends", async () => {
    const response = await NodeFetch.fetch(`${base}/sse`, { method: "POST", body: "{}" })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n")
    release?.()
    let rest = ""
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      rest += new TextDecoder().decode(read.value)
    }
    expect(rest).toBe("data: two\n\n")
  })

  it("an abort before the answer rejects with an AbortError; during a stream it errors the body", async () => {
    const before = new AbortController()
    before.abort()
    await expect(NodeFetch.fetch(`${base}/json`, { signal: before.signal })).rejects.toMatchObject({
      name: "AbortError"
    })
    const during = new AbortController()
    const response = await NodeFetch.fetch(`${base}/hang`, { signal: during.signal })
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    during.abort()
    await expect(reader.read()).rejects.toBeDefined()
  })

  it("a stream dropped after the whole answer arrived keeps its connection; one dropped before it is cut", async () => {
    const agentless = async (
      path: string,
      drop: (reader: ReadableStreamDefaultReader<Uint8Array>) => Promise<void>
    ) => {
      const controller = new AbortController()
      const response = await NodeFetch.fetch(`${base}${path}`, { signal: controller.signal })
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      await reader.read()
      await new Promise((resolve) => setTimeout(resolve, 20)) // the rest of the answer arrives
      await drop(reader)
      controller.abort()
      await new Promise((resolve) => setTimeout(resolve, 20)) // what is left is drained, the socket back in the pool
    }
    await agentless("/done", () => Promise.resolve()) // warm: one pooled connection
    const before = connections
    await agentless("/done", (reader) => reader.cancel())
    await agentless("/done", () => Promise.resolve())
    await NodeFetch.fetch(`${base}/json`)
    expect(connections).toBe(before)
    await agentless("/hang", (reader) => reader.cancel())
    await NodeFetch.fetch(`${base}/json`)
    expect(connections).toBe(before + 1)
  })

  it("a refused connection rejects with TypeError('fetch failed') carrying the cause", async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const error = await NodeFetch.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect(error).toMatchObject({ message: "fetch failed", cause: { code: "ECONNREFUSED" } })
  })

  it("a body it does not send itself (FormData) goes to the global fetch", async () => {
    const form = new FormData()
    form.set("purpose", "batch")
    const response = await NodeFetch.fetch(`${base}/json`, { method: "POST", body: form })
    expect(response.status).toBe(201)
    expect(seen?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
    expect(seen?.body).toContain('name="purpose"')
  })
})

/** Runs `body` with the global fetch replaced by one that records the URLs it is called with; returns them. */
const withReplacedFetch = async (body: () => Promise<unknown>): Promise<Array<string>> => {
  const original = globalThis.fetch
  const calls: Array<string> = []
  globalThis.fetch = (async (input: string) => {
    calls.push(input)
    return new Response("{}", { status: 200 })
  }) as typeof globalThis.fetch
  try {
    await body()
  } finally {
    globalThis.fetch = original
  }
  return calls
}

describe("NodeFetch.defaultFetch", () => {
  it("uses the global fetch once it was replaced (MSW, instrumentation)", async () => {
    const calls = await withReplacedFetch(() => NodeFetch.defaultFetch(`${base}/json`))
    expect(calls).toEqual([`${base}/json`])
  })

  it("uses a global fetch replaced before it was loaded (an --import preload redirecting the SDK's calls)", async () => {
    const calls = await withReplacedFetch(async () => {
      vi.resetModules()
      const loadedAfter = await import("../src/NodeFetch.js")
      await loadedAfter.defaultFetch(`${base}/json`)
    })
    expect(calls).toEqual([`${base}/json`])
  })

  it("sends on node:http while the global fetch is Node's own (its Response, built here, has no url)", async () => {
    expect((await fetch(`${base}/json`)).url).toBe(`${base}/json`)
    expect((await NodeFetch.defaultFetch(`${base}/json`)).url).toBe("")
  })
})

describe("the openai SDK on NodeFetch", () => {
  it("reads an error status with its body and headers as the SDK's APIError", async () => {
    const client = new OpenAI({ apiKey: "k", baseURL: base, maxRetries: 0, fetch: NodeFetch.fetch })
    const error = await client.chat.completions
      .create({ model: "m", messages: [] }, { path: "/rate-limited" })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error).toMatchObject({ status: 429, error: { message: "slow down" } })
    expect((error as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after-ms")).toBe("20")
  })

  it("a refused connection is the SDK's APIConnectionError", async () => {
    const closed = new OpenAI({ apiKey: "k", baseURL: "http://127.0.0.1:1", maxRetries: 0, fetch: NodeFetch.fetch })
    await expect(closed.chat.completions.create({ model: "m", messages: [] })).rejects.toBeInstanceOf(
      OpenAI.APIConnectionError
    )
  })
})
