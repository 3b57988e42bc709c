/**
 * The engine every front door runs on: one {@link Call} (a prompt and its call configuration, whatever protocol it
 * came in) through the route, the session, the response cache and the model, with the gateway's metrics and access
 * log fields. A front door (`ChatRoute` for OpenAI Chat Completions; an Anthropic Messages route or an MCP server the
 * same way) parses its protocol into a `Call`, runs it with {@link generate} or {@link stream}, and encodes the
 * answer in its protocol; none of them re-implements a policy.
 *
 * 1. Resolve the model name in the route table (`UnknownModelError` otherwise).
 * 2. Run the call through the `SessionManager`: the client's session id (scoped to its key) names the session
 *    (ordering, concurrency, rate limits; with conversations on, its stored history is prepended and the new turn
 *    saved); core's `RequestContext` counts upstream attempts, `ResponseCacheHook.CallOptions` carries the idempotency
 *    key (scoped to the client's key) and the cache mode, and the route's fallbacks run as core's `ExecutionPlan`.
 * 3. Record what happened: attempts and fallbacks, the provider that answered, token counts, cache and idempotency
 *    hits (metrics and the request's log fields).
 *
 * A stream is pulled, not pushed: {@link stream} pulls the first batch before it returns (so a failure before any
 * output is an ordinary failure of the effect), then hands the front door a pull that ends at the shutdown deadline
 * with {@link ShuttingDown}.
 */
import {
  Cost,
  EncodedGenerate,
  EncodedStream,
  OpenAiCompatLanguageModel,
  ProviderRegistry,
  RequestContext,
  ResponseCacheHook,
  ResponseSummary,
  RetryBudget,
  UntooledCall,
  Usage
} from "@conduitkit/core"
import type { Budget, Conversation, SessionError, SessionManager } from "@conduitkit/session"
import { Cause, Context, Effect, Exit, Pull, Scope, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, Toolkit } from "effect/ai"
import * as Cooldown from "./Cooldown.js"
import * as Cooldowns from "./Cooldowns.js"
import * as Errors from "./Errors.js"
import type { GatewayConfig } from "./GatewayConfig.js"
import { type GatewayMetrics, make as makeMetrics } from "./Metrics.js"
import type { ModelRoutes } from "./ModelRoutes.js"

/**
 * A stream part of a call without a toolkit of its own (the gateway never runs tools), as the provider built it
 * (core's `EncodedStream`; decoded parts, when conversations are on, have the same fields).
 */
export type StreamPart = Response.StreamPartEncoded

/** What the engine needs from the gateway. */
export interface Dependencies {
  readonly config: GatewayConfig
  readonly routes: ModelRoutes
  readonly sessions: SessionManager.SessionManager["Service"]
  readonly conversations: Conversation.Conversation["Service"] | undefined
  readonly metrics: GatewayMetrics
  /** Whether the gateway is shutting down, and an effect that completes at the shutdown deadline. */
  readonly shutdown: { readonly draining: () => boolean; readonly deadline: Effect.Effect<void> }
  /** Provider cooldowns in routes with fallbacks (default: none). */
  readonly cooldowns?: Cooldowns.Cooldowns | undefined
  /**
   * The retry budget every call counts in (once per route step, under the step's provider) and takes its retries from
   * (default: core's unlimited one).
   */
  readonly retryBudget?: RetryBudget.RetryBudget | undefined
}

/**
 * The dependencies of an engine over `config`'s policies: the retry budget per provider
 * (`CONDUIT_RETRY_BUDGET`) and provider cooldowns (`CONDUIT_COOLDOWN_FAILURES`, `CONDUIT_COOLDOWN_MS`) built
 * from the configuration; new metrics unless `metrics` is given; a `shutdown` that never drains unless one is given
 * (a front door without a drain of its own, as the MCP server).
 */
