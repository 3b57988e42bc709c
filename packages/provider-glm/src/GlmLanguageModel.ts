/**
 * GLM models as `effect/ai` `LanguageModel`s: `generateText`, `streamText`, `generateObject`, `Chat`, `Toolkit`
 * and `ExecutionPlan` work unchanged, with core's retry policy, timeouts, stream guards, continuation and usage
 * normalization, and the GLM request shaping (sampling ranges, one stop word, forced `tool_choice` per model,
 * `tool_stream`, thinking and reasoning replay, `web_search`).
 *
 * ```ts
 * const program = LanguageModel.generateText({ prompt: "你好" }).pipe(
 *   Effect.provide(GlmLanguageModel.model("glm-4.6", { providerOptions: { thinking: { type: "enabled" } } })),
 *   Effect.provide(GlmClient.layerConfig({ plan: "coding" }))
 * )
 * ```
 *
 * The shaping follows the client's endpoint: on the coding plan, Preserved Thinking is the server's default, so
 * earlier turns' reasoning is replayed unless `thinking.clear_thinking` is `true` (docs.z.ai thinking-mode).
 *
 * @since 0.1.0
 */
import {
  type OpenAiCompatLanguageModel as CoreLanguageModel,
  OpenAiCompatLanguageModel,
  type OpenAiCompatProvider
} from "@conduitkit/core"
import { Effect, Layer } from "effect"
import { LanguageModel, Model } from "effect/ai"
import { GlmClient } from "./GlmClient.js"
import type * as GlmConfig from "./GlmConfig.js"
import * as GlmProvider from "./GlmProvider.js"
import * as GlmTokenizer from "./GlmTokenizer.js"

/**
 * The provider spec for a client: the declarations (whose shaping reads the endpoint from the call's client) and,
 * when asked, the exact token counter on that client (core's `countTokens` hook is not given the client).
 *
 * @since 0.1.0
 */
export const spec = (
  client: OpenAiCompatProvider.ProviderClient,
  options: { readonly exactPreflight?: boolean | undefined } = {}
): CoreLanguageModel.ProviderSpec =>
  options.exactPreflight
    ? { ...GlmProvider.declarations, countTokens: GlmTokenizer.counter(client) }
    : GlmProvider.declarations

/**
 * Builds the `LanguageModel` service for `model` with the client from context. Unknown model ids are passed through
 * with conservative defaults.
 *
 * @since 0.1.0
 */
export const make = (
  model: string,
  config: GlmConfig.ModelConfig = {}
): Effect.Effect<LanguageModel.LanguageModel, never, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) => {
    const { exactPreflight, ...modelConfig } = config
    return OpenAiCompatLanguageModel.make({
      spec: spec(client, { exactPreflight }),
      client,
      model,
      // asking for the exact count asks for the pre-flight check (off by default)
      config: exactPreflight === true ? { preflight: true, ...modelConfig } : modelConfig
    })
  })

/**
 * A `LanguageModel` layer for `model` (needs a `GlmClient`).
 *
 * @since 0.1.0
 */
export const layer = (
  model: string,
  config?: GlmConfig.ModelConfig
): Layer.Layer<LanguageModel.LanguageModel, never, OpenAiCompatProvider.ProviderClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(model, config))

/**
 * An `effect/ai` `Model` (provides `LanguageModel` plus the provider and model names), for `Effect.provide`,
 * `ExecutionPlan` and `Chat`.
 *
 * @since 0.1.0
 */
export const model = (
  model: string,
  config?: GlmConfig.ModelConfig
): Model.Model<typeof GlmProvider.name, LanguageModel.LanguageModel, OpenAiCompatProvider.ProviderClient> =>
  Model.make(GlmProvider.name, model, layer(model, config))
