/**
 * Optional services that request shaping consults without depending on the client module: the context-cache
 * registry (used when a call asks for `contextCache: { auto: true }`) and an exact token counter for core's
 * pre-flight check. Both default to "not installed"; `KimiContextCache.layerRegistry` and
 * `KimiTokenizer.layerExactPreflight` install them.
 */
import type { ChatCompletions } from "@conduitkit/core"
import { Context, type Effect } from "effect"
import type { AiError } from "effect/ai"

/** What the registry needs to find or create a cache for a prompt prefix. */
export interface PrefixRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
  readonly tools: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  readonly ttlSeconds: number
  /** The call's `reset_ttl` (seconds); overrides the registry's own. */
  readonly resetTtl?: number | undefined
}

/** A cache found or created for a prefix. */
export interface PrefixCache {
  readonly cacheId: string
  /** How many leading messages the cache holds (they are not sent again). */
  readonly prefixLength: number
  /** `reset_ttl` (seconds) to send with the cache message, so the server's expiry moves along with the registry's. */
  readonly resetTtl?: number | undefined
}

/** The registry as request shaping sees it. `undefined` result: no usable cache (send the full prompt). */
export interface RegistryShape {
  readonly forPrefix: (request: PrefixRequest) => Effect.Effect<PrefixCache | undefined, AiError.AiError>
}

/** The installed registry (default: none). */
export const Registry: Context.Reference<RegistryShape | undefined> = Context.Reference<RegistryShape | undefined>(
  "@conduitkit/provider-kimi/ContextCacheRegistry",
  { defaultValue: () => undefined }
)

/** An exact prompt-token counter (default: none, core's estimate is used). */
export const ExactCounter: Context.Reference<
  ((request: ChatCompletions.WireRequest) => Effect.Effect<number, AiError.AiError>) | undefined
> = Context.Reference<((request: ChatCompletions.WireRequest) => Effect.Effect<number, AiError.AiError>) | undefined>(
  "@conduitkit/provider-kimi/ExactCounter",
  { defaultValue: () => undefined }
)
