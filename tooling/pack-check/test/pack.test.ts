/**
 * How users consume us: every published package (the libraries under packages/, the gateway, the demo and the MCP
 * server under apps/) is packed with `pnpm pack` and installed ALONE with npm into its own empty project outside the
 * workspace: only its declared dependencies and required peers, no workspace links, no hoisting from the monorepo,
 * and without the optional peers msw and vitest. In its project:
 *
 * - every entry point of its `exports` map is imported on Node 24 (the names must be the workspace build's, so a stale
 *   or partial `dist` is caught) and type-checked with `tsc`; a `/testing` entry needs msw (the import names it when
 *   it is missing) and works without vitest, which is added only by the user who runs the conformance suite;
 * - the README's quick starts run as written (Effect face and Promise face of each provider, the first examples of
 *   core, cache and session), against a stand-in upstream: Moonshot's and Z.ai's mocks behind a loopback server,
 *   reached through a `fetch` redirect loaded with `node --import`, so no request leaves the machine;
 * - the gateway, the demo and the MCP server start with `npx` from their packed tarballs and answer on the simulated
 *   providers.
 *
 * `engines` and each README state Node >= 22.12 (each bin's own test checks the guard). `publint` runs on every
 * package as well.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  addTo,
  codeBlock,
  glmKey,
  installAlone,
  kimiKey,
  type Package,
  packAll,
  packagesIn,
  redirectModule,
  repoRoot,
  run,
  type StandIn,
  startStandIn
} from "./support.js"

const libraries = packagesIn("packages")
const apps = packagesIn("apps")
const everyPackage = [...libraries, ...apps]

let work: string
let standIn: StandIn
const projectOf = (name: string) => path.join(work, name.replace("@conduitkit/", ""))

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-pack-"))
  const tarballs = path.join(work, "tarballs")
  fs.mkdirSync(tarballs)
  const packed = packAll(everyPackage, tarballs)
  // the installs are mostly waiting on the npm cache and the network: all at once
  await Promise.all(everyPackage.map((pkg) => installAlone(projectOf(pkg.name), pkg.name, packed)))
  standIn = await startStandIn()
})

afterAll(async () => {
  await standIn?.close()
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true })
})

/** The environment of a consumer process: this one without provider keys, plus `extra`. */
const consumerEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env = { ...process.env, ...extra }
  for (const name of ["MOONSHOT_API_KEY", "KIMI_API_KEY", "MOONSHOT_BASE_URL", "ZAI_API_KEY", "ZHIPUAI_API_KEY"]) {
    if (!(name in extra)) delete env[name]
  }
  delete env.ZAI_BASE_URL
  return env
}

const optionalPeers = (pkg: Package): ReadonlyArray<string> =>
  Object.entries(pkg.manifest.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta.optional === true)
    .map(([name]) => name)

/** Every installed copy of `name` under `modules` (nested `node_modules` included), as directories. */
const copiesOf = (modules: string, name: string): ReadonlyArray<string> =>
  fs
    .readdirSync(modules, { recursive: true, encoding: "utf8" })
    .filter((file) => file === `${name}/package.json` || file.endsWith(`node_modules/${name}/package.json`))
    .map((file) => path.dirname(path.join(modules, file)))

/** Imports `entry` in the project of `pkg` on this Node: its export names, sorted. */
const importIn = (pkg: Package, entry: string): ReadonlyArray<string> => {
  const script = `const m = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(Object.keys(m).sort()))`
  return JSON.parse(run(process.execPath, ["--input-type=module", "-e", script], projectOf(pkg.name)))
}

const exportNames = async (specifier: string): Promise<ReadonlyArray<string>> =>
  Object.keys(await import(specifier)).sort()

