/**
 * The Kimi provider's declarations and the provider core's builder makes of them (`OpenAiCompatProvider.make`).
 *
 * - Endpoints: `global` `https://api.moonshot.ai/v1` (default), `cn` `https://api.moonshot.cn/v1`, and the Kimi Code
 *   subscription, plan `coding`: `https://api.kimi.com/coding/v1` (docs/providers/kimi.md#endpoints-and-keys,
 *   #kimi-code). Keys from `MOONSHOT_API_KEY`, else `KIMI_API_KEY`; base URL from `MOONSHOT_BASE_URL`.
 * - Request ids from `msh-request-id`, else `x-msh-trace-id` (docs/providers/kimi.md#response-headers-and-request-ids).
 * - Default `User-Agent`: {@link defaultUserAgent}, Conduit's own (never another product's).
 * - Catalog `KimiModels.catalog`; error table `KimiError.errorTable`; reasoning replay ({@link reasoningReplay}):
 *   every assistant turn keeps its reasoning, tool-call turns get a non-empty placeholder when it was lost, also the
 *   turn core appends in a `$web_search` round when the model thinks (request shaping drops replayed reasoning when
 *   thinking is off).
 * - Request shaping (`prepareRequest`): provider options, thinking switch, `reasoning_effort`, sampling rules,
 *   `stop`, tools, `tool_choice`, partial mode, context caching (see `internal/request.ts`); refusals are
 *   `InvalidRequestError`s with `conduit.kind = "preflight"`, before any HTTP call. A cache referenced by headers
 *   is sent as `X-Msh-Context-Cache*` request headers (`requestHeaders`).
 * - `$web_search` as a provider-defined tool answered server-side (`KimiWebSearch`), MFJS schema normalization,
 *   continuation after `length` by partial-mode prefill, exact pre-flight token counts when
 *   `KimiTokenizer.layerExactPreflight` is installed, and `msh-context-cache-*` response headers in metadata.
 *
 * @since 0.1.0
 */
import {
  type ChatCompletions,
  CompletionAssembly,
  type ModelCatalog,
  type OpenAiCompatLanguageModel,
  OpenAiCompatProvider,
  type PromptConversion,
  TokenEstimator
} from "@conduitkit/core"
import { Effect, Redacted, Result } from "effect"
import { AiError } from "effect/ai"
import * as Messages from "./internal/messages.js"
import { ExactCounter, Registry } from "./internal/references.js"
import { toAiError } from "./internal/refusal.js"
import * as Request from "./internal/request.js"
import * as Thinking from "./internal/thinking.js"
import { normalizeSchema } from "./internal/tools.js"
import * as KimiConfig from "./KimiConfig.js"
import * as KimiError from "./KimiError.js"
import * as KimiModels from "./KimiModels.js"
import * as KimiPricing from "./KimiPricing.js"
import * as KimiWebSearch from "./KimiWebSearch.js"

/**
 * The endpoints by region and plan.
 *
 * @since 0.1.0
 */
export const baseURLs = {
  default: "https://api.moonshot.ai/v1",
  global: "https://api.moonshot.ai/v1",
  cn: "https://api.moonshot.cn/v1",
  coding: "https://api.kimi.com/coding/v1"
} as const

/**
 * The `User-Agent` Conduit sends unless told otherwise: its own name and version. The Kimi Code endpoint admits
 * only clients it recognizes (docs/providers/kimi.md#kimi-code); Conduit does not pretend to be one.
 *
 * @since 0.1.0
 */
export const defaultUserAgent = "conduitkit-provider-kimi/0.1.0 (+https://github.com/conduitkit/conduit)"

/**
 * The default model of the open platform and of the Kimi Code plan.
 *
 * @since 0.1.0
 */
export const defaultModels = { open: "kimi-k3", coding: "kimi-for-coding" } as const

/**
 * The base URL for client options: `baseURL` when given, else the Kimi Code endpoint for `plan: "coding"`, else
 * the region's host (`cn` or the global default).
 *
 * @since 0.1.0
 */
