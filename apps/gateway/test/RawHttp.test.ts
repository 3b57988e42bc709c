/**
 * Raw HTTP against the gateway (node:http, no SDK in between): the SSE framing byte for byte, a failure after the
 * stream started as a final `data: {"error": ...}` frame without `[DONE]`, and the bad-input matrix, after each of which the
 * process still answers. Upstreams are the node:http mock speaking Moonshot's and Z.ai's wire formats, behind the
 * real Kimi and GLM provider modules, over real sockets (no MSW in this file).
 */
import * as http from "node:http"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import * as OpenApiShapes from "./OpenApiShapes.js"
import { type Json, type Started, startGateway } from "./support.js"

let upstream: Upstream
let gateway: Started
const key = "sk-raw-test"

interface RawResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request over a fresh socket; `body` may be bytes, or chunks written one by one (chunked encoding). */
const raw = (options: {
  readonly method?: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string | Buffer | ReadonlyArray<Buffer>
}): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: "127.0.0.1",
        port: gateway.port,
        method: options.method ?? "POST",
        path: options.path,
        agent: false,
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...options.headers }
      },
      (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () => {
          const answer = {
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8")
          }
          // checked against OpenAI's schema after the file, as every answer read through support's realFetch
          OpenApiShapes.record(
            Promise.resolve({
              method: options.method ?? "POST",
              path: options.path,
              status: answer.status,
              contentType: String(answer.headers["content-type"] ?? ""),
              body: answer.body
            })
          )
          resolve(answer)
        })
        response.on("error", reject)
      }
    )
    request.on("error", reject)
    const body = options.body
    if (Array.isArray(body)) {
      for (const piece of body) request.write(piece)
      request.end()
    } else {
      request.end(body as string | Buffer | undefined)
    }
  })

const chat = (body: unknown, headers?: Record<string, string>) =>
  raw({ path: "/v1/chat/completions", body: JSON.stringify(body), ...(headers !== undefined ? { headers } : {}) })

const frames = (text: string) => text.split("\n\n").filter((frame) => frame !== "")
const dataOf = (frame: string) => JSON.parse(frame.slice("data: ".length)) as Json

beforeAll(async () => {
  upstream = await startUpstream({ chunks: 4 })
  const connect = (module: Providers.ProviderModule, flavour: "moonshot" | "zai") =>
    Providers.entry(
      module,
      module.connect({ apiKey: Redacted.make("sk-upstream"), baseURL: upstream.baseURL(flavour) }),
      "live"
    )
  gateway = await startGateway({
    config: { apiKeys: [Redacted.make(key)], maxBodyBytes: 64 * 1024 },
    providers: [connect(Providers.kimi, "moonshot"), connect(Providers.glm, "zai")],
    models: {
      models: {
        // an idle bound only a stall reaches: a loaded machine can hold the gateway longer than 150 ms between two
        // chunks that had arrived (the timer fires before the read), which ended a truncated stream as idle
        "kimi-fast-fail": { target: "kimi/kimi-k2.6", retry: { maxRetries: 0 }, timeouts: { idleMs: 2_000 } },
        "glm-fast-fail": { target: "glm/glm-4.6", retry: { maxRetries: 0 }, timeouts: { idleMs: 2_000 } }
      }
    }
  })
})
afterAll(async () => {
  await gateway.close()
  await upstream.close()
})

const user = (content: string) => ({ role: "user", content })

