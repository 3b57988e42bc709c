/**
 * Two gateway PROCESSES (`dist/main.js`, as operators run them) on one real `redis-server` behave as one: a per-key
 * requests-per-minute limit counts the requests of both, so the request over the limit is refused by whichever
 * process receives it, with OpenAI's error envelope and `Retry-After`; a deterministic answer cached by one process
 * is served by the other without reaching the upstream. The upstream is the node:http mock on loopback (Kimi's wire
 * flavour), so nothing leaves the machine.
 */

import { RedisServer } from "@conduitkit/core/testing"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Child, listening, run } from "./child.js"

let upstream: Upstream
let redis: RedisServer.RedisServer
let a: Child
let b: Child
let urlA: string
let urlB: string

const limit = 3

beforeAll(async () => {
  upstream = await startUpstream({ chunks: 2, chunkText: "shared{i} " })
  redis = await RedisServer.startRedisServer()
  const env = {
    PORT: "0",
    REDIS_URL: redis.url,
    CONDUIT_API_KEYS: "sk-one,sk-two",
    CONDUIT_RATE_LIMIT_RPM: String(limit),
    MOONSHOT_API_KEY: "sk-upstream-secret",
    MOONSHOT_BASE_URL: upstream.baseURL("moonshot"),
    CONDUIT_SIMULATE: "0"
  }
  a = run(env)
  b = run(env)
  ;[urlA, urlB] = await Promise.all([listening(a), listening(b)])
}, 30_000)

afterAll(async () => {
  a?.process.kill("SIGTERM")
  b?.process.kill("SIGTERM")
  await Promise.all([a?.exited, b?.exited])
  await redis?.stop()
  await upstream?.close()
})

const sdk = (url: string, apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 })

const ask = (url: string, apiKey: string, content: string, extra: object = {}) =>
  sdk(url, apiKey)
    .chat.completions.create({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content }], ...extra })
    .withResponse()

describe("two gateway processes, one Redis", () => {
  it("both say they use Redis", () => {
    for (const child of [a, b]) {
      expect(child.lines.find((line) => line.msg?.startsWith("listening on "))).toMatchObject({ redis: true })
    }
    expect(urlA).not.toBe(urlB)
  })

  it("share a per-key rate limit: the request over the limit is refused by the other process with 429 and Retry-After", async () => {
    // requests alternate between the processes; each process alone stays under the limit
    const urls = [urlA, urlB, urlA]
    for (const [i, url] of urls.entries()) {
      const { data, response } = await ask(url, "sk-one", `rate limited ${i}`)
      expect(response.status).toBe(200)
      expect(data.choices[0]?.message.content).toBe("shared0 shared1 ")
    }
    const refused = await ask(urlB, "sk-one", "rate limited 3").catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>
    expect(error.status).toBe(429)
    expect(error.error).toMatchObject({
      message: expect.any(String),
      type: expect.any(String),
      code: "rate_limit_exceeded"
    })
    const retryAfter = Number(error.headers?.get("retry-after"))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // the refused request never reached the upstream
    expect(upstream.records.has("rate limited 3")).toBe(false)
    // and the first process refuses the same key too
    await expect(ask(urlA, "sk-one", "rate limited 4")).rejects.toMatchObject({ status: 429 })
    // another key has its own budget, on either process
    expect((await ask(urlB, "sk-two", "another key")).response.status).toBe(200)
  }, 20_000)

  it("share the response cache: a deterministic answer cached by one process is served by the other", async () => {
    const first = await ask(urlA, "sk-two", "cached across processes", { seed: 7 })
    const second = await ask(urlB, "sk-two", "cached across processes", { seed: 7 })
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content)
    expect(upstream.records.get("cached across processes")?.attempts).toBe(1)
    const metrics = await (await fetch(`${urlB}/metrics`)).text()
    expect(metrics).toMatch(/conduit_gateway_cache_hits_total\{kind="response"\} 1/)
  }, 20_000)
})
