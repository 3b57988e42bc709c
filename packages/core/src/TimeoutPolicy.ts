/**
 * The three timeouts of a model call, each a distinct typed failure naming the limit that fired and its value
 * (see `ProviderError.timeout`):
 *
 * - `firstTokenMs`: from the start of an attempt to its first streamed token: a chunk with text, reasoning, a
 *   tool-call fragment or a finish reason (a role-only opening chunk does not count; it also bounds the wait for
 *   response headers). Retryable: nothing reached the caller yet.
 * - `idleMs`: the longest gap between two streamed chunks (keep-alive comments do not count as chunks).
 * - `totalMs`: the whole call, across retries and continuations.
 *
 * The `openai` SDK bounds none of these for a stream that stalls after its headers (TOOLCHAIN.md pitfall 6).
 * A plain non-streaming call is bounded by `totalMs` only (providers send nothing until the answer is complete); a
 * non-streaming call made in streaming mode and assembled (`ProviderSpec.assembleNonStream`, Kimi and GLM) gets the
 * first-token and idle bounds per attempt too, and both are retryable there (nothing reached the caller).
 * Defaults are generous for reasoning models (Moonshot recommends streaming for long generations,
 * docs/providers/kimi.md#long-generations-and-timeouts).
 *
 * @since 0.1.0
 */
import { Context } from "effect"

/**
 * Limits in ms; `undefined` disables one.
 *
 * @since 0.1.0
 */
export interface TimeoutPolicy {
  readonly firstTokenMs?: number | undefined
  readonly idleMs?: number | undefined
  readonly totalMs?: number | undefined
}

/**
 * `{ firstTokenMs: 60000, idleMs: 30000, totalMs: 600000 }`.
 *
 * @since 0.1.0
 */
export const defaults: TimeoutPolicy = { firstTokenMs: 60_000, idleMs: 30_000, totalMs: 600_000 }

/**
 * A per-call override merged over the model's policy (default: none).
 *
 * @since 0.1.0
 */
export const CallTimeoutPolicy: Context.Reference<TimeoutPolicy> = Context.Reference<TimeoutPolicy>(
  "@conduitkit/core/TimeoutPolicy/CallTimeoutPolicy",
  { defaultValue: () => ({}) }
)

/**
 * Merges policies (later wins; absent keys are ignored, an explicit `undefined` value is ignored too).
 *
 * @since 0.1.0
 */
export const merge = (base: TimeoutPolicy, ...overrides: ReadonlyArray<TimeoutPolicy | undefined>): TimeoutPolicy => {
  let out = base
  for (const override of overrides) {
    if (override === undefined) continue
    out = {
      firstTokenMs: override.firstTokenMs ?? out.firstTokenMs,
      idleMs: override.idleMs ?? out.idleMs,
      totalMs: override.totalMs ?? out.totalMs
    }
  }
  return out
}
