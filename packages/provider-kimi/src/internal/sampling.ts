/**
 * Sampling rules and stop limits (pure).
 *
 * - Pinned models (kimi-k2.5 and later): temperature is 1 with thinking on and 0.6 with thinking off, top_p 0.95,
 *   n 1, penalties 0; any other explicit value is a 400 (`invalid temperature: only 1 is allowed for this model`).
 *   Conduit omits these parameters (sending the pinned value is accepted but pointless) and refuses a conflicting
 *   temperature (the recorded 400) with the model's rule. kimi.md §2.1, §11.2; fixtures `errors/moonshotai-kimi-k3-temperature-rejection.json`,
 *   `errors/moonshotai-unsupported-sampling-error.json`.
 * - Ranges documented for every model (temperature in [0, 1], top_p, n, penalties; [DOC-EN-25]) have no recording
 *   of the live API refusing them: they are sent as is and the API's answer is mapped (docs/refusals/kimi.md).
 * - `stop`: at most 5 strings; live: 6 strings → 400 `stop array too long. Expected an array with maximum length 5,
 *   but got 6` ([HALRO] §10.2 #12). The 32-byte limit per string is documented only: not checked.
 */
import type { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import type * as KimiModels from "../KimiModels.js"
import { refuse, type Shaped } from "./refusal.js"

type Body = Record<string, unknown>

const pinnedKeys = ["temperature", "top_p", "n", "presence_penalty", "frequency_penalty"] as const

/**
 * Applies the pinned-sampling rule of a model: pinned parameters sent at their pinned value are removed (accepted but
 * pointless); a conflicting `temperature` is refused with the rule (the live API's 400 is recorded:
 * `errors/moonshotai-kimi-k3-temperature-rejection.json`, `errors/moonshotai-unsupported-sampling-error.json`); a
 * conflicting value of the other pinned parameters (no recording) is sent as is. `thinkingOn` chooses the temperature
 * (`undefined` counts as on, the default of every pinned model).
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
    if (value === expected) {
      delete out[key]
    } else if (key === "temperature") {
      // refusal: kimi/pinned-temperature
      return refuse(
        "temperature",
        `${model.id} pins temperature to ${pinned.temperature.thinking} with thinking on and ${pinned.temperature.nonThinking} with thinking off (thinking is ${thinkingOn === false ? "off" : "on"}); got ${JSON.stringify(value)}: omit temperature or send ${expected}`
      )
    }
  }
  return Result.succeed(out)
}

/** Maximum number of stop strings. */
export const maxStop = 5

/**
 * Checks the number of `stop` strings (at most {@link maxStop}; the live API's 400 `stop array too long` is
 * recorded: `other-repos/live-errors-and-headers-2026-09.txt`). Anything else about `stop` is the API's to judge.
 */
export const checkStop = (stop: unknown): Shaped<void> => {
  if (Array.isArray(stop) && stop.length > maxStop) {
    // refusal: kimi/stop-count
    return refuse(
      "stop",
      `stop array too long: Moonshot accepts at most ${maxStop} stop strings, got ${stop.length}; send at most ${maxStop}`
    )
  }
  return Result.succeed(undefined)
}
