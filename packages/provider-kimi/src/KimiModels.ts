/**
 * The Moonshot Kimi model catalog: every model of `docs/providers/kimi.md#model-catalog` with its context window,
 * output cap, capabilities, sampling rules and lifecycle, plus the Kimi-specific traits request shaping needs (thinking
 * switch, `thinking.keep`, `reasoning_effort` values, pinned sampling, `tool_choice: "required"` with thinking,
 * `$web_search` with thinking).
 *
 * - {@link catalog}: the static catalog (core's `ModelCatalog`): unknown ids pass through with conservative
 *   defaults; retired ids fail before any HTTP call with an error naming current alternatives.
 * - {@link make}: the same catalog with overrides (for example to call a model this catalog marks retired while a
 *   region still serves it: the sources disagree on retirement dates, see below).
 * - {@link listModels}: `GET /v1/models` merged over the static catalog ({@link mergeLive}, pure).
 *
 * Lifecycle follows the newest live capture: on 2026-09-01 `/v1/models` listed only kimi-k3, kimi-k2.6,
 * kimi-k2.7-code and kimi-k2.7-code-highspeed, and kimi-k2.5, moonshot-v1-*, kimi-k2-*, kimi-latest and
 * kimi-thinking-preview answered 404 ([HALRO]; docs/providers/kimi.md#model-lifecycle). An older live capture (vercel
 * fixture `moonshotai-max-completion-tokens.json`) shows moonshot-v1-8k answering on 2026-08-26, so retirement dates
 * that no source states are left out rather than guessed (docs/providers/kimi.md#model-lifecycle states two: the
 * kimi-k2-*-preview models 2026-05-25 and kimi-k2.5 2026-08-31). No model is `deprecated` (still served with a
 * retirement announced) in the newest capture: every model docs/providers/kimi.md#model-catalog lists is either listed
 * by `/v1/models` (active) or answers 404 (retired).
 *
 * Sizes are in tokens. Every entry names its source; "UNCONFIRMED" marks values no primary source states.
 *
 * @since 0.1.0
 */

import { ModelCatalog, type OpenAiCompatClient } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import type { AiError } from "effect/ai"
import { defaultCurrentModels } from "./KimiError.js"
import * as KimiPricing from "./KimiPricing.js"

// =============================================================================
// Kimi traits
// =============================================================================

/**
 * A sampling value a model pins. With thinking on the model accepts only `thinking`, with thinking off only
 * `nonThinking` (kimi-k2.5: temperature 1.0 / 0.6; live error texts `invalid temperature: only 1 is allowed for this
 * model` and `only 0.6 is allowed`, fixtures `errors/moonshotai-kimi-k3-temperature-rejection.json`,
 * `errors/moonshotai-unsupported-sampling-error.json`).
 *
 * @since 0.1.0
 */
export interface PinnedValue {
  readonly thinking: number
  readonly nonThinking: number
}

/**
 * Sampling parameters a model pins (docs/providers/kimi.md#pinned-sampling): any other explicit value is a 400,
 * so Conduit omits them and refuses a conflicting value before sending.
 *
 * @since 0.1.0
 */
export interface PinnedSampling {
  readonly temperature: PinnedValue
  readonly top_p: number
  readonly n: number
  readonly presence_penalty: number
  readonly frequency_penalty: number
}

/**
 * What Kimi request shaping needs to know beyond core's `ModelInfo`.
 *
 * - `thinkingDefault`: thinking is on when the caller does not set `thinking` (kimi-k2.5/k2.6: on by default).
 * - `thinkingKeep`: the model accepts `thinking.keep: "all"` (Preserved Thinking); others answer 400.
 * - `reasoningEfforts`: accepted `reasoning_effort` values (`undefined`: not documented, passed through).
 * - `pinnedSampling`: see {@link PinnedSampling}.
 * - `toolChoiceRequired`: `"always"` (accepted with thinking on), `"without-thinking"` (400 `tool_choice
 *   'required' is incompatible with thinking enabled` when thinking is on), `"never"` (legacy docs: not supported).
 * - `webSearchWithThinking`: `$web_search` works while thinking is on (kimi-k2.5: no, [DOC-CN-26] §7).
 * - `dynamicTools`: the model accepts tools declared mid-conversation in a `{ role: "system", tools: [...] }`
 *   message (kimi-k3, docs/providers/kimi.md#model-catalog); the live `supports_dynamic_tools` of `GET /v1/models` sets
 *   it. Core's capabilities have no such field, so it is a Kimi trait (informational: request shaping does not use it).
 *
 * @since 0.1.0
 */
