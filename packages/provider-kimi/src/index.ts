/**
 * @conduitkit/provider-kimi: the Moonshot Kimi provider for Conduit.
 *
 * - Effect face: `KimiLanguageModel.model("kimi-k3")` is an `effect/ai` model (`Chat`, `Toolkit`, `generateObject`,
 *   `ExecutionPlan` work unchanged) over a `KimiClient` (`KimiClient.layerConfig()` reads `MOONSHOT_API_KEY`).
 * - Promise face: {@link createKimi} (`chat`, `stream`, `listModels`, `files`, `countTokens`, `getBalance`,
 *   `contextCache`).
 * - Modules: `KimiModels` (catalog), `KimiConfig` (provider options), `KimiError` (error table), `KimiWebSearch`
 *   (`$web_search`), `KimiFiles`, `KimiContextCache`, `KimiTokenizer`, `KimiProvider` (declarations).
 *
 * @since 0.1.0
 */
import { type ChatCompletions, type OpenAiCompatProvider, PromiseClient } from "@conduitkit/core"
import { Effect, Layer, type Redacted } from "effect"
import { type AiError, LanguageModel } from "effect/ai"
import { KimiClient as KimiClientTag } from "./internal/service.js"
import * as KimiClientModule from "./KimiClient.js"
import * as KimiContextCacheModule from "./KimiContextCache.js"
import * as KimiFilesModule from "./KimiFiles.js"
import * as KimiLanguageModelModule from "./KimiLanguageModel.js"
import * as KimiModelsModule from "./KimiModels.js"
import * as KimiProviderModule from "./KimiProvider.js"
import * as KimiTokenizerModule from "./KimiTokenizer.js"

/**
 * The client service, its options and layers.
 *
 * @since 0.1.0
 */
export * as KimiClient from "./KimiClient.js"
/**
 * Typed provider options (thinking, reasoning effort, prompt cache key, partial mode, context cache) and per-call
 * overrides.
 *
 * @since 0.1.0
 */
export * as KimiConfig from "./KimiConfig.js"
/**
 * Explicit context caches, references, and the prefix registry.
 *
 * @since 0.1.0
 */
export * as KimiContextCache from "./KimiContextCache.js"
/**
 * The error table.
 *
 * @since 0.1.0
 */
export * as KimiError from "./KimiError.js"
/**
 * The files API and prompt helpers.
 *
 * @since 0.1.0
 */
export * as KimiFiles from "./KimiFiles.js"
/**
 * `model` / `layer` / `make`.
 *
 * @since 0.1.0
 */
export * as KimiLanguageModel from "./KimiLanguageModel.js"
/**
 * The model catalog and the live listing.
 *
 * @since 0.1.0
 */
export * as KimiModels from "./KimiModels.js"
/**
 * The provider declarations and the built provider.
 *
 * @since 0.1.0
 */
export * as KimiProvider from "./KimiProvider.js"
/**
 * Exact token counts and the balance.
 *
 * @since 0.1.0
 */
export * as KimiTokenizer from "./KimiTokenizer.js"
/**
 * `$web_search` as a provider-defined tool.
 *
 * @since 0.1.0
 */
export * as KimiWebSearch from "./KimiWebSearch.js"

/**
 * Options of {@link createKimi}: the client options (`apiKey` required; `baseURL`, `region: "global" | "cn"`,
 * `plan: "open" | "coding"`, `userAgent`, `headers`, `fetch`, `provider`).
 *
 * @since 0.1.0
 */
export interface CreateKimiOptions extends KimiClientModule.Options {
  readonly apiKey: string | Redacted.Redacted<string>
}

/**
 * The Promise face. Every method rejects with core's `PromiseClient.ConduitError` (carrying the `effect/ai` reason,
 * status, request id and retry advice) on failure.
 *
 * - `chat`, `stream`, `listModels` (`GET /v1/models` merged over the catalog), `close`: core's Promise client.
 *   Requests without `model` use `kimi-k3` (`kimi-for-coding` with `plan: "coding"`). Provider options go in
 *   `providerOptions` (`KimiConfig.ProviderOptions`). Web search: put the built-in in `tools`
 *   (`{ type: "builtin_function", function: { name: "$web_search" } }`, i.e. `KimiWebSearch.declaration`); the
 *   searches are answered server-side like on the Effect face and come back as provider-executed tool calls named
 *   `$web_search`, the declared wire name (core passes the built-in as `extraTools`, not as a toolkit tool, so a
 *   stream has no `tool-result` part for them); `KimiWebSearch.usageOf(result)` sums them.
 * - `files`: upload (path or bytes; 100 MB default limit), list, retrieve, content, delete, and the prompt helpers.
 * - `countTokens`: exact prompt tokens of `{ model?, messages, tools? }`.
 * - `getBalance`, `contextCache` (explicit cache API).
 * - `client`: the underlying `KimiClient` service value (for the Effect face).
 *
 * @since 0.1.0
 */
