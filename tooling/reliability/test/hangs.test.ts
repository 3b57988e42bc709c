/**
 * Issue 17's hangs, resets and cooldown, as figures: the gateway process (`apps/gateway/dist/main.js`) in front of
 * the node:http mock upstream. A hung upstream (reads the request, never answers) for non-stream and stream calls
 * (time to the answer, attempts), a connection reset in the middle of a body, and a provider that is down in a route
 * with a fallback (requests sent to it during its cooldown, time to come back after the probe).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as MockUpstream from "@conduitkit/mock-upstream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { figures, type Gateway, startGateway } from "./support.js"

// a bound a healthy attempt meets on a loaded machine (the gateway is a child process sharing 2 cores with the rest)
const firstTokenMs = 2_500

let mock: MockUpstream.MockUpstream
let dir: string
let gateway: Gateway
beforeAll(async () => {
  mock = await MockUpstream.start()
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-hangs-"))
  const models = path.join(dir, "models.yaml")
  // one name on Kimi's default path (non-stream calls made in streaming mode and assembled), one forced plain
  fs.writeFileSync(
    models,
    [
      "models:",
      "  bounded:",
      "    target: kimi/kimi-k2.6",
      `    timeouts: { firstTokenMs: ${firstTokenMs}, idleMs: ${firstTokenMs}, totalMs: 60000 }`,
      "  plain:",
      "    target: kimi/kimi-k2.6",
      "    assembleNonStream: false",
      // a total above the first-token bound: applied to the plain path, the first-token bound would end it first
      `    timeouts: { firstTokenMs: ${firstTokenMs}, idleMs: ${firstTokenMs}, totalMs: 6000 }`
    ].join("\n")
  )
  gateway = await startGateway({
    MOONSHOT_API_KEY: "sk-live",
    MOONSHOT_BASE_URL: mock.baseURL("moonshot"),
    CONDUIT_MODELS: models
  })
})
afterAll(async () => {
  await gateway?.stop()
  await mock?.close()
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true })
})

/** One chat request: status, time to the whole answer (ms), the answer's text and error code. */
const ask = async (url: string, model: string, key: string, stream: boolean) => {
  const started = performance.now()
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: key }] })
  })
  const body = await response.text()
  const ms = Math.round(performance.now() - started)
  const text = stream
    ? [...body.matchAll(/"content":"([^"]*)"/g)].map((match) => match[1]).join("")
    : ((JSON.parse(body) as { choices?: Array<{ message?: { content?: string } }> }).choices?.[0]?.message?.content ??
      "")
  const code = /"code":"([^"]+)"/.exec(body)?.[1]
  return { status: response.status, ms, text, code, provider: response.headers.get("x-conduit-provider") }
}

const attemptsOf = (key: string) => mock.records.get(key)?.attempts ?? 0

describe("issue 17: no hang longer than the policy says", () => {
  it("a hung upstream: non-stream and stream answer after one first-token bound, on the second attempt", async () => {
    mock.reset()
    mock.configure({ hangFirst: 1 })
    const nonStream = await ask(gateway.url, "bounded", "hung-nonstream", false)
    const stream = await ask(gateway.url, "bounded", "hung-stream", true)
    // the plain path (assembleNonStream: false) has no per-attempt bound: only the total timeout ends it
    const plain = await ask(gateway.url, "plain", "hung-plain", false)
    figures("hung upstream", {
      firstTokenMs,
      nonStream: { status: nonStream.status, ms: nonStream.ms, attempts: attemptsOf("hung-nonstream") },
      stream: { status: stream.status, ms: stream.ms, attempts: attemptsOf("hung-stream") },
      plainNonStream: { status: plain.status, ms: plain.ms, attempts: attemptsOf("hung-plain"), code: plain.code }
    })
    for (const [answer, key] of [
      [nonStream, "hung-nonstream"],
      [stream, "hung-stream"]
    ] as const) {
      expect(answer.status).toBe(200)
      expect(answer.text).toMatch(/^tok0 tok1 /)
      expect(attemptsOf(key)).toBe(2)
      // one first-token bound, a backoff (at most 500 ms) and the answer, with room for a loaded machine: far below
      // the total bound (60 s) that ends a hung call without the first-token bound (600 s before this change)
      expect(answer.ms).toBeGreaterThanOrEqual(firstTokenMs)
      expect(answer.ms).toBeLessThan(firstTokenMs + 15_000)
    }
    expect(plain.status).toBe(504)
    expect(plain.code).toBe("total_timeout")
    expect(attemptsOf("hung-plain")).toBe(1)
  }, 120_000)

  it("a connection reset in the middle of the body is retried: non-stream (assembled and plain) and stream", async () => {
    mock.reset()
    mock.configure({ resetFirst: 1 })
    const assembled = await ask(gateway.url, "bounded", "reset-assembled", false)
    const plain = await ask(gateway.url, "plain", "reset-plain", false)
    const stream = await ask(gateway.url, "bounded", "reset-stream", true)
    figures("reset mid-body", {
      nonStreamAssembled: { status: assembled.status, attempts: attemptsOf("reset-assembled"), ms: assembled.ms },
      nonStreamPlain: { status: plain.status, attempts: attemptsOf("reset-plain"), ms: plain.ms },
      streamAfterItsFirstTokens: { status: stream.status, attempts: attemptsOf("reset-stream"), ms: stream.ms }
    })
    for (const [answer, key] of [
      [assembled, "reset-assembled"],
      [plain, "reset-plain"]
    ] as const) {
      expect(answer.status).toBe(200)
      expect(answer.text).toMatch(/^tok0 tok1 .*tok15 $/)
      expect(attemptsOf(key)).toBe(2)
    }
    // a stream whose first half reached the client is not retried (it ends with an error frame): the reset stream
    // here had sent its first tokens, so the client saw them, then the error
    expect(stream.status).toBe(200)
    expect(attemptsOf("reset-stream")).toBe(1)
  }, 120_000)
})

