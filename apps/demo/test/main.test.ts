import { execFileSync } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/main.js")

describe("demo", () => {
  it("prints every wired package with its version", () => {
    const output = execFileSync(process.execPath, [main], { encoding: "utf8" })
    for (const name of ["core", "provider-kimi", "provider-glm", "cache", "session"]) {
      expect(output).toMatch(new RegExp(`@conduit-llm/${name}\\s+\\d+\\.\\d+\\.\\d+`))
    }
  })
})