const typeCheck = (pkg: Package): string => {
  const project = projectOf(pkg.name)
  fs.writeFileSync(
    path.join(project, "check.ts"),
    pkg.entryPoints
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
  try {
    return run(path.join(repoRoot, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], project).trim()
  } catch (error) {
    return (error as Error).message
  }
}

describe("each package installed alone with npm outside the workspace", () => {
  it("finds the packages to check", () => {
    expect(libraries.map((pkg) => pkg.name)).toEqual([
      "@conduitkit/cache",
      "@conduitkit/core",
      "@conduitkit/provider-glm",
      "@conduitkit/provider-kimi",
      "@conduitkit/session"
    ])
    expect(apps.map((pkg) => pkg.name)).toEqual(["@conduitkit/demo", "@conduitkit/gateway", "@conduitkit/mcp"])
  })

  for (const pkg of everyPackage) {
    it(`${pkg.name} declares Node >= 22.12 in engines and its README says so`, () => {
      expect(pkg.manifest.engines?.node).toBe(">=22.12")
      expect(fs.readFileSync(path.join(pkg.dir, "README.md"), "utf8")).toContain("Node >= 22.12")
    })

    it(`${pkg.name} installs alone: its declared dependencies, without the optional peers`, () => {
      const modules = path.join(projectOf(pkg.name), "node_modules")
      expect(fs.existsSync(path.join(modules, pkg.name, "package.json"))).toBe(true)
      for (const peer of optionalPeers(pkg)) expect(fs.existsSync(path.join(modules, peer)), peer).toBe(false)
      // one copy of effect: a second one breaks Redacted, services and errors shared between packages
      const copies = copiesOf(modules, "effect")
      expect(copies.length, copies.join("\n")).toBe(1)
    })

    for (const entry of pkg.entryPoints.filter((entry) => !entry.endsWith("/testing"))) {
      it(`imports ${entry} without the optional peers, with the workspace build's exports`, async () => {
        const installed = importIn(pkg, entry)
        expect(installed.length).toBeGreaterThan(0)
        expect(installed).toEqual(await exportNames(entry))
      })
    }

    for (const entry of pkg.entryPoints.filter((entry) => entry.endsWith("/testing"))) {
      it(`imports ${entry} without msw only to say it needs msw`, () => {
        expect(() => importIn(pkg, entry)).toThrow(/Cannot find package 'msw'/)
      })
    }
  }
})

describe("the /testing entries with msw added (and vitest still absent)", () => {
  const withTesting = libraries.filter((pkg) => pkg.entryPoints.some((entry) => entry.endsWith("/testing")))

  beforeAll(() => {
    for (const pkg of withTesting) addTo(projectOf(pkg.name), [`msw@${pkg.manifest.peerDependencies?.msw ?? ""}`])
  })

  for (const pkg of withTesting) {
    for (const entry of pkg.entryPoints.filter((entry) => entry.endsWith("/testing"))) {
      it(`imports ${entry} with the workspace build's exports`, async () => {
        expect(fs.existsSync(path.join(projectOf(pkg.name), "node_modules/vitest"))).toBe(false)
        expect(importIn(pkg, entry)).toEqual(await exportNames(entry))
      })
    }
  }

  for (const pkg of libraries) {
    it(`type-checks every entry point of ${pkg.name} from its own install`, () => {
      expect(typeCheck(pkg)).toBe("")
    })
  }
})

/**
 * Spawns `command` in `cwd` in its own process group; resolves with its exit code (or signal) and output once it
 * exits. `kill` (and the `ms` deadline) signal the whole group: `npx` and the program it started.
 */
const spawnCollect = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  env: NodeJS.ProcessEnv,
  ms: number,
  options: { readonly stdin?: string; readonly onStdout?: (text: string, kill: () => void) => void } = {}
): Promise<{
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly group: number
  readonly stdout: string
  readonly stderr: string
}> =>
  new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ["pipe", "pipe", "pipe"], detached: true })
    const group = child.pid ?? 0
    let stdout = ""
    let stderr = ""
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-group, signal)
      } catch {
        // the group has already exited
      }
    }
    const kill = () => signalGroup("SIGTERM")
    const timer = setTimeout(() => signalGroup("SIGKILL"), ms)
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString("utf8")
      options.onStdout?.(stdout, kill)
    })
    child.stderr.on("data", (data: Buffer) => {
      stderr += data.toString("utf8")
    })
    if (options.stdin !== undefined) child.stdin.write(options.stdin)
    else child.stdin.end()
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, group, stdout, stderr })
    })
  })