describe("issue 17: provider cooldown", () => {
  it("a down provider in a route with a fallback: skipped during its cooldown, back after one probe", async () => {
    const down = await MockUpstream.start({ rate5xx: 1 })
    const healthy = await MockUpstream.start()
    // 10 s: the requests sent during the first half of it all reach the route before it ends, even at hundreds of ms
    // (or seconds) per request on a loaded machine
    const cooldownMs = 10_000
    const cooled = await startGateway({
      MOONSHOT_API_KEY: "sk-live",
      MOONSHOT_BASE_URL: down.baseURL("moonshot"),
      ZAI_API_KEY: "zai-live",
      ZAI_BASE_URL: healthy.baseURL("zai"),
      CONDUIT_COOLDOWN_FAILURES: "3",
      CONDUIT_COOLDOWN_MS: String(cooldownMs),
      CONDUIT_RESPONSE_CACHE: "0"
    })
    try {
      // `default` is Kimi with GLM as its fallback; Kimi fails every attempt
      const answers: Array<Awaited<ReturnType<typeof ask>>> = []
      let sent = 0
      const send = async () => answers.push(await ask(cooled.url, "default", `cool-${sent++}`, false))
      for (let i = 0; i < 3; i++) await send()
      const beforeCooldown = down.totals().requests
      const openedAt = performance.now()
      // stop sending half way through the cooldown: a request still reaching the route after it ended would be the
      // probe (a loaded machine takes hundreds of ms per request)
      while (performance.now() - openedAt < cooldownMs / 2) await send()
      const duringCooldown = down.totals().requests - beforeCooldown
      const requestsDuringCooldown = answers.length - 3
      // Kimi is back; requests go on until one is answered by Kimi again (after its probe)
      down.configure({})
      const backAt = performance.now()
      let answeredByKimiAfterMs: number | undefined
      while (answeredByKimiAfterMs === undefined && performance.now() - backAt < cooldownMs + 20_000) {
        await send()
        if (answers.at(-1)?.provider === "kimi") answeredByKimiAfterMs = Math.round(performance.now() - backAt)
      }
      const health = (await (await fetch(`${cooled.url}/healthz`)).json()) as { status: string }
      figures("provider cooldown", {
        cooldownMs,
        failedCallsToOpen: 3,
        kimiAttemptsBeforeCooldown: beforeCooldown,
        requestsDuringCooldown,
        kimiAttemptsDuringCooldown: duringCooldown,
        withoutCooldown: requestsDuringCooldown * 3,
        answeredByKimiAfterMs,
        errors: answers.filter((answer) => answer.status !== 200).length,
        healthAfter: health.status
      })
      expect(answers.every((answer) => answer.status === 200)).toBe(true)
      // without cooldown every request would try Kimi (3 attempts each); during the cooldown none does
      expect(requestsDuringCooldown).toBeGreaterThan(0)
      expect(duringCooldown).toBe(0)
      expect(answeredByKimiAfterMs).toBeDefined()
      // back once the cooldown's remaining half has passed and one probe succeeded (not at the next cooldown)
      expect(answeredByKimiAfterMs!).toBeLessThan(cooldownMs + 5_000)
      expect(health.status).toBe("ok")
    } finally {
      await cooled.stop()
      await down.close()
      await healthy.close()
    }
  }, 120_000)
})
