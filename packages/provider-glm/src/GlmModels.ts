/**
 * The Zhipu / Z.ai GLM model catalog: context window and output cap (tokens), capabilities, sampling rules and
 * lifecycle of every model docs/providers/glm.md#model-catalog lists, plus the GLM-specific features the request
 * shaping needs ({@link GlmFeatures}: whether `tool_stream` is accepted).
 *
 * Sources (see docs/providers/glm.md#sources): ZAI-DOCS-4.6 `66_..overview.md`, `62_..concept-param.md` (context and
 * output numbers of the GLM-4.5/4.6 families), the Z.ai OpenAPI spec (ZAI-OAS: model enums, `max_tokens` caps,
 * sampling ranges and defaults, `tool_stream` and `thinking` support), BM-DOCS
 * https://docs.bigmodel.cn/cn/guide/models/text/glm-4 (GLM-4 family) and the official SDK constants. Every number
 * that no official page or recording confirms is marked `UNCONFIRMED` in its comment.
 *
 * Evidence behind the forced `tool_choice` capability (`toolChoiceNamed`): the live go-vcr cassettes
 * `glm/fantasy/TestOpenAICompatObjectGeneration__zai-glm-4.5__*.yaml` record glm-4.5 honouring
 * `{"type":"function","function":{"name":"Person"}}`; a user report (https://github.com/Smana/runlore/issues/391)
 * says glm-4.6 hung on one; the docs say only `"auto"` is supported. The flags are information: a forced choice is
 * sent to every model (paper and third-party reports never gate a request; docs/refusals/glm.md).
 * `toolChoiceRequired` is false everywhere (docs: "only auto is supported").
 *
 * Lifecycle: no retirement of these ids is announced in the sources, so every model is `active`.
 *
 * Unknown ids are passed through with conservative defaults (core's `ModelCatalog.unknownModel`), never rejected.
 *
 * @since 0.1.0
 */
import { ModelCatalog, type OpenAiCompatProvider } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import type { AiError } from "effect/ai"
import * as GlmPricing from "./GlmPricing.js"

/**
 * GLM-specific features of a model.
 *
 * - `toolStream`: the model accepts `tool_stream: true` (streamed tool-call arguments). ZAI-DOCS-4.6: "Only
 *   supported by GLM-4.6"; ZAI-OAS (newest): "GLM-5.3, 5.2, 5.1, 5, 4.7, 4.6 series"; not in the vision schema.
 * - `reasoningEffort`: the accepted `reasoning_effort` values, when the model takes the parameter (ZAI-OAS:
 *   GLM-5.2+; GLM-5.3 accepts only low/high/max).
 * - `inlineThinking`: the model writes its reasoning inline in `content` as `<think>…</think>`
 *   (docs/providers/glm.md#inline-thinking: the glm-z1 models; GLM-4.5V "may" per ZAI-OAS; the GLM-4.1V thinking models
 *   as the Vercel provider treats "thinking" ids): it is split out into `reasoning` parts, streamed or not.
 * - `boxMarkers`: the model wraps its final answer in `<|begin_of_box|>…<|end_of_box|>` (GLM-4.5V, ZAI-OAS
 *   `ChatCompletionResponseMessage.content`): the markers are removed, the boxed text kept.
 *
 * @since 0.1.0
 */
export interface GlmFeatures {
  readonly toolStream: boolean
  readonly reasoningEffort?: ReadonlyArray<string> | undefined
  readonly inlineThinking?: boolean | undefined
  readonly boxMarkers?: boolean | undefined
}

/**
 * A catalog entry with its GLM features.
 *
 * @since 0.1.0
 */
export interface GlmModelInfo extends ModelCatalog.ModelInfo {
  readonly glm: GlmFeatures
}

// =============================================================================
// Building blocks
// =============================================================================

const K = 1_024

/** ZAI-OAS (newest): temperature [0, 1], top_p [0.01, 1], one stop word. */
const currentSampling = (temperatureDefault: number, topPDefault: number): GlmModelInfo["sampling"] => ({
  temperature: { min: 0, max: 1, default: temperatureDefault },
  topP: { min: 0.01, max: 1, default: topPDefault },
  maxStop: 1
})