export const resolveBaseURL = (options: OpenAiCompatProvider.ClientOptions): string =>
  options.baseURL ??
  (options.plan === "coding" ? baseURLs.coding : options.region === "cn" ? baseURLs.cn : baseURLs.global)

/**
 * Extra `finish` metadata from Moonshot's response headers: `contextCacheTokensSaved` (tokens, from
 * `msh-context-cache-token-saved`, sent on automatic and explicit cache hits), `contextCacheId`
 * (`msh-context-cache-id`), `contextCacheExpiresAt` (`msh-context-cache-token-exp`, unix seconds) and `traceId`
 * (`x-msh-trace-id`). Sources: docs/providers/kimi.md#automatic-prefix-caching, #context-caching-api,
 * #response-headers-and-request-ids ([DOC-EN-25]; [NANOBOT] live 4700 tokens saved).
 *
 * @since 0.1.0
 */
export const responseMetadata = (
  headers: Readonly<Record<string, string>>
): Record<string, string | number | boolean> | undefined => {
  const out: Record<string, string | number | boolean> = {}
  const number = (value: string | undefined) =>
    value !== undefined && value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : undefined
  const saved = number(headers["msh-context-cache-token-saved"])
  if (saved !== undefined) out.contextCacheTokensSaved = saved
  const id = headers["msh-context-cache-id"]
  if (id !== undefined && id !== "") out.contextCacheId = id
  const exp = number(headers["msh-context-cache-token-exp"])
  if (exp !== undefined) out.contextCacheExpiresAt = exp
  const trace = headers["x-msh-trace-id"]
  if (trace !== undefined && trace !== "") out.traceId = trace
  return Object.keys(out).length > 0 ? out : undefined
}

const leadingSystem = (messages: ReadonlyArray<ChatCompletions.RequestMessage>): number => {
  let count = 0
  while (messages[count]?.role === "system") count++
  return count
}

const registryCache = (
  draft: ChatCompletions.WireRequest,
  model: ModelCatalog.ModelInfo,
  options: KimiConfig.ProviderOptions
): Effect.Effect<Request.ShapeInput["cache"], AiError.AiError> =>
  Effect.gen(function* () {
    const auto = options.contextCache
    if (auto === undefined || !("auto" in auto)) return undefined
    // cached automatically (or not at all), or a vision preview that can use caches but not create them
    if (!model.unknown && (model.capabilities.contextCaching !== "explicit" || !KimiModels.canCreateCache(model.id))) {
      return undefined
    }
    const registry = yield* Registry
    if (registry === undefined) {
      // refusal: kimi/cache-auto-without-registry
      return yield* toAiError({
        parameter: "contextCache",
        description:
          "contextCache: { auto: true } needs the context-cache registry: provide KimiContextCache.layerRegistry"
      })
    }
    const prefixLength = leadingSystem(draft.messages)
    if (prefixLength === 0) return undefined
    const found = yield* registry.forPrefix({
      model: model.id,
      messages: draft.messages.slice(0, prefixLength),
      tools: draft.tools ?? undefined,
      ttlSeconds: auto.ttlSeconds ?? 3600,
      resetTtl: auto.resetTtl
    })
    if (found === undefined) return undefined
    return {
      // the registry's resetTtl (or the call's) reaches the wire: Moonshot moves `expired_at` only when told
      reference: { cacheId: found.cacheId, resetTtl: found.resetTtl },
      via: "message" as const,
      dropPrefix: found.prefixLength
    }
  })

/**
 * Kimi's request-shaping hook for core (see `internal/request.ts`).
 *
 * @since 0.1.0
 */
