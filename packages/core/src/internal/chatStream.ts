/**
 * Reading a chat stream's body, in plain promise code: one implementation shared by the stream
 * (`OpenAiCompatClient.streamChatCompletion`, pulled batch by batch) and the non-stream answer assembled from a stream
 * (`OpenAiCompatClient.assembleChatCompletion`, read to its end in one loop).
 *
 * - {@link readBatch}: reads until the SSE decoder yields events or the body ends (1-byte TCP writes cost a read
 *   each, not a step of the caller each).
 * - {@link guardEvents}: each event's JSON checked as a chunk, an error frame inside a 200 stream reported, `[DONE]`,
 *   finish reasons and the first token noted in the {@link StreamState}.
 * - {@link limitFor} and {@link within}: the first-token, idle and total bounds as one `setTimeout` per wait (an
 *   Effect timeout races two forked fibers per wait, the larger part of what a stream read cost).
 *
 * Reading stays in promise code, so how finely the bytes are split (1-byte TCP writes cost a read each) does not add
 * steps for the caller.
 *
 * @internal
 */

import { Predicate, Schema } from "effect"
import type { AiError } from "effect/ai"
import * as ChatCompletions from "../ChatCompletions.js"
import type * as ProviderError from "../ProviderError.js"
import type * as Sse from "../Sse.js"

/** What a stream's reader knows so far (mutated as the stream is read). */
export interface StreamState {
  chunkCount: number
  /** From the headers, else the request's own id, else the first chunk that carries one. */
  requestId: string | undefined
  /** The body was read to its end (nothing to abort). */
  ended: boolean
  sawDone: boolean
  sawFinish: boolean
  /**
   * A chunk carried a token (text, reasoning, a tool call or a finish reason); the first-token limit runs until then,
   * not merely until the first data event: a stream that opens with a role-only chunk and stalls has not started.
   */
  sawToken: boolean
}

/** A fresh state. */
export const newState = (requestId: string | undefined): StreamState => ({
  chunkCount: 0,
  requestId,
  ended: false,
  sawDone: false,
  sawFinish: false,
  sawToken: false
})

/** Whether the stream ended without `[DONE]` and without a finish reason (an incomplete answer). */
export const isTruncated = (state: StreamState): boolean => state.ended && !state.sawDone && !state.sawFinish

/** What {@link guardEvents} needs from its transport. */
export interface GuardContext {
  readonly headers: Readonly<Record<string, string>>
  /** An error sent inside a 200 stream, through the provider's error table. */
  readonly errorIn200: (
    json: unknown,
    headers: Readonly<Record<string, string>>,
    requestId: string | undefined
  ) => AiError.AiError
  readonly invalid: (description: string, requestId: string | undefined) => AiError.AiError
  /** The provider's request id in a chunk, if it carries one. */
  readonly chunkRequestId: (chunk: ChatCompletions.ChatCompletionChunk) => string | undefined
}

const isErrorBodySchema = Schema.is(ChatCompletions.ErrorBody)

/** Runs on every stream chunk: the Schema check only when there is an `error` object to check. */
export const isErrorBody = (json: unknown): boolean =>
  Predicate.isObject(json) && Predicate.isObject((json as { error?: unknown }).error) && isErrorBodySchema(json)

/** Why `value` does not decode as `schema` (for error messages). */
export const describeInvalid = (schema: Schema.Top, value: unknown): string => {
  const exit = Schema.decodeUnknownExit(schema as Schema.Codec<unknown, unknown>)(value)
  return exit._tag === "Failure" ? String(exit.cause) : "unknown shape"
}

/** Whether a chunk carries a token: non-empty text or reasoning, or a tool-call fragment. */
const hasToken = (chunk: ChatCompletions.ChatCompletionChunk): boolean => {
  for (const choice of chunk.choices ?? []) {
    const delta = choice.delta
    if (delta === undefined || delta === null) continue
    if (delta.content || delta.reasoning_content || delta.reasoning) return true
    if (delta.tool_calls !== undefined && delta.tool_calls !== null && delta.tool_calls.length > 0) return true
  }
  return false
}

/**
 * Checks the events of one batch and appends their chunks to `out` (events after `[DONE]` are ignored). Returns the
 * error that ends the stream (an event that is not JSON, an error frame, a chunk that does not decode), else
 * `undefined`.
 */
export const guardEvents = (
  events: ReadonlyArray<Sse.SseEvent>,
  state: StreamState,
  context: GuardContext,
  out: Array<ChatCompletions.ChatCompletionChunk>
): AiError.AiError | undefined => {
  for (const event of events) {
    if (state.sawDone) break
    const data = event.data.trim()
    if (data === "[DONE]") {
      state.sawDone = true
      break
    }
    if (data === "") continue
    let json: unknown
    try {
      json = JSON.parse(data)
    } catch {
      return context.invalid(
        `a stream event is not JSON: ${data.length > 200 ? `${data.slice(0, 200)}…` : data}`,
        state.requestId
      )
    }
    if (event.event === "error" || isErrorBody(json)) return context.errorIn200(json, context.headers, state.requestId)
    if (!ChatCompletions.isChatCompletionChunk(json)) {
      return context.invalid(
        `a stream chunk does not decode: ${describeInvalid(ChatCompletions.ChatCompletionChunk, json)}`,
        state.requestId
      )
    }
    const chunk = json as unknown as ChatCompletions.ChatCompletionChunk
    state.chunkCount++
    if (state.requestId === undefined) state.requestId = context.chunkRequestId(chunk)
    if (chunk.choices?.some((c) => typeof c.finish_reason === "string" && c.finish_reason !== "")) {
      state.sawFinish = true
    }
    if (!state.sawToken) state.sawToken = state.sawFinish || hasToken(chunk)
    out.push(chunk)
  }
  return undefined
}

