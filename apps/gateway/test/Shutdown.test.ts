/**
 * Graceful shutdown (what SIGTERM does: closing the gateway's scope): the listener closes at once, a stream that
 * finishes within the grace period finishes normally, a longer one ends with a `server_shutting_down` error event
 * shortly before the deadline, and the gateway is gone by then.
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { chunk, mswServer, readFrames, realFetch, respond, startGateway } from "./support.js"

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const paced = (count: number, delayMs: number) =>
  MockUpstream.sse(
    [
      ...Array.from({ length: count }, (_, i) =>
        chunk(i === 0 ? { role: "assistant", content: "c0 " } : { content: `c${i} ` })
      ),
      chunk({}, "stop")
    ],
    { delayMs }
  )

const openStream = (url: string) =>
  realFetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "ref/ref-chat-1", stream: true, messages: [{ role: "user", content: "go" }] })
  })

/** Whether a new connection is accepted (the real fetch: MSW fakes `net.connect` sockets in this process). */
const accepts = (url: string) =>
  realFetch(`${url}/healthz`).then(
    () => true,
    (error: { cause?: { code?: string } }) => {
      expect(error.cause?.code).toBe("ECONNREFUSED")
      return false
    }
  )

describe("graceful shutdown", () => {
  it("stops accepting at once and lets an open stream finish within the grace period", async () => {
    // a 400 ms stream and a 10 s grace period: both bounds below hold on a loaded machine, and a shutdown that
    // waited out the grace period instead of the last response would still take 10 s
    const gateway = await startGateway({ config: { shutdownGraceMs: 10_000 } })
    respond(server, "ref", () => paced(10, 40))
    const response = await openStream(gateway.url)
    expect(response.status).toBe(200)
    const started = performance.now()
    const closing = gateway.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(await accepts(gateway.url)).toBe(false)
    const { frames } = await readFrames(response)
    expect(frames.at(-1)?.data).toBe("[DONE]")
    expect(frames.filter((frame) => frame.event === "error")).toEqual([])
    const bodyDone = performance.now()
    expect(bodyDone - started).toBeLessThan(10_000)
    await closing
    // closed as soon as the last response was written, well before the end of the 10 s grace period (the margin is
    // for a loaded CI machine)
    expect(performance.now() - started).toBeLessThan(8_000)
  })

  it("ends a stream that outlasts the grace period with an error event, then exits by the deadline", async () => {
    const gateway = await startGateway({ config: { shutdownGraceMs: 1_000 } })
    let cancelled = false
    respond(server, "ref", () =>
      MockUpstream.sse(
        // 30 s of stream: the bounds below (5 s, 6 s) leave a loaded machine room and still tell a stream ended at
        // the deadline from one left to run
        Array.from({ length: 600 }, (_, i) =>
          chunk(i === 0 ? { role: "assistant", content: "c0 " } : { content: `c${i} ` })
        ),
        { delayMs: 50, onCancel: () => (cancelled = true) }
      )
    )
    const response = await openStream(gateway.url)
    const started = performance.now()
    const closing = gateway.close()
    const { frames } = await readFrames(response)
    const elapsed = performance.now() - started
    const last = frames.at(-1)
    expect(last?.event).toBeUndefined()
    expect(JSON.parse(last?.data ?? "{}").error).toMatchObject({ code: "server_shutting_down", type: "server_error" })
    expect(frames.map((frame) => frame.data)).not.toContain("[DONE]")
    expect(frames.length).toBeGreaterThan(5)
    // the deadline is the grace period minus its margin (900 ms)
    expect(elapsed).toBeGreaterThan(800)
    expect(elapsed).toBeLessThan(5_000)
    await closing
    expect(performance.now() - started).toBeLessThan(6_000)
    expect(cancelled).toBe(true)
  })
})
