/**
 * The gateway under faults and attack, as figures: `apps/gateway/dist/main.js` in its own process (as operators run
 * it), the node:http mock upstream on loopback. Each scenario prints its figures (`[reliability] …`) and fails when
 * its property breaks. Bounded: a few seconds per scenario.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import * as MockUpstream from "@conduitkit/mock-upstream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const main = path.resolve(import.meta.dirname, "../../../apps/gateway/dist/main.js")

/** Prints one scenario's figures. */
const figures = (scenario: string, values: Record<string, unknown>) =>
  console.log(`[reliability] ${scenario}: ${JSON.stringify(values)}`)

interface Gateway {
  readonly url: string
  readonly process: ChildProcess
  readonly lines: Array<Record<string, unknown>>
  readonly stop: () => Promise<number | null>
}

/** Starts main.js with exactly `env` (plus PATH) and waits for its "listening on" line. */
const startGateway = (env: Record<string, string>): Promise<Gateway> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const lines: Array<Record<string, unknown>> = []
    let buffer = ""
    let started = false
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${JSON.stringify(lines)}`)), 20_000)
    const onData = (data: Buffer) => {
      buffer += data.toString("utf8")
      let newline = buffer.indexOf("\n")
      while (newline !== -1) {
        const text = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
        if (text.trim() === "") continue
        const line = JSON.parse(text) as Record<string, unknown>
        lines.push(line)
        if (!started && typeof line.msg === "string" && line.msg.startsWith("listening on ")) {
          started = true
          clearTimeout(timer)
          resolve({
            url: String(line.url),
            process: child,
            lines,
            stop: () => {
              child.kill("SIGTERM")
              return exited
            }
          })
        }
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
  })

const chat = async (url: string, model: string, content: string) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] })
  })
  return {
    status: response.status,
    simulated: response.headers.get("x-conduit-simulated"),
    body: await response.text()
  }
}

let mock: MockUpstream.MockUpstream
beforeAll(async () => {
  mock = await MockUpstream.start()
})
afterAll(() => mock?.close())

describe("issue 17: never a made-up answer, never a hang", () => {
  it("mixed live / keyless providers: no simulated answer reaches a client that did not ask for one", async () => {
    mock.reset()
    mock.configure({ rate5xx: 0.5 })
    const gateway = await startGateway({ MOONSHOT_API_KEY: "sk-live", MOONSHOT_BASE_URL: mock.baseURL("moonshot") })
    try {
      // every built-in name and both providers' ids, with the live provider failing half its attempts
      const models = ["default", "fast", "thinking", "vision", "kimi/kimi-k2.6", "glm/glm-4.6"]
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => chat(gateway.url, models[i % models.length]!, `mixed-${i}`))
      )
      // the simulations' canned text names them ("Hello! I am GLM…", "Hello from simulated Kimi.")
      const simulated = answers.filter(
        (answer) => answer.simulated !== null || (answer.status === 200 && !/"content":"tok0 /.test(answer.body))
      )
      figures("mixed live/simulated", {
        requests: answers.length,
        ok: answers.filter((answer) => answer.status === 200).length,
        errors: answers.filter((answer) => answer.status >= 400).length,
        simulatedAnswers: simulated.length
      })
      expect(simulated).toEqual([])
      expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThan(0)
    } finally {
      mock.configure({})
      expect(await gateway.stop()).toBe(0)
    }
  }, 60_000)
})
