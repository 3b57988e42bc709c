/**
 * The Promise face of GLM: {@link createGlm}, a thin runtime over the Effect face (core's Promise client over the
 * GLM provider, plus GLM's live model listing, web search and token counts).
 *
 * The key: `apiKey`, else `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`; with none, `createGlm` throws core's
 * `PromiseClient.ConduitError` (`reason: "AuthenticationError"`, naming both variables) before any HTTP call.
 *
 * @since 0.1.0
 */
import { type ModelCatalog, type OpenAiCompatProvider, PromiseClient } from "@conduitkit/core"
import { Effect } from "effect"
import * as GlmEmbeddingModel from "./GlmEmbeddingModel.js"
import * as GlmModels from "./GlmModels.js"
import * as GlmProvider from "./GlmProvider.js"
import * as GlmTokenizer from "./GlmTokenizer.js"
import * as GlmWebSearch from "./GlmWebSearch.js"

/**
 * Options of {@link createGlm}: the key (a string or `Redacted`; never logged; else `ZAI_API_KEY`, else
 * `ZHIPUAI_API_KEY`), and optionally `baseURL` (overrides the endpoint), `region` (`"global"` | `"cn"`), `plan`
 * (`"general"` | `"coding"`), `auth` (`"bearer"` | `"jwt"`), `jwt`, `headers`, `fetch`.
 *
 * @since 0.1.0
 */
export type GlmOptions = GlmProvider.ClientOptions

/**
 * The Promise client of GLM.
 *
 * - `chat(request)` → `Promise<ChatResult>` (text, reasoning, tool calls, web-search sources, finish reason, usage
 *   in tokens, metadata), `stream(request)` → `AsyncIterable<StreamPart>`: OpenAI-shaped requests (`messages` or
 *   `prompt`, `tools`, `toolChoice`, `request` wire parameters, GLM `providerOptions`). A `{ type: "web_search" }`
 *   entry in `tools` is sent with Conduit's defaults, like the `web_search` provider option (core passes built-in
 *   tools through as `wireTools`).
 * - `listModels()` → the catalog; `listModels({ live: true })` → the account's models from `GET /models`.
 * - `webSearch(request)` → a standalone search (`GlmWebSearch.SearchRequest` → `SearchResponse`).
 * - `countTokens(request)` → an exact count from `/tokenizer` (`GlmTokenizer.CountRequest` → `TokenCount`).
 * - `embed({ model, input, dimensions? })` → `{ embeddings, usage: { inputTokens } }` through the same
 *   `GlmEmbeddingModel` (vectors in input order; see {@link EmbedRequest}).
 * - `close()` releases the runtimes.
 *
 * Failures reject with core's `PromiseClient.ConduitError` (reason, status, request id, retry advice).
 *
 * @since 0.1.0
 */
export interface GlmPromiseClient extends Omit<PromiseClient.PromiseClient, "listModels"> {
  readonly listModels: (options?: {
    readonly live?: boolean | undefined
  }) => Promise<ReadonlyArray<ModelCatalog.ModelInfo>>
  readonly webSearch: (request: GlmWebSearch.SearchRequest) => Promise<GlmWebSearch.SearchResponse>
  readonly countTokens: (request: GlmTokenizer.CountRequest) => Promise<GlmTokenizer.TokenCount>
  readonly embed: (request: EmbedRequest) => Promise<EmbedResult>
  /** The underlying client service (for the Effect API). */
  readonly client: OpenAiCompatProvider.ProviderClient
}

/**
 * What `createGlm(...).embed` embeds: a model (`embedding-3`, `embedding-2`), one text or several, and optionally the
 * vector length (`dimensions`).
 *
 * @since 0.1.0
 */
export interface EmbedRequest {
  readonly model: string
  readonly input: string | ReadonlyArray<string>
  readonly dimensions?: number | undefined
}

/**
 * The vectors (one per input, in order) and the usage in tokens (`undefined` when the API reported none).
 *
 * @since 0.1.0
 */
export interface EmbedResult {
  readonly embeddings: ReadonlyArray<ReadonlyArray<number>>
  readonly usage: { readonly inputTokens: number | undefined }
}

/**
 * The Promise face: `createGlm({ apiKey?, region?, plan?, baseURL? })`. A thin runtime over the Effect face (the same
 * `GlmLanguageModel`, retries, timeouts, guards), not a second implementation. Throws `PromiseClient.ConduitError`
 * when no key is given or set.
 *
 * ```ts
 * const glm = createGlm({ plan: "coding" }) // the key from ZAI_API_KEY or ZHIPUAI_API_KEY
 * const result = await glm.chat({ model: "glm-4.6", prompt: "你好" })
 * ```
 *
 * @since 0.1.0
 */
export const createGlm = (options: GlmOptions = {}): GlmPromiseClient => {
  const base = GlmProvider.provider.promise(options)
  const client = base.client
  return {
    chat: base.chat,
    stream: base.stream,
    listModels: (listOptions) =>
      listOptions?.live === true
        ? PromiseClient.run(GlmModels.listLive(client))
        : Promise.resolve(GlmModels.catalog.list),
    webSearch: (request) => PromiseClient.run(GlmWebSearch.searchWith(client, request)),
    countTokens: (request) => PromiseClient.run(GlmTokenizer.countWith(client, request)),
    embed: (request) =>
      PromiseClient.run(
        GlmEmbeddingModel.make(request.model, { dimensions: request.dimensions }).pipe(
          Effect.flatMap((model) =>
            model.embedMany(typeof request.input === "string" ? [request.input] : request.input)
          ),
          Effect.map((response) => ({
            embeddings: response.embeddings.map((embedding) => embedding.vector),
            usage: { inputTokens: response.usage.inputTokens }
          })),
          Effect.provideService(GlmProvider.provider.Client, client)
        )
      ),
    close: base.close,
    client
  }
}
