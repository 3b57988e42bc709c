/**
 * @conduitkit/provider-glm: the Zhipu / Z.ai GLM provider for Conduit. An `effect/ai` `LanguageModel`
 * (`GlmLanguageModel`) and a Promise client ({@link createGlm}) over core's OpenAI-compatible transport, with the
 * GLM model catalog, request shaping (sampling ranges, one stop word, forced `tool_choice` per model, `tool_stream`,
 * thinking and reasoning replay), the code-based error table, web search with source parts, files, the exact
 * tokenizer and async chat.
 *
 * @since 0.1.0
 */
import { type ModelCatalog, type OpenAiCompatProvider, PromiseClient } from "@conduitkit/core"
import type { Redacted } from "effect"
import * as GlmModels from "./GlmModels.js"
import * as GlmProvider from "./GlmProvider.js"
import * as GlmTokenizer from "./GlmTokenizer.js"
import * as GlmWebSearch from "./GlmWebSearch.js"

/**
 * Async chat (`/async/chat/completions` + polling `/async-result/{id}` on a Schedule, with a timeout).
 *
 * @since 0.1.0
 */
export * as GlmAsyncChat from "./GlmAsyncChat.js"
/**
 * The client service: key, region × plan endpoint, bearer or JWT auth (core's transport).
 *
 * @since 0.1.0
 */
export * as GlmClient from "./GlmClient.js"
/**
 * Typed provider options (`thinking`, `tool_stream`, `do_sample`, `request_id`, `user_id`, `web_search`, ...) and
 * per-call override helpers.
 *
 * @since 0.1.0
 */
export * as GlmConfig from "./GlmConfig.js"
/**
 * The error table (business `error.code` and status to `effect/ai` reasons).
 *
 * @since 0.1.0
 */
export * as GlmError from "./GlmError.js"
/**
 * The files API (upload with purpose and size checks, list, content, delete).
 *
 * @since 0.1.0
 */
export * as GlmFiles from "./GlmFiles.js"
/**
 * `model` / `layer` / `make`: GLM models as `effect/ai` `LanguageModel`s.
 *
 * @since 0.1.0
 */
export * as GlmLanguageModel from "./GlmLanguageModel.js"
/**
 * The model catalog.
 *
 * @since 0.1.0
 */
export * as GlmModels from "./GlmModels.js"
/**
 * The provider declarations and the provider core builds from them.
 *
 * @since 0.1.0
 */
export * as GlmProvider from "./GlmProvider.js"
/**
 * Exact prompt-token counts from `/tokenizer`.
 *
 * @since 0.1.0
 */
export * as GlmTokenizer from "./GlmTokenizer.js"
/**
 * The `web_search` tool, its results as source parts, and the standalone `/web_search` API.
 *
 * @since 0.1.0
 */
export * as GlmWebSearch from "./GlmWebSearch.js"

/**
 * Options of {@link createGlm}: the key (a string or `Redacted`; never logged), and optionally `baseURL` (overrides
 * the endpoint), `region` (`"global"` | `"cn"`), `plan` (`"general"` | `"coding"`), `auth` (`"bearer"` | `"jwt"`),
 * `jwt`, `headers`, `fetch`.
 *
 * @since 0.1.0
 */
export interface GlmOptions extends GlmProvider.ClientOptions {
  readonly apiKey: string | Redacted.Redacted<string>
}

/**
 * The Promise client of GLM.
 *
 * - `chat(request)` → `Promise<ChatResult>` (text, reasoning, tool calls, web-search sources, finish reason, usage
 *   in tokens, metadata), `stream(request)` → `AsyncIterable<StreamPart>`: OpenAI-shaped requests (`messages` or
 *   `prompt`, `tools`, `toolChoice`, `request` wire parameters, GLM `providerOptions`). A `{ type: "web_search" }`
 *   entry in `tools` is sent with Conduit's defaults, like the `web_search` provider option (core passes built-in
 *   tools through as `extraTools`).
 * - `listModels()` → the catalog; `listModels({ live: true })` → the account's models from `GET /models`.
 * - `webSearch(request)` → a standalone search (`GlmWebSearch.SearchRequest` → `SearchResponse`).
 * - `countTokens(request)` → an exact count from `/tokenizer` (`GlmTokenizer.CountRequest` → `TokenCount`).
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
  /** The underlying client service (for the Effect API). */
  readonly client: OpenAiCompatProvider.ProviderClient
}

/**
 * The Promise face: `createGlm({ apiKey, region?, plan?, baseURL? })`. A thin runtime over the Effect face (the same
 * `GlmLanguageModel`, retries, timeouts, guards), not a second implementation.
 *
 * ```ts
 * const glm = createGlm({ apiKey: process.env.ZAI_API_KEY!, plan: "coding" })
 * const result = await glm.chat({ model: "glm-4.6", prompt: "你好" })
 * ```
 *
 * @since 0.1.0
 */
export const createGlm = (options: GlmOptions): GlmPromiseClient => {
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
    close: base.close,
    client
  }
}