export const prepareRequest = (
  draft: ChatCompletions.WireRequest,
  context: OpenAiCompatLanguageModel.PrepareContext
): Effect.Effect<ChatCompletions.WireRequest, AiError.AiError> =>
  Effect.gen(function* () {
    const options = yield* KimiConfig.decodeProviderOptions(context.config.providerOptions)
    const cache = yield* registryCache(draft, context.model, options)
    const shaped = Request.shape({ draft, model: context.model, options, cache, warn: context.warn })
    // refusal-relay (the shaping refusals below carry their own ids)
    if (Result.isFailure(shaped)) return yield* toAiError(shaped.failure)
    return shaped.success
  })

/**
 * Kimi's per-request headers for core (`requestHeaders`): the `X-Msh-Context-Cache`, `-Reset-TTL` and `-DryRun`
 * headers of a cache referenced with `contextCache: { cacheId, via: "headers" }`. Options that do not decode send
 * none (request shaping has refused the call by then).
 *
 * @since 0.1.0
 */
export const requestHeaders = (
  _request: ChatCompletions.WireRequest,
  context: OpenAiCompatLanguageModel.PrepareContext
): Readonly<Record<string, string>> | undefined => {
  const options = KimiConfig.decodeProviderOptionsResult(context.config.providerOptions)
  return Result.isSuccess(options) ? Request.requestHeaders(options.success) : undefined
}

const thinkingReplay: PromptConversion.ReasoningReplay = { mode: "always", placeholder: Messages.reasoningPlaceholder }

/**
 * Kimi's reasoning-replay policy per call (core's `reasoningReplay`): every assistant turn keeps its reasoning, and
 * a tool-call turn that lost it gets the placeholder `" "` (an empty string counts as missing) unless the model
 * does not think during a `$web_search` call. The placeholder matters for the tool-call turn core appends in a
 * `$web_search` provider-executed round (the history is adjusted by request shaping, which adds the placeholder with thinking
 * on and drops replayed reasoning with thinking off), so the thinking state is resolved as for a call that declares
 * `$web_search` (kimi-k2.5 then searches with thinking off unless the caller switched it on).
 *
 * @since 0.1.0
 */
export const reasoningReplay = (context: OpenAiCompatLanguageModel.ReplayContext): PromptConversion.ReasoningReplay => {
  const options = KimiConfig.decodeProviderOptionsResult(context.config.providerOptions)
  if (Result.isFailure(options)) return thinkingReplay // request shaping refuses the call
  const explicit = Request.wireThinking(KimiConfig.thinkingOf(options.success) ?? context.config.request?.thinking)
  const thinking = Thinking.resolve(context.model, KimiModels.traitsOf(context.model), explicit, true)
  return Result.isSuccess(thinking) && thinking.success.on === false ? { mode: "always" } : thinkingReplay
}

/**
 * Core's pre-flight counter: the exact counter when `KimiTokenizer.layerExactPreflight` is installed, else core's
 * estimate.
 *
 * @since 0.1.0
 */
export const countTokens = (request: ChatCompletions.WireRequest): Effect.Effect<number, AiError.AiError> =>
  Effect.gen(function* () {
    const exact = yield* ExactCounter
    return exact !== undefined
      ? yield* exact(request)
      : TokenEstimator.estimateRequest({ messages: request.messages, tools: request.tools })
  })

const openPlatformHost = /^https:\/\/api\.moonshot\.(ai|cn)\//

/**
 * Refuses a Kimi Code key (`sk-kimi-…`) on the open platform, where it always fails with 401
 * (docs/providers/kimi.md#kimi-code, https://github.com/NousResearch/hermes-agent/pull/13954). The key is inspected,
 * never logged.
 *
 * @since 0.1.0
 */
export const auth = (
  key: Redacted.Redacted<string>,
  options: OpenAiCompatProvider.ClientOptions
): Effect.Effect<Redacted.Redacted<string>, AiError.AiError> =>
  Redacted.value(key).startsWith("sk-kimi-") && openPlatformHost.test(`${resolveBaseURL(options)}/`)
    ? Effect.fail(
        AiError.make({
          module: "KimiClient",
          method: "auth",
          reason: new AiError.AuthenticationError({
            kind: "InvalidKey",
            description:
              'this is a Kimi Code key (sk-kimi-…), which only works with the Kimi Code endpoint: pass plan: "coding" (https://api.kimi.com/coding/v1), or use an open-platform key for api.moonshot.ai / api.moonshot.cn',
            // refusal: kimi/code-key-on-open-platform
            metadata: { conduit: { kind: "preflight", provider: "kimi" } }
          })
        })
      )
    : Effect.succeed(key)