/**
 * Runs a README block as written (Node 24 strips the types), in the project of `pkg`, with the provider keys the
 * stand-in accepts. Resolves with stdout; a non-zero exit fails with the output. (Asynchronous: the stand-in answers
 * from this process.)
 */
const runExample = async (pkg: string, file: string, code: string): Promise<string> => {
  const project = projectOf(pkg)
  fs.writeFileSync(path.join(project, "redirect.mjs"), redirectModule)
  fs.writeFileSync(path.join(project, file), code)
  const env = consumerEnv({ CONDUIT_STAND_IN: standIn.url, MOONSHOT_API_KEY: kimiKey, ZAI_API_KEY: glmKey })
  const result = await spawnCollect(process.execPath, ["--import", "./redirect.mjs", file], project, env, 120_000)
  if (result.code !== 0) throw new Error(`${file} exited with ${result.code}:\n${result.stdout}${result.stderr}`)
  return result.stdout
}

describe("the READMEs' quick starts, run as written against a stand-in upstream", () => {
  const served = (host: string, route: string) => standIn.served.filter((line) => line.includes(`${host}${route}`))
  const readme = (pkg: string) => path.join(repoRoot, "packages", pkg, "README.md")

  it("provider-kimi, Effect face: generateText with KimiClient.layerConfig() (MOONSHOT_API_KEY)", async () => {
    const before = served("api.moonshot.ai", "/v1/chat/completions").length
    const output = await runExample(
      "@conduitkit/provider-kimi",
      "effect.ts",
      codeBlock(readme("provider-kimi"), "Effect")
    )
    expect(output.trim().length).toBeGreaterThan(0)
    expect(served("api.moonshot.ai", "/v1/chat/completions").length).toBe(before + 1)
  })

  it("provider-kimi, Promise face: chat, stream, listModels, countTokens, getBalance, close", async () => {
    const block = codeBlock(readme("provider-kimi"), "Promise")
    const output = await runExample("@conduitkit/provider-kimi", "promise.ts", block)
    expect(output.trim().length).toBeGreaterThan(0)
    for (const route of ["/v1/models", "/v1/tokenizers/estimate-token-count", "/v1/users/me/balance"]) {
      expect(served("api.moonshot.ai", route).length, route).toBeGreaterThan(0)
    }
  })

  it("provider-glm, Effect face: generateText with GlmClient.layerConfig() (ZAI_API_KEY)", async () => {
    const before = served("api.z.ai", "/api/paas/v4/chat/completions").length
    const output = await runExample(
      "@conduitkit/provider-glm",
      "effect.ts",
      codeBlock(readme("provider-glm"), "Effect")
    )
    expect(output.trim().length).toBeGreaterThan(0)
    expect(served("api.z.ai", "/api/paas/v4/chat/completions").length).toBeGreaterThan(before)
  })

  it("provider-glm, Promise face: chat, stream, listModels, countTokens, close", async () => {
    const before = served("api.z.ai", "/api/paas/v4/chat/completions").length
    const output = await runExample(
      "@conduitkit/provider-glm",
      "promise.ts",
      codeBlock(readme("provider-glm"), "Promise")
    )
    expect(output.trim().length).toBeGreaterThan(0)
    expect(served("api.z.ai", "/api/paas/v4/chat/completions").length).toBeGreaterThanOrEqual(before + 2)
    expect(served("api.z.ai", "/api/paas/v4/tokenizer").length).toBeGreaterThan(0)
  })

  it("core: a provider's model with a per-call config (run where a provider is installed)", async () => {
    const before = served("api.moonshot.ai", "/v1/chat/completions").length
    await runExample("@conduitkit/provider-kimi", "core.ts", codeBlock(readme("core"), "Using a provider (Effect)"))
    expect(served("api.moonshot.ai", "/v1/chat/completions").length).toBe(before + 1)
  })

  it("cache: the store example builds its memory and Redis layers from the install alone", async () => {
    await runExample(
      "@conduitkit/cache",
      "stores.ts",
      codeBlock(readme("cache"), "Stores: memory or Redis is one layer swap")
    )
  })

  it("session: the running-requests example builds from the install alone", async () => {
    await runExample("@conduitkit/session", "run.ts", codeBlock(readme("session"), "Running requests"))
  })
})

