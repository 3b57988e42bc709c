/**
 * The SSE response of a started engine stream, for any front door: the protocol is an {@link Encoder} (OpenAI
 * `chat.completion.chunk` frames, Anthropic Messages events), everything else is shared.
 *
 * Parts are encoded batch by batch as they are pulled (the socket's backpressure reaches the upstream read). The
 * stream ends with the encoder's closing frames after the finish part; a failure after the response was committed
 * becomes the protocol's final error frame (`server_shutting_down` at the shutdown deadline,
 * `upstream_stream_truncated` when the upstream ends without a finish reason, else the failure's HTTP error); a
 * client that goes away interrupts the pull, which aborts the upstream HTTP request. When the stream ends, however it
 * ends, it closes the engine's stream (as interrupted when the client went away: the session manager counts the request
 * `cancelled`), records the error code (`streamError`) or a client that went away (`clientClosed`) in the log fields
 * and the endpoint's error metric, and reports status 200 through `info.done`.
 */
import { Cause, Effect, Exit, Pull, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import type { GatewayMetrics } from "./Metrics.js"

/** A protocol's stream encoding: frames per part, whether the finish part was seen, the closing and error frames. */
export interface Encoder {
  readonly push: (part: Engine.StreamPart) => string
  readonly finished: () => boolean
  readonly end: () => string
  readonly error: (http: Errors.HttpError) => string
}

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
 * The SSE response of `streaming`. `prefix`: frames sent before the first part's (Anthropic's `message_start`);
 * `endpoint`: the metrics label of stream errors; `headers`: extra response headers.
 */
export const respond = (
  streaming: Engine.Streaming,
  encoder: Encoder,
  options: {
    readonly info: Engine.RequestInfo
    readonly metrics: GatewayMetrics
    readonly endpoint: string
    readonly prefix?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
): HttpServerResponse.HttpServerResponse => {
  const { info, metrics } = options
  const encode = (batch: ReadonlyArray<Engine.StreamPart>): string => {
    let out = ""
    for (const part of batch) out += encoder.push(part)
    return out
  }
  let pending: string | undefined = (options.prefix ?? "") + encode(streaming.first)
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
          if (encoder.finished()) return endWith(encoder.end())
          errorCode = incompleteError.body.error.code ?? "error"
          return endWith(encoder.error(incompleteError))
        }
        const signal = cause.reasons.find(
          (reason) => reason._tag === "Fail" && reason.error instanceof Engine.ShuttingDown
        )
        if (signal !== undefined) {
          errorCode = "server_shutting_down"
          return endWith(encoder.error(shutdownError))
        }
        if (Cause.hasInterruptsOnly(cause)) return Effect.failCause(cause)
        const { http, known, detail } = Errors.fromCause(cause)
        errorCode = http.body.error.code ?? http.body.error.type
        const log = known
          ? Effect.logWarning("stream failed after it started").pipe(
              Effect.annotateLogs({
                requestId: info.requestId,
                code: errorCode,
                error: detail ?? http.body.error.message
              })
            )
          : Effect.logError("stream failed unexpectedly", cause).pipe(
              Effect.annotateLogs({ requestId: info.requestId })
            )
        return Effect.andThen(log, endWith(encoder.error(http)))
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
    Stream.onExit((exit) => {
      const clientLeft = errorCode === undefined && (Exit.isFailure(exit) || !ended)
      return Effect.andThen(
        streaming.close(clientLeft),
        Effect.suspend(() => {
          if (errorCode !== undefined) {
            info.fields.streamError = errorCode
            metrics.error(options.endpoint, errorCode)
          } else if (clientLeft) {
            info.fields.clientClosed = true
          }
          return info.done(200)
        })
      )
    })
  )
  return HttpServerResponse.stream(body as Stream.Stream<Uint8Array>, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      "x-request-id": info.requestId,
      "x-conduit-provider": streaming.provider,
      "x-conduit-attempts": String(streaming.attempts),
      ...options.headers
    }
  })
}
