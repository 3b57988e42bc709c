/**
 * `POST /v1/chat/completions`: an OpenAI request in, the model's answer out, as JSON or as SSE.
 *
 * 1. Read the body (at most `CONDUIT_MAX_BODY_BYTES`: 413 above, checked on `content-length` first), decode it as
 *    strict UTF-8 (400 `invalid_encoding`) and JSON (400 `invalid_json`), check it against core's
 *    `ChatCompletionRequest` schema (400 naming the field), resolve the model name (404 `model_not_found`).
 * 2. Convert it with core's `WireInput`: messages to a `Prompt` (assistant `reasoning_content` becomes reasoning that
 *    is replayed upstream), function tools to a toolkit the model may call but never runs, built-in provider tools
 *    (Kimi's `$web_search`, GLM's `web_search`) to `CallConfig.extraTools` (appended to the wire tools as sent, their
 *    server rounds completed by the provider), everything else (`temperature`, `max_tokens`, `response_format`,
 *    provider extras...) to `CallConfig.request` wire parameters.
 * 3. Run it through the `SessionManager` (`x-session-id` names the session: ordering, concurrency, rate limits;
 *    with `CONDUIT_CONVERSATIONS=1` its stored history is prepended and the new turn saved), with core's
 *    `RequestContext` counting upstream attempts, `ResponseCache.CallOptions` carrying the `Idempotency-Key`, and the
 *    route's fallbacks.
 * 4. Non-stream: one `chat.completion`. Stream: the first part is pulled before anything is written, so a failure
 *    before it (admission, upstream 4xx/5xx after retries and fallbacks, first-token timeout) is an ordinary HTTP
 *    error; after it the response is committed, parts are encoded batch by batch as they are pulled (the socket's
 *    backpressure reaches the upstream read), a failure becomes a final `event: error` frame without `[DONE]`, and a
 *    client that goes away interrupts the request, which aborts the upstream HTTP request.
 *
 * Headers: `x-request-id`, `x-conduit-provider` (the provider that answered), `x-conduit-attempts` (upstream
 * attempts; for a stream, those made before its first part).
 */
import {
  ChatCompletions,
  ResponseCache as CoreResponseCache,
  OpenAiCompatLanguageModel,
  ProviderRegistry,
  RequestContext,
  ResponseSummary,
  TokenEstimator,
  WireInput
} from "@conduitkit/core"
import type { Conversation, SessionManager } from "@conduitkit/session"
import { ByteSize, Cause, Effect, Exit, Pull, Schema, SchemaIssue, Stream } from "effect"
import { LanguageModel, Prompt, type Response, Toolkit } from "effect/ai"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as Errors from "./Errors.js"
import type { GatewayConfig } from "./GatewayConfig.js"
import type { GatewayMetrics } from "./Metrics.js"
import type { ModelRoutes } from "./ModelRoutes.js"
import * as OpenAiWire from "./OpenAiWire.js"

type StreamPart = Response.StreamPart<Record<string, never>>

// =============================================================================
// Request reading
// =============================================================================

const utf8 = new TextDecoder("utf-8", { fatal: true })

/**
 * Reads and parses a JSON body of at most `maxBytes` bytes. Fails with a {@link Errors.GatewayError}: 413 when the
 * body (or its declared `content-length`) is too large, 400 `invalid_encoding` for invalid UTF-8, 400
 * `invalid_json` for malformed or truncated JSON.
 */
export const readJson = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<unknown, Errors.GatewayError> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined && Number(declared) > maxBytes) return Effect.fail(Errors.tooLarge(maxBytes))
  return request.arrayBuffer.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
    Effect.mapError((error) =>
      error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
        ? Errors.tooLarge(maxBytes)
        : Errors.badRequest("The request body could not be read.", "invalid_body")
    ),
    Effect.flatMap((buffer) => {
      let text: string
      try {
        text = utf8.decode(buffer)
      } catch {
        return Effect.fail(Errors.badRequest("The request body is not valid UTF-8.", "invalid_encoding"))
      }
      if (text.trim() === "") {
        return Effect.fail(Errors.badRequest("The request body is empty; send a JSON object.", "invalid_json"))
      }
      try {
        return Effect.succeed(JSON.parse(text) as unknown)
      } catch (error) {
        return Effect.fail(
          Errors.badRequest(
            `We could not parse the JSON body of your request (${error instanceof Error ? error.message : String(error)}).`,
            "invalid_json"
          )
        )
      }
    })
  )
}

