/**
 * The Promise face of Kimi: {@link createKimi}, a thin runtime over the Effect face (core's Promise client over the
 * Kimi provider and a `KimiClient`, plus Kimi's endpoints: files, token counts, the balance, context caches).
 *
 * The key: `apiKey`, else `MOONSHOT_API_KEY`, else `KIMI_API_KEY`; with none, `createKimi` throws core's
 * `PromiseClient.ConduitError` (`reason: "AuthenticationError"`, naming both variables) before any HTTP call.
 *
 * @since 0.1.0
 */
import { type ChatCompletions, type OpenAiCompatProvider, PromiseClient } from "@conduitkit/core"
import { Effect } from "effect"
import type { AiError } from "effect/ai"
import * as KimiClient from "./KimiClient.js"
import * as KimiContextCache from "./KimiContextCache.js"
import * as KimiFiles from "./KimiFiles.js"
import * as KimiModels from "./KimiModels.js"
import * as KimiProvider from "./KimiProvider.js"
import * as KimiTokenizer from "./KimiTokenizer.js"

/**
 * Options of {@link createKimi}: the client options (`apiKey`, else `MOONSHOT_API_KEY`, else `KIMI_API_KEY`;
 * `baseURL`, `region: "global" | "cn"`, `plan: "open" | "coding"`, `userAgent`, `headers`, `fetch`, `provider`).
 *
 * @since 0.1.0
 */
export type CreateKimiOptions = KimiClient.Options

/**
 * The Promise face. Every method rejects with core's `PromiseClient.ConduitError` (carrying the `effect/ai` reason,
 * status, request id and retry advice) on failure.
 *
 * - `chat`, `stream`, `listModels` (`GET /v1/models` merged over the catalog), `close`: core's Promise client.
 *   Requests without `model` use `kimi-k3` (`kimi-for-coding` with `plan: "coding"`). Provider options go in
 *   `providerOptions` (`KimiConfig.ProviderOptions`). Web search: put the built-in in `tools`
 *   (`{ type: "builtin_function", function: { name: "$web_search" } }`, i.e. `KimiWebSearch.declaration`); the
 *   searches are answered server-side like on the Effect face and come back as provider-executed tool calls named
 *   `$web_search`, the declared wire name (core passes the built-in as `wireTools`, not as a toolkit tool, so a
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
    readonly upload: (options: KimiFiles.UploadOptions) => Promise<KimiFiles.FileObject>
    readonly list: () => Promise<ReadonlyArray<KimiFiles.FileObject>>
    readonly retrieve: (fileId: string) => Promise<KimiFiles.FileObject>
    readonly content: (fileId: string) => Promise<KimiFiles.ExtractedFile>
    readonly delete: (fileId: string) => Promise<KimiFiles.Deleted>
    readonly toSystemMessages: typeof KimiFiles.toWireSystemMessages
    readonly reference: typeof KimiFiles.reference
    readonly wirePart: typeof KimiFiles.wirePart
  }
  readonly countTokens: (request: {
    readonly model?: string | undefined
    readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
    readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  }) => Promise<number>
  readonly getBalance: () => Promise<KimiTokenizer.Balance>
  readonly contextCache: {
    readonly create: (params: KimiContextCache.CreateParams) => Promise<KimiContextCache.ContextCacheObject>
    readonly list: (query?: KimiContextCache.ListQuery) => Promise<ReadonlyArray<KimiContextCache.ContextCacheObject>>
    readonly get: (cacheId: string) => Promise<KimiContextCache.ContextCacheObject>
    readonly update: (
      cacheId: string,
      params: Parameters<typeof KimiContextCache.update>[1]
    ) => Promise<KimiContextCache.ContextCacheObject>
    readonly delete: (cacheId: string) => Promise<KimiContextCache.DeleteResult>
    readonly createTag: (tag: string, cacheId: string) => Promise<KimiContextCache.CacheTag>
    readonly listTags: () => Promise<ReadonlyArray<KimiContextCache.CacheTag>>
    readonly getTag: (tag: string) => Promise<KimiContextCache.CacheTag>
    readonly getTagContent: (tag: string) => Promise<KimiContextCache.ContextCacheObject>
    readonly deleteTag: (tag: string) => Promise<KimiContextCache.DeleteResult>
  }
}

/**
 * Creates the Promise face (a thin runtime over the Effect face: core's Promise client over the Kimi provider and
 * a `KimiClient`, plus Kimi's endpoints). Throws `PromiseClient.ConduitError` when no key is given or set.
 *
 * @since 0.1.0
 */
export const createKimi = (options: CreateKimiOptions = {}): KimiPromiseClient => {
  const provider = options.provider ?? KimiProvider.provider
  const defaultModel = options.plan === "coding" ? KimiProvider.defaultModels.coding : KimiProvider.defaultModels.open
  const base = provider.promise(KimiClient.toClientOptions(options), {
    defaultModel,
    listModels: (client) => KimiModels.listLive(client, provider.catalog)
  })
  const client = base.client
  const run = <A>(effect: Effect.Effect<A, AiError.AiError, KimiClient.KimiClient>): Promise<A> =>
    PromiseClient.run(Effect.provideService(effect, KimiClient.KimiClient, client))
  return {
    ...base,
    client,
    files: {
      upload: (upload) => run(KimiFiles.upload(upload)),
      list: () => run(KimiFiles.list()),
      retrieve: (fileId) => run(KimiFiles.retrieve(fileId)),
      content: (fileId) => run(KimiFiles.content(fileId)),
      delete: (fileId) => run(KimiFiles.remove(fileId)),
      toSystemMessages: KimiFiles.toWireSystemMessages,
      reference: KimiFiles.reference,
      wirePart: KimiFiles.wirePart
    },
    countTokens: (request) =>
      run(
        KimiTokenizer.countTokens({
          model: request.model ?? defaultModel,
          messages: request.messages,
          tools: request.tools
        })
      ),
    getBalance: () => run(KimiTokenizer.getBalance()),
    contextCache: {
      create: (params) => run(KimiContextCache.create(params)),
      list: (query) => run(KimiContextCache.list(query)),
      get: (cacheId) => run(KimiContextCache.get(cacheId)),
      update: (cacheId, params) => run(KimiContextCache.update(cacheId, params)),
      delete: (cacheId) => run(KimiContextCache.remove(cacheId)),
      createTag: (tag, cacheId) => run(KimiContextCache.createTag(tag, cacheId)),
      listTags: () => run(KimiContextCache.listTags()),
      getTag: (tag) => run(KimiContextCache.getTag(tag)),
      getTagContent: (tag) => run(KimiContextCache.getTagContent(tag)),
      deleteTag: (tag) => run(KimiContextCache.deleteTag(tag))
    }
  }
}
