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
import { type Cause, Config, Context, Effect, ExecutionPlan, Layer, Redacted, Schema, Stream } from "effect"
import { type AiError, LanguageModel } from "effect/ai"
import type * as Cost from "./Cost.js"
import type * as EmbeddingCatalog from "./EmbeddingCatalog.js"
import * as ModelCatalog from "./ModelCatalog.js"
import type * as ModelsConfig from "./ModelsConfig.js"
import type * as OpenAiCompatLanguageModel from "./OpenAiCompatLanguageModel.js"
import * as OpenAiCompatProvider from "./OpenAiCompatProvider.js"
import * as ProviderError from "./ProviderError.js"
import * as Tracing from "./Tracing.js"

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
  /** The provider's embedding models, when it has any (`POST /v1/embeddings` on the gateway). */
  readonly embeddings?: EmbeddingCatalog.EmbeddingProvider | undefined
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
 * The execution plan of a route: its target, then its fallbacks, each tried once.
 *
 * @since 0.1.0
 */
export type RoutePlan = ExecutionPlan.ExecutionPlan<{
  provides: LanguageModel.LanguageModel
  input: AiError.AiError
  error: never
  requirements: never
}>

/**
 * A route's ready services: one built `LanguageModel` per step (target, then fallbacks) and the plan over them.
 *
 * @since 0.1.0
 */
export interface RouteServices {
  readonly services: ReadonlyArray<LanguageModel.LanguageModel>
  readonly plan: RoutePlan
}

/**
 * A registry: `resolve` a name, `layer` / `plan` for a route, `list` every routable name, and `services`: a route's
 * `LanguageModel` services built once and kept, so that serving a request only provides a ready service (no layer
 * build, no SDK client construction per request). Routes of names in models.yaml or a catalog are kept for the
 * registry's life; names a client invents (`kimi/anything`) are kept in a bounded cache (`maxCached`, default 256,
 * oldest dropped first). `services` returns `undefined` for a provider whose layers do not build synchronously
 * (then the layer is provided per call).
 *
 * @since 0.1.0
 */
export interface Registry {
  readonly providers: ReadonlyMap<string, ProviderEntry>
  readonly resolve: (name: string) => Effect.Effect<Route, UnknownModelError>
  readonly layer: (route: Route) => Layer.Layer<LanguageModel.LanguageModel>
  readonly plan: (route: Route) => RoutePlan
  readonly services: (route: Route) => RouteServices | undefined
  readonly list: () => ReadonlyArray<{ readonly name: string; readonly route: Route }>
}

const fromModelsYaml = (route: ModelsConfig.ModelRoute): OpenAiCompatLanguageModel.ModelConfig => ({
  ...(route.defaults !== undefined ? { request: route.defaults } : {}),
  ...(route.retry !== undefined ? { retry: route.retry } : {}),
  ...(route.timeouts !== undefined ? { timeouts: route.timeouts } : {}),
  ...(route.continuation !== undefined ? { continuation: { enabled: true, ...route.continuation } } : {}),
  ...(route.assembleNonStream !== undefined ? { assembleNonStream: route.assembleNonStream } : {})
})

/**
 * Builds a registry over providers and an optional `models.yaml`; `maxCached` bounds the kept services of names
 * outside models.yaml and the catalogs (default 256).
 *
 * @since 0.1.0
 */
