/**
 * Two gateway instances on one real Redis behave as one: a rate limit counts requests on both, an idempotency key
 * used on one is replayed by the other, and a deterministic answer cached by one is a hit on the other.
 */
import { MockUpstream, RedisServer } from "@conduitkit/core/testing"
import { Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { client, completionBody, mswServer, respond, type Started, startGateway } from "./support.js"

const server = mswServer()
let redis: RedisServer.RedisServer
let a: Started
let b: Started

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  redis = await RedisServer.startRedisServer()
  const config = {
    redisUrl: Redacted.make(redis.url),
    apiKeys: ["sk-shared", "sk-other", "sk-cache", "sk-outage"].map((key) => Redacted.make(key)),
    rateLimits: { perKey: { requestsPerMinute: 3 } }
  }
  a = await startGateway({ config })
  b = await startGateway({ config })
}, 120_000)
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await a?.close()
  await b?.close()
  await redis?.stop()
  server.close()
})

const ask = (
  gateway: Started,
  content: string,
  options?: OpenAI.RequestOptions,
  extra: object = {},
  key = "sk-shared"
) =>
  client(gateway, key)
    .chat.completions.create({ model: "ref/ref-chat-1", messages: [{ role: "user", content }], ...extra }, options)
    .withResponse()

describe("two gateways, one Redis", () => {
  it("share the rate limit of a key: the fourth request, on either instance, is refused with Retry-After", async () => {
    respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
    await ask(a, "one")
    await ask(b, "two")
    await ask(a, "three")
    const refused = await ask(b, "four").catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>
    expect((error.error as { code: string }).code).toBe("rate_limit_exceeded")
    expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(Number(error.headers?.get("retry-after"))).toBeLessThanOrEqual(60)
  })

  it("share idempotency keys and cached answers", async () => {
    const recorder = respond(server, "ref", ({ index }) =>
      MockUpstream.json(completionBody({ content: `answer ${index}` }))
    )
    const headers = { headers: { "Idempotency-Key": "pay-42" } }
    const first = await ask(a, "pay invoice 42", headers, {}, "sk-other")
    const second = await ask(b, "pay invoice 42", headers, {}, "sk-other")
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content)
    expect(second.response.headers.get("x-conduit-attempts")).toBe("0")
    expect(recorder.count).toBe(1)

    // temperature 0 is deterministic: cached by one instance, served by the other
    const cachedA = await ask(a, "what is 2+2?", undefined, { temperature: 0 }, "sk-cache")
    const cachedB = await ask(b, "what is 2+2?", undefined, { temperature: 0 }, "sk-cache")
    expect(cachedB.data.choices[0]?.message.content).toBe(cachedA.data.choices[0]?.message.content)
    expect(recorder.count).toBe(2)
    const metrics = await (await fetch(`${b.url}/metrics`)).text()
    expect(metrics).toMatch(/conduit_gateway_cache_hits_total\{kind="response"\} 1/)
    expect(metrics).toMatch(/conduit_gateway_cache_hits_total\{kind="idempotent"\} 1/)
  })

  it("keep answering while Redis is down (limits per instance, health degraded), and recover when it is back", async () => {
    respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
    await redis.stop()
    const during = await ask(a, "during the outage", undefined, {}, "sk-outage")
    expect(during.response.status).toBe(200)
    // the health is polled until it changes (30 s each way: a loaded machine notices and reconnects late)
    const healthBecomes = async (wanted: string) => {
      let health = ""
      for (const deadline = Date.now() + 30_000; health !== wanted && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 50))
        health = ((await (await fetch(`${a.url}/healthz`)).json()) as { status: string }).status
      }
      return health
    }
    expect(await healthBecomes("degraded")).toBe("degraded")
    await redis.restart()
    expect(await healthBecomes("ok")).toBe("ok")
    expect((await ask(a, "after the outage", undefined, {}, "sk-outage")).response.status).toBe(200)
  }, 90_000)
})
