/**
 * Kimi's typed provider options, set per model (`KimiLanguageModel.model(id, { providerOptions })`) or per call
 * ({@link withProviderOptions}, {@link streamWithProviderOptions}, or core's `OpenAiCompatLanguageModel.withCallConfig`).
 * Per-call options are merged over the model's, key by key.
 *
 * - `thinking`: the thinking switch, `{ type: "enabled" | "disabled", keep?: "all" | null }` (or just the type).
 *   kimi-k2.5/k2.6/k3 switch; kimi-k2.7-code accepts only `enabled` (keep fixed `"all"`); `keep: "all"` (Preserved
 *   Thinking: historical reasoning is fed to the model) is accepted by kimi-k2.6, kimi-k2.7-code and kimi-k3 only.
 *   Sources: docs/providers/kimi.md#thinking-and-reasoning-replay ([DOC-CN-26], [DOC-CHAT-26-08]; vercel/ai).
 * - `reasoningEffort`: {@link ReasoningEffort}, `"low" | "high" | "max"` (kimi-k3, default `max`; kimi-k2.6 accepts
 *   it) → `reasoning_effort`; the model's catalog list is checked too.
 * - `promptCacheKey`: a session or task id that improves automatic prefix-cache hits → `prompt_cache_key`
 *   ([DOC-CN-26]: "required" for the Kimi Code plan).
 * - `safetyIdentifier`: a stable hashed end-user id → `safety_identifier`.
 * - `partial`: partial mode (assistant prefill): `{ content, name? }` appended as the last assistant message with
 *   `partial: true`; the answer continues the prefix and does NOT repeat it ([DOC-EN-25] "Partial Mode").
 * - `contextCache`: use an explicit context cache: by `cacheId` or `tag`, through a `role: "cache"` message (the
 *   cached messages are then not sent again) or through headers (`via: "headers"`: `X-Msh-Context-Cache`, the
 *   cached messages must still be sent as the exact prefix); `resetTtl` (seconds) and `dryRun`. Or `{ auto: true }`
 *   to let the registry of `KimiContextCache` create and reuse caches for a repeated prefix (see
 *   `KimiContextCache.layerRegistry`). Sources: docs/providers/kimi.md#context-caching-api.
 * - `strictSampling`: refuse sampling values the model pins before sending (default `true`); `false` sends them
 *   and lets Moonshot decide.
 *
 * Invalid options fail the call with an `InvalidRequestError` before any HTTP request.
 *
 * @since 0.1.0
 */

import { ProviderOptions as CoreProviderOptions, OpenAiCompatLanguageModel } from "@conduitkit/core"
import { Effect, Schema, type Stream } from "effect"
import type { AiError } from "effect/ai"

/**
 * `thinking`: a type, or `{ type, keep }`.
 *
 * @since 0.1.0
 */
export const Thinking = Schema.Union([
  Schema.Literals(["enabled", "disabled"]),
  Schema.Struct({
    type: Schema.Literals(["enabled", "disabled"]),
    keep: Schema.optional(Schema.NullOr(Schema.Literal("all")))
  })
])

/** @since 0.1.0 */
export type Thinking = typeof Thinking.Type

/**
 * `partial`: the assistant prefix (`content`, may be empty when `name` is set for role-play) and an optional
 * `name` that is part of the prefix.
 *
 * @since 0.1.0
 */
