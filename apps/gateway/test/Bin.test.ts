/**
 * The built bin (`dist/bin.js`) on a Node older than 22.12 stops at once, naming the version needed and the one it
 * runs on (the child's `process.versions.node` is set to 22.11.0 before the bin loads).
 */
import { spawnSync } from "node:child_process"
import path from "node:path"
import { expect, it } from "vitest"

const bin = path.resolve(import.meta.dirname, "../dist/bin.js")
const olderNode = 'data:text/javascript,Object.defineProperty(process.versions,"node",{value:"22.11.0"})'

it("stops on Node 22.11 with one line naming the version needed", () => {
  const child = spawnSync(process.execPath, ["--import", olderNode, bin], { encoding: "utf8", timeout: 60_000 })
  expect(child.status).toBe(1)
  expect(child.stdout).toBe("")
  expect(child.stderr).toBe(
    "@conduitkit/gateway needs Node >= 22.12; this is Node 22.11.0. Install a current Node (https://nodejs.org/) and run it again.\n"
  )
})