/** One read's outcome: events (possibly none, at the end of the body) or an event stream that is malformed. */
export type Batch =
  | { readonly _tag: "Events"; readonly events: Array<Sse.SseEvent>; readonly truncatedLine: boolean }
  | { readonly _tag: "Malformed"; readonly error: unknown }

/**
 * Reads until the decoder yields events or the body ends (then `state.ended`). Rejects when the connection fails; a
 * wait given up (`stop`) ends at its next read (with no events).
 */
export const readBatch = async (
  reader: ReadableStreamDefaultReader<Uint8Array>,
  decoder: Sse.Decoder,
  state: StreamState,
  stop: { readonly aborted: boolean }
): Promise<Batch> => {
  while (!stop.aborted) {
    const next = await reader.read()
    if (stop.aborted) break
    try {
      if (next.done) {
        state.ended = true
        const tail = decoder.end()
        return { _tag: "Events", events: tail.events, truncatedLine: tail.truncatedLine }
      }
      const events = decoder.push(next.value)
      if (events.length > 0) return { _tag: "Events", events, truncatedLine: false }
    } catch (error) {
      return { _tag: "Malformed", error }
    }
  }
  return { _tag: "Events", events: [], truncatedLine: false }
}

/** The bound on one wait. */
export interface Limit {
  readonly kind: ProviderError.TimeoutKind
  /** Time left, in ms, from now. */
  readonly ms: number
  /** The configured value, for the message. */
  readonly limitMs: number
}

/** Per-attempt bounds (see `OpenAiCompatClient.StreamLimits`). */
export interface Limits {
  readonly firstTokenMs?: number | undefined
  readonly idleMs?: number | undefined
  readonly deadline?: { readonly at: number; readonly totalMs: number } | undefined
}

/** The tightest applicable limit for the next wait: time left in ms from `now` (Clock ms). */
export const limitFor = (
  limits: Limits,
  startedAt: number,
  lastDataAt: number,
  started: boolean,
  now: number
): Limit | undefined => {
  let tightest: Limit | undefined
  const consider = (kind: ProviderError.TimeoutKind, at: number, limitMs: number) => {
    const ms = at - now
    if (tightest === undefined || ms < tightest.ms) tightest = { kind, ms, limitMs }
  }
  if (!started && limits.firstTokenMs !== undefined) {
    consider("firstToken", startedAt + limits.firstTokenMs, limits.firstTokenMs)
  }
  if (started && limits.idleMs !== undefined) consider("idle", lastDataAt + limits.idleMs, limits.idleMs)
  if (limits.deadline !== undefined) consider("total", limits.deadline.at, limits.deadline.totalMs)
  return tightest
}

/** What a wait gives when its limit passed first. */
export const timedOut: unique symbol = Symbol("timedOut")

/** Whether a wait was given up (its limit passed, or its caller went away): a read in flight stops at its next chunk. */
export interface Stop {
  aborted: boolean
}

/** How a wait ended. */
export type Outcome<A> =
  | { readonly _tag: "Success"; readonly value: A | typeof timedOut }
  | { readonly _tag: "Failure"; readonly error: unknown }

/**
 * Starts `run` under `limit` (`undefined`: no limit) with one `setTimeout`, and calls `done` once: with `run`'s
 * outcome, or {@link timedOut} once the limit passed (then `run`'s {@link Stop} says so). Returns the function that
 * gives the wait up (no `done` call after it). No AbortController and no Effect fiber per wait: an
 * `Effect.timeoutOrElse` races two forked fibers, the larger part of what a stream read cost.
 */
export const within = <A>(
  run: (stop: Stop) => Promise<A>,
  limit: Limit | undefined,
  done: (outcome: Outcome<A>) => void
): (() => void) => {
  const stop: Stop = { aborted: false }
  const timer =
    limit === undefined
      ? undefined
      : setTimeout(
          () => {
            if (stop.aborted) return
            stop.aborted = true
            done({ _tag: "Success", value: timedOut })
          },
          Math.max(0, limit.ms)
        )
  run(stop).then(
    (value) => {
      if (stop.aborted) return
      stop.aborted = true
      clearTimeout(timer)
      done({ _tag: "Success", value })
    },
    (error: unknown) => {
      if (stop.aborted) return
      stop.aborted = true
      clearTimeout(timer)
      done({ _tag: "Failure", error })
    }
  )
  return () => {
    stop.aborted = true
    clearTimeout(timer)
  }
}

/** {@link within} as a promise; `signal` aborting gives the wait up and rejects with the signal's reason. */
export const withinSignal = <A>(
  run: (stop: Stop) => Promise<A>,
  limit: Limit | undefined,
  signal: AbortSignal
): Promise<A | typeof timedOut> =>
  new Promise((resolve, reject) => {
    const onAbort = () => {
      giveUp()
      reject(signal.reason)
    }
    const giveUp = within(run, limit, (outcome) => {
      signal.removeEventListener("abort", onAbort)
      if (outcome._tag === "Success") resolve(outcome.value)
      else reject(outcome.error)
    })
    if (signal.aborted) onAbort()
    else signal.addEventListener("abort", onAbort, { once: true })
  })
