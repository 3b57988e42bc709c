/**
 * @conduitkit/provider-kimi: the Moonshot Kimi provider for Conduit.
 *
 * - Effect face: `KimiLanguageModel.model("kimi-k3")` is an `effect/ai` model (`Chat`, `Toolkit`, `generateObject`,
 *   `ExecutionPlan` work unchanged) over a `KimiClient` (`KimiClient.layerConfig()` reads `MOONSHOT_API_KEY`, else `KIMI_API_KEY`).
 * - Promise face: `createKimi` (`KimiPromiseClient`: `chat`, `stream`, `listModels`, `files`, `countTokens`, `getBalance`,
 *   `contextCache`).
 * - Modules: `KimiModels` (catalog), `KimiPricing` (prices), `KimiConfig` (provider options), `KimiError` (error
 *   table), `KimiWebSearch` (`$web_search`), `KimiFiles`, `KimiContextCache`, `KimiTokenizer`, `KimiProvider`
 *   (declarations).
 *
 * @since 0.1.0
 */
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
 * Moonshot's prices per model (USD on api.moonshot.ai, CNY on api.moonshot.cn) and the currency each endpoint bills in.
 *
 * @since 0.1.0
 */
export * as KimiPricing from "./KimiPricing.js"
/**
 * The Promise face: `createKimi(options)`, its options and the client it returns.
 *
 * @since 0.1.0
 */
export { type CreateKimiOptions, createKimi, type KimiPromiseClient } from "./KimiPromiseClient.js"
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
