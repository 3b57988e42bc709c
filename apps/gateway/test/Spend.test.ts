/**
 * The cost of each answer and the spend and tokens per caller: `x-conduit-cost` on JSON answers (both front doors),
 * the `conduit.cost` extension of a stream's final usage chunk, and `/metrics` counters per key id, provider and
 * model (models.yaml `pricing:` prices the reference model; answers from the response cache spend nothing).
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { Redacted } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Auth from "../src/Auth.js"
import * as Metrics from "../src/Metrics.js"
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

/** USD per million tokens: 3 input, 0.30 cached input, 15 output (kimi-k3's published prices). */
const pricing = {
  [`ref/${model}`]: { currency: "USD", inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15 }
}
/** 1,000 input (400 cached), 200 output (50 reasoning): 600 × 3 + 400 × 0.3 + 200 × 15 = 4,920 per million. */
const upstreamUsage = {
  prompt_tokens: 1_000,
  completion_tokens: 200,
  total_tokens: 1_200,
  prompt_tokens_details: { cached_tokens: 400 },
  completion_tokens_details: { reasoning_tokens: 50 }
}

const answer = ({ body }: MockUpstream.ChatCall) =>
  body.stream === true
    ? MockUpstream.sse([chunk({ role: "assistant", content: "ok" }), chunk({}, "stop"), usageChunk(upstreamUsage)])
    : MockUpstream.json(completionBody({ content: "ok" }, "stop", upstreamUsage))

const start = () =>
  startGateway({ config: { apiKeys: [Redacted.make("sk-one"), Redacted.make("sk-two")] }, models: { pricing } })

const metricLine = (text: string, name: string, labels: string) =>
  text.split("\n").find((line) => line.startsWith(`${name}{${labels}}`))

