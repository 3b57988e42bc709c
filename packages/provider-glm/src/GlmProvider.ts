/**
 * The GLM provider's declarations and the provider core builds from them (`OpenAiCompatProvider.make`).
 *
 * Declarations (facts and sources in docs/providers/glm.md):
 * - endpoints by region × plan (docs/providers/glm.md#endpoints-and-keys): `https://api.z.ai/api/paas/v4` (global,
 *   general), `https://api.z.ai/api/coding/paas/v4` (global, GLM Coding Plan), `https://open.bigmodel.cn/api/paas/v4`
 *   (cn, general), `https://open.bigmodel.cn/api/coding/paas/v4` (cn, coding). Keys are region- and plan-gated: a z.ai
 *   key does not work on bigmodel.cn, and a coding-plan key on the general endpoint answers 1113;
 * - the key from `ZAI_API_KEY`, else `ZHIPUAI_API_KEY`; the base URL from `ZAI_BASE_URL` (overrides region/plan);
 * - request ids: the `x-request-id` header, else the body's `request_id`, else the response `id` (Zhipu's
 *   `id == request_id`; stream chunks carry only `id`); a failed call reports the client's `request_id` when the
 *   server named none (core);
 * - auth: the key as a bearer token by default, or a cached, renewed HS256 JWT for `<id>.<secret>` keys
 *   (`auth: "jwt"`, docs/providers/glm.md#authentication);
 * - `Accept-Language: en-US,en` (the only value Z.ai documents; the official SDK always sends it);
 * - the catalog (`GlmModels`), the error table (`GlmError`), the request shaping (`internal/request`), the
 *   `web_search` tool and its results as `source` parts (`GlmWebSearch`), finish reasons, and the `"instruction"`
 *   continuation (Zhipu has no assistant prefill).
 *
 * The shaping follows the endpoint of the call's client (Preserved Thinking is the coding plan's default).
 *
 * @since 0.1.0
 */
import {
  type ChatCompletions,
  CompletionAssembly,
  type OpenAiCompatClient,
  type OpenAiCompatLanguageModel,
  OpenAiCompatProvider
} from "@conduitkit/core"
import { Effect, type Redacted, Result } from "effect"
import type { AiError } from "effect/ai"
import * as GlmError from "./GlmError.js"
import * as GlmModels from "./GlmModels.js"
import * as GlmPricing from "./GlmPricing.js"
import * as InlineThinking from "./internal/inlineThinking.js"
import * as Jwt from "./internal/jwt.js"
import * as Request from "./internal/request.js"
import * as WebSearch from "./internal/webSearch.js"

/**
 * The provider name (`"glm"`: model ids `glm/glm-4.6` in the registry, `conduit.provider` in metadata).
 *
 * @since 0.1.0
 */
export const name = "glm" as const

/**
 * `"global"` (api.z.ai) or `"cn"` (open.bigmodel.cn).
 *
 * @since 0.1.0
 */
export type Region = "global" | "cn"

/**
 * `"general"` (pay-as-you-go API) or `"coding"` (GLM Coding Plan subscription endpoint, "Coding API 端点仅限 Coding
 * 场景").
 *
 * @since 0.1.0
 */
export type Plan = "general" | "coding"

/**
 * The four endpoints, by `<region>-<plan>`, plus `default` (global, general).
 *
 * @since 0.1.0
 */
export const baseURLs = {
  default: "https://api.z.ai/api/paas/v4",
  "global-general": "https://api.z.ai/api/paas/v4",
  "global-coding": "https://api.z.ai/api/coding/paas/v4",
  "cn-general": "https://open.bigmodel.cn/api/paas/v4",
  "cn-coding": "https://open.bigmodel.cn/api/coding/paas/v4"
} as const

/**
 * The base URL of a region and plan (defaults: global, general).
 *
 * @since 0.1.0
 */
export const baseURLFor = (options: {
  readonly region?: Region | undefined
  readonly plan?: Plan | undefined
}): string => baseURLs[`${options.region ?? "global"}-${options.plan ?? "general"}`]

