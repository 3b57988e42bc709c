import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/main.js")
const env = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !/^(MOONSHOT|KIMI|ZAI|ZHIPUAI)_/.test(name))
) as NodeJS.ProcessEnv

const run = (args: ReadonlyArray<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, ...args], { env, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })

describe("demo", () => {
  it("runs the whole tour in simulated mode, every step ok, and exits 0", async () => {
    const { code, stdout, stderr } = await run(["--json"])
    expect(stderr).toBe("")
    const report = JSON.parse(stdout.slice(stdout.indexOf("{")))
    expect(report.mode).toEqual({ kimi: "simulated", glm: "simulated" })
    expect(report.steps).toHaveLength(9)
    for (const step of report.steps) expect([step.title, step.ok, step.error]).toEqual([step.title, true, undefined])
    expect(report.ok).toBe(true)
    expect(code).toBe(0)
  }, 120_000)

  it("says which mode is active in the first line of the human output", async () => {
    const { stdout, code } = await run([])
    expect(stdout.split("\n")[0]).toBe(
      "Mode: Kimi simulated (no MOONSHOT_API_KEY), GLM simulated (no ZAI_API_KEY); faults are always simulated"
    )
    expect(stdout).toContain("Every step behaved as described.")
    expect(code).toBe(0)
  }, 120_000)

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
