/**
 * Provider cooldown, the state machine (pure; the holder that keeps one state per provider is `Cooldowns`). A
 * provider whose calls keep failing for availability reasons is skipped for a while in routes with fallbacks (as
 * LiteLLM's cooldowns), then one request probes it (half-open, as a circuit breaker) before traffic returns:
 *
 * - `Closed { failures }`: admitted; `failures` counts availability failures in a row. At `policy.failures` the
 *   provider opens.
 * - `Open { until }`: skipped until `until` (ms, the holder's clock); the first request after that is the probe.
 * - `HalfOpen { probeSince }`: one probe is running, other requests skip the provider. The probe's success closes
 *   it, its failure opens it again for `cooldownMs`. A probe that reports nothing for `cooldownMs` (its request was
 *   cancelled) is replaced by the next request.
 *
 * Only availability failures count ({@link classify}): rate limits, 5xx and overload, network errors, first-token
 * timeouts, truncated streams (the errors core retries). A client's 4xx, an exhausted quota or balance, an auth
 * failure or a content-policy refusal never do: the provider is up, the request or the account is the problem.
 */
import { ProviderError } from "@conduitkit/core"
import type { Cause } from "effect"
import { AiError } from "effect/ai"

/** `failures` in a row open the provider (0: cooldown off), for `cooldownMs`. */
export interface Policy {
  readonly failures: number
  readonly cooldownMs: number
}

/** One provider's state (times in ms of the holder's clock). */
export type State =
  | { readonly _tag: "Closed"; readonly failures: number }
  | { readonly _tag: "Open"; readonly until: number }
  | { readonly _tag: "HalfOpen"; readonly probeSince: number }

/** A provider with no failure. */
export const closed: State = { _tag: "Closed", failures: 0 }

/** What one finished call on the provider says about it. */
export type Outcome = "success" | "failure" | "ignored"

/** The decision for one request: whether it may use the provider (as its probe when `probe`), and the new state. */
export interface Admission {
  readonly admitted: boolean
  readonly probe: boolean
  readonly state: State
}

/** Whether a request may use the provider at `now`. */
export const admit = (state: State, now: number, policy: Policy): Admission => {
  switch (state._tag) {
    case "Closed":
      return { admitted: true, probe: false, state }
    case "Open":
      return now < state.until
        ? { admitted: false, probe: false, state }
        : { admitted: true, probe: true, state: { _tag: "HalfOpen", probeSince: now } }
    case "HalfOpen":
      return now - state.probeSince < policy.cooldownMs
        ? { admitted: false, probe: false, state }
        : { admitted: true, probe: true, state: { _tag: "HalfOpen", probeSince: now } }
  }
}

/** The state after a call on the provider ended with `outcome` at `now`. */
export const record = (state: State, outcome: Outcome, now: number, policy: Policy): State => {
  if (outcome === "ignored" || policy.failures <= 0) return state
  if (outcome === "success") return state._tag === "Closed" && state.failures === 0 ? state : closed
  switch (state._tag) {
    case "Closed":
      return state.failures + 1 >= policy.failures
        ? { _tag: "Open", until: now + policy.cooldownMs }
        : { _tag: "Closed", failures: state.failures + 1 }
    case "HalfOpen":
      return { _tag: "Open", until: now + policy.cooldownMs }
    case "Open":
      return state // a call admitted before the provider opened failed too
  }
}

/**
 * The outcome of a call that failed with `cause`: `failure` for an availability failure (an `AiError` core would
 * retry), `ignored` for anything else (a client's request, quota, auth, content policy, an interruption).
 */
export const classify = (cause: Cause.Cause<unknown>): Outcome => {
  for (const reason of cause.reasons) {
    if (reason._tag === "Fail" && AiError.isAiError(reason.error)) {
      return ProviderError.isRetryable(reason.error) ? "failure" : "ignored"
    }
  }
  return "ignored"
}