/**
 * GLM-4-era models: 0 and 1 are rejected for temperature (HTTP 400 `1214 temperature参数非法`,
 * https://github.com/songquanpeng/one-api/issues/1141) and top_p is the open interval (0, 1) in the older docs.
 * The official SDK maps temperature <= 0 to `do_sample: false` (ZAI-SDK-PY `completions.py`).
 */
const legacySampling: GlmModelInfo["sampling"] = {
  temperature: { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true },
  topP: { min: 0, max: 1, exclusiveMin: true, exclusiveMax: true },
  maxStop: 1
}

const textCapabilities: ModelCatalog.Capabilities = {
  vision: false,
  tools: true,
  toolChoiceRequired: false,
  toolChoiceNamed: false,
  jsonMode: true,
  jsonSchema: false,
  thinking: "optional",
  partialMode: false,
  webSearch: true,
  contextCaching: "automatic"
}

const visionCapabilities: ModelCatalog.Capabilities = {
  vision: true,
  video: true,
  tools: false,
  toolChoiceRequired: false,
  toolChoiceNamed: false,
  // ZAI-OAS: `response_format` and the web_search / retrieval tools are text-model only.
  jsonMode: false,
  jsonSchema: false,
  thinking: "always",
  partialMode: false,
  webSearch: false,
  contextCaching: "automatic"
}

const active: ModelCatalog.Lifecycle = { status: "active" }

const model = (
  id: string,
  info: Omit<GlmModelInfo, "id" | "provider" | "lifecycle" | "glm"> & {
    readonly glm?: Partial<GlmFeatures> | undefined
  }
): GlmModelInfo => ({
  id,
  provider: "glm",
  lifecycle: active,
  ...info,
  glm: { toolStream: false, ...info.glm }
})

/** A GLM-4-era text model: no thinking, no context caching, the legacy sampling ranges. */
const legacyText = (id: string, contextWindow: number, maxOutputTokens: number, source: string): GlmModelInfo =>
  model(id, {
    contextWindow,
    maxOutputTokens,
    capabilities: { ...textCapabilities, thinking: "none", contextCaching: "none" },
    sampling: legacySampling,
    source
  })

// =============================================================================
// The catalog
// =============================================================================

