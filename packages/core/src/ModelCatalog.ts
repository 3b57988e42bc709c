/**
 * Model metadata (`ModelInfo`) and a provider's catalog of it.
 *
 * A catalog resolves an id or alias to its `ModelInfo`. An unknown id is passed through with conservative defaults
 * (providers add models faster than catalogs), never rejected. A model's lifecycle (`retired`, `deprecated`) is
 * information, not a gate: the request is sent (the live API was recorded answering models after the date a catalog
 * gives), the caller gets a warning ({@link lifecycleWarning}), and a provider that answers 404 gets an error naming
 * the current models (the provider's error table).
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { AiError } from "effect/ai"
import type * as Cost from "./Cost.js"
import type { ReasoningReplay } from "./PromptConversion.js"

/**
 * A sampling parameter's rule. `fixed`: the only value the model accepts (omit the parameter; an explicit different
 * value is refused before sending); `min`/`max`: the accepted range (inclusive unless `exclusiveMin` /
 * `exclusiveMax`); `default`: the provider's default.
 *
 * @since 0.1.0
 */
export interface SamplingRule {
  readonly fixed?: number | undefined
  readonly min?: number | undefined
  readonly max?: number | undefined
  readonly exclusiveMin?: boolean | undefined
  readonly exclusiveMax?: boolean | undefined
  readonly default?: number | undefined
}

/**
 * What a model can do.
 *
 * - `thinking`: `"none"` (no reasoning), `"optional"` (can be switched), `"always"` (cannot be disabled).
 * - `toolChoiceRequired` / `toolChoiceNamed`: whether `tool_choice: "required"` and a named function choice work
 *   (with thinking on, for thinking models).
 * - `partialMode`: assistant prefill (Moonshot `partial: true`).
 * - `webSearch`: a built-in web search tool.
 *
 * @since 0.1.0
 */
export interface Capabilities {
  readonly vision: boolean
  readonly video?: boolean | undefined
  readonly tools: boolean
  readonly toolChoiceRequired: boolean
  readonly toolChoiceNamed?: boolean | undefined
  readonly jsonMode: boolean
  readonly jsonSchema: boolean
  readonly thinking: "none" | "optional" | "always"
  readonly partialMode: boolean
  readonly webSearch: boolean
  readonly contextCaching?: "none" | "automatic" | "explicit" | undefined
}

/**
 * Lifecycle: `active`, `deprecated` (still served, retirement announced) or `retired` (the API answers 404).
 * `date` is ISO (`YYYY-MM-DD`); `replacements` are current alternatives.
 *
 * @since 0.1.0
 */
export interface Lifecycle {
  readonly status: "active" | "deprecated" | "retired"
  readonly date?: string | undefined
  readonly replacements?: ReadonlyArray<string> | undefined
}

/**
 * One model. Sizes in tokens.
 *
 * - `contextWindow`: prompt + output tokens the model accepts.
 * - `maxOutputTokens`: the largest `max_tokens` (for thinking models it includes reasoning tokens).
 * - `defaultMaxTokens`: what Conduit sends when the caller sets none (`undefined`: send nothing).
 * - `reasoningReplay`: how assistant reasoning is replayed (default: the provider's).
 * - `source`: where the numbers come from (doc URL or fixture; "UNCONFIRMED" marks guesses).
 * - `pricing`: the published prices per million tokens, one per billing currency (USD on the international platform,
 *   CNY on the Chinese one), each with its source and date (`undefined`: unknown, so responses have no cost; see
 *   `Cost`).
 *
 * @since 0.1.0
 */
export interface ModelInfo {
  readonly id: string
  readonly provider: string
  readonly aliases?: ReadonlyArray<string> | undefined
  readonly displayName?: string | undefined
  readonly contextWindow: number
  readonly maxOutputTokens: number
  readonly defaultMaxTokens?: number | undefined
  readonly capabilities: Capabilities
  readonly sampling?:
    | {
        readonly temperature?: SamplingRule | undefined
        readonly topP?: SamplingRule | undefined
        readonly n?: SamplingRule | undefined
        readonly maxStop?: number | undefined
        readonly maxStopBytes?: number | undefined
      }
    | undefined
  readonly lifecycle: Lifecycle
  readonly reasoningReplay?: ReasoningReplay | undefined
  /** The model is not in the catalog; these are conservative defaults. */
  readonly unknown?: boolean | undefined
  readonly source?: string | undefined
  readonly pricing?: ReadonlyArray<Cost.Pricing> | undefined
}

/**
 * Capabilities assumed for an unknown model: tools and JSON mode yes, everything else no.
 *
 * @since 0.1.0
 */
export const conservativeCapabilities: Capabilities = {
  vision: false,
  tools: true,
  toolChoiceRequired: false,
  jsonMode: true,
  jsonSchema: false,
  thinking: "none",
  partialMode: false,
  webSearch: false
}

/**
 * The `ModelInfo` of an unknown id: 32,768-token context window, 4,096-token output cap, conservative
 * capabilities, active.
 *
 * @since 0.1.0
 */
export const unknownModel = (provider: string, id: string): ModelInfo => ({
  id,
  provider,
  contextWindow: 32_768,
  maxOutputTokens: 4_096,
  capabilities: conservativeCapabilities,
  lifecycle: { status: "active" },
  unknown: true
})

/**
 * A provider's catalog.
 *
 * - `get`: by id or alias (case-insensitive), `undefined` when unknown.
 * - `resolve`: like `get`, unknown ids passed through ({@link unknownModel}); never fails (retired models included:
 *   see {@link lifecycleWarning}).
 * - `list`: every model.
 *
 * @since 0.1.0
 */
export interface Catalog {
  readonly provider: string
  readonly list: ReadonlyArray<ModelInfo>
  readonly get: (id: string) => ModelInfo | undefined
  readonly resolve: (id: string) => Effect.Effect<ModelInfo, AiError.AiError>
}

/**
 * Builds a catalog. Ids and aliases must be unique (checked; a duplicate throws at construction, a programming
 * error).
 *
 * @since 0.1.0
 */
export const make = (provider: string, models: ReadonlyArray<ModelInfo>): Catalog => {
  const byName = new Map<string, ModelInfo>()
  for (const model of models) {
    for (const name of [model.id, ...(model.aliases ?? [])]) {
      const key = name.toLowerCase()
      if (byName.has(key)) throw new Error(`duplicate model id or alias in the ${provider} catalog: ${name}`)
      byName.set(key, model)
    }
  }
  const get = (id: string) => byName.get(id.toLowerCase())
  return {
    provider,
    list: models,
    get,
    resolve: (id) => {
      const model = get(id)
      return Effect.succeed(model === undefined ? unknownModel(provider, id) : model)
    }
  }
}

/**
 * The warning for a request to a model the catalog marks `retired` or `deprecated` (with the date and replacements
 * when known), or `undefined` for an active or unknown one. The request is sent anyway.
 *
 * @since 0.1.0
 */
export const lifecycleWarning = (model: ModelInfo): string | undefined => {
  const { lifecycle } = model
  if (model.unknown === true || lifecycle.status === "active") return undefined
  const alternatives = lifecycle.replacements ?? []
  return `${model.provider} model "${model.id}" is marked ${lifecycle.status}${
    lifecycle.date ? ` (${lifecycle.date})` : ""
  } in Conduit's catalog; the request was sent anyway${
    alternatives.length > 0 ? `; current models: ${alternatives.join(", ")}` : ""
  }`
}
