/**
 * Provider wiring, in one place: which providers the gateway routes to and how each one runs.
 *
 * A {@link ProviderModule} is a provider made with core's builder (`OpenAiCompatProvider.make`: name, catalog,
 * client constructor, model layers, and the environment variables of its key and base URL) plus, optionally, a
 * simulation: MSW handlers that answer like the real API at a base URL for a test key.
 *
 * {@link wire} decides each provider's mode from the environment:
 * - `live`: a key is set (`MOONSHOT_API_KEY` / `KIMI_API_KEY` for Kimi, `ZAI_API_KEY` / `ZHIPUAI_API_KEY` for GLM;
 *   the provider declares the names). The base URL variable (`MOONSHOT_BASE_URL`, `ZAI_BASE_URL`) points it at any
 *   compatible endpoint.
 * - `simulated`: no key, simulation available and `CONDUIT_SIMULATE` not `0`: the client targets the simulation's
 *   base URL with its test key, and the handlers are returned for {@link startSimulation}.
 * - `disabled`: otherwise (the provider is not routable, and the first log line says why).
 *
 * Each provider's client (one `openai` SDK instance) is built once here and shared by all its model layers.
 * Backends declared under `providers:` in models.yaml are added by `ProviderRegistry.backendEntries` (mode
 * `config`).
 */
import {
  type ModelsConfig,
  type OpenAiCompatLanguageModel,
  type OpenAiCompatProvider,
  ProviderRegistry
} from "@conduit-llm/core"
import { Config, Effect, Layer, Option, type Redacted, type Scope } from "effect"
import type { RequestHandler } from "msw"
import { setupServer } from "msw/node"

/** How a provider runs. */
export type Mode = "live" | "simulated" | "disabled" | "config"

/** A provider's simulation: MSW handlers answering at `baseURL` for requests bearing `apiKey`. */
export interface Simulation {
  readonly baseURL: string
  readonly apiKey: string
  readonly handlers: () => ReadonlyArray<RequestHandler>
}

/** A provider the gateway can route to. */
export interface ProviderModule {
  // biome-ignore lint/suspicious/noExplicitAny: any provider name
  readonly provider: OpenAiCompatProvider.Provider<any>
  readonly simulation?: Simulation | undefined
}

/** What {@link wire} decided for one provider (`detail` is for the startup log: base URL or reason). */
export interface Status {
  readonly name: string
  readonly mode: Mode
  readonly detail: string
}

/** The wired providers: registry entries, each provider's status, and the simulation handlers to start. */
export interface Wired {
  readonly entries: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly status: ReadonlyArray<Status>
  readonly handlers: ReadonlyArray<RequestHandler>
}

/**
 * A registry entry for a provider over one client (built with `provider.makeClient({ apiKey, baseURL })`, shared by
 * every model layer of the entry). `mode` is reported in listings.
 */
export const entry = (
  // biome-ignore lint/suspicious/noExplicitAny: any provider name
  provider: OpenAiCompatProvider.Provider<any>,
  providerClient: OpenAiCompatProvider.ProviderClient,
  mode: Mode
): ProviderRegistry.ProviderEntry => {
  const client = Layer.succeed(provider.Client, providerClient)
  return {
    name: provider.name,
    catalog: provider.catalog,
    layer: (model: string, config?: OpenAiCompatLanguageModel.ModelConfig) =>
      Layer.provide(provider.layer(model, config), client),
    mode
  }
}

const firstKey = (names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    for (const name of names) {
      const value = yield* Config.option(Config.Redacted(name))
      if (Option.isSome(value)) return Option.some({ name, key: value.value })
    }
    return Option.none<{ readonly name: string; readonly key: Redacted.Redacted<string> }>()
  })

/**
 * Decides each module's mode from the current `ConfigProvider` (the environment by default) and builds the
 * registry entries. `simulate: false` (from `CONDUIT_SIMULATE=0`) disables providers without a key.
 */
export const wire = (
  modules: ReadonlyArray<ProviderModule>,
  options: { readonly simulate: boolean }
): Effect.Effect<Wired, Config.ConfigError> =>
  Effect.gen(function* () {
    const entries: Array<ProviderRegistry.ProviderEntry> = []
    const status: Array<Status> = []
    const handlers: Array<RequestHandler> = []
    for (const { provider, simulation } of modules) {
      const declarations = provider.declarations
      const key = yield* firstKey(declarations.apiKeyEnv)
      const baseURLEnv = declarations.baseURLEnv
      const baseURL =
        baseURLEnv !== undefined ? Option.getOrUndefined(yield* Config.option(Config.String(baseURLEnv))) : undefined
      if (Option.isSome(key)) {
        const client = provider.makeClient({ apiKey: key.value.key, ...(baseURL !== undefined ? { baseURL } : {}) })
        entries.push(entry(provider, client, "live"))
        status.push({
          name: provider.name,
          mode: "live",
          detail: `key from ${key.value.name}, ${client.options.baseURL}`
        })
      } else if (simulation !== undefined && options.simulate) {
        const client = provider.makeClient({ apiKey: simulation.apiKey, baseURL: simulation.baseURL })
        entries.push(entry(provider, client, "simulated"))
        handlers.push(...simulation.handlers())
        status.push({
          name: provider.name,
          mode: "simulated",
          detail: `no ${declarations.apiKeyEnv.join(" or ")}: answers come from its built-in simulation`
        })
      } else {
        status.push({
          name: provider.name,
          mode: "disabled",
          detail:
            simulation === undefined
              ? `no ${declarations.apiKeyEnv.join(" or ")} and no simulation available`
              : `no ${declarations.apiKeyEnv.join(" or ")} and CONDUIT_SIMULATE=0`
        })
      }
    }
    return { entries, status, handlers }
  })

/**
 * Entries for the OpenAI-compatible backends of a models.yaml (`providers:`), reported as mode `config`.
 */
export const backends = (
  config: ModelsConfig.ModelsConfig
): Effect.Effect<
  { readonly entries: ReadonlyArray<ProviderRegistry.ProviderEntry>; readonly status: ReadonlyArray<Status> },
  Config.ConfigError
> =>
  Effect.map(ProviderRegistry.backendEntries(config.providers ?? {}), (entries) => ({
    entries,
    status: entries.map((entry) => ({
      name: entry.name,
      mode: "config" as const,
      detail: `models.yaml backend ${config.providers?.[entry.name]?.baseURL ?? ""}`
    }))
  }))

/**
 * Starts the simulation handlers in this process (msw `setupServer`) for the lifetime of the scope. Requests no
 * handler answers (live providers, Redis, anything else) pass through untouched (`onUnhandledFrame: "bypass"`).
 * Does nothing when there are no handlers.
 */
export const startSimulation = (handlers: ReadonlyArray<RequestHandler>): Effect.Effect<void, never, Scope.Scope> =>
  handlers.length === 0
    ? Effect.void
    : Effect.acquireRelease(
        Effect.sync(() => {
          const server = setupServer(...handlers)
          server.listen({ onUnhandledFrame: "bypass" })
          return server
        }),
        (server) => Effect.sync(() => server.close())
      ).pipe(Effect.asVoid)

/**
 * The providers this gateway ships with, from `@conduit-llm/provider-kimi` and `@conduit-llm/provider-glm` (each
 * with the simulation of its testing entry point).
 */
export const builtin: ReadonlyArray<ProviderModule> = []
