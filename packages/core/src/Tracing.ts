/**
 * OpenTelemetry GenAI spans of model calls, on Effect's own tracer (`effect`'s `Tracer`; `effect/observability`'s
 * `OtlpTracer` exports them) and `effect/ai`'s `Telemetry` attribute names.
 *
 * - Every upstream HTTP attempt is a span named `chat {model}` (kind client; the GenAI inference span): attributes
 *   `gen_ai.operation.name` (`chat`), `gen_ai.provider.name`, `gen_ai.request.model` and the request's sampling
 *   parameters, `server.address` / `server.port`; on success `gen_ai.response.id`, `gen_ai.response.model`,
 *   `gen_ai.response.finish_reasons`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
 *   `gen_ai.usage.cache_read.input_tokens`, `gen_ai.usage.reasoning.output_tokens` and `http.response.status_code`;
 *   on failure `error.type` (the `AiError` reason, e.g. `RateLimitError`), the HTTP status when there was one and
 *   `conduit.error.kind` (`http`, `timeout`, `truncated-stream`...). Conduit's own: `conduit.attempt` (1-based),
 *   `conduit.retry.delay_ms` (the wait before this attempt, when it is a retry), `conduit.streamed`, and for a stream
 *   the event `conduit.first_token` (attribute `conduit.time_to_first_token_ms`, from the attempt's start).
 * - The W3C `traceparent` of the attempt's span is sent upstream on its HTTP request (`traceparent` header,
 *   https://www.w3.org/TR/trace-context/#traceparent-header).
 * - The `effect/ai` `LanguageModel.generateText` / `streamText` span of the call gets the call's totals (the same
 *   `gen_ai.*` names, summed over attempts, continuations and rounds; a response-cache hit has them with no attempt
 *   span) and its cost when the finish part carries one (`conduit.cost.amount`, `conduit.cost.currency`,
 *   `conduit.cost.unconfirmed`).
 * - Message content is recorded only when {@link CaptureContent} is on (the conventions'
 *   `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` switch, read by the gateway): `gen_ai.input.messages` on each
 *   attempt span (the wire messages), `gen_ai.output.messages` on a non-stream attempt's span.
 *
 * Nothing is created, and nothing is added to requests, unless the program provides a tracer with a backend: with
 * Effect's default native tracer (spans that go nowhere) or `References.TracerEnabled` off, every helper here runs the
 * wrapped work as it is ({@link isActive}: one reference read).
 *
 * Names: the OpenTelemetry GenAI semantic conventions, https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
 * (inference span, `gen_ai.provider.name` replacing `gen_ai.system`; cache and reasoning token attributes from the
 * GenAI attribute registry, https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/), `error.type`
 * and `http.response.status_code` from the general conventions.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Effect, Exit, type Fiber, References, Stream, Tracer } from "effect"
import type { AiError, Response } from "effect/ai"
import { Telemetry } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as Cost from "./Cost.js"
import * as ProviderError from "./ProviderError.js"
import * as Usage from "./Usage.js"

/**
 * The GenAI semantic conventions' spans page these names follow.
 *
 * @since 0.1.0
 */
export const semanticConventions = "https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/"

/**
 * Whether message content (prompts and answers) is recorded on spans (default: off). The gateway turns it on from
 * `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`; a library user with `Effect.provideService`.
 *
 * @since 0.1.0
 */
export const CaptureContent: Context.Reference<boolean> = Context.Reference<boolean>(
  "@conduitkit/core/Tracing/CaptureContent",
  { defaultValue: () => false }
)

/**
 * Whether spans made on `fiber` reach a tracer with a backend: tracing enabled and a tracer other than Effect's
 * native one (whose spans go nowhere; Effect's HTTP server makes the same test).
 *
 * @since 0.1.0
 */
export const isActive = (fiber: Fiber.Fiber<unknown, unknown>): boolean =>
  fiber.getRef(Tracer.Tracer) !== Tracer.nativeTracer && fiber.getRef(References.TracerEnabled)