/**
 * Whether a base URL is a coding-plan endpoint (its path has `/coding/`).
 *
 * @since 0.1.0
 */
export const isCodingEndpoint = (baseURL: string): boolean => /\/coding\//.test(`${baseURL.replace(/[?#].*$/, "")}/`)

/**
 * Client options beyond core's (`apiKey`, `baseURL`, `headers`, `fetch`).
 *
 * - `region`, `plan`: pick the endpoint (ignored when `baseURL` or `ZAI_BASE_URL` is set).
 * - `auth`: `"bearer"` (default: the key as is) or `"jwt"` (`<id>.<secret>` keys signed into a short-lived token,
 *   cached and renewed before expiry).
 * - `jwt`: token lifetime (`ttlMs`, default 210,000 ms) and renewal margin (`renewBeforeMs`, default 30,000 ms).
 *
 * @since 0.1.0
 */
export interface ClientOptions extends Omit<OpenAiCompatProvider.ClientOptions, "region" | "plan"> {
  readonly region?: Region | undefined
  readonly plan?: Plan | undefined
  readonly auth?: "bearer" | "jwt" | undefined
  readonly jwt?: Jwt.JwtOptions | undefined
}

const auth = (
  apiKey: Redacted.Redacted<string>,
  options: OpenAiCompatProvider.ClientOptions
): Effect.Effect<Redacted.Redacted<string>, AiError.AiError> => {
  const glm = options as ClientOptions
  return glm.auth === "jwt" ? Jwt.tokenSource(apiKey, glm.jwt) : Effect.succeed(apiKey)
}

/**
 * Whether a client talks to the coding plan: built with `plan: "coding"`, or its base URL is a coding endpoint.
 *
 * @since 0.1.0
 */
export const isCodingClient = (client: OpenAiCompatClient.OpenAiCompatClientShape): boolean =>
  (client as Partial<OpenAiCompatProvider.ProviderClient>).options?.plan === "coding" ||
  isCodingEndpoint(client.config.baseURL)

/**
 * The request-shaping hook (see `internal/request`). Preserved Thinking is the default on the coding plan, so the
 * endpoint of the call's client (`PrepareContext.client`) decides whether earlier turns' reasoning is replayed when
 * `thinking.clear_thinking` is not set.
 *
 * @since 0.1.0
 */
export const prepareRequest = (
  draft: ChatCompletions.WireRequest,
  context: OpenAiCompatLanguageModel.PrepareContext
): Effect.Effect<ChatCompletions.WireRequest, AiError.AiError> => {
  const shaped = Request.shape(draft, {
    model: context.model,
    features: GlmModels.features(context.model),
    providerOptions: context.config.providerOptions,
    streaming: context.streaming,
    preservedThinkingByDefault: isCodingClient(context.client),
    warn: context.warn
  })
  return Result.isSuccess(shaped) ? Effect.succeed(shaped.success) : Effect.fail(shaped.failure)
}

/**
 * Zhipu's finish reasons on top of core's defaults (which already map `sensitive` to `content-filter`,
 * `network_error` to `error` and `model_context_window_exceeded` to `length`): listed explicitly so the mapping is
 * visible here (docs/providers/glm.md#finish-reasons).
 *
 * @since 0.1.0
 */
export const finishReasons = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  sensitive: "content-filter",
  network_error: "error",
  model_context_window_exceeded: "length"
} as const

/**
 * Finish reasons that are failures (core's `finishFailures`):
 * - `network_error`: the upstream failed mid-generation, so the partial answer is discarded and the call fails with
 *   a retryable `InternalProviderError` (`conduit.kind = "finish-network-error"`), retried when nothing reached the
 *   caller yet (a non-streaming call, a stream before its first output), never a silent short answer;
 * - `model_context_window_exceeded` without any output (`onlyWithoutOutput`): the prompt filled the window, an
 *   `InvalidRequestError` with `constraint: "context_length_exceeded"` (`conduit.kind =
 *   "finish-context-window-exceeded"`), not retried; after some output it stays a `length` finish.
 *
 * @since 0.1.0
 */