export interface KimiPromiseClient extends PromiseClient.PromiseClient {
  readonly client: OpenAiCompatProvider.ProviderClient
  readonly files: {
    readonly upload: (options: KimiFilesModule.UploadOptions) => Promise<KimiFilesModule.FileObject>
    readonly list: () => Promise<ReadonlyArray<KimiFilesModule.FileObject>>
    readonly retrieve: (fileId: string) => Promise<KimiFilesModule.FileObject>
    readonly content: (fileId: string) => Promise<KimiFilesModule.ExtractedFile>
    readonly delete: (fileId: string) => Promise<KimiFilesModule.Deleted>
    readonly toSystemMessages: typeof KimiFilesModule.toWireSystemMessages
    readonly reference: typeof KimiFilesModule.reference
    readonly wirePart: typeof KimiFilesModule.wirePart
  }
  readonly countTokens: (request: {
    readonly model?: string | undefined
    readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
    readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  }) => Promise<number>
  readonly getBalance: () => Promise<KimiTokenizerModule.Balance>
  readonly contextCache: {
    readonly create: (params: KimiContextCacheModule.CreateParams) => Promise<KimiContextCacheModule.ContextCacheObject>
    readonly list: (
      query?: KimiContextCacheModule.ListQuery
    ) => Promise<ReadonlyArray<KimiContextCacheModule.ContextCacheObject>>
    readonly get: (cacheId: string) => Promise<KimiContextCacheModule.ContextCacheObject>
    readonly update: (
      cacheId: string,
      params: Parameters<typeof KimiContextCacheModule.update>[1]
    ) => Promise<KimiContextCacheModule.ContextCacheObject>
    readonly delete: (cacheId: string) => Promise<KimiContextCacheModule.DeleteResult>
    readonly createTag: (tag: string, cacheId: string) => Promise<KimiContextCacheModule.CacheTag>
    readonly listTags: () => Promise<ReadonlyArray<KimiContextCacheModule.CacheTag>>
    readonly getTag: (tag: string) => Promise<KimiContextCacheModule.CacheTag>
    readonly getTagContent: (tag: string) => Promise<KimiContextCacheModule.ContextCacheObject>
    readonly deleteTag: (tag: string) => Promise<KimiContextCacheModule.DeleteResult>
  }
}

/**
 * Creates the Promise face (a thin runtime over the Effect face: core's Promise client over `KimiLanguageModel` and
 * a `KimiClient`, plus Kimi's endpoints).
 *
 * @since 0.1.0
 */
export const createKimi = (options: CreateKimiOptions): KimiPromiseClient => {
  const provider = options.provider ?? KimiProviderModule.provider
  const client = KimiClientModule.make(options)
  const clientLayer = Layer.succeed(KimiClientTag, client)
  const defaultModel =
    options.plan === "coding" ? KimiProviderModule.defaultModels.coding : KimiProviderModule.defaultModels.open
  const base = PromiseClient.make({
    layer: (model) =>
      Layer.effect(LanguageModel.LanguageModel, KimiLanguageModelModule.make(model, undefined, provider)).pipe(
        Layer.provide(clientLayer)
      ),
    defaultModel,
    listModels: () => KimiModelsModule.listModelsWith(client, provider.catalog)
  })
  const run = <A>(effect: Effect.Effect<A, AiError.AiError, KimiClientTag>): Promise<A> =>
    PromiseClient.run(Effect.provideService(effect, KimiClientTag, client))
  return {
    ...base,
    client,
    files: {
      upload: (upload) => run(KimiFilesModule.upload(upload)),
      list: () => run(KimiFilesModule.list()),
      retrieve: (fileId) => run(KimiFilesModule.retrieve(fileId)),
      content: (fileId) => run(KimiFilesModule.content(fileId)),
      delete: (fileId) => run(KimiFilesModule.remove(fileId)),
      toSystemMessages: KimiFilesModule.toWireSystemMessages,
      reference: KimiFilesModule.reference,
      wirePart: KimiFilesModule.wirePart
    },
    countTokens: (request) =>
      run(
        KimiTokenizerModule.countTokens({
          model: request.model ?? defaultModel,
          messages: request.messages,
          tools: request.tools
        })
      ),
    getBalance: () => run(KimiTokenizerModule.getBalance()),
    contextCache: {
      create: (params) => run(KimiContextCacheModule.create(params)),
      list: (query) => run(KimiContextCacheModule.list(query)),
      get: (cacheId) => run(KimiContextCacheModule.get(cacheId)),
      update: (cacheId, params) => run(KimiContextCacheModule.update(cacheId, params)),
      delete: (cacheId) => run(KimiContextCacheModule.remove(cacheId)),
      createTag: (tag, cacheId) => run(KimiContextCacheModule.createTag(tag, cacheId)),
      listTags: () => run(KimiContextCacheModule.listTags()),
      getTag: (tag) => run(KimiContextCacheModule.getTag(tag)),
      getTagContent: (tag) => run(KimiContextCacheModule.getTagContent(tag)),
      deleteTag: (tag) => run(KimiContextCacheModule.deleteTag(tag))
    }
  }
}
