/**
 * Requests-per-minute and tokens-per-minute limits per key (a caller, an API key id, a tenant) and per model, on
 * `effect/persistence`'s `RateLimiter`.
 *
 * - `layer(config)` keeps the counters in memory (one process).
 * - `layerRedis(config)` keeps them in Redis, so several instances (gateways) share one limit. It needs effect's
 *   `Redis` service, e.g. `NodeRedis.layer({ url })` from `@effect/platform-node`.
 * - `layerRedisFailover(config, options)` is `layerRedis` that falls back to per-instance counters in memory while
 *   Redis fails (or refuses, with `failClosed`).
 * - `layerFromRateLimiter(config)` uses whatever `RateLimiter` the context holds.
 *
 * Semantics (the `RateLimiter` "fixed-window" algorithm): a counter per limit and subject is incremented by each
 * request (1 for requests, the token estimate for tokens); every unit consumed extends the counter's life by
 * `60 s / limit`, and the counter resets when it expires. A request that would take a counter over its limit is
 * refused with `RateLimitExceededError`, whose `retryAfterMs` is the time until that counter resets, and consumes
 * nothing. A request is checked against every limit that applies to it (key requests, key tokens, model requests,
 * model tokens, in that order); when a later check refuses it, what the earlier checks consumed is given back.
 *
 * Tokens: the caller supplies an estimate up front (`tokens`), which is what the check consumes. After the call,
 * `Reservation.reportUsage(actual)` settles the difference: an overrun is charged even if it takes the counter over
 * the limit (later requests then wait longer), an underrun is refunded. `Reservation.refund` gives everything back,
 * for a request that never reached the upstream (the session manager does this for requests refused by its queue).
 * Refunds are consumptions of negative amounts, applied to the current counter: if the counter has already reset,
 * they have nothing left to give back. An estimate larger than a tokens-per-minute limit can never pass and is
 * refused with `retryAfterMs` = 60,000.
 *
 * Budgets (see `Budget`): a key with a `budgets` entry is refused with `BudgetExceededError` while its spend in the
 * current window (UTC day or calendar month) is at or above the limit; this check comes first, reads one counter and
 * consumes nothing. `Reservation.reportUsage(tokens, cost)` charges the response's cost to the window it ends in. Keys
 * without a budget cost nothing here (no store access).
 *
 * Keys are stored as `<prefix>key:<key>:rpm|tpm`, `<prefix>model:<model>:rpm|tpm` and
 * `<prefix>budget:<key>:<currency>:<window>`: pass an identifier (a key id, a hash), never a secret.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { RateLimiter, Redis } from "effect/persistence"
import * as Budget from "./Budget.js"

/**
 * Limits for one subject (a key or a model). A missing field means no limit of that kind.
 *
 * @since 0.1.0
 */
export interface Limit {
  /** Requests per minute. */
  readonly requestsPerMinute?: number | undefined
  /** Tokens per minute (estimates, settled with `reportUsage`). */
  readonly tokensPerMinute?: number | undefined
}

/**
 * Which limits apply: `perKey` / `perModel` for every key / model, overridden for some by `keys` / `models`.
 *
 * @since 0.1.0
 */
export interface Config {
  /** Default limits of every key. */
  readonly perKey?: Limit | undefined
  /** Default limits of every model. */
  readonly perModel?: Limit | undefined
  /** Limits of particular keys (replace `perKey` for them). */
  readonly keys?: Readonly<Record<string, Limit>> | undefined
  /** Limits of particular models (replace `perModel` for them). */
  readonly models?: Readonly<Record<string, Limit>> | undefined
  /** Spend budgets of particular keys (see `Budget`). */
  readonly budgets?: Readonly<Record<string, Budget.Budget>> | undefined
  /** Prefix of the store keys (default `"conduit:ratelimit:"`). */
  readonly prefix?: string | undefined
}

