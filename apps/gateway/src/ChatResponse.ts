/**
 * The HTTP answer of a chat completion: one `chat.completion` JSON ({@link json}), or a `chat.completion.chunk` SSE
 * stream ({@link sse}, on the shared `EventStream` responder).
 *
 * A stream's response is committed once the engine has its first part. From there, parts are encoded batch by
 * batch as they are pulled; a failure becomes a final `data: {"error": ...}` frame without `[DONE]` (see
 * `ChatCompletionEncoder.errorEvent`), and a client that goes away interrupts the pull, which aborts the upstream
 * HTTP request.
 *
 * Headers: `x-request-id`, `x-conduit-requested-model` (the model name the client sent, e.g. an alias; the body's
 * `model` is the model that answered, as OpenAI reports it), `x-conduit-provider` (the provider that answered),
 * `x-conduit-attempts` (upstream attempts; for a stream, those made before its first part),
 * `x-conduit-warnings` when core adapted the request (see `Engine.warningHeaders`), and `x-conduit-cost` on a JSON
 * answer whose cost is known (`<amount> <currency>`, e.g. `0.0492 USD`: core's `Cost.format`; absent when the price is
 * unknown or the answer came from the response cache or a replay, which spent nothing upstream). A stream's cost comes
 * after its headers: in the final usage chunk (`stream_options.include_usage`) as `"conduit": {"cost": {...}}`.
 */
import type { ChatCompletions } from "@conduitkit/core"
import { HttpServerResponse } from "effect/http"
import * as ChatCompletionEncoder from "./ChatCompletionEncoder.js"
import * as Engine from "./Engine.js"
import * as EventStream from "./EventStream.js"
import type { GatewayMetrics } from "./Metrics.js"

/** What identifies a response: `id` (`chatcmpl-...`), `created` (seconds since the epoch), the model name asked for. */
export interface Envelope {
  readonly id: string
  readonly created: number
  readonly model: string
}

/** The requested model name as a header value (printable ASCII, at most 200 characters; else percent-encoded). */
const requestedModel = (model: string): string =>
  /^[\x20-\x7e]*$/.test(model) ? model.slice(0, 200) : encodeURIComponent(model.slice(0, 200))

/** The `chat.completion` JSON of a finished answer; `model` is the model that answered (`Engine.Answer.model`). */
export const json = (
  answer: Engine.Answer,
  envelope: Envelope,
  info: Engine.RequestInfo
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(
    JSON.stringify(
      ChatCompletionEncoder.completion({
        id: envelope.id,
        created: envelope.created,
        model: answer.model,
        summary: answer.summary
      })
    ),
    {
      headers: {
        "content-type": "application/json",
        "x-request-id": info.requestId,
        "x-conduit-requested-model": requestedModel(envelope.model),
        "x-conduit-provider": answer.provider,
        "x-conduit-attempts": String(answer.attempts),
        ...Engine.warningHeaders(answer.summary.metadata.warnings, info),
        ...Engine.costHeaders(answer.cost)
      }
    }
  )

/**
 * The SSE response of a started stream. `includeUsage`: end with the `choices: []` usage chunk; `providerExecutedTools`: the
 * provider-executed tools the request declared (their streamed calls are held, see `ChatCompletionEncoder`). Stream errors
 * count in the `chat` error metric.
 */
export const sse = (
  streaming: Engine.Streaming,
  params: Envelope & {
    readonly includeUsage: boolean
    readonly providerExecutedTools: ReadonlyArray<ChatCompletions.RequestTool>
  },
  info: Engine.RequestInfo,
  metrics: GatewayMetrics
): HttpServerResponse.HttpServerResponse => {
  const encoder = ChatCompletionEncoder.makeStreamEncoder({
    id: params.id,
    created: params.created,
    model: params.model,
    providerExecutedTools:
      params.providerExecutedTools.length > 0
        ? ChatCompletionEncoder.providerExecutedToolNames(params.providerExecutedTools)
        : undefined
  })
  return EventStream.respond(
    streaming,
    {
      push: encoder.push,
      finished: encoder.finished,
      end: () => encoder.end(params.includeUsage, streaming.cost()),
      error: ChatCompletionEncoder.errorEvent
    },
    {
      info,
      metrics,
      endpoint: "chat",
      headers: {
        "x-conduit-requested-model": requestedModel(params.model),
        ...Engine.warningHeaders(streaming.warnings, info)
      }
    }
  )
}
