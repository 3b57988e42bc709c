/**
 * The built demo (`dist/main.js`) as a newcomer runs it, with the test runner's provider keys removed, so every
 * provider is simulated (in-process MSW mocks; nothing reaches the network) unless a test sets a key itself.
 */
import { execFile } from "node:child_process"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/main.js")
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(MOONSHOT|KIMI|ZAI|ZHIPUAI)_/.test(name))
) as NodeJS.ProcessEnv

const run = (args: ReadonlyArray<string>, extra: NodeJS.ProcessEnv = {}, stdin?: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [main, ...args],
      // a budget, not a property: one demo process took ~60 s while every suite ran at once on 2 cores
      { env: { ...env, ...extra }, timeout: 240_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
    child.stdin?.end(stdin ?? "")
  })

describe("demo", () => {
  it("runs the whole tour in simulated mode, every step ok, and exits 0", async () => {
    const { code, stdout, stderr } = await run(["--json"])
    expect(stderr).toBe("")
    const report = JSON.parse(stdout.slice(stdout.indexOf("{")))
    expect(report.mode).toEqual({ kimi: "simulated", glm: "simulated" })
    expect(report.steps).toHaveLength(11)
    for (const step of report.steps) expect([step.title, step.ok, step.error]).toEqual([step.title, true, undefined])
    expect(report.ok).toBe(true)
    expect(code).toBe(0)
  }, 300_000)

  it("says which mode is active in the first line of the human output", async () => {
    const { stdout, code } = await run([])
    expect(stdout.split("\n")[0]).toBe(
      "Mode: Kimi simulated (no MOONSHOT_API_KEY), GLM simulated (no ZAI_API_KEY); faults are always simulated"
    )
    expect(stdout).toContain("Every step behaved as described.")
    expect(code).toBe(0)
    // the summary table: its header names the columns, one row per step, every row ok
    const lines = stdout.split("\n")
    const header = lines[lines.indexOf("Summary") + 1] ?? ""
    expect(header.trim().split(/\s+/)).toEqual([
      "step",
      "provider",
      "model",
      "result",
      "tokens",
      "cached",
      "attempts",
      "ms"
    ])
    const rows = lines.slice(lines.indexOf("Summary") + 3).filter((line) => /^\d+\. /.test(line))
    expect(rows).toHaveLength(11)
    for (const row of rows) expect(row).toMatch(/\sok\s+(–|\d+)\s+(–|\d+)\s+(–|\d+)\s+\d+$/)
    // step 8: all 20 per-request rows and the lifecycle events per kind
    expect(stdout.match(/session-\d\/turn-\d/g)).toHaveLength(20)
    expect(stdout).toMatch(
      /lifecycle events: created 20 · queued \d+ · running 20 · completed 20 · failed 0 · released 20/
    )
    // step 11: three answers charged, the fourth request refused by the key's daily budget
    expect(stdout.match(/✓ answer \d: [\d.e-]+ USD, spent/g)).toHaveLength(3)
    expect(stdout).toMatch(/✗ request 4: Budget of [\d.e-]+ USD per UTC day reached for key key_0d3e1a5c9b27/)
    expect(stdout).toMatch(/429 budget_exceeded, Retry-After: \d+/)
  }, 300_000)

  it("exits non-zero when a step does not behave as described (Kimi live against an endpoint that refuses connections)", async () => {
    // a port that was free a moment ago: connections to it are refused, so the live Kimi steps fail
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const address = server.address() as net.AddressInfo
        server.close(() => resolve(address.port))
      })
    })
    const { stdout, code } = await run([], {
      MOONSHOT_API_KEY: "sk-test-not-a-key",
      MOONSHOT_BASE_URL: `http://127.0.0.1:${port}/v1`
    })
    expect(stdout.split("\n")[0]).toMatch(/^Mode: Kimi live/)
    expect(stdout).toContain("Some steps did not behave as described.")
    const rows = stdout
      .split("\n")
      .slice(stdout.split("\n").indexOf("Summary") + 3)
      .filter((line) => /^\d+\. /.test(line))
    expect(rows).toHaveLength(11)
    expect(rows.find((row) => row.startsWith("1. "))).toMatch(/\sfailed\s/)
    // GLM is still simulated: its steps stay ok
    expect(rows.find((row) => row.startsWith("2. "))).toMatch(/\sok\s/)
    expect(stdout).not.toContain("sk-test-not-a-key")
    expect(code).toBe(1)
  }, 300_000)

  it("lists the catalog as a table and as JSON", async () => {
    const table = await run(["models"])
    expect(table.stdout).toMatch(/kimi\/kimi-k3\s+\d+/)
    expect(table.stdout).toMatch(/glm\/glm-4\.6\s+\d+/)
    const rows = JSON.parse((await run(["models", "--json"])).stdout)
    expect(rows.some((r: { model: string }) => r.model === "kimi/kimi-k2.6")).toBe(true)
  })

  it("chats with one prompt on the simulated upstream", async () => {
    const { stdout, code } = await run(["chat", "--model", "glm/glm-4.6", "Hello"])
    expect(code).toBe(0)
    expect(stdout).toMatch(/\d+ in \(\d+ cached\), \d+ out/)
  })

  it("chats with tools: the twin's calls, the local results, then an answer that uses them", async () => {
    const { stdout, code } = await run([
      "chat",
      "--tools",
      "--model",
      "kimi/kimi-k2.6",
      "What's the weather in Rome, and what time is it there?"
    ])
    expect(code).toBe(0)
    expect(stdout).toContain('→ tool get_weather({"city":"Rome"})')
    expect(stdout).toContain('→ tool get_time({"zone":"Europe/Rome"})')
    expect(stdout).toContain('← result {"city":"Rome","celsius":23,"sky":"sunny"}')
    expect(stdout).toContain('Simulated Kimi: get_weather returned: {"city":"Rome","celsius":23,"sky":"sunny"}.')
  })

  it("chats with structured output: the answer is a weather report object", async () => {
    const { stdout, code } = await run([
      "chat",
      "--structured",
      "--model",
      "glm/glm-4.6",
      "Report the weather in Oslo: 4 degrees and rain"
    ])
    expect(code).toBe(0)
    const report = JSON.parse(stdout.slice(stdout.indexOf("{")))
    expect(report).toEqual({ city: "Oslo", celsius: 4, sky: "rain" })
  })

  it("chats in a named session with one prompt, human and JSON output", async () => {
    const human = await run(["chat", "--session", "demo-session", "--model", "kimi/kimi-k2.6", "Hello"])
    expect(human.code).toBe(0)
    expect(human.stdout).toMatch(/\d+ in \(\d+ cached\), \d+ out/)
    const { stdout, code } = await run([
      "chat",
      "--session",
      "demo-session",
      "--model",
      "glm/glm-4.6",
      "--json",
      "Hello"
    ])
    expect(code).toBe(0)
    const answer = JSON.parse(stdout.slice(stdout.indexOf("{")))
    expect(answer.text.length).toBeGreaterThan(0)
    expect(answer.metadata).toMatchObject({ provider: "glm", model: "glm-4.6", attempts: 1 })
    expect(answer.session).toMatchObject({ sessionId: "demo-session", attempts: 1 })
    expect(human.stdout).toContain("session demo-session, request req_")
  })

  it("interactive chat answers every piped line in one session, and ends at the end of the input", async () => {
    const { stdout, code } = await run(
      ["chat", "--session", "piped", "--model", "kimi/kimi-k2.6"],
      {},
      "Hello\nAnd again\n"
    )
    expect(code).toBe(0)
    const turns = stdout.match(/session piped, request req_/g) ?? []
    expect(turns).toHaveLength(2)
    // the second turn carries the first as history: more input tokens
    const inputs = [...stdout.matchAll(/\[(\d+) in /g)].map((match) => Number(match[1]))
    expect(inputs).toHaveLength(2)
    expect(inputs[1]!).toBeGreaterThan(inputs[0]!)
  })

  it("probes one call into a JSONL trace", async () => {
    const fs = await import("node:fs")
    const os = await import("node:os")
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-probe-"))
    const { stdout, code } = await run(["probe", "--model", "kimi/kimi-k3", "--out", out, "--json", "Hi"])
    expect(code).toBe(0)
    const result = JSON.parse(stdout.slice(stdout.indexOf("{")))
    const lines = fs
      .readFileSync(result.trace, "utf8")
      .trim()
      .split("\n")
      .map((l: string) => JSON.parse(l))
    expect(lines[0]).toMatchObject({ kind: "request" })
    expect(JSON.stringify(lines[0])).not.toContain("sk-simulated")
    expect(lines.filter((l: { kind: string }) => l.kind === "chunk").at(-1).data).toBe("[DONE]")
    fs.rmSync(out, { recursive: true, force: true })
  })
})