const isRequest = Schema.is(ChatCompletions.ChatCompletionRequest)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Checks a parsed body against core's `ChatCompletionRequest` schema (unknown fields pass) and the gateway's own
 * rules (at least one message, `n` at most 1). The body is not copied. Fails with a 400 naming the first offending
 * field (`messages.0.role`).
 */
export const decodeRequest = (
  body: unknown
): Effect.Effect<ChatCompletions.ChatCompletionRequest, Errors.GatewayError> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Effect.fail(Errors.badRequest("The request body must be a JSON object.", "invalid_type"))
  }
  if (!isRequest(body)) {
    const exit = Schema.decodeUnknownExit(ChatCompletions.ChatCompletionRequest)(body, { errors: "first" })
    let param: string | null = null
    let detail = "the body does not match the chat completion request schema"
    if (Exit.isFailure(exit)) {
      const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
      const issue = failure?._tag === "Fail" ? (failure.error as Schema.SchemaError).issue : undefined
      if (issue !== undefined) {
        const first = formatIssue(issue).issues[0]
        if (first !== undefined) {
          const path = (first.path ?? []).map((segment) =>
            typeof segment === "object" && segment !== null && "key" in segment ? String(segment.key) : String(segment)
          )
          param = path.length > 0 ? path.join(".") : null
          detail = first.message
        }
      }
    }
    return Effect.fail(
      Errors.badRequest(`Invalid request${param !== null ? ` at ${param}` : ""}: ${detail}`, "invalid_type", param)
    )
  }
  const request = body as ChatCompletions.ChatCompletionRequest
  if (request.messages.length === 0) {
    return Effect.fail(Errors.badRequest("messages must contain at least one message.", "invalid_value", "messages"))
  }
  if (typeof request.n === "number" && request.n !== 1) {
    return Effect.fail(Errors.badRequest("Only n = 1 is supported.", "invalid_value", "n"))
  }
  return Effect.succeed(request)
}

/** A client-supplied identifier: 1 to 128 characters of letters, digits and `_ . : @ / + = -`. */
export const identifier = /^[\w.:@/+=-]{1,128}$/

/**
 * A client-supplied identifier header (`x-session-id`, `Idempotency-Key`, `x-request-id`): at most 128 characters
 * of letters, digits and `_ . : @ / + = -`. Returns `undefined` when absent, fails with 400 when malformed.
 */
export const identifierHeader = (
  value: string | undefined,
  header: string
): Effect.Effect<string | undefined, Errors.GatewayError> =>
  value === undefined || value === ""
    ? Effect.succeed(undefined)
    : identifier.test(value)
      ? Effect.succeed(value)
      : Effect.fail(
          Errors.badRequest(
            `${header} must be 1 to 128 characters of letters, digits and _ . : @ / + = -`,
            "invalid_header",
            header
          )
        )

// =============================================================================
// Handler
// =============================================================================

/** What the chat route needs from the gateway. */
export interface Dependencies {
  readonly config: GatewayConfig
  readonly routes: ModelRoutes
  readonly sessions: SessionManager.SessionManager["Service"]
  readonly conversations: Conversation.Conversation["Service"] | undefined
  readonly metrics: GatewayMetrics
  /** Whether the gateway is shutting down, and an effect that completes at the shutdown deadline. */
  readonly shutdown: { readonly draining: () => boolean; readonly deadline: Effect.Effect<void> }
}

/** The request as the server saw it, and where the route reports what happened (once, at the very end). */
export interface RequestInfo {
  readonly requestId: string
  readonly keyId: string
  /** `performance.now()` at arrival. */
  readonly startedAt: number
  readonly fields: Record<string, unknown>
  /** Records the final status, once (for streams: when the stream ends, however it ends). */
  readonly done: (status: number) => Effect.Effect<void>
}