export const make = (
  providers: ReadonlyArray<ProviderEntry>,
  config: ModelsConfig.ModelsConfig = {},
  options: { readonly maxCached?: number | undefined } = {}
): Registry => {
  const byName = new Map(providers.map((provider) => [provider.name, provider] as const))
  // models.yaml `pricing:` keyed by `provider/<catalog id>` (a key naming an alias prices the model it names)
  const prices = new Map<string, Cost.Pricing>()
  for (const [target, pricing] of Object.entries(config.pricing ?? {})) {
    const slash = target.indexOf("/")
    const provider = target.slice(0, slash)
    const model = target.slice(slash + 1)
    prices.set(`${provider}/${byName.get(provider)?.catalog.get(model)?.id ?? model}`, pricing)
  }
  const pricingOf = (provider: string, id: string) => prices.get(`${provider}/${id}`)

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
    const pricing = pricingOf(providerName, info.id)
    return Effect.succeed({
      name,
      provider: providerName,
      model: info.id,
      info,
      config: pricing === undefined ? modelConfig : { ...modelConfig, pricing },
      fallbacks: []
    })
  }

  const resolve = (name: string): Effect.Effect<Route, UnknownModelError> => {
    const configured = config.models?.[name]
    if (configured === undefined) return direct(name, {})
    const modelConfig = fromModelsYaml(configured)
    // each step gets the options models.yaml gives its own provider
    const step = (target: string) =>
      Effect.map(direct(target, modelConfig), (route) => {
        const providerOptions = configured.providerOptions?.[route.provider]
        return providerOptions === undefined ? route : { ...route, config: { ...route.config, providerOptions } }
      })
    return Effect.gen(function* () {
      const target = yield* step(configured.target)
      const fallbacks: Array<Route> = []
      for (const fallback of configured.fallbacks ?? []) fallbacks.push(yield* step(fallback))
      return { ...target, name, fallbacks }
    })
  }

  const layer = (route: Route): Layer.Layer<LanguageModel.LanguageModel> => {
    const provider = byName.get(route.provider)
    if (provider === undefined) throw new Error(`route ${route.name} names an unregistered provider ${route.provider}`)
    return provider.layer(route.model, route.config)
  }

  const planOver = (
    provides: ReadonlyArray<Layer.Layer<LanguageModel.LanguageModel> | Context.Context<LanguageModel.LanguageModel>>
  ) => {
    const [first, ...rest] = provides.map((provide, index) => ({
      provide,
      attempts: 1,
      ...(index > 0 ? { while: (error: AiError.AiError) => isFallbackEligible(error) } : {})
    }))
    return ExecutionPlan.make(first!, ...rest) as unknown as RoutePlan
  }

  const plan = (route: Route) => planOver([route, ...route.fallbacks].map(layer))

  const list = () => {
    const out: Array<{ name: string; route: Route }> = []
    for (const name of Object.keys(config.models ?? {})) {
      const route = Effect.runSync(Effect.result(resolve(name)))
      if (route._tag === "Success") out.push({ name, route: route.success })
    }
    for (const provider of providers) {
      for (const info of provider.catalog.list) {
        // retired models are listed too: their lifecycle is information (`info.lifecycle`), not a gate
        const name = `${provider.name}/${info.id}`
        const pricing = pricingOf(provider.name, info.id)
        const routeConfig = pricing === undefined ? {} : { pricing }
        out.push({
          name,
          route: { name, provider: provider.name, model: info.id, info, config: routeConfig, fallbacks: [] }
        })
      }
    }
    return out
  }

  // services: pinned for the names `list` knows, a bounded insertion-ordered cache for the others
  const maxCached = options.maxCached ?? 256
  let known: ReadonlySet<string> | undefined
  const pinned = new Map<string, RouteServices | undefined>()
  const transient = new Map<string, RouteServices | undefined>()
  const build = (route: Route): RouteServices | undefined => {
    try {
      const services = [route, ...route.fallbacks].map((step) =>
        Effect.runSync(
          Effect.scoped(
            Effect.map(Layer.build(layer(step)), (context) => Context.get(context, LanguageModel.LanguageModel))
          )
        )
      )
      return { services, plan: planOver(services.map((service) => Context.make(LanguageModel.LanguageModel, service))) }
    } catch {
      return undefined // a layer that needs to run asynchronously: provided per call instead
    }
  }
  const services = (route: Route): RouteServices | undefined => {
    if (pinned.has(route.name)) return pinned.get(route.name)
    if (transient.has(route.name)) return transient.get(route.name)
    const built = build(route)
    known ??= new Set(list().map((entry) => entry.name))
    if (known.has(route.name)) {
      pinned.set(route.name, built)
    } else {
      if (transient.size >= maxCached) transient.delete(transient.keys().next().value as string)
      transient.set(route.name, built)
    }
    return built
  }

  return { providers: byName, resolve, layer, plan, services, list }
}

