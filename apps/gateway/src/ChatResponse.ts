/**
 * The HTTP answer of a chat completion: one `chat.completion` JSON ({@link json}), or a `chat.completion.chunk` SSE
 * stream ({@link sse}).
 *
 * A stream's response is committed once the engine has its first part. From there, parts are encoded batch by
 * batch as they are pulled (the socket's backpressure reaches the upstream read); a failure becomes a final
 * `event: error` frame without `[DONE]` (`server_shutting_down` at the shutdown deadline, `upstream_stream_truncated`
 * when the upstream ends without a finish reason), and a client that goes away interrupts the pull, which aborts the
 * upstream HTTP request.
 *
 * Headers: `x-request-id`, `x-conduit-provider` (the provider that answered), `x-conduit-attempts` (upstream
 * attempts; for a stream, those made before its first part).
 */
import type { ChatCompletions } from "@conduitkit/core"
import { Cause, Effect, Exit, Pull, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import * as ChatCompletionEncoder from "./ChatCompletionEncoder.js"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import type { GatewayMetrics } from "./Metrics.js"

/** What identifies a response: `id` (`chatcmpl-...`), `created` (seconds since the epoch), the model name asked for. */
export interface Envelope {
  readonly id: string
  readonly created: number
  readonly model: string
}

/** The `chat.completion` JSON of a finished answer. */
export const json = (
  answer: Engine.Answer,
  envelope: Envelope,
  requestId: string
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(JSON.stringify(ChatCompletionEncoder.completion({ ...envelope, summary: answer.summary })), {
    headers: {
      "content-type": "application/json",
      "x-request-id": requestId,
      "x-conduit-provider": answer.provider,
      "x-conduit-attempts": String(answer.attempts)
    }
  })

const shutdownError = Errors.httpError(
  503,
  "The gateway is shutting down; the stream was stopped. Retry the request.",
  "server_error",
  "server_shutting_down"
)

const incompleteError = Errors.httpError(
  502,
  "The upstream stream ended without a finish reason: the answer is incomplete.",
  "upstream_error",
  "upstream_stream_truncated"
)

type Frames = readonly [Uint8Array, ...Array<Uint8Array>]

const frames = (text: string): Frames => [Buffer.from(text, "utf8")]

/**
 * The SSE response of a started stream. `includeUsage`: end with the `choices: []` usage chunk; `builtinTools`: the
 * built-in tools the request declared (their streamed calls are held, see `ChatCompletionEncoder`). When the stream
 * ends, however it ends, it closes the engine's stream, records the error code (`streamError`) or a client that went
 * away (`clientClosed`) in the log fields and the `chat` error metric, and reports status 200 through `info.done`.
 */
export const sse = (
  streaming: Engine.Streaming,
  params: Envelope & {
    readonly includeUsage: boolean
    readonly builtinTools: ReadonlyArray<ChatCompletions.RequestTool>
  },
  info: Engine.RequestInfo,
  metrics: GatewayMetrics
): HttpServerResponse.HttpServerResponse => {
  const encoder = ChatCompletionEncoder.makeStreamEncoder({
    id: params.id,
    created: params.created,
    model: params.model,
    builtinTools:
      params.builtinTools.length > 0 ? ChatCompletionEncoder.builtinToolNames(params.builtinTools) : undefined
  })
  const encode = (batch: ReadonlyArray<Engine.StreamPart>): string => {
    let out = ""
    for (const part of batch) out += encoder.push(part)
    return out
  }
  let pending: string | undefined = encode(streaming.first)
  let ended = false
  let errorCode: string | undefined

  const endWith = (frame: string) => {
    ended = true
    return Effect.succeed(frames(frame))
  }
  const next = (): Effect.Effect<Frames, Cause.Done | unknown> =>
    Effect.matchCauseEffect(streaming.pull, {
      onSuccess: (batch) => {
        const text = encode(batch)
        return text === "" ? next() : Effect.succeed(frames(text))
      },
      onFailure: (cause) => {
        if (Pull.isDoneCause(cause)) {
          if (encoder.finished()) return endWith(encoder.end(params.includeUsage))
          errorCode = incompleteError.body.error.code ?? "error"
          return endWith(ChatCompletionEncoder.errorEvent(incompleteError))
        }
        const signal = cause.reasons.find(
          (reason) => reason._tag === "Fail" && reason.error instanceof Engine.ShuttingDown
        )
        if (signal !== undefined) {
          errorCode = "server_shutting_down"
          return endWith(ChatCompletionEncoder.errorEvent(shutdownError))
        }
        if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
        const { http, known } = Errors.fromCause(cause)
        errorCode = http.body.error.code ?? http.body.error.type
        const log = known
          ? Effect.logWarning("stream failed after it started").pipe(
              Effect.annotateLogs({ requestId: info.requestId, code: errorCode, error: http.body.error.message })
            )
          : Effect.logError("stream failed unexpectedly", cause).pipe(
              Effect.annotateLogs({ requestId: info.requestId })
            )
        return Effect.andThen(log, endWith(ChatCompletionEncoder.errorEvent(http)))
      }
    })
  const pull = Effect.suspend(() => {
    if (pending !== undefined) {
      const text = pending
      pending = undefined
      if (text !== "") return Effect.succeed(frames(text))
    }
    if (ended) return Cause.done()
    return next()
  })
  const body = Stream.fromPull(Effect.succeed(pull)).pipe(
    Stream.onExit((exit) =>
      Effect.andThen(
        streaming.close,
        Effect.suspend(() => {
          if (errorCode !== undefined) {
            info.fields.streamError = errorCode
            metrics.error("chat", errorCode)
          } else if (Exit.isFailure(exit) || !ended) {
            info.fields.clientClosed = true
          }
          return info.done(200)
        })
      )
    )
  )
  return HttpServerResponse.stream(body as Stream.Stream<Uint8Array>, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      "x-request-id": info.requestId,
      "x-conduit-provider": streaming.provider,
      "x-conduit-attempts": String(streaming.attempts)
    }
  })
}
