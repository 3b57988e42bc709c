/**
 * Structured logs: one JSON object per line on stdout, `{ "time", "level", "msg", ...annotations, "cause"? }`.
 *
 * Every log of the gateway (and of the packages under it, which log through Effect's logger) goes through this
 * logger. What the gateway logs never includes API keys (keys are `Redacted`; callers are named by key id) nor
 * request or response bodies (access lines carry ids, model names, statuses, counts and timings only).
 */
import { Cause, Layer, Logger, type LogLevel, References } from "effect"

const safe = (value: unknown): unknown => {
  if (value instanceof Error) return { name: value.name, message: value.message }
  return value
}

/**
 * Formats one log entry as a JSON line. Annotations become top-level fields (after `time`, `level`, `msg`); a
 * non-empty cause is rendered with Effect's pretty printer under `cause`.
 */
export const formatLine = (options: {
  readonly message: unknown
  readonly level: string
  readonly date: Date
  readonly annotations: Readonly<Record<string, unknown>>
  readonly cause?: string | undefined
}): string => {
  const messages = Array.isArray(options.message) ? options.message : [options.message]
  const [first, ...rest] = messages
  const entry: Record<string, unknown> = {
    time: options.date.toISOString(),
    level: options.level.toLowerCase(),
    msg: typeof first === "string" ? first : safe(first)
  }
  if (rest.length > 0) entry.details = rest.map(safe)
  for (const [key, value] of Object.entries(options.annotations)) {
    if (!(key in entry)) entry[key] = safe(value)
  }
  if (options.cause !== undefined) entry.cause = options.cause
  try {
    return JSON.stringify(entry)
  } catch {
    return JSON.stringify({ time: entry.time, level: entry.level, msg: String(entry.msg), unserializable: true })
  }
}

let stdoutBuffer = ""
let stdoutScheduled = false
let exitHooked = false
const flushStdout = (): void => {
  stdoutScheduled = false
  if (stdoutBuffer === "") return
  const out = stdoutBuffer
  stdoutBuffer = ""
  process.stdout.write(out)
}

/**
 * Writes a line to stdout in batches: the lines of one turn of the event loop go out in one write, after the
 * responses of that turn (a write to a pipe is a blocking system call that wakes the reader, ~0.1 ms on small VMs:
 * once per request it was the largest single cost of a short request). At most 64 KB wait; what is pending is
 * written synchronously when the process exits.
 */
export const writeStdout = (line: string): void => {
  stdoutBuffer += `${line}\n`
  if (stdoutBuffer.length >= 65_536) {
    flushStdout()
    return
  }
  if (!stdoutScheduled) {
    stdoutScheduled = true
    setImmediate(flushStdout)
    if (!exitHooked) {
      exitHooked = true
      process.on("exit", flushStdout)
    }
  }
}

/** The JSON-lines logger writing to `write` (default: {@link writeStdout}). */
export const jsonLogger = (write: (line: string) => void = writeStdout) =>
  Logger.make<unknown, void>(({ cause, date, fiber, logLevel, message }) => {
    write(
      formatLine({
        message,
        level: logLevel,
        date,
        annotations: fiber.getRef(References.CurrentLogAnnotations),
        cause: cause.reasons.length > 0 ? Cause.pretty(cause) : undefined
      })
    )
  })

/** Replaces Effect's loggers with {@link jsonLogger} and sets the minimum level. */
export const layer = (level: LogLevel.LogLevel, write?: (line: string) => void): Layer.Layer<never> =>
  Layer.mergeAll(Logger.layer([jsonLogger(write)]), Layer.succeed(References.MinimumLogLevel, level))