export const finishFailures: Readonly<Record<string, OpenAiCompatLanguageModel.FinishFailureRule>> = {
  network_error: {
    reason: "InternalProviderError",
    retryable: true,
    kind: "finish-network-error",
    description:
      'the generation ended with finish_reason "network_error" (the upstream failed mid-generation); the partial answer is discarded'
  },
  model_context_window_exceeded: {
    reason: "InvalidRequestError",
    contextLength: true,
    onlyWithoutOutput: true,
    kind: "finish-context-window-exceeded",
    description:
      'the model answered finish_reason "model_context_window_exceeded" before producing any output: the prompt does not fit the context window'
  }
}

/**
 * The declarations.
 *
 * @since 0.1.0
 */
export const declarations: OpenAiCompatProvider.Declarations & { readonly name: typeof name } = {
  name,
  baseURLs,
  resolveBaseURL: (options) => baseURLFor(options as ClientOptions),
  apiKeyEnv: ["ZAI_API_KEY", "ZHIPUAI_API_KEY"],
  baseURLEnv: "ZAI_BASE_URL",
  errorTable: GlmError.table,
  requestIdHeaders: ["x-request-id"],
  // Zhipu's response id is its request id (id == request_id) and stream chunks carry only id
  // (docs/providers/glm.md#responses)
  responseIdIsRequestId: true,
  headers: { "accept-language": "en-US,en" },
  defaultModel: "glm-4.6",
  auth,
  catalog: GlmModels.catalog,
  // Everything is collected; the shaping keeps what the thinking mode needs (see internal/request).
  reasoningReplay: { mode: "always" },
  prepareRequest,
  // Non-stream requests go in streaming mode, assembled (core's `CompletionAssembly`), when they ask only for what
  // the recorded streams carry: the fantasy recordings' streams (simple, tool, multi_tool, thinking; glm-4.5 and
  // glm-4.6) carry the id (= request id), model, created, text, `reasoning_content`, tool calls, the finish reason
  // and the usage with `cached_tokens`; a `web_search` tool's top-level `web_search` array has no recorded stream.
  assembleNonStream: CompletionAssembly.onlyRecordedFeatures,
  providerTool: WebSearch.providerTool,
  finishReasons,
  finishFailures,
  extraParts: WebSearch.extraParts,
  billingCurrency: GlmPricing.billingCurrency,
  continuation: "instruction",
  transport: (client, model) => transportFor(client, model)
}

/**
 * The transport a model's calls go through (the declarations' `transport` hook, which core applies to every model
 * service): the client itself, or, for models that write reasoning inline in `content` (`<think>…</think>`, GLM-4.5V's
 * box markers; `GlmModels.GlmFeatures.inlineThinking` / `boxMarkers`), the client with that content split into
 * `reasoning_content` before core converts the response. Unknown ids get the client as is.
 *
 * @since 0.1.0
 */
export const transportFor = <C extends OpenAiCompatClient.OpenAiCompatClientShape>(client: C, model: string): C => {
  return InlineThinking.wrapClient(client, InlineThinking.optionsOf(GlmModels.get(model)?.glm))
}

/**
 * The provider core builds from the declarations (`Client` tag, `makeClient`, `clientLayer`, `clientLayerConfig`,
 * `layer`, `model`, `promise`), used generically by the gateway and the registry. It behaves like `GlmClient` and
 * `GlmLanguageModel` (every GLM behaviour is a declaration core runs, inline reasoning included); those add only the
 * option of the exact pre-flight counter (`GlmConfig.ModelConfig.exactPreflight`).
 *
 * @since 0.1.0
 */
export const provider: OpenAiCompatProvider.Provider<typeof name> = OpenAiCompatProvider.make(declarations)
