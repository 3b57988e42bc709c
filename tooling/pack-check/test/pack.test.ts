/**
 * How users consume us: every library is packed with `pnpm pack` (which rewrites `workspace:^` into real versions),
 * the tarballs are installed with npm into a project outside the workspace (no workspace links, no hoisting from the
 * monorepo), and every entry point of every `exports` map is imported from Node 24 and type-checked with `tsc`.
 *
 * It fails when an `exports` path, a `types` path, a dependency declaration or the `files` list is wrong. Each
 * entry point must also expose exactly the names the workspace build exposes, so a stale or partial `dist` in the
 * tarball is caught too. `publint` runs on every package as well.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const packagesDir = path.join(repoRoot, "packages")

interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly exports?: Record<string, unknown>
  readonly peerDependencies?: Record<string, string>
}

interface Library {
  readonly dir: string
  readonly name: string
  readonly entryPoints: ReadonlyArray<string>
  readonly manifest: Manifest
}

const libraries: ReadonlyArray<Library> = fs
  .readdirSync(packagesDir)
  .map((dir) => path.join(packagesDir, dir))
  .filter((dir) => fs.existsSync(path.join(dir, "package.json")))
  .map((dir) => {
    const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
    const entryPoints = Object.keys(manifest.exports ?? {})
      .filter((key) => key !== "./package.json")
      .map((key) => (key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`))
    return { dir, name: manifest.name, entryPoints, manifest }
  })
  .filter((library) => library.manifest.private !== true)

const run = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: process.env })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`)
  }
}

/** pnpm as the workspace pins it: the script runner's own pnpm, else the root devDependency. */
const pnpm = (args: ReadonlyArray<string>, cwd: string): string => {
  const execPath = process.env.npm_execpath
  return execPath !== undefined && /pnpm/.test(execPath)
    ? run(process.execPath, [execPath, ...args], cwd)
    : run(path.join(repoRoot, "node_modules/.bin/pnpm"), args, cwd)
}

let work: string

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-pack-"))
  const tarballs = path.join(work, "tarballs")
  const project = path.join(work, "project")
  fs.mkdirSync(tarballs)
  fs.mkdirSync(project)

  const dependencies: Record<string, string> = {}
  for (const library of libraries) {
    const before = new Set(fs.readdirSync(tarballs))
    pnpm(["pack", "--pack-destination", tarballs], library.dir)
    const tarball = fs.readdirSync(tarballs).find((file) => !before.has(file))
    if (tarball === undefined) throw new Error(`pnpm pack produced no tarball for ${library.name}`)
    dependencies[library.name] = `file:${path.join(tarballs, tarball)}`
    // Peer dependencies are the user's to install: do it the way a user would.
    for (const [peer, range] of Object.entries(library.manifest.peerDependencies ?? {})) {
      dependencies[peer] ??= range
    }
  }

  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "conduit-consumer", private: true, type: "module", dependencies }, null, 2)
  )
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], project)
})

afterAll(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
})

const exportNames = async (specifier: string): Promise<ReadonlyArray<string>> =>
  Object.keys(await import(specifier)).sort()

describe("packed libraries installed with npm outside the workspace", () => {
  it("finds the libraries to check", () => {
    expect(libraries.map((library) => library.name).sort()).toEqual([
      "@conduitkit/cache",
      "@conduitkit/core",
      "@conduitkit/provider-glm",
      "@conduitkit/provider-kimi",
      "@conduitkit/session"
    ])
  })

  for (const library of libraries) {
    for (const entry of library.entryPoints) {
      it(`imports ${entry} at runtime with the workspace build's exports`, async () => {
        const project = path.join(work, "project")
        const script = `const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()))`
        const installed = JSON.parse(run(process.execPath, ["--input-type=module", "-e", script], project))
        expect(installed.length).toBeGreaterThan(0)
        expect(installed).toEqual(await exportNames(entry))
      })
    }
  }

  it("type-checks every entry point from the installed packages", () => {
    const project = path.join(work, "project")
    const imports = libraries.flatMap((library) => library.entryPoints)
    fs.writeFileSync(
      path.join(project, "check.ts"),
      imports
        .map((entry, i) => `import * as m${i} from ${JSON.stringify(entry)}\nexport type T${i} = typeof m${i}\n`)
        .join("")
    )
    fs.writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2023",
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: []
        },
        files: ["check.ts"]
      })
    )
    const tsc = path.join(repoRoot, "node_modules/.bin/tsc")
    let output = ""
    try {
      output = run(tsc, ["-p", "tsconfig.json"], project)
    } catch (error) {
      output = (error as Error).message
    }
    expect(output.trim()).toBe("")
  })
})

describe("publint", () => {
  for (const library of libraries) {
    it(`${library.name} has no publint errors or warnings`, async () => {
      const { messages, pkg } = await publint({ pkgDir: library.dir, level: "warning", strict: true, pack: "pnpm" })
      expect(messages.map((message) => formatMessage(message, pkg) ?? message.code)).toEqual([])
    })
  }
})
