/**
 * models.yaml's `keys:` section, in one gateway (memory state): a key's own requests per minute, and its spend
 * budget, charged with each response's cost (models.yaml `pricing:` for the reference model) and refused with 429
 * `budget_exceeded`, the limit, the spend and `Retry-After` to the UTC day's reset; answers from the response cache
 * cost nothing. The two-process, one-Redis run is in RedisProcesses.test.ts.
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { Budget } from "@conduitkit/session"
import { Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Auth from "../src/Auth.js"
import * as Engine from "../src/Engine.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import {
  chunk,
  client,
  completionBody,
  model,
  mswServer,
  realFetch,
  respond,
  startGateway,
  usageChunk
} from "./support.js"

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const one = Auth.keyId("sk-one")
const two = Auth.keyId("sk-two")

/** 12 input tokens at 10,000 USD per million and 5 output tokens at 20,000: 0.22 USD a request. */
const pricing = { [`ref/${model}`]: { currency: "USD", inputPerMillion: 10_000, outputPerMillion: 20_000 } }

const ask = (url: string, apiKey: string, content: string, extra: object = {}) =>
  client({ url }, apiKey)
    .chat.completions.create({ model: `ref/${model}`, messages: [{ role: "user", content }], ...extra })
    .withResponse()

describe("GatewayConfig.withKeys", () => {
  it("adds each key's budget and rpm/tpm; a field the key does not set keeps the variable's default", () => {
    const config = GatewayConfig.make({ rateLimits: { perKey: { requestsPerMinute: 100, tokensPerMinute: 5_000 } } })
    const merged = GatewayConfig.withKeys(config, {
      [one]: { rpm: 5 },
      [two]: { budget: { amount: 2, currency: "USD", period: "month" } }
    })
    expect(merged.rateLimits).toEqual({
      perKey: { requestsPerMinute: 100, tokensPerMinute: 5_000 },
      keys: { [one]: { requestsPerMinute: 5, tokensPerMinute: 5_000 } },
      budgets: { [two]: { amount: 2, currency: "USD", period: "month" } }
    })
    expect(GatewayConfig.withKeys(config, undefined)).toBe(config)
    expect(GatewayConfig.withKeys(config, {})).toBe(config)
  })
})

describe("Engine.partCost", () => {
  const finish = (conduit: Record<string, unknown>) => ({ type: "finish", metadata: { conduit } })
  const usd = { amount: 0.22, currency: "USD", unconfirmed: false }
  const cases: ReadonlyArray<readonly [string, { type: string; metadata?: unknown }, Budget.Cost | undefined]> = [
    ["the finish part's cost", finish({ cost: usd }), usd],
    ["no cost (unknown price)", finish({}), undefined],
    ["a response cache hit", finish({ cost: usd, cache: "hit" }), undefined],
    ["an idempotent replay", finish({ cost: usd, idempotency: "replayed" }), undefined],
    ["an idempotent join", finish({ cost: usd, idempotency: "joined" }), undefined],
    ["the call that filled the cache", finish({ cost: usd, cache: "miss" }), usd],
    ["a malformed cost", finish({ cost: { amount: "0.22", currency: "USD" } }), undefined],
    ["another part", { type: "text-delta", metadata: { conduit: { cost: usd } } }, undefined]
  ]
  for (const [name, part, expected] of cases) {
    it(name, () => expect(Engine.partCost(part)).toEqual(expected))
  }
})

