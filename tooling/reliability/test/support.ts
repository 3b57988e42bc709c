/**
 * What the gateway scenarios share: `apps/gateway/dist/main.js` started in its own process with exactly the given
 * environment (as operators run it), a chat request, and the figure lines the suite prints.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "../../..")
const main = path.join(root, "apps/gateway/dist/main.js")

/** Prints one scenario's figures. */
export const figures = (scenario: string, values: Record<string, unknown>) =>
  console.log(`[reliability] ${scenario}: ${JSON.stringify(values)}`)

export interface Gateway {
  readonly url: string
  readonly process: ChildProcess
  readonly lines: Array<Record<string, unknown>>
  readonly stop: () => Promise<number | null>
}

/**
 * Starts main.js with exactly `env` (plus PATH) and waits for its "listening on" line; `fdLimit` runs it under
 * `prlimit --nofile`.
 */
export const startGateway = (env: Record<string, string>, fdLimit?: number): Promise<Gateway> =>
  new Promise((resolve, reject) => {
    const command =
      fdLimit === undefined
        ? [process.execPath, main]
        : ["prlimit", `--nofile=${fdLimit}:${fdLimit}`, process.execPath, main]
    const child = spawn(command[0]!, command.slice(1), {
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)))
    const lines: Array<Record<string, unknown>> = []
    let buffer = ""
    let started = false
    const timer = setTimeout(() => reject(new Error(`the gateway did not start: ${JSON.stringify(lines)}`)), 150_000)
    const onData = (data: Buffer) => {
      buffer += data.toString("utf8")
      let newline = buffer.indexOf("\n")
      while (newline !== -1) {
        const text = buffer.slice(0, newline)
        buffer = buffer.slice(newline + 1)
        newline = buffer.indexOf("\n")
        if (text.trim() === "") continue
        const line = JSON.parse(text) as Record<string, unknown>
        lines.push(line)
        if (!started && typeof line.msg === "string" && line.msg.startsWith("listening on ")) {
          started = true
          clearTimeout(timer)
          resolve({
            url: String(line.url),
            process: child,
            lines,
            // one SIGTERM (a second one during the drain would end the process at once)
            stop: () => {
              if (!child.killed) child.kill("SIGTERM")
              return exited
            }
          })
        }
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
  })

export const chat = async (url: string, model: string, content: string) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] })
  })
  return {
    status: response.status,
    simulated: response.headers.get("x-conduit-simulated"),
    body: await response.text()
  }
}
