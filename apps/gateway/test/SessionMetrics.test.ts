/**
 * `/metrics` carries the session manager's figures: requests running and queued while they are, then completed,
 * failed and timed-out totals and the p50/p95 of queue and run time.
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  chunk,
  client,
  completionBody,
  errorBody,
  mswServer,
  realFetch,
  respond,
  type Started,
  startGateway
} from "./support.js"

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const scrape = async (gateway: Started) => {
  const text = await (await realFetch(`${gateway.url}/metrics`)).text()
  return {
    text,
    value: (series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `))
      return line === undefined ? undefined : Number(line.slice(series.length + 1))
    }
  }
}

describe("/metrics: session manager", () => {
  it("shows running and queued requests, outcomes by kind and queue / run percentiles", async () => {
    const gateway = await startGateway({
      config: {
        sessions: {
          maxConcurrent: 1,
          maxConcurrentPerSession: 1,
          maxQueued: 10,
          queueTimeoutMs: 10_000,
          // the held requests below finish well inside it on a loaded machine; the slow one never does
          requestTimeoutMs: 5_000
        }
      }
    })
    try {
      let release: () => void = () => {}
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      respond(server, "ref", async ({ body }) => {
        const content = JSON.stringify(body.messages)
        if (content.includes("held")) await held
        if (content.includes("bad")) return MockUpstream.error(400, errorBody("no", "invalid_request_error", null))
        if (content.includes("slow")) await new Promise((resolve) => setTimeout(resolve, 60_000).unref())
        return MockUpstream.json(completionBody({ content: "ok" }))
      })
      const sdk = client(gateway)
      const ask = (content: string) =>
        sdk.chat.completions.create({ model: "ref/ref-chat-1", messages: [{ role: "user", content }] })

      const before = await scrape(gateway)
      expect(before.text).toContain("# TYPE conduit_gateway_session_requests_active gauge")
      expect(before.text).toContain("# TYPE conduit_gateway_session_queue_seconds summary")
      expect(before.value("conduit_gateway_session_requests_active")).toBe(0)
      expect(before.value('conduit_gateway_session_requests_total{outcome="completed"}')).toBe(0)

      // one request holds the only permit, a second waits for it
      const first = ask("held 1")
      const second = ask("held 2")
      let during = await scrape(gateway)
      const queued = Date.now() + 20_000
      while (during.value("conduit_gateway_session_requests_queued") !== 1 && Date.now() < queued) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        during = await scrape(gateway)
      }
      expect(during.value("conduit_gateway_session_requests_active")).toBe(1)
      expect(during.value("conduit_gateway_session_requests_queued")).toBe(1)
      expect(during.value("conduit_gateway_session_requests_in_flight")).toBe(2)
      expect(during.value("conduit_gateway_session_permits_available")).toBe(0)
      await new Promise((resolve) => setTimeout(resolve, 50))
      release()
      await Promise.all([first, second])

      await expect(ask("bad request")).rejects.toMatchObject({ status: 400 })
      await expect(ask("slow request")).rejects.toMatchObject({ status: 504 })

      const after = await scrape(gateway)
      expect(after.value("conduit_gateway_session_requests_active")).toBe(0)
      expect(after.value("conduit_gateway_session_requests_queued")).toBe(0)
      expect(after.value("conduit_gateway_session_permits_available")).toBe(1)
      expect(after.value('conduit_gateway_session_requests_total{outcome="completed"}')).toBe(2)
      expect(after.value('conduit_gateway_session_requests_total{outcome="failed"}')).toBe(1)
      expect(after.value('conduit_gateway_session_requests_total{outcome="timed_out"}')).toBe(1)
      expect(after.value('conduit_gateway_session_requests_total{outcome="cancelled"}')).toBe(0)
      expect(after.value("conduit_gateway_session_requests_rejected_total")).toBe(0)
      // the second request waited at least the 50 ms the first one was held
      expect(after.value('conduit_gateway_session_queue_seconds{quantile="0.95"}')).toBeGreaterThanOrEqual(0.04)
      expect(after.value('conduit_gateway_session_run_seconds{quantile="0.5"}')).toBeGreaterThan(0)
      // the slow request ran until the 5 s request timeout
      expect(after.value('conduit_gateway_session_run_seconds{quantile="0.95"}')).toBeGreaterThanOrEqual(4.5)
    } finally {
      await gateway.close()
    }
  })
  it("counts a client that leaves mid-stream as cancelled (not completed)", async () => {
    const gateway = await startGateway({})
    try {
      respond(server, "ref", () =>
        MockUpstream.sse(
          Array.from({ length: 200 }, (_, i) =>
            chunk(i === 0 ? { role: "assistant", content: "c0 " } : { content: `c${i} ` })
          ),
          { delayMs: 20 }
        )
      )
      const controller = new AbortController()
      const response = await realFetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer unused", "content-type": "application/json" },
        body: JSON.stringify({ model: "ref/ref-chat-1", messages: [{ role: "user", content: "long" }], stream: true }),
        signal: controller.signal
      })
      const reader = response.body!.getReader()
      await reader.read()
      controller.abort()
      await reader.read().catch(() => undefined)
      let after = await scrape(gateway)
      const deadline = Date.now() + 20_000
      while (
        after.value('conduit_gateway_session_requests_total{outcome="cancelled"}') !== 1 &&
        Date.now() < deadline
      ) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        after = await scrape(gateway)
      }
      expect(after.value('conduit_gateway_session_requests_total{outcome="cancelled"}')).toBe(1)
      expect(after.value('conduit_gateway_session_requests_total{outcome="completed"}')).toBe(0)
      expect(after.value("conduit_gateway_session_requests_active")).toBe(0)
      expect(gateway.logs.some((line) => line.clientClosed === true)).toBe(true)
    } finally {
      await gateway.close()
    }
  })
})