describe.each([
  { provider: "kimi", model: "kimi/kimi-k2.6", failing: "kimi-fast-fail" },
  { provider: "glm", model: "glm/glm-4.6", failing: "glm-fast-fail" }
])("SSE framing through $provider", ({ provider, model, failing }) => {
  it("data frames, role first, finish reason, usage chunk only when asked, [DONE] last", async () => {
    upstream.configure({ chunks: 4, chunkText: "w{i} " })
    const withUsage = await chat({
      model,
      messages: [user(`${provider} framing 1`)],
      stream: true,
      stream_options: { include_usage: true }
    })
    expect(withUsage.status).toBe(200)
    expect(withUsage.headers["content-type"]).toBe("text/event-stream; charset=utf-8")
    expect(withUsage.headers["cache-control"]).toBe("no-cache")
    expect(withUsage.headers["x-conduit-provider"]).toBe(provider)
    expect(withUsage.headers["x-conduit-attempts"]).toBe("1")
    const all = frames(withUsage.body)
    for (const frame of all) expect(frame.startsWith("data: ")).toBe(true)
    expect(all.at(-1)).toBe("data: [DONE]")
    const chunks = all.slice(0, -1).map(dataOf)
    expect(chunks[0]?.choices[0].delta.role).toBe("assistant")
    expect(chunks.filter((c) => c.choices[0]?.delta?.role !== undefined)).toHaveLength(1)
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("w0 w1 w2 w3 ")
    const usage = chunks.at(-1)
    expect(usage?.choices).toEqual([])
    expect(usage?.usage).toMatchObject({
      prompt_tokens: 12,
      completion_tokens: 4,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 }
    })
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe("stop")
    // every chunk names the model that answered (the route's upstream model); the requested name is in a header
    for (const c of chunks) expect(c).toMatchObject({ object: "chat.completion.chunk", model: model.split("/")[1] })
    expect(withUsage.headers["x-conduit-requested-model"]).toBe(model)

    const withoutUsage = await chat({ model, messages: [user(`${provider} framing 2`)], stream: true })
    const plain = frames(withoutUsage.body)
    expect(plain.at(-1)).toBe("data: [DONE]")
    expect(
      plain
        .slice(0, -1)
        .map(dataOf)
        .every((c) => c.usage === undefined && c.choices.length === 1)
    ).toBe(true)
  })

  it("a stream cut after it started ends with a `data: {error}` frame and no [DONE]", async () => {
    upstream.configure({ chunks: 6, truncateAfter: 3 })
    const response = await chat({ model: failing, messages: [user(`${provider} truncated`)], stream: true })
    expect(response.status).toBe(200)
    const all = frames(response.body)
    expect(all).not.toContain("data: [DONE]")
    const last = all.at(-1) ?? ""
    expect(last.startsWith("data: ")).toBe(true)
    const error = JSON.parse(last.slice("data: ".length))
    expect(error).toEqual({
      error: { message: expect.any(String), type: "upstream_error", code: "upstream_stream_truncated", param: null }
    })
    expect(
      all
        .slice(0, -1)
        .map(dataOf)
        .map((c) => c.choices[0].delta.content ?? "")
        .join("")
    ).toContain("tok0")
  })

  it("a stream that stalls after it started ends with a `data: {error}` frame naming the idle timeout", async () => {
    upstream.configure({ chunks: 6, stallAfter: 2 })
    const response = await chat({ model: failing, messages: [user(`${provider} stalled`)], stream: true })
    const last = frames(response.body).at(-1) ?? ""
    expect(last.startsWith("data: {")).toBe(true)
    expect(JSON.parse(last.slice("data: ".length)).error).toMatchObject({ type: "timeout", code: "idle_timeout" })
    expect(frames(response.body)).not.toContain("data: [DONE]")
  })

  it("a failure before the first part is an ordinary HTTP error, not a stream", async () => {
    upstream.configure({ rateQuota429: 1 })
    const response = await chat({ model, messages: [user(`${provider} quota`)], stream: true })
    expect(response.status).toBe(429)
    expect(response.headers["content-type"]).toBe("application/json")
    expect(JSON.parse(response.body).error).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" })
    expect(upstream.records.get(`${provider} quota`)?.attempts).toBe(1)
    upstream.configure({})
  })

  it("non-stream answers through the same provider", async () => {
    upstream.configure({ chunks: 3, chunkText: "n{i}" })
    const response = await chat({ model, messages: [user(`${provider} plain`)] })
    expect(response.status).toBe(200)
    const body = JSON.parse(response.body)
    expect(body.choices[0].message.content).toBe("n0n1n2")
    expect(body.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 })
    expect(response.headers["x-conduit-provider"]).toBe(provider)
  })
})

