/**
 * An `effect/ai` `LanguageModel` for any OpenAI-compatible provider, parameterized by a {@link ProviderSpec}: the
 * provider's catalog, request shaping, reasoning-replay policy, error table (through its client), response hooks
 * and continuation strategy. Provider packages are mostly a spec plus tests.
 *
 * Per call, in order:
 * 1. Resolve the model in the catalog (unknown ids pass through; a retired or deprecated one is sent with a warning)
 *    and merge configuration: model config, then per-call overrides (`CallConfig`, `RetryPolicy.CallRetryPolicy`,
 *    `TimeoutPolicy.CallTimeoutPolicy`) (`RequestBuilder.buildRequest`).
 * 2. Build the wire request: prompt → messages with the reasoning-replay policy, tools and `tool_choice`,
 *    `response_format` (`json_schema` where the model supports it, else `json_object` plus the schema as an
 *    instruction), wire parameters, then the provider's `prepareRequest` hook (sampling rules, thinking switch...).
 * 3. Pre-flight, only when asked (`preflight: true`; catalog context windows are often unconfirmed, so by default
 *    the provider decides): estimated prompt tokens + `max_tokens` above the context window fails with
 *    `InvalidRequestError` (`constraint: "context_length_exceeded"`) before any HTTP call.
 * 4. Call through the `ResponseCacheHook` (a pass-through unless `@conduitkit/cache` provides one), with the
 *    `RetryPolicy` (streams only before their first part reached the caller) and the `TimeoutPolicy` (total across
 *    retries and continuations; first-token and idle per attempt).
 * 5. After each segment (one upstream response), the shared `RoundPolicy` decides: a provider-executed tool round
 *    (Moonshot `$web_search`: echo the arguments back) up to a bound, a continuation after `finish_reason: "length"`
 *    when enabled, or done; the segments merge into one response or one stream.
 * 6. The `finish` part's `metadata.conduit` carries `{ streamed, chunkCount, timeToFirstTokenMs, durationMs,
 *    requestId, attempts, continuations, providerExecutedRounds, rawFinishReason, ... }` for both paths, and
 *    `warnings` (what was adapted or is worth knowing: a retired model, thinking switched off for a forced tool
 *    choice...), which the first `response-metadata` part carries too (so a stream's consumer knows them before any
 *    output).
 *
 * The configuration types and the spec live in `CallConfig` and `ProviderSpec`; this module re-exports them, so
 * `OpenAiCompatLanguageModel.ProviderSpec`, `.ModelConfig`, `.CallConfig` ... are where callers find them.
 *
 * @since 0.1.0
 */
import { Cause, Channel, Clock, type Context, Effect, Layer, Option, Result, Stream } from "effect"
import { type AiError, LanguageModel, Model, type Response, Telemetry } from "effect/ai"
import type * as CallConfigModule from "./CallConfig.js"
import * as CallMetadata from "./CallMetadata.js"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as Deadline from "./internal/deadline.js"
import * as encodedGenerates from "./internal/encodedGenerates.js"
import * as encodedStreams from "./internal/encodedStreams.js"
import * as timer from "./internal/timer.js"
import type { OpenAiCompatClientShape, WithHeaders } from "./OpenAiCompatClient.js"
import * as ProviderError from "./ProviderError.js"
import type { ProviderExecutedToolCall, ProviderSpec } from "./ProviderSpec.js"
import { finishFailureFor, messageHasOutput } from "./ProviderSpec.js"
import * as RequestBuilder from "./RequestBuilder.js"
import * as RequestContext from "./RequestContext.js"
import * as ResponseCacheHook from "./ResponseCacheHook.js"
import * as ResponseConversion from "./ResponseConversion.js"
import * as RetryPolicy from "./RetryPolicy.js"
import * as RoundPolicy from "./RoundPolicy.js"
import * as StreamSegment from "./StreamSegment.js"
import * as Tracing from "./Tracing.js"
import * as Usage from "./Usage.js"

