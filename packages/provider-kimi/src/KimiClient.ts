/**
 * The Kimi client service: core's OpenAI-compatible transport (the `openai` SDK with retries off, abort tied to the
 * fiber, stream guards, Moonshot's error table) configured for Moonshot.
 *
 * - Key: `apiKey` (a string is wrapped in `Redacted` at once and never logged), or from the environment with
 *   {@link layerConfig}: `MOONSHOT_API_KEY`, else `KIMI_API_KEY`.
 * - Endpoint: `baseURL`, else `MOONSHOT_BASE_URL` ({@link layerConfig}), else by `region` (`"global"`:
 *   `https://api.moonshot.ai/v1`, default; `"cn"`: `https://api.moonshot.cn/v1`) or `plan: "coding"` (Kimi Code:
 *   `https://api.kimi.com/coding/v1`, model `kimi-for-coding`, `sk-kimi-` keys). Keys of the two platforms are
 *   independent (docs/providers/kimi.md#endpoints-and-keys).
 * - `userAgent`: the `User-Agent` header (default `KimiProvider.defaultUserAgent`, Conduit's own). The Kimi Code
 *   endpoint admits only clients it recognizes and answers others 403 `access_terminated_error`, which Conduit
 *   turns into an `AuthenticationError` (`InsufficientPermissions`) explaining the gate (`KimiError`); Conduit never
 *   impersonates another product by default.
 * - The request id (`msh-request-id`, else `x-msh-trace-id`) reaches response metadata (`requestId`) and errors.
 *
 * @since 0.1.0
 */
import type { OpenAiCompatProvider } from "@conduitkit/core"
import { type Config, Context, Layer, type Redacted } from "effect"
import type { AiError } from "effect/ai"
import * as KimiProvider from "./KimiProvider.js"

/**
 * The client service tag (`@conduitkit/provider-kimi/Client`, the key core's provider builder gives the Kimi
 * provider's client, so both name the same slot of an Effect `Context`): core's `ProviderClient` (chat, streams,
 * `request`, `use`) and the options it was built with, key excluded.
 *
 * @since 0.1.0
 */
export class KimiClient extends Context.Service<KimiClient, OpenAiCompatProvider.ProviderClient>()(
  "@conduitkit/provider-kimi/Client"
) {}

/**
 * Client options (all optional where the environment supplies them).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
  readonly baseURL?: string | undefined
  readonly region?: "global" | "cn" | undefined
  readonly plan?: "open" | "coding" | undefined
  readonly userAgent?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
  /** The provider to build the client for (default `KimiProvider.provider`). */
  readonly provider?: OpenAiCompatProvider.Provider<"kimi"> | undefined
}

/**
 * The options core's builder receives: the `User-Agent` merged into the headers, `plan` passed only for
 * `"coding"`.
 *
 * @since 0.1.0
 */
export const toClientOptions = (options: Options): OpenAiCompatProvider.ClientOptions => ({
  ...(options.apiKey !== undefined ? { apiKey: options.apiKey } : {}),
  ...(options.baseURL !== undefined ? { baseURL: options.baseURL } : {}),
  ...(options.region !== undefined ? { region: options.region } : {}),
  ...(options.plan === "coding" ? { plan: "coding" } : {}),
  headers: {
    ...(options.headers ?? {}),
    ...(options.userAgent !== undefined ? { "user-agent": options.userAgent } : {})
  },
  ...(options.fetch !== undefined ? { fetch: options.fetch } : {})
})

/**
 * Builds a client.
 *
 * @since 0.1.0
 */
export const make = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): OpenAiCompatProvider.ProviderClient =>
  (options.provider ?? KimiProvider.provider).makeClient({ ...toClientOptions(options), apiKey: options.apiKey })

/**
 * A layer with a client from explicit options.
 *
 * @since 0.1.0
 */
export const layer = (
  options: Options & { readonly apiKey: string | Redacted.Redacted<string> }
): Layer.Layer<KimiClient> => Layer.succeed(KimiClient, make(options))

/**
 * A layer with a client from the environment: the key from `MOONSHOT_API_KEY` (else `KIMI_API_KEY`) unless
 * `options.apiKey` is given, the base URL from `MOONSHOT_BASE_URL` unless `options.baseURL` is given. Fails with an
 * `AiError` (`AuthenticationError`, `kind: "MissingKey"`) naming both variables when no key is set, before any
 * HTTP call (core's `OpenAiCompatProvider.missingKey`).
 *
 * @since 0.1.0
 */
export const layerConfig = (options: Options = {}): Layer.Layer<KimiClient, Config.ConfigError | AiError.AiError> =>
  Layer.effect(KimiClient, (options.provider ?? KimiProvider.provider).clientFromConfig(toClientOptions(options)))