const entries: ReadonlyArray<GlmModelInfo> = [
  // --- GLM-5 family (ZAI-OAS newest: 128K max output; reasoning_effort from GLM-5.2) -------------------------
  model("glm-5.3", {
    // context 1M: models.dev via hermes-agent PR #91039 — UNCONFIRMED from a vendor page.
    contextWindow: 1_048_576,
    maxOutputTokens: 128 * K,
    // ZAI-OAS: "thinking can only be enabled; depth controlled by reasoning_effort" (low/high/max); disabling it
    // answers 400 1210 "该模型始终思考，不支持关闭思考".
    capabilities: { ...textCapabilities, thinking: "always" },
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true, reasoningEffort: ["low", "high", "max"] },
    source: "ZAI-OAS (model enum, max_tokens, thinking, tool_stream); context UNCONFIRMED"
  }),
  model("glm-5.2", {
    // context 1M: docs.wolffi.sh, wavespeed (1,048,576) — UNCONFIRMED from a vendor page.
    contextWindow: 1_048_576,
    maxOutputTokens: 128 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true, reasoningEffort: ["max", "xhigh", "high", "medium", "low", "minimal", "none"] },
    source: "ZAI-OAS (model enum, max_tokens, reasoning_effort, tool_stream); context UNCONFIRMED"
  }),
  model("glm-5.1", {
    // context 200K like glm-5 — UNCONFIRMED.
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-OAS (model enum, max_tokens, tool_stream); context UNCONFIRMED"
  }),
  model("glm-5", {
    // 200K context / 128K output: BM-DOCS glm-5 page as quoted by a third-party config audit — UNCONFIRMED.
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-OAS (model enum, max_tokens, tool_stream); context via third-party quote of BM-DOCS, UNCONFIRMED"
  }),
  model("glm-5.3-flash", {
    // Vision. Context 128K and output 32K (as glm-4.6v) — both UNCONFIRMED.
    contextWindow: 128 * K,
    maxOutputTokens: 32 * K,
    // ZAI-OAS: functions supported on GLM-5.3-Flash; thinking can only be enabled.
    capabilities: { ...visionCapabilities, tools: true },
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: false, reasoningEffort: ["max", "high", "low"] },
    source: "ZAI-OAS vision enum; context and output UNCONFIRMED"
  }),
  model("glm-5.3-flashx", {
    // Vision. Context 128K and output 32K (as glm-4.6v) — both UNCONFIRMED.
    contextWindow: 128 * K,
    maxOutputTokens: 32 * K,
    capabilities: { ...visionCapabilities, tools: true },
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: false, reasoningEffort: ["max", "high", "low"] },
    source: "ZAI-OAS vision enum; context and output UNCONFIRMED"
  }),

  // --- GLM-4.7 family ----------------------------------------------------------------------------------------
  model("glm-4.7", {
    // 200K: BM-DOCS glm-4.7 page as quoted by a third-party config audit — UNCONFIRMED.
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    // ZAI-OAS `ChatThinking`: GLM-4.5V and GLM-4.7 "think compulsorily" (docs.z.ai thinking-mode: GLM-4.7+ thinks
    // by default). Disabling is refused up front (the API answers 1210 "该模型始终思考").
    capabilities: { ...textCapabilities, thinking: "always" },
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-OAS (model enum, max_tokens, tool_stream, thinking compulsory); context UNCONFIRMED"
  }),
  model("glm-4.7-flash", {
    // Context UNCONFIRMED (assumed like glm-4.7). Live cassettes accepted reasoning_effort "high".
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-OAS (model enum, max_tokens, tool_stream); context UNCONFIRMED"
  }),
  model("glm-4.7-flashx", {
    // Context UNCONFIRMED (assumed like glm-4.7).
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-OAS (model enum, max_tokens, tool_stream); context UNCONFIRMED"
  }),

  // --- GLM-4.6 family ----------------------------------------------------------------------------------------
  model("glm-4.6", {
    // ZAI-DOCS-4.6 overview: 200K context ("expanded from 128K to 200K"); concept-param: max_tokens default 65536,
    // max 131072. Hosts report 202,752 / 204,800; the documented 200K is used (conservative for pre-flight).
    contextWindow: 200_000,
    maxOutputTokens: 128 * K,
    // Forced tool_choice reportedly hangs (Smana/runlore#391, third-party): sent anyway, bounded by the idle timeout.
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-DOCS-4.6 overview, concept-param; ZAI-OAS; cassettes glm/fantasy/TestZAICommon__zai-glm-4.6__*"
  }),
  model("glm-4.6-air", {
    // An id in the official Java SDK's constants (ZAI-SDK-JAVA `core/Constants.java`); no official page gives its
    // numbers: context 128K and output 96K (as GLM-4.5-Air) are UNCONFIRMED. tool_stream: ZAI-OAS "4.6 series".
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-SDK-JAVA Constants (id); ZAI-OAS (tool_stream: 4.6 series); numbers UNCONFIRMED"
  }),
  model("glm-4.6-flash", {
    // ZAI-SDK-JAVA Constants (id). Context 128K and output 96K UNCONFIRMED.
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "ZAI-SDK-JAVA Constants (id); ZAI-OAS (tool_stream: 4.6 series); numbers UNCONFIRMED"
  }),
  model("glm-4.6-flashx", {
    // Listed by the Vercel community provider (Xiang-CH/zhipu-ai-provider `src/zhipu-chat-settings.ts`), not in the
    // official sources. Context 128K and output 96K UNCONFIRMED.
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(1, 0.95),
    glm: { toolStream: true },
    source: "Xiang-CH/zhipu-ai-provider zhipu-chat-settings.ts (id); numbers UNCONFIRMED"
  }),
  model("glm-4.6v", {
    // Vision. ZAI-OAS: 32K max output; functions supported on the GLM-4.6V series. Context 128K UNCONFIRMED;
    // whether thinking can be disabled UNCONFIRMED (treated as optional).
    contextWindow: 128_000,
    maxOutputTokens: 32 * K,
    capabilities: { ...visionCapabilities, tools: true, thinking: "optional" },
    sampling: currentSampling(0.8, 0.6),
    source: "ZAI-OAS (vision enum, max_tokens, defaults); context UNCONFIRMED"
  }),
  model("glm-4.6v-flash", {
    // Vision. Same numbers as glm-4.6v — UNCONFIRMED.
    contextWindow: 128_000,
    maxOutputTokens: 32 * K,
    capabilities: { ...visionCapabilities, tools: true, thinking: "optional" },
    sampling: currentSampling(0.8, 0.6),
    source: "ZAI-OAS vision enum; numbers UNCONFIRMED"
  }),
  model("glm-4.6v-flashx", {
    // Vision. Same numbers as glm-4.6v — UNCONFIRMED.
    contextWindow: 128_000,
    maxOutputTokens: 32 * K,
    capabilities: { ...visionCapabilities, tools: true, thinking: "optional" },
    sampling: currentSampling(0.8, 0.6),
    source: "ZAI-OAS vision enum; numbers UNCONFIRMED"
  }),

  // --- GLM-4.5 family (ZAI-DOCS-4.6: 128K context, max_tokens default 65536 / max 98304, hybrid thinking) -----
  model("glm-4.5", {
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    // Forced function tool_choice honoured in the live ObjectGeneration cassettes.
    capabilities: { ...textCapabilities, toolChoiceNamed: true },
    sampling: currentSampling(0.6, 0.95),
    source:
      "ZAI-DOCS-4.6 overview, concept-param; ZAI-OAS defaults; cassettes glm/fantasy/*zai-glm-4.5* (forced tool_choice)"
  }),
  model("glm-4.5-air", {
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(0.6, 0.95),
    source: "ZAI-DOCS-4.6 overview, concept-param"
  }),
  model("glm-4.5-x", {
    // A separate model, not an alias of glm-4.5-air (Z.ai pricing lists it at $2.2/$8.9).
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(0.6, 0.95),
    source: "ZAI-DOCS-4.6 overview, concept-param, pricing"
  }),
  model("glm-4.5-airx", {
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(0.6, 0.95),
    source: "ZAI-DOCS-4.6 overview, concept-param"
  }),
  model("glm-4.5-flash", {
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(0.6, 0.95),
    source: "ZAI-DOCS-4.6 overview, concept-param (free tier)"
  }),
  model("glm-4.5-flashx", {
    // Listed by the Vercel community provider (Xiang-CH/zhipu-ai-provider `src/zhipu-chat-settings.ts`), not in the
    // official sources. Context 128K and output 96K (as glm-4.5-flash) UNCONFIRMED.
    contextWindow: 128_000,
    maxOutputTokens: 96 * K,
    capabilities: textCapabilities,
    sampling: currentSampling(0.6, 0.95),
    source: "Xiang-CH/zhipu-ai-provider zhipu-chat-settings.ts (id); numbers UNCONFIRMED"
  }),
  model("glm-4.5v", {
    // Vision: 64K context, 16K output, thinks compulsorily, no tools in the spec (ZAI-DOCS-4.6, ZAI-OAS).
    contextWindow: 64 * K,
    maxOutputTokens: 16 * K,
    capabilities: visionCapabilities,
    sampling: currentSampling(0.8, 0.6),
    // ZAI-OAS: "GLM-4.5V output may contain <think></think> and <|begin_of_box|>…<|end_of_box|> tags in content".
    glm: { inlineThinking: true, boxMarkers: true },
    source: "ZAI-DOCS-4.6 overview, concept-param; ZAI-OAS"
  }),

  // --- GLM-4 (0414) and earlier ------------------------------------------------------------------------------
  model("glm-4-32b-0414-128k", {
    // 128K context, 16K output, no thinking; ZAI-OAS: temperature default 0.75, top_p 0.9, range [0, 1].
    contextWindow: 128_000,
    maxOutputTokens: 16 * K,
    capabilities: { ...textCapabilities, thinking: "none" },
    sampling: currentSampling(0.75, 0.9),
    source: "ZAI-DOCS-4.6 overview, concept-param; ZAI-OAS"
  }),
  // BM-DOCS glm-4 page: 128K context, 4K max output.
  legacyText("glm-4-plus", 128_000, 4 * K, "BM-DOCS https://docs.bigmodel.cn/cn/guide/models/text/glm-4"),
  // 128K context per the GLM-4 series page; output cap 16K UNCONFIRMED.
  legacyText("glm-4-air-250414", 128_000, 16 * K, "BM-DOCS GLM-4 series page; output cap UNCONFIRMED"),
  // Used by the docs.z.ai web-search-in-chat example. Context 128K, output 4K UNCONFIRMED.
  legacyText("glm-4-air", 128_000, 4 * K, "ZAI-DOCS-4.6 web-search guide (model id); numbers UNCONFIRMED"),
  // Context 8K and output 4K UNCONFIRMED (third-party tables).
  legacyText("glm-4-airx", 8 * K, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // 128K context per the GLM-4 series page; output cap 16K UNCONFIRMED. Free tier: requests over 8K context are
  // throttled to 1% concurrency on Z.ai (ZAI-DOCS-4.6 rate-limits page).
  legacyText("glm-4-flash-250414", 128_000, 16 * K, "BM-DOCS GLM-4 series page; output cap UNCONFIRMED"),
  // Context 128K, output 4K UNCONFIRMED.
  legacyText("glm-4-flash", 128_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // 128K context per the GLM-4 series page; output cap 16K UNCONFIRMED.
  legacyText("glm-4-flashx-250414", 128_000, 16 * K, "BM-DOCS GLM-4 series page; output cap UNCONFIRMED"),
  // ZAI-SDK-JAVA Constants (id). Context 128K, output 4K UNCONFIRMED.
  legacyText("glm-4-flashx", 128_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // ZAI-SDK-JAVA Constants (id; the 2024 model of one-api#1141 and the SDK's stream test). Context 128K, output 4K
  // UNCONFIRMED.
  legacyText("glm-4", 128_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // ZAI-SDK-JAVA Constants (id). Context 128K, output 4K UNCONFIRMED.
  legacyText("glm-4-0520", 128_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // ZAI-SDK-JAVA Constants (id). Context 128K, output 4K UNCONFIRMED.
  legacyText("glm-4-9b", 128_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // 1M context (third-party tables, e.g. rifx) — UNCONFIRMED; output cap 4K UNCONFIRMED.
  legacyText("glm-4-long", 1_000_000, 4 * K, "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"),
  // Reasoning models (April 2025): reasoning arrives inline as <think>…</think> in `content` on older versions.
  // Context 32K and output 32K UNCONFIRMED (not in the stored official pages).
  ...["glm-z1-air", "glm-z1-airx", "glm-z1-flash"].map((id) =>
    model(id, {
      contextWindow: 32 * K,
      maxOutputTokens: 32 * K,
      capabilities: { ...textCapabilities, thinking: "always", contextCaching: "none" },
      sampling: legacySampling,
      glm: { inlineThinking: true },
      source: "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"
    })
  ),
  // Vision reasoning models (ZAI-SDK-JAVA Constants ids). Context 64K and output 16K UNCONFIRMED. Inline <think> as
  // the Vercel provider assumes for "thinking" ids (docs/providers/glm.md#inline-thinking) — UNCONFIRMED officially.
  ...["glm-4.1v-thinking-flash", "glm-4.1v-thinking-flashx"].map((id) =>
    model(id, {
      contextWindow: 64 * K,
      maxOutputTokens: 16 * K,
      capabilities: { ...visionCapabilities, video: false, contextCaching: "none" },
      sampling: legacySampling,
      glm: { inlineThinking: true },
      source: "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"
    })
  ),
  model("glm-4v-plus-0111", {
    // Vision. Context 16K and output 8K UNCONFIRMED.
    contextWindow: 16 * K,
    maxOutputTokens: 8 * K,
    aliases: ["glm-4v-plus"],
    capabilities: { ...visionCapabilities, thinking: "none", contextCaching: "none" },
    sampling: legacySampling,
    source: "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"
  }),
  model("glm-4v-flash", {
    // Vision. Context 16K and output 1K UNCONFIRMED.
    contextWindow: 16 * K,
    maxOutputTokens: 1 * K,
    capabilities: { ...visionCapabilities, video: false, thinking: "none", contextCaching: "none" },
    sampling: legacySampling,
    source: "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"
  }),
  model("glm-4v", {
    // Vision (ZAI-SDK-JAVA Constants id; docs/providers/glm.md#vision-input: older glm-4v details UNCONFIRMED). Context
    // 16K and output 1K UNCONFIRMED (as glm-4v-flash).
    contextWindow: 16 * K,
    maxOutputTokens: 1 * K,
    capabilities: { ...visionCapabilities, video: false, thinking: "none", contextCaching: "none" },
    sampling: legacySampling,
    source: "ZAI-SDK-JAVA Constants (id); numbers UNCONFIRMED"
  }),
  model("autoglm-phone", {
    // Listed by the Vercel community provider (Xiang-CH/zhipu-ai-provider `src/zhipu-chat-settings.ts`); the
    // documented model is autoglm-phone-multilingual. Numbers and defaults copied from it: UNCONFIRMED.
    contextWindow: 64 * K,
    maxOutputTokens: 4 * K,
    capabilities: { ...visionCapabilities, tools: true, video: false, thinking: "none" },
    sampling: currentSampling(0, 0.85),
    source: "Xiang-CH/zhipu-ai-provider zhipu-chat-settings.ts (id); numbers UNCONFIRMED"
  }),
  model("autoglm-phone-multilingual", {
    // Vision agent model: 4K output, temperature default 0 (ZAI-OAS); context UNCONFIRMED.
    contextWindow: 64 * K,
    maxOutputTokens: 4 * K,
    capabilities: { ...visionCapabilities, tools: true, video: false, thinking: "none" },
    sampling: currentSampling(0, 0.85),
    source: "ZAI-OAS vision enum and defaults; context UNCONFIRMED"
  })
]

/**
 * Every catalogued model, newest families first, with its prices where Zhipu publishes them (`pricing`, from
 * `GlmPricing.prices`: docs/providers/glm.md#pricing).
 *
 * @since 0.1.0
 */
export const models: ReadonlyArray<GlmModelInfo> = entries.map((model) => {
  const pricing = GlmPricing.prices[model.id]
  return pricing === undefined ? model : { ...model, pricing }
})

/**
 * The catalog (core's `ModelCatalog.Catalog`): lookup by id or alias, case-insensitive; unknown ids pass through.
 *
 * @since 0.1.0
 */
export const catalog: ModelCatalog.Catalog = ModelCatalog.make("glm", models)

const byId = new Map<string, GlmModelInfo>(models.map((info) => [info.id, info]))

const unknownFeatures: GlmFeatures = { toolStream: false }

/**
 * The GLM features of a resolved model (`toolStream: false` for unknown ids: the parameter is only sent where the
 * docs say it is accepted, unless the caller asks for it).
 *
 * @since 0.1.0
 */
export const features = (info: ModelCatalog.ModelInfo): GlmFeatures => byId.get(info.id)?.glm ?? unknownFeatures

/**
 * Looks a model up by id or alias (case-insensitive); `undefined` for ids not in the catalog.
 *
 * @since 0.1.0
 */
export const get = (id: string): GlmModelInfo | undefined => {
  const info = catalog.get(id)
  return info === undefined ? undefined : byId.get(info.id)
}

const ModelList = Schema.Struct({
  data: Schema.Array(Schema.Struct({ id: Schema.String }))
})

/**
 * The models the account can use, from `GET {base}/models` (OpenAI-style `{ data: [{ id }] }`; the endpoint is used
 * by third-party clients on every Z.ai and BigModel endpoint but is UNCONFIRMED officially and carries no
 * capability metadata): each id's catalog entry, or conservative defaults for ids the catalog does not know.
 *
 * @since 0.1.0
 */
export const listLive = (
  client: OpenAiCompatProvider.ProviderClient
): Effect.Effect<ReadonlyArray<ModelCatalog.ModelInfo>, AiError.AiError> =>
  client
    .request({ method: "get", path: "/models", schema: ModelList })
    .pipe(
      Effect.map((response) =>
        response.body.data.map((entry) => catalog.get(entry.id) ?? ModelCatalog.unknownModel("glm", entry.id))
      )
    )
