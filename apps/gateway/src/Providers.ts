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
 * - `simulated`: no key and a simulation available, with `CONDUIT_SIMULATE=1`, or by default while no provider is
 *   live: the client targets the simulation's base URL with its test key, and the handlers are returned for
 *   {@link startSimulation}. Its answers carry `x-conduit-simulated: true`; no route falls back onto it from a
 *   provider that is not simulated (see `ModelRoutes`).
 * - `disabled`: otherwise (the provider is not routable, and the first log line says why): with `CONDUIT_SIMULATE=0`,
 *   or by default once any provider is live.
 *
 * Each provider's client (one `openai` SDK instance) is built once here and shared by all its model layers.
 * Backends declared under `providers:` in models.yaml are added by `ProviderRegistry.backendEntries` (mode
 * `config`).
 */
import {
  type EmbeddingCatalog,
  type ModelCatalog,
  ModelsConfig,
  type OpenAiCompatLanguageModel,
  type OpenAiCompatProvider,
  ProviderRegistry
} from "@conduitkit/core"
import { GlmEmbeddingModel, GlmProvider } from "@conduitkit/provider-glm"
import { KimiProvider } from "@conduitkit/provider-kimi"
import { Config, Effect, Layer, Option, Redacted, type Scope } from "effect"
import type { LanguageModel } from "effect/ai"
import type { RequestHandler } from "msw"
import * as Errors from "./Errors.js"

/** How a provider runs. */
export type Mode = "live" | "simulated" | "disabled" | "config"

/**
 * A provider's simulation: MSW handlers answering at `baseURL` for requests bearing `apiKey`. `handlers` loads the
 * mock (a dynamic import of the provider's testing entry point) only when the provider is simulated, so a live
 * gateway never loads MSW, the mocks or their test-runner dependencies (~12 MB of heap, ~0.3 s of start-up).
 */
export interface Simulation {
  readonly baseURL: string
  readonly apiKey: string
  readonly handlers: () => Promise<ReadonlyArray<RequestHandler>>
}

/** A provider connected to one endpoint with one key: its base URL, its client and its model layers (sharing it). */
export interface Connection {
  readonly baseURL: string
  /** The one client (core's transport) the model layers share: for the provider's other endpoints (files, search). */
  readonly client: OpenAiCompatProvider.ProviderClient
  readonly layer: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Layer.Layer<LanguageModel.LanguageModel>
  /** Its embedding models over the same client, when the provider has any. */
  readonly embeddings?: EmbeddingCatalog.EmbeddingProvider | undefined
}

/**
 * A provider the gateway can route to: its name and catalog, the variables of its key (tried in order) and base URL,
 * how to connect it, and optionally how to simulate it.
 */
export interface ProviderModule {
  readonly name: string
  readonly catalog: ModelCatalog.Catalog
  readonly apiKeyEnv: ReadonlyArray<string>
  readonly baseURLEnv?: string | undefined
  readonly connect: (options: {
    readonly apiKey: Redacted.Redacted<string>
    readonly baseURL?: string | undefined
  }) => Connection
  readonly simulation?: Simulation | undefined
}

/** What {@link wire} decided for one provider (`detail` is for the startup log: base URL or reason). */
export interface Status {
  readonly name: string
  readonly mode: Mode
  readonly detail: string
}

/**
 * The wired providers: registry entries, each provider's status, the simulation handlers to start, and the client of
 * each provider that is not disabled (by provider name).
 */
export interface Wired {
  readonly entries: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly status: ReadonlyArray<Status>
  readonly handlers: ReadonlyArray<RequestHandler>
  readonly clients: ReadonlyMap<string, OpenAiCompatProvider.ProviderClient>
}

/**
 * A module for a provider made with core's builder (`OpenAiCompatProvider.make`): its declarations name the key and
 * base URL variables, `makeClient` builds the one client, `layer` the models, and `embeddings` (when given) its
 * embedding models over that client.
 */
export const fromProvider = (
  // biome-ignore lint/suspicious/noExplicitAny: any provider name
  provider: OpenAiCompatProvider.Provider<any>,
  simulation?: Simulation,
  embeddings?: (client: OpenAiCompatProvider.ProviderClient) => EmbeddingCatalog.EmbeddingProvider
): ProviderModule => ({
  name: provider.name,
  catalog: provider.catalog,
  apiKeyEnv: provider.declarations.apiKeyEnv,
  baseURLEnv: provider.declarations.baseURLEnv,
  connect: (options) => {
    const client = provider.makeClient({
      apiKey: options.apiKey,
      ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {})
    })
    const layer = Layer.succeed(provider.Client, client)
    return {
      baseURL: client.options.baseURL,
      client,
      layer: (model, config) => Layer.provide(provider.layer(model, config), layer),
      ...(embeddings !== undefined ? { embeddings: embeddings(client) } : {})
    }
  },
  ...(simulation !== undefined ? { simulation } : {})
})

