/**
 * Running admitted work: an effect or a stream gets the request's `RequestContext` (ids, and an attempt counter
 * chained to any observer already there) and its execution timeout; the request ends (permits given back) whatever
 * happens to the work.
 *
 * @internal
 */
import { ProviderError, RequestContext, Tracing } from "@conduitkit/core"
import { Cause, Duration, Effect, Stream } from "effect"
import { AiError } from "effect/ai"
import type * as Budget from "../Budget.js"
import type { RateLimits as RateLimitsService } from "../RateLimits.js"
import { ExecutionTimeoutError, type SessionError } from "../SessionError.js"
import type { Completed, RunOptions } from "../SessionManager.js"
import { acquire } from "./acquire.js"
import type { Lifecycle } from "./lifecycle.js"
import type { Request } from "./request.js"
import { toMillis } from "./settings.js"

/** `total` plus `cost` (a cost in another currency than the total's is dropped: budgets count one currency). */
const addCost = (total: Budget.Cost | undefined, cost: Budget.Cost): Budget.Cost =>
  total === undefined
    ? cost
    : total.currency === cost.currency
      ? { amount: total.amount + cost.amount, currency: total.currency }
      : total

/** The request's context; `deadline`, when given, replaces a later one of the outer context. */
const withContext =
  (request: Request, deadline?: RequestContext.RequestContextShape["deadline"]) =>
  (outer: RequestContext.RequestContextShape): RequestContext.RequestContextShape => ({
    ...outer,
    requestId: request.requestId,
    sessionId: request.sessionId,
    onAttempt: (attempt: number) => {
      request.attempts++
      outer.onAttempt?.(attempt)
    },
    ...(deadline !== undefined && (outer.deadline === undefined || deadline.at < outer.deadline.at) ? { deadline } : {})
  })

const timeoutOf = (lifecycle: Lifecycle, options: RunOptions<never>): number =>
  options.timeout === undefined ? lifecycle.settings.timeoutMs : toMillis(options.timeout)

const executionTimeout = (request: Request, ms: number): Effect.Effect<never, ExecutionTimeoutError> =>
  Effect.suspend(() =>
    request.timeOut(
      new ExecutionTimeoutError({ requestId: request.requestId, sessionId: request.sessionId, timeoutMs: ms })
    )
  )

/**
 * Admission in a span of its own when tracing is active (`conduit.session.admission`: the wait for the request's
 * permits, with its session and request ids and `conduit.session.queued_ms`), see core's `Tracing`.
 */
const admitted = (
  lifecycle: Lifecycle,
  rateLimits: RateLimitsService["Service"] | undefined,
  options: RunOptions<never>
): Effect.Effect<Request, SessionError> =>
  Tracing.withSpan(acquire(lifecycle, rateLimits, options), "conduit.session.admission", {
    onSuccess: (span, request) => {
      span.attribute("conduit.session.id", request.sessionId)
      span.attribute("conduit.request.id", request.requestId)
      span.attribute("conduit.session.queued_ms", request.queuedMs())
    }
  })

/** Runs `effect` as one request (see `SessionManager.run`). */
export const run = <A, E, R>(
  lifecycle: Lifecycle,
  rateLimits: RateLimitsService["Service"] | undefined,
  effect: Effect.Effect<A, E, R>,
  options: RunOptions<A>
): Effect.Effect<Completed<A>, E | SessionError, R> =>
  Effect.acquireUseRelease(
    admitted(lifecycle, rateLimits, options),
    (request) => {
      let body: Effect.Effect<A, E | SessionError, R> = Effect.updateService(
        effect,
        RequestContext.RequestContext,
        withContext(request)
      )
      const ms = timeoutOf(lifecycle, options)
      if (Number.isFinite(ms)) {
        body = Effect.timeoutOrElse(body, {
          duration: Duration.millis(ms),
          orElse: () => executionTimeout(request, ms)
        })
      }
      return Effect.map(body, (value) => {
        request.endedNanos = request.clock.monotonicTimeNanosUnsafe()
        const actual = options.rateLimit?.actualTokens
        if (actual !== undefined) request.usageTokens = actual(value)
        const cost = options.rateLimit?.actualCost
        if (cost !== undefined) request.usageCost = cost(value)
        return { value, metadata: request.runMetadata() }
      })
    },
    (request, exit) => lifecycle.finish(request, exit, options.onEnd)
  )

