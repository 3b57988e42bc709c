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
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import type { AiError, LanguageModel, Model } from "effect/ai"
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
  /** Builds a client (throws if no key is given: use `layerConfig` to read the environment). */
  readonly makeClient: (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> }
  ) => ProviderClient
  readonly clientLayer: (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> }
  ) => Layer.Layer<ProviderClient>
  /** The client from the environment (`apiKeyEnv`, `baseURLEnv`), with `options` as overrides. */
  readonly clientLayerConfig: (options?: ClientOptions) => Layer.Layer<ProviderClient, Config.ConfigError>
  readonly layer: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Layer.Layer<LanguageModel.LanguageModel, never, ProviderClient>
  readonly model: (
    model: string,
    config?: OpenAiCompatLanguageModel.ModelConfig
  ) => Model.Model<Name, LanguageModel.LanguageModel, ProviderClient>
  readonly promise: (
    options: ClientOptions & { readonly apiKey: string | Redacted.Redacted<string> },
    listModels?: (client: ProviderClient) => Effect.Effect<ReadonlyArray<ModelCatalog.ModelInfo>, AiError.AiError>
  ) => PromiseClient.PromiseClient & { readonly client: ProviderClient }
}

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
    const key = toRedacted(options.apiKey)
    const baseURL = baseURLOf(options)
    const transport = OpenAiCompatClient.make({
      provider: declarations.name,
      apiKey: declarations.auth ? declarations.auth(key, options) : key,
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

  const apiKeyConfig = declarations.apiKeyEnv
    .slice(1)
    .reduce<Config.Config<Redacted.Redacted<string>>>(
      (config, name) => Config.orElse(config, () => Config.Redacted(name)),
      Config.Redacted(declarations.apiKeyEnv[0] ?? `${declarations.name.toUpperCase()}_API_KEY`)
    )

  const clientLayerConfig = (options: ClientOptions = {}) =>
    Layer.effect(
      Client,
      Effect.gen(function* () {
        const apiKey = options.apiKey !== undefined ? toRedacted(options.apiKey) : yield* apiKeyConfig
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
    )

  const layer = (model: string, config?: OpenAiCompatLanguageModel.ModelConfig) =>
    OpenAiCompatLanguageModel.layer({ spec: declarations, clientTag: Client, model, config })

  return {
    name: declarations.name,
    declarations,
    catalog: declarations.catalog,
    Client,
    makeClient,
    clientLayer: (options) => Layer.succeed(Client, makeClient(options)),
    clientLayerConfig,
    layer,
    model: (model, config) =>
      OpenAiCompatLanguageModel.model({
        provider: declarations.name,
        spec: declarations,
        clientTag: Client,
        model,
        config
      }),
    promise: (options, listModels) => {
      const client = makeClient(options)
      const clientLayer = Layer.succeed(Client, client)
      return {
        ...PromiseClient.make({
          layer: (model) => Layer.provide(layer(model), clientLayer),
          defaultModel: declarations.defaultModel,
          listModels: () => (listModels ? listModels(client) : Effect.succeed(declarations.catalog.list))
        }),
        client
      }
    }
  }
}
