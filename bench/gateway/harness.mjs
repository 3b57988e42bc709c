// What bench/gateway's benchmarks share (index.mjs, tracing.mjs): their result rows, the child processes they start
// (the mock upstream, servers that print a JSON line with their `url`), keep-alive agents and quantiles.
import { fork, spawn } from "node:child_process"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

/** `BENCH_SCALE` (default 1): the share of the full request and stream counts to run. */
export const SCALE = Number(process.env.BENCH_SCALE ?? 1)

/** The result rows (`{ metric, value, unit, baseline?, ratio?, target?, met? }`); `record` prints each as it comes. */
export const results = []
export const record = (row) => {
  results.push(row)
  const ratio = row.ratio === undefined ? "" : ` ratio ${row.ratio.toFixed(3)}`
  const target = row.target === undefined ? "" : ` target ${row.target} ${row.met ? "met" : "NOT MET"}`
  console.log(`${row.metric}: ${row.value.toFixed(Math.abs(row.value) >= 100 ? 0 : 3)} ${row.unit}${ratio}${target}`)
}

const children = []
/** Kills every process started here. */
export const stopAll = () => {
  for (const child of children) child.kill()
}

/** The mock upstream (mock-child.mjs) in its own process: its URL, `configure(behaviour)`, and `totals()`. */
export const startMock = async () => {
  const child = fork(path.join(here, "mock-child.mjs"), { stdio: ["ignore", "inherit", "inherit", "ipc"] })
  children.push(child)
  const port = await new Promise((resolve) => child.once("message", (m) => resolve(m.port)))
  const call = (message) =>
    new Promise((resolve) => {
      child.once("message", resolve)
      child.send(message)
    })
  return {
    url: `http://127.0.0.1:${port}`,
    configure: (behaviour) => call({ configure: behaviour, reset: true }),
    totals: async () => (await call({ totals: true })).totals
  }
}

/**
 * Starts a server process (`node ...args` with only `env`, PATH and HOME); resolves with its URL (the first stdout
 * line carrying `url`), pid and child. Later stdout lines are drained, and kept in `lines` with `keepLines`.
 */
export const startServer = (args, env, { keepLines = false } = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
      stdio: ["ignore", "pipe", "inherit"]
    })
    children.push(child)
    const lines = []
    let buffer = ""
    let found = false
    child.stdout.on("data", (data) => {
      if (found && !keepLines) return // keep draining the logs
      buffer += data.toString("utf8")
      const parts = buffer.split("\n")
      buffer = parts.pop()
      for (const line of parts) {
        if (found) {
          lines.push(line)
          continue
        }
        try {
          const json = JSON.parse(line)
          if (typeof json.url === "string") {
            found = true
            resolve({ url: json.url, pid: child.pid, child, lines })
          }
        } catch {}
      }
    })
    child.once("exit", (code) => !found && reject(new Error(`${args[0]} exited with ${code}`)))
  })

/** A keep-alive agent with `maxSockets` sockets. */
export const agentFor = (maxSockets) => new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })

/** The `q` quantile (0 to 1) of `values` (nearest rank). */
export const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
export const median = (values) => quantile(values, 0.5)
