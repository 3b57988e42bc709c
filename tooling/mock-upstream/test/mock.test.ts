import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as MockUpstream from "../src/index.js"

let mock: MockUpstream.MockUpstream
beforeAll(async () => {
  mock = await MockUpstream.start()
})
afterAll(() => mock.close())

const post = (flavour: MockUpstream.Flavour, body: Record<string, unknown>, behaviour?: MockUpstream.Behaviour) =>
  fetch(`${mock.baseURL(flavour)}/chat/completions`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(behaviour ? { "x-mock-behaviour": JSON.stringify(behaviour) } : {})
    },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "id-1" }], ...body })
  })

describe("mock upstream", () => {
  it("streams Moonshot's shape: usage inside choices[0], a trailing usage chunk with include_usage, then [DONE]", async () => {
    const text = await (
      await post("moonshot", { stream: true, stream_options: { include_usage: true } }, { chunks: 3 })
    ).text()
    const events = text
      .trim()
      .split("\n\n")
      .map((e) => e.slice(6))
    expect(events.at(-1)).toBe("[DONE]")
    expect(JSON.parse(events.at(-2)!)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } })
    expect(JSON.parse(events.at(-3)!).choices[0]).toMatchObject({ finish_reason: "stop", usage: { prompt_tokens: 12 } })
  })

  it("streams Z.ai's shape: role on every delta, usage on the finish chunk", async () => {
    const text = await (await post("zai", { stream: true }, { chunks: 2 })).text()
    const events = text
      .trim()
      .split("\n\n")
      .map((e) => e.slice(6))
    expect(JSON.parse(events[0]!).choices[0].delta.role).toBe("assistant")
    expect(JSON.parse(events.at(-2)!).usage.prompt_tokens_details.cached_tokens).toBe(0)
  })

  it("answers transient and quota 429s and 5xx with each provider's bodies, and counts attempts", async () => {
    mock.reset()
    const limited = await post("moonshot", {}, { rate429: 1, retryAfterMs: 40 })
    expect([limited.status, limited.headers.get("retry-after-ms")]).toEqual([429, "40"])
    expect(((await limited.json()) as { error: { type: string } }).error.type).toBe("rate_limit_reached_error")
    const quota = await post("zai", {}, { rateQuota429: 1 })
    expect(((await quota.json()) as { error: { code: string } }).error.code).toBe("1113")
    const failed = await post("zai", {}, { rate5xx: 1 })
    expect(failed.status).toBe(503)
    expect(mock.records.get("id-1")?.attempts).toBe(3)
  })

  it("truncates without a finish reason or [DONE]", async () => {
    const text = await (await post("moonshot", { stream: true }, { chunks: 5, truncateAfter: 2 })).text()
    expect(text).not.toContain("[DONE]")
    expect(text).not.toContain('finish_reason":"stop')
  })

  it("records an abort when the client goes away during a stall", async () => {
    mock.reset()
    const controller = new AbortController()
    const response = await fetch(`${mock.baseURL("moonshot")}/chat/completions`, {
      method: "POST",
      signal: controller.signal,
      headers: { "x-mock-behaviour": JSON.stringify({ stallAfter: 1 }) },
      body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "stall" }] })
    })
    const reader = response.body!.getReader()
    await reader.read()
    controller.abort()
    const deadline = Date.now() + 20_000 // a loaded machine notices the client's close late
    while (mock.records.get("stall")?.aborts !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    expect(mock.records.get("stall")?.aborts).toBe(1)
  })
})
