/**
 * A client that goes away aborts the upstream request (stream and non-stream; MSW and real sockets), and a client
 * that reads slowly slows the upstream read instead of making the gateway buffer.
 */
import * as http from "node:http"
import { MockUpstream } from "@conduitkit/core/testing"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import { Redacted } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import {
  chunk,
  client,
  eventually,
  mswServer,
  realFetch,
  referenceEntry,
  respond,
  type Started,
  startGateway
} from "./support.js"

const server = mswServer()
let upstream: Upstream
let gateway: Started

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  upstream = await startUpstream({})
  const kimi = Providers.entry(
    Providers.kimi,
    Providers.kimi.connect({ apiKey: Redacted.make("sk-upstream"), baseURL: upstream.baseURL("moonshot") }),
    "live"
  )
  gateway = await startGateway({ providers: [kimi, referenceEntry("ref")] })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  await upstream.close()
  server.close()
})

const openStreams = async () => {
  const text = await (await realFetch(`${gateway.url}/metrics`)).text()
  return Number(/^conduit_gateway_open_streams (\d+)/m.exec(text)?.[1])
}

describe("client disconnect aborts the upstream request", () => {
  it("openai SDK aborts mid-stream (MSW upstream): the upstream request is aborted", async () => {
    let cancelled = false
    const recorder = respond(server, "ref", () =>
      MockUpstream.sse(
        Array.from({ length: 200 }, (_, i) =>
          chunk(i === 0 ? { role: "assistant", content: "t0 " } : { content: `t${i} ` })
        ),
        // 100 ms apart: a client held up by a loaded machine finds few events queued behind its abort
        { delayMs: 100, onCancel: () => (cancelled = true) }
      )
    )
    const controller = new AbortController()
    const stream = await client(gateway).chat.completions.create(
      { model: "ref/ref-chat-1", messages: [{ role: "user", content: "long story" }], stream: true },
      { signal: controller.signal }
    )
    let received = 0
    for await (const _ of stream) {
      received++
      if (received === 3) controller.abort()
    }
    expect(controller.signal.aborted).toBe(true)
    await eventually(() => recorder.last().aborted && cancelled)
    expect(received).toBeLessThan(10)
    let open = await openStreams()
    for (const deadline = Date.now() + 20_000; open !== 0 && Date.now() < deadline; open = await openStreams()) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(open).toBe(0)
  })

  it("openai SDK aborts mid-stream (real sockets): the upstream sees the connection closed early", async () => {
    upstream.configure({ chunks: 500, pacingMs: 10 })
    const controller = new AbortController()
    const stream = await client(gateway).chat.completions.create(
      { model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "abort me (stream)" }], stream: true },
      { signal: controller.signal }
    )
    let received = 0
    for await (const _ of stream) {
      received++
      if (received === 3) controller.abort()
    }
    await eventually(() => upstream.records.get("abort me (stream)")?.aborts === 1)
    const record = upstream.records.get("abort me (stream)")
    expect(record?.attempts).toBe(1)
    expect(record?.successes).toBe(0)
    await eventually(() => upstream.totals().open === 0)
  })

  it("a client that leaves while waiting for a non-stream answer aborts the upstream request", async () => {
    upstream.configure({ latencyMs: 60_000 }) // answers only after the test ends, however slow the machine
    const controller = new AbortController()
    const pending = client(gateway).chat.completions.create(
      { model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "abort me (non-stream)" }] },
      { signal: controller.signal }
    )
    await eventually(() => upstream.records.get("abort me (non-stream)")?.attempts === 1)
    controller.abort()
    await expect(pending).rejects.toThrow()
    await eventually(() => upstream.records.get("abort me (non-stream)")?.aborts === 1)
    upstream.configure({})
  })
})

describe("backpressure", () => {
  it("a reader that stops reading stops the upstream read (the gateway does not buffer the stream)", async () => {
    const chunkText = `${"x".repeat(2_000)}{i}`
    const chunks = 100_000 // about 215 MB of SSE if it were all read (the mock makes each event as it writes it)
    upstream.configure({ chunks, chunkText })
    upstream.reset()
    const { request, response } = await new Promise<{ request: http.ClientRequest; response: http.IncomingMessage }>(
      (resolve, reject) => {
        const request = http.request(
          {
            host: "127.0.0.1",
            port: gateway.port,
            method: "POST",
            path: "/v1/chat/completions",
            headers: { "content-type": "application/json" },
            agent: false
          },
          (response) => resolve({ request, response })
        )
        request.on("error", reject)
        request.end(
          JSON.stringify({ model: "kimi/kimi-k2.6", stream: true, messages: [{ role: "user", content: "firehose" }] })
        )
      }
    )
    expect(response.statusCode).toBe(200)
    response.pause() // read nothing more
    // The upstream is held back once the socket buffers on the way are full. Those buffers autotune, later and larger
    // on a loaded machine (Linux lets a receive buffer grow to tcp_rmem's maximum, 32 MB here, and there are two hops),
    // so the hold is measured against a bound no buffering can reach: wait until the upstream stops growing (three
    // quiet 300 ms windows in a row, < 256 KB each), then it must be held below 96 MB of the 215 MB, and still be
    // there a second later. A gateway that buffered the stream would read all 215 MB before it went quiet.
    const total = chunks * (chunkText.length + 150)
    const held = 96 * 1024 * 1024
    let stalledAt = upstream.totals().bytes
    let quiet = 0
    for (let i = 0; i < 100 && quiet < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 300))
      const now = upstream.totals().bytes
      quiet = now - stalledAt < 256 * 1024 ? quiet + 1 : 0
      stalledAt = now
    }
    expect(quiet).toBe(3)
    expect(total).toBeGreaterThan(2 * held)
    expect(stalledAt).toBeLessThan(held)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(upstream.totals().bytes).toBeLessThan(held)
    // reading again resumes the stream: the upstream moves on well past where it was held (not to the end: 215 MB
    // through the gateway takes long on a loaded machine, and the point is only that the hold is released)
    const resumeFrom = upstream.totals().bytes
    response.resume()
    for (let i = 0; i < 200 && upstream.totals().bytes < resumeFrom + 8 * 1024 * 1024; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(upstream.totals().bytes).toBeGreaterThanOrEqual(resumeFrom + 8 * 1024 * 1024)
    request.destroy()
  }, 90_000)
})
