/**
 * A call's deadline as its waits check it (no timer of its own): the client bounds each wait for headers and chunks
 * by it (`StreamLimits.deadline`), a retry's sleep ends at it, an attempt due after it is not sent, and a wait that ran
 * into it (the client's `total` timeout) is reported as the call's own timeout. Shared by the non-stream call
 * (`OpenAiCompatLanguageModel`) and the stream's segments (`StreamSegment`).
 *
 * @internal
 */
import type { Clock } from "effect"
import type { AiError } from "effect/ai"
import * as ProviderError from "../ProviderError.js"

/** `at`: the deadline (Clock ms); `totalMs`: the timeout it came from; `clock`: the clock it is read on. */
export interface Deadline {
  readonly at: number
  readonly totalMs: number
  readonly clock: Clock.Clock
}

/** Whether the deadline has passed. */
export const passed = (deadline: Deadline): boolean => deadline.clock.currentTimeMillisUnsafe() >= deadline.at

/**
 * `RetryPolicy.ScheduleOptions` that end a retry's sleep at the deadline: past it by 1 ms at the latest (a timer may
 * fire a millisecond early by the clock), where the next attempt finds it {@link passed} and fails unsent.
 */
export const retrySleep = (deadline: Deadline | undefined): { readonly maxDelayMs?: () => number } =>
  deadline === undefined
    ? {}
    : { maxDelayMs: () => Math.max(0, deadline.at - deadline.clock.currentTimeMillisUnsafe()) + 1 }

/** Whether `error` is a wait that ran into the deadline (the client's `total` timeout). */
export const isTimeout = (error: AiError.AiError): boolean => {
  const described = ProviderError.describe(error)
  return described.kind === "timeout" && described.timeout === "total"
}