export const dependencies = (options: {
  readonly config: GatewayConfig
  readonly routes: ModelRoutes
  readonly sessions: SessionManager.SessionManager["Service"]
  readonly conversations?: Conversation.Conversation["Service"] | undefined
  readonly metrics?: GatewayMetrics | undefined
  readonly shutdown?: Dependencies["shutdown"] | undefined
}): Dependencies & {
  readonly retryBudget: RetryBudget.PerProviderRetryBudget
  readonly cooldowns: Cooldowns.Cooldowns
} => ({
  config: options.config,
  routes: options.routes,
  sessions: options.sessions,
  conversations: options.conversations,
  metrics: options.metrics ?? makeMetrics(),
  shutdown: options.shutdown ?? { draining: () => false, deadline: Effect.never },
  retryBudget: RetryBudget.perProvider({ ratio: options.config.retryBudgetRatio }),
  cooldowns: Cooldowns.make(options.config.cooldown)
})

/** The request as the server saw it, and where a route reports what happened (once, at the very end). */
export interface RequestInfo {
  readonly requestId: string
  readonly keyId: string
  /** `performance.now()` at arrival. */
  readonly startedAt: number
  /** The access log line's fields. */
  readonly fields: Record<string, unknown>
  /** Records the final status, once (for streams: when the stream ends, however it ends). */
  readonly done: (status: number) => Effect.Effect<void>
}

/**
 * One model call, as a front door parsed it.
 *
 * - `model`: the name the client asked for (a models.yaml name, `provider/model`, or a catalog alias).
 * - `prompt`: the new turn (with conversations on, the session's stored history is prepended).
 * - `config`: core's per-call configuration (`CallConfig`): wire parameters (`tool_choice` among them) and the wire
 *   tool declarations (`wireTools`). The gateway never runs a tool: there is no toolkit, the model's calls are
 *   returned as they come (effect/ai's deferred tool call validation).
 * - `sessionId`, `idempotencyKey`: the client's values (1 to 128 identifier characters); the engine scopes both to
 *   the client's key. `cacheMode`: the response cache mode (default `auto`).
 * - `tokenEstimate`: the tokens the call may use (prompt estimate plus its output limit), for token rate limits;
 *   called only when those are configured.
 */
export interface Call {
  readonly model: string
  readonly prompt: Prompt.Prompt
  readonly config: OpenAiCompatLanguageModel.ModelConfig
  readonly sessionId: string | undefined
  readonly idempotencyKey: string | undefined
  readonly cacheMode: ResponseCacheHook.CallOptionsShape["mode"]
  readonly tokenEstimate: () => number
}

// =============================================================================
// Shared by both modes
// =============================================================================

/** The usage `tokens` count of a finish part (for settling token rate limits). */
const usageTotal = (part: { readonly type: string; readonly usage?: unknown }): number | undefined => {
  if (part.type !== "finish") return undefined
  const usage = part.usage as { inputTokens?: { total?: number }; outputTokens?: { total?: number } } | undefined
  return (usage?.inputTokens?.total ?? 0) + (usage?.outputTokens?.total ?? 0)
}

const sumUsage = (parts: ReadonlyArray<{ readonly type: string; readonly usage?: unknown }>): number | undefined => {
  for (const part of parts) {
    const total = usageTotal(part)
    if (total !== undefined) return total
  }
  return undefined
}

const conduitOf = (part: { readonly metadata?: unknown }): Record<string, unknown> | undefined => {
  const conduit = (part.metadata as { conduit?: unknown } | undefined)?.conduit
  return typeof conduit === "object" && conduit !== null ? (conduit as Record<string, unknown>) : undefined
}

/**
 * What a `finish` part says the upstream call cost (core's `Cost.spent`: nothing for a cache hit or an idempotent
 * replay or join), charged to the key's budget; `undefined` for other parts.
 */
export const partCost = (part: { readonly type: string; readonly metadata?: unknown }): Budget.Cost | undefined =>
  part.type === "finish" ? Cost.spent(conduitOf(part)) : undefined

const spentOn = (parts: ReadonlyArray<{ readonly type: string; readonly metadata?: unknown }>) => {
  for (const part of parts) {
    if (part.type === "finish") return partCost(part)
  }
  return undefined
}

