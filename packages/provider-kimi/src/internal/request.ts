/**
 * Kimi request shaping, composed (pure): the draft body core built from the prompt, the model's catalog entry and
 * the decoded provider options in; the body to send, or a refusal, out. Each step lives in its own module.
 *
 * Refuses only what a recording shows the live API refusing (docs/refusals/kimi.md), adapts with a warning where a
 * meaning-preserving change saves the request (thinking off for a forced `tool_choice` when the caller did not ask
 * for thinking), and sends everything else as is.
 *
 * Order: roles → thinking switch (with `$web_search`) → forced `tool_choice` (may switch thinking off) →
 * `reasoning_effort` → pinned sampling → `stop` count → `response_format` schema → partial mode → reasoning replay → context-cache reference → limits and
 * extras (`max_completion_tokens` sent as `max_tokens`, `store` dropped, `prompt_cache_key`, `safety_identifier`).
 * A cache referenced by headers is sent through core's `requestHeaders` hook ({@link requestHeaders}).
 */
import type { ChatCompletions, ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import * as KimiConfig from "../KimiConfig.js"
import * as KimiModels from "../KimiModels.js"
import * as Messages from "./messages.js"
import type { Refusal, Shaped } from "./refusal.js"
import * as Sampling from "./sampling.js"
import * as Thinking from "./thinking.js"
import * as Tools from "./tools.js"

type Body = ChatCompletions.WireRequest

/** The inputs of {@link shape}. `cache` is an explicit cache reference resolved by the caller (the registry). */
export interface ShapeInput {
  readonly draft: Body
  readonly model: ModelCatalog.ModelInfo
  readonly options: KimiConfig.ProviderOptions
  readonly cache?:
    | { readonly reference: Messages.CacheReference; readonly via: "message" | "headers"; readonly dropPrefix?: number }
    | undefined
  /** Reports an adaptation as a warning (core's `PrepareContext.warn`). */
  readonly warn?: ((warning: string) => void) | undefined
}

/** The thinking switch of a provider option or a raw wire `thinking` field (`undefined` when not a switch). */
export const wireThinking = (value: unknown): Thinking.WireThinking | undefined => {
  if (value === "enabled" || value === "disabled") return { type: value }
  if (typeof value === "object" && value !== null) {
    const type = (value as { type?: unknown }).type
    const keep = (value as { keep?: unknown }).keep
    if (type === "enabled" || type === "disabled") {
      return { type, ...(keep === "all" || keep === null ? { keep } : {}) }
    }
  }
  return undefined
}

/**
 * Shapes a request (see the module documentation).
 */
export const shape = (input: ShapeInput): Shaped<Body> => {
  const { model, options } = input
  const warn = input.warn ?? (() => {})
  const traits = KimiModels.traitsOf(model)
  const strict = options.strictSampling !== false

  let body: Body = { ...input.draft, messages: Messages.normalizeRoles(input.draft.messages) }

  // Thinking switch: the provider option wins over a raw wire `thinking`.
  const explicit = wireThinking(KimiConfig.thinkingOf(options) ?? body.thinking)
  const webSearch = Tools.declaresWebSearch(body.tools)
  const thinking = Thinking.resolve(model, traits, explicit, webSearch, warn)
  if (Result.isFailure(thinking)) return thinking as unknown as Shaped<Body>
  // a forced tool_choice may switch thinking off (before sampling: the pinned temperature depends on it)
  const forced = Tools.forcedChoice(body.tool_choice, model, traits, thinking.success, warn)
  if (Result.isFailure(forced)) return forced as unknown as Shaped<Body>
  const state = forced.success
  delete body.thinking
  if (state.wire !== undefined) body.thinking = state.wire

  const effort = options.reasoningEffort ?? body.reasoning_effort
  delete body.reasoning_effort
  if (effort !== undefined && effort !== null) body.reasoning_effort = effort

  if (strict) {
    const pinned = Sampling.applyPinned(body, model, traits, state.on)
    if (Result.isFailure(pinned)) return pinned as unknown as Shaped<Body>
    body = pinned.success as Body
  }
  const stop = Sampling.checkStop(body.stop)
  if (Result.isFailure(stop)) return stop as unknown as Shaped<Body>

  const format = body.response_format as { type?: unknown; json_schema?: { schema?: unknown } } | undefined
  if (format?.type === "json_schema" && format.json_schema !== undefined) {
    body.response_format = {
      ...format,
      type: "json_schema",
      json_schema: { ...format.json_schema, schema: Tools.normalizeSchema(format.json_schema.schema) }
    }
  }

  body.messages = Messages.replayReasoning(Messages.applyPartial(body.messages, options.partial), state.on)

  const cache: ShapeInput["cache"] = input.cache ?? explicitCache(options)
  if (cache !== undefined) {
    if (cache.via === "headers") {
      // the reference travels in request headers (see requestHeaders)
      if (cache.reference.cacheId === undefined) {
        // refusal: kimi/cache-tag-via-headers
        return Result.fail<Refusal>({
          parameter: "contextCache",
          description: 'a cache tag can only be used through the role "cache" message (via: "message"), not headers'
        })
      }
    } else {
      const withMessage = Messages.withCacheMessage(body, cache.reference, cache.dropPrefix ?? 0)
      if (Result.isFailure(withMessage)) return withMessage
      body = withMessage.success
    }
  }

  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) {
    if (body.max_tokens === undefined || body.max_tokens === null) body.max_tokens = body.max_completion_tokens
    delete body.max_completion_tokens
  }
  delete body.store
  if (options.promptCacheKey !== undefined) body.prompt_cache_key = options.promptCacheKey
  if (options.safetyIdentifier !== undefined) body.safety_identifier = options.safetyIdentifier

  return Result.succeed(body)
}

/**
 * The request headers of a call (core's `requestHeaders` hook): the `X-Msh-Context-Cache*` headers of an explicit
 * cache referenced with `via: "headers"` (a tag cannot be, {@link shape} refuses it), else none.
 */
export const requestHeaders = (options: KimiConfig.ProviderOptions): Record<string, string> | undefined => {
  const cache = explicitCache(options)
  return cache?.via === "headers" && cache.reference.cacheId !== undefined
    ? Messages.cacheHeaders(cache.reference)
    : undefined
}

const explicitCache = (options: KimiConfig.ProviderOptions): ShapeInput["cache"] => {
  const cache = options.contextCache
  if (cache === undefined || "auto" in cache) return undefined
  return {
    reference: {
      cacheId: cache.cacheId,
      tag: cache.tag,
      resetTtl: cache.resetTtl,
      dryRun: cache.dryRun
    },
    via: cache.via ?? "message"
  }
}
