/**
 * Kimi as an `effect/ai` `LanguageModel`: `model(id, config)` (an `effect/ai` `Model`, for `Effect.provide`,
 * `ExecutionPlan` and `Chat`), `layer(id, config)` and `make(id, config)`, all requiring a {@link KimiClient}.
 *
 * `config` is core's `ModelConfig` with Kimi's typed provider options (`KimiConfig.ModelConfig`): wire parameters
 * in `request` (`temperature`, `max_tokens`, `stop`, ...), `providerOptions` (thinking, `reasoningEffort`,
 * `promptCacheKey`, partial mode, context cache, ...), `retry`, `timeouts`, `continuation`, `preflight`. Per-call
 * overrides: `KimiConfig.withProviderOptions` or core's `OpenAiCompatLanguageModel.withCallConfig`.
 *
 * Failures are `AiError`s: `InvalidRequestError` with `conduit.kind = "preflight"` for requests refused before
 * sending (pinned sampling, stop limits, `tool_choice` with thinking, retired models naming alternatives, prompts
 * that cannot fit the context window), and the reasons of `KimiError` for Moonshot's answers.
 *
 * @since 0.1.0
 */
import { OpenAiCompatLanguageModel, type OpenAiCompatProvider } from "@conduitkit/core"
import { Effect, Layer } from "effect"
import { LanguageModel, Model } from "effect/ai"
import { KimiClient } from "./KimiClient.js"
import type * as KimiConfig from "./KimiConfig.js"
import * as KimiProvider from "./KimiProvider.js"

const coreConfig = (config: KimiConfig.ModelConfig | undefined): OpenAiCompatLanguageModel.ModelConfig | undefined =>
  config as OpenAiCompatLanguageModel.ModelConfig | undefined

/**
 * The `LanguageModel` service for `model`, with the client from context. `provider` selects a provider built with
 * other options (`KimiProvider.make`, e.g. a catalog with overrides); default `KimiProvider.provider`.
 *
 * @since 0.1.0
 */
export const make = (
  model: string,
  config?: KimiConfig.ModelConfig,
  provider: OpenAiCompatProvider.Provider<"kimi"> = KimiProvider.provider
): Effect.Effect<LanguageModel.LanguageModel, never, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) =>
    OpenAiCompatLanguageModel.make({
      spec: provider.declarations,
      client,
      model,
      config: coreConfig(config)
    })
  )

/**
 * A layer providing `LanguageModel` for `model`.
 *
 * @since 0.1.0
 */
export const layer = (
  model: string,
  config?: KimiConfig.ModelConfig,
  provider?: OpenAiCompatProvider.Provider<"kimi">
): Layer.Layer<LanguageModel.LanguageModel, never, KimiClient> =>
  Layer.effect(LanguageModel.LanguageModel, make(model, config, provider))

/**
 * An `effect/ai` `Model` named `kimi` / `model`.
 *
 * @since 0.1.0
 */
export const model = (
  model: string,
  config?: KimiConfig.ModelConfig,
  provider?: OpenAiCompatProvider.Provider<"kimi">
): Model.Model<"kimi", LanguageModel.LanguageModel, KimiClient> =>
  Model.make("kimi", model, layer(model, config, provider))
