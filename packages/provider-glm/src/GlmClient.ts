/**
 * The GLM client service: core's OpenAI-compatible transport (the `openai` SDK with `maxRetries: 0`, abort tied to
 * the fiber, stream guards, the GLM error table) configured for Zhipu / Z.ai, plus GLM-specific transport behaviour.
 *
 * Configuration:
 * - key: `apiKey` (string or `Redacted`; never logged), else `ZAI_API_KEY`, else `ZHIPUAI_API_KEY` ({@link layerConfig});
 * - endpoint: `baseURL`, else `ZAI_BASE_URL`, else `region` (`"global"` api.z.ai | `"cn"` open.bigmodel.cn) ×
 *   `plan` (`"general"` `/api/paas/v4` | `"coding"` `/api/coding/paas/v4`);
 * - auth: bearer key by default; `auth: "jwt"` signs `<id>.<secret>` keys into an HS256 JWT (header
 *   `sign_type: "SIGN"`, payload `api_key`, `exp`, `timestamp` in ms), cached and renewed before expiry.
 *
 * Transport behaviour added on top of core's:
 * - Zhipu's response `id` is its request id (`id == request_id`, glm.md §3) and stream chunks carry only `id`: the
 *   stream's request id falls back to the first chunk's `id`, so it reaches the finish metadata of streams too;
 * - a failed call whose request carried a client `request_id` reports that id in the error when the server gave
 *   none (`metadata.conduit.requestId`);
 * - `finish_reason: "network_error"` (the upstream failed mid-generation) is a retryable `InternalProviderError`
 *   (`conduit.kind = "finish-network-error"`), never a silent short answer: a non-streaming call is retried by the
 *   retry policy, a stream before its first part;
 * - `finish_reason: "model_context_window_exceeded"` with no output at all is an `InvalidRequestError` with
 *   `constraint: "context_length_exceeded"` (the prompt filled the window); with partial output it stays a
 *   `length` finish.
 *
 * @since 0.1.0
 */
import type { ChatCompletions, OpenAiCompatClient, OpenAiCompatProvider } from "@conduit-llm/core"
import { type Config, type Context, Effect, Layer, Predicate, type Redacted, Stream } from "effect"
import { AiError } from "effect/ai"
import * as GlmProvider from "./GlmProvider.js"

/**
 * The client service (the same tag as `GlmProvider.provider.Client`).
 *
 * @since 0.1.0
 */
export const GlmClient: Context.Service<OpenAiCompatProvider.ProviderClient, OpenAiCompatProvider.ProviderClient> =
  GlmProvider.provider.Client

/**
 * The client service's shape: core's transport (`createChatCompletion`, `streamChatCompletion`, `request`, `use`)
 * and the options it was built with (key excluded).
 *
 * @since 0.1.0
 */
export type Service = OpenAiCompatProvider.ProviderClient

/**
 * Options (see `GlmProvider.ClientOptions`).
 *
 * @since 0.1.0
 */
export type Options = GlmProvider.ClientOptions

// =============================================================================
// GLM transport behaviour
// =============================================================================

const finishReasonOf = (body: {
  readonly choices?: ReadonlyArray<{ readonly finish_reason?: string | null | undefined }> | null | undefined
}) => body.choices?.find((choice) => typeof choice.finish_reason === "string")?.finish_reason ?? undefined

const networkError = (requestId: string | undefined, method: string) =>
  AiError.make({
    module: "GlmClient",
    method,
    reason: new AiError.InternalProviderError({
      description:
        'the generation ended with finish_reason "network_error" (the upstream failed mid-generation); the partial answer is discarded',
      metadata: {
        conduit: {
          kind: "finish-network-error",
          provider: "glm",
          retryable: true,
          ...(requestId !== undefined ? { requestId } : {})
        }
      }
    })
  })

const contextWindowExceeded = (requestId: string | undefined, method: string) =>
  AiError.make({
    module: "GlmClient",
    method,
    reason: new AiError.InvalidRequestError({
      description:
        'the model answered finish_reason "model_context_window_exceeded" before producing any output: the prompt does not fit the context window',
      constraint: "context_length_exceeded",
      metadata: {
        conduit: {
          kind: "finish-context-window-exceeded",
          provider: "glm",
          contextLength: true,
          ...(requestId !== undefined ? { requestId } : {})
        }
      }
    })
  })

const hasOutput = (message: ChatCompletions.ResponseMessage | null | undefined): boolean =>
  (typeof message?.content === "string" && message.content !== "") ||
  (typeof message?.reasoning_content === "string" && message.reasoning_content !== "") ||
  (message?.tool_calls?.length ?? 0) > 0

const deltaHasOutput = (chunk: ChatCompletions.ChatCompletionChunk): boolean =>
  chunk.choices?.some((choice) => {
    const delta = choice.delta
    return (
      (typeof delta?.content === "string" && delta.content !== "") ||
      (typeof delta?.reasoning_content === "string" && delta.reasoning_content !== "") ||
      (delta?.tool_calls?.length ?? 0) > 0
    )
  }) ?? false

