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
import { HttpServerResponse } from "effect/http"
import * as ChatCompletionEncoder from "./ChatCompletionEncoder.js"
import type * as Engine from "./Engine.js"
import * as EventStream from "./EventStream.js"
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

/**
 * The SSE response of a started stream (see `EventStream.respond`). `includeUsage`: end with the `choices: []` usage
 * chunk; `builtinTools`: the built-in tools the request declared (their streamed calls are held, see
 * `ChatCompletionEncoder`).
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
  return EventStream.respond(
    streaming,
    {
      push: encoder.push,
      finished: encoder.finished,
      end: () => encoder.end(params.includeUsage),
      error: ChatCompletionEncoder.errorEvent
    },
    { info, metrics, endpoint: "chat" }
  )
}
