/**
 * Spend budgets per key: a limit on what a key (a caller, an API key id) may spend per UTC day or per calendar month
 * (UTC), checked by `RateLimits` before each request and charged with each response's cost afterwards.
 *
 * - {@link windowAt}: the window a moment falls in and when it resets (pure arithmetic: a UTC day resets at the next
 *   00:00 UTC, a month at 00:00 UTC on the first day of the next month).
 * - {@link BudgetExceededError}: the failure of a request whose key has spent its budget in the current window.
 * - {@link SpendStore}: where spend is counted, per key and window: {@link memoryStore} (one process) or
 *   {@link redisStore} (shared by every instance on one Redis; a check is one `GET`, a charge one script call that
 *   adds the amount with `INCRBYFLOAT` and sets the counter to expire a day after its window's reset).
 *
 * A request is admitted while the spend of its key in the current window is below the limit, so requests admitted
 * together can take the spend past the limit by at most what they cost; the requests after them are refused until
 * the window resets. Only costs in the budget's currency count (no exchange rates are guessed); a response without a
 * cost (unknown price) counts nothing.
 *
 * @since 0.1.0
 */
import type { Cost as CoreCost } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import { Redis } from "effect/persistence"

/**
 * A budget's window: `day` is a UTC day (00:00 to 24:00 UTC), `month` a calendar month in UTC.
 *
 * @since 0.1.0
 */
export type Period = "day" | "month"

/**
 * A spend limit: `amount` in `currency` (an ISO 4217 code such as `USD`) per `period`.
 *
 * @since 0.1.0
 */
export interface Budget {
  readonly amount: number
  readonly currency: string
  readonly period: Period
}

/**
 * What one response cost: `amount` in `currency` (ISO 4217), as core's `Cost.costOf` computes it from the usage and
 * the model's prices (its `unconfirmed` flag plays no part in budgets).
 *
 * @since 0.1.0
 */
export type Cost = Pick<CoreCost.Cost, "amount" | "currency">

/**
 * One window of a period: `id` names it in store keys (`2026-12-07` for a day, `2026-12` for a month); `start` and
 * `resetAt` are epoch ms (UTC), `resetAt` exclusive.
 *
 * @since 0.1.0
 */
export interface Window {
  readonly id: string
  readonly start: number
  readonly resetAt: number
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0")

/**
 * The window of `period` that the moment `nowMs` (epoch ms) falls in.
 *
 * @since 0.1.0
 */
export const windowAt = (period: Period, nowMs: number): Window => {
  const date = new Date(nowMs)
  const year = date.getUTCFullYear()
  const month = date.getUTCMonth()
  if (period === "month") {
    return {
      id: `${pad(year, 4)}-${pad(month + 1)}`,
      start: Date.UTC(year, month, 1),
      resetAt: Date.UTC(year, month + 1, 1)
    }
  }
  const day = date.getUTCDate()
  return {
    id: `${pad(year, 4)}-${pad(month + 1)}-${pad(day)}`,
    start: Date.UTC(year, month, day),
    resetAt: Date.UTC(year, month, day + 1)
  }
}

/**
 * Whole seconds from `nowMs` to the reset of its window (rounded up, at least 1): the `Retry-After` of a refusal.
 *
 * @since 0.1.0
 */
export const secondsToReset = (window: Window, nowMs: number): number =>
  Math.max(1, Math.ceil((window.resetAt - nowMs) / 1000))

/**
 * A key has spent its budget in the current window. `limit` and `spent` are in `currency`; `resetAt` is the window's
 * reset (ISO 8601, UTC); `retryAfterMs` the time until then.
 *
 * @since 0.1.0
 */
export class BudgetExceededError extends Schema.TaggedError<BudgetExceededError>()("BudgetExceededError", {
  /** The key (an identifier, never a secret). */
  subject: Schema.String,
  limit: Schema.Number,
  spent: Schema.Number,
  currency: Schema.String,
  period: Schema.Literals(["day", "month"]),
  resetAt: Schema.String,
  retryAfterMs: Schema.Number
}) {
  override get message(): string {
    const window = this.period === "day" ? "UTC day" : "calendar month (UTC)"
    return `Budget of ${formatAmount(this.limit)} ${this.currency} per ${window} reached for key ${this.subject}: ${formatAmount(this.spent)} ${this.currency} spent; it resets at ${this.resetAt}`
  }
}

/** An amount without float noise (0.30000000000000004): 6 decimals from 1 up, 6 significant digits below. */
const formatAmount = (amount: number): string =>
  String(Math.abs(amount) >= 1 ? Math.round(amount * 1e6) / 1e6 : Number(amount.toPrecision(6)))

/**
 * The store of spend counters: `spent` reads a counter (0 when missing), `add` adds to it and lets it expire at
 * `expiresAt` (epoch ms). Both fail with the store's error (`RedisError` for Redis).
 *
 * @since 0.1.0
 */
export interface SpendStore {
  readonly spent: (key: string) => Effect.Effect<number, Redis.RedisError>
  readonly add: (key: string, amount: number, expiresAt: number) => Effect.Effect<void, Redis.RedisError>
}

/**
 * Counters in this process's memory (expired ones are dropped as new ones are written).
 *
 * @since 0.1.0
 */
export const memoryStore = (): SpendStore => {
  const counters = new Map<string, { amount: number; expiresAt: number }>()
  return {
    spent: (key) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const entry = counters.get(key)
          return entry === undefined || entry.expiresAt <= clock.currentTimeMillisUnsafe() ? 0 : entry.amount
        })
      ),
    add: (key, amount, expiresAt) =>
      Effect.clockWith((clock) =>
        Effect.sync(() => {
          const now = clock.currentTimeMillisUnsafe()
          const entry = counters.get(key)
          if (entry === undefined || entry.expiresAt <= now) {
            for (const [other, value] of counters) if (value.expiresAt <= now) counters.delete(other)
            counters.set(key, { amount, expiresAt })
          } else {
            entry.amount += amount
            entry.expiresAt = Math.max(entry.expiresAt, expiresAt)
          }
        })
      )
  }
}

const charge = (key: string, amount: number, expiresAt: number) => [key, amount, expiresAt] as const

const chargeScript = Redis.script(charge, {
  numberOfKeys: 1,
  lua: `local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return v`
}).withReturnType<string>()

/**
 * Counters in Redis (`redis` is effect's `Redis` service): `spent` is one `GET`; `add` one script call
 * (`INCRBYFLOAT`, then `PEXPIREAT`), atomic, so concurrent charges from several instances all count, each once.
 *
 * @since 0.1.0
 */
export const redisStore = (redis: Redis.Redis["Service"]): SpendStore => {
  const run = redis.eval(chargeScript)
  return {
    spent: (key) =>
      Effect.map(redis.send<string | null>("GET", key), (value) => {
        const n = value === null ? 0 : Number(value)
        return Number.isFinite(n) ? n : 0
      }),
    add: (key, amount, expiresAt) => Effect.asVoid(run(key, amount, Math.ceil(expiresAt)))
  }
}
