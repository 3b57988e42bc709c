/**
 * One segment of a streamed call: one upstream request (with its retries) as a `Channel` of part batches that ends
 * with the segment's summary, so the orchestration in `OpenAiCompatLanguageModel` hands the summary to the
 * `RoundPolicy` without a shared mutable result. Per batch of chunks the work is the assembler's plus one pass that
 * suffixes ids, marks provider-executed calls and gathers the summary.
 *
 * @since 0.1.0
 */
import { Channel, Clock, Effect, Result, Stream } from "effect"
import type * as Arr from "effect/Array"
import type { AiError, Response } from "effect/ai"
import * as CallMetadata from "./CallMetadata.js"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as Deadline from "./internal/deadline.js"
import type { OpenAiCompatClientShape } from "./OpenAiCompatClient.js"
import * as ProviderError from "./ProviderError.js"
import { finishFailureFor, type ProviderExecutedToolCall, type ProviderSpec } from "./ProviderSpec.js"
import type * as RequestBuilder from "./RequestBuilder.js"
import * as ResponseConversion from "./ResponseConversion.js"
import * as RetryPolicy from "./RetryPolicy.js"
import type * as RoundPolicy from "./RoundPolicy.js"
import * as Tracing from "./Tracing.js"

/**
 * A non-empty batch of stream parts, as a `Channel` of a `Stream` emits them.
 *
 * @since 0.1.0
 */
export type Batch = Arr.NonEmptyReadonlyArray<Response.StreamPartEncoded>

/**
 * A stream segment's summary for the round policy, with the `finish` part it held back (the call's last one gets
 * the call's metadata).
 *
 * @since 0.1.0
 */
export interface StreamSegmentSummary extends RoundPolicy.SegmentSummary {
  readonly finish: Response.FinishPartEncoded | undefined
}

/** Maps every non-empty batch of a stream to a (possibly empty) batch, dropping empty results. */
const mapBatches = <A, B, E, R>(
  self: Stream.Stream<A, E, R>,
  f: (batch: ReadonlyArray<A>) => ReadonlyArray<B>
): Stream.Stream<B, E, R> =>
  Stream.transformPull(self, (pull) =>
    Effect.succeed(
      Effect.gen(function* () {
        while (true) {
          const out = f(yield* pull)
          if (out.length > 0) return out as unknown as readonly [B, ...Array<B>]
        }
      })
    )
  )

/**
 * A channel that emits `parts` as one batch (when there are any), then ends with `done`.
 *
 * @since 0.1.0
 */
export const emitThenEnd = <D>(
  parts: ReadonlyArray<Response.StreamPartEncoded>,
  done: D
): Channel.Channel<Batch, never, D> =>
  parts.length > 0 ? Channel.concatWith(Channel.succeed(parts as Batch), () => Channel.end(done)) : Channel.end(done)

/**
 * One streamed request with its retries (only while nothing was emitted): its parts batch by batch as they arrive,
 * ending with the segment's summary. The response-metadata part is held back until the first output (so an attempt
 * that fails before any output can be retried) and dropped for segments after the first, whose part ids get a
 * `-c<segment>` suffix; tool calls of provider-executed tools are marked `providerExecuted`; the `finish` part is
 * held back for the summary. Fails with the transport's `AiError`s, the assembler's (a stream cut short), or the
 * spec's finish failure.
 *
 * @since 0.1.0
 */
