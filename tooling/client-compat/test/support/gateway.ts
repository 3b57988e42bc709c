/**
 * The built gateway (`apps/gateway/dist/main.js`, as operators run it) as a child process on an ephemeral loopback
 * port, with exactly the environment given (never the runner's provider keys).
 */
import { type ChildProcess, spawn } from "node:child_process"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"

const main = path.join(
  path.dirname(createRequire(import.meta.url).resolve("@conduitkit/gateway/package.json")),
  "dist/main.js"
)

/** How long the child gateway may take to print its "listening" line (ms). */
const startBudgetMs = 150_000

const listening = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let buffer = ""
    // a start budget that holds while turbo runs every package's tests at once on a loaded 2-core machine (a CI run
    // saw no output at all within 45 s); on expiry the child is killed so that nothing outlives the suite
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the gateway did not start within ${startBudgetMs} ms:\n${buffer}`))
    }, startBudgetMs)
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
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`the gateway exited with ${code}:\n${buffer}`))
    })
  })

/** A started gateway: its URL, and `stop` (SIGTERM, resolves when the process exited). */
export interface GatewayProcess {
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts the gateway with `env` (plus PATH, HOME, HOST=127.0.0.1, PORT=0) and waits for its "listening" line. */
export const start = async (env: Readonly<Record<string, string>>): Promise<GatewayProcess> => {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), HOST: "127.0.0.1", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const url = await listening(child)
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once("exit", resolve))
      child.kill("SIGTERM")
      // a graceful shutdown drains what is in flight; on a loaded machine that can outlast vitest's teardown, so the
      // process is killed after 10 s (the suite's answers are all in by then)
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
}