/**
 * The model that answered, from a call's parts: the upstream's `model` (the first `response-metadata` part's
 * `modelId`), else the catalog id Conduit sent (the `finish` part's `metadata.conduit.model`), else `requested`.
 */
export const answeringModel = (
  parts: Iterable<{ readonly type: string; readonly modelId?: unknown; readonly metadata?: unknown }>,
  requested: string
): string => {
  let sent: string | undefined
  for (const part of parts) {
    if (part.type === "response-metadata" && typeof part.modelId === "string" && part.modelId !== "") {
      return part.modelId
    }
    if (part.type === "finish") {
      const model = conduitOf(part)?.model
      if (typeof model === "string" && model !== "") sent = model
    }
  }
  return sent ?? requested
}

/** The warnings of a part's `metadata.conduit.warnings` (what core adapted in the request), `[]` when none. */
const warningsOf = (part: { readonly metadata?: unknown }): ReadonlyArray<string> => {
  const warnings = conduitOf(part)?.warnings
  return Array.isArray(warnings) ? warnings.filter((warning): warning is string => typeof warning === "string") : []
}

/**
 * The `x-conduit-warnings` header of a call's warnings (`; `-separated; characters outside printable ASCII as JSON
 * `\uXXXX` escapes, which header values cannot carry), also put in the access log's `warnings` field. No header when
 * there are none.
 */
export const warningHeaders = (
  warnings: ReadonlyArray<string>,
  info: RequestInfo
): Readonly<Record<string, string>> => {
  if (warnings.length === 0) return {}
  info.fields.warnings = warnings
  const value = warnings
    .join("; ")
    .replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)
  return { "x-conduit-warnings": value }
}

/**
 * The `x-conduit-cost` header of an answer's upstream cost (`<amount> <currency>`, core's `Cost.format`, e.g.
 * `0.0492 USD`); no header when it is unknown or nothing was spent upstream.
 */
export const costHeaders = (cost: Cost.Cost | undefined): Readonly<Record<string, string>> =>
  cost === undefined ? {} : { "x-conduit-cost": Cost.format(cost) }

/**
 * The HTTP error of a request that failed (see `Errors.fromCause`), recorded: its code in the access log's `error`
 * field (the full detail of a model failure in `errorDetail`) and in the `endpoint`'s error metric; a failure the
 * gateway does not know is logged with its cause. A cause of interrupts only (the client went away) is passed on.
 */
export const failed = (
  deps: Pick<Dependencies, "metrics">,
  info: RequestInfo,
  endpoint: string,
  cause: Cause.Cause<unknown>
): Effect.Effect<Errors.HttpError> =>
  Effect.suspend(() => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
    const { http, known, detail } = Errors.fromCause(cause)
    const code = http.body.error.code ?? http.body.error.type
    info.fields.error = code
    if (detail !== undefined) info.fields.errorDetail = detail
    deps.metrics.error(endpoint, code)
    return known ? Effect.succeed(http) : Effect.as(Effect.logError("request failed unexpectedly", cause), http)
  })

/**
 * Records an answer: its provider, tokens and cost in the log fields (`cost` as `"<amount> <currency>"`), the
 * provider's token metrics, the caller's counters (key id, provider, model: tokens and cost only when spent
 * upstream), and cache hits. Returns the upstream cost (core's `Cost.spent`).
 */
const recordAnswer = (
  metrics: GatewayMetrics,
  info: RequestInfo,
  provider: string,
  usage: Usage.TokenUsage,
  metadata: Readonly<Record<string, unknown>>,
  requestedModel: string
): Cost.Cost | undefined => {
  const fields = info.fields
  fields.provider = provider
  fields.inputTokens = usage.inputTokens
  fields.outputTokens = usage.outputTokens
  if (usage.cachedInputTokens > 0) fields.cachedTokens = usage.cachedInputTokens
  if (usage.reasoningTokens > 0) fields.reasoningTokens = usage.reasoningTokens
  const tokens = {
    input: usage.inputTokens,
    cached: usage.cachedInputTokens,
    output: usage.outputTokens,
    reasoning: usage.reasoningTokens
  }
  metrics.tokens(provider, tokens)
  let replayed = true
  if (metadata.idempotency === "replayed" || metadata.idempotency === "joined") {
    fields.idempotency = metadata.idempotency
    metrics.cacheHit("idempotent")
  } else if (metadata.cache === "hit") {
    fields.cache = "hit"
    metrics.cacheHit("response")
  } else {
    replayed = false
  }
  const cost = Cost.spent(metadata)
  if (cost !== undefined) fields.cost = Cost.format(cost)
  const model = typeof metadata.model === "string" ? metadata.model : requestedModel
  metrics.caller(info.keyId, provider, model, replayed ? undefined : tokens, cost)
  return cost
}

