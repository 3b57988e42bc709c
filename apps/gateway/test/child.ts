/**
 * The built gateway (`dist/main.js`) as a child process, for the tests that run it as operators do: started with
 * exactly the given environment (never the test runner's provider keys), its JSON log lines collected.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as os from "node:os"
import * as path from "node:path"
import type { Json } from "./support.js"

export const main = path.resolve(import.meta.dirname, "../dist/main.js")

export interface Child {
  readonly process: ChildProcess
  readonly lines: Array<Json>
  readonly exited: Promise<number | null>
  /** Resolves with the first log line matching `predicate`. */
  readonly waitFor: (predicate: (line: Json) => boolean, ms?: number) => Promise<Json>
}

/** Starts main.js with exactly `env` (plus PATH), never the test runner's provider keys. */
export const run = (env: Record<string, string>): Child => {
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<Json> = []
  const waiters: Array<{ predicate: (line: Json) => boolean; resolve: (line: Json) => void }> = []
  let buffer = ""
  const onData = (data: Buffer) => {
    buffer += data.toString("utf8")
    let newline = buffer.indexOf("\n")
    while (newline !== -1) {
      const text = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf("\n")
      if (text.trim() === "") continue
      const line = JSON.parse(text)
      lines.push(line)
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    }
  }
  child.stdout?.on("data", onData)
  child.stderr?.on("data", onData)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    process: child,
    lines,
    exited,
    // 150 s: a child Node process started while turbo runs every suite at once on 2 cores can take 15 s and more,
    // and printed nothing within 45 s beside six busy loops (client-compat's gateway start budget is 150 s too)
    waitFor: (predicate, ms = 150_000) =>
      new Promise((resolve, reject) => {
        const found = lines.find(predicate)
        if (found !== undefined) return resolve(found)
        const timer = setTimeout(() => reject(new Error(`no such log line; got ${JSON.stringify(lines)}`)), ms)
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer)
            resolve(line)
          }
        })
      })
  }
}

export const listening = async (child: Child) => {
  const line = await child.waitFor((l) => typeof l.msg === "string" && l.msg.startsWith("listening on "))
  return String(line.url)
}
