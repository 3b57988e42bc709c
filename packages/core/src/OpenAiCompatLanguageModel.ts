/**
 * An `effect/ai` `LanguageModel` for any OpenAI-compatible provider, parameterized by a {@link ProviderSpec}: the
 * provider's catalog, request shaping, reasoning-replay policy, error table (through its client), response hooks
 * and continuation strategy. Provider packages are mostly a spec plus tests.
 *
 * Per call, in order:
 * 1. Resolve the model in the catalog (unknown ids pass through; a retired or deprecated one is sent with a warning)
 *    and merge
 *    configuration: model config, then per-call overrides (`CallConfig`, `RetryPolicy.CallRetryPolicy`,
 *    `TimeoutPolicy.CallTimeoutPolicy`).
 * 2. Build the wire request: prompt → messages with the reasoning-replay policy, tools and `tool_choice`,
 *    `response_format` (`json_schema` where the model supports it, else `json_object` plus the schema as an
 *    instruction), wire parameters, then the provider's `prepareRequest` hook (sampling rules, thinking switch...).
 * 3. Pre-flight, only when asked (`preflight: true`; catalog context windows are often unconfirmed, so by default
 *    the provider decides): estimated prompt tokens + `max_tokens` above the context window fails with
 *    `InvalidRequestError` (`constraint: "context_length_exceeded"`) before any HTTP call.
 * 4. Call through the `ResponseCache` hook (a pass-through unless `@conduitkit/cache` provides one), with the
 *    `RetryPolicy` (streams only before their first part reached the caller) and the `TimeoutPolicy` (total across
 *    retries and continuations; first-token and idle per attempt).
 * 5. Provider-executed tool rounds (Moonshot `$web_search`: echo the arguments back) up to a bound, then
 *    continuation after `finish_reason: "length"` when enabled, merged into one response or one stream.
 * 6. The `finish` part's `metadata.conduit` carries `{ streamed, chunkCount, timeToFirstTokenMs, durationMs,
 *    requestId, attempts, continuations, serverToolRounds, rawFinishReason, ... }` for both paths, and `warnings`
 *    (what was adapted or is worth knowing: a retired model, thinking switched off for a forced tool choice...), which
 *    the first `response-metadata` part carries too (so a stream's consumer knows them before any output).
 *
 * @since 0.1.0
 */
import { Clock, Context, Effect, Layer, Result, Stream } from "effect"
import { type AiError, LanguageModel, Model, type Response, Tool } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as ModelCatalog from "./ModelCatalog.js"
import type { OpenAiCompatClientShape } from "./OpenAiCompatClient.js"
import * as PromptConversion from "./PromptConversion.js"
import * as ProviderError from "./ProviderError.js"
import * as RequestContext from "./RequestContext.js"
import * as ResponseCache from "./ResponseCache.js"
import * as ResponseConversion from "./ResponseConversion.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TimeoutPolicy from "./TimeoutPolicy.js"
import * as TokenEstimator from "./TokenEstimator.js"
import * as Usage from "./Usage.js"

// =============================================================================
// Configuration
// =============================================================================

/**
 * Continuation after `finish_reason: "length"`: at most `maxContinuations` extra requests (default 3) while the
 * summed output stays under `maxTotalTokens` (default 32,000). Off unless `enabled`.
 *
 * @since 0.1.0
 */
export interface ContinuationPolicy {
  readonly enabled: boolean
  readonly maxContinuations: number
  readonly maxTotalTokens: number
}

/**
 * A partial continuation policy (`undefined` fields inherit; `enabled` defaults to true when an object is given).
 *
 * @since 0.1.0
 */
export type ContinuationInput = { readonly [K in keyof ContinuationPolicy]?: ContinuationPolicy[K] | undefined }

/**
 * `{ enabled: false, maxContinuations: 3, maxTotalTokens: 32000 }`.
 *
 * @since 0.1.0
 */
export const defaultContinuation: ContinuationPolicy = { enabled: false, maxContinuations: 3, maxTotalTokens: 32_000 }

/**
 * Configuration of a model, and (as {@link CallConfig}) of one call.
 *
 * - `request`: wire parameters merged into the request body (`temperature`, `top_p`, `max_tokens`, `stop`,
 *   `seed`, `user`, ...). `effect/ai` has no sampling options of its own; this is where they go.
 * - `providerOptions`: provider-specific options (typed by each provider, e.g. Kimi's `thinking`).
 * - `retry`, `timeouts`, `continuation` (`true` enables the defaults).
 * - `preflight`: the context-window check before sending (default off: the provider's own answer decides, mapped to
 *   `InvalidRequestError` with `context_length_exceeded`; on: catalogued models only).
 *
 * @since 0.1.0
 */
