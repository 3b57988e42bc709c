/**
 * @conduitkit/provider-glm: the Zhipu / Z.ai GLM provider for Conduit. An `effect/ai` `LanguageModel`
 * (`GlmLanguageModel`) and a Promise client ({@link createGlm}) over core's OpenAI-compatible transport, with the
 * GLM model catalog, request shaping (sampling ranges, one stop word, forced `tool_choice` per model, `tool_stream`,
 * thinking and reasoning replay), the code-based error table, web search with source parts, files, the exact
 * tokenizer and async chat.
 *
 * @since 0.1.0
 */
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
 * `embedding-3` / `embedding-2` as `effect/ai` `EmbeddingModel`s (batching within the limits, `dimensions`, usage).
 *
 * @since 0.1.0
 */
export * as GlmEmbeddingModel from "./GlmEmbeddingModel.js"
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
 * Zhipu's prices per model (USD on api.z.ai, CNY on open.bigmodel.cn) and the currency each endpoint bills in.
 *
 * @since 0.1.0
 */
export * as GlmPricing from "./GlmPricing.js"
/**
 * The Promise face: `createGlm(options)`, its options and the client it returns.
 *
 * @since 0.1.0
 */
export {
  createGlm,
  type EmbedRequest,
  type EmbedResult,
  type GlmOptions,
  type GlmPromiseClient
} from "./GlmPromiseClient.js"
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
