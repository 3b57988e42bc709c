/**
 * Request building for the OpenAI-compatible `LanguageModel`: one call's options resolved into a
 * {@link ResolvedCall} (catalog entry, merged configuration and policies, the final wire request), the pre-flight
 * context-window check, and the view of the request the response cache keys on. Pure but for reading the per-call
 * configuration from context and the provider's effectful hooks.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import { type AiError, type LanguageModel, Tool } from "effect/ai"
import * as CallConfig from "./CallConfig.js"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as Cost from "./Cost.js"
import * as ModelCatalog from "./ModelCatalog.js"
import type { OpenAiCompatClientShape } from "./OpenAiCompatClient.js"
import * as PromptConversion from "./PromptConversion.js"
import * as ProviderError from "./ProviderError.js"
import type * as ProviderSpec from "./ProviderSpec.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as TimeoutPolicy from "./TimeoutPolicy.js"
import * as TokenEstimator from "./TokenEstimator.js"

/**
 * One call, resolved: the catalog entry, the merged configuration and policies, and the final wire request (after
 * the provider's `prepareRequest`), with the tool-name mapping the response conversion needs.
 *
 * @since 0.1.0
 */
export interface ResolvedCall {
  readonly info: ModelCatalog.ModelInfo
  readonly replay: PromptConversion.ReasoningReplay
  readonly headers: Readonly<Record<string, string>> | undefined
  readonly config: CallConfig.ModelConfig
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeouts: TimeoutPolicy.TimeoutPolicy
  readonly continuation: CallConfig.ContinuationPolicy
  readonly request: ChatCompletions.WireRequest
  /**
   * A non-stream call only: send it in streaming mode and assemble the answer (the configuration's
   * `assembleNonStream`, else the spec's decision for this request).
   */
  readonly assembleNonStream: boolean
  /** What was adapted in the request or the caller should know (the model's lifecycle, the spec's `context.warn`). */
  readonly warnings: ReadonlyArray<string>
  readonly toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>
  /** The names of the call's toolkit tools (a provider-executed round reports `tool-result` parts only for these). */
  readonly declaredTools: ReadonlySet<string>
  /** The price of this call's responses: the configured one, else the catalog's for the endpoint's currency. */
  readonly pricing: Cost.Pricing | undefined
}

/**
 * The system message that asks for JSON output on a model without JSON-schema response format: the object name and
 * the JSON Schema it must conform to.
 *
 * @since 0.1.0
 */
export const jsonInstruction = (name: string, schema: unknown): string =>
  `Respond with a single JSON object named "${name}" that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(schema)}`

/**
 * Resolves the model in the catalog (unknown ids pass through with conservative defaults; a retired or deprecated
 * one gets the lifecycle warning and is sent), merges
 * the model's configuration with the per-call one (`CallConfig`, `RetryPolicy.CallRetryPolicy`,
 * `TimeoutPolicy.CallTimeoutPolicy`) and builds the wire request: prompt to messages with the reasoning-replay
 * policy, tools and `tool_choice` (plus the configuration's provider-defined tool declarations), `response_format`
 * (`json_schema` where the model supports it, else `json_object` plus {@link jsonInstruction}), the model's default
 * `max_tokens`, wire parameters, the stream flags, then the provider's `prepareRequest` and `requestHeaders` hooks.
 *
 * Fails with the `AiError` of the prompt or tool conversion, or of `prepareRequest`.
 *
 * @since 0.1.0
 */
export const buildRequest = (
  spec: ProviderSpec.ProviderSpec,
  client: OpenAiCompatClientShape,
  modelId: string,
  modelConfig: CallConfig.ModelConfig,
  options: LanguageModel.ProviderOptions,
  streaming: boolean
): Effect.Effect<ResolvedCall, AiError.AiError> =>
  // no generator: the per-call configuration read from the fiber, the conversions' `Result`s checked in place
  Effect.flatMap(spec.catalog.resolve(modelId), (info) =>
    Effect.withFiber((fiber) => {
      const call = fiber.getRef(CallConfig.CallConfig)
      const callRetry = fiber.getRef(RetryPolicy.CallRetryPolicy)
      const callTimeouts = fiber.getRef(TimeoutPolicy.CallTimeoutPolicy)
      const config = CallConfig.mergeConfig(modelConfig, call)
      const toolNames = new Tool.NameMapper(options.tools)
      const replay =
        info.reasoningReplay ??
        (typeof spec.reasoningReplay === "function"
          ? spec.reasoningReplay({ model: info, config, client })
          : spec.reasoningReplay)
      const converted = PromptConversion.toMessages(
        options.prompt,
        { reasoning: replay, providerName: spec.name },
        toolNames
      )
      if (Result.isFailure(converted)) return Effect.fail(converted.failure)
      const toolOptions: PromptConversion.ToolOptions = {
        providerName: spec.name,
        providerTool: spec.providerTool,
        transformSchema: spec.transformToolSchema,
        strict: spec.toolStrict
      }
      const tools = PromptConversion.toTools(options.tools, options.toolChoice, toolOptions)
      if (Result.isFailure(tools)) return Effect.fail(tools.failure)
      return finishRequest(spec, client, options, streaming, {
        info,
        config,
        replay,
        toolNames,
        toolOptions,
        messages: converted.success,
        tools: tools.success,
        retry: RetryPolicy.merge(RetryPolicy.defaults, config.retry, callRetry),
        timeouts: TimeoutPolicy.merge(TimeoutPolicy.defaults, config.timeouts, callTimeouts)
      })
    })
  )

