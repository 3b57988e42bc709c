/**
 * The provider builder: a provider's declarations in, the whole provider out.
 *
 * Declarations: name, base URLs (by region or plan), the environment variables that hold the key and the base URL,
 * the model catalog, the error table, request-id headers, and everything of `OpenAiCompatLanguageModel.ProviderSpec`
 * (request shaping, response hooks, reasoning-replay policy, continuation strategy, server-executed tools).
 *
 * Out:
 * - `Client`: the provider's transport service, with `layer(options)` and `layerConfig(options)` (key from
 *   `Config.Redacted` of the declared variables, never logged; base URL from the declared variable, else the
 *   default for the chosen region/plan);
 * - `layer(model, config)`, `model(model, config)`: `effect/ai` model constructors;
 * - `promise(options)`: the Promise face (`chat`, `stream`, `listModels`).
 *
 * A missing key is an `AuthenticationError` (`kind: "MissingKey"`) naming the variables the key is read from
 * ({@link missingKey}), before any HTTP call: `clientLayerConfig` fails with it, `promise` throws it as a
 * `PromiseClient.ConduitError`, and a client built without a key fails every call with it.
 *
 * The MSW testing handlers live in `@conduitkit/core/testing` so this entry never loads `msw` (an optional peer):
 * `ProviderMock.make({ provider, fixtures })` answers chat (non-stream and SSE with `[DONE]`) and `/models` for a
 * provider built here, checks the key and the model, and answers the provider's own error bodies. A provider's
 * `./testing` entry exports them (`handlers`); kimi and glm have richer mocks of their own (`KimiMock`, `GlmMock`).
 *
 * `@conduitkit/provider-kimi` and `@conduitkit/provider-glm` are built on it; a plain OpenAI-compatible backend is
 * a handful of declarations (see `docs/adding-a-provider.md`).
 *
 * @since 0.1.0
 */
