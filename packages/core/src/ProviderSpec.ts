/**
 * What makes a provider: the {@link ProviderSpec} an OpenAI-compatible provider package declares (catalog,
 * reasoning-replay policy, request-shaping and response hooks, finish failures, continuation strategy,
 * provider-executed tools, transport wrapper), with the contexts its hooks receive and the finish-failure check
 * ({@link finishFailureFor}) both call paths apply. Re-exported by `OpenAiCompatLanguageModel`, which is where callers
 * import it from.
 *
 * @since 0.1.0
 */
import type { Effect } from "effect"
import type { AiError, LanguageModel } from "effect/ai"
import type * as CallConfig from "./CallConfig.js"
import type * as ChatCompletions from "./ChatCompletions.js"
import type * as ModelCatalog from "./ModelCatalog.js"
import type { OpenAiCompatClientShape } from "./OpenAiCompatClient.js"
import type * as PromptConversion from "./PromptConversion.js"
import type * as ProviderError from "./ProviderError.js"
import type * as ResponseConversion from "./ResponseConversion.js"

/**
 * Everything a provider's request-shaping hook may look at.
 *
 * @since 0.1.0
 */
export interface PrepareContext {
  readonly model: ModelCatalog.ModelInfo
  readonly options: LanguageModel.ProviderOptions
  readonly config: CallConfig.ModelConfig
  readonly streaming: boolean
  /** The transport the call goes through (its `config.baseURL` tells the endpoint, e.g. a coding plan). */
  readonly client: OpenAiCompatClientShape
  /**
   * Reports an adaptation (or anything the caller should know) as a warning: it reaches the caller in the response
   * metadata (`metadata.conduit.warnings`), the Promise face's result and the gateway's `x-conduit-warnings` header.
   */
  readonly warn: (warning: string) => void
}

/**
 * What a per-call reasoning-replay policy may look at.
 *
 * @since 0.1.0
 */
export interface ReplayContext {
  readonly model: ModelCatalog.ModelInfo
  readonly config: CallConfig.ModelConfig
  readonly client: OpenAiCompatClientShape
}

/**
 * A provider-executed tool call the model made (e.g. Moonshot `$web_search`).
 *
 * @since 0.1.0
 */
export interface ProviderExecutedToolCall {
  readonly id: string
  readonly name: string
  readonly arguments: string
}

/**
 * A finish reason that is a failure: an `ErrorRule` (reason, retryable, contextLength, kind ...), and with
 * `onlyWithoutOutput` it applies only when the answer has no text, reasoning or tool calls at all (Zhipu's
 * `model_context_window_exceeded`: the prompt filled the window; after some output it is a `length` finish).
 *
 * @since 0.1.0
 */
export interface FinishFailureRule extends ProviderError.ErrorRule {
  readonly onlyWithoutOutput?: boolean | undefined
}

/**
 * The `finishFailures` rule that applies to a finish reason, given whether the answer had output (text, reasoning or
 * tool calls; `onlyWithoutOutput` rules then do not apply), or `undefined` when the finish is an ordinary one.
 *
 * @since 0.1.0
 */
export const finishFailureFor = (
  spec: ProviderSpec,
  finishReason: string | undefined,
  hasOutput: boolean
): FinishFailureRule | undefined => {
  const rule = finishReason === undefined ? undefined : spec.finishFailures?.[finishReason]
  return rule === undefined || (rule.onlyWithoutOutput === true && hasOutput) ? undefined : rule
}

/**
 * Whether a non-stream answer's message has output: non-empty text or reasoning (`reasoning_content`, or `reasoning`
 * as some OpenAI-compatible hosts send), or tool calls. The stream path asks the chunk assembler the same question.
 *
 * @since 0.1.0
 */
export const messageHasOutput = (message: ChatCompletions.ResponseMessage | null | undefined): boolean =>
  (typeof message?.content === "string" && message.content !== "") ||
  (typeof message?.reasoning_content === "string" && message.reasoning_content !== "") ||
  (typeof message?.reasoning === "string" && message.reasoning !== "") ||
  (message?.tool_calls?.length ?? 0) > 0