/** The registry entry of a connected module, reported as `mode` in listings. */
export const entry = (module: ProviderModule, connection: Connection, mode: Mode): ProviderRegistry.ProviderEntry => ({
  name: module.name,
  catalog: module.catalog,
  layer: connection.layer,
  mode,
  ...(connection.embeddings !== undefined ? { embeddings: connection.embeddings } : {})
})

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
 * registry entries. A provider without a key is simulated when `simulate` is `true` (`CONDUIT_SIMULATE=1`), disabled
 * when it is `false`, and by default (`undefined`) simulated only while nothing is live: once a provider has a key
 * (or `live` says another backend is live, e.g. a models.yaml backend), a simulated answer could pass for a real one,
 * so the providers without a key are disabled unless simulation was asked for.
 */
export const wire = (
  modules: ReadonlyArray<ProviderModule>,
  options: { readonly simulate: boolean | undefined; readonly live?: boolean | undefined }
): Effect.Effect<Wired, Config.ConfigError> =>
  Effect.gen(function* () {
    const entries: Array<ProviderRegistry.ProviderEntry> = []
    const status: Array<Status> = []
    const handlers: Array<RequestHandler> = []
    const clients = new Map<string, OpenAiCompatProvider.ProviderClient>()
    const keys: Array<Option.Option<{ readonly name: string; readonly key: Redacted.Redacted<string> }>> = []
    for (const module of modules) keys.push(yield* firstKey(module.apiKeyEnv))
    const anyLive = options.live === true || keys.some(Option.isSome)
    const simulate = options.simulate ?? !anyLive
    for (const [index, module] of modules.entries()) {
      const key = keys[index] ?? Option.none()
      const baseURL =
        module.baseURLEnv !== undefined
          ? Option.getOrUndefined(yield* Config.option(Config.String(module.baseURLEnv)))
          : undefined
      const names = module.apiKeyEnv.join(" or ")
      if (Option.isSome(key)) {
        const connection = module.connect({ apiKey: key.value.key, baseURL })
        clients.set(module.name, connection.client)
        entries.push(entry(module, connection, "live"))
        status.push({
          name: module.name,
          mode: "live",
          detail: `key from ${key.value.name}, ${Errors.logDetail(connection.baseURL)}`
        })
      } else if (module.simulation !== undefined && simulate) {
        const simulation = module.simulation
        const connection = module.connect({ apiKey: Redacted.make(simulation.apiKey), baseURL: simulation.baseURL })
        clients.set(module.name, connection.client)
        entries.push(entry(module, connection, "simulated"))
        handlers.push(...(yield* Effect.promise(simulation.handlers)))
        status.push({
          name: module.name,
          mode: "simulated",
          detail: `no ${names}: answered by its built-in simulation (responses carry x-conduit-simulated: true)`
        })
      } else {
        status.push({
          name: module.name,
          mode: "disabled",
          detail:
            module.simulation === undefined
              ? `no ${names} and no simulation available`
              : options.simulate === false
                ? `no ${names} and CONDUIT_SIMULATE=0`
                : `no ${names}; not simulated next to a live provider (CONDUIT_SIMULATE=1 simulates it)`
        })
      }
    }
    return { entries, status, handlers, clients }
  })

/**
 * Entries for the OpenAI-compatible backends of a models.yaml (`providers:`), reported as mode `config`. A backend
 * whose `apiKeyEnv` variable is unset is reported `disabled` with the reason naming the variable (and gets no entry:
 * requests to it answer 503 saying so) instead of stopping the gateway.
 */
export const backends = (
  config: ModelsConfig.ModelsConfig
): Effect.Effect<
  { readonly entries: ReadonlyArray<ProviderRegistry.ProviderEntry>; readonly status: ReadonlyArray<Status> },
  Config.ConfigError
