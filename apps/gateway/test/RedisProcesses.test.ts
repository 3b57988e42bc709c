/**
 * Two gateway PROCESSES (`dist/main.js`, as operators run them) on one real `redis-server` behave as one: a per-key
 * requests-per-minute limit counts the requests of both, so the request over the limit is refused by whichever
 * process receives it, with OpenAI's error envelope and `Retry-After`; a deterministic answer cached by one process
 * is served by the other without reaching the upstream; a key's spend budget (models.yaml `keys:`) is charged by both,
 * each response once, and the request past it is refused by either with 429 `budget_exceeded`. The upstream is the node:http mock on loopback (Kimi's wire
 * flavour), so nothing leaves the machine.
 */

import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { RedisServer } from "@conduitkit/core/testing"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Auth from "../src/Auth.js"
import { type Child, listening, run } from "./child.js"

let upstream: Upstream
let redis: RedisServer.RedisServer
let a: Child
let b: Child
let urlA: string
let urlB: string

const limit = 3
const budgeted = Auth.keyId("sk-budget")
let dir: string

beforeAll(async () => {
  upstream = await startUpstream({ chunks: 2, chunkText: "shared{i} " })
  redis = await RedisServer.startRedisServer()
  // 12 input tokens at 10,000 USD per million, 2 output tokens at 20,000: 0.16 USD a request; 0.5 USD a day
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-budget-"))
  fs.writeFileSync(
    path.join(dir, "models.yaml"),
    `pricing:
  kimi/kimi-k2.6: { currency: USD, inputPerMillion: 10000, outputPerMillion: 20000 }
keys:
  ${budgeted}:
    budget: { amount: 0.5, currency: USD, period: day }
    rpm: 100
`
  )
  const env = {
    PORT: "0",
    REDIS_URL: redis.url,
    CONDUIT_MODELS: path.join(dir, "models.yaml"),
    CONDUIT_API_KEYS: "sk-one,sk-two,sk-budget",
    CONDUIT_RATE_LIMIT_RPM: String(limit),
    MOONSHOT_API_KEY: "sk-upstream-secret",
    MOONSHOT_BASE_URL: upstream.baseURL("moonshot"),
    CONDUIT_SIMULATE: "0"
  }
  a = run(env)
  b = run(env)
  ;[urlA, urlB] = await Promise.all([listening(a), listening(b)])
}, 240_000) // two gateway processes starting on a loaded machine (each waits up to 150 s for its "listening" line)

afterAll(async () => {
  a?.process.kill("SIGTERM")
  b?.process.kill("SIGTERM")
  await Promise.all([a?.exited, b?.exited])
  await redis?.stop()
  await upstream?.close()
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
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
  }, 60_000)

  it("share the response cache: a deterministic answer cached by one process is served by the other", async () => {
    const first = await ask(urlA, "sk-two", "cached across processes", { seed: 7 })
    const second = await ask(urlB, "sk-two", "cached across processes", { seed: 7 })
    expect(second.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content)
    expect(upstream.records.get("cached across processes")?.attempts).toBe(1)
    const metrics = await (await fetch(`${urlB}/metrics`)).text()
    expect(metrics).toMatch(/conduit_gateway_cache_hits_total\{kind="response"\} 1/)
  }, 60_000)

  it("share a key's budget: every response is charged once, and the request past it is refused by either process", async () => {
    // four requests at once, two on each process: all admitted (spend 0 when checked), 0.64 USD charged in all
    const answers = await Promise.all([urlA, urlB, urlA, urlB].map((url, i) => ask(url, "sk-budget", `budget ${i}`)))
    for (const { response } of answers) expect(response.status).toBe(200)
    const before = Date.now()
    const refusals = await Promise.all(
      [urlA, urlB].map((url, i) =>
        fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: "Bearer sk-budget", "content-type": "application/json" },
          body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: `past budget ${i}` }] })
        })
      )
    )
    const now = Date.now()
    const reset = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1)
    for (const refused of refusals) {
      expect(refused.status).toBe(429)
      const body = (await refused.json()) as { error: { code: string; budget: Record<string, unknown> } }
      expect(body.error.code).toBe("budget_exceeded")
      expect(body.error.budget).toMatchObject({ limit: 0.5, currency: "USD", period: "day" })
      // each of the four counted exactly once, whichever process answered it
      expect(body.error.budget.spent).toBeCloseTo(0.64, 9)
      expect(body.error.budget.reset_at).toBe(new Date(reset).toISOString())
      const retryAfter = Number(refused.headers.get("retry-after"))
      // the seconds to the reset, as of some moment between sending and receiving (however long that took)
      expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((reset - now) / 1000) - 1)
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil((reset - before) / 1000) + 1)
    }
    expect(upstream.records.has("past budget 0")).toBe(false)
    expect(upstream.records.has("past budget 1")).toBe(false)
    // the key's rpm from models.yaml (100) replaced CONDUIT_RATE_LIMIT_RPM (3) for it: the four passed
    expect(answers).toHaveLength(4)
  }, 60_000)
})
