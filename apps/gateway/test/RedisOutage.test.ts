/**
 * Redis fails soft: while the `redis-server` two gateways share is down, `/healthz` says `degraded` with the reason,
 * requests keep being answered (rate limits per instance, idempotency keys and the response cache in memory), a
 * fail-closed gateway (`CONDUIT_RATE_LIMIT_FAIL=closed`) refuses and is not ready; when Redis is back, shared state
 * resumes without a restart; a key's budget is checked and charged per instance meanwhile. The upstream is the node:http
 * mock on loopback.
 */

import type { ModelsConfig } from "@conduitkit/core"
import { RedisServer } from "@conduitkit/core/testing"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Auth from "../src/Auth.js"
import type * as GatewayConfig from "../src/GatewayConfig.js"
import * as Providers from "../src/Providers.js"
import { realFetch, type Started, startGateway } from "./support.js"

let upstream: Upstream
let redis: RedisServer.RedisServer
beforeAll(async () => {
  upstream = await startUpstream({ chunks: 2, chunkText: "ok{i} " })
  redis = await RedisServer.startRedisServer()
})
afterAll(async () => {
  await redis?.stop()
  await upstream?.close()
})

const start = (config: Partial<GatewayConfig.GatewayConfig>, models?: ModelsConfig.ModelsConfig) =>
  startGateway({
    config: { redisUrl: Redacted.make(redis.url), ...config },
    ...(models !== undefined ? { models } : {}),
    providers: [
      Providers.entry(
        Providers.kimi,
        Providers.kimi.connect({ apiKey: Redacted.make("sk-upstream"), baseURL: upstream.baseURL("moonshot") }),
        "live"
      )
    ]
  })

const ask = async (gateway: Started, content: string, headers: Record<string, string> = {}) => {
  const response = await realFetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content }] })
  })
  const body = (await response.json()) as { error?: { code?: string } }
  return { status: response.status, code: body.error?.code, idempotency: response.headers.get("x-conduit-attempts") }
}

/** Waits until `predicate` holds (checked every 100 ms), failing after `ms` (30 s below: a loaded machine reconnects late). */
const until = async (predicate: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const health = async (gateway: Started, path = "/healthz") => {
  const response = await realFetch(`${gateway.url}${path}`)
  return { status: response.status, body: (await response.json()) as { status: string; reasons?: Array<string> } }
}

describe("Redis away and back", () => {
  it("degraded but answering while Redis is down; fail-closed refuses; shared again once it is back", async () => {
    const perKey = { requestsPerMinute: 5 }
    const a = await start({ rateLimits: { perKey } })
    const b = await start({ rateLimits: { perKey } })
    // its own client key, so its counter is not a and b's
    const closed = await start({
      rateLimits: { perKey: { requestsPerMinute: 1_000 } },
      rateLimitFail: "closed",
      apiKeys: [Redacted.make("sk-closed")]
    })
    const closedKey = { authorization: "Bearer sk-closed" }
    try {
      expect((await health(a)).body.status).toBe("ok")
      await redis.stop()
      await until(async () => (await health(a)).body.status === "degraded", 30_000)
      const degraded = await health(a)
      expect(degraded.status).toBe(200)
      expect(degraded.body.reasons?.[0]).toContain("redis_unavailable")
      // each gateway pings on its own: wait for the fail-closed one to see the outage too
      await until(async () => (await health(closed, "/readyz")).status === 503, 30_000)
      expect((await health(a, "/readyz")).status).toBe(200)

      // rate limits per instance: 5 per minute on each gateway, none refused for the store
      const onA = []
      for (let i = 0; i < 6; i++) onA.push(await ask(a, `outage-a-${i}`))
      expect(onA.slice(0, 5).map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200])
      expect([onA[5]?.status, onA[5]?.code]).toEqual([429, "rate_limit_exceeded"])
      expect((await ask(b, "outage-b-0")).status).toBe(200)
      // fail-closed: refused while the store is away
      expect(await ask(closed, "outage-closed", closedKey)).toMatchObject({
        status: 503,
        code: "rate_limit_store_unavailable"
      })

      // idempotency per instance: concurrent and later duplicates on one gateway run the call once
      upstream.reset()
      const key = { "idempotency-key": "outage-key-1" }
      const duplicates = await Promise.all([1, 2, 3].map(() => ask(b, "idempotent during the outage", key)))
      expect(duplicates.map((answer) => answer.status)).toEqual([200, 200, 200])
      expect((await ask(b, "idempotent during the outage", key)).status).toBe(200)
      expect(upstream.records.get("idempotent during the outage")?.attempts).toBe(1)

      await redis.restart()
      // each gateway's client reconnects on its own
      for (const gateway of [a, b]) await until(async () => (await health(gateway)).body.status === "ok", 30_000)
      await until(async () => (await health(closed, "/readyz")).status === 200, 30_000)
      expect((await ask(closed, "after the outage", closedKey)).status).toBe(200)
      // shared again: the counter in Redis (emptied by the restart) counts a's and b's requests together
      const shared = []
      for (let i = 0; i < 6; i++) shared.push(await ask(i % 2 === 0 ? a : b, `after-${i}`))
      expect(shared.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 429])
    } finally {
      await Promise.all([a.close(), b.close(), closed.close()])
    }
  }, 60_000)

  it("a key's budget: per instance while Redis is down (fail-soft, degraded), shared again once it is back", async () => {
    // 12 input tokens at 10,000 USD per million, 2 output tokens at 20,000: 0.16 USD a request; 0.3 USD a day
    const gateway = await start(
      { apiKeys: [Redacted.make("sk-budget")] },
      {
        pricing: { "kimi/kimi-k2.6": { currency: "USD", inputPerMillion: 10_000, outputPerMillion: 20_000 } },
        keys: { [Auth.keyId("sk-budget")]: { budget: { amount: 0.3, currency: "USD", period: "day" } } }
      }
    )
    const key = { authorization: "Bearer sk-budget" }
    try {
      expect((await ask(gateway, "budget before", key)).status).toBe(200) // 0.16 in Redis
      await redis.stop()
      await until(async () => (await health(gateway)).body.status === "degraded", 30_000)
      expect((await health(gateway)).body.reasons?.[0]).toContain("key budgets")
      // the instance's own counter starts at 0: two answers, then the third is refused, not a 503
      const during = []
      for (let i = 0; i < 3; i++) during.push(await ask(gateway, `budget during ${i}`, key))
      expect(during.map((answer) => [answer.status, answer.code])).toEqual([
        [200, undefined],
        [200, undefined],
        [429, "budget_exceeded"]
      ])
      await redis.restart()
      await until(async () => (await health(gateway)).body.status === "ok", 30_000)
      // the restarted redis-server lost its counter: the key's spend in Redis starts again
      const after = []
      for (let i = 0; i < 3; i++) after.push(await ask(gateway, `budget after ${i}`, key))
      expect(after.map((answer) => [answer.status, answer.code])).toEqual([
        [200, undefined],
        [200, undefined],
        [429, "budget_exceeded"]
      ])
    } finally {
      await gateway.close()
    }
  }, 60_000)
})
