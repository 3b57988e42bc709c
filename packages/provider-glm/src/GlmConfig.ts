/**
 * Typed provider options of GLM models, and helpers to set them per model or per call.
 *
 * Options go in `providerOptions` of a model's config (`GlmLanguageModel.model("glm-4.6", { providerOptions })`)
 * or of one call ({@link withProviderOptions}, {@link streamWithProviderOptions}, or core's
 * `OpenAiCompatLanguageModel.withCallConfig`); call options are shallow-merged over the model's. They are decoded
 * with {@link ProviderOptions}: a malformed value fails the call with `InvalidRequestError` before any HTTP call.
 *
 * Sources: ZAI-OAS chat request schema (`thinking`, `tool_stream`, `do_sample`, `request_id`, `user_id`,
 * `reasoning_effort`, `WebSearchObject`); docs.z.ai thinking-mode (https://docs.z.ai/guides/capabilities/thinking-mode).
 *
 * @since 0.1.0
 */
import { OpenAiCompatLanguageModel } from "@conduitkit/core"
import { type Effect, Schema, type Stream } from "effect"
import { WebSearchArgs } from "./internal/webSearch.js"

/**
 * The thinking switch (GLM-4.5 and newer).
 *
 * - `type`: `"enabled"` (the API default: hybrid models decide whether to think) or `"disabled"`. Disabling is
 *   refused before sending on models that always think (glm-5.3, glm-4.7, the vision thinking models).
 * - `clear_thinking`: `true` (the API default on the general endpoint) drops earlier turns' reasoning server-side;
 *   `false` is Preserved Thinking: every earlier assistant turn's `reasoning_content` is replayed unmodified. The
 *   coding-plan endpoint preserves thinking by default, so Conduit replays reasoning there unless this is `true`.
 *
 * @since 0.1.0
 */
export const Thinking = Schema.Struct({
  type: Schema.Literals(["enabled", "disabled"]),
  clear_thinking: Schema.optional(Schema.Boolean)
})

/** @since 0.1.0 */
export type Thinking = typeof Thinking.Type

/**
 * The `web_search` tool object (every field of ZAI-OAS `WebSearchObject`; see `GlmWebSearch`).
 *
 * @since 0.1.0
 */
export const WebSearch = WebSearchArgs

/** @since 0.1.0 */
export type WebSearch = typeof WebSearch.Type

/**
 * Provider options.
 *
 * - `thinking`: see {@link Thinking}.
 * - `tool_stream`: stream tool-call arguments. Default: sent as `true` when streaming with function tools on models
 *   that accept it (GLM-4.6 and newer); `false` never sends it; `true` sends it on any model when streaming.
 * - `do_sample`: `false` is greedy decoding (temperature and top_p are then ignored by the API). Set automatically
 *   when `temperature: 0` is asked of a model that rejects 0.
 * - `request_id` (6–64 characters) and `user_id` (6–128 characters): passed through; the request id is echoed as
 *   the response's `request_id` and reaches the finish metadata and errors.
 * - `reasoning_effort`: GLM-5.2+ (`max`, `xhigh`, `high`, `medium`, `low`, `minimal`, `none`); passed through.
 * - `web_search`: adds the built-in `web_search` tool to the request (an alternative to the `GlmWebSearch.tool`
 *   toolkit entry); results come back as `source` parts.
 * - `forceToolChoice`: deprecated, no effect: a forced `tool_choice` (`required`, a named function) is now sent to
 *   every model (live recordings show glm-4.5 honouring one; docs/refusals/glm.md). A forced choice reportedly makes
 *   glm-4.6 send one reasoning delta and then stall (glm.md §2.1, third-party): that delta is a chunk, so it is the
 *   **idle** timeout (`timeouts.idleMs`, default 30 s; not retried) that ends such a stream with a typed
 *   `InternalProviderError` (`conduit.kind = "timeout"`, `timeout: "idle"`); a non-streaming call is bounded by
 *   `timeouts.totalMs`.
 *
 * @since 0.1.0
 */
export const ProviderOptions = Schema.Struct({
  thinking: Schema.optional(Thinking),
  tool_stream: Schema.optional(Schema.Boolean),
  do_sample: Schema.optional(Schema.Boolean),
  request_id: Schema.optional(Schema.String.check(Schema.isMinLength(6), Schema.isMaxLength(64))),
  user_id: Schema.optional(Schema.String.check(Schema.isMinLength(6), Schema.isMaxLength(128))),
  reasoning_effort: Schema.optional(Schema.String),
  web_search: Schema.optional(WebSearch),
  forceToolChoice: Schema.optional(Schema.Boolean)
})

/** @since 0.1.0 */
export type ProviderOptions = typeof ProviderOptions.Type

/**
 * A model's configuration (`GlmLanguageModel.model(id, config)`): core's `ModelConfig` (`request` wire parameters
 * such as `temperature`, `max_tokens`, `stop`; `retry`; `timeouts`; `continuation`; `preflight`) with typed GLM
 * `providerOptions`, and `exactPreflight`: run the pre-flight context-window check (off by default) counting the
 * prompt with the `/tokenizer` endpoint (documented models only) instead of the estimate; one extra HTTP call, made
 * only when core's cheap bound (3 x the JSON length of messages and tools, plus `max_tokens`) does not already show
 * that the prompt fits.
 *
 * @since 0.1.0
 */
export interface ModelConfig extends Omit<OpenAiCompatLanguageModel.ModelConfig, "providerOptions"> {
  readonly providerOptions?: ProviderOptions | undefined
  readonly exactPreflight?: boolean | undefined
}

/**
 * Runs an effect (e.g. `LanguageModel.generateText(...)`) with GLM provider options merged over the model's and any
 * already set for the call.
 *
 * @since 0.1.0
 */
export const withProviderOptions =
  (options: ProviderOptions) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    OpenAiCompatLanguageModel.withCallConfig({ providerOptions: options })(effect)

/**
 * The stream version of {@link withProviderOptions} (for `LanguageModel.streamText(...)`).
 *
 * @since 0.1.0
 */
export const streamWithProviderOptions =
  (options: ProviderOptions) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    OpenAiCompatLanguageModel.streamWithCallConfig({ providerOptions: options })(stream)
