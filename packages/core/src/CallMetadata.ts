/**
 * The counters of one model call (attempts, continuations, provider-executed rounds, chunks, time to first token,
 * request id, summed usage) and what they become: `metadata.conduit` on the `finish` and `response-metadata`
 * parts, and the total-timeout failure. Shared by the generate and stream paths of `OpenAiCompatLanguageModel`.
 *
 * @since 0.1.0
 */
import type { AiError, Response } from "effect/ai"
import * as Cost from "./Cost.js"
import * as ProviderError from "./ProviderError.js"
import type { ProviderSpec } from "./ProviderSpec.js"
import type * as RoundPolicy from "./RoundPolicy.js"
import * as Usage from "./Usage.js"

/**
 * The counters of one call, updated as it runs (times in ms since the epoch), and the request's warnings.
 *
 * @since 0.1.0
 */
export interface CallState {
  /** What was adapted in the request or the caller should know (see `ProviderSpec.PrepareContext.warn`). */
  readonly warnings: ReadonlyArray<string>
  attempts: number
  continuations: number
  providerExecutedRounds: number
  chunkCount: number
  firstChunkAt: number | undefined
  requestId: string | undefined
  headers: Readonly<Record<string, string>> | undefined
  usage: Usage.TokenUsage | undefined
}

/**
 * Fresh counters for a call whose request carries `warnings`.
 *
 * @since 0.1.0
 */
export const newState = (warnings: ReadonlyArray<string>): CallState => ({
  warnings,
  attempts: 0,
  continuations: 0,
  providerExecutedRounds: 0,
  chunkCount: 0,
  firstChunkAt: undefined,
  requestId: undefined,
  headers: undefined,
  usage: undefined
})

/**
 * Adds a segment's usage to the call's.
 *
 * @since 0.1.0
 */
export const addUsage = (state: CallState, usage: Usage.TokenUsage | undefined): void => {
  if (usage !== undefined) state.usage = state.usage === undefined ? usage : Usage.sum(state.usage, usage)
}

/**
 * The call's progress as the round policy reads it, given the answer's text so far.
 *
 * @since 0.1.0
 */
export const progress = (state: CallState, text: string): RoundPolicy.CallProgress => ({
  providerExecutedRounds: state.providerExecutedRounds,
  continuations: state.continuations,
  outputTokens: state.usage?.outputTokens ?? 0,
  text
})

type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }

const conduitOf = (metadata: Response.ProviderMetadata | undefined): Record<string, Json> => {
  const conduit = metadata?.conduit
  return typeof conduit === "object" && conduit !== null && !Array.isArray(conduit)
    ? { ...(conduit as Record<string, Json>) }
    : {}
}

/**
 * The call's `finish` part (`reason: "unknown"` when no segment had one) with the summed usage and
 * `metadata.conduit`: `provider`, `model`, `streamed`, `chunkCount`, `timeToFirstTokenMs`, `durationMs`, `attempts`,
 * `continuations`, `providerExecutedRounds`, `requestId`, `warnings` (when any), `cost` (`{ amount, currency,
 * unconfirmed }`, see `Cost.costOf`: the summed usage at `pricing`; absent when the price or the usage is unknown),
 * and what the spec's `responseMetadata` reads from the response headers.
 *
 * @since 0.1.0
 */
export const finishWithMetadata = (
  spec: ProviderSpec,
  finish: Response.FinishPartEncoded | undefined,
  state: CallState,
  startedAt: number,
  now: number,
  streamed: boolean,
  modelId: string,
  pricing: Cost.Pricing | undefined
): Response.FinishPartEncoded => {
  const base = finish ?? { type: "finish", reason: "unknown", usage: Usage.toResponseUsage(undefined) }
  const extra = state.headers !== undefined ? spec.responseMetadata?.(state.headers) : undefined
  const conduit: Record<string, Json> = {
    ...conduitOf(base.metadata),
    ...(extra ?? {}),
    provider: spec.name,
    model: modelId,
    streamed,
    chunkCount: state.chunkCount,
    timeToFirstTokenMs: (state.firstChunkAt ?? now) - startedAt,
    durationMs: now - startedAt,
    attempts: state.attempts,
    continuations: state.continuations,
    providerExecutedRounds: state.providerExecutedRounds
  }
  if (state.requestId !== undefined) conduit.requestId = state.requestId
  if (state.warnings.length > 0) conduit.warnings = [...state.warnings]
  const cost = Cost.costOf(state.usage, pricing)
  if (cost !== undefined) conduit.cost = { amount: cost.amount, currency: cost.currency, unconfirmed: cost.unconfirmed }
  return {
    ...base,
    ...(state.usage !== undefined ? { usage: Usage.toResponseUsage(state.usage) } : {}),
    metadata: { ...base.metadata, conduit }
  }
}

/**
 * A `response-metadata` part with `metadata.conduit.provider`, the call's request id and its warnings (when any);
 * other parts unchanged.
 *
 * @since 0.1.0
 */
export const responseMetadataWithRequestId = <P extends Response.PartEncoded | Response.StreamPartEncoded>(
  part: P,
  spec: ProviderSpec,
  state: CallState
): P =>
  part.type === "response-metadata"
    ? ({
        ...part,
        metadata: {
          ...part.metadata,
          conduit: {
            ...conduitOf(part.metadata),
            provider: spec.name,
            ...(state.requestId ? { requestId: state.requestId } : {}),
            ...(state.warnings.length > 0 ? { warnings: [...state.warnings] } : {})
          }
        }
      } as P)
    : part

/**
 * The total-timeout failure of a call (the limit spans retries, continuations and provider-executed rounds).
 *
 * @since 0.1.0
 */
export const totalTimeoutError = (
  spec: ProviderSpec,
  totalMs: number,
  state: CallState,
  method: "generateText" | "streamText"
): AiError.AiError =>
  ProviderError.timeout({
    kind: "total",
    limitMs: totalMs,
    provider: spec.name,
    requestId: state.requestId,
    module: "LanguageModel",
    method
  })