/**
 * Adds `requestId` to an error's `metadata.conduit` when it has none (the client-supplied `request_id`). Errors that
 * already name a request id, or whose reason cannot be rebuilt, are returned unchanged.
 *
 * @since 0.1.0
 */
export const withRequestId = (error: AiError.AiError, requestId: string | undefined): AiError.AiError => {
  if (requestId === undefined) return error
  const reason = error.reason as AiError.AiErrorReason & { readonly metadata?: Record<string, unknown> }
  const conduit = reason.metadata?.conduit
  if (Predicate.isObject(conduit) && (conduit as { requestId?: unknown }).requestId !== undefined) return error
  try {
    const Reason = reason.constructor as new (fields: Record<string, unknown>) => AiError.AiErrorReason
    const metadata = {
      ...(reason.metadata ?? {}),
      conduit: { kind: "http", provider: "glm", ...(Predicate.isObject(conduit) ? conduit : {}), requestId }
    }
    const rebuilt = new Reason({ ...reason, metadata })
    return AiError.make({ module: error.module, method: error.method, reason: rebuilt })
  } catch {
    return error
  }
}

const requestIdOf = (request: ChatCompletions.WireRequest): string | undefined =>
  typeof request.request_id === "string" ? request.request_id : undefined

/**
 * Adds the GLM transport behaviour (see the module docs) to a core transport.
 *
 * @since 0.1.0
 */
export const wrap = (client: OpenAiCompatProvider.ProviderClient): OpenAiCompatProvider.ProviderClient => ({
  ...client,
  createChatCompletion: (request) =>
    client.createChatCompletion(request).pipe(
      Effect.flatMap((response) => {
        const finish = finishReasonOf(response.body)
        const requestId = response.requestId ?? response.body.id ?? requestIdOf(request)
        if (finish === "network_error") return Effect.fail(networkError(requestId, "createChatCompletion"))
        if (finish === "model_context_window_exceeded" && !hasOutput(response.body.choices[0]?.message)) {
          return Effect.fail(contextWindowExceeded(requestId, "createChatCompletion"))
        }
        return Effect.succeed(response)
      }),
      Effect.mapError((error) => withRequestId(error, requestIdOf(request)))
    ),
  streamChatCompletion: (request, limits) =>
    client.streamChatCompletion(request, limits).pipe(
      Effect.mapError((error) => withRequestId(error, requestIdOf(request))),
      Effect.map((chat): OpenAiCompatClient.ChatStream => {
        let firstId: string | undefined
        let sawOutput = false
        const requestId = () => chat.requestId() ?? firstId ?? requestIdOf(request)
        const chunks = chat.chunks.pipe(
          Stream.mapArrayEffect((batch) => {
            for (const chunk of batch) {
              if (firstId === undefined && typeof chunk.id === "string" && chunk.id !== "") firstId = chunk.id
              if (!sawOutput && deltaHasOutput(chunk)) sawOutput = true
              const finish = finishReasonOf(chunk)
              if (finish === "network_error") {
                return Effect.fail(networkError(requestId(), "streamChatCompletion"))
              }
              if (finish === "model_context_window_exceeded" && !sawOutput) {
                return Effect.fail(contextWindowExceeded(requestId(), "streamChatCompletion"))
              }
            }
            return Effect.succeed(batch)
          }),
          Stream.mapError((error) => withRequestId(error, requestId()))
        )
        return { headers: chat.headers, requestId, chunks }
      })
    )
})

// =============================================================================
// Constructors
// =============================================================================

/**
 * Builds a client. Throws nothing: a malformed JWT-mode key fails each call with `AuthenticationError`.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): OpenAiCompatProvider.ProviderClient => wrap(GlmProvider.provider.makeClient(options))

/**
 * A layer with a client built from explicit options.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): Layer.Layer<OpenAiCompatProvider.ProviderClient> => Layer.succeed(GlmClient, make(options))

/**
 * A layer reading the key from `ZAI_API_KEY` (else `ZHIPUAI_API_KEY`) and the base URL from `ZAI_BASE_URL` through
 * Effect `Config` (keys as `Redacted`); `options` override. Fails with `ConfigError` naming the variables when no
 * key is set.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Options = {}
): Layer.Layer<OpenAiCompatProvider.ProviderClient, Config.ConfigError> =>
  Layer.effect(GlmClient, Effect.map(Effect.service(GlmClient), wrap)).pipe(
    Layer.provide(GlmProvider.provider.clientLayerConfig(options))
  )

/**
 * The endpoint a client talks to and whether it is the coding plan (where Preserved Thinking is the default).
 *
 * @since 0.1.0
 */
export const endpointOf = (
  client: OpenAiCompatProvider.ProviderClient
): { readonly baseURL: string; readonly coding: boolean } => ({
  baseURL: client.options.baseURL,
  coding: (client.options as Options).plan === "coding" || GlmProvider.isCodingEndpoint(client.options.baseURL)
})