/**
 * Observers of a routed call: `onStep(index)` when step `index` starts (0: the target, then the fallbacks);
 * `onFallback()` on each hand-over to a fallback (for metrics); `onStepEnd(index, failure)` when a step of a route
 * with fallbacks ends (`failure`: its cause, `undefined` on success; for provider health, e.g. cooldowns).
 *
 * @since 0.1.0
 */
export interface RouteObserver {
  readonly onStep?: ((index: number) => void) | undefined
  readonly onFallback?: (() => void) | undefined
  readonly onStepEnd?: ((index: number, failure: Cause.Cause<unknown> | undefined) => void) | undefined
}

const planEvents = (observer: RouteObserver | undefined) =>
  observer?.onStep === undefined && observer?.onFallback === undefined && observer?.onStepEnd === undefined
    ? {}
    : {
        onEvent: (event: ExecutionPlan.Event<unknown>) =>
          Effect.sync(() => {
            if (event._tag === "AttemptSuccess") return observer.onStepEnd?.(event.stepIndex, undefined)
            if (event._tag === "AttemptFailure") return observer.onStepEnd?.(event.stepIndex, event.cause)
            observer.onStep?.(event.stepIndex)
            if (event.stepIndex > 0) observer.onFallback?.()
          })
      }

/** The attributes of a route step's span: the route's name, the step (0: the target), its provider and model. */
const stepAttributes = (route: Route, index: number) => {
  const step = index === 0 ? route : route.fallbacks[index - 1]
  return {
    "conduit.route.name": route.name,
    "conduit.route.step": index,
    "gen_ai.provider.name": step?.provider,
    "gen_ai.request.model": step?.model
  }
}

/**
 * Runs an effect that needs a `LanguageModel` on a route: the target, then its fallbacks (see {@link make}), on the
 * registry's kept services.
 *
 * @since 0.1.0
 */
export const provideRoute =
  (registry: Registry, route: Route, observer?: RouteObserver) =>
  <A, E, R>(
    effect: Effect.Effect<A, E, R | LanguageModel.LanguageModel>
  ): Effect.Effect<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    Effect.suspend(() => {
      const ready = registry.services(route)
      if (route.fallbacks.length === 0) {
        observer?.onStep?.(0)
        return ready === undefined
          ? Effect.provide(effect, registry.layer(route))
          : Effect.provideService(effect, LanguageModel.LanguageModel, ready.services[0]!)
      }
      // each step in a span of its own (when tracing is active): the plan runs the effect once per step, in order
      let index = 0
      const stepped = Effect.suspend(() =>
        Tracing.withSpan(effect, "conduit.route.step", { attributes: stepAttributes(route, index++) })
      )
      return Effect.withExecutionPlan(
        stepped as Effect.Effect<A, E | AiError.AiError, LanguageModel.LanguageModel>,
        (ready?.plan ?? registry.plan(route)) as never,
        planEvents(observer)
      )
    }) as never

/**
 * The same for a stream: a stream never falls back after it emitted a part (`preventFallbackOnPartialStream`).
 *
 * @since 0.1.0
 */
export const provideRouteStream =
  (registry: Registry, route: Route, observer?: RouteObserver) =>
  <A, E, R>(
    stream: Stream.Stream<A, E, R | LanguageModel.LanguageModel>
  ): Stream.Stream<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    Stream.suspend(() => {
      const ready = registry.services(route)
      if (route.fallbacks.length === 0) {
        observer?.onStep?.(0)
        return ready === undefined
          ? Stream.provide(stream, registry.layer(route))
          : Stream.provideService(stream, LanguageModel.LanguageModel, ready.services[0]!)
      }
      let index = 0
      const stepped = Stream.suspend(() =>
        Tracing.withSpanStream(stream, "conduit.route.step", { attributes: stepAttributes(route, index++) })
      )
      return Stream.withExecutionPlan(
        stepped as Stream.Stream<A, E | AiError.AiError, LanguageModel.LanguageModel>,
        (ready?.plan ?? registry.plan(route)) as never,
        {
          preventFallbackOnPartialStream: true,
          ...planEvents(observer)
        }
      )
    }) as never

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