export interface ModelConfig {
  readonly request?: Readonly<Record<string, unknown>> | undefined
  readonly providerOptions?: Readonly<Record<string, unknown>> | undefined
  readonly retry?: RetryPolicy.RetryPolicyInput | undefined
  readonly timeouts?: TimeoutPolicy.TimeoutPolicy | undefined
  readonly continuation?: ContinuationInput | boolean | undefined
  readonly preflight?: boolean | undefined
  /**
   * Wire tool declarations appended after the toolkit's: built-in provider tools, and function tools a caller already
   * has in OpenAI form (the gateway's clients), which need no toolkit. Function declarations get the provider's
   * schema rules (`transformToolSchema`, `toolStrict`); other tools are sent as they are.
   */
  readonly extraTools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
}

/**
 * Per-call configuration, merged over the model's (`Effect.provideService(CallConfig, {...})` or
 * {@link withCallConfig}).
 *
 * @since 0.1.0
 */
export const CallConfig: Context.Reference<ModelConfig> = Context.Reference<ModelConfig>(
  "@conduitkit/core/OpenAiCompatLanguageModel/CallConfig",
  { defaultValue: () => ({}) }
)

/**
 * Runs `effect` with per-call configuration merged over any already in context.
 *
 * @since 0.1.0
 */
export const withCallConfig =
  (config: ModelConfig) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.gen(function* () {
      const current = yield* CallConfig
      return yield* Effect.provideService(effect, CallConfig, mergeConfig(current, config))
    })

/**
 * The stream version of {@link withCallConfig} (for `LanguageModel.streamText(...)`).
 *
 * @since 0.1.0
 */
export const streamWithCallConfig =
  (config: ModelConfig) =>
  <A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E, R> =>
    Stream.unwrap(
      Effect.map(CallConfig, (current) => Stream.provideService(stream, CallConfig, mergeConfig(current, config)))
    )

const mergeContinuation = (
  base: ContinuationInput | boolean | undefined,
  over: ContinuationInput | boolean | undefined
): ContinuationInput | boolean | undefined => {
  if (over === undefined) return base
  if (typeof over === "boolean") return over
  const baseObject = typeof base === "object" ? base : base === true ? { enabled: true } : {}
  return { ...baseObject, ...over }
}

/**
 * Merges two configurations (`over` wins, field by field; `request` and `providerOptions` are shallow-merged).
 *
 * @since 0.1.0
 */
export const mergeConfig = (base: ModelConfig, over: ModelConfig): ModelConfig => ({
  request: { ...base.request, ...over.request },
  providerOptions: { ...base.providerOptions, ...over.providerOptions },
  retry: { ...base.retry, ...over.retry },
  timeouts: TimeoutPolicy.merge(base.timeouts ?? {}, over.timeouts),
  continuation: mergeContinuation(base.continuation, over.continuation),
  preflight: over.preflight ?? base.preflight,
  extraTools: [...(base.extraTools ?? []), ...(over.extraTools ?? [])]
})

/**
 * Everything a provider's request-shaping hook may look at.
 *
 * @since 0.1.0
 */
export interface PrepareContext {
  readonly model: ModelCatalog.ModelInfo
  readonly options: LanguageModel.ProviderOptions
  readonly config: ModelConfig
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
  readonly config: ModelConfig
  readonly client: OpenAiCompatClientShape
}

/**
 * A provider-executed tool call the model made (e.g. Moonshot `$web_search`).
 *
 * @since 0.1.0
 */
export interface ServerToolCall {
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

/** The finish-failure rule for a raw finish reason, given whether the answer has any output. */
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
 * - `serverTools`: provider-executed tools by wire name (`names`) and how to answer a call (`resolve` returns the
 *   tool message content); a response whose tool calls are all server tools is answered and re-requested, at
 *   most `maxRounds` times.
 * - `countTokens`: an exact prompt-token counter for pre-flight (default: `TokenEstimator.estimateRequest`), called
 *   only when a cheap bound (3 x the JSON length of messages and tools, plus `max_tokens`) does not already show that
 *   the prompt fits the context window.
 * - `includeUsageInStream`: send `stream_options: { include_usage: true }` (default true).
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
  readonly serverTools?:
    | {
        readonly names: ReadonlyArray<string>
        readonly resolve: (call: ServerToolCall) => string
        readonly maxRounds: number
      }
    | undefined
  readonly countTokens?: ((request: ChatCompletions.WireRequest) => Effect.Effect<number, AiError.AiError>) | undefined
  readonly includeUsageInStream?: boolean | undefined
  /**
   * Wraps the transport of one model's calls, once per model service: for wire quirks below the Chat Completions
   * shapes (Zhipu's GLM-Z1 and GLM-4.5V write reasoning inline in `content`; their wrapper moves it to
   * `reasoning_content` before core converts the response). Default: the client as is.
   */
  readonly transport?: ((client: OpenAiCompatClientShape, model: string) => OpenAiCompatClientShape) | undefined
}

/**
 * The user turn appended by the `"instruction"` continuation strategy.
 *
 * @since 0.1.0
 */
export const continueInstruction =
  "Continue exactly where your previous answer stopped, mid-sentence if needed. Do not repeat anything and do not add any preamble or commentary."

// =============================================================================
// Request building
// =============================================================================

