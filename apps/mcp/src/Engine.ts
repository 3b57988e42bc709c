/**
 * What every MCP tool call runs on: the gateway's model routes (the same registry, models.yaml names, fallbacks,
 * retries and timeouts), its `SessionManager` (admission, queue, execution timeout, rate limits), each provider's
 * mode and client, and the configuration. Built once per server process from the gateway's own modules
 * (`@conduitkit/gateway`), never re-implemented.
 */

import type { ModelsConfig, OpenAiCompatProvider, ProviderRegistry } from "@conduitkit/core"
import { ProviderError } from "@conduitkit/core"
import { Errors, type GatewayConfig, Engine as GatewayEngine, ModelRoutes, type Providers } from "@conduitkit/gateway"
import { Conversation, SessionManager } from "@conduitkit/session"
import { type Cause, Effect, Option } from "effect"
import { AiError } from "effect/ai"

/** The engine of one server. */
export interface Engine {
  readonly config: GatewayConfig.GatewayConfig
  readonly routes: ModelRoutes.ModelRoutes
  /** Each provider's mode (`live`, `simulated`, `config`). */
  readonly modes: ReadonlyMap<string, string>
  /** The clients of the built-in providers that are not disabled, by provider name. */
  readonly clients: ReadonlyMap<string, OpenAiCompatProvider.ProviderClient>
  readonly sessions: SessionManager.SessionManager["Service"]
  /**
   * What the gateway's engine runs a model call on (`chat`): the same routes and sessions, the server's conversations
   * (when configured), and its own retry budgets, provider cooldowns and metrics.
   */
  readonly deps: GatewayEngine.Dependencies
}

/** What an engine is made of (see `Providers.fromConfig` in `@conduitkit/gateway`). */
export interface Options {
  readonly config: GatewayConfig.GatewayConfig
  readonly providers: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly models?: ModelsConfig.ModelsConfig | undefined
  /** Each provider's mode; the disabled ones answer `provider_disabled` with the reason. */
  readonly status?: ReadonlyArray<Providers.Status> | undefined
  readonly clients?: ReadonlyMap<string, OpenAiCompatProvider.ProviderClient> | undefined
}

/** Builds the engine over the session manager (and, when configured, the conversations) in context. */
export const make = (options: Options): Effect.Effect<Engine, never, SessionManager.SessionManager> =>
  Effect.gen(function* () {
    const sessions = yield* SessionManager.SessionManager
    const conversations = Option.getOrUndefined(yield* Effect.serviceOption(Conversation.Conversation))
    const routes = ModelRoutes.forProviders(options.providers, options.models, options.status)
    return {
      config: options.config,
      routes,
      modes: new Map(options.providers.map((entry) => [entry.name, entry.mode ?? "live"] as const)),
      clients: options.clients ?? new Map(),
      sessions,
      deps: GatewayEngine.dependencies({ config: options.config, routes, sessions, conversations })
    }
  })

/**
 * A tool failure as the client sees it: the `effect/ai` reason (or the gateway's error type) and code, the message,
 * the HTTP status the gateway would answer, whether retrying may help, and the provider's request id.
 */
export interface ToolFailure {
  readonly reason: string
  readonly code: string | null
  readonly message: string
  readonly status: number
  readonly retryable: boolean
  readonly requestId?: string | undefined
  readonly retryAfterMs?: number | undefined
}

/** A failure detected by a tool itself (bad arguments, a provider that is not configured). */
export class ToolError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly code: string | null = null,
    readonly status = 400
  ) {
    super(message)
  }
}

/**
 * The {@link ToolFailure} of a failed call's cause (pure): a {@link ToolError} as is; an `AiError` with its reason
 * and retry advice (`ProviderError.describe`); everything else through the gateway's error table
 * (`Errors.fromCause`: rate limits, queue, timeouts, unknown models), never with internal detail.
 */
export const failureOf = (cause: Cause.Cause<unknown>): ToolFailure => {
  for (const reason of cause.reasons) {
    if (reason._tag !== "Fail" && reason._tag !== "Die") continue
    const error = reason._tag === "Fail" ? reason.error : reason.defect
    if (error instanceof ToolError) {
      return { reason: error.reason, code: error.code, message: error.message, status: error.status, retryable: false }
    }
    if (reason._tag === "Fail" && AiError.isAiError(error)) {
      const summary = ProviderError.describe(error)
      const http = Errors.toHttp(error)
      return {
        reason: summary.reason,
        code: http?.body.error.code ?? summary.code ?? null,
        message: http?.body.error.message ?? summary.message,
        status: http?.status ?? summary.status ?? 500,
        retryable: summary.retryable,
        ...(summary.requestId !== undefined ? { requestId: summary.requestId } : {}),
        ...(summary.retryAfterMs !== undefined ? { retryAfterMs: summary.retryAfterMs } : {})
      }
    }
  }
  const { http } = Errors.fromCause(cause)
  const tag = cause.reasons.find((reason) => reason._tag === "Fail")
  const name =
    tag?._tag === "Fail" && typeof tag.error === "object" && tag.error !== null && "_tag" in tag.error
      ? String(tag.error._tag)
      : http.body.error.type
  return {
    reason: name,
    code: http.body.error.code,
    message: http.body.error.message,
    status: http.status,
    retryable: http.status === 429 || http.status >= 500
  }
}
