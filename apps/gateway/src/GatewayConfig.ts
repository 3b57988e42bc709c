/**
 * The gateway's configuration, read from the environment with Effect's `Config` (secrets as `Redacted`, never
 * logged). Every variable is listed in the README's configuration table.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `HOST` / `PORT` | `127.0.0.1` / `8787` | listen address |
 * | `CONDUIT_API_KEYS` | none | comma-separated bearer keys; without keys only a loopback `HOST` is accepted |
 * | `CONDUIT_MODELS` | none | path to models.yaml (else the built-in table) |
 * | `CONDUIT_MAX_BODY_BYTES` | 4 MiB | largest request body (413 above) |
 * | `CONDUIT_SHUTDOWN_GRACE_MS` | 10,000 | how long open streams may finish after SIGTERM |
 * | `CONDUIT_MAX_CONNECTIONS` | from the fd limit | client connections open at once (see `Connections`) |
 * | `CONDUIT_HEADERS_TIMEOUT_MS` | 10,000 | a connection's first byte and its whole headers |
 * | `CONDUIT_RECEIVE_TIMEOUT_MS` | 60,000 | receiving a whole request, body included (408 after) |
 * | `CONDUIT_KEEPALIVE_TIMEOUT_MS` | 65,000 | a connection idle between requests |
 * | `CONDUIT_SIMULATE` | auto | `1`: simulate every provider without a key; `0`: never; unset: only when no provider is live |
 * | `CONDUIT_CONVERSATIONS` | off | `1`: store history per `x-session-id` |
 * | `CONDUIT_RESPONSE_CACHE` | on | `0`: no response cache (idempotency keys still work) |
 * | `REDIS_URL` | none | share cache, idempotency, rate limits and conversations through Redis |
 * | `CONDUIT_MAX_CONCURRENT` / `_PER_SESSION` | 200 / 1 | requests running at once (all / per session) |
 * | `CONDUIT_MAX_QUEUED` / `CONDUIT_QUEUE_TIMEOUT_MS` | 1,000 / 60,000 | waiting requests and their longest wait |
 * | `CONDUIT_REQUEST_TIMEOUT_MS` | 600,000 | execution of one request, retries and fallbacks included (504 `request_timeout`); `0`: none |
 * | `CONDUIT_RATE_LIMIT_RPM` / `_TPM` | none | requests / tokens per minute per API key |
 * | `CONDUIT_MODEL_RATE_LIMIT_RPM` / `_TPM` | none | requests / tokens per minute per model name |
 * | `CONDUIT_RETRY_BUDGET` | 0.2 | retries allowed per request over 10 s (at least 5 a second), per provider; see core's `RetryBudget` |
 * | `CONDUIT_COOLDOWN_FAILURES` / `CONDUIT_COOLDOWN_MS` | 3 / 30,000 | failed calls in a row that cool a provider down in routes with fallbacks, and for how long (`0` failures: off); see `Cooldown` |
 * | `CONDUIT_RATE_LIMIT_FAIL` | `open` | with Redis away: `open` limits per instance, `closed` refuses (503) |
 * | `CONDUIT_LOG_LEVEL` | `info` | `debug`, `info`, `warn`, `error`, `none` |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` and the other `OTEL_*` variables | none | traces over OTLP/HTTP (see `Observability`) |
 *
 * Provider variables (`MOONSHOT_API_KEY`, `ZAI_API_KEY`, base URLs) are read by `Providers`. Limits of particular
 * keys (a spend budget, rpm, tpm) come from models.yaml's `keys:` section ({@link withKeys}).
 */
import type { ModelsConfig } from "@conduitkit/core"
import type { Budget, RateLimits } from "@conduitkit/session"
import type { LogLevel as EffectLogLevel } from "effect"
import { Config, Effect, Option, Redacted, Schema } from "effect"
import * as Observability from "./Observability.js"

type LogLevel = EffectLogLevel.LogLevel

/** Session manager limits (see `@conduitkit/session` `SessionManager.Config`); times in ms. */
export interface SessionLimits {
  readonly maxConcurrent: number
  readonly maxConcurrentPerSession: number
  readonly maxQueued: number
  readonly queueTimeoutMs: number
  readonly requestTimeoutMs: number | undefined
}

