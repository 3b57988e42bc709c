/**
 * The one retry policy of the stack (the `openai` SDK runs with `maxRetries: 0`).
 *
 * Defaults: 2 retries (3 attempts), 500 ms base, 8 s cap, full jitter: retry `n` waits
 * `random(0, min(maxDelayMs, baseDelayMs · 2^(n-1)))` (AWS "Exponential Backoff and Jitter"; gRPC A6), which does
 * the least work under synchronized 429 storms (perf.md §3). Server advice wins: `retry-after-ms`, then
 * `retry-after` (seconds or HTTP date), then Moonshot's `x-retry-after`, honoured exactly up to
 * `maxRetryAfterMs` (60 s); advice above the cap fails with the error at once instead of sleeping. Only retryable
 * errors are retried (`ProviderError.isRetryable`): quota and balance exhaustion, auth, invalid requests and
 * content policy never are, whatever their HTTP status. Streams are retried only before their first chunk reached
 * the caller (enforced by the language model).
 *
 * Set per model (models.yaml `retry:`, `OpenAiCompatLanguageModel.model(..., { retry })`) or per call
 * (`Effect.provideService(RetryPolicy.CallRetryPolicy, {...})`).
 *
 * @since 0.1.0
 */
import { Cause, Context, Duration, Effect, Random, Schedule } from "effect"
import type { AiError } from "effect/ai"
import * as ProviderError from "./ProviderError.js"
import * as RetryBudget from "./RetryBudget.js"

/**
 * The policy. Times in ms.
 *
 * @since 0.1.0
 */
export interface RetryPolicy {
  /** Retries after the first attempt (0 disables retrying). */
  readonly maxRetries: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** The longest server-advised wait honoured; longer advice fails the call at once. */
  readonly maxRetryAfterMs: number
}

/**
 * A partial policy (each field optional, `undefined` meaning "inherit").
 *
 * @since 0.1.0
 */
export type RetryPolicyInput = { readonly [K in keyof RetryPolicy]?: RetryPolicy[K] | undefined }

/**
 * `{ maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60000 }`.
 *
 * @since 0.1.0
 */
export const defaults: RetryPolicy = { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 }

/**
 * A per-call override, merged over the model's policy (default: no override).
 *
 * @since 0.1.0
 */
export const CallRetryPolicy: Context.Reference<RetryPolicyInput> = Context.Reference<RetryPolicyInput>(
  "@conduitkit/core/RetryPolicy/CallRetryPolicy",
  { defaultValue: () => ({}) }
)

/**
 * The decision after a failed attempt: retry after `delayMs`, or stop (with why).
 *
 * @since 0.1.0
 */
export type Decision =
  | { readonly _tag: "Retry"; readonly delayMs: number; readonly source: "backoff" | "retry-after" }
  | { readonly _tag: "Stop"; readonly why: "not-retryable" | "exhausted" | "retry-after-above-cap" }

/**
 * Decides, purely, what to do after failed attempt number `attempt` (1 = the first attempt failed). `random` is a
 * number in [0, 1) for the jitter.
 *
 * @since 0.1.0
 */