interface Resolved {
  readonly info: ModelCatalog.ModelInfo
  readonly replay: PromptConversion.ReasoningReplay
  readonly headers: Readonly<Record<string, string>> | undefined
  readonly config: ModelConfig
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeouts: TimeoutPolicy.TimeoutPolicy
  readonly continuation: ContinuationPolicy
  readonly request: ChatCompletions.WireRequest
  readonly warnings: ReadonlyArray<string>
  readonly toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>
  /** The names of the call's toolkit tools (a server round's `tool-result` parts are emitted only for these). */
  readonly declaredTools: ReadonlySet<string>
}

const continuationOf = (value: ModelConfig["continuation"]): ContinuationPolicy =>
  value === undefined || value === false
    ? defaultContinuation
    : value === true
      ? { ...defaultContinuation, enabled: true }
      : {
          enabled: value.enabled ?? true,
          maxContinuations: value.maxContinuations ?? defaultContinuation.maxContinuations,
          maxTotalTokens: value.maxTotalTokens ?? defaultContinuation.maxTotalTokens
        }

/**
 * The system message that asks for JSON output on a model without JSON-schema response format: the object name and
 * the JSON Schema it must conform to.
 *
 * @since 0.1.0
 */
export const jsonInstruction = (name: string, schema: unknown): string =>
  `Respond with a single JSON object named "${name}" that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(schema)}`

const buildRequest = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  modelId: string,
  modelConfig: ModelConfig,
  options: LanguageModel.ProviderOptions,
  streaming: boolean
): Effect.Effect<Resolved, AiError.AiError> =>
  Effect.gen(function* () {
    const info = yield* spec.catalog.resolve(modelId)
    const warnings: Array<string> = []
    const lifecycle = ModelCatalog.lifecycleWarning(info)
    if (lifecycle !== undefined) warnings.push(lifecycle)
    const warn = (warning: string) => {
      if (!warnings.includes(warning)) warnings.push(warning)
    }
    const call = yield* CallConfig
    const callRetry = yield* RetryPolicy.CallRetryPolicy
    const callTimeouts = yield* TimeoutPolicy.CallTimeoutPolicy
    const config = mergeConfig(modelConfig, call)
    const toolNames = new Tool.NameMapper(options.tools)
    const replay =
      info.reasoningReplay ??
      (typeof spec.reasoningReplay === "function"
        ? spec.reasoningReplay({ model: info, config, client })
        : spec.reasoningReplay)
    let messages = yield* PromptConversion.toMessages(
      options.prompt,
      { reasoning: replay, providerName: spec.name },
      toolNames
    )
    const toolOptions: PromptConversion.ToolOptions = {
      providerName: spec.name,
      providerTool: spec.providerTool,
      transformSchema: spec.transformToolSchema,
      strict: spec.toolStrict
    }
    const tools = yield* PromptConversion.toTools(options.tools, options.toolChoice, toolOptions)
    let responseFormat: { readonly type: string; readonly [key: string]: unknown } | undefined
    if (options.responseFormat.type === "json") {
      const schema = Tool.getJsonSchemaFromSchema(options.responseFormat.schema)
      if (info.capabilities.jsonSchema) {
        responseFormat = {
          type: "json_schema",
          json_schema: { name: options.responseFormat.objectName, schema, strict: true }
        }
      } else {
        responseFormat = { type: "json_object" }
        messages = [
          { role: "system", content: jsonInstruction(options.responseFormat.objectName, schema) },
          ...messages
        ]
      }
    }
    const extraTools = PromptConversion.wireToolDeclarations(config.extraTools ?? [], toolOptions)
    const draft: ChatCompletions.WireRequest = {
      model: info.id,
      messages,
      ...tools,
      ...(extraTools.length > 0 ? { tools: [...(tools.tools ?? []), ...extraTools] } : {}),
      ...(responseFormat !== undefined ? { response_format: responseFormat as { readonly type: string } } : {}),
      ...(info.defaultMaxTokens !== undefined ? { max_tokens: info.defaultMaxTokens } : {}),
      ...config.request,
      ...(streaming
        ? { stream: true, ...(spec.includeUsageInStream === false ? {} : { stream_options: { include_usage: true } }) }
        : {})
    }
    const context: PrepareContext = { model: info, options, config, streaming, client, warn }
    const request = spec.prepareRequest ? yield* spec.prepareRequest(draft, context) : draft
    const headers = spec.requestHeaders?.(request, context)
    return {
      info,
      replay,
      headers,
      config,
      retry: RetryPolicy.merge(RetryPolicy.defaults, config.retry, callRetry),
      timeouts: TimeoutPolicy.merge(TimeoutPolicy.defaults, config.timeouts, callTimeouts),
      continuation: continuationOf(config.continuation),
      request,
      warnings,
      toolNames,
      declaredTools: new Set(options.tools.map((tool) => tool.name))
    }
  })