export const streamSegment = (
  spec: ProviderSpec,
  client: OpenAiCompatClientShape,
  resolved: RequestBuilder.ResolvedCall,
  request: ChatCompletions.WireRequest,
  state: CallMetadata.CallState,
  deadline: Deadline.Deadline | undefined,
  segment: number,
  onAttempt: ((attempt: number) => void) | undefined
): Channel.Channel<Batch, AiError.AiError, StreamSegmentSummary> => {
  let emitted = false
  let retryDelayMs: number | undefined
  const attempt = (traced: Tracing.AttemptSpan | undefined) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const chat = yield* client.streamChatCompletion(
        request,
        { firstTokenMs: resolved.timeouts.firstTokenMs, idleMs: resolved.timeouts.idleMs, deadline },
        traced === undefined ? resolved.headers : traced.headers(resolved.headers)
      )
      state.headers ??= chat.headers
      const assembler = ResponseConversion.makeAssembler({
        toolNames: resolved.toolNames,
        finishReasons: spec.finishReasons,
        extraParts: spec.extraParts
      })
      const tracker = makeTracker(spec, resolved, state, segment, () => chat.requestId())
      // The response-metadata part is held back until the first part of output: an attempt that fails before any
      // output (a finish failure at once, a cut connection) has emitted nothing and can still be retried.
      const held: Array<Response.StreamPartEncoded> = []
      const release = (out: Array<Response.StreamPartEncoded>): Array<Response.StreamPartEncoded> => {
        if (emitted) return out
        if (out.every((part) => part.type === "response-metadata")) {
          held.push(...out)
          return []
        }
        emitted = true
        state.firstChunkAt ??= clock.currentTimeMillisUnsafe()
        traced?.firstToken()
        return held.length > 0 ? [...held.splice(0), ...out] : out
      }
      const body = mapBatches(chat.chunks, (chunks) => {
        const parts: Array<Response.StreamPartEncoded> = []
        for (const chunk of chunks) parts.push(...assembler.push(chunk))
        state.chunkCount += chunks.length
        return release(tracker.track(parts))
      })
      const tail = Effect.suspend(() => {
        const finished = assembler.finish()
        if (Result.isFailure(finished)) return Effect.fail(finished.failure)
        const assembled = assembler.state()
        const failing = finishFailureFor(spec, assembled.finishReason, assembled.sawContent)
        if (failing !== undefined) {
          return Effect.fail(
            ProviderError.finishFailure({
              provider: spec.name,
              finishReason: assembled.finishReason!,
              rule: failing,
              requestId: chat.requestId()
            })
          )
        }
        CallMetadata.addUsage(state, assembled.usage)
        const out = [...held.splice(0), ...tracker.track(finished.success)]
        if (out.length > 0) emitted = true
        const summary = tracker.summary(assembled.finishReason)
        traced?.succeed({
          id: assembled.responseId,
          model: assembled.model,
          finishReasons: assembled.finishReason !== undefined ? [assembled.finishReason] : undefined,
          usage: assembled.usage,
          output: { text: summary.text, reasoning: summary.reasoning }
        })
        return Effect.succeed(emitThenEnd(out, summary))
      })
      return Channel.concatWith(Stream.toChannel(body), () => Channel.unwrap(tail))
    })
  // each attempt in its span (see `Tracing`), ended when the attempt's channel ends, however it ends
  const start = Effect.suspend(() => {
    state.attempts++
    onAttempt?.(state.attempts)
    const info = {
      provider: spec.name,
      baseURL: client.config.baseURL,
      request,
      streaming: true,
      attempt: state.attempts,
      retryDelayMs
    }
    retryDelayMs = undefined
    return Effect.flatMap(Tracing.startAttempt(info), (traced) =>
      traced === undefined
        ? attempt(undefined)
        : Effect.succeed(Channel.onExit(Channel.unwrap(attempt(traced)), (exit) => Effect.sync(() => traced.end(exit))))
    )
  })
  // No attempt starts once the call's deadline passed (after a retry's sleep, for a later segment's request): the call
  // fails with its total timeout instead.
  const once = Channel.unwrap(
    deadline === undefined
      ? start
      : Effect.suspend(() =>
          Deadline.passed(deadline)
            ? Effect.fail(CallMetadata.totalTimeoutError(spec, deadline.totalMs, state, "streamText"))
            : start
        )
  )
  if (resolved.retry.maxRetries <= 0) return once
  return Channel.retry(
    once,
    RetryPolicy.schedule(resolved.retry, {
      while: () => !emitted,
      onRetry: ({ delayMs }) => {
        retryDelayMs = delayMs
      },
      // a retry's sleep ends at the deadline, where the next attempt fails with the total timeout unsent
      ...Deadline.retrySleep(deadline)
    })
  )
}

/**
 * Follows one stream attempt's parts: suffixes the ids of a later segment's parts, marks provider-executed tool
 * calls, holds the `finish` part back, and gathers what the segment's summary needs.
 */
const makeTracker = (
  spec: ProviderSpec,
  resolved: RequestBuilder.ResolvedCall,
  state: CallMetadata.CallState,
  segment: number,
  requestId: () => string | undefined
) => {
  let text = ""
  let reasoning = ""
  let finish: Response.FinishPartEncoded | undefined
  const toolCalls: Array<Response.ToolCallPartEncoded> = []
  const wireCalls = new Map<string, ProviderExecutedToolCall>()
  const providerExecuted = (name: string) => spec.providerExecutedTools?.names.includes(name) === true
  const track = (parts: ReadonlyArray<Response.StreamPartEncoded>): Array<Response.StreamPartEncoded> => {
    const out: Array<Response.StreamPartEncoded> = []
    for (const raw of parts) {
      let part = raw
      switch (part.type) {
        case "response-metadata":
          if (segment > 0) continue
          state.requestId ??= requestId()
          part = CallMetadata.responseMetadataWithRequestId(part, spec, state)
          break
        case "text-start":
        case "text-end":
        case "reasoning-start":
        case "reasoning-end":
          if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
          break
        case "text-delta":
          text += part.delta
          if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
          break
        case "reasoning-delta":
          reasoning += part.delta
          if (segment > 0) part = { ...part, id: `${part.id}-c${segment}` }
          break
        case "tool-params-start": {
          const name = resolved.toolNames.getProviderName(part.name)
          wireCalls.set(part.id, { id: part.id, name, arguments: "" })
          if (providerExecuted(name)) part = { ...part, providerExecuted: true }
          break
        }
        case "tool-params-delta": {
          const call = wireCalls.get(part.id)
          if (call !== undefined) wireCalls.set(part.id, { ...call, arguments: call.arguments + part.delta })
          break
        }
        case "tool-call":
          toolCalls.push(part)
          if (providerExecuted(resolved.toolNames.getProviderName(part.name)))
            part = { ...part, providerExecuted: true }
          break
        case "finish":
          finish = part
          continue
        default:
          break
      }
      out.push(part)
    }
    return out
  }
  const summary = (rawFinishReason: string | undefined): StreamSegmentSummary => ({
    text,
    reasoning,
    rawFinishReason,
    toolCalls,
    wireToolCalls: [...wireCalls.values()],
    toolCallsComplete: rawFinishReason === "tool_calls",
    finish
  })
  return { track, summary }
}
