/**
 * The thinking switch and `reasoning_effort`, and what they mean for the rest of the request (pure).
 *
 * Rules (docs/providers/kimi.md#thinking-and-reasoning-replay, #reasoning-effort; fixtures
 * `errors/moonshotai-k2.7-disabled-thinking-error.json`):
 * - a model without thinking refuses `thinking: enabled` (and `reasoning_effort`); `disabled` is simply omitted;
 * - a model that always thinks (kimi-k2.7-code, kimi-k2-thinking, kimi-thinking-preview) refuses `disabled`;
 * - `keep: "all"` only where the model accepts it (kimi-k2.6, kimi-k2.7-code, kimi-k3; kimi-k2.5 answers 400), and
 *   only with thinking enabled;
 * - `$web_search` on a model that refuses it while thinking (kimi-k2.5): thinking is switched off when the caller did
 *   not ask for it, refused when they did;
 * - unknown models: whatever the caller sets is sent, nothing is refused, and thinking counts as unknown.
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
 */
export const resolve = (
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  explicit: WireThinking | undefined,
  webSearch: boolean
): Shaped<ThinkingState> => {
  const mode = model.capabilities.thinking
  if (explicit?.keep === "all") {
    if (explicit.type === "disabled") {
      return refuse("thinking", 'thinking.keep "all" (Preserved Thinking) needs thinking.type "enabled"')
    }
    if (!model.unknown && !traits.thinkingKeep) {
      return refuse(
        "thinking",
        `${describeModel(model)} does not accept thinking.keep (Moonshot answers 400); Preserved Thinking is available on kimi-k2.6, kimi-k2.7-code and kimi-k3`
      )
    }
  }
  let state: ThinkingState
  if (model.unknown) {
    state = {
      wire: explicit,
      on: explicit === undefined ? undefined : explicit.type === "enabled",
      explicit: explicit !== undefined
    }
  } else if (mode === "none") {
    if (explicit?.type === "enabled") {
      return refuse("thinking", `${describeModel(model)} has no thinking mode; use kimi-k3 or kimi-k2.6 for reasoning`)
    }
    state = { wire: undefined, on: false, explicit: explicit !== undefined }
  } else if (mode === "always") {
    if (explicit?.type === "disabled") {
      return refuse(
        "thinking",
        `${describeModel(model)} always thinks: only thinking.type "enabled" is allowed for this model (Moonshot: "invalid thinking: only type=enabled is allowed for this model")`
      )
    }
    state = { wire: explicit, on: true, explicit: explicit !== undefined }
  } else {
    state =
      explicit === undefined
        ? { wire: undefined, on: traits.thinkingDefault, explicit: false }
        : { wire: explicit, on: explicit.type === "enabled", explicit: true }
  }
  if (webSearch && state.on === true && !traits.webSearchWithThinking) {
    if (state.explicit || mode === "always") {
      return refuse(
        "tools",
        `${describeModel(model)} does not support $web_search while thinking is enabled; disable thinking (providerOptions.thinking: "disabled") to search`
      )
    }
    state = { wire: { type: "disabled" }, on: false, explicit: false }
  }
  return Result.succeed(state)
}

/**
 * Checks `reasoning_effort` against the model and the thinking state.
 */
export const checkReasoningEffort = (
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  thinking: ThinkingState,
  effort: string | undefined
): Shaped<string | undefined> => {
  if (effort === undefined || model.unknown) return Result.succeed(effort)
  if (model.capabilities.thinking === "none") {
    return refuse("reasoning_effort", `${model.id} has no reasoning, so reasoning_effort does not apply`)
  }
  if (thinking.on === false) {
    return refuse("reasoning_effort", `reasoning_effort "${effort}" contradicts thinking disabled`)
  }
  const allowed = traits.reasoningEfforts
  if (allowed !== undefined && !allowed.includes(effort)) {
    return refuse(
      "reasoning_effort",
      `${model.id} accepts reasoning_effort ${allowed.map((value) => `"${value}"`).join(", ")}; got "${effort}"`
    )
  }
  return Result.succeed(effort)
}