const preflight = (spec: ProviderSpec, resolved: Resolved): Effect.Effect<void, AiError.AiError> =>
  Effect.gen(function* () {
    if (resolved.config.preflight !== true || resolved.info.unknown) return
    const { request, info } = resolved
    const maxOutput = Number(request.max_tokens ?? request.max_completion_tokens ?? 0) || 0
    // A cheap upper bound first: a token encodes at least one UTF-8 byte (byte-level BPE; others encode at least a
    // character), a UTF-16 code unit is at most 3 bytes, and the JSON of the messages and tools is longer than
    // their text plus the per-message tokens. Within the window by that bound, there is nothing to estimate (nor
    // to count exactly, which may be an HTTP call).
    const json = JSON.stringify(request.messages).length + (request.tools ? JSON.stringify(request.tools).length : 0)
    if (3 * json + maxOutput <= info.contextWindow) return
    const prompt = spec.countTokens
      ? yield* spec.countTokens(request)
      : TokenEstimator.estimateRequest({ messages: request.messages, tools: request.tools })
    if (prompt + maxOutput > info.contextWindow) {
      // refusal: core/context-window
      return yield* ProviderError.invalidRequest({
        provider: spec.name,
        contextLength: true,
        parameter: "messages",
        description: `the prompt (${spec.countTokens ? "" : "about "}${prompt} tokens) plus max_tokens (${maxOutput}) exceeds the ${info.contextWindow}-token context window of ${info.id}`
      })
    }
  })

const cacheView = (request: ChatCompletions.WireRequest): Record<string, unknown> => {
  const { stream: _stream, stream_options: _options, ...rest } = request
  return rest
}

// =============================================================================
// Metadata
// =============================================================================

interface CallState {
  attempts: number
  continuations: number
  serverToolRounds: number
  chunkCount: number
  firstChunkAt: number | undefined
  requestId: string | undefined
  headers: Readonly<Record<string, string>> | undefined
  usage: Usage.TokenUsage | undefined
  readonly warnings: ReadonlyArray<string>
}

const newState = (warnings: ReadonlyArray<string>): CallState => ({
  warnings,
  attempts: 0,
  continuations: 0,
  serverToolRounds: 0,
  chunkCount: 0,
  firstChunkAt: undefined,
  requestId: undefined,
  headers: undefined,
  usage: undefined
})

type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

const conduitOf = (metadata: Response.ProviderMetadata | undefined): Record<string, Json> => {
  const conduit = metadata?.conduit
  return typeof conduit === "object" && conduit !== null && !Array.isArray(conduit)
    ? { ...(conduit as Record<string, Json>) }
    : {}
}

const finishWithMetadata = (
  spec: ProviderSpec,
  finish: Response.FinishPartEncoded,
  state: CallState,
  startedAt: number,
  now: number,
  streamed: boolean,
  modelId: string
): Response.FinishPartEncoded => {
  const extra = state.headers !== undefined ? spec.responseMetadata?.(state.headers) : undefined
  const conduit: Record<string, Json> = {
    ...conduitOf(finish.metadata),
    ...(extra ?? {}),
    provider: spec.name,
    model: modelId,
    streamed,
    chunkCount: state.chunkCount,
    timeToFirstTokenMs: (state.firstChunkAt ?? now) - startedAt,
    durationMs: now - startedAt,
    attempts: state.attempts,
    continuations: state.continuations,
    serverToolRounds: state.serverToolRounds
  }
  if (state.requestId !== undefined) conduit.requestId = state.requestId
  if (state.warnings.length > 0) conduit.warnings = [...state.warnings]
  return {
    ...finish,
    ...(state.usage !== undefined ? { usage: Usage.toResponseUsage(state.usage) } : {}),
    metadata: { ...finish.metadata, conduit }
  }
}

const responseMetadataWithRequestId = <P extends Response.PartEncoded | Response.StreamPartEncoded>(
  part: P,
  spec: ProviderSpec,
  state: CallState
): P =>
  part.type === "response-metadata"
    ? ({
        ...part,
        metadata: {
          ...part.metadata,
          conduit: {
            ...conduitOf(part.metadata),
            provider: spec.name,
            ...(state.requestId ? { requestId: state.requestId } : {}),
            ...(state.warnings.length > 0 ? { warnings: [...state.warnings] } : {})
          }
        }
      } as P)
    : part

// =============================================================================
// Server tool rounds and continuation (shared)
// =============================================================================

const serverToolMessages = (
  spec: ProviderSpec,
  replay: PromptConversion.ReasoningReplay,
  calls: ReadonlyArray<ServerToolCall>,
  text: string,
  reasoning: string
): Array<ChatCompletions.RequestMessage> | undefined => {
  // the replay policy applies to the tool-call turn Conduit appends itself, placeholder included
  const replayed = replay.mode === "never" ? undefined : reasoning.trim() !== "" ? reasoning : replay.placeholder
  const serverTools = spec.serverTools
  if (serverTools === undefined || calls.length === 0) return undefined
  if (!calls.every((call) => serverTools.names.includes(call.name))) return undefined
  const results: Array<ChatCompletions.RequestMessage> = calls.map((call) => ({
    role: "tool",
    tool_call_id: call.id,
    name: call.name,
    content: serverTools.resolve(call)
  }))
  return [
    {
      role: "assistant",
      ...(text !== "" ? { content: text } : {}),
      ...(replayed !== undefined ? { reasoning_content: replayed } : {}),
      tool_calls: calls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: call.arguments }
      }))
    },
    ...results
  ]
}

