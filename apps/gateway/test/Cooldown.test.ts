/**
 * Provider cooldown: the pure state machine table-driven, and the gateway skipping a provider that keeps failing in
 * a route with fallbacks, probing it after the cooldown, and coming back (visible in /metrics and /healthz).
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { Cause } from "effect"
import { AiError } from "effect/ai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Cooldown from "../src/Cooldown.js"
import * as Cooldowns from "../src/Cooldowns.js"
import { completionBody, errorBody, mswServer, realFetch, referenceEntry, respond, startGateway } from "./support.js"

const policy: Cooldown.Policy = { failures: 2, cooldownMs: 1_000 }
const open = (until: number): Cooldown.State => ({ _tag: "Open", until })
const half = (probeSince: number): Cooldown.State => ({ _tag: "HalfOpen", probeSince })
const closedWith = (failures: number): Cooldown.State => ({ _tag: "Closed", failures })

describe("Cooldown.record", () => {
  it.each<[string, Cooldown.State, Cooldown.Outcome, Cooldown.State]>([
    ["a failure counts", Cooldown.closed, "failure", closedWith(1)],
    ["the policy's failures in a row open it for cooldownMs", closedWith(1), "failure", open(1_100)],
    ["a success resets the count", closedWith(1), "success", Cooldown.closed],
    ["an ignored outcome (a client's 4xx, quota) changes nothing", closedWith(1), "ignored", closedWith(1)],
    ["the probe's success closes it", half(50), "success", Cooldown.closed],
    ["the probe's failure opens it again", half(50), "failure", open(1_100)],
    ["a late failure of a call admitted before it opened keeps the deadline", open(900), "failure", open(900)],
    ["a late success closes it", open(900), "success", Cooldown.closed]
  ])("%s", (_name, state, outcome, expected) => {
    expect(Cooldown.record(state, outcome, 100, policy)).toEqual(expected)
  })

  it("failures: 0 turns cooldown off", () => {
    expect(Cooldown.record(closedWith(5), "failure", 100, { failures: 0, cooldownMs: 1_000 })).toEqual(closedWith(5))
  })
})

describe("Cooldown.admit", () => {
  it.each<[string, Cooldown.State, number, Cooldown.Admission]>([
    ["closed: admitted", closedWith(1), 0, { admitted: true, probe: false, state: closedWith(1) }],
    ["open: skipped until the deadline", open(1_000), 999, { admitted: false, probe: false, state: open(1_000) }],
    [
      "open, deadline passed: this request is the probe",
      open(1_000),
      1_000,
      { admitted: true, probe: true, state: half(1_000) }
    ],
    [
      "half-open: others skip while the probe runs",
      half(1_000),
      1_500,
      { admitted: false, probe: false, state: half(1_000) }
    ],
    [
      "half-open, probe silent for cooldownMs: a new probe",
      half(1_000),
      2_000,
      { admitted: true, probe: true, state: half(2_000) }
    ]
  ])("%s", (_name, state, now, expected) => {
    expect(Cooldown.admit(state, now, policy)).toEqual(expected)
  })
})

describe("Cooldown.classify", () => {
  const failWith = (reason: AiError.AiErrorReason) => Cause.fail(AiError.make({ module: "t", method: "t", reason }))
  it.each<[string, Cause.Cause<unknown>, Cooldown.Outcome]>([
    ["a 5xx", failWith(new AiError.InternalProviderError({ description: "HTTP 503" })), "failure"],
    ["a rate limit", failWith(new AiError.RateLimitError({})), "failure"],
    [
      "a network error",
      failWith(new AiError.NetworkError({ reason: "TransportError", method: "POST", url: "u" })),
      "failure"
    ],
    ["a client's invalid request", failWith(new AiError.InvalidRequestError({ description: "bad" })), "ignored"],
    ["an exhausted quota", failWith(new AiError.QuotaExhaustedError({})), "ignored"],
    ["an auth failure", failWith(new AiError.AuthenticationError({ kind: "InvalidKey" })), "ignored"],
    ["an interruption", Cause.interrupt(), "ignored"]
  ])("%s: %s", (_name, cause, expected) => {
    expect(Cooldown.classify(cause)).toBe(expected)
  })
})

describe("Cooldowns.route", () => {
  const step = (provider: string) => ({
    name: `${provider}/m`,
    provider,
    model: "m",
    info: {} as never,
    config: {},
    fallbacks: []
  })
  const route = { ...step("a"), name: "smart", fallbacks: [step("b")] }
  it("drops a cooling step, keeps a route whose every step cools down, and lets the probe through", () => {
    let now = 0
    const holder = Cooldowns.make(policy, () => now)
    holder.record("a", "failure")
    holder.record("a", "failure")
    const skipping = holder.route(route)
    expect([skipping.provider, skipping.fallbacks.map((s) => s.provider)]).toEqual(["b", []])
    expect(skipping.name).not.toBe("smart")
    holder.record("b", "failure")
    holder.record("b", "failure")
    expect(holder.route(route)).toBe(route)
    now = 1_000
    // a's cooldown is over: this call probes it, with b (still open) left out
    expect(holder.route(route).provider).toBe("a")
    expect(holder.snapshot().find((entry) => entry.provider === "a")).toMatchObject({ state: "half-open", probes: 1 })
  })
})

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const ask = (url: string) =>
  realFetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "smart", messages: [{ role: "user", content: "hi" }] })
  })

describe("provider cooldown in the gateway", () => {
  it("skips a failing provider after 2 failed calls, probes it after the cooldown, and comes back", async () => {
    const gateway = await startGateway({
      // long enough that the six calls below end before it does, even on a loaded machine; the test then waits
      // for what the gateway says is left of it (healthz retryInMs), not for a fixed time
      config: { cooldown: { failures: 2, cooldownMs: 5_000 } },
      providers: [referenceEntry("ref"), referenceEntry("backup")],
      models: {
        models: { smart: { target: "ref/ref-chat-1", fallbacks: ["backup/ref-chat-1"], retry: { maxRetries: 0 } } }
      }
    })
    try {
      let down = true
      const primary = respond(server, "ref", () =>
        down
          ? MockUpstream.error(503, errorBody("down", "server_error", null))
          : MockUpstream.json(completionBody({ content: "primary" }))
      )
      const backup = respond(server, "backup", () => MockUpstream.json(completionBody({ content: "backup" })))
      for (let i = 0; i < 6; i++) expect((await ask(gateway.url)).status).toBe(200)
      // 2 failed calls opened it; the 4 calls after went straight to the backup
      expect(primary.count).toBe(2)
      expect(backup.count).toBe(6)
      const health = (await (await realFetch(`${gateway.url}/healthz`)).json()) as {
        cooldowns: Array<{ retryInMs?: number }>
      }
      expect(health).toMatchObject({ status: "degraded", cooldowns: [{ provider: "ref", state: "open" }] })
      const retryInMs = health.cooldowns[0]?.retryInMs
      expect(retryInMs).toBeGreaterThan(0)
      const metrics = await (await realFetch(`${gateway.url}/metrics`)).text()
      expect(metrics).toMatch(/^conduit_gateway_provider_cooldown_state\{provider="ref"\} 1$/m)
      expect(metrics).toMatch(/^conduit_gateway_provider_cooldown_skipped_total\{provider="ref"\} 4$/m)
      down = false
      await new Promise((resolve) => setTimeout(resolve, (retryInMs ?? 0) + 50))
      // the probe succeeds: the primary answers again
      const answer = (await (await ask(gateway.url)).json()) as { choices: Array<{ message: { content: string } }> }
      expect(answer.choices[0]?.message.content).toBe("primary")
      expect(primary.count).toBe(3)
      expect(((await (await realFetch(`${gateway.url}/healthz`)).json()) as { status: string }).status).toBe("ok")
    } finally {
      await gateway.close()
    }
  })

  it("a client's 400 never cools the provider down", async () => {
    const gateway = await startGateway({
      config: { cooldown: { failures: 1, cooldownMs: 60_000 } },
      providers: [referenceEntry("ref"), referenceEntry("backup")],
      models: { models: { smart: { target: "ref/ref-chat-1", fallbacks: ["backup/ref-chat-1"] } } }
    })
    try {
      const primary = respond(server, "ref", () =>
        MockUpstream.error(400, errorBody("bad request", "invalid_request_error", null))
      )
      respond(server, "backup", () => MockUpstream.json(completionBody({ content: "backup" })))
      for (let i = 0; i < 3; i++) expect((await ask(gateway.url)).status).toBe(400)
      expect(primary.count).toBe(3)
      expect(((await (await realFetch(`${gateway.url}/healthz`)).json()) as { status: string }).status).toBe("ok")
    } finally {
      await gateway.close()
    }
  })
})
