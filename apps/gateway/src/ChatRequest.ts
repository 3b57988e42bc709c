/**
 * Pure parsing of an OpenAI Chat Completions request into the engine's {@link Engine.Call}: request headers with
 * {@link readHeaders}, then the parsed JSON body with {@link parse}. Every failure is a typed value (a 400
 * {@link Errors.GatewayError}, or core's `InvalidRequestError` for messages and tools it cannot convert), never a
 * throw.
 *
 * - Headers: `x-session-id` and `Idempotency-Key` (identifiers, see {@link identifier}), `x-conduit-cache` (`auto`,
 *   `always` or `never`).
 * - Body: checked against core's `ChatCompletionRequest` schema (400 naming the field), at least one message, `n` at
 *   most 1; then converted with core's `WireInput`: messages to a `Prompt` (assistant `reasoning_content` becomes
 *   reasoning that is replayed upstream); tools to wire declarations in `CallConfig.wireTools`, with no effect/ai
 *   toolkit (function tools, which the client runs and the provider's schema rules still apply to, then
 *   provider-defined tools such as Kimi's `$web_search` and GLM's `web_search`, as sent, executed by the provider
 *   in provider-executed rounds); `tool_choice` and everything else (`temperature`, `max_tokens`, `response_format`, provider
 *   extras...) to `CallConfig.request` wire parameters.
 */
import { ChatCompletions, TokenEstimator, WireInput } from "@conduitkit/core"
import { Exit, Result, Schema, SchemaIssue } from "effect"
import type { AiError } from "effect/ai"
import type * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"

/** A client-supplied identifier: 1 to 128 characters of letters, digits and `_ . : @ / + = -`. */
export const identifier = /^[\w.:@/+=-]{1,128}$/

/**
 * A client-supplied identifier header (`x-session-id`, `Idempotency-Key`, `x-request-id`): at most 128 characters
 * of letters, digits and `_ . : @ / + = -`. Returns `undefined` when absent, fails with 400 when malformed.
 */
export const identifierHeader = (
  value: string | undefined,
  header: string
): Result.Result<string | undefined, Errors.GatewayError> =>
  value === undefined || value === ""
    ? Result.succeed(undefined)
    : identifier.test(value)
      ? Result.succeed(value)
      : Result.fail(
          Errors.badRequest(
            `${header} must be 1 to 128 characters of letters, digits and _ . : @ / + = -`,
            "invalid_header",
            header
          )
        )

/** What the request headers ask of the call (the client's values; the engine scopes the ids to its key). */
export interface CallHeaders {
  readonly sessionId: string | undefined
  readonly idempotencyKey: string | undefined
  readonly cacheMode: "auto" | "always" | "never" | undefined
}

/** Reads the call's headers (lower-case names). Fails with 400 `invalid_header` naming the first malformed one. */
export const readHeaders = (
  headers: Readonly<Record<string, string | undefined>>
): Result.Result<CallHeaders, Errors.GatewayError> =>
  Result.gen(function* () {
    const sessionId = yield* identifierHeader(headers["x-session-id"], "x-session-id")
    const idempotencyKey = yield* identifierHeader(headers["idempotency-key"], "idempotency-key")
    const cacheMode = headers["x-conduit-cache"]
    if (cacheMode !== undefined && cacheMode !== "auto" && cacheMode !== "always" && cacheMode !== "never") {
      return yield* Result.fail(
        Errors.badRequest("x-conduit-cache must be auto, always or never.", "invalid_header", "x-conduit-cache")
      )
    }
    return { sessionId, idempotencyKey, cacheMode }
  })

const isRequest = Schema.is(ChatCompletions.ChatCompletionRequest)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Checks a parsed body against core's `ChatCompletionRequest` schema (unknown fields pass) and the gateway's own
 * rules (at least one message, `n` at most 1). The body is not copied. Fails with a 400 naming the first offending
 * field (`messages.0.role`).
 */