/**
 * The W3C `traceparent` header value of a span: `00-{trace id}-{span id}-{flags}`
 * (https://www.w3.org/TR/trace-context/#traceparent-header).
 *
 * @since 0.1.0
 */
export const traceparent = (span: Tracer.Span): string =>
  `00-${span.traceId.padStart(32, "0")}-${span.spanId}-${span.sampled ? "01" : "00"}`

/**
 * Runs `effect` in a span named `name` when tracing is active ({@link isActive}), else as it is. `onSuccess` may add
 * attributes from the value before the span ends.
 *
 * @since 0.1.0
 */
export const withSpan = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  name: string,
  options?: Tracer.SpanOptionsNoTrace & { readonly onSuccess?: ((span: Tracer.Span, value: A) => void) | undefined }
): Effect.Effect<A, E, R> =>
  Effect.withFiber((fiber) =>
    !isActive(fiber)
      ? effect
      : Effect.useSpan(name, options ?? {}, (span) => {
          const traced = Effect.withParentSpan(effect, span)
          const onSuccess = options?.onSuccess
          return onSuccess === undefined
            ? traced
            : Effect.tap(traced, (value) => Effect.sync(() => onSuccess(span, value)))
        })
  )

// =============================================================================
// Attempt spans
// =============================================================================

/**
 * One upstream attempt as its span describes it.
 *
 * - `provider`: `gen_ai.provider.name` (Conduit's provider name, e.g. `kimi`, `glm`).
 * - `baseURL`: the provider's base URL (`server.address`, `server.port`; the path is not recorded).
 * - `request`: the wire request (model, sampling parameters; messages only with {@link CaptureContent}).
 * - `attempt`: 1-based number within the call; `retryDelayMs`: the wait before it when it is a retry (ms).
 *
 * @since 0.1.0
 */
export interface AttemptInfo {
  readonly provider: string
  readonly baseURL: string
  readonly request: ChatCompletions.WireRequest
  readonly streaming: boolean
  readonly attempt: number
  readonly retryDelayMs: number | undefined
}

/**
 * What an attempt's answer says about itself (all optional): response id and model, finish reasons, usage, and the
 * output text (recorded only with {@link CaptureContent}).
 *
 * @since 0.1.0
 */
export interface AttemptOutcome {
  readonly id?: string | undefined
  readonly model?: string | undefined
  readonly finishReasons?: ReadonlyArray<string> | undefined
  readonly usage?: Usage.TokenUsage | undefined
  readonly output?: { readonly text: string; readonly reasoning: string } | undefined
}

/**
 * An attempt's live span, for code that runs the attempt itself (a stream): the headers to send (with
 * `traceparent`), and where the attempt reports its first token, its outcome and its end.
 *
 * @since 0.1.0
 */
export interface AttemptSpan {
  readonly span: Tracer.Span
  readonly headers: (headers: Readonly<Record<string, string>> | undefined) => Record<string, string>
  readonly firstToken: () => void
  readonly succeed: (outcome: AttemptOutcome) => void
  readonly end: (exit: Exit.Exit<unknown, unknown>) => void
}

const numberOr = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)

const serverOf = (baseURL: string): { address: string; port: number } | undefined => {
  try {
    const url = new URL(baseURL)
    const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80
    return { address: url.hostname, port }
  } catch {
    return undefined
  }
}

