import { RedisServer } from "@conduitkit/core/testing"
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Result, Stream } from "effect"
import { Redis } from "effect/persistence"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import * as Budget from "../src/Budget.js"
import * as RateLimits from "../src/RateLimits.js"
import * as SessionManager from "../src/SessionManager.js"

const at = (iso: string) => Date.parse(iso)

describe("Budget.windowAt", () => {
  const cases: ReadonlyArray<readonly [string, Budget.Period, string, string, string, number]> = [
    // now, period, window id, start, reset, seconds to reset
    ["2026-12-07T20:15:30.000Z", "day", "2026-12-07", "2026-12-07T00:00:00.000Z", "2026-12-08T00:00:00.000Z", 13_470],
    ["2026-12-07T00:00:00.000Z", "day", "2026-12-07", "2026-12-07T00:00:00.000Z", "2026-12-08T00:00:00.000Z", 86_400],
    ["2026-12-07T23:59:59.999Z", "day", "2026-12-07", "2026-12-07T00:00:00.000Z", "2026-12-08T00:00:00.000Z", 1],
    ["2026-12-31T23:59:59.000Z", "day", "2026-12-31", "2026-12-31T00:00:00.000Z", "2027-01-01T00:00:00.000Z", 1],
    ["2028-02-28T12:00:00.000Z", "day", "2028-02-28", "2028-02-28T00:00:00.000Z", "2028-02-29T00:00:00.000Z", 43_200],
    ["2026-12-07T20:15:30.000Z", "month", "2026-12", "2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z", 2_087_070],
    ["2027-02-01T00:00:00.000Z", "month", "2027-02", "2027-02-01T00:00:00.000Z", "2027-03-01T00:00:00.000Z", 2_419_200],
    ["2028-02-15T00:00:00.000Z", "month", "2028-02", "2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z", 1_296_000],
    ["2026-01-31T23:59:59.500Z", "month", "2026-01", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", 1]
  ]
  for (const [now, period, id, start, reset, seconds] of cases) {
    it(`${period} at ${now}: ${id}, resets ${reset} in ${seconds} s`, () => {
      const window = Budget.windowAt(period, at(now))
      assert.deepStrictEqual(window, { id, start: at(start), resetAt: at(reset) })
      assert.strictEqual(Budget.secondsToReset(window, at(now)), seconds)
    })
  }

  it("a local time zone plays no part (windows are UTC)", () => {
    // 2026-12-07T23:30 in UTC is already the 8th in Tokyo and still the 7th in Los Angeles: the window is the 7th
    assert.strictEqual(Budget.windowAt("day", at("2026-12-07T23:30:00+00:00")).id, "2026-12-07")
    assert.strictEqual(Budget.windowAt("day", at("2026-12-08T08:30:00+09:00")).id, "2026-12-07")
  })
})

const usd = (amount: number): Budget.Cost => ({ amount, currency: "USD" })

describe("RateLimits budgets (memory)", () => {
  const managerWith = (config: RateLimits.Config) =>
    Effect.map(Layer.build(SessionManager.layer().pipe(Layer.provide(RateLimits.layer(config)))), (context) =>
      Context.get(context, SessionManager.SessionManager)
    )

  it.effect("admits while the spend is under the limit, then refuses until the UTC day resets", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2026-12-07T20:00:00.000Z"))
      const manager = yield* managerWith({ budgets: { k: { amount: 1, currency: "USD", period: "day" } } })
      const call = (cost: Budget.Cost | undefined) =>
        Effect.result(manager.run(Effect.succeed(cost), { rateLimit: { key: "k", actualCost: (c) => c } }))
      assert.isTrue(Result.isSuccess(yield* call(usd(0.6))))
      assert.isTrue(Result.isSuccess(yield* call(usd(0.5)))) // 0.6 < 1 when admitted: it runs, spend is now 1.1
      const refused = yield* call(usd(0.1))
      assert.isTrue(Result.isFailure(refused))
      if (!Result.isFailure(refused)) return
      const error = refused.failure
      assert.instanceOf(error, Budget.BudgetExceededError)
      if (!(error instanceof Budget.BudgetExceededError)) return
      assert.deepStrictEqual(
        [error.subject, error.limit, error.spent, error.currency, error.period, error.resetAt, error.retryAfterMs],
        ["k", 1, 1.1, "USD", "day", "2026-12-08T00:00:00.000Z", 4 * 3_600_000]
      )
      assert.match(
        error.message,
        /Budget of 1 USD per UTC day reached for key k: 1\.1 USD spent; it resets at 2026-12-08/
      )
      // other keys are not limited; a key without a budget never is
      assert.isTrue(
        Result.isSuccess(yield* manager.run(Effect.void, { rateLimit: { key: "other" } }).pipe(Effect.result))
      )
      yield* TestClock.adjust("4 hours")
      assert.isTrue(Result.isSuccess(yield* call(usd(0.1))))
    }).pipe(Effect.scoped)
  )

  it.effect("counts only costs in the budget's currency and responses with a cost", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2026-12-07T10:00:00.000Z"))
      const manager = yield* managerWith({ budgets: { k: { amount: 1, currency: "USD", period: "month" } } })
      const call = (cost: Budget.Cost | undefined) =>
        Effect.result(manager.run(Effect.succeed(cost), { rateLimit: { key: "k", actualCost: (c) => c } }))
      for (const cost of [{ amount: 5, currency: "CNY" }, undefined, usd(0), usd(0.99)]) {
        assert.isTrue(Result.isSuccess(yield* call(cost)))
      }
      assert.isTrue(Result.isSuccess(yield* call(usd(0.01))))
      const refused = yield* call(usd(0.01))
      assert.isTrue(Result.isFailure(refused) && refused.failure._tag === "BudgetExceededError")
      if (!Result.isFailure(refused) || !(refused.failure instanceof Budget.BudgetExceededError)) return
      assert.strictEqual(refused.failure.resetAt, "2027-01-01T00:00:00.000Z")
    }).pipe(Effect.scoped)
  )

  it.effect("a stream is charged the costs of its elements, also when it is cancelled after them", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2026-12-07T10:00:00.000Z"))
      const manager = yield* managerWith({ budgets: { k: { amount: 1, currency: "USD", period: "day" } } })
      const options = { rateLimit: { key: "k", actualCost: (c: Budget.Cost | undefined) => c } }
      // the consumer stops after the element carrying the cost: the stream is interrupted, the cost still counts
      yield* Stream.runDrain(
        Stream.take(manager.runStream(Stream.make(undefined, usd(1), undefined, undefined), options), 2)
      )
      const refused = yield* Effect.flip(Stream.runDrain(manager.runStream(Stream.make(usd(0.1)), options)))
      assert.strictEqual(refused._tag, "BudgetExceededError")
      assert.strictEqual((yield* manager.stats).inFlight, 0)
    }).pipe(Effect.scoped)
  )

  it.effect("a refused request consumes no rate limit, and a key's rpm still applies under its budget", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(at("2026-12-07T10:00:00.000Z"))
      const manager = yield* managerWith({
        keys: { k: { requestsPerMinute: 2 } },
        budgets: { k: { amount: 1, currency: "USD", period: "day" } }
      })
      const call = (cost: Budget.Cost | undefined) =>
        Effect.map(
          Effect.result(manager.run(Effect.succeed(cost), { rateLimit: { key: "k", actualCost: (c) => c } })),
          (exit) => (Result.isSuccess(exit) ? "ok" : exit.failure._tag)
        )
      assert.deepStrictEqual(
        [yield* call(usd(0.1)), yield* call(usd(0.1)), yield* call(usd(0.1))],
        ["ok", "ok", "RateLimitExceededError"]
      )
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* call(usd(1)), "ok")
      // over budget: refused before the rpm counter, which stays untouched
      assert.strictEqual(yield* call(usd(0.1)), "BudgetExceededError")
      assert.strictEqual(yield* call(usd(0.1)), "BudgetExceededError")
      yield* TestClock.adjust("1 day")
      assert.deepStrictEqual([yield* call(undefined), yield* call(undefined)], ["ok", "ok"])
    }).pipe(Effect.scoped)
  )
})