/**
 * What a call can fail with: the route table (`UnknownModelError`; 503 `provider_disabled`), session admission and timeout, the conversation
 * store, the model (`AiError`), or the gateway (a stream that ended before any part).
 */
export type Failure =
  | ProviderRegistry.UnknownModelError
  | SessionError.SessionError
  | Conversation.ConversationError
  | AiError.AiError
  | Errors.GatewayError

/** A resolved call: its route, the services it runs with, and the counters of its steps and attempts. */
interface Prepared {
  readonly route: ProviderRegistry.Route
  readonly observer: ProviderRegistry.RouteObserver
  readonly requestContext: RequestContext.RequestContextShape
  readonly callOptions: ResponseCacheHook.CallOptionsShape
  /** The session id, scoped to the client's key. */
  readonly sessionId: string | undefined
  /** The conversation store, when conversations are on and the call names a session. */
  readonly conversations: Conversation.Conversation["Service"] | undefined
  /**
   * The session manager's options of the call; `actualTokens` and `actualCost` read the used tokens and what they
   * cost from the work's value.
   */
  readonly runOptions: <A>(
    actualTokens: (value: A) => number | undefined,
    actualCost: (value: A) => Budget.Cost | undefined
  ) => SessionManager.RunOptions<A>
  /** The provider of the step that runs now. */
  readonly provider: () => string
  /** Upstream attempts so far. */
  readonly attempts: () => number
  /** Puts attempts (and fallbacks, when a fallback ran) in the log fields. */
  readonly finishAttempts: () => void
}

const prepare = (
  deps: Dependencies,
  call: Call,
  info: RequestInfo,
  streaming: boolean
): Effect.Effect<Prepared, ProviderRegistry.UnknownModelError | Errors.GatewayError> => {
  const { config, metrics } = deps
  const fields = info.fields
  fields.model = call.model.length > 200 ? `${call.model.slice(0, 200)}…` : call.model
  fields.stream = streaming
  return Effect.map(deps.routes.resolve(call.model), (resolved) => {
    // without the steps whose provider is cooling down (a route with fallbacks only)
    const route = deps.cooldowns?.route(resolved) ?? resolved
    const sessionId = call.sessionId !== undefined ? `${info.keyId}:${call.sessionId}` : undefined
    if (call.sessionId !== undefined) fields.sessionId = call.sessionId
    // which step of the route runs, how many upstream attempts were made
    const steps = [route, ...route.fallbacks]
    let step = 0
    let stepsStarted = 0
    let attempts = 0
    let stepAttempts = 0
    const provider = () => steps[step]?.provider ?? route.provider
    const rateLimits = config.rateLimits
    const keyLimit = rateLimits?.keys?.[info.keyId] ?? rateLimits?.perKey
    const modelLimit = rateLimits?.models?.[resolved.name] ?? rateLimits?.perModel
    const rateLimit =
      rateLimits === undefined
        ? undefined
        : {
            key: info.keyId,
            model: resolved.name,
            ...(keyLimit?.tokensPerMinute !== undefined || modelLimit?.tokensPerMinute !== undefined
              ? { tokens: call.tokenEstimate() }
              : {})
          }
    return {
      route,
      observer: {
        onStep: (index) => {
          step = index
          stepsStarted++
          stepAttempts = 0
          // each step is a request to its provider, in that provider's retry budget
          deps.retryBudget?.request(provider())
        },
        onFallback: () => metrics.fallback(resolved.name),
        onStepEnd: (index, failure) => {
          const ended = steps[index]
          if (ended !== undefined) {
            deps.cooldowns?.record(ended.provider, failure === undefined ? "success" : Cooldown.classify(failure))
          }
        }
      },
      // the session manager adds the request and session ids
      requestContext: {
        onAttempt: () => {
          attempts++
          stepAttempts++
          metrics.attempt(provider())
          if (stepAttempts > 1) metrics.retry(provider(), 1)
        }
      },
      callOptions: {
        ...(call.idempotencyKey !== undefined ? { idempotencyKey: `${info.keyId}:${call.idempotencyKey}` } : {}),
        ...(call.cacheMode !== undefined ? { mode: call.cacheMode } : {})
      },
      sessionId,
      conversations: sessionId !== undefined ? deps.conversations : undefined,
      runOptions: (actualTokens, actualCost) => ({
        sessionId,
        requestId: info.requestId,
        ...(rateLimit !== undefined ? { rateLimit: { ...rateLimit, actualTokens, actualCost } } : {})
      }),
      provider,
      attempts: () => attempts,
      finishAttempts: () => {
        fields.attempts = attempts
        if (stepsStarted > 1) fields.fallbacks = stepsStarted - 1
      }
    }
  })
}

