/**
 * Model names to ready `LanguageModel` services, with fallbacks.
 *
 * Names resolve through core's `ProviderRegistry` (`kimi/<model>`, `glm/<model>`, a models.yaml backend's
 * `<name>/<model>`, or a models.yaml name with fallbacks, retry, timeouts, continuation and defaults). Without a
 * models.yaml the {@link builtinModels} table applies, limited to the providers that are configured.
 *
 * Each route's `LanguageModel` services (target, then fallbacks) are built once and kept: a request only provides a
 * ready service (no layer build, no SDK client construction per request). Names a client invents (`kimi/anything`
 * passes through to the provider) are kept in a bounded cache (oldest dropped first). A route with fallbacks runs
 * through an `ExecutionPlan` exactly like `ProviderRegistry.provideRoute` / `provideRouteStream`: each step once,
 * the next only after a failure another provider could fix, a stream never after it emitted a part.
 */
import { type ModelCatalog, type ModelsConfig, ProviderRegistry } from "@conduit-llm/core"
import { Context, Effect, ExecutionPlan, Layer, Stream as S, type Stream } from "effect"
import { type AiError, LanguageModel } from "effect/ai"

/**
 * The built-in names (used when `CONDUIT_MODELS` is not set): `default` (Kimi K2.6, GLM-4.6 as fallback), `fast`
 * (GLM-4.5-Air, Kimi K2.6 as fallback), `thinking` (Kimi K3, GLM-5.3 as fallback), `vision` (GLM-4.6V, Kimi K2.6 as
 * fallback). Targets and fallbacks of providers that are not configured are dropped.
 */