/** Client connection limits (see `Connections`); times in ms. `maxConnections` undefined: from the fd limit. */
export interface ConnectionLimits {
  readonly maxConnections: number | undefined
  readonly headersTimeoutMs: number
  readonly receiveTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

/** The whole configuration. Sizes in bytes, times in ms. */
export interface GatewayConfig {
  readonly host: string
  readonly port: number
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  readonly modelsFile: string | undefined
  readonly maxBodyBytes: number
  readonly shutdownGraceMs: number
  readonly connections: ConnectionLimits
  /**
   * Whether providers without a key are simulated: `true` (`CONDUIT_SIMULATE=1`) always, `false` never, `undefined`
   * (the default) only while no provider is live, so a simulated answer never mixes with live traffic unasked.
   */
  readonly simulate: boolean | undefined
  readonly conversations: boolean
  readonly responseCache: boolean
  readonly redisUrl: Redacted.Redacted<string> | undefined
  readonly sessions: SessionLimits
  readonly rateLimits: RateLimits.Config | undefined
  /** Retries allowed per request across all calls over a 10 s window (core's `RetryBudget`; at least 5 a second). */
  readonly retryBudgetRatio: number
  /** Provider cooldown in routes with fallbacks (see `Cooldown`); `failures: 0` turns it off. */
  readonly cooldown: { readonly failures: number; readonly cooldownMs: number }
  /** While Redis is away: `open` checks rate limits per instance, `closed` refuses rate-limited requests. */
  readonly rateLimitFail: "open" | "closed"
  readonly logLevel: LogLevel
  /** Traces over OTLP/HTTP (`undefined`: no tracer at all; see `Observability`). */
  readonly tracing: Observability.TracingConfig | undefined
}

/** The defaults (loopback, no keys, memory state), with `overrides` applied: the starting point of tests. */
export const make = (overrides: Partial<GatewayConfig> = {}): GatewayConfig => ({
  host: "127.0.0.1",
  port: 8787,
  apiKeys: [],
  modelsFile: undefined,
  maxBodyBytes: 4 * 1024 * 1024,
  shutdownGraceMs: 10_000,
  connections: {
    maxConnections: undefined,
    headersTimeoutMs: 10_000,
    receiveTimeoutMs: 60_000,
    keepAliveTimeoutMs: 65_000
  },
  simulate: undefined,
  conversations: false,
  responseCache: true,
  redisUrl: undefined,
  sessions: {
    maxConcurrent: 200,
    maxConcurrentPerSession: 1,
    maxQueued: 1_000,
    queueTimeoutMs: 60_000,
    requestTimeoutMs: defaultRequestTimeoutMs
  },
  rateLimits: undefined,
  retryBudgetRatio: 0.2,
  cooldown: { failures: 3, cooldownMs: 30_000 },
  rateLimitFail: "open",
  logLevel: "Info",
  tracing: undefined,
  ...overrides
})

/**
 * `config` with the limits of models.yaml's `keys:` section added to its rate limits: each key's `budget`, and its
 * `rpm` / `tpm`, which replace `CONDUIT_RATE_LIMIT_RPM` / `_TPM` for that key (a field the key does not set keeps the
 * variable's value). `config` itself when the section is missing or empty.
 */
export const withKeys = (config: GatewayConfig, keys: ModelsConfig.ModelsConfig["keys"]): GatewayConfig => {
  if (keys === undefined || Object.keys(keys).length === 0) return config
  const base = config.rateLimits ?? {}
  const limits: Record<string, RateLimits.Limit> = { ...base.keys }
  const budgets: Record<string, Budget.Budget> = { ...base.budgets }
  for (const [id, key] of Object.entries(keys)) {
    if (key.rpm !== undefined || key.tpm !== undefined) {
      limits[id] = {
        requestsPerMinute: key.rpm ?? base.perKey?.requestsPerMinute,
        tokensPerMinute: key.tpm ?? base.perKey?.tokensPerMinute
      }
    }
    if (key.budget !== undefined) budgets[id] = key.budget
  }
  return { ...config, rateLimits: { ...base, keys: limits, budgets } }
}

/** The configuration is inconsistent (e.g. a public `HOST` without `CONDUIT_API_KEYS`). */
export class GatewayConfigError extends Schema.TaggedError<GatewayConfigError>()("GatewayConfigError", {
  message: Schema.String
}) {}

/**
 * Whether a host name or address only accepts connections from this machine: `localhost`, `127.0.0.0/8`, `::1`
 * (bracketed or not), `::ffff:127.x.x.x`. `0.0.0.0`, `::` and every other address are public.
 */
export const isLoopback = (host: string): boolean => {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)
}

/**
 * Checks the rules that no single variable can: without API keys the gateway listens on loopback only.
 * Fails with {@link GatewayConfigError} naming the fix.
 */
