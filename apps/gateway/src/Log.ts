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

/** The JSON-lines logger writing to `write` (default: stdout). */
export const jsonLogger = (write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)) =>
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