const wrapStream = <A, E, R>(
  lifecycle: Lifecycle,
  request: Request,
  stream: Stream.Stream<A, E, R>,
  options: RunOptions<A>
): Stream.Stream<A, E | SessionError, R> => {
  const ms = timeoutOf(lifecycle, options)
  const bounded = Number.isFinite(ms)
  // a stream that honors the deadline gets it in its context (see `RunOptions.honorsDeadline`)
  const at = bounded && options.honorsDeadline === true ? request.clock.currentTimeMillisUnsafe() + ms : undefined
  let body: Stream.Stream<A, E | SessionError, R> = Stream.updateService(
    stream,
    RequestContext.RequestContext,
    withContext(request, at === undefined ? undefined : { at, timeoutMs: ms })
  )
  const actual = options.rateLimit?.actualTokens
  const actualCost = options.rateLimit?.actualCost
  if (actual !== undefined || actualCost !== undefined) {
    body = Stream.map(body, (element) => {
      const tokens = actual?.(element)
      if (tokens !== undefined) request.usageTokens = (request.usageTokens ?? 0) + tokens
      const cost = actualCost?.(element)
      if (cost !== undefined) request.usageCost = addCost(request.usageCost, cost)
      return element
    })
  }
  if (at !== undefined) return withinDeadline(body, request, at, ms)
  if (bounded) {
    body = Stream.interruptWhen(body, Effect.andThen(Effect.sleep(Duration.millis(ms)), executionTimeout(request, ms)))
  }
  return body
}

/** Whether `error` is core's `total` timeout of `timeoutMs` (a call that reached the deadline it was given). */
const isDeadlineTimeout = (error: unknown, timeoutMs: number): boolean => {
  if (!AiError.isAiError(error)) return false
  const described = ProviderError.describe(error)
  return described.kind === "timeout" && described.timeout === "total" && described.limitMs === timeoutMs
}

/**
 * The execution timeout of a stream that ends its own waits by `RequestContext.deadline` (`at`): checked at each
 * pull, and a failure at or after the deadline (or the call's total timeout naming it) is the timeout's.
 */
const withinDeadline = <A, E, R>(
  body: Stream.Stream<A, E | SessionError, R>,
  request: Request,
  at: number,
  ms: number
): Stream.Stream<A, E | SessionError, R> => {
  const { clock } = request
  const timedOut = (error: unknown) =>
    !Cause.isDone(error) && (clock.currentTimeMillisUnsafe() >= at || isDeadlineTimeout(error, ms))
  return Stream.transformPull(body, (pull) =>
    Effect.succeed(
      Effect.suspend(() =>
        clock.currentTimeMillisUnsafe() >= at
          ? executionTimeout(request, ms)
          : Effect.catchIf(pull, timedOut, () => executionTimeout(request, ms))
      )
    )
  )
}

/** Runs `stream` as one request, admitted when first pulled (see `SessionManager.runStream`). */
export const runStream = <A, E, R>(
  lifecycle: Lifecycle,
  rateLimits: RateLimitsService["Service"] | undefined,
  stream: Stream.Stream<A, E, R>,
  options: RunOptions<A>
): Stream.Stream<A, E | SessionError, R> =>
  Stream.scoped(
    Stream.unwrap(
      Effect.uninterruptible(
        Effect.flatMap(admitted(lifecycle, rateLimits, options), (request) =>
          Effect.as(
            Effect.addFinalizer((exit) => lifecycle.finish(request, exit, options.onEnd)),
            wrapStream(lifecycle, request, stream, options)
          )
        )
      )
    )
  )