const withHistory = (history: Prompt.Prompt, newTurn: Prompt.Prompt) =>
  history.content.length === 0 ? newTurn : Prompt.concat(history, newTurn)

// =============================================================================
// Non-stream
// =============================================================================

/**
 * A finished answer: its summary (text, reasoning, tool calls, finish reason, usage, metadata with its `warnings`),
 * the model that answered ({@link answeringModel}), the provider that answered, the upstream attempts the session
 * manager counted, and what the upstream charged (`cost`: `undefined` when the price is unknown or the answer came
 * from a cache or a replay).
 */
export interface Answer {
  readonly summary: ResponseSummary.Summary
  readonly model: string
  readonly provider: string
  readonly attempts: number
  readonly cost: Cost.Cost | undefined
}

/**
 * Runs a call to its whole answer and records it (metrics, log fields). Fails with the call's failure: routing
 * (`UnknownModelError`), session admission, the conversation store, or the model's `AiError`.
 */
export const generate = (deps: Dependencies, call: Call, info: RequestInfo): Effect.Effect<Answer, Failure> =>
  Effect.gen(function* () {
    const prepared = yield* prepare(deps, call, info, false)
    const { conversations, sessionId } = prepared
    const onRoute = ProviderRegistry.provideRoute(deps.routes.registry, prepared.route, prepared.observer)
    const work: Effect.Effect<
      ReadonlyArray<Response.AnyPart | Response.PartEncoded>,
      AiError.AiError | Conversation.ConversationError,
      never
    > = conversations === undefined || sessionId === undefined
      ? // the parts as the provider built them: the front door encodes them as they are (no decode)
        onRoute(EncodedGenerate.generateText({ prompt: call.prompt }))
      : Effect.gen(function* () {
          const history = yield* conversations.history(sessionId)
          // the stored turn is made from the response parts by effect/ai (`Prompt.fromResponseParts`): decoded
          // ones; no toolkit, tool calls returned as they come (UntooledCall)
          const response = yield* onRoute(UntooledCall.generateText(withHistory(history, call.prompt)))
          yield* conversations.append(sessionId, {
            prompt: call.prompt,
            response: response.content as ReadonlyArray<Response.AnyPart>
          })
          return response.content
        })
    const { value: parts, metadata } = yield* deps.sessions
      .run(
        work.pipe(
          Effect.provideService(OpenAiCompatLanguageModel.CallConfig, call.config),
          Effect.provideService(ResponseCacheHook.CallOptions, prepared.callOptions)
        ),
        prepared.runOptions(sumUsage, spentOn)
      )
      .pipe(
        Effect.provideService(RequestContext.RequestContext, prepared.requestContext),
        Effect.provideService(RetryBudget.CurrentRetryBudget, deps.retryBudget ?? RetryBudget.unlimited)
      )
    const summary = ResponseSummary.fromParts(parts)
    const provider = summary.metadata.provider ?? prepared.provider()
    const cost = recordAnswer(deps.metrics, info, provider, summary.usage, summary.metadata, prepared.route.model)
    prepared.finishAttempts()
    return {
      summary,
      model: answeringModel(parts, call.model),
      provider,
      attempts: metadata.attempts,
      cost
    } satisfies Answer
  })

