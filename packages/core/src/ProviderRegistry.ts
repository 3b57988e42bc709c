/**
 * Routing model names to `LanguageModel` layers across providers.
 *
 * A name is either `provider/model` (`kimi/kimi-k3`; an id the provider's catalog does not know is passed through
 * with conservative defaults) or a name from `models.yaml` (`fast`), which adds fallbacks, retry, timeouts,
 * continuation and default wire parameters. A route's fallbacks run through Effect's `ExecutionPlan`: each step is
 * tried once (retries happen inside the model, one layer only), the next step only after a failure that another
 * provider could fix ({@link isFallbackEligible}), and a stream never falls back after it emitted anything.
 *
 * @since 0.1.0
 */
import { Config, Effect, ExecutionPlan, Layer, Redacted, Schema, Stream } from "effect"
import type { AiError, LanguageModel } from "effect/ai"
import * as ModelCatalog from "./ModelCatalog.js"
import type * as ModelsConfig from "./ModelsConfig.js"
import type * as OpenAiCompatLanguageModel from "./OpenAiCompatLanguageModel.js"
import * as OpenAiCompatProvider from "./OpenAiCompatProvider.js"
import * as ProviderError from "./ProviderError.js"

/**
 * A provider as the registry sees it: its catalog and a factory of fully configured model layers (the client's
 * configuration, keys included, is already inside).
 *
 * @since 0.1.0
 */
export interface ProviderEntry {
  readonly name: string
  readonly catalog: ModelCatalog.Catalog
  readonly layer: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Layer.Layer<LanguageModel.LanguageModel>
  /** Shown in listings: `"live"` (real API), `"simulated"` (MSW), or anything the caller wants. */
  readonly mode?: string | undefined
}

/**
 * A resolved name: the target and its fallbacks, each with its provider, model info and configuration.
 *
 * @since 0.1.0
 */
export interface Route {
  readonly name: string
  readonly provider: string
  readonly model: string
  readonly info: ModelCatalog.ModelInfo
  readonly config: OpenAiCompatLanguageModel.ModelConfig
  readonly fallbacks: ReadonlyArray<Route>
}

/**
 * The name does not resolve: an unknown provider, or a bare name that is not in `models.yaml`.
 *
 * @since 0.1.0
 */
export class UnknownModelError extends Schema.TaggedError<UnknownModelError>()("UnknownModelError", {
  name: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `unknown model "${this.name}": ${this.detail}`
  }
}

/**
 * Whether a failed step should hand over to the next provider: retryable failures (rate limits, overload, 5xx,
 * network, first-token timeouts, truncated streams) and quota exhaustion (another provider's balance is not
 * exhausted). Invalid requests, authentication and content-policy failures do not fall back (another provider
 * would refuse too, and a policy refusal must not be routed around).
 *
 * @since 0.1.0
 */
export const isFallbackEligible = (error: AiError.AiError): boolean =>
  ProviderError.isRetryable(error) || error.reason._tag === "QuotaExhaustedError"

/**
 * A registry: `resolve` a name, `layer` / `plan` for a route, `list` every routable name.
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly providers: ReadonlyMap<string, ProviderEntry>
  readonly resolve: (name: string) => Effect.Effect<Route, UnknownModelError>
  readonly layer: (route: Route) => Layer.Layer<LanguageModel.LanguageModel>
  readonly plan: (route: Route) => ExecutionPlan.ExecutionPlan<{
    provides: LanguageModel.LanguageModel
    input: AiError.AiError
    error: never
    requirements: never
  }>
  readonly list: () => ReadonlyArray<{ readonly name: string; readonly route: Route }>
}

const fromModelsYaml = (route: ModelsConfig.ModelRoute): OpenAiCompatLanguageModel.ModelConfig => ({
  ...(route.defaults !== undefined ? { request: route.defaults } : {}),
  ...(route.retry !== undefined ? { retry: route.retry } : {}),
  ...(route.timeouts !== undefined ? { timeouts: route.timeouts } : {}),
  ...(route.continuation !== undefined ? { continuation: { enabled: true, ...route.continuation } } : {})
})

/**
 * Builds a registry over providers and an optional `models.yaml`.
 *
 * @since 0.1.0
 */
