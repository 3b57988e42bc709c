/**
 * The gateway under faults and attack, as figures: `apps/gateway/dist/main.js` in its own process (as operators run
 * it), the node:http mock upstream on loopback. Each scenario prints its figures (`[reliability] …`) and fails when
 * its property breaks. Bounded: a few seconds per scenario.
 */
import { spawn } from "node:child_process"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import { RedisServer } from "@conduitkit/core/testing"
import * as MockUpstream from "@conduitkit/mock-upstream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chat, figures, type Gateway, root, startGateway } from "./support.js"

// Test budgets below are 240 s: each test starts gateway processes, which may take up to 150 s to listen on a loaded
// machine (test/support.ts); the properties are timed inside the tests.

let mock: MockUpstream.MockUpstream
beforeAll(async () => {
  mock = await MockUpstream.start()
})
afterAll(() => mock?.close())

describe("issue 17: never a made-up answer, never a hang", () => {
  it("mixed live / keyless providers: no simulated answer reaches a client that did not ask for one", async () => {
    mock.reset()
    mock.configure({ rate5xx: 0.5 })
    const gateway = await startGateway({ MOONSHOT_API_KEY: "sk-live", MOONSHOT_BASE_URL: mock.baseURL("moonshot") })
    try {
      // every built-in name and both providers' ids, with the live provider failing half its attempts
      const models = ["default", "fast", "thinking", "vision", "kimi/kimi-k2.6", "glm/glm-4.6"]
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => chat(gateway.url, models[i % models.length]!, `mixed-${i}`))
      )
      // the simulations' canned text names them ("Hello! I am GLM…", "Hello from simulated Kimi.")
      const simulated = answers.filter(
        (answer) => answer.simulated !== null || (answer.status === 200 && !/"content":"tok0 /.test(answer.body))
      )
      figures("mixed live/simulated", {
        requests: answers.length,
        ok: answers.filter((answer) => answer.status === 200).length,
        errors: answers.filter((answer) => answer.status >= 400).length,
        simulatedAnswers: simulated.length
      })
      expect(simulated).toEqual([])
      expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThan(0)
    } finally {
      mock.configure({})
      expect(await gateway.stop()).toBe(0)
    }
  }, 240_000)

  it("SIGTERM to the README's command (npx -y pnpm@10.34.8 gateway) stops the gateway gracefully", async () => {
    // the exact chain: npm exec, sh -c pnpm, pnpm's node wrapper, pnpm, tooling/commands' gateway (a cached turbo
    // build, then the gateway)
    const child = spawn("npx", ["-y", "pnpm@10.34.8", "gateway"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir(), PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const closed = new Promise<void>((resolve) => child.stdout?.once("close", () => resolve()))
    let errors = ""
    child.stderr?.on("data", (data: Buffer) => {
      errors += data.toString("utf8")
    })
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${output}`)), 150_000)
      child.stdout?.on("data", (data: Buffer) => {
        output += data.toString("utf8")
        const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)
        if (match?.[1] !== undefined) {
          clearTimeout(timer)
          resolve(match[1])
        }
      })
    })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
    const signalled = performance.now()
    child.kill("SIGTERM")
    // the gateway's stdout (shared down the chain) closes when the gateway process exits
    await closed
    const stoppedMs = Math.round(performance.now() - signalled)
    const refused = await fetch(`${url}/healthz`).then(
      () => false,
      () => true
    )
    figures("SIGTERM through the README command", { stoppedMs, portClosed: refused })
    expect(errors).toContain("is gone: stopping")
    expect(refused).toBe(true)
  }, 240_000)

  it("edges: deep JSON, early disconnects and the gauges, SIGTERM at the deadline", async () => {
    mock.reset()
    mock.configure({ latencyMs: 30_000 })
    const gateway = await startGateway({
      MOONSHOT_API_KEY: "sk-live",
      MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
      CONDUIT_SHUTDOWN_GRACE_MS: "1000"
    })
    try {
      const deep = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"model":"kimi/kimi-k2.6","messages":[{"role":"user","content":"deep"}],"metadata":${"[".repeat(100_000)}${"]".repeat(100_000)}}`
      })
      // 30 clients leave while their upstream call hangs
      const leaving = Array.from({ length: 30 }, (_, i) => {
        const req = http.request(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" }
        })
        req.on("error", () => undefined)
        req.end(JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: `leave-${i}` }] }))
        return req
      })
      const started = performance.now()
      while (mock.totals().requests < 30 && performance.now() - started < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      for (const req of leaving) req.destroy()
      const logged = () => gateway.lines.filter((line) => line.msg === "request" && line.status === 499).length
      while (logged() < 30 && performance.now() - started < 15_000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      const inFlight = Number(/^conduit_gateway_in_flight_requests (\d+)/m.exec(metrics)?.[1]) - 1
      // one request still running when SIGTERM arrives
      const pending = fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "req-at-deadline" },
        body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "at the deadline" }] })
      })
      while (mock.records.get("at the deadline") === undefined && performance.now() - started < 20_000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const signalled = performance.now()
      gateway.process.kill("SIGTERM")
      const atDeadline = await pending
      const deadlineMs = Math.round(performance.now() - signalled)
      const envelope = (await atDeadline.json()) as { error?: { code?: string } }
      expect(await gateway.stop()).toBe(0)
      figures("edges", {
        deepJsonStatus: deep.status,
        deepJsonUpstreamAttempts: mock.records.get("deep")?.attempts ?? 0,
        clientsLeft: leaving.length,
        loggedAs499: logged(),
        inFlightAfter: inFlight,
        deadlineStatus: atDeadline.status,
        deadlineCode: envelope.error?.code,
        deadlineRequestId: atDeadline.headers.get("x-request-id"),
        deadlineMs
      })
      expect(deep.status).toBe(400)
      expect(mock.records.get("deep")).toBeUndefined()
      expect(logged()).toBe(30)
      expect(inFlight).toBe(0)
      expect([atDeadline.status, envelope.error?.code]).toEqual([503, "server_shutting_down"])
      expect(atDeadline.headers.get("x-request-id")).toBe("req-at-deadline")
      expect(gateway.lines.find((line) => line.requestId === "req-at-deadline")).toMatchObject({ status: 503 })
    } finally {
      mock.configure({})
      gateway.process.kill("SIGKILL")
    }
  }, 240_000)

  it("connections without a byte, under a 256-fd limit: /healthz and chat answer throughout, the silent ones are closed", async () => {
    mock.reset()
    const gateway = await startGateway(
      {
        MOONSHOT_API_KEY: "sk-live",
        MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
        CONDUIT_HEADERS_TIMEOUT_MS: "2000"
      },
      256
    )
    const silent: Array<{ closed: boolean }> = []
    const sockets: Array<net.Socket> = []
    try {
      const opened = performance.now()
      for (let i = 0; i < 600; i++) {
        const state = { closed: false }
        const socket = net.connect(Number(new URL(gateway.url).port), "127.0.0.1")
        socket.on("error", () => undefined)
        socket.on("close", () => {
          state.closed = true
        })
        silent.push(state)
        sockets.push(socket)
      }
      // /healthz every 100 ms and a chat request every 500 ms, for 3 s, while the 600 connections sit there
      let healthOk = 0
      let healthTotal = 0
      const chats: Array<number> = []
      while (performance.now() - opened < 3_000) {
        const round = performance.now()
        healthTotal++
        const status = await fetch(`${gateway.url}/healthz`).then(
          (r) => r.status,
          () => 0
        )
        if (status === 200) healthOk++
        if (healthTotal % 5 === 0) chats.push((await chat(gateway.url, "kimi/kimi-k2.6", `fd-${healthTotal}`)).status)
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 100 - (performance.now() - round))))
      }
      // the gateway holds no silent connection once the headers timeout (2 s) and a loaded machine's margin passed
      const scrape = async () => {
        const text = await (await fetch(`${gateway.url}/metrics`)).text()
        const value = (pattern: string) => Number(new RegExp(`^${pattern} (\\d+)`, "m").exec(text)?.[1])
        return {
          open: value("conduit_gateway_connections_open"),
          evicted: value('conduit_gateway_connections_closed_total\\{reason="evicted_idle"\\}'),
          noByte: value('conduit_gateway_connections_closed_total\\{reason="no_byte"\\}')
        }
      }
      let counts = await scrape()
      while (counts.open > 2 && performance.now() - opened < 10_000) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        counts = await scrape()
      }
      const drainedMs = Math.round(performance.now() - opened)
      figures("silent connections, 256 fds", {
        silentOpened: silent.length,
        closedSeenByClient: silent.filter((s) => s.closed).length,
        gatewayOpenAfter: counts.open,
        drainedMs,
        evictedIdle: counts.evicted,
        closedNoByte: counts.noByte,
        healthOk,
        healthTotal,
        chatOk: chats.filter((status) => status === 200).length,
        chatTotal: chats.length
      })
      expect(healthOk).toBe(healthTotal)
      expect(chats.every((status) => status === 200)).toBe(true)
      expect(counts.open).toBeLessThanOrEqual(2)
    } finally {
      for (const socket of sockets) socket.destroy()
      expect(await gateway.stop()).toBe(0)
    }
  }, 240_000)

  it("Redis killed and restarted under steady load from two gateways: nothing lost, no duplicate per instance", async () => {
    mock.reset()
    const redis = await RedisServer.startRedisServer()
    const env = {
      MOONSHOT_API_KEY: "sk-live",
      MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
      REDIS_URL: redis.url,
      CONDUIT_RATE_LIMIT_RPM: "100000"
    }
    const gateways = await Promise.all([startGateway(env), startGateway(env)])
    const health = (gateway: Gateway) =>
      fetch(`${gateway.url}/healthz`).then(
        async (r) => ((await r.json()) as { status: string }).status,
        () => "unreachable"
      )
    try {
      const statuses: Array<number> = []
      let running = true
      // steady load: one request every 20 ms, alternating gateways
      const load = (async () => {
        for (let i = 0; running; i++) {
          statuses.push((await chat(gateways[i % 2]!.url, "kimi/kimi-k2.6", `steady-${i}`)).status)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })()
      await new Promise((resolve) => setTimeout(resolve, 1_000))
      await redis.stop()
      const stoppedAt = performance.now()
      let degradedSeen = false
      while (!degradedSeen && performance.now() - stoppedAt < 5_000) {
        degradedSeen = (await health(gateways[0]!)) === "degraded"
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const detectMs = Math.round(performance.now() - stoppedAt)
      // idempotency during the outage: the same key four times on one gateway (three at once, one after)
      const idempotent = (gateway: Gateway) =>
        fetch(`${gateway.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": "outage-key" },
          body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "outage idempotent" }] })
        }).then((r) => r.status)
      const sameInstance = [
        ...(await Promise.all([1, 2, 3].map(() => idempotent(gateways[0]!)))),
        await idempotent(gateways[0]!)
      ]
      const perInstanceRuns = mock.records.get("outage idempotent")?.attempts ?? 0
      await idempotent(gateways[1]!)
      const acrossInstancesRuns = mock.records.get("outage idempotent")?.attempts ?? 0
      await new Promise((resolve) => setTimeout(resolve, 500))
      await redis.restart()
      const restartedAt = performance.now()
      while (
        (await Promise.all(gateways.map(health))).some((status) => status !== "ok") &&
        performance.now() - restartedAt < 10_000
      ) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      const recoverMs = Math.round(performance.now() - restartedAt)
      await new Promise((resolve) => setTimeout(resolve, 500))
      running = false
      await load
      const lost = statuses.filter((status) => status !== 200).length
      figures("Redis outage, two gateways", {
        requests: statuses.length,
        lost,
        degradedDetectedMs: detectMs,
        recoveredMs: recoverMs,
        idempotentStatuses: sameInstance,
        runsPerKeyWithinInstance: perInstanceRuns,
        runsPerKeyAcrossInstances: acrossInstancesRuns
      })
      expect(degradedSeen).toBe(true)
      expect(lost).toBe(0)
      expect(sameInstance).toEqual([200, 200, 200, 200])
      expect(perInstanceRuns).toBe(1)
      expect(recoverMs).toBeLessThan(10_000)
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.stop()))
      await redis.stop()
    }
  }, 240_000)

  it("retry budget: an upstream outage multiplies the load by at most 1 + the budget, not by the attempts", async () => {
    mock.reset()
    mock.configure({ rate5xx: 1 })
    const gateway = await startGateway({
      MOONSHOT_API_KEY: "sk-live",
      MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
      CONDUIT_MAX_CONCURRENT: "1000"
    })
    try {
      const requests = 300
      const answers = await Promise.all(
        Array.from({ length: requests }, (_, i) => chat(gateway.url, "kimi/kimi-k2.6", `budget-${i}`))
      )
      const attempts = mock.totals().requests
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
      const denied = Number(/^conduit_gateway_retry_budget_denied_total\{provider="kimi"\} (\d+)$/m.exec(metrics)?.[1])
      figures("retry budget during an outage", {
        requests,
        upstreamAttempts: attempts,
        loadMultiplier: Math.round((attempts / requests) * 100) / 100,
        withoutBudget: 3,
        retriesDenied: denied
      })
      expect(answers.every((answer) => answer.status >= 500)).toBe(true)
      // default budget: 20% of the requests (60), at least 5 a second over 10 s (50)
      expect(attempts).toBe(requests + 60)
      expect(denied).toBeGreaterThan(0)
    } finally {
      mock.configure({})
      expect(await gateway.stop()).toBe(0)
    }
  }, 240_000)
})
