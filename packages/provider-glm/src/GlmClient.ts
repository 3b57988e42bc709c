/**
 * The GLM client service: core's OpenAI-compatible transport (the `openai` SDK with `maxRetries: 0`, abort tied to
 * the fiber, stream guards, the GLM error table) configured for Zhipu / Z.ai.
 *
 * Configuration:
 * - key: `apiKey` (string or `Redacted`; never logged), else `ZAI_API_KEY`, else `ZHIPUAI_API_KEY` ({@link layerConfig});
 * - endpoint: `baseURL`, else `ZAI_BASE_URL`, else `region` (`"global"` api.z.ai | `"cn"` open.bigmodel.cn) ×
 *   `plan` (`"general"` `/api/paas/v4` | `"coding"` `/api/coding/paas/v4`);
 * - auth: bearer key by default; `auth: "jwt"` signs `<id>.<secret>` keys into an HS256 JWT (header
 *   `sign_type: "SIGN"`, payload `api_key`, `exp`, `timestamp` in ms), cached and renewed before expiry.
 *
 * Request ids: Zhipu's response `id` is its request id (`id == request_id`, docs/providers/glm.md#responses) and stream
 * chunks carry only `id`, so it reaches the finish metadata of streams too; a failed call whose request carried a
 * client `request_id` reports that id when the server gave none (`metadata.conduit.requestId`). Both are core's
 * (`GlmProvider.declarations.responseIdIsRequestId`).
 *
 * Finish reasons that are failures are core's `finishFailures` (`GlmProvider.finishFailures`):
 * `finish_reason: "network_error"` (the upstream failed mid-generation) is a retryable failure, never a short answer
 * (a non-streaming call is retried by the retry policy, a stream before its first output); `finish_reason:
 * "model_context_window_exceeded"` with no output at all is an `InvalidRequestError` with `constraint:
 * "context_length_exceeded"` (the prompt filled the window), with partial output a `length` finish. The client is
 * core's transport as is, so `GlmProvider.provider`'s own `makeClient` / `clientLayer` build the same client.
 *
 * @since 0.1.0
 */
import type { OpenAiCompatProvider } from "@conduitkit/core"
import type { Config, Context, Layer, Redacted } from "effect"
import type { AiError } from "effect/ai"
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
// Constructors
// =============================================================================

/**
 * Builds a client. Throws nothing: a malformed JWT-mode key fails each call with `AuthenticationError`.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): OpenAiCompatProvider.ProviderClient => GlmProvider.provider.makeClient(options)

/**
 * A layer with a client built from explicit options.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): Layer.Layer<OpenAiCompatProvider.ProviderClient> => GlmProvider.provider.clientLayer(options)

/**
 * A layer reading the key from `ZAI_API_KEY` (else `ZHIPUAI_API_KEY`) and the base URL from `ZAI_BASE_URL` through
 * Effect `Config` (keys as `Redacted`); `options` override. Fails with an `AiError` (`AuthenticationError`,
 * `kind: "MissingKey"`) naming both variables when no key is set, before any HTTP call (core's
 * `OpenAiCompatProvider.missingKey`).
 *
 * @since 0.1.0
 */
export const layerConfig = (
  options: Options = {}
): Layer.Layer<OpenAiCompatProvider.ProviderClient, Config.ConfigError | AiError.AiError> =>
  GlmProvider.provider.clientLayerConfig(options)

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