/** Prefill only where the model supports partial mode; otherwise the instruction strategy. */
const continuationMessages = (
  spec: ProviderSpec,
  info: ModelCatalog.ModelInfo,
  text: string
): Array<ChatCompletions.RequestMessage> =>
  spec.continuation === "prefill" && info.capabilities.partialMode
    ? [spec.prefillMessage ? spec.prefillMessage(text) : { role: "assistant", content: text, partial: true }]
    : [
        { role: "assistant", content: text },
        { role: "user", content: continueInstruction }
      ]

const shouldContinue = (
  resolved: Resolved,
  state: CallState,
  rawFinishReason: string | undefined,
  textSoFar: string,
  hasToolCalls: boolean
): boolean =>
  resolved.continuation.enabled &&
  rawFinishReason === "length" &&
  textSoFar !== "" &&
  !hasToolCalls &&
  state.continuations < resolved.continuation.maxContinuations &&
  (state.usage?.outputTokens ?? 0) < resolved.continuation.maxTotalTokens

const continuationRequest = (
  spec: ProviderSpec,
  resolved: Resolved,
  base: ChatCompletions.WireRequest,
  state: CallState,
  textSoFar: string
): ChatCompletions.WireRequest => {
  const remaining = resolved.continuation.maxTotalTokens - (state.usage?.outputTokens ?? 0)
  const requested = Number(base.max_tokens ?? base.max_completion_tokens ?? remaining) || remaining
  const maxTokens = Math.max(1, Math.min(requested, remaining))
  const { max_completion_tokens: _drop, ...rest } = base
  return {
    ...rest,
    messages: [...base.messages, ...continuationMessages(spec, resolved.info, textSoFar)],
    max_tokens: maxTokens
  }
}

const addUsage = (state: CallState, usage: Usage.TokenUsage | undefined) => {
  if (usage !== undefined) state.usage = state.usage === undefined ? usage : Usage.sum(state.usage, usage)
}

/** The total-timeout failure of a call (the limit spans retries, continuations and server rounds). */
const totalTimeoutError = (spec: ProviderSpec, totalMs: number, state: CallState, method: string) =>
  ProviderError.timeout({
    kind: "total",
    limitMs: totalMs,
    provider: spec.name,
    requestId: state.requestId,
    module: "LanguageModel",
    method
  })

const totalTimeout = <A, R>(
  effect: Effect.Effect<A, AiError.AiError, R>,
  spec: ProviderSpec,
  totalMs: number | undefined,
  state: CallState
): Effect.Effect<A, AiError.AiError, R> =>
  totalMs === undefined
    ? effect
    : effect.pipe(
        Effect.timeoutOrElse({
          duration: totalMs,
          orElse: () => Effect.fail(totalTimeoutError(spec, totalMs, state, "generateText"))
        })
      )

// =============================================================================
// generateText
// =============================================================================

const generate = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: Resolved
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.suspend(() => {
    const state = newState(resolved.warnings)
    return totalTimeout(generateWith(spec, client, resolved, state), spec, resolved.timeouts.totalMs, state)
  })