export interface KimiTraits {
  readonly thinkingDefault: boolean
  readonly thinkingKeep: boolean
  readonly reasoningEfforts?: ReadonlyArray<string> | undefined
  readonly pinnedSampling?: PinnedSampling | undefined
  readonly toolChoiceRequired: "always" | "without-thinking" | "never"
  readonly webSearchWithThinking: boolean
  readonly dynamicTools?: boolean | undefined
}

/**
 * A catalog entry: core's `ModelInfo` plus {@link KimiTraits} under `kimi`.
 *
 * @since 0.1.0
 */
export interface KimiModelInfo extends ModelCatalog.ModelInfo {
  readonly kimi: KimiTraits
}

/**
 * Traits assumed for a model the catalog does not know: thinking off unless the caller turns it on, nothing
 * pinned, nothing refused up front (unknown ids are passed through, never second-guessed).
 *
 * @since 0.1.0
 */
export const unknownTraits: KimiTraits = {
  thinkingDefault: false,
  thinkingKeep: true,
  toolChoiceRequired: "always",
  webSearchWithThinking: true
}

/**
 * The {@link KimiTraits} of a model (the unknown-model traits when it carries none).
 *
 * @since 0.1.0
 */
export const traitsOf = (model: ModelCatalog.ModelInfo): KimiTraits =>
  (model as Partial<KimiModelInfo>).kimi ?? unknownTraits

// =============================================================================
// The catalog
// =============================================================================

const provider = "kimi"

/** kimi-k2.5 family pins (docs/providers/kimi.md#pinned-sampling; [DOC-CN-26] §7 参数变动说明; fixtures `errors/*sampling*`). */
const k25Pinned: PinnedSampling = {
  temperature: { thinking: 1, nonThinking: 0.6 },
  top_p: 0.95,
  n: 1,
  presence_penalty: 0,
  frequency_penalty: 0
}

/** The range every Moonshot model documents for temperature: [0, 1] ([DOC-EN-25] request-body table). */
const legacyTemperature = (defaultValue: number): ModelCatalog.SamplingRule => ({
  min: 0,
  max: 1,
  default: defaultValue
})

const legacySampling = (defaultTemperature: number): NonNullable<ModelCatalog.ModelInfo["sampling"]> => ({
  temperature: legacyTemperature(defaultTemperature),
  topP: { min: 0, max: 1, exclusiveMin: true, default: 1 },
  n: { min: 1, max: 5, default: 1 },
  maxStop: 5,
  maxStopBytes: 32
})

const pinnedSampling = (pinned: PinnedSampling): NonNullable<ModelCatalog.ModelInfo["sampling"]> => ({
  temperature: { fixed: pinned.temperature.thinking, default: pinned.temperature.thinking },
  topP: { fixed: pinned.top_p, default: pinned.top_p },
  n: { fixed: pinned.n, default: pinned.n },
  maxStop: 5,
  maxStopBytes: 32
})

/**
 * Alternatives named when a retired model is requested: the models `/v1/models` listed on 2026-09-01, the same list
 * the error table names on a 404 (`KimiError.defaultCurrentModels`, the one source).
 */
const current = defaultCurrentModels

const retired = (date?: string): ModelCatalog.Lifecycle => ({
  status: "retired",
  ...(date !== undefined ? { date } : {}),
  replacements: current
})

const legacyTraits: KimiTraits = {
  thinkingDefault: false,
  thinkingKeep: false,
  toolChoiceRequired: "never",
  webSearchWithThinking: true
}

const moonshotV1 = (
  id: string,
  contextWindow: number,
  options: { readonly vision?: boolean; readonly source: string }
): KimiModelInfo => ({
  id,
  provider,
  contextWindow,
  // "max_tokens … the maximum is the context window minus the prompt" ([DOC-EN-25]); the server default is 1024.
  maxOutputTokens: contextWindow,
  capabilities: {
    vision: options.vision === true,
    tools: true,
    toolChoiceRequired: false,
    jsonMode: true,
    jsonSchema: false,
    thinking: "none",
    partialMode: true,
    webSearch: options.vision !== true,
    // Explicit caches: the vision previews can use existing caches but not create them ([DOC-EN-25] "Context
    // Caching"; `KimiContextCache.create` refuses them, see `canCreateCache`).
    contextCaching: "explicit"
  },
  sampling: legacySampling(0),
  lifecycle: retired(),
  kimi: legacyTraits,
  source: options.source
})

