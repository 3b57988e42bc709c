/**
 * The thinking switch and `reasoning_effort`, and what they mean for the rest of the request (pure).
 *
 * Rules (kimi.md §2.1, §2.5, §13.1; docs/refusals/kimi.md):
 * - a model that always thinks (kimi-k2.7-code, kimi-k2-thinking, kimi-thinking-preview) refuses `disabled` (the live
 *   400 is recorded: `errors/moonshotai-k2.7-disabled-thinking-error.json`);
 * - everything else the caller sets (`thinking.keep`, `thinking: enabled` on a model without thinking,
 *   `reasoning_effort`) is sent as is: the documented limits have no recording of the live API refusing them;
 * - `$web_search` on a model documented not to search while thinking (kimi-k2.5): thinking is switched off, with a
 *   warning, when the caller did not ask for it; sent as asked when they did;
 * - unknown models: whatever the caller sets is sent, and thinking counts as unknown.
 */
import type { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import type * as KimiModels from "../KimiModels.js"
import { refuse, type Shaped } from "./refusal.js"

/** The wire `thinking` object. */
export interface WireThinking {
  readonly type: "enabled" | "disabled"
  readonly keep?: "all" | null | undefined
}

/** The resolved switch: what to send (`undefined`: omit the field) and whether the model will think. */
export interface ThinkingState {
  readonly wire: WireThinking | undefined
  /** `undefined` when unknown (an uncatalogued model with no explicit switch). */
  readonly on: boolean | undefined
  /** The caller set the switch (provider option or wire `thinking`). */
  readonly explicit: boolean
}

const describeModel = (model: ModelCatalog.ModelInfo) => `${model.id}`

/**
 * Resolves the thinking switch.
 *
 * @param explicit the caller's switch (`undefined` when not set).
 * @param webSearch the request declares the `$web_search` built-in.
 * @param warn reports an adaptation (thinking switched off for `$web_search`).
 */
export const resolve = (
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  explicit: WireThinking | undefined,
  webSearch: boolean,
  warn: (warning: string) => void = () => {}
): Shaped<ThinkingState> => {
  const mode = model.capabilities.thinking
  let state: ThinkingState
  if (model.unknown) {
    state = {
      wire: explicit,
      on: explicit === undefined ? undefined : explicit.type === "enabled",
      explicit: explicit !== undefined
    }
  } else if (mode === "none") {
    // an explicit switch is sent as is (no recording of the API refusing it); the model does not think
    state = {
      wire: explicit?.type === "enabled" ? explicit : undefined,
      on: explicit?.type === "enabled",
      explicit: explicit !== undefined
    }
  } else if (mode === "always") {
    if (explicit?.type === "disabled") {
      // refusal: kimi/thinking-disabled-always
      return refuse(
        "thinking",
        `${describeModel(model)} always thinks: Moonshot answers 400 "invalid thinking: only type=enabled is allowed for this model"; omit thinking or set thinking.type to "enabled"`
      )
    }
    state = { wire: explicit, on: true, explicit: explicit !== undefined }
  } else {
    state =
      explicit === undefined
        ? { wire: undefined, on: traits.thinkingDefault, explicit: false }
        : { wire: explicit, on: explicit.type === "enabled", explicit: true }
  }
  if (webSearch && state.on === true && !traits.webSearchWithThinking && !state.explicit && mode !== "always") {
    warn(
      `${describeModel(model)} does not search with thinking on: thinking was switched off for this call ($web_search)`
    )
    state = { wire: { type: "disabled" }, on: false, explicit: false }
  }
  return Result.succeed(state)
}
