/**
 * @conduitkit/core: the plumbing every Conduit provider shares. An `effect/ai` `LanguageModel` over the official
 * `openai` SDK with typed errors, one retry policy, stream guards and timeouts, continuation, usage normalization,
 * token estimation, model catalogs and a registry, a Promise face, and the seams the cache and session packages
 * plug into.
 *
 * @since 0.1.0
 */

/**
 * The key/value store with TTL that providers ask for (context-cache ids, response cache, idempotency).
 *
 * @since 0.1.0
 */
export * as CacheStore from "./CacheStore.js"
/**
 * Effect Schemas of the OpenAI Chat Completions wire format, with the extras Moonshot and Zhipu send.
 *
 * @since 0.1.0
 */
export * as ChatCompletions from "./ChatCompletions.js"
/**
 * A non-stream answer assembled from a stream's chunks (non-stream calls made in streaming mode).
 *
 * @since 0.1.0
 */
export * as CompletionAssembly from "./CompletionAssembly.js"
/**
 * Prices per million tokens (`Pricing`) and the cost of one response from its normalized usage (`costOf`): cached
 * input tokens at the cached price, reasoning tokens as output, no cost when a price is unknown.
 *
 * @since 0.1.0
 */
export * as Cost from "./Cost.js"
/**
 * Embedding models: metadata, catalogs, batching within a provider's limits.
 *
 * @since 0.1.0
 */
export * as EmbeddingCatalog from "./EmbeddingCatalog.js"
/**
 * A non-stream call's parts as the provider built them, without effect/ai's decode (the gateway's non-stream path).
 *
 * @since 0.1.0
 */
export * as EncodedGenerate from "./EncodedGenerate.js"
/**
 * A streamed call's parts as the provider built them, without effect/ai's per-part decode (for callers that pass
 * them on, such as the gateway).
 *
 * @since 0.1.0
 */
export * as EncodedStream from "./EncodedStream.js"
/**
 * `finish_reason` mapping.
 *
 * @since 0.1.0
 */
export * as FinishReason from "./FinishReason.js"
/**
 * Model metadata and catalogs.
 *
 * @since 0.1.0
 */
export * as ModelCatalog from "./ModelCatalog.js"
/**
 * `models.yaml` parsing with errors that name the file, line and field.
 *
 * @since 0.1.0
 */
export * as ModelsConfig from "./ModelsConfig.js"
/**
 * A `fetch` on `node:http(s)` for the `openai` SDK: the transport's default while the global `fetch` is Node's own.
 *
 * @since 0.1.0
 */
export * as NodeFetch from "./NodeFetch.js"
/**
 * The OpenAI-compatible transport service around the `openai` SDK.
 *
 * @since 0.1.0
 */
export * as OpenAiCompatClient from "./OpenAiCompatClient.js"
/**
 * The `effect/ai` `LanguageModel` for OpenAI-compatible providers, parameterized by a provider spec.
 *
 * @since 0.1.0
 */
export * as OpenAiCompatLanguageModel from "./OpenAiCompatLanguageModel.js"
/**
 * The provider builder: declarations in, client layers, model constructors and the Promise face out.
 *
 * @since 0.1.0
 */
export * as OpenAiCompatProvider from "./OpenAiCompatProvider.js"
/**
 * The Promise face (`chat`, `stream`, `listModels`).
 *
 * @since 0.1.0
 */
export * as PromiseClient from "./PromiseClient.js"
/**
 * Prompt and tools to wire messages, with the reasoning-replay policy.
 *
 * @since 0.1.0
 */
export * as PromptConversion from "./PromptConversion.js"
/**
 * The error taxonomy: provider tables, SDK error conversion, timeouts, truncated streams, retryability.
 *
 * @since 0.1.0
 */
export * as ProviderError from "./ProviderError.js"
/**
 * Decoding a provider's typed `providerOptions`: unknown keys and bad values refused in plain words.
 *
 * @since 0.1.0
 */
export * as ProviderOptions from "./ProviderOptions.js"
/**
 * Routing `provider/model` ids and aliases to model layers, with fallbacks.
 *
 * @since 0.1.0
 */
export * as ProviderRegistry from "./ProviderRegistry.js"
/**
 * Per-request context (request id, session id, attempt observer) shared with outer layers.
 *
 * @since 0.1.0
 */
export * as RequestContext from "./RequestContext.js"
/**
 * The hook (port) through which a response cache and an idempotency store wrap model calls; `@conduitkit/cache`'s
 * `ResponseCache` implements it.
 *
 * @since 0.1.0
 */
export * as ResponseCacheHook from "./ResponseCacheHook.js"
/**
 * Responses and stream chunks to `effect/ai` parts.
 *
 * @since 0.1.0
 */
export * as ResponseConversion from "./ResponseConversion.js"
/**
 * Folding parts or a stream into one summary with metadata.
 *
 * @since 0.1.0
 */
export * as ResponseSummary from "./ResponseSummary.js"
/**
 * The retry budget: retries across requests capped to a share of the traffic.
 *
 * @since 0.1.0
 */
export * as RetryBudget from "./RetryBudget.js"
/**
 * The retry policy (full jitter, Retry-After, retryable reasons only).
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"
/**
 * Server-Sent Events decoding (Effect's parser plus end-of-input semantics).
 *
 * @since 0.1.0
 */
export * as Sse from "./Sse.js"
/**
 * First-token, idle and total timeouts.
 *
 * @since 0.1.0
 */
export * as TimeoutPolicy from "./TimeoutPolicy.js"
/**
 * CJK-aware prompt-token estimation.
 *
 * @since 0.1.0
 */
export * as TokenEstimator from "./TokenEstimator.js"
/**
 * OpenTelemetry GenAI spans of model calls (one per upstream attempt, `traceparent` sent upstream), on Effect's tracer.
 *
 * @since 0.1.0
 */
export * as Tracing from "./Tracing.js"
/**
 * `LanguageModel.generateText` for a call that declares no tool and runs none, through effect/ai's cached response
 * decoder (without a toolkit effect/ai rebuilds its response schema on every call).
 *
 * @since 0.1.0
 */
export * as UntooledCall from "./UntooledCall.js"
/**
 * Token usage normalized from every placement providers use.
 *
 * @since 0.1.0
 */
export * as Usage from "./Usage.js"
/**
 * OpenAI requests (messages, tools, tool choice) to `effect/ai` inputs.
 *
 * @since 0.1.0
 */
export * as WireInput from "./WireInput.js"