export const decodeRequest = (
  body: unknown
): Result.Result<ChatCompletions.ChatCompletionRequest, Errors.GatewayError> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Result.fail(Errors.badRequest("The request body must be a JSON object.", "invalid_type"))
  }
  if (!isRequest(body)) {
    const exit = Schema.decodeUnknownExit(ChatCompletions.ChatCompletionRequest)(body, { errors: "first" })
    let param: string | null = null
    let detail = "the body does not match the chat completion request schema"
    if (Exit.isFailure(exit)) {
      const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
      const issue = failure?._tag === "Fail" ? (failure.error as Schema.SchemaError).issue : undefined
      if (issue !== undefined) {
        const first = formatIssue(issue).issues[0]
        if (first !== undefined) {
          const path = (first.path ?? []).map((segment) =>
            typeof segment === "object" && segment !== null && "key" in segment ? String(segment.key) : String(segment)
          )
          param = path.length > 0 ? path.join(".") : null
          detail = first.message
        }
      }
    }
    return Result.fail(
      Errors.badRequest(`Invalid request${param !== null ? ` at ${param}` : ""}: ${detail}`, "invalid_type", param)
    )
  }
  const request = body as ChatCompletions.ChatCompletionRequest
  if (request.messages.length === 0) {
    return Result.fail(Errors.badRequest("messages must contain at least one message.", "invalid_value", "messages"))
  }
  if (typeof request.n === "number" && request.n !== 1) {
    return Result.fail(Errors.badRequest("Only n = 1 is supported.", "invalid_value", "n"))
  }
  return Result.succeed(request)
}

/**
 * A parsed chat completion request: the engine's call, and what only the response encoding needs: whether to
 * stream, whether the stream ends with a usage chunk (`stream_options.include_usage`), and the names of the built-in
 * tools the request declared (see `ChatCompletionEncoder.providerExecutedToolNames`).
 */
export interface ChatCall {
  readonly call: Engine.Call
  readonly stream: boolean
  readonly includeUsage: boolean
  readonly providerExecutedTools: ReadonlyArray<ChatCompletions.RequestTool>
}

/**
 * Parses a request: its headers (see {@link readHeaders}) and its parsed JSON body (see {@link decodeRequest}) into
 * a {@link ChatCall}. Fails with a 400 `GatewayError` for a body the schema rejects, or core's
 * `InvalidRequestError` (naming the message or tool) for messages and tools it cannot convert.
 */
export const parse = (
  headers: CallHeaders,
  body: unknown
): Result.Result<ChatCall, Errors.GatewayError | AiError.AiError> =>
  Result.gen(function* () {
    const request = yield* decodeRequest(body)
    const prompt = yield* WireInput.toPrompt(request.messages)
    const { functions, providerDefined } = yield* WireInput.splitTools(request.tools)
    const toolChoice = WireInput.toWireToolChoice(request.tool_choice, functions)
    return {
      call: {
        model: request.model,
        prompt,
        // tools go to the model as wire declarations (function tools first, then built-in provider tools such as
        // Kimi's `$web_search` and GLM's `web_search`): the client runs its functions, the provider its built-ins
        config: {
          request: {
            ...(toolChoice !== undefined ? { tool_choice: toolChoice } : {}),
            ...WireInput.passThroughParameters(request)
          },
          ...(functions.length > 0 || providerDefined.length > 0
            ? { wireTools: [...functions, ...providerDefined] }
            : {})
        },
        sessionId: headers.sessionId,
        idempotencyKey: headers.idempotencyKey,
        cacheMode: headers.cacheMode,
        tokenEstimate: () =>
          TokenEstimator.estimateRequest({ messages: request.messages, tools: request.tools }) +
          Number(request.max_tokens ?? request.max_completion_tokens ?? 0)
      },
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
      providerExecutedTools: providerDefined
    } satisfies ChatCall
  })