/** The conventions' message shape (`role`, `parts`), from wire messages: text parts, tool calls as JSON. */
const inputMessages = (request: ChatCompletions.WireRequest): string =>
  JSON.stringify(
    (request.messages as ReadonlyArray<Record<string, unknown>>).map((message) => {
      const content = message.content
      const parts: Array<Record<string, unknown>> = []
      if (typeof content === "string") parts.push({ type: "text", content })
      else if (Array.isArray(content)) {
        for (const part of content as ReadonlyArray<{ type?: unknown; text?: unknown }>) {
          parts.push(part.type === "text" ? { type: "text", content: part.text } : { type: String(part.type) })
        }
      }
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls as ReadonlyArray<{
          id?: unknown
          function?: { name?: unknown; arguments?: unknown }
        }>) {
          parts.push({ type: "tool_call", id: call.id, name: call.function?.name, arguments: call.function?.arguments })
        }
      }
      return { role: message.role, parts }
    })
  )

/** Sets the request-side attributes of an attempt's span. */
const annotateRequest = (span: Tracer.Span, info: AttemptInfo, capture: boolean): void => {
  const request = info.request as Record<string, unknown>
  const stop = request.stop
  Telemetry.addGenAIAnnotations(span, {
    provider: { name: info.provider },
    operation: { name: "chat" },
    request: {
      model: typeof request.model === "string" ? request.model : undefined,
      temperature: numberOr(request.temperature),
      topP: numberOr(request.top_p),
      maxTokens: numberOr(request.max_completion_tokens) ?? numberOr(request.max_tokens),
      frequencyPenalty: numberOr(request.frequency_penalty),
      presencePenalty: numberOr(request.presence_penalty),
      seed: numberOr(request.seed),
      stopSequences: typeof stop === "string" ? [stop] : Array.isArray(stop) ? (stop as Array<string>) : undefined
    }
  })
  const server = serverOf(info.baseURL)
  if (server !== undefined) {
    span.attribute("server.address", server.address)
    span.attribute("server.port", server.port)
  }
  span.attribute("conduit.attempt", info.attempt)
  span.attribute("conduit.streamed", info.streaming)
  if (info.retryDelayMs !== undefined) span.attribute("conduit.retry.delay_ms", info.retryDelayMs)
  if (capture) span.attribute("gen_ai.input.messages", inputMessages(info.request))
}

/**
 * Sets the usage attributes: `gen_ai.usage.input_tokens` and `gen_ai.usage.output_tokens` through `effect/ai`'s
 * `Telemetry`, cached input tokens as `gen_ai.usage.cache_read.input_tokens` and reasoning tokens as
 * `gen_ai.usage.reasoning.output_tokens` (both part of the former two, as the conventions say).
 *
 * @since 0.1.0
 */
export const annotateUsage = (span: Tracer.Span, usage: Usage.TokenUsage): void => {
  Telemetry.addGenAIAnnotations(span, {
    usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
  })
  span.attribute("gen_ai.usage.cache_read.input_tokens", usage.cachedInputTokens)
  span.attribute("gen_ai.usage.reasoning.output_tokens", usage.reasoningTokens)
}

const annotateOutcome = (span: Tracer.Span, outcome: AttemptOutcome, capture: boolean): void => {
  Telemetry.addGenAIAnnotations(span, {
    response: { id: outcome.id, model: outcome.model, finishReasons: outcome.finishReasons }
  })
  if (outcome.usage !== undefined) annotateUsage(span, outcome.usage)
  if (capture && outcome.output !== undefined) {
    const parts: Array<Record<string, unknown>> = []
    if (outcome.output.reasoning !== "") parts.push({ type: "reasoning", content: outcome.output.reasoning })
    if (outcome.output.text !== "") parts.push({ type: "text", content: outcome.output.text })
    span.attribute(
      "gen_ai.output.messages",
      JSON.stringify([{ role: "assistant", parts, finish_reason: outcome.finishReasons?.[0] }])
    )
  }
}

/**
 * Sets the failure attributes of a span from an `AiError`: `error.type` (the reason's tag), the HTTP status when the
 * failure was an HTTP answer, `conduit.error.kind`.
 *
 * @since 0.1.0
 */