const k2Preview = (id: string, contextWindow: number, source: string): KimiModelInfo => ({
  id,
  provider,
  contextWindow,
  maxOutputTokens: contextWindow,
  capabilities: {
    vision: false,
    tools: true,
    toolChoiceRequired: false,
    jsonMode: true,
    jsonSchema: false,
    thinking: "none",
    partialMode: true,
    webSearch: true,
    contextCaching: "automatic"
  },
  sampling: legacySampling(0.6),
  // "kimi-k2-*-preview scheduled for removal 2026-05-25" (https://github.com/mnfst/modelparams.dev/pull/22);
  // 404 on 2026-09-01 ([HALRO] §1.4).
  lifecycle: retired("2026-05-25"),
  kimi: legacyTraits,
  source
})

const kimiLatest = (id: string, contextWindow: number, source: string): KimiModelInfo => ({
  id,
  provider,
  contextWindow,
  maxOutputTokens: contextWindow,
  capabilities: {
    vision: true,
    tools: true,
    toolChoiceRequired: false,
    jsonMode: true,
    jsonSchema: false,
    thinking: "none",
    partialMode: true,
    webSearch: true,
    contextCaching: "automatic"
  },
  sampling: legacySampling(0.3),
  // Discontinued in 2026 (https://www.promptfoo.dev/docs/providers/moonshot/); 404 on 2026-09-01 ([HALRO] §1.4).
  lifecycle: retired(),
  kimi: legacyTraits,
  source
})

const k2Thinking = (id: string, source: string): KimiModelInfo => ({
  id,
  provider,
  contextWindow: 262_144,
  maxOutputTokens: 262_144,
  // "max_tokens >= 16000 recommended" ([DOC-CN-26] §8 使用须知); kosong sends 32000.
  defaultMaxTokens: 32_768,
  capabilities: {
    vision: false,
    tools: true,
    toolChoiceRequired: false,
    jsonMode: true,
    jsonSchema: false,
    thinking: "always",
    partialMode: true,
    webSearch: true,
    contextCaching: "automatic"
  },
  sampling: { ...legacySampling(1), n: { min: 1, max: 5, default: 1 } },
  lifecycle: retired(),
  kimi: {
    thinkingDefault: true,
    thinkingKeep: false,
    toolChoiceRequired: "without-thinking",
    webSearchWithThinking: true
  },
  source
})

const k27Code = (id: string, source: string): KimiModelInfo => ({
  id,
  provider,
  contextWindow: 262_144,
  maxOutputTokens: 262_144,
  defaultMaxTokens: 32_768,
  capabilities: {
    vision: true,
    video: true,
    tools: true,
    toolChoiceRequired: false,
    toolChoiceNamed: false,
    jsonMode: true,
    jsonSchema: true,
    thinking: "always",
    partialMode: true,
    webSearch: true,
    contextCaching: "automatic"
  },
  // Pinned like kimi-k2.6 (UNCONFIRMED for k2.7-code: no capture of a sampling rejection on it).
  sampling: pinnedSampling(k25Pinned),
  lifecycle: { status: "active" },
  // thinking: only type=enabled (fixture errors/moonshotai-k2.7-disabled-thinking-error.json); keep fixed "all".
  kimi: {
    thinkingDefault: true,
    thinkingKeep: true,
    pinnedSampling: k25Pinned,
    toolChoiceRequired: "without-thinking",
    webSearchWithThinking: true
  },
  source
})