import { Config, ConfigProvider, Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { AiError, type LanguageModel, type Model } from "effect/ai"
import type * as ModelCatalog from "./ModelCatalog.js"
import * as OpenAiCompatClient from "./OpenAiCompatClient.js"
import * as OpenAiCompatLanguageModel from "./OpenAiCompatLanguageModel.js"
import * as PromiseClient from "./PromiseClient.js"
import type * as ProviderError from "./ProviderError.js"

/**
 * Options a user passes to build a provider's client. Everything is optional where the declarations or the
 * environment supply it.
 *
 * - `apiKey`: a string or `Redacted` (strings are wrapped at once and never logged).
 * - `baseURL`: overrides the region/plan default (a proxy, a regional host, a test server).
 * - `region` / `plan`: select a declared base URL (`"global"`, `"cn"`, `"coding"`, ...).
 * - `headers`: extra headers (e.g. a `User-Agent`). `fetch`: a custom fetch.
 *
 * @since 0.1.0
 */
export interface ClientOptions {
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly baseURL?: string | undefined
  readonly region?: string | undefined
  readonly plan?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
}

/**
 * A provider's declarations.
 *
 * - `baseURLs`: named endpoints; `resolveBaseURL` picks one from the options (default: `options.baseURL`, else
 *   `baseURLs[options.plan ?? options.region ?? "default"]`, else `baseURLs.default`).
 * - `apiKeyEnv`: variables tried in order for the key; `baseURLEnv`: the variable that overrides the base URL.
 * - `headers`: default headers (options' headers win).
 * - `auth`: turns the configured key into the bearer credential per request (e.g. Zhipu's JWT mode); default:
 *   the key itself.
 * - `defaultModel`: used by the Promise face when a request names no model.
 *
 * @since 0.1.0
 */
export interface Declarations extends OpenAiCompatLanguageModel.ProviderSpec {
  readonly baseURLs: { readonly default: string; readonly [name: string]: string }
  readonly apiKeyEnv: ReadonlyArray<string>
  readonly baseURLEnv?: string | undefined
  readonly errorTable: ProviderError.ErrorTable
  readonly requestIdHeaders?: ReadonlyArray<string> | undefined
  /** The response `id` is the request id (see `OpenAiCompatClient.ClientConfig`). */
  readonly responseIdIsRequestId?: boolean | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly defaultModel: string
  readonly resolveBaseURL?: ((options: ClientOptions) => string | undefined) | undefined
  readonly auth?:
    | ((
        apiKey: Redacted.Redacted<string>,
        options: ClientOptions
      ) => Effect.Effect<Redacted.Redacted<string>, AiError.AiError>)
    | undefined
}

/**
 * The provider's client service: the transport plus the options it was built with (key excluded).
 *
 * @since 0.1.0
 */
export interface ProviderClient extends OpenAiCompatClient.OpenAiCompatClientShape {
  readonly options: Omit<ClientOptions, "apiKey"> & { readonly baseURL: string }
}

/**
 * What the builder returns.
 *
 * @since 0.1.0
 */
export interface Provider<Name extends string> {
  readonly name: Name
  readonly declarations: Declarations
  readonly catalog: ModelCatalog.Catalog
  /** The client service tag (`@conduitkit/provider-<name>/Client`). */
  readonly Client: Context.Service<ProviderClient, ProviderClient>
  /**
   * Builds a client. Without a key (from JavaScript, where the type does not stop it) every call fails with
   * {@link missingKey}; use `clientLayerConfig` to read the key from the environment.
   */
  readonly makeClient: (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> }
  ) => ProviderClient
  readonly clientLayer: (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> }
  ) => Layer.Layer<ProviderClient>
  /**
   * The client from the environment (`apiKeyEnv`, `baseURLEnv`), with `options` as overrides. Fails with
   * {@link missingKey} when neither `options.apiKey` nor any of the variables is set.
   */
  readonly clientFromConfig: (
    options?: ClientOptions
  ) => Effect.Effect<ProviderClient, Config.ConfigError | AiError.AiError>
  /** {@link Provider.clientFromConfig} as a layer of the `Client` service. */
  readonly clientLayerConfig: (
    options?: ClientOptions
  ) => Layer.Layer<ProviderClient, Config.ConfigError | AiError.AiError>
  readonly layer: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Layer.Layer<LanguageModel.LanguageModel, never, ProviderClient>
  readonly model: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Model.Model<Name, LanguageModel.LanguageModel, ProviderClient>
  /**
   * The Promise face over a client built from `options` (the key from `options.apiKey`, else the first of
   * `apiKeyEnv` that is set). Throws {@link missingKey} as a `PromiseClient.ConduitError` when there is none.
   */
  readonly promise: (
    options?: ClientOptions,
    extras?: PromiseExtras
  ) => PromiseClient.PromiseClient & {
    readonly client: ProviderClient
  }
}

/**
 * What a provider's Promise face sets beyond the declarations: `listModels` (default: the catalog) and
 * `defaultModel` (default: the declarations').
 *
 * @since 0.1.0
 */
export interface PromiseExtras {
  readonly listModels?:
    | ((client: ProviderClient) => Effect.Effect<ReadonlyArray<ModelCatalog.ModelInfo>, AiError.AiError>)
    | undefined
  readonly defaultModel?: string | undefined
}

/**
 * The failure of a missing key: an `AuthenticationError` (`kind: "MissingKey"`, `conduit.kind = "missing-key"`)
 * naming the variables the key is read from (e.g. "set MOONSHOT_API_KEY or KIMI_API_KEY, or pass apiKey").
 *
 * @since 0.1.0
 */
export const missingKey = (declarations: Pick<Declarations, "name" | "apiKeyEnv">): AiError.AiError =>
  AiError.make({
    module: "OpenAiCompatProvider",
    method: "apiKey",
    reason: new AiError.AuthenticationError({
      kind: "MissingKey",
      description: `no API key for ${declarations.name}: set ${declarations.apiKeyEnv.join(" or ")}, or pass apiKey`,
      metadata: { conduit: { kind: "missing-key", provider: declarations.name } }
    })
  })

const toRedacted = (key: string | Redacted.Redacted<string>) => (Redacted.isRedacted(key) ? key : Redacted.make(key))

/**
 * Builds a provider from its declarations.
 *
 * @since 0.1.0
 */