export const annotateError = (span: Tracer.Span, error: AiError.AiError): void => {
  const summary = ProviderError.describe(error)
  span.attribute("error.type", summary.reason)
  if (summary.status !== undefined) span.attribute("http.response.status_code", summary.status)
  if (summary.kind !== undefined) span.attribute("conduit.error.kind", summary.kind)
}

const isAiError = (error: unknown): error is AiError.AiError =>
  typeof error === "object" && error !== null && (error as { _tag?: unknown })._tag === "AiError"

const endWith = (span: Tracer.Span, fiber: Fiber.Fiber<unknown, unknown>, exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isFailure(exit)) {
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "Some" && isAiError(error.value)) annotateError(span, error.value)
  } else {
    span.attribute("http.response.status_code", 200)
  }
  span.end(fiber.getRef(References.TracerTimingEnabled) ? fiber.getRef(Clock.Clock).currentTimeNanosUnsafe() : 0n, exit)
}

/**
 * Starts an attempt's span (a child of the current span) when tracing is active, else `undefined`: the caller ends
 * it with `end` (a stream's attempt lasts as long as its body is read).
 *
 * @since 0.1.0
 */
export const startAttempt = (info: AttemptInfo): Effect.Effect<AttemptSpan | undefined> =>
  Effect.withFiber((fiber) => {
    if (!isActive(fiber)) return Effect.succeed(undefined)
    const capture = fiber.getRef(CaptureContent)
    const model = typeof info.request.model === "string" ? info.request.model : "unknown"
    return Effect.map(Effect.makeSpan(`chat ${model}`, { kind: "client" }), (span): AttemptSpan => {
      annotateRequest(span, info, capture)
      const startedAt = fiber.getRef(Clock.Clock).currentTimeNanosUnsafe()
      let first = false
      let ended = false
      return {
        span,
        headers: (headers) => ({ ...headers, traceparent: traceparent(span) }),
        firstToken: () => {
          if (first) return
          first = true
          const now = fiber.getRef(Clock.Clock).currentTimeNanosUnsafe()
          span.event("conduit.first_token", now, {
            "conduit.time_to_first_token_ms": Number(now - startedAt) / 1e6
          })
        },
        succeed: (outcome) => annotateOutcome(span, outcome, capture),
        end: (exit) => {
          if (ended) return
          ended = true
          endWith(span, fiber, exit)
        }
      }
    })
  })

/**
 * Runs one non-stream attempt in its span when tracing is active: `run` gets the headers to send (the given ones plus
 * `traceparent`), `outcome` reads the answer's attributes. Without tracing: `run(headers)` as it is.
 *
 * @since 0.1.0
 */
export const attempt = <A>(
  info: AttemptInfo,
  headers: Readonly<Record<string, string>> | undefined,
  run: (headers: Readonly<Record<string, string>> | undefined) => Effect.Effect<A, AiError.AiError>,
  outcome: (value: A) => AttemptOutcome
): Effect.Effect<A, AiError.AiError> =>
  Effect.withFiber((fiber) =>
    !isActive(fiber)
      ? run(headers)
      : Effect.flatMap(startAttempt(info), (traced) =>
          traced === undefined
            ? run(headers)
            : run(traced.headers(headers)).pipe(
                Effect.withParentSpan(traced.span),
                Effect.tap((value) => Effect.sync(() => traced.succeed(outcome(value)))),
                Effect.onExit((exit) => Effect.sync(() => traced.end(exit)))
              )
        )
  )

// =============================================================================
// The call's span (effect/ai's LanguageModel span)
// =============================================================================

/**
 * Puts a finished call's totals on its `effect/ai` `LanguageModel` span (when tracing is active): provider, request
 * model, response model, id and finish reason (from the `response-metadata` and `finish` parts), summed usage, and
 * the cost when the finish part's `metadata.conduit.cost` has one (`{ amount, currency, unconfirmed }`).
 *
 * @since 0.1.0
 */
