/**
 * The provider generator end to end: copy the repository (tracked and new files, no node_modules) to a temporary
 * directory, install offline from the pnpm store, run `npx pnpm turbo gen provider` non-interactively for a sample
 * OpenAI-compatible provider, install again, then build it and run its tests (core's conformance suite against
 * MSW handlers) through the root test command. Also checks the sample provider's source stays small.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
let copy: string

const sh = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1", CI: process.env.CI ?? "" }
    })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`)
  }
}
const pnpm = (args: ReadonlyArray<string>, cwd: string) => sh("npx", ["-y", "pnpm@10.34.8", ...args], cwd)

beforeAll(() => {
  copy = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-gen-"))
  const files = sh("git", ["ls-files", "--cached", "--others", "--exclude-standard"], repoRoot)
    .split("\n")
    .filter(Boolean)
  for (const file of files) {
    const from = path.join(repoRoot, file)
    if (!fs.existsSync(from) || !fs.statSync(from).isFile()) continue
    const to = path.join(copy, file)
    fs.mkdirSync(path.dirname(to), { recursive: true })
    fs.copyFileSync(from, to)
  }
  pnpm(["install", "--offline", "--prefer-offline"], copy)
  pnpm(
    [
      "turbo",
      "gen",
      "provider",
      "--args",
      "acme",
      "Acme AI",
      "https://api.acme.test/v1",
      "ACME_API_KEY",
      "acme-chat-1"
    ],
    copy
  )
  // The new package is not in the lockfile yet: CI=true makes pnpm default to --frozen-lockfile, so say it.
  pnpm(["install", "--offline", "--prefer-offline", "--no-frozen-lockfile"], copy)
})

afterAll(() => {
  if (copy !== undefined) fs.rmSync(copy, { recursive: true, force: true })
})

describe("turbo gen provider", () => {
  it("scaffolds the package, its conformance test, a fixture folder, a README and a changeset", () => {
    const pkg = path.join(copy, "packages/provider-acme")
    for (const file of [
      "package.json",
      "tsconfig.json",
      "src/index.ts",
      "src/testing/index.ts",
      "test/conformance.test.ts",
      "test/fixtures/README.md",
      "README.md"
    ]) {
      expect(fs.existsSync(path.join(pkg, file)), file).toBe(true)
    }
    expect(fs.readFileSync(path.join(copy, ".changeset/provider-acme-initial.md"), "utf8")).toContain(
      '"@conduit-llm/provider-acme": minor'
    )
    const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "package.json"), "utf8"))
    expect(Object.keys(manifest.exports)).toEqual([".", "./testing", "./package.json"])
  })

  it("keeps the sample provider's source within 150 lines", () => {
    const lines = ["src/index.ts", "src/testing/index.ts"]
      .map((file) => fs.readFileSync(path.join(copy, "packages/provider-acme", file), "utf8").split("\n").length)
      .reduce((a, b) => a + b, 0)
    expect(lines).toBeLessThanOrEqual(150)
  })

  it("builds the generated provider and passes core's conformance suite", () => {
    const output = pnpm(["test", "--filter=@conduit-llm/provider-acme"], copy)
    expect(output).toMatch(/Tests\s+.*18 passed/)
  })
})