/** What {@link buildRequest} resolved before the wire request's last steps ({@link finishRequest}). */
interface Resolving {
  readonly info: ModelCatalog.ModelInfo
  readonly config: CallConfig.ModelConfig
  readonly replay: PromptConversion.ReasoningReplay
  readonly toolNames: Tool.NameMapper<ReadonlyArray<Tool.Any>>
  readonly toolOptions: PromptConversion.ToolOptions
  readonly messages: Array<ChatCompletions.RequestMessage>
  readonly tools: {
    readonly tools?: Array<ChatCompletions.RequestTool>
    readonly tool_choice?: string | Record<string, unknown>
  }
  readonly retry: RetryPolicy.RetryPolicy
  readonly timeouts: TimeoutPolicy.TimeoutPolicy
}

/** The wire request from the converted messages and tools: response format, parameters, the provider's hooks. */
const finishRequest = (
  spec: ProviderSpec.ProviderSpec,
  client: OpenAiCompatClientShape,
  options: LanguageModel.ProviderOptions,
  streaming: boolean,
  resolving: Resolving
): Effect.Effect<ResolvedCall, AiError.AiError> => {
  const { info, config, toolOptions, tools } = resolving
  let messages = resolving.messages
  const warnings: Array<string> = []
  const lifecycle = ModelCatalog.lifecycleWarning(info)
  if (lifecycle !== undefined) warnings.push(lifecycle)
  const warn = (warning: string) => {
    if (!warnings.includes(warning)) warnings.push(warning)
  }
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
      messages = [{ role: "system", content: jsonInstruction(options.responseFormat.objectName, schema) }, ...messages]
    }
  }
  const wireTools = PromptConversion.wireToolDeclarations(config.wireTools ?? [], toolOptions)
  const draft: ChatCompletions.WireRequest = {
    model: info.id,
    messages,
    ...tools,
    ...(wireTools.length > 0 ? { tools: [...(tools.tools ?? []), ...wireTools] } : {}),
    ...(responseFormat !== undefined ? { response_format: responseFormat as { readonly type: string } } : {}),
    ...(info.defaultMaxTokens !== undefined ? { max_tokens: info.defaultMaxTokens } : {}),
    ...config.request,
    ...(streaming
      ? { stream: true, ...(spec.includeUsageInStream === false ? {} : { stream_options: { include_usage: true } }) }
      : {})
  }
  const context: ProviderSpec.PrepareContext = { model: info, options, config, streaming, client, warn }
  const resolved = (request: ChatCompletions.WireRequest): ResolvedCall => {
    const headers = spec.requestHeaders?.(request, context)
    return {
      info,
      replay: resolving.replay,
      headers,
      config,
      retry: resolving.retry,
      timeouts: resolving.timeouts,
      continuation: CallConfig.continuationPolicy(config.continuation),
      request,
      assembleNonStream:
        !streaming && (config.assembleNonStream ?? spec.assembleNonStream?.(request, headers) ?? false),
      warnings,
      toolNames: resolving.toolNames,
      declaredTools: new Set(options.tools.map((tool) => tool.name)),
      pricing:
        config.pricing ??
        (spec.billingCurrency === undefined
          ? info.pricing?.[0]
          : Cost.select(info.pricing, spec.billingCurrency(client.config.baseURL)))
    }
  }
  return spec.prepareRequest
    ? Effect.map(spec.prepareRequest(draft, context), resolved)
    : Effect.succeed(resolved(draft))
}

/**
 * The pre-flight check, only with `preflight: true` (catalog context windows are often unconfirmed, so by default the
 * provider's own answer decides) and skipped for unknown models: the prompt's tokens plus
 * `max_tokens` above the model's context window fails with `InvalidRequestError` (`contextLength: true`,
 * parameter `messages`) before any HTTP call. The prompt is counted with the spec's `countTokens` (exact, possibly
 * an HTTP call) or estimated with `TokenEstimator.estimateRequest`, and only when a cheap upper bound (3 x the JSON
 * length of messages and tools, plus `max_tokens`) does not already show that it fits.
 *
 * @since 0.1.0
 */
export const preflight = (
  spec: ProviderSpec.ProviderSpec,
  resolved: ResolvedCall
): Effect.Effect<void, AiError.AiError> =>
  resolved.config.preflight !== true || resolved.info.unknown ? Effect.void : checkContextWindow(spec, resolved)

const checkContextWindow = (
  spec: ProviderSpec.ProviderSpec,
  resolved: ResolvedCall
): Effect.Effect<void, AiError.AiError> =>
  Effect.gen(function* () {
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

/**
 * The request as the response cache keys it: the wire body without `stream` / `stream_options`, which do not change
 * the answer.
 *
 * @since 0.1.0
 */
export const cacheView = (request: ChatCompletions.WireRequest): Record<string, unknown> => {
  const { stream: _stream, stream_options: _options, ...rest } = request
  return rest
}