const generateWith = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: Resolved,
  state: CallState
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.gen(function* () {
    const context = yield* RequestContext.RequestContext
    const startedAt = yield* Clock.currentTimeMillis
    const conversion: ResponseConversion.ConversionOptions = {
      toolNames: resolved.toolNames,
      finishReasons: spec.finishReasons,
      extraParts: spec.extraParts
    }
    const attempt = (request: ChatCompletions.WireRequest) =>
      RetryPolicy.retry(
        Effect.suspend(() => {
          state.attempts++
          context.onAttempt?.(state.attempts)
          return client.createChatCompletion(request, resolved.headers)
        }).pipe(
          Effect.flatMap((response) => {
            const raw = response.body.choices[0]?.finish_reason
            const rule = finishFailureFor(
              spec,
              typeof raw === "string" ? raw : undefined,
              messageHasOutput(response.body.choices[0]?.message)
            )
            return rule === undefined
              ? Effect.succeed(response)
              : Effect.fail(
                  ProviderError.finishFailure({
                    provider: spec.name,
                    finishReason: raw!,
                    rule,
                    requestId: response.requestId
                  })
                )
          })
        ),
        resolved.retry
      )

    let request = resolved.request
    const reasoning: Array<string> = []
    const text: Array<string> = []
    const extra: Array<Response.PartEncoded> = []
    let metadataPart: Response.PartEncoded | undefined
    let finish: Response.FinishPartEncoded | undefined
    let toolCalls: Array<Response.ToolCallPartEncoded> = []

    while (true) {
      const response = yield* attempt(request)
      state.requestId ??= response.requestId
      state.headers ??= response.headers
      const converted = ResponseConversion.fromCompletion(response.body, conversion)
      if (Result.isFailure(converted)) return yield* Effect.fail(converted.failure)
      const body = response.body
      let roundText = ""
      let roundReasoning = ""
      toolCalls = []
      for (const part of converted.success) {
        switch (part.type) {
          case "response-metadata":
            metadataPart ??= part
            break
          case "reasoning":
            roundReasoning += part.text
            break
          case "text":
            roundText += part.text
            break
          case "tool-call":
            toolCalls.push(part)
            break
          case "finish":
            finish = part
            break
          default:
            extra.push(part)
        }
      }
      addUsage(state, Usage.fromCompletion(body))
      reasoning.push(roundReasoning)
      text.push(roundText)
      const rawFinish = body.choices[0]?.finish_reason ?? undefined

      // Provider-executed tools (e.g. $web_search): echo back and ask again.
      const wireCalls: Array<ServerToolCall> = (body.choices[0]?.message?.tool_calls ?? []).map((call, index) => ({
        id: toolCalls[index]?.id ?? call.id ?? `tool_${index}`,
        name: call.function?.name ?? "",
        arguments:
          typeof call.function?.arguments === "string"
            ? call.function.arguments
            : JSON.stringify(call.function?.arguments ?? {})
      }))
      const serverRound =
        spec.serverTools !== undefined && state.serverToolRounds < spec.serverTools.maxRounds
          ? serverToolMessages(spec, resolved.replay, wireCalls, roundText, roundReasoning)
          : undefined
      if (serverRound !== undefined) {
        state.serverToolRounds++
        for (const [index, call] of toolCalls.entries()) {
          extra.push({ ...call, providerExecuted: true })
          // a built-in passed only as a wire declaration (`extraTools`) has no toolkit tool to decode a result with
          if (!resolved.declaredTools.has(call.name)) continue
          extra.push({
            type: "tool-result",
            id: call.id,
            name: call.name,
            isFailure: false,
            result: wireCalls[index]?.arguments ?? "",
            providerExecuted: true
          })
        }
        toolCalls = []
        request = { ...request, messages: [...request.messages, ...serverRound] }
        continue
      }

      const fullText = text.join("")
      if (shouldContinue(resolved, state, rawFinish, fullText, toolCalls.length > 0)) {
        state.continuations++
        request = continuationRequest(spec, resolved, resolved.request, state, fullText)
        continue
      }
      break
    }

    const now = yield* Clock.currentTimeMillis
    const parts: Array<Response.PartEncoded> = []
    if (metadataPart !== undefined) parts.push(responseMetadataWithRequestId(metadataPart, spec, state))
    const reasoningText = reasoning.join("")
    if (reasoningText !== "") parts.push({ type: "reasoning", text: reasoningText })
    const answer = text.join("")
    if (answer !== "") parts.push({ type: "text", text: answer })
    parts.push(...extra, ...toolCalls)
    parts.push(
      finishWithMetadata(
        spec,
        finish ?? { type: "finish", reason: "unknown", usage: Usage.toResponseUsage(undefined) },
        state,
        startedAt,
        now,
        false,
        resolved.info.id
      )
    )
    return parts
  })

// =============================================================================
// streamText
// =============================================================================

/** Maps every non-empty batch of a stream to a (possibly empty) batch, dropping empty results. */
const mapBatches = <A, B, E, R>(
  self: Stream.Stream<A, E, R>,
  f: (batch: ReadonlyArray<A>) => ReadonlyArray<B>
): Stream.Stream<B, E, R> =>
  Stream.transformPull(self, (pull) =>
    Effect.succeed(
      Effect.gen(function* () {
        while (true) {
          const out = f(yield* pull)
          if (out.length > 0) return out as unknown as readonly [B, ...Array<B>]
        }
      })
    )
  )

interface SegmentResult {
  finish: Response.FinishPartEncoded | undefined
  text: string
  reasoning: string
  rawFinishReason: string | undefined
  toolCalls: Array<Response.ToolCallPartEncoded>
  wireToolCalls: Array<ServerToolCall>
}