export const make = (providers: ReadonlyArray<ProviderEntry>, config: ModelsConfig.ModelsConfig = {}): Registry => {
  const byName = new Map(providers.map((provider) => [provider.name, provider] as const))

  const direct = (
    name: string,
    modelConfig: OpenAiCompatLanguageModel.ModelConfig
  ): Effect.Effect<Route, UnknownModelError> => {
    const slash = name.indexOf("/")
    if (slash <= 0 || slash === name.length - 1) {
      return Effect.fail(
        new UnknownModelError({
          name,
          detail: `use "provider/model" (providers: ${[...byName.keys()].join(", ")}) or a name from models.yaml`
        })
      )
    }
    const providerName = name.slice(0, slash)
    const model = name.slice(slash + 1)
    const provider = byName.get(providerName)
    if (provider === undefined) {
      return Effect.fail(
        new UnknownModelError({
          name,
          detail: `no provider "${providerName}" (configured: ${[...byName.keys()].join(", ")})`
        })
      )
    }
    const info = provider.catalog.get(model) ?? ModelCatalog.unknownModel(providerName, model)
    return Effect.succeed({ name, provider: providerName, model: info.id, info, config: modelConfig, fallbacks: [] })
  }

  const resolve = (name: string): Effect.Effect<Route, UnknownModelError> => {
    const configured = config.models?.[name]
    if (configured === undefined) return direct(name, {})
    const modelConfig = fromModelsYaml(configured)
    return Effect.gen(function* () {
      const target = yield* direct(configured.target, modelConfig)
      const fallbacks: Array<Route> = []
      for (const fallback of configured.fallbacks ?? []) fallbacks.push(yield* direct(fallback, modelConfig))
      return { ...target, name, fallbacks }
    })
  }

  const layer = (route: Route): Layer.Layer<LanguageModel.LanguageModel> => {
    const provider = byName.get(route.provider)
    if (provider === undefined) throw new Error(`route ${route.name} names an unregistered provider ${route.provider}`)
    return provider.layer(route.model, route.config)
  }

  const plan = (route: Route) => {
    const [first, ...rest] = [route, ...route.fallbacks].map((step, index) => ({
      provide: layer(step),
      attempts: 1,
      ...(index > 0 ? { while: (error: AiError.AiError) => isFallbackEligible(error) } : {})
    }))
    return ExecutionPlan.make(first!, ...rest) as unknown as ReturnType<Registry["plan"]>
  }

  const list = () => {
    const out: Array<{ name: string; route: Route }> = []
    for (const name of Object.keys(config.models ?? {})) {
      const route = Effect.runSync(Effect.result(resolve(name)))
      if (route._tag === "Success") out.push({ name, route: route.success })
    }
    for (const provider of providers) {
      for (const info of provider.catalog.list) {
        if (info.lifecycle.status === "retired") continue
        const name = `${provider.name}/${info.id}`
        out.push({ name, route: { name, provider: provider.name, model: info.id, info, config: {}, fallbacks: [] } })
      }
    }
    return out
  }

  return { providers: byName, resolve, layer, plan, list }
}

/**
 * Runs an effect that needs a `LanguageModel` on a route: the target, then its fallbacks (see {@link make}).
 *
 * @since 0.1.0
 */
export const provideRoute =
  (registry: Registry, route: Route) =>
  <A, R>(
    effect: Effect.Effect<A, AiError.AiError, R | LanguageModel.LanguageModel>
  ): Effect.Effect<A, AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    route.fallbacks.length === 0
      ? (Effect.provide(effect, registry.layer(route)) as never)
      : (Effect.withExecutionPlan(effect, registry.plan(route)) as never)

