/**
 * Sampling rules and stop limits (pure).
 *
 * - Pinned models (kimi-k2.5 and later): temperature is 1 with thinking on and 0.6 with thinking off, top_p 0.95,
 *   n 1, penalties 0; any other explicit value is a 400 (`invalid temperature: only 1 is allowed for this model`).
 *   Conduit omits these parameters (sending the pinned value is accepted but pointless) and refuses a conflicting
 *   value with the model's rule. docs/providers/kimi.md#pinned-sampling; fixtures
 *   `errors/moonshotai-kimi-k3-temperature-rejection.json`, `errors/moonshotai-unsupported-sampling-error.json`.
 * - Every model: temperature in [0, 1], top_p in (0, 1], n an integer in [1, 5] and `n > 1` impossible at
 *   temperature 0, penalties in [-2, 2] ([DOC-EN-25] request-body table).
 * - `stop`: at most 5 strings of at most 32 bytes (UTF-8) each; live: 6 strings → 400 `stop array too long. Expected
 *   an array with maximum length 5, but got 6` ([DOC-EN-25]; [HALRO] §10.2 #12).
 */
import type { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import type * as KimiModels from "../KimiModels.js"
import { refuse, type Shaped } from "./refusal.js"

type Body = Record<string, unknown>

const pinnedKeys = ["temperature", "top_p", "n", "presence_penalty", "frequency_penalty"] as const

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value)

/**
 * Applies the pinned-sampling rule of a model: pinned parameters are removed, a conflicting explicit value is
 * refused with the rule. `thinkingOn` chooses the temperature (`undefined` counts as on, the default of every
 * pinned model).
 */
export const applyPinned = (
  body: Body,
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  thinkingOn: boolean | undefined
): Shaped<Body> => {
  const pinned = traits.pinnedSampling
  if (pinned === undefined) return Result.succeed(body)
  const out: Body = { ...body }
  for (const key of pinnedKeys) {
    const value = out[key]
    if (value === undefined || value === null) {
      delete out[key]
      continue
    }
    const expected =
      key === "temperature"
        ? thinkingOn === false
          ? pinned.temperature.nonThinking
          : pinned.temperature.thinking
        : pinned[key]
    if (value !== expected) {
      const rule =
        key === "temperature"
          ? `${model.id} pins temperature to ${pinned.temperature.thinking} with thinking on and ${pinned.temperature.nonThinking} with thinking off (thinking is ${thinkingOn === false ? "off" : "on"}, so only ${expected} is allowed)`
          : `${model.id} pins ${key} to ${expected}`
      return refuse(key, `${rule}; got ${JSON.stringify(value)}: omit ${key} (Conduit omits pinned parameters)`)
    }
    delete out[key]
  }
  return Result.succeed(out)
}

/**
 * Checks the API-wide ranges (temperature, top_p, n, penalties) and `n > 1` at temperature 0. `defaultTemperature`
 * is the model's default (used when the request sets none).
 */
export const checkRanges = (body: Body, defaultTemperature: number | undefined): Shaped<Body> => {
  const temperature = body.temperature
  if (temperature !== undefined && temperature !== null) {
    if (!isNumber(temperature) || temperature < 0 || temperature > 1) {
      return refuse(
        "temperature",
        `Moonshot accepts temperature in [0, 1] (not OpenAI's [0, 2]); got ${JSON.stringify(temperature)}`
      )
    }
  }
  const topP = body.top_p
  if (topP !== undefined && topP !== null && (!isNumber(topP) || topP <= 0 || topP > 1)) {
    return refuse("top_p", `top_p must be in (0, 1]; got ${JSON.stringify(topP)}`)
  }
  for (const key of ["presence_penalty", "frequency_penalty"] as const) {
    const value = body[key]
    if (value !== undefined && value !== null && (!isNumber(value) || value < -2 || value > 2)) {
      return refuse(key, `${key} must be in [-2, 2]; got ${JSON.stringify(value)}`)
    }
  }
  const n = body.n
  if (n !== undefined && n !== null) {
    if (!isNumber(n) || !Number.isInteger(n) || n < 1 || n > 5) {
      return refuse("n", `n must be an integer from 1 to 5 (Moonshot's maximum is 5); got ${JSON.stringify(n)}`)
    }
    const effective = isNumber(temperature) ? temperature : defaultTemperature
    if (n > 1 && effective === 0) {
      return refuse("n", "n > 1 needs a temperature above 0 (at temperature 0 Moonshot can return only one result)")
    }
  }
  return Result.succeed(body)
}

const utf8 = new TextEncoder()

/** Maximum number of stop strings. */
export const maxStop = 5
/** Maximum size of one stop string, in UTF-8 bytes. */
export const maxStopBytes = 32

/**
 * Checks `stop`: a string or at most {@link maxStop} strings, each at most {@link maxStopBytes} UTF-8 bytes.
 */
export const checkStop = (stop: unknown): Shaped<void> => {
  if (stop === undefined || stop === null) return Result.succeed(undefined)
  const list = typeof stop === "string" ? [stop] : stop
  if (!Array.isArray(list) || !list.every((item) => typeof item === "string")) {
    return refuse("stop", "stop must be a string or an array of strings")
  }
  if (list.length > maxStop) {
    return refuse("stop", `stop array too long: Moonshot accepts at most ${maxStop} stop strings, got ${list.length}`)
  }
  for (const [index, item] of list.entries()) {
    const bytes = utf8.encode(item as string).length
    if (bytes > maxStopBytes) {
      return refuse(
        "stop",
        `stop[${index}] is ${bytes} bytes: Moonshot accepts stop strings of at most ${maxStopBytes} bytes (UTF-8)`
      )
    }
  }
  return Result.succeed(undefined)
}