/** Whether any process of the group `group` is still running. */
const groupAlive = (group: number): boolean => {
  try {
    process.kill(-group, 0)
    return true
  } catch {
    return false
  }
}

describe("the gateway, the demo and the MCP server started with npx from their packed tarballs", () => {
  it("npx @conduitkit/gateway serves simulated providers without keys and stops on SIGTERM", async () => {
    let url: string | undefined
    let answer: unknown
    const result = await spawnCollect(
      "npx",
      ["@conduitkit/gateway"],
      projectOf("@conduitkit/gateway"),
      consumerEnv({ PORT: "0" }),
      120_000,
      {
        onStdout: (stdout, kill) => {
          const listening = /"msg":"listening on (http:\/\/[^"]+)"/.exec(stdout)
          if (listening?.[1] === undefined || url !== undefined) return
          url = listening[1]
          void fetch(`${url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "Hello" }] })
          })
            .then((response) => response.json())
            .then((body) => {
              answer = body
            })
            .finally(kill)
        }
      }
    )
    expect(url, result.stdout + result.stderr).toBeDefined()
    // npx itself dies of the SIGTERM sent to the group; the gateway drains and exits, leaving nothing behind
    expect(result.code === 0 || result.signal === "SIGTERM", result.stderr).toBe(true)
    await expect.poll(() => groupAlive(result.group), { timeout: 30_000 }).toBe(false)
    expect(result.stdout).toContain("kimi simulated")
    expect(answer).toMatchObject({ choices: [{ message: { role: "assistant" } }] })
    expect(
      (answer as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content.length
    ).toBeGreaterThan(0)
  }, 180_000)

  it("npx @conduitkit/demo prints the model catalog as JSON, and answers a chat on the simulated upstreams", async () => {
    const project = projectOf("@conduitkit/demo")
    const models = await spawnCollect("npx", ["@conduitkit/demo", "models", "--json"], project, consumerEnv(), 120_000)
    expect(models.code, models.stderr).toBe(0)
    expect(JSON.parse(models.stdout).some((model: { model: string }) => model.model === "kimi/kimi-k2.6")).toBe(true)
    const chat = await spawnCollect(
      "npx",
      ["@conduitkit/demo", "chat", "Hello", "--json"],
      project,
      consumerEnv(),
      120_000
    )
    expect(chat.code, chat.stderr).toBe(0)
    expect(chat.stdout.length).toBeGreaterThan(0)
  }, 300_000)

  it("npx @conduitkit/mcp answers an MCP initialize over stdio", async () => {
    const initialize = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "pack-check", version: "0" } }
    }
    const result = await spawnCollect(
      "npx",
      ["@conduitkit/mcp"],
      projectOf("@conduitkit/mcp"),
      consumerEnv(),
      120_000,
      {
        stdin: `${JSON.stringify(initialize)}\n`,
        onStdout: (stdout, kill) => {
          if (stdout.includes("\n")) kill()
        }
      }
    )
    const reply = JSON.parse(result.stdout.split("\n")[0] ?? "")
    expect(reply, result.stderr).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: {} } })
    await expect.poll(() => groupAlive(result.group), { timeout: 30_000 }).toBe(false)
  }, 180_000)
})

describe("publint", () => {
  for (const pkg of everyPackage) {
    it(`${pkg.name} has no publint errors or warnings`, async () => {
      const { messages, pkg: manifest } = await publint({
        pkgDir: pkg.dir,
        level: "warning",
        strict: true,
        pack: "pnpm"
      })
      expect(messages.map((message) => formatMessage(message, manifest) ?? message.code)).toEqual([])
    })
  }
})
