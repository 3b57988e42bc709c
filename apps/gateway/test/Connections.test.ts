/**
 * Connection hygiene: connections that send nothing, send headers slowly, or idle between requests are closed on
 * bounded timers; beyond `maxConnections` a new connection evicts the oldest one without a running request, or is
 * refused with a 503 `server_overloaded` envelope when every connection runs a request.
 */
import * as net from "node:net"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Connections from "../src/Connections.js"
import type * as GatewayConfig from "../src/GatewayConfig.js"
import * as Providers from "../src/Providers.js"
import { eventually, realFetch, type Started, startGateway } from "./support.js"

// no MSW here: its socket interception would hold partial requests back from the gateway's real socket
let upstream: Upstream
beforeAll(async () => {
  upstream = await startUpstream({ latencyMs: 60_000 })
})
afterAll(() => upstream.close())

const kimi = () =>
  Providers.entry(
    Providers.kimi,
    Providers.kimi.connect({ apiKey: Redacted.make("sk-upstream"), baseURL: upstream.baseURL("moonshot") }),
    "live"
  )

const limits = (overrides: Partial<GatewayConfig.ConnectionLimits>): GatewayConfig.ConnectionLimits => ({
  maxConnections: 100,
  headersTimeoutMs: 60_000,
  receiveTimeoutMs: 60_000,
  keepAliveTimeoutMs: 60_000,
  ...overrides
})

const withGateway = async (connections: GatewayConfig.ConnectionLimits, body: (gateway: Started) => Promise<void>) => {
  const gateway = await startGateway({ config: { connections }, providers: [kimi()] })
  try {
    await body(gateway)
  } finally {
    await gateway.close()
  }
}

/** A raw connection: whether (and when) the server closed it, and what it answered. */
const connect = (port: number) => {
  const socket = net.connect(port, "127.0.0.1")
  let received = ""
  let closedAt: number | undefined
  socket.on("data", (data: Buffer) => {
    received += data.toString("utf8")
  })
  socket.on("error", () => undefined)
  socket.on("close", () => {
    closedAt = performance.now()
  })
  const opened = new Promise<void>((resolve) => socket.once("connect", () => resolve()))
  return { socket, opened, received: () => received, closedAt: () => closedAt }
}

const counter = async (url: string, reason: string) => {
  const text = await (await realFetch(`${url}/metrics`)).text()
  return Number(
    new RegExp(`^conduit_gateway_connections_closed_total\\{reason="${reason}"\\} (\\d+)`, "m").exec(text)?.[1]
  )
}

describe("Connections", () => {
  it("the default cap is half the fd limit after a reserve, within [16, 10000]", () => {
    expect(Connections.defaultMaxConnections("/nonexistent")).toBe(10_000)
    expect(Connections.defaultMaxConnections("/proc/self/limits")).toBeGreaterThanOrEqual(16)
  })

  it("connections that never send a byte are closed after the headers timeout", async () => {
    await withGateway(limits({ headersTimeoutMs: 300 }), async (gateway) => {
      const silent = Array.from({ length: 20 }, () => connect(gateway.port))
      await Promise.all(silent.map((c) => c.opened))
      const opened = performance.now()
      await eventually(() => silent.every((c) => c.closedAt() !== undefined))
      // closed on the 300 ms bound, far below any default (60 s here): 20 s is what a loaded machine may add
      const latest = Math.max(...silent.map((c) => (c.closedAt() ?? 0) - opened))
      expect(latest).toBeLessThan(20_000)
      expect(await counter(gateway.url, "no_byte")).toBe(20)
      expect((await realFetch(`${gateway.url}/healthz`)).status).toBe(200)
    })
  })

  it("headers sent slowly are cut by the headers timeout", async () => {
    await withGateway(limits({ headersTimeoutMs: 300 }), async (gateway) => {
      const slow = connect(gateway.port)
      await slow.opened
      slow.socket.write("GET /healthz HTTP/1.1\r\n")
      const drip = setInterval(() => slow.socket.writable && slow.socket.write("x"), 50)
      try {
        await eventually(() => slow.closedAt() !== undefined)
      } finally {
        clearInterval(drip)
      }
      expect(slow.received()).not.toContain("200 OK")
    })
  })

  it("a connection idle between requests is closed after the keep-alive timeout", async () => {
    await withGateway(limits({ keepAliveTimeoutMs: 300 }), async (gateway) => {
      const idle = connect(gateway.port)
      await idle.opened
      idle.socket.write("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
      await eventually(() => idle.received().includes("\r\n\r\n{"))
      expect(idle.received()).toMatch(/^HTTP\/1\.1 200/)
      await eventually(() => idle.closedAt() !== undefined)
    })
  })

  it("beyond the cap the oldest idle connection makes room; when all run requests, a 503 envelope refuses", async () => {
    await withGateway(limits({ maxConnections: 6 }), async (gateway) => {
      const silent = Array.from({ length: 6 }, () => connect(gateway.port))
      await Promise.all(silent.map((c) => c.opened))
      await new Promise((resolve) => setTimeout(resolve, 50))
      // /healthz answers though the cap is reached: the oldest silent connection was evicted
      expect((await realFetch(`${gateway.url}/healthz`)).status).toBe(200)
      expect(await counter(gateway.url, "evicted_idle")).toBeGreaterThanOrEqual(1)
      for (const c of silent) c.socket.destroy()
      await new Promise((resolve) => setTimeout(resolve, 200))
      // six requests running (an upstream that answers after a minute), on six connections, one after the other
      upstream.reset()
      const body = JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "hang" }] })
      const busy: Array<ReturnType<typeof connect>> = []
      for (let i = 0; i < 6; i++) {
        const c = connect(gateway.port)
        busy.push(c)
        await c.opened
        c.socket.write(
          `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
        )
        await eventually(() => upstream.totals().requests === i + 1)
      }
      const refused = connect(gateway.port)
      await eventually(() => refused.closedAt() !== undefined)
      expect(refused.received()).toMatch(/^HTTP\/1\.1 503/)
      expect(refused.received()).toContain('"code":"server_overloaded"')
      expect(busy.every((c) => c.closedAt() === undefined)).toBe(true)
      for (const c of busy) c.socket.destroy()
    })
  })
})