/**
 * One request to check: who sends it (`key`), to which `model`, with an estimate of its `tokens` (input plus
 * expected output). Missing parts are not checked.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly key?: string | undefined
  readonly model?: string | undefined
  /** Estimated tokens (default 0: tokens limits are not checked). */
  readonly tokens?: number | undefined
}

/**
 * A limit was reached. `retryAfterMs` is the time until the counter that refused the request resets.
 *
 * @since 0.1.0
 */
export class RateLimitExceededError extends Schema.TaggedError<RateLimitExceededError>()("RateLimitExceededError", {
  /** Whether a key limit or a model limit refused the request. */
  scope: Schema.Literals(["key", "model"]),
  /** The key or model. */
  subject: Schema.String,
  /** Which limit: requests per minute or tokens per minute. */
  kind: Schema.Literals(["requests", "tokens"]),
  /** The limit (per minute). */
  limit: Schema.Number,
  /** Time until a retry can pass (ms). */
  retryAfterMs: Schema.Number
}) {
  override get message(): string {
    return `Rate limit of ${this.limit} ${this.kind} per minute reached for ${this.scope} ${this.subject}; retry in ${this.retryAfterMs} ms`
  }
}

/**
 * The store behind the limits (Redis) could not be reached or answered with an error.
 *
 * @since 0.1.0
 */