const entries: ReadonlyArray<KimiModelInfo> = [
  {
    id: "kimi-k3",
    provider,
    displayName: "Kimi K3",
    contextWindow: 1_048_576,
    // max_completion_tokens default 131,072, up to 1,048,576 ([DOC-CHAT-26-08]); the server default is kept.
    maxOutputTokens: 1_048_576,
    capabilities: {
      vision: true,
      video: false, // UNCONFIRMED: listLive() merges the live `supports_video_in`.
      tools: true,
      // live: tool_choice "required" accepted with thinking on (fixture moonshotai-k3-required-tool-choice.json)
      toolChoiceRequired: true,
      toolChoiceNamed: true,
      jsonMode: true,
      jsonSchema: true,
      // live: thinking {type: disabled} accepted on chat ([HALRO] §13.1) despite `supports_thinking_type: "only"`.
      thinking: "optional",
      partialMode: true,
      webSearch: true,
      contextCaching: "automatic"
    },
    // temperature: live "only 1 is allowed" (fixture errors/moonshotai-kimi-k3-temperature-rejection.json);
    // top_p/n/penalties pinned like k2.5 per docs/providers/kimi.md#pinned-sampling (UNCONFIRMED for k3 individually).
    sampling: pinnedSampling(k25Pinned),
    lifecycle: { status: "active" },
    kimi: {
      thinkingDefault: true,
      thinkingKeep: true, // vercel/ai: keep "all" accepted by k2.6, k2.7-code and k3 (docs/providers/kimi.md#thinking-and-reasoning-replay)
      reasoningEfforts: ["low", "high", "max"], // [DOC-CHAT-26-08]; default max
      pinnedSampling: k25Pinned,
      toolChoiceRequired: "always",
      webSearchWithThinking: true, // UNCONFIRMED
      dynamicTools: true // docs/providers/kimi.md#model-catalog: dynamic tool messages {"role":"system","tools":[...]}
    },
    source:
      "docs/providers/kimi.md#model-catalog ([DOC-CHAT-26-08] https://platform.kimi.ai/docs/api/chat; [HALRO] §1.4, §10.3); launched 2026-07-16"
  },
  k27Code("kimi-k2.7-code", "docs/providers/kimi.md#model-catalog ([DOC-CHAT-26-08]; [HALRO] §1.4, §13.1)"),
  k27Code(
    "kimi-k2.7-code-highspeed",
    "docs/providers/kimi.md#model-catalog ([DOC-CHAT-26-08]: ~180 tok/s; [HALRO] §1.4)"
  ),
  {
    id: "kimi-k2.6",
    provider,
    displayName: "Kimi K2.6",
    contextWindow: 262_144,
    maxOutputTokens: 262_144,
    // max_tokens counts reasoning; small budgets end in `length` inside reasoning
    // (fixture moonshotai-k2.6-tool-choice-omitted.json); 32,768 is k2.5's documented default ([DOC-CN-26]).
    defaultMaxTokens: 32_768,
    capabilities: {
      vision: true,
      video: false, // UNCONFIRMED
      tools: true,
      // live: 400 "tool_choice 'required' is incompatible with thinking enabled"; accepted with thinking disabled.
      toolChoiceRequired: false,
      toolChoiceNamed: false,
      jsonMode: true,
      jsonSchema: true,
      thinking: "optional",
      partialMode: true,
      webSearch: true,
      contextCaching: "automatic"
    },
    sampling: pinnedSampling(k25Pinned),
    lifecycle: { status: "active" },
    kimi: {
      thinkingDefault: true,
      thinkingKeep: true,
      reasoningEfforts: ["low", "high", "max"], // live: accepted (200) on k2.6 ([HALRO] §10.3); values UNCONFIRMED
      pinnedSampling: k25Pinned,
      toolChoiceRequired: "without-thinking",
      webSearchWithThinking: true // UNCONFIRMED
    },
    source:
      "docs/providers/kimi.md#model-catalog ([HALRO] §1.4 from docs/models; [DOC-CHAT-26-08]); fixture moonshotai-file-reference-live.json"
  },
  {
    id: "kimi-k2.5",
    provider,
    displayName: "Kimi K2.5",
    contextWindow: 262_144,
    maxOutputTokens: 262_144,
    defaultMaxTokens: 32_768, // [DOC-CN-26]
    capabilities: {
      vision: true,
      video: true,
      tools: true,
      toolChoiceRequired: false,
      toolChoiceNamed: false,
      jsonMode: true,
      jsonSchema: true,
      thinking: "optional",
      partialMode: true,
      webSearch: true,
      contextCaching: "automatic"
    },
    sampling: pinnedSampling(k25Pinned),
    // Retirement announced for 2026-08-31 (https://github.com/agentjido/llmdb/pull/282); 404 on 2026-09-01.
    lifecycle: retired("2026-08-31"),
    kimi: {
      thinkingDefault: true,
      thinkingKeep: false, // rejects keep with a 400 (vercel/ai getModelThinkingKeepSupport, "verified live")
      pinnedSampling: k25Pinned,
      toolChoiceRequired: "without-thinking",
      webSearchWithThinking: false // [DOC-CN-26] §7 "Tool Use 参数兼容性": disable thinking to use $web_search
    },
    source:
      "docs/providers/kimi.md#model-catalog ([DOC-CN-26] K2.5 section; [HALRO] §1.4); fixture moonshotai-stream-choice-usage.chunks.txt"
  },
  k2Thinking(
    "kimi-k2-thinking",
    "docs/providers/kimi.md#model-catalog ([DOC-CN-26] §8; context 262,144 from openclaw docs, secondary)"
  ),
  k2Thinking(
    "kimi-k2-thinking-turbo",
    "docs/providers/kimi.md#model-catalog ([DOC-CN-26] model enum; context from secondary sources)"
  ),
  k2Preview(
    "kimi-k2-turbo-preview",
    262_144,
    "docs/providers/kimi.md#model-catalog (EX-AI kimi_config, secondary; default temperature 0.6)"
  ),
  k2Preview(
    "kimi-k2-0905-preview",
    262_144,
    "docs/providers/kimi.md#model-catalog ([DOC-CN-26] FAQ: 256k); fixture kimi-k2-0905-preview.stream"
  ),
  k2Preview(
    "kimi-k2-0711-preview",
    131_072,
    "docs/providers/kimi.md#model-catalog ([DOC-EN-25] pricing and model list)"
  ),
  kimiLatest("kimi-latest", 131_072, "docs/providers/kimi.md#model-catalog ([DOC-EN-25]: auto caching, vision, 128k)"),
  kimiLatest(
    "kimi-latest-8k",
    8_192,
    "docs/providers/kimi.md#model-catalog (EX-AI kimi_config billing tier, secondary)"
  ),
  kimiLatest(
    "kimi-latest-32k",
    32_768,
    "docs/providers/kimi.md#model-catalog (EX-AI kimi_config billing tier, secondary)"
  ),
  kimiLatest(
    "kimi-latest-128k",
    131_072,
    "docs/providers/kimi.md#model-catalog (EX-AI kimi_config billing tier, secondary)"
  ),
  {
    id: "kimi-thinking-preview",
    provider,
    contextWindow: 131_072,
    maxOutputTokens: 131_072,
    capabilities: {
      vision: true,
      tools: false,
      toolChoiceRequired: false,
      jsonMode: false,
      jsonSchema: false,
      thinking: "always",
      partialMode: false,
      webSearch: false,
      contextCaching: "none"
    },
    sampling: legacySampling(0.8), // recommended 0.8 ([DOC-EN-25] thinking-preview guide)
    lifecycle: retired(),
    kimi: { thinkingDefault: true, thinkingKeep: false, toolChoiceRequired: "never", webSearchWithThinking: false },
    source:
      "docs/providers/kimi.md#thinking-and-reasoning-replay, #model-catalog ([DOC-EN-25] thinking-preview guide); fixture kimi-thinking-preview-nonstream-doc.json"
  },
  moonshotV1("moonshot-v1-8k", 8_192, { source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])" }),
  moonshotV1("moonshot-v1-32k", 32_768, { source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])" }),
  moonshotV1("moonshot-v1-128k", 131_072, { source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])" }),
  // Routes to 8k/32k/128k by prompt_tokens + max_tokens ([DOC-EN-25] "Choose the Right Model").
  moonshotV1("moonshot-v1-auto", 131_072, {
    source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25] Choose the Right Model)"
  }),
  moonshotV1("moonshot-v1-8k-vision-preview", 8_192, {
    vision: true,
    source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])"
  }),
  moonshotV1("moonshot-v1-32k-vision-preview", 32_768, {
    vision: true,
    source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])"
  }),
  moonshotV1("moonshot-v1-128k-vision-preview", 131_072, {
    vision: true,
    source: "docs/providers/kimi.md#model-catalog ([DOC-EN-25])"
  }),
  {
    id: "kimi-for-coding",
    provider,
    displayName: 'Kimi Code (subscription, plan: "coding")',
    contextWindow: 262_144, // UNCONFIRMED
    maxOutputTokens: 262_144, // UNCONFIRMED
    defaultMaxTokens: 32_768,
    capabilities: {
      vision: false, // UNCONFIRMED
      tools: true,
      toolChoiceRequired: false,
      jsonMode: true,
      jsonSchema: false,
      thinking: "optional", // UNCONFIRMED
      partialMode: false, // UNCONFIRMED
      webSearch: false, // UNCONFIRMED
      contextCaching: "automatic"
    },
    lifecycle: { status: "active" },
    // Nothing pinned: the Kimi Code endpoint reportedly wants temperature 0.6 where api.moonshot.ai wants 1
    // (https://github.com/NousResearch/hermes-agent/pull/12668), UNCONFIRMED, so nothing is refused up front.
    kimi: { thinkingDefault: false, thinkingKeep: true, toolChoiceRequired: "always", webSearchWithThinking: true },
    source: "docs/providers/kimi.md#kimi-code (Kimi Code: https://api.kimi.com/coding/v1, model kimi-for-coding)"
  }
]