const jsonHeaders = { "content-type": "application/json" }

/** An error answer with the request id. */
export const errorResponse = (http: OpenAiWire.HttpError, requestId: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(http.body), {
    status: http.status,
    headers: { ...jsonHeaders, ...http.headers, "x-request-id": requestId }
  })

const shutdownError = OpenAiWire.httpError(
  503,
  "The gateway is shutting down; the stream was stopped. Retry the request.",
  "server_error",
  "server_shutting_down"
)

const incompleteError = OpenAiWire.httpError(
  502,
  "The upstream stream ended without a finish reason: the answer is incomplete.",
  "upstream_error",
  "upstream_stream_truncated"
)

class ShutdownSignal {
  readonly _tag = "ShutdownSignal"
}

/** The usage `tokens` count of a finish part (for settling token rate limits). */
const usageTotal = (part: { readonly type: string; readonly usage?: unknown }): number | undefined => {
  if (part.type !== "finish") return undefined
  const usage = part.usage as { inputTokens?: { total?: number }; outputTokens?: { total?: number } } | undefined
  return (usage?.inputTokens?.total ?? 0) + (usage?.outputTokens?.total ?? 0)
}

const conduitOf = (part: { readonly metadata?: unknown }): Record<string, unknown> | undefined => {
  const conduit = (part.metadata as { conduit?: unknown } | undefined)?.conduit
  return typeof conduit === "object" && conduit !== null ? (conduit as Record<string, unknown>) : undefined
}

/**
 * Handles one chat completion request. Never fails: every failure becomes an OpenAI error response (or, after a
 * stream started, a final SSE error event). Reports through `info.done` exactly once.
 */