/**
 * The same for a stream: a stream never falls back after it emitted a part (`preventFallbackOnPartialStream`).
 * `onFallback` observes each hand-over (for metrics).
 *
 * @since 0.1.0
 */
export const provideRouteStream =
  (registry: Registry, route: Route, options?: { readonly onFallback?: (() => void) | undefined }) =>
  <A, R>(
    stream: Stream.Stream<A, AiError.AiError, R | LanguageModel.LanguageModel>
  ): Stream.Stream<A, AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    route.fallbacks.length === 0
      ? (Stream.provide(stream, registry.layer(route)) as never)
      : (Stream.withExecutionPlan(stream, registry.plan(route), {
          preventFallbackOnPartialStream: true,
          ...(options?.onFallback !== undefined
            ? {
                onEvent: (event: { readonly _tag: string; readonly stepIndex?: number }) =>
                  Effect.sync(() => {
                    if (event._tag === "AttemptStart" && (event.stepIndex ?? 0) > 0) options.onFallback?.()
                  })
              }
            : {})
        }) as never)

/**
 * Registry entries for the OpenAI-compatible backends declared in `models.yaml` under `providers:` (OpenAI itself,
 * DeepSeek, a vLLM server, Azure's OpenAI-compatible endpoint...), built with `OpenAiCompatProvider.make` and
 * OpenAI's error vocabulary. Each key is read once here with `Config.Redacted` from the backend's `apiKeyEnv` (a
 * missing variable fails with the `ConfigError` naming it); a backend without `apiKeyEnv` sends no real key (local
 * servers). Model hints (`contextWindow`, `maxOutputTokens`, `thinking`, `vision`, `tools`) become catalog entries;
 * other model ids pass through with conservative defaults. Reasoning is not replayed (`mode: "never"`), the safe
 * default for unknown backends.
 *
 * @since 0.1.0
 */
export const backendEntries = (
  backends: Readonly<Record<string, ModelsConfig.BackendConfig>>,
  options: { readonly fetch?: typeof globalThis.fetch | undefined } = {}
): Effect.Effect<Array<ProviderEntry>, Config.ConfigError> =>
  Effect.forEach(Object.entries(backends), ([name, backend]) =>
    Effect.gen(function* () {
      const apiKey = backend.apiKeyEnv !== undefined ? yield* Config.Redacted(backend.apiKeyEnv) : Redacted.make("none")
      const models = Object.entries(backend.models ?? {}).map(
        ([id, hint]): ModelCatalog.ModelInfo => ({
          id,
          provider: name,
          contextWindow: hint.contextWindow ?? 32_768,
          maxOutputTokens: hint.maxOutputTokens ?? 4_096,
          capabilities: {
            ...ModelCatalog.conservativeCapabilities,
            ...(hint.thinking !== undefined ? { thinking: hint.thinking } : {}),
            ...(hint.vision !== undefined ? { vision: hint.vision } : {}),
            ...(hint.tools !== undefined ? { tools: hint.tools } : {})
          },
          lifecycle: { status: "active" },
          source: "models.yaml"
        })
      )
      const provider = OpenAiCompatProvider.make({
        name,
        baseURLs: { default: backend.baseURL },
        apiKeyEnv: backend.apiKeyEnv !== undefined ? [backend.apiKeyEnv] : [],
        errorTable: ProviderError.openAiTable,
        defaultModel: models[0]?.id ?? "default",
        catalog: ModelCatalog.make(name, models),
        reasoningReplay: { mode: "never" },
        ...(backend.headers !== undefined ? { headers: backend.headers } : {})
      })
      const client = Layer.succeed(
        provider.Client,
        provider.makeClient({ apiKey, ...(options.fetch ? { fetch: options.fetch } : {}) })
      )
      const entry: ProviderEntry = {
        name,
        catalog: provider.catalog,
        layer: (model, config) => Layer.provide(provider.layer(model, config), client),
        mode: "config"
      }
      return entry
    })
  )
