/**
 * A request Conduit refuses before sending, and how pure request shaping reports it.
 */
import { ProviderError } from "@conduitkit/core"
import { Result } from "effect"
import type { AiError } from "effect/ai"

/** Why a request is refused: the wire parameter at fault and a description that states the model's rule. */
export interface Refusal {
  readonly parameter: string
  readonly description: string
}

/** A shaping step: the request, or a refusal. */
export type Shaped<A> = Result.Result<A, Refusal>

export const refuse = (parameter: string, description: string): Shaped<never> => Result.fail({ parameter, description })

/** The refusal as core's pre-flight `InvalidRequestError` (`conduit.kind = "preflight"`). */
export const toAiError = (refusal: Refusal): AiError.AiError =>
  // refusal-helper
  ProviderError.invalidRequest({ provider: "kimi", parameter: refusal.parameter, description: refusal.description })