// =============================================================================
// Stream
// =============================================================================

/** The failure of {@link Streaming.pull} at the shutdown deadline. */
export class ShuttingDown {
  readonly _tag = "ShuttingDown"
}

/**
 * A stream that produced its first batch.
 *
 * - `first`: the first batch of parts.
 * - `pull`: the next batch; fails with `Cause.Done` at the end, with {@link ShuttingDown} at the shutdown deadline
 *   (only while draining), or with the call's failure.
 * - `provider`, `attempts`: the provider of the first part and the upstream attempts made before it.
 * - `warnings`: what core adapted in the request (the first `response-metadata` part's `metadata.conduit.warnings`,
 *   which precedes any output).
 * - `cost()`: what the upstream charged, once the `finish` part was pulled (see {@link Answer}); `undefined` before.
 * - `close(clientLeft)`: ends the upstream stream (when `clientLeft`, as interrupted: the session manager counts the
 *   request `cancelled`) and records the answer (the provider that finished it, its usage, cache hits) and the
 *   attempts, once the front door is done with the stream, however it ended.
 */
export interface Streaming {
  readonly first: ReadonlyArray<StreamPart>
  readonly pull: Effect.Effect<ReadonlyArray<StreamPart>, Cause.Done | ShuttingDown | Failure>
  readonly provider: string
  readonly attempts: number
  readonly warnings: ReadonlyArray<string>
  readonly cost: () => Cost.Cost | undefined
  readonly close: (clientLeft: boolean) => Effect.Effect<void>
}

/** The call's parts through its route, its conversation (when on) and the session manager. */
const streamParts = (deps: Dependencies, call: Call, prepared: Prepared): Stream.Stream<StreamPart, Failure> => {
  const { conversations, sessionId } = prepared
  const onRoute = ProviderRegistry.provideRouteStream(deps.routes.registry, prepared.route, prepared.observer)
  let parts: Stream.Stream<StreamPart, AiError.AiError | Conversation.ConversationError>
  if (conversations === undefined || sessionId === undefined) {
    // the parts as the provider built them: the front door encodes them as they are (no decode of every part)
    parts = onRoute(EncodedStream.streamText({ prompt: call.prompt }))
  } else {
    // the stored turn is made from the response parts by effect/ai (`Prompt.fromResponseParts`): decoded ones
    const seen: Array<Response.AnyPart> = []
    parts = Stream.unwrap(
      Effect.map(conversations.history(sessionId), (history) =>
        Stream.concat(
          Stream.mapArray(
            onRoute(
              LanguageModel.streamText({
                prompt: withHistory(history, call.prompt),
                toolkit: Toolkit.empty,
                disableToolCallResolution: true,
                toolCallValidation: "deferred"
              })
            ),
            (batch) => {
              seen.push(...(batch as ReadonlyArray<Response.AnyPart>))
              return batch as unknown as readonly [StreamPart, ...Array<StreamPart>]
            }
          ),
          Stream.fromEffectDrain(conversations.append(sessionId, { prompt: call.prompt, response: seen }))
        )
      )
    )
  }
  // Without a conversation every wait of the stream is core's (route, cache hook, upstream calls): it honors the
  // execution timeout's deadline, checked where it waits (no timer fiber merged into the stream).
  const honorsDeadline = conversations === undefined || sessionId === undefined
  const runOptions = { ...prepared.runOptions(usageTotal, partCost), honorsDeadline }
  // one context for the call's services: each `Stream.provideService` would wrap every pull again
  return Stream.provideContext(
    deps.sessions.runStream(parts, runOptions),
    Context.make(OpenAiCompatLanguageModel.CallConfig, call.config).pipe(
      Context.add(ResponseCacheHook.CallOptions, prepared.callOptions),
      Context.add(RequestContext.RequestContext, prepared.requestContext),
      Context.add(RetryBudget.CurrentRetryBudget, deps.retryBudget ?? RetryBudget.unlimited)
    )
  )
}

