/**
 * Stopping with the command that launched the gateway.
 *
 * `npx -y pnpm@10.34.8 gateway` starts a chain: npm, `sh -c pnpm`, pnpm's `node` wrapper (a shell script), pnpm, and
 * the gateway (`exec`ed by the root script). A SIGTERM sent to npm (what a supervisor or `kill <pid>` does) is
 * forwarded to the `sh` below it, which dies without forwarding it further: the gateway would keep running, orphaned.
 * So when the gateway runs under a package manager script (`npm_lifecycle_event` is set), it watches its ancestors
 * (Linux `/proc/<pid>/stat`: each one's pid and start time, up to pid 1) and sends itself SIGTERM, the ordinary
 * graceful shutdown, as soon as one of them is gone. Run directly (`node dist/main.js`, a container's PID 1, a
 * service manager) nothing is watched.
 */
import * as fs from "node:fs"

/** A process: its pid and start time. */
export interface Process {
  readonly pid: number
  /** Start time in clock ticks since boot: tells a live process from a later one that reused its pid. */
  readonly start: string
}

/** The parent pid and start time of `pid` from `/proc/<pid>/stat`, or `undefined` when it is gone. */
const stat = (pid: number): { readonly ppid: number; readonly start: string } | undefined => {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after the command name (which may hold spaces and parentheses): state, ppid, …, starttime (the 20th)
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { ppid: Number(fields[1]), start: fields[19] ?? "" }
  } catch {
    return undefined
  }
}

/** This process's ancestors, parent first, up to (not including) pid 1. */
export const ancestors = (pid: number = process.pid): ReadonlyArray<Process> => {
  const chain: Array<Process> = []
  let current = stat(pid)?.ppid
  while (current !== undefined && current > 1 && chain.length < 64) {
    const info = stat(current)
    if (info === undefined) break
    chain.push({ pid: current, start: info.start })
    current = info.ppid
  }
  return chain
}

/** The first of `chain` that is no longer running (gone, or its pid reused), if any. */
export const gone = (chain: ReadonlyArray<Process>): Process | undefined =>
  chain.find((ancestor) => stat(ancestor.pid)?.start !== ancestor.start)

/** Whether this process runs under a package manager script on Linux (the only case {@link watch} acts on). */
export const launched = process.platform === "linux" && process.env.npm_lifecycle_event !== undefined

/**
 * Under a package manager script on Linux, checks the ancestors (`chain`, default: read now; read them as early as
 * possible) every `intervalMs` (default 250) and, once one is gone, calls `onGone` with its pid (once). Returns a
 * function that stops watching; does nothing elsewhere.
 */
export const watch = (
  onGone: (pid: number) => void,
  options: { readonly chain?: ReadonlyArray<Process> | undefined; readonly intervalMs?: number | undefined } = {}
): (() => void) => {
  if (!launched) return () => undefined
  const chain = options.chain ?? ancestors()
  if (chain.length === 0) return () => undefined
  const timer = setInterval(() => {
    const ancestor = gone(chain)
    if (ancestor === undefined) return
    clearInterval(timer)
    onGone(ancestor.pid)
  }, options.intervalMs ?? 250)
  timer.unref()
  return () => clearInterval(timer)
}
