/**
 * The evidence tables in docs/refusals/ cannot drift from the code: every refusal call in a package's `src/` (core's
 * `ProviderError.invalidRequest`, an error tagged `kind: "preflight"`, and the packages' helpers around them) carries a
 * `// refusal: <id>` marker (or `refusal-helper` / `refusal-relay` where it only wraps or passes one on), every id has
 * a row in a table, and every row names a refusal still in the code.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../../../", import.meta.url))

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "testing" ? [] : sourceFiles(path)
    return name.endsWith(".ts") ? [path] : []
  })

/** The calls that refuse a request (a line may hold the call's first line only). */
const refusalCall =
  /ProviderError\.invalidRequest\(|kind: "preflight"|(?<![\w.])(?:refuse|refused|toAiError|preflight)\(|Result\.fail<Refusal>\(|(?<![\w.])fail\(provider/

const marker = /\/\/ refusal(?:: (\S+)|-helper|-relay)/

interface Site {
  readonly file: string
  readonly line: number
  readonly id: string | undefined
  readonly marked: boolean
}

const sites = (): Array<Site> => {
  const out: Array<Site> = []
  for (const pkg of readdirSync(join(root, "packages"))) {
    const src = join(root, "packages", pkg, "src")
    if (!statSync(src, { throwIfNoEntry: false })?.isDirectory()) continue
    for (const file of sourceFiles(src)) {
      const lines = readFileSync(file, "utf8").split("\n")
      lines.forEach((text, index) => {
        if (!refusalCall.test(text) || /^\s*(\*|\/\/)/.test(text)) return
        // the marker sits on one of the three lines above the call (or on a helper's definition just above)
        const above = lines.slice(Math.max(0, index - 3), index).reverse()
        const found = above.map((line) => marker.exec(line)).find((match) => match !== null)
        out.push({ file: file.slice(root.length), line: index + 1, id: found?.[1], marked: found != null })
      })
    }
  }
  return out
}

const tableIds = (): Map<string, string> => {
  const ids = new Map<string, string>()
  const dir = join(root, "docs", "refusals")
  for (const name of readdirSync(dir).filter((file) => file.endsWith(".md"))) {
    for (const line of readFileSync(join(dir, name), "utf8").split("\n")) {
      const row = /^\| `([a-z]+\/[a-z0-9-]+)` \|([^|]*)\|([^|]*)\|([^|]*)\|/.exec(line)
      if (row?.[1] !== undefined) ids.set(row[1], (row[4] ?? "").trim())
    }
  }
  return ids
}

describe("refusal evidence tables (docs/refusals/)", () => {
  const found = sites()
  const ids = tableIds()

  it("finds the refusals in the code (the walk itself works)", () => {
    expect(found.length).toBeGreaterThan(20)
    expect(found.some((site) => site.id === "kimi/tool-choice-with-thinking")).toBe(true)
  })

  it("every refusal call is marked", () => {
    expect(found.filter((site) => !site.marked).map((site) => `${site.file}:${site.line}`)).toEqual([])
  })

  it("every marked refusal has a row with its evidence", () => {
    const missing = found.filter((site) => site.id !== undefined && !ids.has(site.id))
    expect(missing.map((site) => `${site.file}:${site.line} ${site.id}`)).toEqual([])
    for (const [id, evidence] of ids) expect(evidence, id).not.toBe("")
  })

  it("every row names a refusal still in the code", () => {
    const inCode = new Set(found.map((site) => site.id))
    expect([...ids.keys()].filter((id) => !inCode.has(id))).toEqual([])
  })

  it("a refusal whose evidence is a live recording names a fixture that exists", () => {
    for (const name of ["kimi.md", "glm.md"]) {
      const provider = name.replace(".md", "")
      const text = readFileSync(join(root, "docs", "refusals", name), "utf8")
      for (const row of text.split("\n").filter((line) => /^\| `[a-z]+\//.test(line) && line.includes("| live"))) {
        const fixtures = [...row.matchAll(/`([\w./-]+\.(?:json|jsonl|txt|yaml))`/g)].map((match) => match[1]!)
        expect(fixtures.length, row).toBeGreaterThan(0)
        for (const fixture of fixtures) {
          expect(
            statSync(join(root, "..", "shared", "fixtures", provider, fixture), { throwIfNoEntry: false }),
            fixture
          ).toBeDefined()
        }
      }
    }
  })
})