/**
 * The {@link Streaming} of a stream whose first batch arrived: it watches the parts for the provider that answers
 * (`response-metadata`) and the usage of the `finish` part, and ends the upstream pull at the shutdown deadline.
 */
const started = (
  deps: Dependencies,
  prepared: Prepared,
  info: RequestInfo,
  upstream: Effect.Effect<ReadonlyArray<StreamPart>, Cause.Done | Failure>,
  upstreamScope: Scope.Closeable,
  first: ReadonlyArray<StreamPart>
): Streaming => {
  const { metrics } = deps
  const attempts = prepared.attempts()
  const firstTokenSeconds = (performance.now() - info.startedAt) / 1000
  let provider = prepared.provider()
  let finish: { readonly usage: Usage.TokenUsage; readonly metadata: Record<string, unknown> | undefined } | undefined
  const observe = (batch: ReadonlyArray<StreamPart>): ReadonlyArray<StreamPart> => {
    for (const part of batch) {
      if (part.type === "response-metadata") {
        const named = conduitOf(part)?.provider
        if (typeof named === "string") provider = named
      } else if (part.type === "finish") {
        finish = {
          usage: Usage.fromResponseUsage(part.usage as unknown as typeof Response.Usage.Encoded),
          metadata: conduitOf(part)
        }
      }
    }
    return batch
  }
  observe(first)
  const metadataPart = first.find((part) => part.type === "response-metadata")
  const firstProvider = provider
  metrics.streamOpened()
  metrics.firstToken(firstProvider, firstTokenSeconds)
  const next = Effect.map(upstream, observe)
  return {
    first,
    pull: Effect.suspend(() =>
      deps.shutdown.draining()
        ? Effect.raceFirst(next, Effect.andThen(deps.shutdown.deadline, Effect.fail(new ShuttingDown())))
        : next
    ),
    provider: firstProvider,
    attempts,
    warnings: metadataPart !== undefined ? warningsOf(metadataPart) : [],
    cost: () => Cost.spent(finish?.metadata),
    close: (clientLeft) =>
      Effect.andThen(
        Scope.close(upstreamScope, clientLeft ? Exit.interrupt() : Exit.void),
        Effect.sync(() => {
          metrics.streamClosed()
          if (finish !== undefined) {
            const named = finish.metadata?.provider
            recordAnswer(
              metrics,
              info,
              typeof named === "string" ? named : provider,
              finish.usage,
              finish.metadata ?? {},
              prepared.route.model
            )
          }
          prepared.finishAttempts()
        })
      )
  }
}

/**
 * Starts a streamed call and pulls its first batch (the stream lives as long as the scope). Fails like
 * {@link generate} when the call fails before its first part, and with `Errors.emptyStream` when the stream ends
 * without any part.
 */
export const stream = (
  deps: Dependencies,
  call: Call,
  info: RequestInfo
): Effect.Effect<Streaming, Failure, Scope.Scope> =>
  Effect.gen(function* () {
    const prepared = yield* prepare(deps, call, info, true)
    // the upstream stream's own scope, closed by `Streaming.close` (as interrupted when the client left)
    const upstreamScope = yield* Scope.fork(yield* Scope.Scope)
    const upstream = yield* Scope.provide(Stream.toPull(streamParts(deps, call, prepared)), upstreamScope)
    const first = yield* Effect.exit(upstream)
    if (Exit.isFailure(first)) {
      if (Pull.isDoneCause(first.cause)) return yield* Errors.emptyStream
      return yield* Effect.failCause(first.cause as Cause.Cause<Failure>) // not done: the call's failure
    }
    // the first part is there: from here on the front door owns the response
    return started(deps, prepared, info, upstream, upstreamScope, first.value)
  })
