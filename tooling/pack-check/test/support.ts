/**
 * What pack-check needs: commands with their output in the error, the packages packed as users get them, an empty
 * project per package installed with npm outside the workspace, README code blocks, and a stand-in upstream.
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { Readable } from "node:stream"
import { fileURLToPath } from "node:url"
import { GlmMock } from "@conduitkit/provider-glm/testing"
import { KimiMock } from "@conduitkit/provider-kimi/testing"
import { getResponse } from "msw"

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

export interface Manifest {
  readonly name: string
  readonly private?: boolean
  readonly bin?: Record<string, string>
  readonly engines?: Record<string, string>
  readonly exports?: Record<string, unknown>
  readonly dependencies?: Record<string, string>
  readonly peerDependencies?: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
}

export interface Package {
  readonly dir: string
  readonly name: string
  readonly manifest: Manifest
  /** Every entry point of the `exports` map, as an import specifier. */
  readonly entryPoints: ReadonlyArray<string>
}

/** The published packages under `dir` (`packages` or `apps`), by name. */
export const packagesIn = (dir: string): ReadonlyArray<Package> =>
  fs
    .readdirSync(path.join(repoRoot, dir))
    .map((name) => path.join(repoRoot, dir, name))
    .filter((pkgDir) => fs.existsSync(path.join(pkgDir, "package.json")))
    .map((pkgDir) => {
      const manifest: Manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"))
      const entryPoints = Object.keys(manifest.exports ?? {})
        .filter((key) => key !== "./package.json")
        .map((key) => (key === "." ? manifest.name : `${manifest.name}/${key.slice(2)}`))
      return { dir: pkgDir, name: manifest.name, manifest, entryPoints }
    })
    .filter((pkg) => pkg.manifest.private !== true)
    .sort((a, b) => a.name.localeCompare(b.name))

/** Runs a command to completion; a failure throws with the command's whole output. */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env
): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${failed.stdout ?? ""}${failed.stderr ?? ""}`)
  }
}

/** {@link run} without blocking this process (the stand-in and concurrent installs keep running). */
export const runAsync = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(command, args, { cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout)
      else reject(new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}${stderr}`))
    })
  })

/** pnpm as the workspace pins it: the script runner's own pnpm, else the root devDependency. */
const pnpm = (args: ReadonlyArray<string>, cwd: string): string => {
  const execPath = process.env.npm_execpath
  return execPath !== undefined && /pnpm/.test(execPath)
    ? run(process.execPath, [execPath, ...args], cwd)
    : run(path.join(repoRoot, "node_modules/.bin/pnpm"), args, cwd)
}

/** `pnpm pack` (which rewrites `workspace:^` into versions) of each package into `destination`: name to tarball. */
export const packAll = (packages: ReadonlyArray<Package>, destination: string): ReadonlyMap<string, string> => {
  const tarballs = new Map<string, string>()
  for (const pkg of packages) {
    const before = new Set(fs.readdirSync(destination))
    pnpm(["pack", "--pack-destination", destination], pkg.dir)
    const tarball = fs.readdirSync(destination).find((file) => !before.has(file))
    if (tarball === undefined) throw new Error(`pnpm pack produced no tarball for ${pkg.name}`)
    tarballs.set(pkg.name, path.join(destination, tarball))
  }
  return tarballs
}

/**
 * An empty npm project in `dir` with only `name` installed from its tarball, as a user installs it: npm resolves
 * its declared dependencies and required peers, and leaves optional peers out. Our other packages are not on the
 * registry yet, so `overrides` point their names at their tarballs (used only if `name` depends on them).
 */
export const installAlone = (dir: string, name: string, tarballs: ReadonlyMap<string, string>): Promise<string> => {
  fs.mkdirSync(dir, { recursive: true })
  const overrides = Object.fromEntries(
    [...tarballs].filter(([other]) => other !== name).map(([other, tarball]) => [other, `file:${tarball}`])
  )
  const manifest = {
    name: "conduit-consumer",
    private: true,
    type: "module",
    dependencies: { [name]: `file:${tarballs.get(name)}` },
    overrides
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2))
  return runAsync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], dir)
}

/** Adds `packages` (npm specs) to the project in `dir`, as a user adds an optional peer. */
export const addTo = (dir: string, packages: ReadonlyArray<string>): void => {
  run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...packages], dir)
}

/** The first ```ts block after the heading `## <heading>` of a README. */
export const codeBlock = (readme: string, heading: string): string => {
  const text = fs.readFileSync(readme, "utf8")
  const at = text.indexOf(`\n## ${heading}\n`)
  if (at === -1) throw new Error(`${readme} has no "## ${heading}" section`)
  const block = /```ts\n([\s\S]*?)```/.exec(text.slice(at))
  if (block?.[1] === undefined) throw new Error(`${readme} has no ts block under "## ${heading}"`)
  return block[1]
}

/**
 * Loaded with `node --import` before a README example: sends every request for a provider's host to the stand-in
 * (`<stand-in>/<host>/<path>`) and refuses any other non-loopback request, so an example runs as written (its
 * default base URLs) and never reaches the network.
 */
export const redirectModule = `
const standIn = process.env.CONDUIT_STAND_IN
const realFetch = globalThis.fetch
const loopback = new Set(["127.0.0.1", "localhost", "[::1]"])
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init)
  const url = new URL(request.url)
  if (loopback.has(url.hostname)) return realFetch(request)
  const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer()
  return realFetch(standIn + "/" + url.host + url.pathname + url.search, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal
  })
}
`

/** A stand-in upstream: Moonshot's and Z.ai's mocks (the providers' testing entries) behind a loopback server. */
export interface StandIn {
  readonly url: string
  /** Requests served, as `METHOD host/path`. */
  readonly served: Array<string>
  readonly close: () => Promise<void>
}

export const kimiKey = "sk-test-kimi"
export const glmKey = "test-key"

export const startStandIn = async (): Promise<StandIn> => {
  const handlers = [...KimiMock.make({ apiKey: kimiKey }).handlers, ...GlmMock.make({ apiKey: glmKey }).handlers]
  const served: Array<string> = []
  const server = http.createServer(async (req, res) => {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const [, host = "", ...rest] = (req.url ?? "/").split("/")
    const headers = new Headers()
    for (const [key, value] of Object.entries(req.headers)) {
      if (typeof value === "string" && !["host", "connection", "content-length"].includes(key)) headers.set(key, value)
    }
    const method = req.method ?? "GET"
    const request = new Request(`https://${host}/${rest.join("/")}`, {
      method,
      headers,
      ...(method === "GET" || method === "HEAD" ? {} : { body: Buffer.concat(chunks) })
    })
    served.push(`${method} ${host}/${rest.join("/")}`)
    const response = await getResponse(handlers, request)
    if (response === undefined) {
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: `the stand-in has no handler for ${method} ${request.url}` } }))
      return
    }
    res.writeHead(response.status, Object.fromEntries(response.headers))
    if (response.body === null) res.end()
    else Readable.fromWeb(response.body as never).pipe(res)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    close: () => new Promise((resolve) => server.close(() => resolve()))
  }
}
