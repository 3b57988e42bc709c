import { spawnSync } from "node:child_process"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"

/** The files from node_modules a fresh Node process resolves while it imports `entry` (a module resolve hook). */
const filesLoadedBy = (entry: string): ReadonlyArray<string> => {
  const script = `
    import { registerHooks } from "node:module"
    const seen = new Set()
    registerHooks({ resolve(specifier, context, next) {
      const resolved = next(specifier, context)
      if (resolved.url.includes("/node_modules/")) seen.add(resolved.url.replace(/^.*\\/node_modules\\//, ""))
      return resolved
    } })
    await import(${JSON.stringify(entry)})
    console.log(JSON.stringify([...seen]))
  `
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 })
  expect(run.status, run.stderr).toBe(0)
  return JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "[]") as ReadonlyArray<string>
}

describe("module loading (idle memory: what a gateway without Redis never loads)", () => {
  it("the gateway's modules load neither the Redis client nor @effect/platform-node's index", () => {
    const loaded = filesLoadedBy(Path.resolve(import.meta.dirname, "../dist/Gateway.js"))
    expect(loaded.some((file) => file.startsWith("@effect/platform-node/dist/NodeHttpServer.js"))).toBe(true)
    // NodeRedis and the redis client come with the first Redis layer (cache's RedisStore.nodeRedisLayer)
    expect(loaded.filter((file) => /NodeRedis|(^|\/)redis\/|@redis\//.test(file))).toEqual([])
    expect(loaded.filter((file) => file.startsWith("@effect/platform-node/dist/index.js"))).toEqual([])
  })
})