export type {
  /**
   * A partial continuation policy (see `CallConfig`).
   *
   * @since 0.1.0
   */
  ContinuationInput,
  /**
   * Continuation after `finish_reason: "length"` (see `CallConfig`).
   *
   * @since 0.1.0
   */
  ContinuationPolicy,
  /**
   * Configuration of a model, and of one call (see `CallConfig`).
   *
   * @since 0.1.0
   */
  ModelConfig
} from "./CallConfig.js"
export {
  /**
   * Per-call configuration, merged over the model's (see `CallConfig`).
   *
   * @since 0.1.0
   */
  CallConfig,
  /**
   * `{ enabled: false, maxContinuations: 3, maxTotalTokens: 32000 }` (see `CallConfig`).
   *
   * @since 0.1.0
   */
  defaultContinuation,
  /**
   * Merges two configurations, `over` winning field by field (see `CallConfig`).
   *
   * @since 0.1.0
   */
  mergeConfig,
  /**
   * The stream version of {@link withCallConfig} (see `CallConfig`).
   *
   * @since 0.1.0
   */
  streamWithCallConfig,
  /**
   * Runs an effect with per-call configuration merged over any already in context (see `CallConfig`).
   *
   * @since 0.1.0
   */
  withCallConfig
} from "./CallConfig.js"
export type {
  /**
   * A finish reason that is a failure (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  FinishFailureRule,
  /**
   * Everything a provider's request-shaping hook may look at (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  PrepareContext,
  /**
   * A provider-executed tool call the model made (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  ProviderExecutedToolCall,
  /**
   * What makes a provider (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  ProviderSpec,
  /**
   * What a per-call reasoning-replay policy may look at (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  ReplayContext
} from "./ProviderSpec.js"
export {
  /**
   * The `finishFailures` rule that applies to a finish reason (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  finishFailureFor,
  /**
   * Whether a non-stream answer's message has output (see `ProviderSpec`).
   *
   * @since 0.1.0
   */
  messageHasOutput
} from "./ProviderSpec.js"
export {
  /**
   * The system message that asks for JSON output on a model without JSON-schema response format (see
   * `RequestBuilder`).
   *
   * @since 0.1.0
   */
  jsonInstruction
} from "./RequestBuilder.js"
export {
  /**
   * The user turn appended by the `"instruction"` continuation strategy (see `RoundPolicy`).
   *
   * @since 0.1.0
   */
  continueInstruction
} from "./RoundPolicy.js"

// =============================================================================
// generateText
// =============================================================================

/**
 * The total timeout of an assembled non-stream call as a deadline (Clock ms) that its waits check, instead of a timer
 * raced against the whole call (`Effect.timeoutOrElse` forks the call and a sleeper: ~115 µs of CPU per request in
 * a loaded server, BENCHMARKS.md issue 18 round 3). The client bounds each wait for headers and chunks by it
 * (`StreamLimits.deadline`), a retry's sleep ends at it at the latest, and an attempt due after it is not sent:
 * wherever the time goes, the call fails at the deadline with `timedOut()`, the call's total-timeout error.
 */
interface CallDeadline extends Deadline.Deadline {
  readonly timedOut: () => AiError.AiError
}

const generate = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.suspend(() => {
    const state = CallMetadata.newState(resolved.warnings)
    const totalMs = resolved.timeouts.totalMs
    if (totalMs === undefined) return generateWith(spec, client, resolved, state, undefined)
    const timedOut = () => CallMetadata.totalTimeoutError(spec, totalMs, state, "generateText")
    if (!resolved.assembleNonStream) {
      // a plain request waits inside the SDK, which takes no deadline: the call is raced against the timer
      return timer.failAfter(generateWith(spec, client, resolved, state, undefined), totalMs, timedOut)
    }
    return Clock.clockWith((clock) =>
      generateWith(spec, client, resolved, state, {
        at: clock.currentTimeMillisUnsafe() + totalMs,
        totalMs,
        clock,
        timedOut
      })
    )
  })

/**
 * One non-stream answer: the plain request, or (`resolved.assembleNonStream`) the request in streaming mode under the
 * first-token and idle bounds and the call's deadline with its chunks assembled (`CompletionAssembly`), so a hung
 * attempt or a connection that fails mid-body fails the attempt (retryable) instead of waiting out the total timeout.
 */