/**
 * Options of {@link make}.
 *
 * - `catalog`: the model catalog (default `KimiModels.catalog`; see `KimiModels.make` for overrides).
 * - `webSearchMaxRounds`: the bound of `$web_search` provider-executed rounds per call (default 3).
 * - `currentModels`: models named by the 404 error description (default `KimiError.defaultCurrentModels`).
 *
 * @since 0.1.0
 */
export interface MakeOptions {
  readonly catalog?: ModelCatalog.Catalog | undefined
  readonly webSearchMaxRounds?: number | undefined
  readonly currentModels?: ReadonlyArray<string> | undefined
}

/**
 * Whether a non-stream request goes to Moonshot in streaming mode, its answer assembled (core's
 * `CompletionAssembly`): yes when it asks only for what the recorded streams carry (`onlyRecordedFeatures`: Moonshot's
 * live streams `moonshotai-usage-live.chunks.txt`, `moonshotai-stream-choice-usage.chunks.txt` and
 * `moonshotai-max-completion-tokens.chunks.txt` carry the id, model, `system_fingerprint`, text, `reasoning_content`,
 * the finish reason and the usage with `cached_tokens` and `reasoning_tokens`, in the choice or at the top level) and
 * does not use an explicit context cache: its `Msh-Context-Cache-*` response headers are recorded on non-stream
 * answers only (docs/providers/kimi.md#context-caching).
 *
 * @since 0.1.0
 */
export const assembleNonStream = (
  request: ChatCompletions.WireRequest,
  headers: Readonly<Record<string, string>> | undefined
): boolean =>
  CompletionAssembly.onlyRecordedFeatures(request) &&
  !Object.keys(headers ?? {}).some((name) => name.toLowerCase().startsWith("x-msh-context-cache"))

/**
 * The declarations (see the module documentation).
 *
 * @since 0.1.0
 */
export const declarations = (
  options: MakeOptions = {}
): OpenAiCompatProvider.Declarations & { readonly name: "kimi" } => ({
  name: "kimi",
  baseURLs,
  apiKeyEnv: ["MOONSHOT_API_KEY", "KIMI_API_KEY"],
  baseURLEnv: "MOONSHOT_BASE_URL",
  errorTable: KimiError.make({ currentModels: options.currentModels }),
  requestIdHeaders: ["msh-request-id", "x-msh-trace-id"],
  headers: { "user-agent": defaultUserAgent },
  defaultModel: defaultModels.open,
  resolveBaseURL,
  auth,
  catalog: options.catalog ?? KimiModels.catalog,
  reasoningReplay,
  prepareRequest,
  requestHeaders,
  assembleNonStream,
  providerTool: KimiWebSearch.providerTool,
  transformToolSchema: (schema) => normalizeSchema(schema) as Record<string, unknown>,
  responseMetadata,
  billingCurrency: KimiPricing.billingCurrency,
  continuation: "prefill",
  providerExecutedTools: KimiWebSearch.providerExecutedTools(options.webSearchMaxRounds),
  countTokens
})

/**
 * Builds the provider (core's `OpenAiCompatProvider.make` over {@link declarations}).
 *
 * @since 0.1.0
 */
export const make = (options: MakeOptions = {}): OpenAiCompatProvider.Provider<"kimi"> =>
  OpenAiCompatProvider.make(declarations(options))

/**
 * The provider with the default catalog.
 *
 * @since 0.1.0
 */
export const provider: OpenAiCompatProvider.Provider<"kimi"> = make()
