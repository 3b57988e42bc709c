/**
 * The retry budget: during an upstream outage, retries across requests stop at the budget (20% of the requests over
 * 10 s, at least 5 a second) instead of multiplying the load by the attempts per request; `/metrics` shows it.
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { errorBody, mswServer, realFetch, respond, startGateway } from "./support.js"

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const ask = (url: string, i: number) =>
  realFetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "ref/ref-chat-1", messages: [{ role: "user", content: `outage ${i}` }] })
  }).then((response) => response.status)

describe("retry budget", () => {
  it("caps retries during an outage at the budget's floor (ratio 0: 5 a second over 10 s), visible in /metrics", async () => {
    const gateway = await startGateway({ config: { retryBudgetRatio: 0 } })
    try {
      const recorder = respond(server, "ref", () =>
        MockUpstream.json(errorBody("upstream down", "server_error", null), { status: 503 })
      )
      const started = Date.now()
      const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(gateway.url, i)))
      expect(statuses.every((status) => status >= 500)).toBe(true)
      // 40 first attempts and 50 retries; without the budget 2 retries each (120 attempts)
      expect(recorder.count).toBe(90)
      const metrics = await (await realFetch(`${gateway.url}/metrics`)).text()
      const gauge = (name: string) =>
        Number(new RegExp(`^conduit_gateway_retry_budget_${name}\\{provider="ref"\\} (\\d+)$`, "m").exec(metrics)?.[1])
      // the gauges cover the budget's 10 s window: exact while the whole run is inside it (a loaded machine can
      // stretch the 40 calls' retries past it, and then the oldest have left the window)
      if (Date.now() - started < 9_000) {
        expect([gauge("requests"), gauge("retries"), gauge("available")]).toEqual([40, 50, 0])
      } else {
        expect(gauge("requests")).toBeLessThanOrEqual(40)
        expect(gauge("retries")).toBeLessThanOrEqual(50)
      }
      // a call whose retry was refused stops there: how many refusals depends on the interleaving
      expect(
        Number(/^conduit_gateway_retry_budget_denied_total\{provider="ref"\} (\d+)$/m.exec(metrics)?.[1])
      ).toBeGreaterThan(0)
    } finally {
      await gateway.close()
    }
  })
})
