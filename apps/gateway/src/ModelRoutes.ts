/**
 * Model names to routes: core's `ProviderRegistry` plus what only the gateway needs.
 *
 * Names resolve through the registry (`kimi/<model>`, `glm/<model>`, a models.yaml backend's `<name>/<model>`, or a
 * models.yaml name with fallbacks, retry, timeouts, continuation, defaults and per-provider `providerOptions`).
 * Without a models.yaml the {@link builtinModels} table applies, limited to the providers that are configured.
 *
 * Running a call on a route is core's: `ProviderRegistry.provideRoute(routes.registry, route, observer)` and
 * `provideRouteStream` use the registry's kept services (built once per route; a bounded cache, `maxCached`, for
 * names a client invents), with the route's fallbacks as an `ExecutionPlan`.
 */
import { type ModelCatalog, type ModelsConfig, ProviderRegistry } from "@conduitkit/core"
import { Effect } from "effect"
import * as Errors from "./Errors.js"

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

/** `config` with each name's steps filtered by `available`; names left without a step are dropped. */
const keepSteps = (
  config: ModelsConfig.ModelsConfig,
  available: (provider: string) => boolean
): ModelsConfig.ModelsConfig => {
  const models: Record<string, ModelsConfig.ModelRoute> = {}
  for (const [name, route] of Object.entries(config.models ?? {})) {
    const steps = [route.target, ...(route.fallbacks ?? [])].filter((step) => available(providerOf(step)))
    const [target, ...fallbacks] = steps
    if (target === undefined) continue
    models[name] = { ...route, target, ...(route.fallbacks !== undefined ? { fallbacks } : {}) }
  }
  return { ...config, models }
}

const providerOf = (target: string) => target.slice(0, Math.max(0, target.indexOf("/")))

/**
 * `config` restricted to the given providers: a name whose target's provider is missing gets its first available
 * fallback as target; a name with no available target or fallback is dropped.
 */
export const restrictTo = (
  config: ModelsConfig.ModelsConfig,
  providers: ReadonlySet<string>
): ModelsConfig.ModelsConfig => keepSteps(config, (provider) => providers.has(provider))

/**
 * `config` without fallbacks from a provider that is not simulated onto one that is (`simulated`: the simulated
 * providers' names): a live deployment that also simulates a provider (`CONDUIT_SIMULATE=1`) never answers a failed
 * live call with canned text. A route whose target is simulated keeps its fallbacks.
 */
export const withoutSimulatedFallbacks = (
  config: ModelsConfig.ModelsConfig,
  simulated: ReadonlySet<string>
): ModelsConfig.ModelsConfig => {
  if (simulated.size === 0) return config
  const isSimulated = (target: string) => simulated.has(providerOf(target))
  const models: Record<string, ModelsConfig.ModelRoute> = {}
  for (const [name, route] of Object.entries(config.models ?? {})) {
    models[name] =
      route.fallbacks === undefined || isSimulated(route.target)
        ? route
        : { ...route, fallbacks: route.fallbacks.filter((target) => !isSimulated(target)) }
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

/** The routes of a gateway. */
export interface ModelRoutes {
  readonly registry: ProviderRegistry.Registry
  /**
   * Resolves a name (fails with `UnknownModelError`, or with a 503 `provider_disabled` naming the reason when the
   * name's provider is disabled); listed names resolve from a map, without an effect.
   */
  readonly resolve: (
    name: string
  ) => Effect.Effect<ProviderRegistry.Route, ProviderRegistry.UnknownModelError | Errors.GatewayError>
  /** Every routable name (models.yaml names first, then each provider's catalog). */
  readonly list: () => ReadonlyArray<Listing>
}

/**
 * The routes over provider entries and a models.yaml. `maxCached` bounds the services the registry keeps for names
 * that are neither in models.yaml nor in a catalog (default 256). `disabled` maps the providers that are configured
 * but cannot serve (a models.yaml backend whose key variable is unset, a provider without a key and without its
 * simulation) to the reason: their steps are dropped from models.yaml's names (a name falls back to its next step), and
 * a name left with none of its own, or `<provider>/<model>` on one of them, answers 503 with the reason.
 */
export const make = (
  providers: ReadonlyArray<ProviderRegistry.ProviderEntry>,
  config: ModelsConfig.ModelsConfig,
  options: {
    readonly maxCached?: number | undefined
    readonly disabled?: ReadonlyMap<string, string> | undefined
  } = {}
): ModelRoutes => {
  const disabled = options.disabled ?? new Map<string, string>()
  const usable = keepSteps(config, (provider) => !disabled.has(provider))
  const disabledNames = new Map<string, string>()
  for (const [name, route] of Object.entries(config.models ?? {})) {
    if (usable.models?.[name] === undefined) disabledNames.set(name, providerOf(route.target))
  }
  const registry = ProviderRegistry.make(providers, usable, options)
  const listed = registry.list()
  const resolved = new Map<string, Effect.Effect<ProviderRegistry.Route>>()
  for (const entry of listed) resolved.set(entry.name, Effect.succeed(entry.route))
  const listing: ReadonlyArray<Listing> = listed.map(({ name, route }) => ({
    name,
    provider: route.provider,
    model: route.model,
    fallbacks: route.fallbacks.map((step) => `${step.provider}/${step.model}`),
    info: route.info
  }))
  const refuse = (name: string) => {
    const provider = disabledNames.get(name) ?? providerOf(name)
    const reason = disabled.get(provider)
    return reason === undefined ? undefined : Effect.fail(Errors.providerDisabled(provider, reason))
  }
  return {
    registry,
    resolve: (name) => resolved.get(name) ?? refuse(name) ?? registry.resolve(name),
    list: () => listing
  }
}

/**
 * The routes a front door serves: over `providers`, with `models` (a parsed models.yaml) when given, else the
 * {@link builtinModels} restricted to those providers; in both, no fallback from a provider that is not simulated
 * lands on a simulated one ({@link withoutSimulatedFallbacks}). `status` (see `Providers.fromConfig`) names the
 * disabled providers: requests to them answer 503 `provider_disabled` with the reason (see {@link make}).
 */
export const forProviders = (
  providers: ReadonlyArray<ProviderRegistry.ProviderEntry>,
  models?: ModelsConfig.ModelsConfig | undefined,
  status: ReadonlyArray<{ readonly name: string; readonly mode: string; readonly detail: string }> = []
): ModelRoutes => {
  const simulated = new Set(providers.filter((entry) => entry.mode === "simulated").map((entry) => entry.name))
  const table = models ?? restrictTo(builtinModels, new Set(providers.map((entry) => entry.name)))
  return make(providers, withoutSimulatedFallbacks(table, simulated), {
    disabled: new Map(status.filter((s) => s.mode === "disabled").map((s) => [s.name, s.detail] as const))
  })
}
