/**
 * Builds one app and what it depends on with turbo, then runs its `dist/main.js` with the arguments given.
 *
 * Reached through pnpm's fallback to `node_modules/.bin` (`npx pnpm demo` finds no root script named `demo`), so
 * pnpm prints no banner; turbo's own lines go to stderr. Stdout carries only the program's output, so
 * `npx -y pnpm@10.34.8 demo models --json | jq` works.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

export const root = path.resolve(import.meta.dirname, "../..")
// pnpm's exec fallback puts `./node_modules/.bin` first on the PATH: made absolute, so turbo finds pnpm from every
// package directory.
const PATH = (process.env.PATH ?? "")
  .split(path.delimiter)
  .map((dir) => (dir === "" ? dir : path.resolve(dir)))
  .join(path.delimiter)
const env = { ...process.env, PATH, TURBO_TELEMETRY_DISABLED: "1" }

/** Runs turbo to completion with its stdout sent to `stdout`; returns its exit code (1 when it could not run). */
export const turbo = (args, stdout = "inherit") => {
  const result = spawnSync("turbo", args, { cwd: root, stdio: ["inherit", stdout, "inherit"], env })
  if (result.error !== undefined) console.error(`cannot run turbo: ${result.error.message}`)
  return result.status ?? 1
}

/** Linux: the parent pid and start time (clock ticks since boot) of `pid`, from `/proc/<pid>/stat`; or undefined. */
const stat = (pid) => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // the fields after the command name (which may hold spaces and parentheses): state, ppid, …, starttime (20th)
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { ppid: Number(fields[1]), start: fields[19] }
  } catch {
    return undefined
  }
}

/** This process's ancestors (pid and start time), parent first, up to (not including) pid 1; empty off Linux. */
const ancestors = () => {
  const chain = []
  let current = stat(process.pid)?.ppid
  while (current !== undefined && current > 1 && chain.length < 64) {
    const info = stat(current)
    if (info === undefined) break
    chain.push({ pid: current, start: info.start })
    current = info.ppid
  }
  return chain
}

// read first thing: the command may be signalled while the build runs
const launchers = ancestors()

/**
 * Calls `onGone` once, as soon as one of the processes that launched this one is gone (checked every 250 ms). A
 * SIGTERM sent to `npx` is passed by npm to the `sh -c pnpm` below it, which dies without passing it further: without
 * this watch the program would keep running, orphaned.
 */
const watchLaunchers = (onGone) => {
  if (launchers.length === 0) return
  const timer = setInterval(() => {
    if (launchers.every((ancestor) => stat(ancestor.pid)?.start === ancestor.start)) return
    clearInterval(timer)
    onGone()
  }, 250)
  timer.unref()
}

/**
 * Runs `command` with stdin/stdout/stderr inherited and exits with its code. SIGINT and SIGTERM are passed on, so
 * the program shuts down its own way (the gateway drains its streams) and this process waits for it; when the
 * command that launched this one is gone (see `watchLaunchers`), the program gets SIGTERM the same way.
 */
export const runAndExit = (command, args, extraEnv = {}) => {
  const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...env, ...extraEnv } })
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
  watchLaunchers(() => {
    console.error("the command that started this one is gone: stopping")
    child.kill("SIGTERM")
  })
  child.once("error", (error) => {
    console.error(`cannot run ${command}: ${error.message}`)
    process.exit(1)
  })
  child.once("exit", (code, signal) => process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0)))
}

/** Builds `packageName` (and its workspace dependencies), then runs `main` (relative to the root) on this Node. */
export const buildThenRun = (packageName, main) => {
  const built = turbo(["run", "build", `--filter=${packageName}...`, "--output-logs=errors-only"], process.stderr)
  if (built !== 0) process.exit(built)
  runAndExit(process.execPath, [path.join(root, main), ...process.argv.slice(2)])
}