export const handle = (
  deps: Dependencies,
  request: HttpServerRequest.HttpServerRequest,
  info: RequestInfo
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, import("effect").Scope.Scope> => {
  const { config, metrics } = deps
  const fields = info.fields
  return Effect.gen(function* () {
    const sessionHeader = yield* identifierHeader(request.headers["x-session-id"], "x-session-id")
    const idempotencyHeader = yield* identifierHeader(request.headers["idempotency-key"], "idempotency-key")
    const cacheHeader = request.headers["x-conduit-cache"]
    if (cacheHeader !== undefined && cacheHeader !== "auto" && cacheHeader !== "always" && cacheHeader !== "never") {
      return yield* Errors.badRequest(
        "x-conduit-cache must be auto, always or never.",
        "invalid_header",
        "x-conduit-cache"
      )
    }
    const body = yield* decodeRequest(yield* readJson(request, config.maxBodyBytes))
    fields.model = body.model.length > 200 ? `${body.model.slice(0, 200)}…` : body.model
    const stream = body.stream === true
    fields.stream = stream
    const route = yield* deps.routes.resolve(body.model)
    const newTurn = yield* WireInput.toPrompt(body.messages)
    const { tools, builtin } = yield* WireInput.toTools(body.tools)
    const toolkit = tools.length > 0 ? Toolkit.make(...tools) : undefined
    const toolChoice = WireInput.toToolChoice(body.tool_choice)
    // function tools go through the toolkit (the provider normalizes their schemas); built-in provider tools (Kimi's
    // `$web_search`, GLM's `web_search`) have no effect/ai form and are appended to the wire tools as sent
    const callConfig: OpenAiCompatLanguageModel.ModelConfig = {
      request: WireInput.passThroughParameters(body),
      ...(builtin.length > 0 ? { extraTools: builtin } : {})
    }
    // a built-in's server round comes back as provider-executed calls of a tool the toolkit does not declare
    const toolCallValidation = builtin.length > 0 ? "deferred" : "strict"
    const builtinTools = builtin.length > 0 ? OpenAiWire.builtinToolNames(builtin) : undefined
    const callOptions: CoreResponseCache.CallOptionsShape = {
      ...(idempotencyHeader !== undefined ? { idempotencyKey: `${info.keyId}:${idempotencyHeader}` } : {}),
      ...(cacheHeader !== undefined ? { mode: cacheHeader } : {})
    }
    const sessionId = sessionHeader !== undefined ? `${info.keyId}:${sessionHeader}` : undefined
    if (sessionHeader !== undefined) fields.sessionId = sessionHeader
    const conversations = sessionId !== undefined ? deps.conversations : undefined

    // which step of the route runs, how many upstream attempts were made
    const steps = [route, ...route.fallbacks]
    let step = 0
    let stepsStarted = 0
    let attempts = 0
    let stepAttempts = 0
    const observer: ProviderRegistry.RouteObserver = {
      onStep: (index) => {
        step = index
        stepsStarted++
        stepAttempts = 0
      },
      onFallback: () => metrics.fallback(route.name)
    }
    // the session manager adds the request and session ids
    const requestContext: RequestContext.RequestContextShape = {
      onAttempt: () => {
        attempts++
        stepAttempts++
        const provider = steps[step]?.provider ?? route.provider
        metrics.attempt(provider)
        if (stepAttempts > 1) metrics.retry(provider, 1)
      }
    }
    const rateLimits = config.rateLimits
    const rateLimit =
      rateLimits === undefined
        ? undefined
        : {
            key: info.keyId,
            model: route.name,
            ...(rateLimits.perKey?.tokensPerMinute !== undefined || rateLimits.perModel?.tokensPerMinute !== undefined
              ? {
                  tokens:
                    TokenEstimator.estimateRequest({ messages: body.messages, tools: body.tools }) +
                    Number(body.max_tokens ?? body.max_completion_tokens ?? 0)
                }
              : {})
          }
    const created = Math.floor(Date.now() / 1000)
    const id = `chatcmpl-${info.requestId}`
    const promptWith = (history: Prompt.Prompt) =>
      history.content.length === 0 ? newTurn : Prompt.concat(history, newTurn)
    const finishAttempts = () => {
      fields.attempts = attempts
      if (stepsStarted > 1) fields.fallbacks = stepsStarted - 1
    }

    if (!stream) {
      const generate = (prompt: Prompt.Prompt) =>
        ProviderRegistry.provideRoute(
          deps.routes.registry,
          route,
          observer
        )(
          LanguageModel.generateText({
            prompt,
            toolkit,
            toolChoice,
            disableToolCallResolution: true,
            toolCallValidation
          } as never) as Effect.Effect<
            LanguageModel.GenerateTextResponse<Record<string, never>>,
            never,
            LanguageModel.LanguageModel
          >
        )
      const work =
        conversations === undefined || sessionId === undefined
          ? generate(newTurn)
          : Effect.gen(function* () {
              const history = yield* conversations.history(sessionId)
              const response = yield* generate(promptWith(history))
              yield* conversations.append(sessionId, {
                prompt: newTurn,
                response: response.content as ReadonlyArray<Response.AnyPart>
              })
              return response
            })
      const { value, metadata } = yield* deps.sessions
        .run(
          work.pipe(
            Effect.provideService(OpenAiCompatLanguageModel.CallConfig, callConfig),
            Effect.provideService(CoreResponseCache.CallOptions, callOptions)
          ),
          {
            sessionId,
            requestId: info.requestId,
            ...(rateLimit !== undefined
              ? { rateLimit: { ...rateLimit, actualTokens: (response) => sumUsage(response.content) } }
              : {})
          }
        )
        .pipe(Effect.provideService(RequestContext.RequestContext, requestContext))
      const summary = ResponseSummary.fromParts(value.content as ReadonlyArray<Response.AnyPart>)
      const provider = summary.metadata.provider ?? steps[step]?.provider ?? route.provider
      recordAnswer(metrics, fields, provider, summary.usage, summary.metadata)
      finishAttempts()
      const json = JSON.stringify(OpenAiWire.completion({ id, created, model: body.model, summary }))
      yield* info.done(200)
      return HttpServerResponse.text(json, {
        headers: {
          ...jsonHeaders,
          "x-request-id": info.requestId,
          "x-conduit-provider": provider,
          "x-conduit-attempts": String(metadata.attempts)
        }
      })
    }

    // ---- stream ----
    const includeUsage = body.stream_options?.include_usage === true
    const partsFor = (prompt: Prompt.Prompt) =>
      ProviderRegistry.provideRouteStream(
        deps.routes.registry,
        route,
        observer
      )(
        // effect/ai reuses its stream-part decoder only when a toolkit is given (measured ~30 µs less per stream), so
        // a request without tools passes the empty toolkit
        LanguageModel.streamText({
          prompt,
          toolkit: toolkit ?? Toolkit.empty,
          toolChoice,
          disableToolCallResolution: true,
          toolCallValidation
        } as never) as Stream.Stream<StreamPart, never, LanguageModel.LanguageModel>
      )
    let parts: Stream.Stream<StreamPart, unknown> = partsFor(newTurn)
    if (conversations !== undefined && sessionId !== undefined) {
      const seen: Array<StreamPart> = []
      parts = Stream.unwrap(
        Effect.map(conversations.history(sessionId), (history) =>
          Stream.concat(
            Stream.mapArray(partsFor(promptWith(history)), (batch) => {
              seen.push(...batch)
              return batch
            }),
            Stream.fromEffectDrain(
              conversations.append(sessionId, { prompt: newTurn, response: seen as ReadonlyArray<Response.AnyPart> })
            )
          )
        )
      )
    }
    const sessioned = deps.sessions
      .runStream(
        parts.pipe(
          Stream.provideService(OpenAiCompatLanguageModel.CallConfig, callConfig),
          Stream.provideService(CoreResponseCache.CallOptions, callOptions)
        ),
        {
          sessionId,
          requestId: info.requestId,
          ...(rateLimit !== undefined ? { rateLimit: { ...rateLimit, actualTokens: usageTotal } } : {})
        }
      )
      .pipe(Stream.provideService(RequestContext.RequestContext, requestContext))

    const upstream = yield* Stream.toPull(sessioned)
    const first = yield* Effect.exit(upstream)
    if (Exit.isFailure(first)) {
      if (Pull.isDoneCause(first.cause)) return yield* Errors.emptyStream
      return yield* Effect.failCause(first.cause)
    }

    // ---- committed: from here on failures are SSE error events ----
    const attemptsBeforeFirst = attempts
    const firstTokenSeconds = (performance.now() - info.startedAt) / 1000
    let provider = steps[step]?.provider ?? route.provider
    metrics.streamOpened()
    const encoder = OpenAiWire.makeStreamEncoder({ id, created, model: body.model, builtinTools })
    let finishMetadata: Record<string, unknown> | undefined
    const encode = (batch: ReadonlyArray<StreamPart>): string => {
      let out = ""
      for (const part of batch) {
        if (part.type === "response-metadata") {
          const named = conduitOf(part)?.provider
          if (typeof named === "string") provider = named
        } else if (part.type === "finish") {
          finishMetadata = conduitOf(part)
        }
        out += encoder.push(part)
      }
      return out
    }
    let pending: string | undefined = encode(first.value)
    const firstProvider = provider
    metrics.firstToken(firstProvider, firstTokenSeconds)
    let ended = false
    let errorCode: string | undefined

    const pullUpstream: Effect.Effect<ReadonlyArray<StreamPart>, unknown> = Effect.suspend(() =>
      deps.shutdown.draining()
        ? Effect.raceFirst(upstream, Effect.andThen(deps.shutdown.deadline, Effect.fail(new ShutdownSignal())))
        : upstream
    )
    const endWith = (frame: string) => {
      ended = true
      return Effect.succeed([Buffer.from(frame, "utf8")] as const)
    }
    const next = (): Effect.Effect<readonly [Uint8Array, ...Array<Uint8Array>], Cause.Done | unknown> =>
      Effect.matchCauseEffect(pullUpstream, {
        onSuccess: (batch) => {
          const text = encode(batch)
          return text === "" ? next() : Effect.succeed([Buffer.from(text, "utf8")] as const)
        },
        onFailure: (cause) => {
          if (Pull.isDoneCause(cause)) {
            if (encoder.finished()) return endWith(encoder.end(includeUsage))
            errorCode = incompleteError.body.error.code ?? "error"
            return endWith(OpenAiWire.errorEvent(incompleteError))
          }
          const signal = cause.reasons.find(
            (reason) => reason._tag === "Fail" && reason.error instanceof ShutdownSignal
          )
          if (signal !== undefined) {
            errorCode = "server_shutting_down"
            return endWith(OpenAiWire.errorEvent(shutdownError))
          }
          if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
          const { http, known } = Errors.fromCause(cause)
          errorCode = http.body.error.code ?? http.body.error.type
          const log = known
            ? Effect.logWarning("stream failed after it started").pipe(
                Effect.annotateLogs({ requestId: info.requestId, code: errorCode, error: http.body.error.message })
              )
            : Effect.logError("stream failed unexpectedly", cause).pipe(
                Effect.annotateLogs({ requestId: info.requestId })
              )
          return Effect.andThen(log, endWith(OpenAiWire.errorEvent(http)))
        }
      })
    const pull = Effect.suspend(() => {
      if (pending !== undefined) {
        const text = pending
        pending = undefined
        if (text !== "") return Effect.succeed([Buffer.from(text, "utf8")] as const)
      }
      if (ended) return Cause.done()
      return next()
    })
    const sse = Stream.fromPull(Effect.succeed(pull)).pipe(
      Stream.onExit((exit) =>
        Effect.suspend(() => {
          metrics.streamClosed()
          const usage = encoder.usage()
          const finalProvider = typeof finishMetadata?.provider === "string" ? finishMetadata.provider : provider
          if (usage !== undefined) recordAnswer(metrics, fields, finalProvider, usage, finishMetadata ?? {})
          finishAttempts()
          if (errorCode !== undefined) {
            fields.streamError = errorCode
            metrics.error("chat", errorCode)
          } else if (Exit.isFailure(exit) || !ended) {
            fields.clientClosed = true
          }
          return info.done(200)
        })
      )
    )
    return HttpServerResponse.stream(sse as Stream.Stream<Uint8Array>, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
        "x-request-id": info.requestId,
        "x-conduit-provider": firstProvider,
        "x-conduit-attempts": String(attemptsBeforeFirst)
      }
    })
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.gen(function* () {
        if (Cause.hasInterruptsOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
        const { http, known } = Errors.fromCause(cause)
        const code = http.body.error.code ?? http.body.error.type
        fields.error = code
        metrics.error("chat", code)
        if (!known) yield* Effect.logError("request failed unexpectedly", cause)
        yield* info.done(http.status)
        return errorResponse(http, info.requestId)
      })
    )
  ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, import("effect").Scope.Scope>
}

const sumUsage = (parts: ReadonlyArray<{ readonly type: string; readonly usage?: unknown }>): number | undefined => {
  for (const part of parts) {
    const total = usageTotal(part)
    if (total !== undefined) return total
  }
  return undefined
}

const recordAnswer = (
  metrics: GatewayMetrics,
  fields: Record<string, unknown>,
  provider: string,
  usage: {
    readonly inputTokens: number
    readonly cachedInputTokens: number
    readonly outputTokens: number
    readonly reasoningTokens: number
  },
  metadata: Readonly<Record<string, unknown>>
) => {
  fields.provider = provider
  fields.inputTokens = usage.inputTokens
  fields.outputTokens = usage.outputTokens
  if (usage.cachedInputTokens > 0) fields.cachedTokens = usage.cachedInputTokens
  if (usage.reasoningTokens > 0) fields.reasoningTokens = usage.reasoningTokens
  metrics.tokens(provider, {
    input: usage.inputTokens,
    cached: usage.cachedInputTokens,
    output: usage.outputTokens,
    reasoning: usage.reasoningTokens
  })
  if (metadata.idempotency === "replayed" || metadata.idempotency === "joined") {
    fields.idempotency = metadata.idempotency
    metrics.cacheHit("idempotent")
  } else if (metadata.cache === "hit") {
    fields.cache = "hit"
    metrics.cacheHit("response")
  }
}