describe("models.yaml keys", () => {
  it("a key's rpm refuses its requests over the limit with 429 rate_limit_exceeded; other keys are not limited", async () => {
    const gateway = await startGateway({
      config: keysConfig(),
      models: { keys: { [one]: { rpm: 2 } } }
    })
    try {
      respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
      for (let i = 0; i < 2; i++) expect((await ask(gateway.url, "sk-one", `rpm ${i}`)).response.status).toBe(200)
      const refused = await ask(gateway.url, "sk-one", "rpm 2").catch((error: unknown) => error)
      expect(refused).toBeInstanceOf(OpenAI.RateLimitError)
      const error = refused as InstanceType<typeof OpenAI.RateLimitError>
      expect(error.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" })
      const retryAfter = Number(error.headers?.get("retry-after"))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(retryAfter).toBeLessThanOrEqual(60)
      for (let i = 0; i < 4; i++) expect((await ask(gateway.url, "sk-two", `free ${i}`)).response.status).toBe(200)
    } finally {
      await gateway.close()
    }
  })

  it("a key's tpm counts the request's token estimate (prompt and max_tokens): over it, 429 rate_limit_exceeded", async () => {
    const gateway = await startGateway({ config: keysConfig(), models: { keys: { [one]: { tpm: 1_000 } } } })
    try {
      respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
      expect((await ask(gateway.url, "sk-one", "small", { max_tokens: 100 })).response.status).toBe(200)
      await expect(ask(gateway.url, "sk-one", "large", { max_tokens: 5_000 })).rejects.toMatchObject({
        status: 429,
        error: { code: "rate_limit_exceeded" }
      })
      // the other key has no tokens limit
      expect((await ask(gateway.url, "sk-two", "large", { max_tokens: 5_000 })).response.status).toBe(200)
    } finally {
      await gateway.close()
    }
  })

  it("a key's budget: spend is charged per response, then 429 budget_exceeded with the limit, the spend and Retry-After to 00:00 UTC", async () => {
    const gateway = await startGateway({
      config: keysConfig(),
      models: { pricing, keys: { [one]: { budget: { amount: 0.5, currency: "USD", period: "day" } } } }
    })
    try {
      const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
      // 0 -> 0.22 -> 0.44 -> 0.66: the third is admitted at 0.44 (under 0.5) and takes the spend past the limit
      for (let i = 0; i < 3; i++) {
        const { response } = await ask(gateway.url, "sk-one", `budget ${i}`)
        expect(response.status).toBe(200)
      }
      const calls = recorder.calls.length
      const before = Date.now()
      const raw = await realFetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: "Bearer sk-one", "content-type": "application/json" },
        body: JSON.stringify({ model: `ref/${model}`, messages: [{ role: "user", content: "budget 3" }] })
      })
      const now = Date.now()
      expect(raw.status).toBe(429)
      const body = (await raw.json()) as { error: Record<string, unknown> & { budget: Record<string, unknown> } }
      expect(body.error).toMatchObject({ type: "insufficient_quota", code: "budget_exceeded", param: null })
      expect(body.error.budget).toMatchObject({ limit: 0.5, currency: "USD", period: "day" })
      expect(body.error.budget.spent).toBeCloseTo(0.66, 9)
      const reset = Budget.windowAt("day", now).resetAt
      expect(body.error.budget.reset_at).toBe(new Date(reset).toISOString())
      expect(String(body.error.message)).toContain(
        `Budget of 0.5 USD per UTC day reached for key ${one}: 0.66 USD spent`
      )
      const retryAfter = Number(raw.headers.get("retry-after"))
      // the seconds to the reset, as of some moment between sending and receiving (however long that took)
      expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil((reset - now) / 1000) - 1)
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil((reset - before) / 1000) + 1)
      expect(raw.headers.get("x-should-retry")).toBe("false")
      // refused before the upstream; the key's other requests too, streamed or not, on either front door
      await expect(ask(gateway.url, "sk-one", "budget 4", { stream: true })).rejects.toMatchObject({
        status: 429,
        error: { code: "budget_exceeded" }
      })
      const messages = await realFetch(`${gateway.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": "sk-one", "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: `ref/${model}`, max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
      })
      expect(messages.status).toBe(429)
      expect(((await messages.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error")
      expect(Number(messages.headers.get("retry-after"))).toBeGreaterThan(0)
      expect(recorder.calls.length).toBe(calls)
      // another key spends nothing of it
      expect((await ask(gateway.url, "sk-two", "budget other")).response.status).toBe(200)
      expect(gateway.logs.find((line) => line.error === "budget_exceeded")).toMatchObject({ key: one, status: 429 })
    } finally {
      await gateway.close()
    }
  })

  it("a streamed answer is charged at its end; an answer from the response cache costs nothing", async () => {
    const gateway = await startGateway({
      config: keysConfig(),
      models: { pricing, keys: { [one]: { budget: { amount: 0.3, currency: "USD", period: "month" } } } }
    })
    try {
      const recorder = respond(server, "ref", ({ body }) =>
        body.stream === true
          ? MockUpstream.sse([
              chunk({ role: "assistant", content: "ok" }),
              chunk({}, "stop"),
              usageChunk({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 })
            ])
          : MockUpstream.json(completionBody({ content: "ok" }))
      )
      // a deterministic request (seed) is cached: the first one costs 0.22, its replays nothing
      for (let i = 0; i < 4; i++) {
        expect((await ask(gateway.url, "sk-one", "cached", { seed: 1 })).response.status).toBe(200)
      }
      expect(recorder.calls.length).toBe(1)
      // 0.22 spent of 0.3: the stream is admitted, and charged 0.22 at its end
      const stream = await client(gateway, "sk-one").chat.completions.create({
        model: `ref/${model}`,
        messages: [{ role: "user", content: "streamed" }],
        stream: true,
        stream_options: { include_usage: true }
      })
      for await (const _ of stream) {
        // drained
      }
      await expect(ask(gateway.url, "sk-one", "after the stream")).rejects.toMatchObject({
        status: 429,
        error: { code: "budget_exceeded" }
      })
    } finally {
      await gateway.close()
    }
  })
})

function keysConfig(): Partial<GatewayConfig.GatewayConfig> {
  return { apiKeys: [Redacted.make("sk-one"), Redacted.make("sk-two")] }
}
