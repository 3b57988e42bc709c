/**
 * Folds `effect/ai` response parts (a non-streaming response's parts, or every part of a stream) into one
 * summary: text, reasoning, tool calls, sources, finish reason, normalized usage and Conduit's metadata. Both paths
 * give the same shape; `metadata.streamed` tells them apart.
 *
 * @since 0.1.0
 */
import { Effect, Stream } from "effect"
import type { AiError, Response } from "effect/ai"
import * as Cost from "./Cost.js"
import * as Usage from "./Usage.js"

/**
 * Conduit's response metadata (from the `finish` part's `metadata.conduit`). Times in ms.
 *
 * @since 0.1.0
 */
export interface ResponseMetadata {
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly requestId?: string | undefined
  readonly responseId?: string | undefined
  readonly streamed: boolean
  readonly chunkCount: number
  readonly timeToFirstTokenMs?: number | undefined
  readonly durationMs?: number | undefined
  readonly attempts?: number | undefined
  readonly continuations?: number | undefined
  readonly providerExecutedRounds?: number | undefined
  readonly rawFinishReason?: string | undefined
  readonly lengthInReasoning?: boolean | undefined
  readonly cache?: string | undefined
  /**
   * What Conduit adapted in the request, or the caller should know (a model marked retired, thinking switched off
   * for a forced tool choice...); empty when nothing. The same list as the parts' `metadata.conduit.warnings`.
   */
  readonly warnings: ReadonlyArray<string>
  /** Every other field the provider or cache added (e.g. Kimi's `contextCacheTokensSaved`). */
  readonly [key: string]: unknown
}

/**
 * A tool call of a response. `params` are the decoded arguments.
 *
 * @since 0.1.0
 */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly params: unknown
  readonly providerExecuted: boolean
}

/**
 * A source the model cited (web-search results).
 *
 * @since 0.1.0
 */
export interface Source {
  readonly id: string
  readonly url?: string | undefined
  readonly title: string
  readonly metadata?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The summary.
 *
 * @since 0.1.0
 */
export interface Summary {
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly sources: ReadonlyArray<Source>
  readonly finishReason: Response.FinishReason
  readonly usage: Usage.TokenUsage
  /**
   * What the response cost upstream (`Cost.costOf` of `usage` at the model's price, see `Cost.spent`); absent when the
   * price is unknown or the answer was replayed (response cache, idempotency key), which spent nothing.
   */
  readonly cost?: Cost.Cost | undefined
  readonly metadata: ResponseMetadata
}

type AnyPart = Response.AnyPart | Response.AnyPartEncoded

const costField = (conduit: Readonly<Record<string, unknown>>): { readonly cost?: Cost.Cost } => {
  const cost = Cost.spent(conduit)
  return cost === undefined ? {} : { cost }
}

/**
 * Folds parts (decoded or encoded; streaming or not) into a {@link Summary}.
 *
 * @since 0.1.0
 */
export const fromParts = (parts: Iterable<AnyPart>): Summary => {
  let text = ""
  let reasoning = ""
  const toolCalls: Array<ToolCall> = []
  const sources: Array<Source> = []
  let finishReason: Response.FinishReason = "unknown"
  let usage = Usage.zero
  let metadata: Record<string, unknown> = {}
  let responseId: string | undefined
  let sawDeltaText = false
  let sawDeltaReasoning = false
  for (const part of parts) {
    switch (part.type) {
      case "text-delta":
        sawDeltaText = true
        text += part.delta
        break
      case "text":
        if (!sawDeltaText) text += part.text
        break
      case "reasoning-delta":
        sawDeltaReasoning = true
        reasoning += part.delta
        break
      case "reasoning":
        if (!sawDeltaReasoning) reasoning += part.text
        break
      case "tool-call":
        toolCalls.push({
          id: part.id,
          name: part.name,
          params: part.params,
          providerExecuted: part.providerExecuted === true
        })
        break
      case "source":
        sources.push({
          id: part.id,
          title: part.title,
          ...(part.sourceType === "url" ? { url: String(part.url) } : {}),
          ...(part.metadata !== undefined ? { metadata: part.metadata } : {})
        })
        break
      case "response-metadata":
        responseId ??= part.id
        break
      case "finish": {
        finishReason = part.reason
        usage = Usage.fromResponseUsage(part.usage)
        const conduit = part.metadata?.conduit
        if (typeof conduit === "object" && conduit !== null) metadata = { ...(conduit as Record<string, unknown>) }
        break
      }
      default:
        break
    }
  }
  return {
    text,
    reasoning,
    toolCalls,
    sources,
    finishReason,
    usage,
    ...costField(metadata),
    metadata: {
      ...metadata,
      streamed: metadata.streamed === true,
      chunkCount: typeof metadata.chunkCount === "number" ? metadata.chunkCount : 0,
      warnings: Array.isArray(metadata.warnings)
        ? metadata.warnings.filter((warning): warning is string => typeof warning === "string")
        : [],
      ...(responseId !== undefined ? { responseId } : {})
    }
  }
}

/**
 * Runs a stream of parts to its end and summarizes it.
 *
 * @since 0.1.0
 */
export const collect = <P extends AnyPart, R>(
  stream: Stream.Stream<P, AiError.AiError, R>
): Effect.Effect<Summary, AiError.AiError, R> =>
  Stream.runFold(
    stream,
    () => [] as Array<P>,
    (acc, part) => {
      acc.push(part)
      return acc
    }
  ).pipe(Effect.map(fromParts))