/**
 * Every catalogued model, with its prices where Moonshot publishes them (`pricing`, from `KimiPricing.prices`:
 * docs/providers/kimi.md#pricing).
 *
 * @since 0.1.0
 */
export const models: ReadonlyArray<KimiModelInfo> = entries.map((model) => {
  const pricing = KimiPricing.prices[model.id]
  return pricing === undefined ? model : { ...model, pricing }
})

/**
 * Whether explicit context caches can be created for a model id (pure): `false` for a catalogued model without
 * explicit caching (automatic prefix caching on kimi-latest, the K2 family, kimi-k2.5/k2.6/k2.7-code and kimi-k3;
 * none on kimi-thinking-preview) and for the moonshot-v1 vision previews, which can use caches but not create them
 * (docs/providers/kimi.md#context-caching-api). Unknown ids and model families (`moonshot-v1`) are not second-guessed.
 *
 * @since 0.1.0
 */
export const canCreateCache = (model: string, from: ModelCatalog.Catalog = catalog): boolean => {
  const info = from.get(model)
  if (info === undefined || info.unknown) return true
  return info.capabilities.contextCaching === "explicit" && !info.id.endsWith("-vision-preview")
}

/**
 * The static catalog (core's `ModelCatalog.Catalog` over {@link models}).
 *
 * @since 0.1.0
 */