describe("bad input: each gets its documented status, and the process stays up", () => {
  const valid = { model: "kimi/kimi-k2.6", messages: [user("hi")] }
  const json = (value: unknown) => JSON.stringify(value)
  const cases: ReadonlyArray<{
    readonly name: string
    readonly request: Parameters<typeof raw>[0]
    readonly status: number
    readonly code: string
    readonly param?: string
  }> = [
    {
      name: "malformed JSON",
      request: { path: "/v1/chat/completions", body: '{"model": kimi}' },
      status: 400,
      code: "invalid_json"
    },
    {
      name: "truncated JSON",
      request: { path: "/v1/chat/completions", body: json(valid).slice(0, 30) },
      status: 400,
      code: "invalid_json"
    },
    { name: "empty body", request: { path: "/v1/chat/completions", body: "" }, status: 400, code: "invalid_json" },
    {
      name: "a JSON array",
      request: { path: "/v1/chat/completions", body: "[1,2]" },
      status: 400,
      code: "invalid_type"
    },
    {
      name: "model is a number",
      request: { path: "/v1/chat/completions", body: json({ ...valid, model: 42 }) },
      status: 400,
      code: "invalid_type",
      param: "model"
    },
    {
      name: "messages is a string",
      request: { path: "/v1/chat/completions", body: json({ ...valid, messages: "hi" }) },
      status: 400,
      code: "invalid_type",
      param: "messages"
    },
    {
      name: "stream is a string",
      request: { path: "/v1/chat/completions", body: json({ ...valid, stream: "yes" }) },
      status: 400,
      code: "invalid_type",
      param: "stream"
    },
    {
      name: "a message without role",
      request: { path: "/v1/chat/completions", body: json({ ...valid, messages: [{ content: "hi" }] }) },
      status: 400,
      code: "invalid_type",
      param: "messages.0.role"
    },
    {
      name: "no messages",
      request: { path: "/v1/chat/completions", body: json({ ...valid, messages: [] }) },
      status: 400,
      code: "invalid_value",
      param: "messages"
    },
    {
      name: "n > 1",
      request: { path: "/v1/chat/completions", body: json({ ...valid, n: 3 }) },
      status: 400,
      code: "invalid_value",
      param: "n"
    },
    {
      name: "tool-call arguments that are not JSON",
      request: {
        path: "/v1/chat/completions",
        body: json({
          ...valid,
          messages: [
            user("hi"),
            {
              role: "assistant",
              tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{oops" } }]
            }
          ]
        })
      },
      status: 400,
      code: "invalid_request_error"
    },
    {
      name: "an unknown model",
      request: { path: "/v1/chat/completions", body: json({ ...valid, model: "mystery/model" }) },
      status: 404,
      code: "model_not_found",
      param: "model"
    },
    {
      name: "an oversized body (content-length)",
      request: { path: "/v1/chat/completions", body: json({ ...valid, messages: [user("x".repeat(100 * 1024))] }) },
      status: 413,
      code: "request_too_large"
    },
    {
      name: "an oversized body (chunked, no content-length)",
      request: {
        path: "/v1/chat/completions",
        body: Array.from({ length: 40 }, () => Buffer.alloc(4 * 1024, 0x20))
      },
      status: 413,
      code: "request_too_large"
    },
    {
      name: "invalid UTF-8",
      request: {
        path: "/v1/chat/completions",
        body: Buffer.concat([
          Buffer.from('{"model":"kimi/kimi-k2.6","messages":[{"role":"user","content":"'),
          Buffer.from([0xc3, 0x28, 0xff]),
          Buffer.from('"}]}')
        ])
      },
      status: 400,
      code: "invalid_encoding"
    },
    {
      name: "a missing key",
      request: { path: "/v1/chat/completions", body: json(valid), headers: { authorization: "" } },
      status: 401,
      code: "missing_api_key"
    },
    {
      name: "a wrong key",
      request: { path: "/v1/chat/completions", body: json(valid), headers: { authorization: "Bearer sk-raw-tesT" } },
      status: 401,
      code: "invalid_api_key"
    },
    {
      name: "the wrong method",
      request: { method: "GET", path: "/v1/chat/completions" },
      status: 405,
      code: "method_not_allowed"
    },
    { name: "an unknown route", request: { method: "GET", path: "/v1/files" }, status: 404, code: "not_found" },
    { name: "an unknown top-level path", request: { method: "GET", path: "/admin" }, status: 404, code: "not_found" }
  ]

  for (const entry of cases) {
    it(entry.name, async () => {
      const response = await raw(entry.request)
      expect(response.status).toBe(entry.status)
      expect(response.headers["content-type"]).toBe("application/json")
      expect(response.headers["x-request-id"]).toMatch(/^req_/)
      const error = JSON.parse(response.body).error
      expect(Object.keys(error).sort()).toEqual(["code", "message", "param", "type"])
      expect([error.code, error.type]).toContain(entry.code)
      if (entry.param !== undefined) expect(error.param).toBe(entry.param)
      const health = await raw({ method: "GET", path: "/healthz" })
      expect(health.status).toBe(200)
    })
  }

  it("still serves a valid request after all of that", async () => {
    upstream.configure({ chunks: 2, chunkText: "ok{i}" })
    const response = await chat({ model: "kimi/kimi-k2.6", messages: [user("after the matrix")] })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body).choices[0].message.content).toBe("ok0ok1")
  })
})

describe("other routes", () => {
  it("/healthz says which mode each provider is in, without a key", async () => {
    const response = await raw({ method: "GET", path: "/healthz", headers: { authorization: "" } })
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toEqual({
      status: "ok",
      providers: [
        { name: "kimi", mode: "live" },
        { name: "glm", mode: "live" }
      ],
      simulated: []
    })
  })

  it("/v1/models needs the key", async () => {
    expect((await raw({ method: "GET", path: "/v1/models", headers: { authorization: "" } })).status).toBe(401)
    const listed = JSON.parse((await raw({ method: "GET", path: "/v1/models" })).body)
    const ids = listed.data.map((entry: { id: string }) => entry.id)
    expect(ids).toContain("kimi-fast-fail")
    expect(ids).toContain("kimi/kimi-k3")
    expect(ids).toContain("glm/glm-4.6")
  })
})
