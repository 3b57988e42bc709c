/**
 * The configuration of a model and of one call: wire parameters, provider options, retry, timeouts, continuation,
 * pre-flight and provider-defined tool declarations ({@link ModelConfig}); the per-call {@link CallConfig} reference
 * merged over the model's ({@link mergeConfig}, {@link withCallConfig}); and the {@link ContinuationPolicy} a
 * configuration resolves to. Re-exported by `OpenAiCompatLanguageModel`, which is where callers import it from.
 *
 * @since 0.1.0
 */
import { Context, Effect, Stream } from "effect"
import type * as ChatCompletions from "./ChatCompletions.js"
import type * as Cost from "./Cost.js"
import type * as RetryPolicy from "./RetryPolicy.js"
import * as TimeoutPolicy from "./TimeoutPolicy.js"

/**
 * Continuation after `finish_reason: "length"`: at most `maxContinuations` extra requests (default 3) while the
 * summed output stays under `maxTotalTokens` (default 32,000). Off unless `enabled`.
 *
 * @since 0.1.0
 */
export interface ContinuationPolicy {
  readonly enabled: boolean
  readonly maxContinuations: number
  readonly maxTotalTokens: number
}

/**
 * A partial continuation policy (`undefined` fields inherit; `enabled` defaults to true when an object is given).
 *
 * @since 0.1.0
 */
export type ContinuationInput = { readonly [K in keyof ContinuationPolicy]?: ContinuationPolicy[K] | undefined }

/**
 * `{ enabled: false, maxContinuations: 3, maxTotalTokens: 32000 }`.
 *
 * @since 0.1.0
 */
export const defaultContinuation: ContinuationPolicy = { enabled: false, maxContinuations: 3, maxTotalTokens: 32_000 }

/**
 * Configuration of a model, and (as {@link CallConfig}) of one call.
 *
 * - `request`: wire parameters merged into the request body (`temperature`, `top_p`, `max_tokens`, `stop`,
 *   `seed`, `user`, ...). `effect/ai` has no sampling options of its own; this is where they go.
 * - `providerOptions`: provider-specific options (typed by each provider, e.g. Kimi's `thinking`).
 * - `retry`, `timeouts`, `continuation` (`true` enables the defaults).
 * - `preflight`: the context-window check before sending (default off: the provider's own answer decides, mapped to
 *   `InvalidRequestError` with `context_length_exceeded`; on: catalogued models only).
 * - `assembleNonStream`: make non-stream calls in streaming mode and assemble the answer (`CompletionAssembly`), so
 *   each attempt gets the first-token and idle bounds of `timeouts` (a hung attempt is retried instead of waiting
 *   out `totalMs`); default: the provider's decision (`ProviderSpec.assembleNonStream`, from its recordings); `false`
 *   sends non-stream requests as they are (bounded by `totalMs` only).
 * - `wireTools`: wire tool declarations appended after the toolkit's: provider-defined tools (Kimi's
 *   `builtin_function`, GLM's `web_search`) and function tools a caller already has in OpenAI form (the gateway's
 *   clients), which need no toolkit. Function declarations get the provider's schema rules (`transformToolSchema`,
 *   `toolStrict`); other tools are sent as they are.
 *
 * @since 0.1.0
 */
export interface ModelConfig {
  readonly request?: Readonly<Record<string, unknown>> | undefined
  readonly providerOptions?: Readonly<Record<string, unknown>> | undefined
  readonly retry?: RetryPolicy.RetryPolicyInput | undefined
  readonly timeouts?: TimeoutPolicy.TimeoutPolicy | undefined
  readonly continuation?: ContinuationInput | boolean | undefined
  readonly preflight?: boolean | undefined
  readonly assembleNonStream?: boolean | undefined
  readonly wireTools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  /** The price to compute the response's cost with, over the catalog's (models.yaml `pricing:`); see `Cost`. */
  readonly pricing?: Cost.Pricing | undefined
}

/**
 * Per-call configuration, merged over the model's (`Effect.provideService(CallConfig, {...})` or
 * {@link withCallConfig}).
 *
 * @since 0.1.0
 */
export const CallConfig: Context.Reference<ModelConfig> = Context.Reference<ModelConfig>(
  "@conduitkit/core/OpenAiCompatLanguageModel/CallConfig",
  { defaultValue: () => ({}) }
)

/**
 * Runs `effect` with per-call configuration merged over any already in context.
 *
 * @since 0.1.0
 */
export const withCallConfig =
  (config: ModelConfig) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const current = yield* CallConfig
      return yield* Effect.provideService(effect, CallConfig, mergeConfig(current, config))
    })

/**
 * The stream version of {@link withCallConfig} (for `LanguageModel.streamText(...)`).
 *
 * @since 0.1.0
 */
export const streamWithCallConfig =
  (config: ModelConfig) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.unwrap(
      Effect.map(CallConfig, (current) => Stream.provideService(stream, CallConfig, mergeConfig(current, config)))
    )

const mergeContinuation = (
  base: ContinuationInput | boolean | undefined,
  over: ContinuationInput | boolean | undefined
): ContinuationInput | boolean | undefined => {
  if (over === undefined) return base
  if (typeof over === "boolean") return over
  const baseObject = typeof base === "object" ? base : base === true ? { enabled: true } : {}
  return { ...baseObject, ...over }
}

/**
 * Merges two configurations (`over` wins, field by field; `request` and `providerOptions` are shallow-merged;
 * `wireTools` are concatenated).
 *
 * @since 0.1.0
 */
export const mergeConfig = (base: ModelConfig, over: ModelConfig): ModelConfig => ({
  request: { ...base.request, ...over.request },
  providerOptions: { ...base.providerOptions, ...over.providerOptions },
  retry: { ...base.retry, ...over.retry },
  timeouts: TimeoutPolicy.merge(base.timeouts ?? {}, over.timeouts),
  continuation: mergeContinuation(base.continuation, over.continuation),
  preflight: over.preflight ?? base.preflight,
  assembleNonStream: over.assembleNonStream ?? base.assembleNonStream,
  wireTools: [...(base.wireTools ?? []), ...(over.wireTools ?? [])],
  pricing: over.pricing ?? base.pricing
})

/**
 * The continuation policy a configuration's `continuation` field resolves to (absent or `false`: the defaults,
 * disabled; `true`: the defaults, enabled; an object: its fields over the defaults, enabled unless it says not).
 *
 * @since 0.1.0
 */
export const continuationPolicy = (value: ModelConfig["continuation"]): ContinuationPolicy =>
  value === undefined || value === false
    ? defaultContinuation
    : value === true
      ? { ...defaultContinuation, enabled: true }
      : {
          enabled: value.enabled ?? true,
          maxContinuations: value.maxContinuations ?? defaultContinuation.maxContinuations,
          maxTotalTokens: value.maxTotalTokens ?? defaultContinuation.maxTotalTokens
        }