/**
 * What makes a provider. Only `name`, `catalog` and `reasoningReplay` are required.
 *
 * - `prepareRequest`: shapes the draft body (sampling rules, thinking switch, provider options); adapt with a warning
 *   (`context.warn`) where a meaning-preserving change saves a request the live API refuses; fail with
 *   `ProviderError.invalidRequest` to refuse before sending only where a recording shows the live API refusing the
 *   request and nothing can save it (docs/refusals/ lists each refusal and its evidence).
 * - `providerTool` / `transformToolSchema` / `toolStrict`: tool declaration hooks (see `PromptConversion.toTools`).
 * - `finishReasons` / `extraParts`: response hooks (see `ResponseConversion`); `finishFailures`: finish reasons that
 *   are failures, never short answers (see {@link FinishFailureRule}): retried by the retry policy when the rule is
 *   retryable and nothing was streamed yet (a stream holds its response-metadata part back until the first output).
 * - `responseMetadata`: extra `finish` metadata from response headers (e.g. `msh-context-cache-token-saved`).
 * - `continuation`: `"prefill"` (assistant prefix with the provider's partial flag, the answer continues the
 *   prefix) or `"instruction"` (assistant message + a user "continue" turn). `prefillMessage` builds the prefill
 *   message (default `{ role: "assistant", content, partial: true }`).
 * - `providerExecutedTools`: provider-executed tools by wire name (`names`) and how to answer a call (`resolve`
 *   returns the tool message content); a response whose tool calls are all provider-executed is answered and
 *   re-requested, at most `maxRounds` times (see `RoundPolicy`).
 * - `countTokens`: an exact prompt-token counter for pre-flight (default: `TokenEstimator.estimateRequest`), called
 *   only when a cheap bound (3 x the JSON length of messages and tools, plus `max_tokens`) does not already show that
 *   the prompt fits the context window.
 * - `includeUsageInStream`: send `stream_options: { include_usage: true }` (default true).
 * - `billingCurrency`: the currency (ISO 4217) the endpoint at `baseURL` bills in, which picks the catalog's price
 *   (`Cost.select`); `undefined` from it: the endpoint is not billed per token (a subscription plan), so no cost.
 *   Absent: the catalog's first price.
 * - `assembleNonStream`: whether a non-stream request is sent in streaming mode and its answer assembled from the
 *   chunks (`CompletionAssembly`), which gives each attempt the first-token and idle bounds; say yes only where the
 *   provider's recordings show its stream carrying every field of its non-stream answer for that request (default:
 *   never). A model's or call's `assembleNonStream` configuration overrides it.
 *
 * @since 0.1.0
 */
export interface ProviderSpec {
  readonly name: string
  readonly catalog: ModelCatalog.Catalog
  /** A fixed policy, or one chosen per call (e.g. from the thinking options or the endpoint). */
  readonly reasoningReplay:
    | PromptConversion.ReasoningReplay
    | ((context: ReplayContext) => PromptConversion.ReasoningReplay)
  readonly prepareRequest?:
    | ((
        draft: ChatCompletions.WireRequest,
        context: PrepareContext
      ) => Effect.Effect<ChatCompletions.WireRequest, AiError.AiError>)
    | undefined
  /** Per-request headers from the final request (e.g. Moonshot's `X-Msh-Context-Cache` references). */
  readonly requestHeaders?:
    | ((request: ChatCompletions.WireRequest, context: PrepareContext) => Readonly<Record<string, string>> | undefined)
    | undefined
  readonly providerTool?: PromptConversion.ToolOptions["providerTool"]
  readonly transformToolSchema?: PromptConversion.ToolOptions["transformSchema"]
  readonly toolStrict?: boolean | undefined
  readonly finishReasons?: ResponseConversion.ConversionOptions["finishReasons"]
  /**
   * Finish reasons that mean the generation failed, with how to classify them (e.g. Zhipu `network_error` as a
   * retryable `InternalProviderError`): the call fails instead of returning a short answer, and is retried when the
   * rule allows and nothing was streamed yet.
   */
  readonly finishFailures?: Readonly<Record<string, FinishFailureRule>> | undefined
  readonly extraParts?: ResponseConversion.ConversionOptions["extraParts"]
  readonly responseMetadata?:
    | ((headers: Readonly<Record<string, string>>) => Record<string, string | number | boolean> | undefined)
    | undefined
  readonly continuation?: "prefill" | "instruction" | undefined
  readonly prefillMessage?: ((content: string) => ChatCompletions.RequestMessage) | undefined
  readonly providerExecutedTools?:
    | {
        readonly names: ReadonlyArray<string>
        readonly resolve: (call: ProviderExecutedToolCall) => string
        readonly maxRounds: number
      }
    | undefined
  readonly countTokens?: ((request: ChatCompletions.WireRequest) => Effect.Effect<number, AiError.AiError>) | undefined
  readonly includeUsageInStream?: boolean | undefined
  readonly billingCurrency?: ((baseURL: string) => string | undefined) | undefined
  readonly assembleNonStream?:
    | ((request: ChatCompletions.WireRequest, headers: Readonly<Record<string, string>> | undefined) => boolean)
    | undefined
  /**
   * Wraps the transport of one model's calls, once per model service: for wire quirks below the Chat Completions
   * shapes (Zhipu's GLM-Z1 and GLM-4.5V write reasoning inline in `content`; their wrapper moves it to
   * `reasoning_content` before core converts the response). Default: the client as is.
   */
  readonly transport?: ((client: OpenAiCompatClientShape, model: string) => OpenAiCompatClientShape) | undefined
}