export const catalog: ModelCatalog.Catalog = ModelCatalog.make(provider, models)

/**
 * Per-model overrides of {@link make}: any field of the entry (shallow; `capabilities`, `kimi` and `lifecycle`
 * replace the whole object).
 *
 * @since 0.1.0
 */
export type Overrides = Readonly<Record<string, Partial<KimiModelInfo>>>

/**
 * A catalog with overrides, e.g. `make({ "moonshot-v1-8k": { lifecycle: { status: "active" } } })` to call a model
 * that this catalog marks retired, or extra models appended.
 *
 * @throws Error (a programming error) when an id or alias is duplicated.
 * @since 0.1.0
 */
export const make = (overrides: Overrides = {}, extra: ReadonlyArray<KimiModelInfo> = []): ModelCatalog.Catalog =>
  ModelCatalog.make(provider, [
    ...models.map((model) => (overrides[model.id] ? { ...model, ...overrides[model.id] } : model)),
    ...extra
  ])

/**
 * The ids of the models the catalog lists as active.
 *
 * @since 0.1.0
 */
export const activeIds = (from: ModelCatalog.Catalog = catalog): ReadonlyArray<string> =>
  from.list.filter((model) => model.lifecycle.status === "active").map((model) => model.id)

// =============================================================================
// Live listing
// =============================================================================

/**
 * One entry of `GET /v1/models` (2026 live fields, docs/providers/kimi.md#models-endpoint: `context_length`,
 * `supports_image_in`, `supports_video_in`, `supports_reasoning`, `supports_dynamic_tools`, `reasoning_efforts` /
 * `think_efforts`, `supports_thinking_type`). Every field but `id` is optional; unknown fields are kept.
 *
 * @since 0.1.0
 */
export const LiveModel = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.String,
    object: Schema.optional(Schema.NullOr(Schema.String)),
    owned_by: Schema.optional(Schema.NullOr(Schema.String)),
    created: Schema.optional(Schema.NullOr(Schema.Number)),
    context_length: Schema.optional(Schema.NullOr(Schema.Number)),
    supports_image_in: Schema.optional(Schema.NullOr(Schema.Boolean)),
    supports_video_in: Schema.optional(Schema.NullOr(Schema.Boolean)),
    supports_reasoning: Schema.optional(Schema.NullOr(Schema.Boolean)),
    supports_dynamic_tools: Schema.optional(Schema.NullOr(Schema.Boolean)),
    supports_thinking_type: Schema.optional(Schema.NullOr(Schema.String)),
    reasoning_efforts: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
    think_efforts: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
  }),
  [Schema.Record(Schema.String, Schema.Unknown)]
)

