/**
 * Starts the built gateway (`apps/gateway/dist/main.js`, as operators run it) once for the whole suite: simulated
 * mode (no provider keys, `CONDUIT_SIMULATE=1`), an ephemeral loopback port, the response cache off (so that every
 * request reaches the simulation), and hands its URL to the test files (`inject("gatewayURL")`).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    gatewayURL: string
  }
}

const main = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@conduitkit/gateway/package.json")),
  "dist/main.js"
)

const listening = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let buffer = ""
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${buffer}`)), 45_000)
    const onData = (data: Buffer) => {
      buffer += data.toString("utf8")
      const match = /"msg":"listening on (http:\/\/127\.0\.0\.1:\d+)"/.exec(buffer)
      if (match?.[1] !== undefined) {
        clearTimeout(timer)
        child.stdout?.off("data", onData)
        child.stdout?.resume() // keep draining the access log
        resolve(match[1])
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (data: Buffer) => {
      buffer += data.toString("utf8")
    })
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code}:\n${buffer}`)))
  })

export default async function setup(project: TestProject) {
  const child = spawn(process.execPath, [main], {
    // exactly this environment: never the runner's provider keys, so both providers are simulated
    env: {
      PATH: process.env.PATH ?? "",
      HOME: os.tmpdir(),
      HOST: "127.0.0.1",
      PORT: "0",
      CONDUIT_SIMULATE: "1",
      CONDUIT_RESPONSE_CACHE: "0"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  project.provide("gatewayURL", await listening(child))
  return async () => {
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    await exited
  }
}