const completion = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall,
  request: ChatCompletions.WireRequest,
  headers: Readonly<Record<string, string>> | undefined,
  deadline: CallDeadline | undefined
): Effect.Effect<WithHeaders<ChatCompletions.ChatCompletion>, AiError.AiError> => {
  if (!resolved.assembleNonStream) return client.createChatCompletion(request, headers)
  const streamed: ChatCompletions.WireRequest = {
    ...request,
    stream: true,
    ...(spec.includeUsageInStream === false ? {} : { stream_options: { include_usage: true } })
  }
  const { firstTokenMs, idleMs } = resolved.timeouts
  if (deadline === undefined)
    return client.assembleChatCompletion(streamed, { firstTokenMs, idleMs, buffered: true }, headers)
  const limits = { firstTokenMs, idleMs, deadline: { at: deadline.at, totalMs: deadline.totalMs }, buffered: true }
  return Effect.mapError(client.assembleChatCompletion(streamed, limits, headers), (error) =>
    Deadline.isTimeout(error) ? deadline.timedOut() : error
  )
}

/** What a non-stream answer tells its attempt's span (see `Tracing`). */
const completionOutcome = (response: WithHeaders<ChatCompletions.ChatCompletion>) => {
  const { body } = response
  const message = body.choices[0]?.message as { content?: unknown; reasoning_content?: unknown } | undefined
  return {
    id: body.id ?? undefined,
    model: body.model ?? undefined,
    finishReasons: body.choices.flatMap((choice) =>
      typeof choice.finish_reason === "string" ? [choice.finish_reason] : []
    ),
    usage: Usage.fromCompletion(body),
    output: {
      text: typeof message?.content === "string" ? message.content : "",
      reasoning: typeof message?.reasoning_content === "string" ? message.reasoning_content : ""
    }
  }
}

/**
 * One non-stream request with the retry policy, each attempt in its span (see `Tracing`); a finish reason the spec
 * lists as a failure fails the attempt.
 */
const attemptCompletion = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall,
  state: CallMetadata.CallState,
  onAttempt: ((attempt: number) => void) | undefined,
  request: ChatCompletions.WireRequest,
  deadline: CallDeadline | undefined
) => {
  let retryDelayMs: number | undefined
  const checked = (response: WithHeaders<ChatCompletions.ChatCompletion>) => {
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
  }
  return RetryPolicy.retry(
    Effect.suspend(() => {
      if (deadline !== undefined && Deadline.passed(deadline)) {
        return Effect.fail(deadline.timedOut())
      }
      state.attempts++
      onAttempt?.(state.attempts)
      const info = {
        provider: spec.name,
        baseURL: client.config.baseURL,
        request,
        streaming: false,
        attempt: state.attempts,
        retryDelayMs
      }
      retryDelayMs = undefined
      return Tracing.attempt(
        info,
        resolved.headers,
        (headers) => Effect.flatMap(completion(spec, client, resolved, request, headers, deadline), checked),
        completionOutcome
      )
    }),
    resolved.retry,
    {
      onRetry: ({ delayMs }) => {
        retryDelayMs = delayMs
      },
      // a retry's sleep ends at the deadline, where the next attempt fails with the total timeout unsent
      ...Deadline.retrySleep(deadline)
    }
  )
}

/** A non-stream segment: its converted parts sorted by kind, and its summary for the round policy. */
interface CompletionSegment {
  readonly summary: RoundPolicy.SegmentSummary
  readonly metadata: Response.PartEncoded | undefined
  readonly finish: Response.FinishPartEncoded | undefined
  readonly extra: ReadonlyArray<Response.PartEncoded>
}