const streamSegment = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: Resolved,
  request: ChatCompletions.WireRequest,
  state: CallState,
  deadline: { readonly at: number; readonly totalMs: number } | undefined,
  segment: number,
  result: SegmentResult,
  onAttempt: ((attempt: number) => void) | undefined
): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> => {
  let emitted = false
  const once = Stream.unwrap(
    Effect.gen(function* () {
      state.attempts++
      onAttempt?.(state.attempts)
      result.finish = undefined
      result.text = ""
      result.reasoning = ""
      result.toolCalls = []
      result.wireToolCalls = []
      const clock = yield* Clock.Clock
      const chat = yield* client.streamChatCompletion(
        request,
        { firstTokenMs: resolved.timeouts.firstTokenMs, idleMs: resolved.timeouts.idleMs, deadline },
        resolved.headers
      )
      state.headers ??= chat.headers
      const assembler = ResponseConversion.makeAssembler({
        toolNames: resolved.toolNames,
        finishReasons: spec.finishReasons,
        extraParts: spec.extraParts
      })
      const wireCalls = new Map<string, ServerToolCall>()
      const track = (parts: ReadonlyArray<Response.StreamPartEncoded>): Array<Response.StreamPartEncoded> => {
        const out: Array<Response.StreamPartEncoded> = []
        for (const raw of parts) {
          let part = raw
          switch (part.type) {
            case "response-metadata":
              if (segment > 0) continue
              state.requestId ??= chat.requestId()
              part = responseMetadataWithRequestId(part, spec, state)
              break
            case "text-start":
            case "text-end":
            case "reasoning-start":
            case "reasoning-end":
              if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
              break
            case "text-delta":
              result.text += part.delta
              if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
              break
            case "reasoning-delta":
              result.reasoning += part.delta
              if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
              break
            case "tool-params-start": {
              const name = resolved.toolNames.getProviderName(part.name)
              wireCalls.set(part.id, { id: part.id, name, arguments: "" })
              // a provider-executed (server) tool, run by the provider in a server round
              if (spec.serverTools?.names.includes(name)) part = { ...part, providerExecuted: true }
              break
            }
            case "tool-params-delta": {
              const call = wireCalls.get(part.id)
              if (call !== undefined) wireCalls.set(part.id, { ...call, arguments: call.arguments + part.delta })
              break
            }
            case "tool-call":
              result.toolCalls.push(part)
              if (spec.serverTools?.names.includes(resolved.toolNames.getProviderName(part.name))) {
                part = { ...part, providerExecuted: true }
              }
              break
            case "finish":
              result.finish = part
              continue
            default:
              break
          }
          out.push(part)
        }
        return out
      }
      // The response-metadata part is held back until the first part of output: an attempt that fails before any
      // output (a finish failure at once, a cut connection) has emitted nothing and can still be retried.
      const held: Array<Response.StreamPartEncoded> = []
      const release = (out: Array<Response.StreamPartEncoded>): Array<Response.StreamPartEncoded> => {
        if (emitted) return out
        if (out.every((part) => part.type === "response-metadata")) {
          held.push(...out)
          return []
        }
        emitted = true
        state.firstChunkAt ??= clock.currentTimeMillisUnsafe()
        return held.length > 0 ? [...held.splice(0), ...out] : out
      }
      const body = mapBatches(chat.chunks, (chunks) => {
        const parts: Array<Response.StreamPartEncoded> = []
        for (const chunk of chunks) parts.push(...assembler.push(chunk))
        state.chunkCount += chunks.length
        return release(track(parts))
      })
      const tail = Stream.fromIterableEffect(
        Effect.suspend(() => {
          const finished = assembler.finish()
          if (Result.isFailure(finished)) return Effect.fail(finished.failure)
          const assembled = assembler.state()
          // (result.toolCalls is filled by track below, so the assembler says whether there was output)
          const failing = finishFailureFor(spec, assembled.finishReason, assembled.sawContent)
          if (failing !== undefined) {
            return Effect.fail(
              ProviderError.finishFailure({
                provider: spec.name,
                finishReason: assembled.finishReason!,
                rule: failing,
                requestId: chat.requestId()
              })
            )
          }
          addUsage(state, assembled.usage)
          result.rawFinishReason = assembled.finishReason
          result.wireToolCalls = [...wireCalls.values()]
          const out = [...held.splice(0), ...track(finished.success)]
          if (out.length > 0) emitted = true
          return Effect.succeed(out)
        })
      )
      return Stream.concat(body, tail)
    })
  )
  return resolved.retry.maxRetries <= 0
    ? once
    : once.pipe(Stream.retry(RetryPolicy.schedule(resolved.retry, { while: () => !emitted })))
}