export const validate = (config: GatewayConfig): Effect.Effect<GatewayConfig, GatewayConfigError> =>
  config.apiKeys.length === 0 && !isLoopback(config.host)
    ? Effect.fail(
        new GatewayConfigError({
          message: `refusing to listen on ${config.host} without authentication: set CONDUIT_API_KEYS (comma-separated bearer keys) or use a loopback HOST such as 127.0.0.1`
        })
      )
    : Effect.succeed(config)

const levels: Record<string, LogLevel> = {
  all: "All",
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  warning: "Warn",
  error: "Error",
  fatal: "Fatal",
  none: "None",
  off: "None"
}

/** A positive integer variable with a default; zero or a negative value fails naming the variable. */
const positive = (name: string, fallback: number): Effect.Effect<number, Config.ConfigError | GatewayConfigError> =>
  Effect.gen(function* () {
    const n = yield* Config.Int(name).pipe(Config.withDefault(fallback))
    if (n <= 0) return yield* new GatewayConfigError({ message: `${name}: expected a positive integer, got ${n}` })
    return n
  })

const nonNegative = (name: string, fallback: number): Effect.Effect<number, Config.ConfigError | GatewayConfigError> =>
  Effect.gen(function* () {
    const n = yield* Config.Int(name).pipe(Config.withDefault(fallback))
    if (n < 0) return yield* new GatewayConfigError({ message: `${name}: expected an integer >= 0, got ${n}` })
    return n
  })

/** `PORT`: 0 (any free port) to 65535. */
const port = Effect.gen(function* () {
  const n = yield* Config.Int("PORT").pipe(Config.withDefault(8787))
  if (n < 0 || n > 65_535) return yield* new GatewayConfigError({ message: `PORT: expected 0 to 65535, got ${n}` })
  return n
})

const optionalInt = (name: string) => Config.option(Config.Int(name)).pipe(Config.map(Option.getOrUndefined))

/** An optional positive integer variable; zero or a negative value fails naming the variable. */
const optionalPositive = (name: string): Effect.Effect<number | undefined, Config.ConfigError | GatewayConfigError> =>
  Effect.gen(function* () {
    const n = yield* optionalInt(name)
    if (n !== undefined && n <= 0) {
      return yield* new GatewayConfigError({ message: `${name}: expected a positive integer, got ${n}` })
    }
    return n
  })

/**
 * The default bound on one request's execution (`CONDUIT_REQUEST_TIMEOUT_MS`), in ms: 10 minutes, the library's
 * default total timeout of one call (`TimeoutPolicy.defaults.totalMs`), so a route with fallbacks cannot run one
 * full call bound per step.
 */
export const defaultRequestTimeoutMs = 600_000

/** `CONDUIT_REQUEST_TIMEOUT_MS`: a positive integer (ms), or `0` for no bound. */
const requestTimeout = Effect.gen(function* () {
  const ms = yield* Config.Int("CONDUIT_REQUEST_TIMEOUT_MS").pipe(Config.withDefault(defaultRequestTimeoutMs))
  if (ms < 0) {
    return yield* new GatewayConfigError({
      message: `CONDUIT_REQUEST_TIMEOUT_MS: expected a positive integer (or 0: no bound), got ${ms}`
    })
  }
  return ms === 0 ? undefined : ms
})

/** `CONDUIT_RETRY_BUDGET`: a number from 0 (only the floor of 5 retries a second) up. */
const retryBudget = Effect.gen(function* () {
  const ratio = yield* Config.Number("CONDUIT_RETRY_BUDGET").pipe(Config.withDefault(0.2))
  if (!(ratio >= 0)) {
    return yield* new GatewayConfigError({ message: `CONDUIT_RETRY_BUDGET: expected a number >= 0, got ${ratio}` })
  }
  return ratio
})

/**
 * Reads the configuration from the current `ConfigProvider` (the environment by default) and {@link validate}s it.
 * Fails with `ConfigError` naming a malformed variable, or `GatewayConfigError`.
 */
