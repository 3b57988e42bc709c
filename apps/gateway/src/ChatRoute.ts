/**
 * `POST /v1/chat/completions`, the OpenAI Chat Completions front door: parse, run, respond.
 *
 * 1. Parse: the call's headers (`ChatRequest.readHeaders`), the body read within `CONDUIT_MAX_BODY_BYTES` (413 above,
 *    checked on `content-length` first) as strict UTF-8 (400 `invalid_encoding`) and JSON (400 `invalid_json`)
 *    (`RequestBody.readJson`), then checked and converted into the engine's call (`ChatRequest.parse`, pure).
 * 2. Run: the engine resolves the model name (404 `model_not_found`) and runs the call through the session manager,
 *    the response cache and the route's fallbacks (`Engine.generate` / `Engine.stream`).
 * 3. Respond: one `chat.completion`, or an SSE stream of `chat.completion.chunk` frames (`ChatResponse`). A failure
 *    before a stream's first part (admission, upstream 4xx/5xx after retries and fallbacks, first-token timeout) is
 *    an ordinary HTTP error with the OpenAI error envelope.
 */
import { Effect, type Scope } from "effect"
import type { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as ChatRequest from "./ChatRequest.js"
import * as ChatResponse from "./ChatResponse.js"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import * as RequestBody from "./RequestBody.js"

/**
 * Handles one chat completion request. Never fails: every failure becomes an OpenAI error response (or, after a
 * stream started, a final SSE error event). Reports through `info.done` exactly once.
 */
export const handle = (
  deps: Engine.Dependencies,
  request: HttpServerRequest.HttpServerRequest,
  info: Engine.RequestInfo
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> =>
  Effect.gen(function* () {
    const headers = yield* Effect.fromResult(ChatRequest.readHeaders(request.headers))
    const body = yield* RequestBody.readJson(request, deps.config.maxBodyBytes)
    const parsed = yield* Effect.fromResult(ChatRequest.parse(headers, body))
    const envelope = {
      id: `chatcmpl-${info.requestId}`,
      created: Math.floor(Date.now() / 1000),
      model: parsed.call.model
    }
    if (!parsed.stream) {
      const answer = yield* Engine.generate(deps, parsed.call, info)
      const response = ChatResponse.json(answer, envelope, info) // before the log line: it adds the warnings
      yield* info.done(200)
      return response
    }
    const streaming = yield* Engine.stream(deps, parsed.call, info)
    return ChatResponse.sse(
      streaming,
      { ...envelope, includeUsage: parsed.includeUsage, providerExecutedTools: parsed.providerExecutedTools },
      info,
      deps.metrics
    )
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.flatMap(Engine.failed(deps, info, "chat", cause), (http) =>
        Effect.as(info.done(http.status), Errors.errorResponse(http, info.requestId))
      )
    )
  ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope>
