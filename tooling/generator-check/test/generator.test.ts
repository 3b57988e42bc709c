/**
 * The provider generator end to end: copy the repository (tracked and new files, no node_modules) to a temporary
 * directory, install from the pnpm store (--prefer-offline), run `npx pnpm turbo gen provider` non-interactively for a sample
 * OpenAI-compatible provider, install again, check the output passes the repository's lint (`biome check`) as
 * generated, fill the declarations the way a provider author would (a catalog entry with a distinctive context
 * window, an error-table rule for the provider's own code and its error body in the scenario data), check the
 * filled source is lint-clean and at most 150 lines, then build it and run its tests through the root test command:
 * core's conformance suite, the generated `./testing` mock, and assertions that the filled declarations took effect.
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
  pnpm(["install", "--prefer-offline"], copy)
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
  pnpm(["install", "--prefer-offline", "--no-frozen-lockfile"], copy)
})

afterAll(() => {
  if (copy !== undefined) fs.rmSync(copy, { recursive: true, force: true })
})

const pkgDir = () => path.join(copy, "packages/provider-acme")
// Every source module the generator writes (one module per concept, like provider-kimi and provider-glm), and the
// ones a provider author fills in (declarations, catalog, error table, scenario data): those stay within 150 lines.
const sourceFiles = [
  "src/AcmeClient.ts",
  "src/AcmeConfig.ts",
  "src/AcmeError.ts",
  "src/AcmeLanguageModel.ts",
  "src/AcmeModels.ts",
  "src/AcmePromiseClient.ts",
  "src/AcmeProvider.ts",
  "src/index.ts",
  "src/testing/AcmeMock.ts",
  "src/testing/AcmeScenarios.ts",
  "src/testing/index.ts"
]
const filledFiles = ["src/AcmeProvider.ts", "src/AcmeModels.ts", "src/AcmeError.ts", "src/testing/AcmeScenarios.ts"]
const sourceLines = () =>
  filledFiles
    .map((file) => fs.readFileSync(path.join(pkgDir(), file), "utf8").trimEnd().split("\n").length)
    .reduce((a, b) => a + b, 0)
const biomeCheck = () => pnpm(["exec", "biome", "check", "packages/provider-acme"], copy)
const edit = (file: string, from: string, to: string) => {
  const target = path.join(pkgDir(), file)
  const text = fs.readFileSync(target, "utf8")
  if (!text.includes(from)) throw new Error(`${file} no longer contains:\n${from}`)
  fs.writeFileSync(target, text.replace(from, to))
}

// What the sample provider's author fills in: a small model (the context-window preflight must use its 1,000
// tokens), the provider's own billing error code (402 + `acme_credit_exhausted`, unknown to OpenAI's table: without
// the rule it would be an UnknownError and the conformance suite's quota scenario would fail).
const fill = () => {
  edit(
    "src/AcmeError.ts",
    "export const errorTable: ProviderError.ErrorTable = (info) => ProviderError.openAiTable(info)",
    `export const errorTable: ProviderError.ErrorTable = (info) =>
  info.code === "acme_credit_exhausted" ? { reason: "QuotaExhaustedError" } : ProviderError.openAiTable(info)`
  )
  edit(
    "src/AcmeModels.ts",
    `    source: "(the provider's model list URL)"
  }
])`,
    `    source: "(the provider's model list URL)"
  },
  {
    id: "acme-tiny-1",
    provider: "acme",
    contextWindow: 1_000,
    maxOutputTokens: 256,
    capabilities: ModelCatalog.conservativeCapabilities,
    lifecycle: { status: "active" }
  }
])`
  )
  edit(
    "src/testing/AcmeScenarios.ts",
    'quotaExhausted: { status: 429, body: error("Out of quota", "insufficient_quota", "insufficient_quota") },',
    'quotaExhausted: { status: 402, body: error("Top up your credit", "billing", "acme_credit_exhausted") },'
  )
  fs.writeFileSync(
    path.join(pkgDir(), "test/filled.test.ts"),
    `import { setupServer } from "msw/node"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Acme, createAcme } from "../src/index.js"
import { AcmeMock, AcmeScenarios } from "../src/testing/index.js"

describe("the filled declarations", () => {
  const upstream = AcmeMock.make()
  const server = setupServer(...upstream.handlers)
  const client = createAcme({ apiKey: "test-key" })
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterAll(() => server.close())

  it("uses the catalog entry's 1,000-token context window before any HTTP call (pre-flight asked for)", async () => {
    expect(Acme.catalog.get("acme-tiny-1")?.contextWindow).toBe(1_000)
    expect((await client.chat({ model: "acme-tiny-1", prompt: "Hi" })).text).toBe(
      AcmeScenarios.conformance.completions.text.text
    )
    upstream.recorder.reset()
    const long = "word ".repeat(3_000)
    await expect(client.chat({ model: "acme-tiny-1", prompt: long, preflight: true })).rejects.toThrow(
      /1000-token context window/
    )
    expect(upstream.recorder.count).toBe(0)
  })

  it("maps the provider's own billing code through the error table, without retrying", async () => {
    upstream.recorder.reset()
    upstream.fail("quotaExhausted", 3)
    await expect(client.chat({ prompt: "Hi" })).rejects.toMatchObject({ reason: "QuotaExhaustedError", status: 402 })
    expect(upstream.recorder.count).toBe(1)
  })
})
`
  )
}

describe("turbo gen provider", () => {
  it("scaffolds the package, its conformance test, a fixture folder, a README and a changeset", () => {
    for (const file of [
      "package.json",
      "tsconfig.json",
      ...sourceFiles,
      "test/Conformance.test.ts",
      "test/fixtures/README.md",
      "README.md"
    ]) {
      expect(fs.existsSync(path.join(pkgDir(), file)), file).toBe(true)
    }
    expect(fs.readFileSync(path.join(copy, ".changeset/provider-acme-initial.md"), "utf8")).toContain(
      '"@conduitkit/provider-acme": minor'
    )
    const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir(), "package.json"), "utf8"))
    expect(Object.keys(manifest.exports)).toEqual([".", "./testing", "./package.json"])
    const testing = fs.readFileSync(path.join(pkgDir(), "src/testing/AcmeMock.ts"), "utf8")
    expect(testing).toMatch(/export const handlers = /)
  })

  it("generates output that passes the repository's lint as is", () => {
    biomeCheck()
    expect(sourceLines()).toBeLessThanOrEqual(150)
  })

  it("keeps the filled sample provider lint-clean and its source within 150 lines", () => {
    fill()
    biomeCheck()
    expect(sourceLines()).toBeLessThanOrEqual(150)
  })

  it("builds the filled provider and passes the conformance suite, the mock's tests and the filled declarations", () => {
    const output = pnpm(["test", "--filter=@conduitkit/provider-acme"], copy)
    // Conformance.test.ts: 18 conformance scenarios + 3 tests of the generated ./testing mock and Promise face
    // (chat and stream, the key and error bodies, create without a key); filled.test.ts: 2
    expect(output).toMatch(/Test Files\s+.*2 passed/)
    expect(output).toMatch(/Tests\s+.*23 passed/)
  })
})