const completionSegment = (
  body: ChatCompletions.ChatCompletion,
  parts: ReadonlyArray<Response.PartEncoded>
): CompletionSegment => {
  let text = ""
  let reasoning = ""
  let metadata: Response.PartEncoded | undefined
  let finish: Response.FinishPartEncoded | undefined
  const toolCalls: Array<Response.ToolCallPartEncoded> = []
  const extra: Array<Response.PartEncoded> = []
  for (const part of parts) {
    switch (part.type) {
      case "response-metadata":
        metadata ??= part
        break
      case "reasoning":
        reasoning += part.text
        break
      case "text":
        text += part.text
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
  const wireToolCalls: Array<ProviderExecutedToolCall> = (body.choices[0]?.message?.tool_calls ?? []).map(
    (call, index) => ({
      id: toolCalls[index]?.id ?? call.id ?? `tool_${index}`,
      name: call.function?.name ?? "",
      arguments:
        typeof call.function?.arguments === "string"
          ? call.function.arguments
          : JSON.stringify(call.function?.arguments ?? {})
    })
  )
  const rawFinishReason = body.choices[0]?.finish_reason ?? undefined
  return {
    summary: { text, reasoning, rawFinishReason, toolCalls, wireToolCalls, toolCallsComplete: true },
    metadata,
    finish,
    extra
  }
}

const generateWith = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall,
  state: CallMetadata.CallState,
  deadline: CallDeadline | undefined
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Effect.gen(function* () {
    const context = yield* RequestContext.RequestContext
    const startedAt = yield* Clock.currentTimeMillis
    const conversion: ResponseConversion.ConversionOptions = {
      toolNames: resolved.toolNames,
      finishReasons: spec.finishReasons,
      extraParts: spec.extraParts
    }
    let request = resolved.request
    let reasoning = ""
    let text = ""
    const extra: Array<Response.PartEncoded> = []
    let metadataPart: Response.PartEncoded | undefined
    let finish: Response.FinishPartEncoded | undefined
    let toolCalls: ReadonlyArray<Response.ToolCallPartEncoded> = []

    while (true) {
      const response = yield* attemptCompletion(spec, client, resolved, state, context.onAttempt, request, deadline)
      state.requestId ??= response.requestId
      state.headers ??= response.headers
      const converted = ResponseConversion.fromCompletion(response.body, conversion)
      if (Result.isFailure(converted)) return yield* Effect.fail(converted.failure)
      const segment = completionSegment(response.body, converted.success)
      metadataPart ??= segment.metadata
      finish = segment.finish ?? finish
      extra.push(...segment.extra)
      CallMetadata.addUsage(state, Usage.fromCompletion(response.body))
      reasoning += segment.summary.reasoning
      text += segment.summary.text
      toolCalls = segment.summary.toolCalls
      const next = RoundPolicy.next(spec, resolved, request, segment.summary, CallMetadata.progress(state, text))
      if (next._tag === "Done") break
      if (next._tag === "ProviderExecutedRound") {
        state.providerExecutedRounds++
        for (const call of toolCalls) {
          extra.push({ ...call, providerExecuted: true })
          const result = next.results.find((part) => part.id === call.id)
          if (result !== undefined) extra.push(result)
        }
        toolCalls = []
      } else {
        state.continuations++
      }
      request = next.request
    }

    const now = yield* Clock.currentTimeMillis
    const parts: Array<Response.PartEncoded> = []
    if (metadataPart !== undefined) {
      parts.push(CallMetadata.responseMetadataWithRequestId(metadataPart, spec, state))
    }
    if (reasoning !== "") parts.push({ type: "reasoning", text: reasoning })
    if (text !== "") parts.push({ type: "text", text })
    parts.push(...extra, ...toolCalls)
    parts.push(
      CallMetadata.finishWithMetadata(spec, finish, state, startedAt, now, false, resolved.info.id, resolved.pricing)
    )
    return parts
  })

// =============================================================================
// streamText
// =============================================================================

const stream = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall
): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const context = yield* RequestContext.RequestContext
      const clock = yield* Clock.Clock
      const startedAt = clock.currentTimeMillisUnsafe()
      const state = CallMetadata.newState(resolved.warnings)
      const totalMs = resolved.timeouts.totalMs
      const own = totalMs === undefined ? undefined : { at: startedAt + totalMs, totalMs, clock }
      // the request's deadline (the session manager's execution timeout) bounds the stream too: the tighter applies
      const outer = context.deadline
      const deadline =
        outer !== undefined && (own === undefined || outer.at < own.at)
          ? { at: outer.at, totalMs: outer.timeoutMs, clock }
          : own
      let text = ""

      const run = (
        request: ChatCompletions.WireRequest,
        segment: number
      ): Channel.Channel<StreamSegment.Batch, AiError.AiError> =>
        Channel.concatWith(
          StreamSegment.streamSegment(spec, client, resolved, request, state, deadline, segment, context.onAttempt),
          (summary) => {
            text += summary.text
            const next = RoundPolicy.next(spec, resolved, request, summary, CallMetadata.progress(state, text))
            switch (next._tag) {
              case "ProviderExecutedRound":
                state.providerExecutedRounds++
                return StreamSegment.emitThenEnd(next.results, undefined).pipe(
                  Channel.concatWith(() => run(next.request, segment + 1))
                )
              case "Continuation":
                state.continuations++
                return run(next.request, segment + 1)
              case "Done":
                return Channel.unwrap(
                  Effect.map(Clock.currentTimeMillis, (now) => {
                    const { finish } = summary
                    const part = CallMetadata.finishWithMetadata(
                      spec,
                      finish,
                      state,
                      startedAt,
                      now,
                      true,
                      resolved.info.id,
                      resolved.pricing
                    )
                    return StreamSegment.emitThenEnd([part], undefined)
                  })
                )
            }
          }
        )
      const parts = Stream.fromChannel(run(resolved.request, 0))
      if (deadline === undefined) return parts
      // The deadline is checked where the stream waits, with no timer of its own: the client bounds the waits for
      // headers and chunks by it, a segment's attempts do not start after it (a retry's sleep ends at it), and each
      // pull checks it (a slow consumer's stream ends there too). The client's `total` timeout becomes the call's.
      const timedOut = () => CallMetadata.totalTimeoutError(spec, deadline.totalMs, state, "streamText")
      const toCallError = (error: AiError.AiError | Cause.Done): AiError.AiError | Cause.Done =>
        !Cause.isDone(error) && Deadline.isTimeout(error) ? timedOut() : error
      return Stream.transformPull(parts, (pull) =>
        Effect.succeed(
          Effect.suspend(() =>
            Deadline.passed(deadline) ? Effect.fail(timedOut()) : Effect.mapError(pull, toCallError)
          )
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
  readonly config?: CallConfigModule.ModelConfig | undefined
}): Effect.Effect<LanguageModel.LanguageModel> => {
  const { spec, model } = params
  const client = spec.transport === undefined ? params.client : spec.transport(params.client, model)
  const modelConfig = params.config ?? {}
  const prepare = (options: LanguageModel.ProviderOptions, streaming: boolean) =>
    Effect.flatMap(RequestBuilder.buildRequest(spec, client, model, modelConfig, options, streaming), (resolved) =>
      Effect.withFiber((fiber) => {
        const cache = fiber.getRef(ResponseCacheHook.ResponseCacheHook)
        const call: ResponseCacheHook.CacheableCall = {
          provider: spec.name,
          // the pass-through hook never reads it
          request:
            cache === ResponseCacheHook.passthrough ? resolved.request : RequestBuilder.cacheView(resolved.request),
          options: fiber.getRef(ResponseCacheHook.CallOptions)
        }
        // refusal-relay (core/context-window)
        return Effect.as(RequestBuilder.preflight(spec, resolved), { resolved, cache, call })
      })
    )
  const streamText = (options: LanguageModel.ProviderOptions) =>
    Stream.unwrap(
      Effect.map(prepare(options, true), ({ resolved, cache, call }) =>
        Tracing.tracedCallStream(cache.stream(call, stream(spec, client, resolved)), options.span, {
          provider: spec.name,
          model: resolved.info.id
        })
      )
    )
  const generateText = (options: LanguageModel.ProviderOptions) =>
    Effect.flatMap(prepare(options, false), ({ resolved, cache, call }) =>
      Tracing.tracedCall(cache.generate(call, generate(spec, client, resolved)), options.span, {
        provider: spec.name,
        model: resolved.info.id
      })
    )
  return Effect.gen(function* () {
    const service = yield* LanguageModel.make({ generateText, streamText })
    // a span transformer captured here would be applied by effect/ai's own calls only (see `EncodedStream`)
    const transformer = yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)
    return Option.isSome(transformer)
      ? service
      : encodedGenerates.register(encodedStreams.register(service, streamText), generateText)
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
  readonly config?: CallConfigModule.ModelConfig | undefined
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
  readonly config?: CallConfigModule.ModelConfig | undefined
}): Model.Model<Provider, LanguageModel.LanguageModel, Id> => Model.make(params.provider, params.model, layer(params))