/** @since 0.1.0 */
export type LiveModel = typeof LiveModel.Type

/**
 * The `GET /v1/models` body (`{ data: [...] }`, fixture `official-doc-examples/models-list-legacy-shape.json`).
 *
 * @since 0.1.0
 */
export const LiveModelList = Schema.StructWithRest(Schema.Struct({ data: Schema.Array(LiveModel) }), [
  Schema.Record(Schema.String, Schema.Unknown)
])

/** @since 0.1.0 */
export type LiveModelList = typeof LiveModelList.Type

const mergeOne = (base: ModelCatalog.ModelInfo, live: LiveModel): KimiModelInfo => {
  const traits = traitsOf(base)
  const efforts = live.reasoning_efforts ?? live.think_efforts ?? undefined
  let thinking = base.capabilities.thinking
  if (live.supports_reasoning === false) thinking = "none"
  else if (live.supports_reasoning === true && thinking === "none") {
    thinking = live.supports_thinking_type === "only" ? "always" : "optional"
  }
  const contextWindow =
    typeof live.context_length === "number" && live.context_length > 0 ? live.context_length : base.contextWindow
  return {
    ...base,
    contextWindow,
    maxOutputTokens: Math.min(base.maxOutputTokens, contextWindow),
    capabilities: {
      ...base.capabilities,
      ...(typeof live.supports_image_in === "boolean" ? { vision: live.supports_image_in } : {}),
      ...(typeof live.supports_video_in === "boolean" ? { video: live.supports_video_in } : {}),
      thinking
    },
    kimi: {
      ...traits,
      ...(efforts !== undefined && efforts.length > 0 ? { reasoningEfforts: efforts } : {}),
      ...(typeof live.supports_dynamic_tools === "boolean" ? { dynamicTools: live.supports_dynamic_tools } : {}),
      ...(thinking !== "none" && traits === unknownTraits ? { thinkingDefault: thinking === "always" } : {})
    },
    lifecycle: base.lifecycle.status === "retired" ? { status: "active" } : base.lifecycle,
    source: `${base.source ?? "unknown model"}; live fields from GET /v1/models`
  }
}

/**
 * Merges a live listing over a static catalog (pure): every listed model gets the live `context_length`,
 * `supports_image_in` / `supports_video_in`, `supports_reasoning` / `supports_thinking_type`, reasoning efforts and
 * `supports_dynamic_tools` (the `dynamicTools` trait)
 * over its static entry (an id the catalog does not know starts from core's conservative defaults, still marked
 * `unknown`); a listed model that the catalog marks retired is served, so it becomes active. Catalogued models the
 * listing omits follow, unchanged.
 *
 * @since 0.1.0
 */
export const mergeLive = (
  from: ModelCatalog.Catalog,
  live: ReadonlyArray<LiveModel>
): ReadonlyArray<ModelCatalog.ModelInfo> => {
  const seen = new Set<string>()
  const merged: Array<ModelCatalog.ModelInfo> = []
  for (const entry of live) {
    const base = from.get(entry.id) ?? ModelCatalog.unknownModel(from.provider, entry.id)
    seen.add(base.id)
    merged.push(mergeOne(base, entry))
  }
  for (const model of from.list) if (!seen.has(model.id)) merged.push(model)
  return merged
}

/**
 * The live model listing: `GET /v1/models` through a client, merged over the catalog (see {@link mergeLive}); with
 * the client from context, `Effect.flatMap(KimiClient.KimiClient, (client) => KimiModels.listLive(client))`. Fails
 * with the transport's `AiError` (401 `incorrect_api_key_error` without a key,
 * docs/providers/kimi.md#models-endpoint) or an `InvalidResponseError` when the body does not decode.
 *
 * @since 0.1.0
 */
export const listLive = (
  client: Pick<OpenAiCompatClient.OpenAiCompatClientShape, "request">,
  from: ModelCatalog.Catalog = catalog
): Effect.Effect<ReadonlyArray<ModelCatalog.ModelInfo>, AiError.AiError> =>
  Effect.map(client.request({ method: "get", path: "/models", schema: LiveModelList }), ({ body }) =>
    mergeLive(from, body.data)
  )
