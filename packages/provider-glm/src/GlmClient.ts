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
 * Request ids: Zhipu's response `id` is its request id (`id == request_id`, glm.md §3) and stream chunks carry only
 * `id`, so it reaches the finish metadata of streams too; a failed call whose request carried a client
 * `request_id` reports that id when the server gave none (`metadata.conduit.requestId`). Both are core's
 * (`GlmProvider.declarations.responseIdIsRequestId`).
 *
 * `finish_reason: "network_error"` (the upstream failed mid-generation) is a retryable failure, never a short answer
 * (core's `finishFailures`, `GlmProvider.finishFailures`): a non-streaming call is retried by the retry policy, a
 * stream before its first part.
 *
 * Transport behaviour added on top of core's ({@link wrap}):
 * - a stream fails at the chunk that carries a finish reason of `GlmProvider.finishFailures`, with core's error for
 *   it. Core checks those reasons only after the stream's parts have gone out (its first chunk already yields the
 *   response metadata part), so a stream that fails at once would not be retried;
 * - `finish_reason: "model_context_window_exceeded"` with no output at all is an `InvalidRequestError` with
 *   `constraint: "context_length_exceeded"` (the prompt filled the window); with partial output it stays a
 *   `length` finish. A `finishFailures` rule cannot say "only without output".
 *
 * @since 0.1.0
 */
import {
  type ChatCompletions,
  type OpenAiCompatClient,
  type OpenAiCompatProvider,
  ProviderError
} from "@conduit-llm/core"
import { type Config, type Context, Effect, Layer, type Redacted, Stream } from "effect"
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
 * Adds the GLM transport behaviour (see the module docs) to a core transport.
 *
 * @since 0.1.0
 */
export const wrap = (client: OpenAiCompatProvider.ProviderClient): OpenAiCompatProvider.ProviderClient => ({
  ...client,
  createChatCompletion: (request, headers) =>
    client.createChatCompletion(request, headers).pipe(
      Effect.flatMap((response) => {
        const finish = finishReasonOf(response.body)
        if (finish === "model_context_window_exceeded" && !hasOutput(response.body.choices[0]?.message)) {
          return Effect.fail(contextWindowExceeded(response.requestId, "createChatCompletion"))
        }
        return Effect.succeed(response)
      })
    ),
  streamChatCompletion: (request, limits, headers) =>
    client.streamChatCompletion(request, limits, headers).pipe(
      Effect.map((chat): OpenAiCompatClient.ChatStream => {
        let sawOutput = false
        const chunks = chat.chunks.pipe(
          Stream.mapArrayEffect((batch) => {
            for (const chunk of batch) {
              if (!sawOutput && deltaHasOutput(chunk)) sawOutput = true
              const finish = finishReasonOf(chunk)
              const rule = finish === undefined ? undefined : GlmProvider.finishFailures[finish]
              if (finish !== undefined && rule !== undefined) {
                const requestId = chat.requestId()
                return Effect.fail(
                  ProviderError.finishFailure({ provider: GlmProvider.name, finishReason: finish, rule, requestId })
                )
              }
              if (finish === "model_context_window_exceeded" && !sawOutput) {
                return Effect.fail(contextWindowExceeded(chat.requestId(), "streamChatCompletion"))
              }
            }
            return Effect.succeed(batch)
          })
        )
        return { ...chat, chunks }
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
  coding: GlmProvider.isCodingClient(client)
})