export const Partial = Schema.Struct({
  content: Schema.String,
  name: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export type Partial = typeof Partial.Type

/**
 * `contextCache`: an explicit cache reference, or `{ auto: true, ttlSeconds? }` for the prefix registry.
 *
 * - `cacheId` / `tag`: which cache (`tag` works only through the `role: "cache"` message).
 * - `via`: `"message"` (default) or `"headers"`.
 * - `resetTtl`: seconds; each successful call sets the cache's expiry to now + this.
 * - `dryRun`: validate the cache only (no inference, no tokens).
 * - `auto.ttlSeconds`: the TTL of caches the registry creates (default 3600, the maximum).
 *
 * @since 0.1.0
 */
export const ContextCache = Schema.Union([
  // The registry variant first: the explicit one has only optional fields and would match anything.
  Schema.Struct({
    auto: Schema.Literal(true),
    ttlSeconds: Schema.optional(Schema.Number),
    resetTtl: Schema.optional(Schema.Number)
  }),
  Schema.Struct({
    cacheId: Schema.optional(Schema.String),
    tag: Schema.optional(Schema.String),
    via: Schema.optional(Schema.Literals(["message", "headers"])),
    resetTtl: Schema.optional(Schema.Number),
    dryRun: Schema.optional(Schema.Boolean)
  })
])

/** @since 0.1.0 */
export type ContextCache = typeof ContextCache.Type

/**
 * `reasoningEffort`: the values Moonshot documents for `reasoning_effort` (docs/providers/kimi.md#reasoning-effort:
 * kimi-k3 `low` / `high` / `max`, default `max`, [DOC-CHAT-26-08]; [HALRO] §10.2 #9). The model's own list
 * (`KimiModels`, merged with the live `reasoning_efforts` by `listModels`) is still checked per call. A value outside
 * this union can be sent through the raw wire field (`request: { reasoning_effort }`), which is checked against the
 * model's list only.
 *
 * @since 0.1.0
 */
export const ReasoningEffort = Schema.Literals(["low", "high", "max"])

/** @since 0.1.0 */
export type ReasoningEffort = typeof ReasoningEffort.Type

/**
 * All Kimi provider options (see the module documentation).
 *
 * @since 0.1.0
 */
export const ProviderOptions = Schema.Struct({
  thinking: Schema.optional(Thinking),
  reasoningEffort: Schema.optional(ReasoningEffort),
  promptCacheKey: Schema.optional(Schema.String),
  safetyIdentifier: Schema.optional(Schema.String),
  partial: Schema.optional(Partial),
  contextCache: Schema.optional(ContextCache),
  strictSampling: Schema.optional(Schema.Boolean)
})

/** @since 0.1.0 */
export type ProviderOptions = typeof ProviderOptions.Type

/**
 * A model configuration with Kimi's provider options typed (core's `ModelConfig` otherwise).
 *
 * @since 0.1.0
 */
export interface ModelConfig extends Omit<OpenAiCompatLanguageModel.ModelConfig, "providerOptions"> {
  readonly providerOptions?: ProviderOptions | undefined
}

/**
 * Decodes provider options (the merged model and call options) as a `Result`, once per options object: core hands
 * the same merged object to every hook of a call (request shaping, headers, replay policy), so one call decodes once.
 * Fails with an `InvalidRequestError` (`parameter: "providerOptions"`) naming an unknown key and the accepted ones,
 * or what is wrong with a value (core's `ProviderOptions.decoder`).
 *
 * @since 0.1.0
 */
export const decodeProviderOptionsResult: CoreProviderOptions.Decoder<ProviderOptions> = CoreProviderOptions.decoder(
  ProviderOptions,
  { provider: "kimi", label: "Kimi", module: "KimiConfig" }
)

/**
 * {@link decodeProviderOptionsResult} as an `Effect`.
 *
 * @since 0.1.0
 */
export const decodeProviderOptions = (
  input: Readonly<Record<string, unknown>> | undefined
): Effect.Effect<ProviderOptions, AiError.AiError> => Effect.fromResult(decodeProviderOptionsResult(input))

/**
 * The thinking switch as `{ type, keep }` (`undefined` when not set).
 *
 * @since 0.1.0
 */
export const thinkingOf = (
  options: ProviderOptions
): { readonly type: "enabled" | "disabled"; readonly keep?: "all" | null | undefined } | undefined =>
  options.thinking === undefined
    ? undefined
    : typeof options.thinking === "string"
      ? { type: options.thinking }
      : options.thinking

/**
 * Runs `effect` with Kimi provider options for this call only (merged over the model's, key by key).
 *
 * @since 0.1.0
 */
export const withProviderOptions =
  (options: ProviderOptions) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    OpenAiCompatLanguageModel.withCallConfig({ providerOptions: options })(effect)

/**
 * The stream version of {@link withProviderOptions}.
 *
 * @since 0.1.0
 */
export const streamWithProviderOptions =
  (options: ProviderOptions) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    streamWithCallConfig({ providerOptions: options })(stream)

/**
 * Runs a stream with per-call configuration merged over any already in context (core's
 * `OpenAiCompatLanguageModel.streamWithCallConfig`).
 *
 * @since 0.1.0
 */
export const streamWithCallConfig: (
  config: ModelConfig
) => <A, E, R>(stream: Stream.Stream<A, E, R>) => Stream.Stream<A, E, R> = (config) =>
  OpenAiCompatLanguageModel.streamWithCallConfig(config as OpenAiCompatLanguageModel.ModelConfig)