export class RateLimitStoreError extends Schema.TaggedError<RateLimitStoreError>()("RateLimitStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * Why a request was refused: a rate limit or the key's budget.
 *
 * @since 0.1.0
 */
export type Refusal = RateLimitExceededError | Budget.BudgetExceededError

/**
 * What an accepted request consumed, to settle afterwards. Both methods act at most once; later calls do nothing.
 *
 * @since 0.1.0
 */
export interface Reservation {
  /** The token estimate that was consumed. */
  readonly tokens: number
  /**
   * Settles the tokens limits with the actual usage: charges `actualTokens - tokens` when positive (never fails on
   * the limit), refunds it when negative; charges `cost` to the key's budget when it has one in that currency.
   */
  readonly reportUsage: (
    actualTokens: number,
    cost?: Budget.Cost | undefined
  ) => Effect.Effect<void, RateLimitStoreError>
  /** Gives back everything consumed (requests and tokens), for a request that never reached the upstream. */
  readonly refund: Effect.Effect<void, RateLimitStoreError>
}

/**
 * The rate limits service.
 *
 * @since 0.1.0
 */
export class RateLimits extends Context.Service<
  RateLimits,
  {
    /**
     * Checks the key's budget, then checks and consumes every limit that applies to `request`. Fails with
     * `BudgetExceededError` or `RateLimitExceededError` (nothing consumed), or `RateLimitStoreError`.
     */
    readonly acquire: (request: Request) => Effect.Effect<Reservation, Refusal | RateLimitStoreError>
  }
>()("@conduitkit/session/RateLimits") {}

interface Check {
  readonly scope: "key" | "model"
  readonly subject: string
  readonly kind: "requests" | "tokens"
  readonly limit: number
  readonly storeKey: string
  readonly amount: number
}

const window = Duration.minutes(1)

const storeError = (error: RateLimiter.RateLimiterError | Redis.RedisError): RateLimitStoreError =>
  new RateLimitStoreError({
    message: error._tag === "RedisError" ? `Redis failed: ${String(error.cause)}` : error.message,
    cause: error
  })

const noopReservation = (tokens: number): Reservation => ({
  tokens,
  reportUsage: () => Effect.void,
  refund: Effect.void
})

/** A gate letting the first of a reservation's settlements run; later ones do nothing. */
const settleOnce = () => {
  let settled = false
  return <E>(effect: () => Effect.Effect<void, E>): Effect.Effect<void, E> =>
    Effect.suspend(() => {
      if (settled) return Effect.void
      settled = true
      return effect()
    })
}

/** A day's grace after a window's reset before its spend counter expires (for inspection). */
const spendGraceMs = 86_400_000

/**
 * Builds the service on the `RateLimiter` in the context, with budgets counted in this process's memory.
 *
 * @since 0.1.0
 */
export const make = (config: Config): Effect.Effect<RateLimits["Service"], never, RateLimiter.RateLimiter> =>
  makeWith(config, Budget.memoryStore())

/**
 * Builds the service on the `RateLimiter` in the context, with budgets counted in `spend`.
 *
 * @since 0.1.0
 */
export const makeWith = (
  config: Config,
  spend: Budget.SpendStore
): Effect.Effect<RateLimits["Service"], never, RateLimiter.RateLimiter> =>
  Effect.map(Effect.service(RateLimiter.RateLimiter), (limiter) => {
    const prefix = config.prefix ?? "conduit:ratelimit:"
    const warnedCurrencies = new Set<string>()

    const checksFor = (request: Request): Array<Check> => {
      const checks: Array<Check> = []
      const tokens = Math.max(0, request.tokens ?? 0)
      const add = (scope: "key" | "model", subject: string, limit: Limit | undefined) => {
        if (limit === undefined) return
        if (limit.requestsPerMinute !== undefined) {
          checks.push({
            scope,
            subject,
            kind: "requests",
            limit: limit.requestsPerMinute,
            storeKey: `${prefix}${scope}:${subject}:rpm`,
            amount: 1
          })
        }
        if (limit.tokensPerMinute !== undefined && tokens > 0) {
          checks.push({
            scope,
            subject,
            kind: "tokens",
            limit: limit.tokensPerMinute,
            storeKey: `${prefix}${scope}:${subject}:tpm`,
            amount: tokens
          })
        }
      }
      if (request.key !== undefined) add("key", request.key, config.keys?.[request.key] ?? config.perKey)
      if (request.model !== undefined) add("model", request.model, config.models?.[request.model] ?? config.perModel)
      return checks
    }

    /** Adds `amount` (may be negative) to a counter without ever failing on the limit. */
    const adjust = (check: Check, amount: number): Effect.Effect<void, RateLimitStoreError> =>
      amount === 0
        ? Effect.void
        : Effect.mapError(
            Effect.asVoid(
              limiter.consume({
                algorithm: "fixed-window",
                onExceeded: "delay",
                window,
                limit: check.limit,
                key: check.storeKey,
                tokens: amount
              })
            ),
            storeError
          )

    const giveBack = (checks: ReadonlyArray<Check>): Effect.Effect<void, RateLimitStoreError> =>
      Effect.forEach(checks, (check) => adjust(check, -check.amount), { discard: true })

    const acquireLimits = (
      request: Request
    ): Effect.Effect<Reservation, RateLimitExceededError | RateLimitStoreError> => {
      const checks = checksFor(request)
      const tokens = Math.max(0, request.tokens ?? 0)
      if (checks.length === 0) return Effect.succeed(noopReservation(tokens))
      const consumed: Array<Check> = []
      const step = (index: number): Effect.Effect<void, RateLimitExceededError | RateLimitStoreError> => {
        const check = checks[index]
        if (check === undefined) return Effect.void
        return limiter
          .consume({
            algorithm: "fixed-window",
            onExceeded: "fail",
            window,
            limit: check.limit,
            key: check.storeKey,
            tokens: check.amount
          })
          .pipe(
            Effect.matchEffect({
              onFailure: (error) => {
                const failure =
                  error.reason._tag === "RateLimitExceeded"
                    ? new RateLimitExceededError({
                        scope: check.scope,
                        subject: check.subject,
                        kind: check.kind,
                        limit: check.limit,
                        retryAfterMs: Math.ceil(Duration.toMillis(error.reason.retryAfter))
                      })
                    : storeError(error)
                return Effect.andThen(Effect.ignore(giveBack(consumed)), Effect.fail(failure))
              },
              onSuccess: () => {
                consumed.push(check)
                return step(index + 1)
              }
            })
          )
      }
      return Effect.map(step(0), () => {
        const once = settleOnce()
        return {
          tokens,
          reportUsage: (actualTokens: number) =>
            once(() =>
              Effect.forEach(
                checks.filter((check) => check.kind === "tokens"),
                (check) => adjust(check, Math.max(0, actualTokens) - check.amount),
                { discard: true }
              )
            ),
          refund: once(() => giveBack(checks))
        }
      })
    }

    const budgetKey = (key: string, budget: Budget.Budget, window: Budget.Window) =>
      `${prefix}budget:${key}:${budget.currency}:${window.id}`

    /** Refuses the request while its key's spend in the current window is at or above the budget. */
    const checkBudget = (
      key: string,
      budget: Budget.Budget
    ): Effect.Effect<void, Budget.BudgetExceededError | RateLimitStoreError> =>
      Effect.clockWith((clock) => {
        const now = clock.currentTimeMillisUnsafe()
        const window = Budget.windowAt(budget.period, now)
        return Effect.flatMap(Effect.mapError(spend.spent(budgetKey(key, budget, window)), storeError), (spent) =>
          spent < budget.amount
            ? Effect.void
            : Effect.fail(
                new Budget.BudgetExceededError({
                  subject: key,
                  limit: budget.amount,
                  spent,
                  currency: budget.currency,
                  period: budget.period,
                  resetAt: new Date(window.resetAt).toISOString(),
                  retryAfterMs: window.resetAt - now
                })
              )
        )
      })

    /** Charges `cost` to the key's budget, in the window it ends in; a cost in another currency is not counted. */
    const charge = (
      key: string,
      budget: Budget.Budget,
      cost: Budget.Cost | undefined
    ): Effect.Effect<void, RateLimitStoreError> => {
      if (cost === undefined || !(cost.amount > 0)) return Effect.void
      if (cost.currency !== budget.currency) {
        const seen = `${key}:${cost.currency}`
        if (warnedCurrencies.has(seen)) return Effect.void
        warnedCurrencies.add(seen)
        return Effect.logWarning(
          `RateLimits: costs in ${cost.currency} are not counted against the ${budget.currency} budget of key ${key}`
        )
      }
      return Effect.clockWith((clock) => {
        const window = Budget.windowAt(budget.period, clock.currentTimeMillisUnsafe())
        return Effect.mapError(
          spend.add(budgetKey(key, budget, window), cost.amount, window.resetAt + spendGraceMs),
          storeError
        )
      })
    }

    const withBudget = (reservation: Reservation, key: string, budget: Budget.Budget): Reservation => {
      const once = settleOnce()
      return {
        tokens: reservation.tokens,
        reportUsage: (actualTokens, cost) =>
          once(() =>
            Effect.flatMap(Effect.exit(charge(key, budget, cost)), (charged) =>
              Effect.andThen(reservation.reportUsage(actualTokens), charged)
            )
          ),
        refund: once(() => reservation.refund)
      }
    }

    const acquire = (request: Request): Effect.Effect<Reservation, Refusal | RateLimitStoreError> => {
      const key = request.key
      const budget = key !== undefined ? config.budgets?.[key] : undefined
      if (key === undefined || budget === undefined) return acquireLimits(request)
      return Effect.andThen(
        checkBudget(key, budget),
        Effect.map(acquireLimits(request), (reservation) => withBudget(reservation, key, budget))
      )
    }

    return RateLimits.of({ acquire })
  })

/**
 * Rate limits on the `RateLimiter` already in the context (bring your own store).
 *
 * @since 0.1.0
 */
export const layerFromRateLimiter = (config: Config): Layer.Layer<RateLimits, never, RateLimiter.RateLimiter> =>
  Layer.effect(RateLimits, make(config))

/**
 * Rate limits kept in this process's memory.
 *
 * @since 0.1.0
 */
export const layer = (config: Config): Layer.Layer<RateLimits> =>
  layerFromRateLimiter(config).pipe(Layer.provide(RateLimiter.layer), Layer.provide(RateLimiter.layerStoreMemory))

/**
 * Rate limits kept in Redis and shared by every instance using the same Redis and `prefix`. Requires effect's
 * `Redis` service (for example `NodeRedis.layer({ url })` from `@effect/platform-node`).
 *
 * @since 0.1.0
 */
export const layerRedis = (config: Config): Layer.Layer<RateLimits, never, Redis.Redis> =>
  Layer.effect(
    RateLimits,
    Effect.flatMap(Effect.service(Redis.Redis), (redis) => makeWith(config, Budget.redisStore(redis)))
  ).pipe(Layer.provide(RateLimiter.layer), Layer.provide(RateLimiter.layerStoreRedis({ prefix: "" })))

/**
 * Rate limits kept in Redis that fail soft: while the Redis store fails (`RateLimitStoreError`: Redis down or
 * slower than its timeout), requests are checked against counters in this process's memory instead, so the limits
 * hold per instance rather than refusing every request; Redis is tried first on every request, and its counters are
 * used again as soon as it answers. A warning is logged when the fallback starts and an info line when it ends.
 * `failClosed: true` keeps the strict behaviour of {@link layerRedis} (every request fails with
 * `RateLimitStoreError` while Redis is away). `onStore` is told whether the Redis store answered (for health checks).
 *
 * @since 0.1.0
 */
export const layerRedisFailover = (
  config: Config,
  options: { readonly failClosed?: boolean | undefined; readonly onStore?: ((ok: boolean) => void) | undefined } = {}
): Layer.Layer<RateLimits, never, Redis.Redis> =>
  Layer.effect(
    RateLimits,
    Effect.gen(function* () {
      const localSpend = Budget.memoryStore()
      const redisSpend = Budget.redisStore(yield* Redis.Redis)
      // while Redis is away, spend is charged (and, through `local`, checked) in this instance's memory
      const sharedSpend: Budget.SpendStore =
        options.failClosed === true
          ? redisSpend
          : {
              spent: redisSpend.spent,
              add: (key, amount, expiresAt) =>
                Effect.catch(redisSpend.add(key, amount, expiresAt), () => localSpend.add(key, amount, expiresAt))
            }
      const shared = yield* makeWith(config, sharedSpend).pipe(
        Effect.provide(RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreRedis({ prefix: "" }))))
      )
      const local = yield* makeWith(config, localSpend).pipe(
        Effect.provide(RateLimiter.layer.pipe(Layer.provide(RateLimiter.layerStoreMemory)))
      )
      let degraded = false
      const recovered = Effect.suspend(() => {
        options.onStore?.(true)
        if (!degraded) return Effect.void
        degraded = false
        return Effect.logInfo("RateLimits: the Redis store answers again; limits are shared again")
      })
      const fallBack = (error: RateLimitStoreError) =>
        Effect.suspend(() => {
          options.onStore?.(false)
          if (options.failClosed === true) return Effect.fail(error)
          const warn = degraded
            ? Effect.void
            : Effect.logWarning(
                `RateLimits: the Redis store failed (${error.message}); limits are per instance until it answers`
              )
          degraded = true
          return warn
        })
      return RateLimits.of({
        acquire: (request) =>
          shared.acquire(request).pipe(
            Effect.matchEffect({
              onFailure: (error) =>
                error._tag === "RateLimitStoreError"
                  ? Effect.andThen(fallBack(error), local.acquire(request))
                  : Effect.andThen(recovered, Effect.fail(error)),
              onSuccess: (reservation) => Effect.as(recovered, reservation)
            })
          )
      })
    }).pipe(Effect.annotateLogs({ module: "@conduitkit/session/RateLimits" }))
  )