describe("the cost of an answer", () => {
  it("JSON answers carry x-conduit-cost; an unpriced model's answers carry none", async () => {
    const gateway = await start()
    try {
      respond(server, "ref", answer)
      const { response, data } = await client(gateway, "sk-one")
        .chat.completions.create({ model: `ref/${model}`, messages: [{ role: "user", content: "hi" }] })
        .withResponse()
      expect(data.usage).toMatchObject({ prompt_tokens: 1_000, completion_tokens: 200 })
      expect(response.headers.get("x-conduit-cost")).toBe("0.00492 USD")
      expect(gateway.logs.find((line) => line.path === "/v1/chat/completions")).toMatchObject({ cost: "0.00492 USD" })
      // ref-small has no price: no cost, never a guessed one
      const unpriced = await client(gateway, "sk-one")
        .chat.completions.create({ model: "ref/ref-small", messages: [{ role: "user", content: "hi" }] })
        .withResponse()
      expect(unpriced.response.headers.get("x-conduit-cost")).toBeNull()
      // the Anthropic front door says the same
      const messages = await realFetch(`${gateway.url}/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": "sk-one", "content-type": "application/json", "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: `ref/${model}`, max_tokens: 16, messages: [{ role: "user", content: "hi" }] })
      })
      expect(messages.status).toBe(200)
      expect(messages.headers.get("x-conduit-cost")).toBe("0.00492 USD")
    } finally {
      await gateway.close()
    }
  })

  it("a stream's cost rides on its final usage chunk, which the openai SDK passes through", async () => {
    const gateway = await start()
    try {
      respond(server, "ref", answer)
      const stream = await client(gateway, "sk-one").chat.completions.create({
        model: `ref/${model}`,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        stream_options: { include_usage: true }
      })
      const chunks: Array<Record<string, unknown>> = []
      for await (const part of stream) chunks.push(part as unknown as Record<string, unknown>)
      const last = chunks.at(-1)
      expect(last?.choices).toEqual([])
      expect(last?.usage).toMatchObject({ prompt_tokens: 1_000, completion_tokens: 200 })
      expect(last?.conduit).toEqual({ cost: { amount: 0.00492, currency: "USD" } })
      // no other chunk carries it
      expect(chunks.slice(0, -1).every((part) => part.conduit === undefined)).toBe(true)
    } finally {
      await gateway.close()
    }
  })
})

describe("spend and tokens per caller in /metrics", () => {
  it("counts requests, tokens and cost per key id, provider and model; cache hits spend nothing; no key in the text", async () => {
    const gateway = await start()
    try {
      const recorder = respond(server, "ref", answer)
      const ask = (apiKey: string, content: string, extra: object = {}) =>
        client(gateway, apiKey).chat.completions.create({
          model: `ref/${model}`,
          messages: [{ role: "user", content }],
          ...extra
        })
      await ask("sk-one", "a")
      await ask("sk-one", "b")
      // a deterministic request (seed) is cached: the first spends, the second is a cache hit
      await ask("sk-two", "c", { seed: 7 })
      await ask("sk-two", "c", { seed: 7 })
      expect(recorder.calls.length).toBe(3)
      const stream = await client(gateway, "sk-two").chat.completions.create({
        model: `ref/${model}`,
        messages: [{ role: "user", content: "d" }],
        stream: true,
        stream_options: { include_usage: true }
      })
      for await (const _ of stream) {
        // drained
      }
      const text = await (await realFetch(`${gateway.url}/metrics`)).text()
      const labels = (key: string) => `key_id="${key}",provider="ref",model="${model}"`
      expect(metricLine(text, "conduit_gateway_caller_requests_total", labels(one))).toMatch(/ 2$/)
      expect(metricLine(text, "conduit_gateway_caller_requests_total", labels(two))).toMatch(/ 3$/)
      expect(metricLine(text, "conduit_gateway_caller_tokens_total", `${labels(one)},kind="input"`)).toMatch(/ 2000$/)
      expect(metricLine(text, "conduit_gateway_caller_tokens_total", `${labels(one)},kind="cached"`)).toMatch(/ 800$/)
      expect(metricLine(text, "conduit_gateway_caller_tokens_total", `${labels(one)},kind="output"`)).toMatch(/ 400$/)
      expect(metricLine(text, "conduit_gateway_caller_tokens_total", `${labels(one)},kind="reasoning"`)).toMatch(
        / 100$/
      )
      expect(metricLine(text, "conduit_gateway_caller_cost_total", `${labels(one)},currency="USD"`)).toMatch(
        / 0\.00984$/
      )
      // key two: one upstream JSON answer and one stream (the cache hit spent nothing)
      expect(metricLine(text, "conduit_gateway_caller_tokens_total", `${labels(two)},kind="input"`)).toMatch(/ 2000$/)
      expect(metricLine(text, "conduit_gateway_caller_cost_total", `${labels(two)},currency="USD"`)).toMatch(
        / 0\.00984$/
      )
      expect(text).toContain("# TYPE conduit_gateway_caller_cost_total counter")
      expect(text).not.toContain("sk-one")
      expect(text).not.toContain("sk-two")
    } finally {
      await gateway.close()
    }
  })
})

describe("Metrics.caller", () => {
  const tokens = { input: 10, cached: 4, output: 3, reasoning: 1 }

  it("keeps currencies apart and escapes label values", () => {
    const metrics = Metrics.make()
    metrics.caller("key_0123456789ab", "kimi", "kimi-k3", tokens, { amount: 0.25, currency: "USD" })
    metrics.caller("key_0123456789ab", "kimi", "kimi-k3", tokens, { amount: 1.5, currency: "CNY" })
    metrics.caller("key_0123456789ab", "kimi", "kimi-k3", undefined, undefined)
    metrics.caller("anonymous", "ref", 'odd"model\\\n', tokens, undefined)
    const text = metrics.render()
    const labels = 'key_id="key_0123456789ab",provider="kimi",model="kimi-k3"'
    expect(text).toContain(`conduit_gateway_caller_requests_total{${labels}} 3`)
    expect(text).toContain(`conduit_gateway_caller_tokens_total{${labels},kind="input"} 20`)
    expect(text).toContain(`conduit_gateway_caller_cost_total{${labels},currency="USD"} 0.25`)
    expect(text).toContain(`conduit_gateway_caller_cost_total{${labels},currency="CNY"} 1.5`)
    expect(text).toContain('model="odd\\"model\\\\\\n"')
  })

  it(`keeps at most ${Metrics.maxCallerSeries} combinations; past that, new models count as _other`, () => {
    const metrics = Metrics.make()
    for (let i = 0; i < Metrics.maxCallerSeries + 5; i++) metrics.caller("anonymous", "ref", `m${i}`, tokens, undefined)
    const text = metrics.render()
    expect(text).toContain(`model="m${Metrics.maxCallerSeries - 1}"`)
    expect(text).not.toContain(`model="m${Metrics.maxCallerSeries}"`)
    expect(text).toContain('conduit_gateway_caller_requests_total{key_id="anonymous",provider="ref",model="_other"} 5')
  })

  it("renders nothing before the first answer", () => {
    expect(Metrics.make().render()).not.toContain("conduit_gateway_caller_")
  })
})