export const load: Effect.Effect<GatewayConfig, Config.ConfigError | GatewayConfigError> = Effect.gen(function* () {
  const base = make()
  const keysRaw = yield* Config.option(Config.Redacted("CONDUIT_API_KEYS"))
  const apiKeys = Option.isSome(keysRaw)
    ? Redacted.value(keysRaw.value)
        .split(",")
        .map((key) => key.trim())
        .filter((key) => key !== "")
        .map((key) => Redacted.make(key))
    : []
  const levelRaw = yield* Config.String("CONDUIT_LOG_LEVEL").pipe(Config.withDefault("info"))
  const logLevel = levels[levelRaw.trim().toLowerCase()]
  if (logLevel === undefined) {
    return yield* new GatewayConfigError({
      message: `CONDUIT_LOG_LEVEL: expected one of debug, info, warn, error, none; got "${levelRaw}"`
    })
  }
  const rpm = yield* optionalInt("CONDUIT_RATE_LIMIT_RPM")
  const tpm = yield* optionalInt("CONDUIT_RATE_LIMIT_TPM")
  const modelRpm = yield* optionalInt("CONDUIT_MODEL_RATE_LIMIT_RPM")
  const modelTpm = yield* optionalInt("CONDUIT_MODEL_RATE_LIMIT_TPM")
  const limit = (requestsPerMinute: number | undefined, tokensPerMinute: number | undefined) =>
    requestsPerMinute === undefined && tokensPerMinute === undefined
      ? undefined
      : {
          ...(requestsPerMinute !== undefined ? { requestsPerMinute } : {}),
          ...(tokensPerMinute !== undefined ? { tokensPerMinute } : {})
        }
  const perKey = limit(rpm, tpm)
  const perModel = limit(modelRpm, modelTpm)
  const redisUrl = yield* Config.option(Config.Redacted("REDIS_URL"))
  const failRaw = (yield* Config.String("CONDUIT_RATE_LIMIT_FAIL").pipe(Config.withDefault("open")))
    .trim()
    .toLowerCase()
  if (failRaw !== "open" && failRaw !== "closed") {
    return yield* new GatewayConfigError({
      message: `CONDUIT_RATE_LIMIT_FAIL: expected open or closed; got "${failRaw}"`
    })
  }
  const config: GatewayConfig = {
    host: yield* Config.String("HOST").pipe(Config.withDefault(base.host)),
    port: yield* port,
    apiKeys,
    modelsFile: Option.getOrUndefined(yield* Config.option(Config.String("CONDUIT_MODELS"))),
    maxBodyBytes: yield* positive("CONDUIT_MAX_BODY_BYTES", base.maxBodyBytes),
    shutdownGraceMs: yield* Config.Int("CONDUIT_SHUTDOWN_GRACE_MS").pipe(Config.withDefault(base.shutdownGraceMs)),
    connections: {
      maxConnections: yield* optionalPositive("CONDUIT_MAX_CONNECTIONS"),
      headersTimeoutMs: yield* positive("CONDUIT_HEADERS_TIMEOUT_MS", base.connections.headersTimeoutMs),
      receiveTimeoutMs: yield* positive("CONDUIT_RECEIVE_TIMEOUT_MS", base.connections.receiveTimeoutMs),
      keepAliveTimeoutMs: yield* positive("CONDUIT_KEEPALIVE_TIMEOUT_MS", base.connections.keepAliveTimeoutMs)
    },
    simulate: Option.getOrUndefined(yield* Config.option(Config.Boolean("CONDUIT_SIMULATE"))),
    conversations: yield* Config.Boolean("CONDUIT_CONVERSATIONS").pipe(Config.withDefault(false)),
    responseCache: yield* Config.Boolean("CONDUIT_RESPONSE_CACHE").pipe(Config.withDefault(true)),
    redisUrl: Option.getOrUndefined(redisUrl),
    sessions: {
      maxConcurrent: yield* positive("CONDUIT_MAX_CONCURRENT", base.sessions.maxConcurrent),
      maxConcurrentPerSession: yield* positive(
        "CONDUIT_MAX_CONCURRENT_PER_SESSION",
        base.sessions.maxConcurrentPerSession
      ),
      maxQueued: yield* Config.Int("CONDUIT_MAX_QUEUED").pipe(Config.withDefault(base.sessions.maxQueued)),
      queueTimeoutMs: yield* positive("CONDUIT_QUEUE_TIMEOUT_MS", base.sessions.queueTimeoutMs),
      requestTimeoutMs: yield* requestTimeout
    },
    rateLimits:
      perKey === undefined && perModel === undefined
        ? undefined
        : { ...(perKey !== undefined ? { perKey } : {}), ...(perModel !== undefined ? { perModel } : {}) },
    retryBudgetRatio: yield* retryBudget,
    cooldown: {
      failures: yield* nonNegative("CONDUIT_COOLDOWN_FAILURES", base.cooldown.failures),
      cooldownMs: yield* positive("CONDUIT_COOLDOWN_MS", base.cooldown.cooldownMs)
    },
    rateLimitFail: failRaw,
    logLevel,
    tracing: yield* Observability.config
  }
  return yield* validate(config)
})
