/**
 * Builds one app and what it depends on with turbo, then runs its `dist/main.js` with the arguments given.
 *
 * Reached through pnpm's fallback to `node_modules/.bin` (`npx pnpm demo` finds no root script named `demo`), so
 * pnpm prints no banner; turbo's own lines go to stderr. Stdout carries only the program's output, so
 * `npx -y pnpm@10.34.8 demo models --json | jq` works.
 */
import { spawn, spawnSync } from "node:child_process"
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

/**
 * Runs `command` with stdin/stdout/stderr inherited and exits with its code. SIGINT and SIGTERM are passed on, so
 * the program shuts down its own way (the gateway drains its streams) and this process waits for it.
 */
export const runAndExit = (command, args, extraEnv = {}) => {
  const child = spawn(command, args, { cwd: root, stdio: "inherit", env: { ...env, ...extraEnv } })
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal))
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