describe("RateLimits budgets (Redis)", () => {
  let server: RedisServer.RedisServer
  beforeAll(async () => {
    server = await RedisServer.startRedisServer()
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
  })

  const instance = (config: RateLimits.Config, layer = RateLimits.layerRedis(config)) =>
    Effect.map(
      Layer.build(
        SessionManager.layer().pipe(
          Layer.provide(layer),
          Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))
        )
      ),
      (context) => Context.get(context, SessionManager.SessionManager)
    )

  const redisGet = (key: string) =>
    Effect.gen(function* () {
      const context = yield* Layer.build(NodeRedis.layer({ url: server.url }))
      const redis = Context.get(context, Redis.Redis)
      return {
        value: yield* redis.send<string | null>("GET", key),
        ttl: yield* redis.send<number>("PTTL", key)
      }
    })

  it.live("two instances share one budget: each charge counts once, the next request is refused by either", () =>
    Effect.gen(function* () {
      const prefix = `test:${Date.now()}:budget:`
      const config: RateLimits.Config = { prefix, budgets: { k: { amount: 1, currency: "USD", period: "day" } } }
      const a = yield* instance(config)
      const b = yield* instance(config)
      const call = (manager: SessionManager.SessionManager["Service"], cost: Budget.Cost) =>
        Effect.map(
          Effect.result(manager.run(Effect.succeed(cost), { rateLimit: { key: "k", actualCost: (c) => c } })),
          (exit) => (Result.isSuccess(exit) ? "ok" : exit.failure._tag)
        )
      // 8 concurrent charges of 0.1 from both instances: all admitted (spend 0 when checked), all counted
      const outcomes = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => call(i % 2 === 0 ? a : b, usd(0.1))),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(outcomes, Array(8).fill("ok"))
      const now = Date.now()
      const window = Budget.windowAt("day", now)
      const stored = yield* redisGet(`${prefix}budget:k:USD:${window.id}`)
      assert.closeTo(Number(stored.value), 0.8, 1e-9)
      // expires a day after the window's reset
      assert.isTrue(stored.ttl > window.resetAt - now && stored.ttl <= window.resetAt - now + 86_400_000)
      assert.strictEqual(yield* call(a, usd(0.3)), "ok")
      const refusedA = yield* Effect.flip(a.run(Effect.void, { rateLimit: { key: "k" } }))
      const refusedB = yield* Effect.flip(b.run(Effect.void, { rateLimit: { key: "k" } }))
      for (const refused of [refusedA, refusedB]) {
        assert.instanceOf(refused, Budget.BudgetExceededError)
        if (!(refused instanceof Budget.BudgetExceededError)) return
        assert.closeTo(refused.spent, 1.1, 1e-9)
        assert.strictEqual(refused.resetAt, new Date(window.resetAt).toISOString())
        assert.isTrue(refused.retryAfterMs > 0 && refused.retryAfterMs <= window.resetAt - now)
      }
    }).pipe(Effect.scoped)
  )

  it.live("layerRedisFailover: with Redis away, spend is checked and charged per instance; shared again after", () =>
    Effect.gen(function* () {
      const prefix = `test:${Date.now()}:budget-failover:`
      const config: RateLimits.Config = { prefix, budgets: { k: { amount: 1, currency: "USD", period: "day" } } }
      const seen: Array<boolean> = []
      const open = yield* instance(config, RateLimits.layerRedisFailover(config, { onStore: (ok) => seen.push(ok) }))
      const closed = yield* instance(config, RateLimits.layerRedisFailover(config, { failClosed: true }))
      const call = (manager: SessionManager.SessionManager["Service"], cost: Budget.Cost) =>
        Effect.map(
          Effect.result(manager.run(Effect.succeed(cost), { rateLimit: { key: "k", actualCost: (c) => c } })),
          (exit) => (Result.isSuccess(exit) ? "ok" : exit.failure._tag)
        )
      assert.strictEqual(yield* call(open, usd(0.5)), "ok") // in Redis
      yield* Effect.promise(() => server.stop())
      // the open instance starts an empty counter of its own; the closed one refuses
      assert.deepStrictEqual([yield* call(open, usd(1)), yield* call(open, usd(0.1))], ["ok", "BudgetExceededError"])
      assert.strictEqual(yield* call(closed, usd(0.1)), "RateLimitStoreError")
      assert.isTrue(seen.includes(false))
      yield* Effect.promise(() => server.restart())
      // a fresh redis-server without persistence: the shared counter starts again once each client reconnected (the
      // open one reports it through onStore, the closed one by answering; a reconnect on a loaded machine takes time)
      const deadline = Date.now() + 30_000
      while (seen.at(-1) !== true && Date.now() < deadline) {
        yield* call(open, usd(0))
        if (seen.at(-1) !== true) yield* Effect.sleep("100 millis")
      }
      while ((yield* call(closed, usd(0))) !== "ok" && Date.now() < deadline) yield* Effect.sleep("100 millis")
      assert.deepStrictEqual([yield* call(open, usd(1)), yield* call(closed, usd(0))], ["ok", "BudgetExceededError"])
    }).pipe(Effect.scoped)
  )
})
