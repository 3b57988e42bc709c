/**
 * Reliability properties of the whole stack as operators run it: `apps/gateway/dist/main.js` in its own process,
 * Kimi in live mode against the node:http mock upstream, clients on raw sockets. Each test fails when its property
 * breaks. (The gateway's own suite covers the documented bad-input matrix case by case; here random bodies.)
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import * as MockUpstream from "@conduitkit/mock-upstream"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const main = path.resolve(import.meta.dirname, "../../../apps/gateway/dist/main.js")

let mock: MockUpstream.MockUpstream
let gateway: ChildProcess
let port = 0

beforeAll(async () => {
  mock = await MockUpstream.start()
  gateway = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH ?? "",
      HOME: os.tmpdir(),
      PORT: "0",
      MOONSHOT_API_KEY: "sk-reliability",
      MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
      CONDUIT_SIMULATE: "0",
      CONDUIT_RESPONSE_CACHE: "0",
      CONDUIT_MAX_CONCURRENT: "2000",
      CONDUIT_MAX_QUEUED: "2000",
      // these properties are the retry policy's: a budget wide enough never to refuse (faults.test.ts checks the
      // default budget)
      CONDUIT_RETRY_BUDGET: "10"
    },
    stdio: ["ignore", "pipe", "inherit"]
  })
  await new Promise<number>((resolve, reject) => {
    let buffer = ""
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${buffer}`)), 150_000)
    gateway.stdout?.on("data", (data: Buffer) => {
      if (port !== 0) return // drain the access log
      buffer += data.toString("utf8")
      const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buffer)
      if (match !== null) {
        clearTimeout(timer)
        port = Number(match[1])
        resolve(port)
      }
    })
  })
})

afterAll(async () => {
  gateway?.kill("SIGTERM")
  await mock?.close()
})

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

interface Answer {
  readonly status: number
  readonly body: string
}

const post = (body: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const payload = typeof body === "string" ? Buffer.from(body) : body
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/chat/completions",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": payload.length, ...headers }
      },
      (res) => {
        const parts: Array<Buffer> = []
        res.on("data", (data: Buffer) => parts.push(data))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString("utf8") }))
      }
    )
    req.on("error", reject)
    req.end(payload)
  })

const chat = (content: string, stream = false) =>
  post(JSON.stringify({ model: "kimi/kimi-k2.6", stream, messages: [{ role: "user", content }] }))

const healthy = () =>
  new Promise<number>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/healthz", agent }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      })
      .on("error", reject)
  })

describe("the whole stack", () => {
  it("at most maxRetries + 1 upstream attempts per request (a route without fallbacks, every attempt a 5xx)", async () => {
    mock.reset()
    mock.configure({ rate5xx: 1 })
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(`stack-budget-${i}`)))
    mock.configure({})
    for (const answer of answers) expect([502, 503]).toContain(answer.status)
    // the gateway's default policy: 2 retries
    for (let i = 0; i < 40; i++) expect(mock.records.get(`stack-budget-${i}`)?.attempts).toBe(3)
  }, 60_000)

  it("429 storm through the gateway: 300 requests, 50% transient 429s; none lost, none answered twice", async () => {
    mock.reset()
    mock.configure({ rate429: 0.5, retryAfterMs: 5 })
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => chat(`stack-storm-${i}`)))
    mock.configure({})
    // every request got an answer: the completion, or a 429 with the OpenAI error envelope
    for (const answer of answers) {
      if (answer.status === 200) expect(JSON.parse(answer.body).choices[0].message.content).toMatch(/^tok0 /)
      else expect([answer.status, JSON.parse(answer.body).error.code]).toEqual([429, "rate_limit_exceeded"])
    }
    for (let i = 0; i < 300; i++) {
      const record = mock.records.get(`stack-storm-${i}`)!
      expect(record.successes).toBeLessThanOrEqual(1)
      expect(record.attempts).toBeLessThanOrEqual(3)
    }
    // 1 - 0.5^3 = 87.5% expected; 4 standard deviations below is 80%
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(240)
  }, 60_000)

  it("a client that disconnects mid-stream aborts the upstream request within 100 ms", async () => {
    mock.reset()
    mock.configure({ chunks: 500, pacingMs: 20 })
    const disconnectedAt = await new Promise<number>((resolve, reject) => {
      const payload = JSON.stringify({
        model: "kimi/kimi-k2.6",
        stream: true,
        messages: [{ role: "user", content: "stack-disconnect" }]
      })
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/v1/chat/completions",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
        },
        (res) => {
          let seen = 0
          res.on("data", (data: Buffer) => {
            seen += (data.toString("utf8").match(/tok\d+ /g) ?? []).length
            if (seen >= 3) {
              const at = performance.now()
              req.destroy()
              resolve(at)
            }
          })
        }
      )
      req.on("error", () => undefined)
      req.on("close", () => undefined)
      setTimeout(() => reject(new Error("no chunks arrived")), 10_000)
      req.end(payload)
    })
    const deadline = performance.now() + 20_000 // a poll: the abort's timing is asserted below, from the mock's record
    while (mock.records.get("stack-disconnect")?.aborts !== 1 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2))
    }
    mock.configure({})
    const record = mock.records.get("stack-disconnect")!
    expect(record.aborts).toBe(1)
    // performance.now() here and in the mock share this process's clock
    expect(record.lastAbortAt! - disconnectedAt).toBeLessThan(100)
  }, 30_000)

  it("random request bodies get a 4xx and never take the process down; valid requests keep working", async () => {
    mock.reset()
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ maxLength: 256 }).map((text) => Buffer.from(text)),
      fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value))),
      fc
        .record({
          model: fc.oneof(fc.constant("kimi/kimi-k2.6"), fc.string(), fc.integer()),
          messages: fc.oneof(fc.constant([]), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.string()),
          stream: fc.oneof(fc.boolean(), fc.string())
        })
        .map((value) => Buffer.from(JSON.stringify(value)))
    )
    await fc.assert(
      fc.asyncProperty(body, async (payload) => {
        const answer = await post(payload)
        // 200 only for a body that happens to be a valid request
        if (answer.status !== 200) {
          expect(answer.status).toBeGreaterThanOrEqual(400)
          expect(answer.status).toBeLessThan(500)
          expect(Object.keys(JSON.parse(answer.body).error).sort()).toEqual(["code", "message", "param", "type"])
        }
      }),
      { numRuns: 300 }
    )
    expect(await healthy()).toBe(200)
    expect((await chat("after the fuzzing")).status).toBe(200)
    expect(gateway.exitCode).toBeNull()
  }, 120_000)
})