const stream = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: Resolved
): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const context = yield* RequestContext.RequestContext
      const startedAt = yield* Clock.currentTimeMillis
      const state = newState(resolved.warnings)
      const totalMs = resolved.timeouts.totalMs
      const deadline = totalMs === undefined ? undefined : { at: startedAt + totalMs, totalMs }
      let fullText = ""

      const run = (
        request: ChatCompletions.WireRequest,
        segment: number
      ): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> => {
        const result: SegmentResult = {
          finish: undefined,
          text: "",
          reasoning: "",
          rawFinishReason: undefined,
          toolCalls: [],
          wireToolCalls: []
        }
        const body = streamSegment(spec, client, resolved, request, state, deadline, segment, result, context.onAttempt)
        return Stream.concat(
          body,
          Stream.unwrap(
            Effect.gen(function* () {
              fullText += result.text
              const serverRound =
                spec.serverTools !== undefined &&
                state.serverToolRounds < spec.serverTools.maxRounds &&
                result.rawFinishReason === "tool_calls"
                  ? serverToolMessages(spec, resolved.replay, result.wireToolCalls, result.text, result.reasoning)
                  : undefined
              if (serverRound !== undefined) {
                state.serverToolRounds++
                // (as in the non-stream path: results only for tools the toolkit declares)
                const results: Array<Response.StreamPartEncoded> = result.toolCalls.flatMap((call, index) =>
                  resolved.declaredTools.has(call.name)
                    ? [
                        {
                          type: "tool-result",
                          id: call.id,
                          name: call.name,
                          isFailure: false,
                          result: result.wireToolCalls[index]?.arguments ?? "",
                          providerExecuted: true
                        } as const
                      ]
                    : []
                )
                return Stream.concat(
                  Stream.fromIterable(results),
                  run({ ...request, messages: [...request.messages, ...serverRound] }, segment + 1)
                )
              }
              if (shouldContinue(resolved, state, result.rawFinishReason, fullText, result.toolCalls.length > 0)) {
                state.continuations++
                return run(continuationRequest(spec, resolved, resolved.request, state, fullText), segment + 1)
              }
              const now = yield* Clock.currentTimeMillis
              const finish = finishWithMetadata(
                spec,
                result.finish ?? { type: "finish", reason: "unknown", usage: Usage.toResponseUsage(undefined) },
                state,
                startedAt,
                now,
                true,
                resolved.info.id
              )
              return Stream.make(finish as Response.StreamPartEncoded)
            })
          )
        )
      }
      const parts = run(resolved.request, 0)
      // The client checks the deadline while it waits for headers and chunks; this also bounds what happens between
      // them (the sleep before a retry, a continuation's or a server round's request), so a stream never outlives
      // `totalMs` however its time is spent. Interrupting the stream aborts the upstream request.
      return totalMs === undefined
        ? parts
        : Stream.interruptWhen(
            parts,
            Effect.flatMap(Effect.sleep(totalMs), () =>
              Effect.fail(totalTimeoutError(spec, totalMs, state, "streamText"))
            )
          )
    })
  )

// =============================================================================
// Constructors
// =============================================================================

/**
 * Builds the `LanguageModel` service for `model` from a spec and a transport.
 *
 * @since 0.1.0
 */
export const make = (params: {
  readonly spec: ProviderSpec
  readonly client: OpenAiCompatClientShape
  readonly model: string
  readonly config?: ModelConfig | undefined
}): Effect.Effect<LanguageModel.LanguageModel> => {
  const { spec, model } = params
  const client = spec.transport === undefined ? params.client : spec.transport(params.client, model)
  const modelConfig = params.config ?? {}
  return LanguageModel.make({
    generateText: (options) =>
      Effect.gen(function* () {
        const resolved = yield* buildRequest(spec, client, model, modelConfig, options, false)
        // refusal-relay (core/context-window)
        yield* preflight(spec, resolved)
        const cache = yield* ResponseCache.ResponseCache
        const callOptions = yield* ResponseCache.CallOptions
        return yield* cache.generate(
          { provider: spec.name, request: cacheView(resolved.request), options: callOptions },
          generate(spec, client, resolved)
        )
      }),
    streamText: (options) =>
      Stream.unwrap(
        Effect.gen(function* () {
          const resolved = yield* buildRequest(spec, client, model, modelConfig, options, true)
          // refusal-relay (core/context-window)
          yield* preflight(spec, resolved)
          const cache = yield* ResponseCache.ResponseCache
          const callOptions = yield* ResponseCache.CallOptions
          return cache.stream(
            { provider: spec.name, request: cacheView(resolved.request), options: callOptions },
            stream(spec, client, resolved)
          )
        })
      )
  })
}

/**
 * The service tag of a provider's transport, so `layer` / `model` can be built from a context.
 *
 * @since 0.1.0
 */
export type ClientTag<Id> = Context.Key<Id, OpenAiCompatClientShape>

/**
 * A `LanguageModel` layer that takes the transport from `clientTag`.
 *
 * @since 0.1.0
 */
export const layer = <Id>(params: {
  readonly spec: ProviderSpec
  readonly clientTag: ClientTag<Id>
  readonly model: string
  readonly config?: ModelConfig | undefined
}): Layer.Layer<LanguageModel.LanguageModel, never, Id> =>
  Layer.effect(
    LanguageModel.LanguageModel,
    Effect.flatMap(Effect.service(params.clientTag), (client) =>
      make({ spec: params.spec, client, model: params.model, config: params.config })
    )
  )

/**
 * An `effect/ai` `Model` (a layer that also provides `Model.ProviderName` and `Model.ModelName`), for
 * `Effect.provide`, `ExecutionPlan` and `Chat`.
 *
 * @since 0.1.0
 */
export const model = <const Provider extends string, Id>(params: {
  readonly provider: Provider
  readonly spec: ProviderSpec
  readonly clientTag: ClientTag<Id>
  readonly model: string
  readonly config?: ModelConfig | undefined
}): Model.Model<Provider, LanguageModel.LanguageModel, Id> => Model.make(params.provider, params.model, layer(params))
