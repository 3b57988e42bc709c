/**
 * A manager's configuration resolved once: defaults applied, counts validated, durations in milliseconds
 * (`Infinity` for "no limit").
 *
 * @internal
 */
import { Duration } from "effect"
import type { Config } from "../SessionManager.js"

const defaults = {
  maxConcurrent: 200,
  maxConcurrentPerSession: 1,
  maxQueued: 1_000,
  queueTimeout: Duration.seconds(60),
  maxMetadataBytes: 10_240,
  sessionTtl: Duration.minutes(30),
  eventBufferSize: 1_024,
  statsWindow: 1_024
}

/** A duration in ms; `undefined` means no limit (`Infinity`). */
export const toMillis = (input: Duration.Input | undefined): number =>
  input === undefined ? Number.POSITIVE_INFINITY : Duration.toMillis(Duration.fromInputUnsafe(input))

const positiveInt = (name: string, value: number | undefined, fallback: number, min: number): number => {
  const result = value ?? fallback
  if (!(Number.isInteger(result) || result === Number.POSITIVE_INFINITY) || result < min) {
    throw new RangeError(`SessionManager: ${name} must be an integer >= ${min}, got ${result}`)
  }
  return result
}

/** The resolved configuration (counts, and durations in ms). */
export interface Settings {
  readonly limit: number
  readonly perSession: number
  readonly maxQueued: number
  readonly maxMetadataBytes: number
  readonly queueTimeoutMs: number
  readonly timeoutMs: number
  readonly sessionTtlMs: number
  readonly eventBufferSize: number
  readonly statsWindow: number
}

/** Resolves `config`; throws a `RangeError` for an invalid count (the manager's construction then dies). */
export const resolve = (config: Config): Settings => {
  const limit = positiveInt("maxConcurrent", config.maxConcurrent, defaults.maxConcurrent, 1)
  const perSession = positiveInt(
    "maxConcurrentPerSession",
    config.maxConcurrentPerSession,
    defaults.maxConcurrentPerSession,
    1
  )
  const maxQueued = positiveInt("maxQueued", config.maxQueued, defaults.maxQueued, 0)
  const maxMetadataBytes = positiveInt("maxMetadataBytes", config.maxMetadataBytes, defaults.maxMetadataBytes, 0)
  return {
    limit,
    perSession,
    maxQueued,
    maxMetadataBytes,
    queueTimeoutMs: toMillis(config.queueTimeout ?? defaults.queueTimeout),
    timeoutMs: toMillis(config.timeout),
    sessionTtlMs: toMillis(config.sessionTtl ?? defaults.sessionTtl),
    eventBufferSize: config.eventBufferSize ?? defaults.eventBufferSize,
    statsWindow: config.statsWindow ?? defaults.statsWindow
  }
}
