/**
 * `POST /v1/messages` and `POST /v1/messages/count_tokens`, the Anthropic Messages front door: parse, run, respond,
 * on the same engine, routes, sessions and guards as the OpenAI one.
 *
 * 1. Parse: the call's headers (`x-session-id`, `Idempotency-Key`, `x-conduit-cache`, as on the OpenAI route), the
 *    body within `CONDUIT_MAX_BODY_BYTES`, checked and converted by `AnthropicInput` (pure) for the route's steps
 *    (the model name resolves through models.yaml first: 404 `not_found_error` otherwise).
 * 2. Run: `Engine.generate` / `Engine.stream` (session, rate limits, idempotency, response cache, retries,
 *    timeouts, fallbacks, metrics).
 * 3. Respond: one `message`, or Anthropic's SSE event sequence (`AnthropicWire`); every failure in Anthropic's
 *    error envelope (`{ type: "error", error: { type, message }, request_id }`) with Anthropic's status codes, and a
 *    failure after a stream started as a final `error` event.
 *
 * `count_tokens` converts the request the same way (so it refuses what `/v1/messages` would) and answers core's
 * `TokenEstimator` estimate of its input, `{ input_tokens }`, without calling a provider.
 *
 * Headers: `request-id` and `x-request-id`, `x-conduit-provider`, `x-conduit-attempts`, `x-conduit-warnings`
 * (`; `-separated, see `Engine.warningHeaders`) when a field was not sent (see `AnthropicInput.parameters`) or core
 * adapted the request, and `x-conduit-cost` on a JSON answer whose cost is known (see `Engine.costHeaders`).
 */
import { TokenEstimator } from "@conduitkit/core"
import { Effect, Result, type Scope } from "effect"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import * as AnthropicInput from "./AnthropicInput.js"
import * as AnthropicWire from "./AnthropicWire.js"
import * as ChatRequest from "./ChatRequest.js"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import * as EventStream from "./EventStream.js"
import * as RequestBody from "./RequestBody.js"

const invalid = (error: AnthropicInput.InputError) => Errors.badRequest(error.message, "invalid_request", error.param)

const orInvalid = <A>(result: Result.Result<A, AnthropicInput.InputError>): Effect.Effect<A, Errors.GatewayError> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(invalid(result.failure))

/** Estimated input tokens of a request (its system prompt, messages and tools), with core's `TokenEstimator`. */
export const estimateInput = (request: Pick<AnthropicInput.MessagesRequest, "system" | "messages" | "tools">): number =>
  TokenEstimator.estimateRequest({
    messages: [
      ...(request.system !== undefined ? [{ role: "system", content: request.system }] : []),
      ...request.messages
    ] as never,
    tools: request.tools as never
  })

/**
 * The engine call of a checked request on a route's steps, and the warnings of what was not sent. Pure; fails with
 * an {@link AnthropicInput.InputError} for content it cannot convert or a `tool_choice` naming no declared tool.
 * Tools go to the model as wire declarations (`CallConfig.wireTools`): the client runs them, never the gateway.
 */
export const toCall = (
  request: AnthropicInput.MessagesRequest,
  steps: ReadonlyArray<AnthropicInput.Step>,
  headers: ChatRequest.CallHeaders
): Result.Result<{ readonly call: Engine.Call; readonly warnings: ReadonlyArray<string> }, AnthropicInput.InputError> =>
  Result.gen(function* () {
    const prompt = yield* AnthropicInput.toPrompt(request)
    const { functions, dropped } = yield* AnthropicInput.toTools(request.tools)
    const toolChoice = yield* AnthropicInput.toToolChoice(request.tool_choice, functions)
    const { wire, warnings } = AnthropicInput.parameters(request, steps)
    if (dropped.length > 0) {
      warnings.push(
        `Anthropic-defined tools are not available on these providers and were not sent: ${dropped.join(", ")}`
      )
    }
    const call: Engine.Call = {
      model: request.model,
      prompt,
      config: {
        request: { ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}), ...wire },
        ...(functions.length > 0 ? { wireTools: functions } : {})
      },
      sessionId: headers.sessionId,
      idempotencyKey: headers.idempotencyKey,
      cacheMode: headers.cacheMode,
      tokenEstimate: () => estimateInput(request) + request.max_tokens
    }
    return { call, warnings }
  })

const jsonResponse = (body: unknown, headers: Readonly<Record<string, string>>, status = 200) =>
  HttpServerResponse.text(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** The Anthropic error response of a gateway error. */
export const errorResponse = (http: Errors.HttpError, requestId: string): HttpServerResponse.HttpServerResponse => {
  const error = AnthropicWire.fromHttpError(http, requestId)
  return jsonResponse(
    error.body,
    { ...error.headers, "x-request-id": requestId, "request-id": requestId },
    error.status
  )
}

/** Which endpoint of the front door a request is for. */
export type Endpoint = "messages" | "count_tokens"

/**
 * Handles one request of the Anthropic front door. Never fails: every failure becomes an Anthropic error response
 * (or, after a stream started, a final `error` event). Reports through `info.done` exactly once.
 */
export const handle = (
  deps: Engine.Dependencies,
  request: HttpServerRequest.HttpServerRequest,
  info: Engine.RequestInfo,
  endpoint: Endpoint
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> =>
  Effect.gen(function* () {
    const ids = { "x-request-id": info.requestId, "request-id": info.requestId }
    const headers = yield* Effect.fromResult(ChatRequest.readHeaders(request.headers))
    const body = yield* RequestBody.readJson(request, deps.config.maxBodyBytes)
    const checked = yield* orInvalid(AnthropicInput.checkRequest(body, { requireMaxTokens: endpoint === "messages" }))
    const route = yield* deps.routes.resolve(checked.model)
    if (endpoint === "count_tokens") {
      info.fields.model = route.name
      yield* orInvalid(AnthropicInput.toPrompt(checked))
      yield* info.done(200)
      return jsonResponse({ input_tokens: estimateInput(checked) }, ids)
    }
    const { call, warnings } = yield* orInvalid(toCall(checked, [route, ...route.fallbacks], headers))
    const id = `msg_${info.requestId}`
    if (checked.stream !== true) {
      const answer = yield* Engine.generate(deps, call, info)
      const response = jsonResponse(AnthropicWire.message({ id, model: checked.model, summary: answer.summary }), {
        ...ids,
        "x-conduit-provider": answer.provider,
        "x-conduit-attempts": String(answer.attempts),
        ...Engine.warningHeaders([...warnings, ...answer.summary.metadata.warnings], info),
        ...Engine.costHeaders(answer.cost)
      })
      yield* info.done(200) // after the warnings went into the log fields
      return response
    }
    const streaming = yield* Engine.stream(deps, call, info)
    const extra = { ...ids, ...Engine.warningHeaders([...warnings, ...streaming.warnings], info) }
    const encoder = AnthropicWire.makeStreamEncoder({ id, model: checked.model })
    return EventStream.respond(
      streaming,
      {
        push: encoder.push,
        finished: encoder.finished,
        end: encoder.end,
        error: (http) => AnthropicWire.errorEvent(AnthropicWire.fromHttpError(http, info.requestId))
      },
      { info, metrics: deps.metrics, endpoint, prefix: encoder.start(), headers: extra }
    )
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.flatMap(Engine.failed(deps, info, endpoint, cause), (http) =>
        Effect.as(info.done(AnthropicWire.fromHttpError(http).status), errorResponse(http, info.requestId))
      )
    )
  ) as Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope>