> =>
  Effect.gen(function* () {
    const usable: Record<string, ModelsConfig.BackendConfig> = {}
    const status: Array<Status> = []
    for (const [name, backend] of Object.entries(config.providers ?? {})) {
      const keyEnv = backend.apiKeyEnv
      if (keyEnv !== undefined && Option.isNone(yield* Config.option(Config.Redacted(keyEnv)))) {
        status.push({ name, mode: "disabled", detail: `its key variable ${keyEnv} is not set` })
        continue
      }
      usable[name] = backend
      status.push({ name, mode: "config", detail: `models.yaml backend ${Errors.logDetail(backend.baseURL)}` })
    }
    const entries = yield* ProviderRegistry.backendEntries(usable)
    return { entries, status }
  })

/**
 * Everything a front door needs from the configuration, in one place (the gateway's and the MCP server's `main`):
 * models.yaml when `modelsFile` is set (its errors name file:line:field), the {@link builtin} providers
 * {@link wire}d, the models.yaml {@link backends}, and every provider's status (built-in first). The simulation
 * handlers still have to be started ({@link startSimulation}).
 */
export const fromConfig = (config: {
  readonly modelsFile: string | undefined
  readonly simulate: boolean | undefined
}): Effect.Effect<
  Wired & { readonly models: ModelsConfig.ModelsConfig | undefined },
  Config.ConfigError | ModelsConfig.ModelsConfigError
> =>
  Effect.gen(function* () {
    const models = config.modelsFile !== undefined ? yield* ModelsConfig.load(config.modelsFile) : undefined
    const extra = models !== undefined ? yield* backends(models) : { entries: [], status: [] }
    // a usable models.yaml backend is live: the built-in providers without a key are then not simulated by default
    const wired = yield* wire(builtin, { simulate: config.simulate, live: extra.entries.length > 0 })
    return {
      models,
      entries: [...wired.entries, ...extra.entries],
      status: [...wired.status, ...extra.status],
      handlers: wired.handlers,
      clients: wired.clients
    }
  })

/**
 * Starts the simulation handlers in this process (msw `setupServer`, imported on demand) for the lifetime of the
 * scope. Requests no handler answers (live providers, Redis, anything else) pass through untouched
 * (`onUnhandledFrame: "bypass"`). Does nothing when there are no handlers.
 */
export const startSimulation = (handlers: ReadonlyArray<RequestHandler>): Effect.Effect<void, never, Scope.Scope> =>
  handlers.length === 0
    ? Effect.void
    : Effect.acquireRelease(
        Effect.map(
          Effect.promise(() => import("msw/node")),
          ({ setupServer }) => {
            const server = setupServer(...handlers)
            server.listen({ onUnhandledFrame: "bypass" })
            return server
          }
        ),
        (server) => Effect.sync(() => server.close())
      ).pipe(Effect.asVoid)

const kimiSimulation = { baseURL: "https://api.moonshot.ai.simulated.invalid/v1", apiKey: "sk-test-kimi" }
const glmSimulation = { baseURL: "https://api.z.ai.simulated.invalid/api/paas/v4", apiKey: "test-key" }

/**
 * Moonshot Kimi (`@conduitkit/provider-kimi`): `MOONSHOT_API_KEY` / `KIMI_API_KEY`, `MOONSHOT_BASE_URL`; simulated by
 * its testing entry point's `KimiMock` (Moonshot's validations and wire format) at a `.invalid` host, so a missing
 * handler can never reach the real API.
 */
export const kimi: ProviderModule = fromProvider(KimiProvider.provider, {
  ...kimiSimulation,
  handlers: () =>
    import("@conduitkit/provider-kimi/testing").then(({ KimiMock }) => KimiMock.make(kimiSimulation).handlers)
})

/**
 * Zhipu GLM / Z.ai (`@conduitkit/provider-glm`): `ZAI_API_KEY` / `ZHIPUAI_API_KEY`, `ZAI_BASE_URL`; the provider core
 * builds from GLM's declarations (the same client and model as `GlmClient` / `GlmLanguageModel`), simulated by
 * `GlmMock`; its embedding models (`GlmEmbeddingModel`: `glm/embedding-3`, `glm/embedding-2`) share the client.
 */
export const glm: ProviderModule = fromProvider(
  GlmProvider.provider,
  {
    ...glmSimulation,
    handlers: () =>
      import("@conduitkit/provider-glm/testing").then(({ GlmMock }) => GlmMock.make(glmSimulation).handlers)
  },
  GlmEmbeddingModel.provider
)

/** The providers this gateway ships with: {@link kimi} and {@link glm}. */
export const builtin: ReadonlyArray<ProviderModule> = [kimi, glm]