export const decide = (policy: RetryPolicy, error: AiError.AiError, attempt: number, random: number): Decision => {
  if (!ProviderError.isRetryable(error)) return { _tag: "Stop", why: "not-retryable" }
  if (attempt > policy.maxRetries) return { _tag: "Stop", why: "exhausted" }
  const advice = ProviderError.retryAfterOf(error)
  if (advice !== undefined) {
    const ms = Duration.toMillis(advice)
    if (ms > policy.maxRetryAfterMs) return { _tag: "Stop", why: "retry-after-above-cap" }
    return { _tag: "Retry", delayMs: ms, source: "retry-after" }
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
  return { _tag: "Retry", delayMs: Math.floor(random * ceiling), source: "backoff" }
}

/**
 * Observers and extra conditions of {@link schedule}.
 *
 * - `onRetry`: called when a retry is scheduled (its 1-based number, the delay in ms, the error).
 * - `while`: an extra condition checked first (the language model passes "nothing was streamed yet").
 * - `maxDelayMs`: the longest the next wait may last, in ms (the language model passes the time left before the
 *   call's deadline); a longer delay is cut to it.
 *
 * @since 0.1.0
 */
export interface ScheduleOptions {
  readonly onRetry?:
    | ((info: { readonly attempt: number; readonly delayMs: number; readonly error: AiError.AiError }) => void)
    | undefined
  readonly while?: (() => boolean) | undefined
  readonly maxDelayMs?: (() => number) | undefined
}

/**
 * The policy as an Effect `Schedule` over `AiError` inputs, for `Effect.retry` and `Stream.retry`: each failure is
 * run through {@link decide} with a random number from Effect's `Random` (seedable with `Random.withSeed`), then a
 * retry is taken from the `RetryBudget.CurrentRetryBudget` for the provider the error names (none left: stop), and the delay is slept on Effect's
 * `Clock` (TestClock-friendly). Its output is the number of retries so far.
 *
 * @since 0.1.0
 */
export const schedule = (policy: RetryPolicy, options?: ScheduleOptions): Schedule.Schedule<number, AiError.AiError> =>
  Schedule.fromStepWithMetadata(
    Effect.sync(() => (meta: Schedule.InputMetadata<AiError.AiError>) => {
      if (options?.while !== undefined && !options.while()) return Cause.done(meta.attempt - 1)
      return Effect.flatMap(Random.next, (random) => {
        const decision = decide(policy, meta.input, meta.attempt, random)
        if (decision._tag === "Stop") return Cause.done(meta.attempt - 1)
        // the retry budget (a share of the traffic) has the last word
        return Effect.flatMap(Effect.service(RetryBudget.CurrentRetryBudget), (budget) => {
          if (!budget.tryRetry(ProviderError.describe(meta.input).provider)) return Cause.done(meta.attempt - 1)
          const delayMs =
            options?.maxDelayMs === undefined ? decision.delayMs : Math.min(decision.delayMs, options.maxDelayMs())
          options?.onRetry?.({ attempt: meta.attempt, delayMs, error: meta.input })
          return Effect.succeed([meta.attempt, Duration.millis(delayMs)] as [number, Duration.Duration])
        })
      })
    })
  )

/**
 * Runs `effect` under the policy (see {@link schedule}); fails with the last error when retrying stops.
 *
 * The first attempt runs bare: the retry machinery (the schedule's state, its metadata provided to each attempt) is
 * built only once it has failed, and that failure is the schedule's first input, as with `Effect.retry` (a call that
 * succeeds at once, nearly every call, saved ~50 to 100 µs of CPU, bench/core).
 *
 * @since 0.1.0
 */
export const retry = <A, R>(
  effect: Effect.Effect<A, AiError.AiError, R>,
  policy: RetryPolicy,
  options?: ScheduleOptions
): Effect.Effect<A, AiError.AiError, R> =>
  policy.maxRetries <= 0
    ? effect
    : Effect.catch(effect, (first) => {
        let replay: AiError.AiError | undefined = first
        const attempt = Effect.suspend(() => {
          if (replay === undefined) return effect
          const error = replay
          replay = undefined
          return Effect.fail(error)
        })
        return Effect.retry(attempt, schedule(policy, options))
      })

/**
 * Merges partial policies over a base (later wins; `undefined` fields are ignored).
 *
 * @since 0.1.0
 */
export const merge = (base: RetryPolicy, ...overrides: ReadonlyArray<RetryPolicyInput | undefined>): RetryPolicy => {
  let out = base
  for (const override of overrides) {
    if (override === undefined) continue
    out = {
      maxRetries: override.maxRetries ?? out.maxRetries,
      baseDelayMs: override.baseDelayMs ?? out.baseDelayMs,
      maxDelayMs: override.maxDelayMs ?? out.maxDelayMs,
      maxRetryAfterMs: override.maxRetryAfterMs ?? out.maxRetryAfterMs
    }
  }
  return out
}