export const builtinModels: ModelsConfig.ModelsConfig = {
  models: {
    default: { target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6"] },
    fast: { target: "glm/glm-4.5-air", fallbacks: ["kimi/kimi-k2.6"] },
    thinking: { target: "kimi/kimi-k3", fallbacks: ["glm/glm-5.3"] },
    vision: { target: "glm/glm-4.6v", fallbacks: ["kimi/kimi-k2.6"] }
  }
}

/**
 * `config` restricted to the given providers: a name whose target's provider is missing gets its first available
 * fallback as target; a name with no available target or fallback is dropped.
 */
export const restrictTo = (
  config: ModelsConfig.ModelsConfig,
  providers: ReadonlySet<string>
): ModelsConfig.ModelsConfig => {
  const available = (target: string) => providers.has(target.slice(0, target.indexOf("/")))
  const models: Record<string, ModelsConfig.ModelRoute> = {}
  for (const [name, route] of Object.entries(config.models ?? {})) {
    const steps = [route.target, ...(route.fallbacks ?? [])].filter(available)
    const [target, ...fallbacks] = steps
    if (target === undefined) continue
    models[name] = { ...route, target, ...(route.fallbacks !== undefined ? { fallbacks } : {}) }
  }
  return { ...config, models }
}

/** One routable name as `GET /v1/models` lists it. */
export interface Listing {
  readonly name: string
  readonly provider: string
  readonly model: string
  readonly fallbacks: ReadonlyArray<string>
  readonly info: ModelCatalog.ModelInfo
}

/** Observes a routed call: `onStep(index)` when step `index` (0: target, then fallbacks) starts. */
export interface StepObserver {
  readonly onStep: (index: number) => void
}

/** The routes of a gateway. */
export interface ModelRoutes {
  readonly registry: ProviderRegistry.Registry
  /** Resolves a name (fails with `UnknownModelError`). */
  readonly resolve: (name: string) => Effect.Effect<ProviderRegistry.Route, ProviderRegistry.UnknownModelError>
  /** Every routable name (models.yaml names first, then each provider's catalog). */
  readonly list: () => ReadonlyArray<Listing>
  /** Runs an effect needing a `LanguageModel` on a route (with its fallbacks). */
  readonly provide: <A, E, R>(
    route: ProviderRegistry.Route,
    effect: Effect.Effect<A, E, R | LanguageModel.LanguageModel>,
    observer?: StepObserver
  ) => Effect.Effect<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>>
  /** The same for a stream; no fallback once a part was emitted. */
  readonly provideStream: <A, E, R>(
    route: ProviderRegistry.Route,
    stream: Stream.Stream<A, E, R | LanguageModel.LanguageModel>,
    observer?: StepObserver
  ) => Stream.Stream<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>>
}

interface Built {
  readonly services: ReadonlyArray<LanguageModel.LanguageModel>
  readonly plan: ExecutionPlan.ExecutionPlan<{
    provides: LanguageModel.LanguageModel
    input: AiError.AiError
    error: never
    requirements: never
  }>
}

/**
 * Builds the routes over provider entries and a models.yaml. `maxCached` bounds the routes kept for names that are
 * neither in models.yaml nor in a catalog (default 256).
 */
export const make = (
  providers: ReadonlyArray<ProviderRegistry.ProviderEntry>,
  config: ModelsConfig.ModelsConfig,
  options: { readonly maxCached?: number | undefined } = {}
): ModelRoutes => {
  const registry = ProviderRegistry.make(providers, config)
  const maxCached = options.maxCached ?? 256
  const listed = registry.list()
  const known = new Set(listed.map((entry) => entry.name))
  const pinned = new Map<string, Built>()
  const transient = new Map<string, Built>()
  const resolved = new Map<string, ProviderRegistry.Route>()
  for (const entry of listed) resolved.set(entry.name, entry.route)

  const build = (route: ProviderRegistry.Route): Built => {
    const services = [route, ...route.fallbacks].map((step) =>
      Effect.runSync(
        Effect.scoped(
          Effect.map(Layer.build(registry.layer(step)), (ctx) => Context.get(ctx, LanguageModel.LanguageModel))
        )
      )
    )
    const [first, ...rest] = services.map((service, index) => ({
      provide: Context.make(LanguageModel.LanguageModel, service),
      attempts: 1,
      ...(index > 0 ? { while: (error: AiError.AiError) => ProviderRegistry.isFallbackEligible(error) } : {})
    }))
    return { services, plan: ExecutionPlan.make(first!, ...rest) as unknown as Built["plan"] }
  }

  const builtFor = (route: ProviderRegistry.Route): Built => {
    const found = pinned.get(route.name) ?? transient.get(route.name)
    if (found !== undefined) return found
    const built = build(route)
    if (known.has(route.name)) {
      pinned.set(route.name, built)
    } else {
      if (transient.size >= maxCached) transient.delete(transient.keys().next().value as string)
      transient.set(route.name, built)
    }
    return built
  }

  const resolve = (name: string) => {
    const found = resolved.get(name)
    return found !== undefined ? Effect.succeed(found) : registry.resolve(name)
  }

  const list = (): ReadonlyArray<Listing> =>
    listed.map(({ name, route }) => ({
      name,
      provider: route.provider,
      model: route.model,
      fallbacks: route.fallbacks.map((step) => `${step.provider}/${step.model}`),
      info: route.info
    }))

  const onEvent = (observer: StepObserver | undefined) =>
    observer === undefined
      ? undefined
      : (event: ExecutionPlan.Event<unknown>) =>
          Effect.sync(() => {
            if (event._tag === "AttemptStart") observer.onStep(event.stepIndex)
          })

  const provide = <A, E, R>(
    route: ProviderRegistry.Route,
    effect: Effect.Effect<A, E, R | LanguageModel.LanguageModel>,
    observer?: StepObserver
  ): Effect.Effect<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    Effect.suspend(() => {
      const built = builtFor(route)
      if (route.fallbacks.length === 0) {
        observer?.onStep(0)
        return Effect.provideService(effect, LanguageModel.LanguageModel, built.services[0]!)
      }
      const handler = onEvent(observer)
      return Effect.withExecutionPlan(
        effect as Effect.Effect<A, AiError.AiError, LanguageModel.LanguageModel>,
        built.plan,
        handler !== undefined ? { onEvent: handler } : undefined
      ) as Effect.Effect<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>>
    })

  const provideStream = <A, E, R>(
    route: ProviderRegistry.Route,
    stream: Stream.Stream<A, E, R | LanguageModel.LanguageModel>,
    observer?: StepObserver
  ): Stream.Stream<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>> =>
    S.suspend(() => {
      const built = builtFor(route)
      if (route.fallbacks.length === 0) {
        observer?.onStep(0)
        return S.provideService(stream, LanguageModel.LanguageModel, built.services[0]!)
      }
      const handler = onEvent(observer)
      return S.withExecutionPlan(stream as Stream.Stream<A, AiError.AiError, LanguageModel.LanguageModel>, built.plan, {
        preventFallbackOnPartialStream: true,
        ...(handler !== undefined ? { onEvent: handler } : {})
      }) as Stream.Stream<A, E | AiError.AiError, Exclude<R, LanguageModel.LanguageModel>>
    })

  return { registry, resolve, list, provide, provideStream }
}