export const make = <const Name extends string>(
  declarations: Declarations & { readonly name: Name }
): Provider<Name> => {
  const Client = Context.Service<ProviderClient, ProviderClient>(`@conduitkit/provider-${declarations.name}/Client`)

  const baseURLOf = (options: ClientOptions) =>
    options.baseURL ??
    declarations.resolveBaseURL?.(options) ??
    declarations.baseURLs[options.plan ?? options.region ?? "default"] ??
    declarations.baseURLs.default

  const makeClient = (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> }
  ): ProviderClient => {
    const key = options.apiKey === undefined ? undefined : toRedacted(options.apiKey)
    const baseURL = baseURLOf(options)
    const transport = OpenAiCompatClient.make({
      provider: declarations.name,
      apiKey:
        key === undefined
          ? Effect.fail(missingKey(declarations))
          : declarations.auth
            ? declarations.auth(key, options)
            : key,
      baseURL,
      headers: { ...(declarations.headers ?? {}), ...(options.headers ?? {}) },
      fetch: options.fetch,
      errorTable: declarations.errorTable,
      requestIdHeaders: declarations.requestIdHeaders,
      responseIdIsRequestId: declarations.responseIdIsRequestId
    })
    const { apiKey: _key, ...rest } = options
    return { ...transport, options: { ...rest, baseURL } }
  }

  // The first of the declared variables that is set, or the missing-key failure naming them all.
  const apiKeyFromEnv: Effect.Effect<Redacted.Redacted<string>, Config.ConfigError | AiError.AiError> = Effect.gen(
    function* () {
      for (const name of declarations.apiKeyEnv) {
        const value = yield* Config.option(Config.Redacted(name))
        // a blank variable (`MOONSHOT_API_KEY=` in a shell) is as good as unset
        if (Option.isSome(value) && Redacted.value(value.value).trim() !== "") return value.value
      }
      return yield* Effect.fail(missingKey(declarations))
    }
  )

  const clientFromConfig = (options: ClientOptions = {}) =>
    Effect.gen(function* () {
      const apiKey = options.apiKey !== undefined ? toRedacted(options.apiKey) : yield* apiKeyFromEnv
      const envBaseURL =
        declarations.baseURLEnv !== undefined
          ? yield* Config.option(Config.String(declarations.baseURLEnv))
          : Option.none()
      return makeClient({
        ...options,
        apiKey,
        ...(options.baseURL === undefined && Option.isSome(envBaseURL) ? { baseURL: envBaseURL.value } : {})
      })
    })

  // The Promise face's client: the key from the options, else the environment; none is a ConduitError at once.
  const promiseClient = (options: ClientOptions): ProviderClient => {
    if (options.apiKey !== undefined) return makeClient({ ...options, apiKey: options.apiKey })
    // the environment as it is now (Effect's default provider is a snapshot taken at its first use)
    const fromEnv = Effect.runSyncExit(
      Effect.provideService(apiKeyFromEnv, ConfigProvider.ConfigProvider, ConfigProvider.fromEnv())
    )
    if (Exit.isSuccess(fromEnv)) return makeClient({ ...options, apiKey: fromEnv.value })
    throw new PromiseClient.ConduitError(missingKey(declarations))
  }

  const layer = (model: string, config?: OpenAiCompatLanguageModel.ModelConfig) =>
    OpenAiCompatLanguageModel.layer({ spec: declarations, clientTag: Client, model, config })

  return {
    name: declarations.name,
    declarations,
    catalog: declarations.catalog,
    Client,
    makeClient,
    clientLayer: (options) => Layer.succeed(Client, makeClient(options)),
    clientFromConfig,
    clientLayerConfig: (options) => Layer.effect(Client, clientFromConfig(options)),
    layer,
    model: (model, config) =>
      OpenAiCompatLanguageModel.model({
        provider: declarations.name,
        spec: declarations,
        clientTag: Client,
        model,
        config
      }),
    promise: (options = {}, extras = {}) => {
      const client = promiseClient(options)
      const clientLayer = Layer.succeed(Client, client)
      return {
        ...PromiseClient.make({
          layer: (model) => Layer.provide(layer(model), clientLayer),
          defaultModel: extras.defaultModel ?? declarations.defaultModel,
          listModels: () => (extras.listModels ? extras.listModels(client) : Effect.succeed(declarations.catalog.list))
        }),
        client
      }
    }
  }
}