export const annotateCall = (
  span: Tracer.Span,
  call: { readonly provider: string; readonly model: string },
  parts: ReadonlyArray<Response.AnyPartEncoded | Response.StreamPartEncoded>
): void => {
  let id: string | undefined
  let model: string | undefined
  let finish: Response.FinishPartEncoded | undefined
  for (const part of parts) {
    if (part.type === "response-metadata") {
      id ??= part.id ?? undefined
      model ??= part.modelId ?? undefined
    } else if (part.type === "finish") finish = part
  }
  Telemetry.addGenAIAnnotations(span, {
    provider: { name: call.provider },
    operation: { name: "chat" },
    request: { model: call.model },
    response: { id, model, finishReasons: finish !== undefined ? [finish.reason] : undefined }
  })
  if (finish === undefined) return
  annotateUsage(span, Usage.fromResponseUsage(finish.usage))
  const cost = Cost.fromMetadata((finish.metadata?.conduit as { cost?: unknown } | undefined)?.cost)
  if (cost !== undefined) annotateCost(span, cost)
}

/**
 * Sets a cost's attributes: `conduit.cost.amount` (in `conduit.cost.currency`, ISO 4217) and
 * `conduit.cost.unconfirmed` (a price marked UNCONFIRMED in the catalog).
 *
 * @since 0.1.0
 */
export const annotateCost = (span: Tracer.Span, cost: Cost.Cost): void => {
  span.attribute("conduit.cost.amount", cost.amount)
  span.attribute("conduit.cost.currency", cost.currency)
  span.attribute("conduit.cost.unconfirmed", cost.unconfirmed)
}

/**
 * A call's parts with {@link annotateCall} applied to `span` once they are known (when tracing is active).
 *
 * @since 0.1.0
 */
export const tracedCall = <E, R>(
  effect: Effect.Effect<Array<Response.PartEncoded>, E, R>,
  span: Tracer.Span,
  call: { readonly provider: string; readonly model: string }
): Effect.Effect<Array<Response.PartEncoded>, E, R> =>
  Effect.withFiber((fiber) =>
    isActive(fiber) ? Effect.tap(effect, (parts) => Effect.sync(() => annotateCall(span, call, parts))) : effect
  )

/**
 * The stream version of {@link tracedCall}: the span is the parent of the stream's attempt spans and gets the call's
 * totals when the stream ends with its `finish` part (a stream cut short has the response metadata it got).
 *
 * @since 0.1.0
 */
export const tracedCallStream = <E, R>(
  stream: Stream.Stream<Response.StreamPartEncoded, E, R>,
  span: Tracer.Span,
  call: { readonly provider: string; readonly model: string }
): Stream.Stream<Response.StreamPartEncoded, E, R> =>
  Stream.unwrap(
    Effect.withFiber((fiber) => {
      if (!isActive(fiber)) return Effect.succeed(stream)
      const seen: Array<Response.StreamPartEncoded> = []
      return Effect.succeed(
        stream.pipe(
          // effect/ai does not make its streamText span the parent of the stream's work: the attempts' spans need it
          Stream.provideService(Tracer.ParentSpan, span),
          Stream.mapArray((batch) => {
            for (const part of batch) if (part.type === "response-metadata" || part.type === "finish") seen.push(part)
            return batch
          }),
          Stream.ensuring(Effect.sync(() => annotateCall(span, call, seen)))
        )
      )
    })
  )

/**
 * The stream version of {@link withSpan}: the span lasts until the stream ends (when tracing is active).
 *
 * @since 0.1.0
 */
export const withSpanStream = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  name: string,
  options?: Tracer.SpanOptionsNoTrace
): Stream.Stream<A, E, R> =>
  Stream.unwrap(
    Effect.withFiber((fiber) =>
      Effect.succeed(isActive(fiber) ? Stream.withSpan(stream, name, { ...options, captureStackTrace: false }) : stream)
    )
  ) as Stream.Stream<A, E, R>
