import { RedisServer } from "@conduitkit/core/testing"
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Result, Stream } from "effect"
import { TestClock } from "effect/testing"
import { afterAll, beforeAll } from "vitest"
import * as RateLimits from "../src/RateLimits.js"
import * as SessionError from "../src/SessionError.js"
import * as SessionManager from "../src/SessionManager.js"

const limits = (config: RateLimits.Config) =>
  Effect.service(RateLimits.RateLimits).pipe(Effect.provide(RateLimits.layer(config)))

describe("RateLimits (memory)", () => {
  it.effect("allows requestsPerMinute requests per key, then fails with the time until the counter resets", () =>
    Effect.gen(function* () {
      const rl = yield* limits({ perKey: { requestsPerMinute: 3 } })
      for (let i = 0; i < 3; i++) yield* rl.acquire({ key: "alice" })
      const error = yield* Effect.flip(rl.acquire({ key: "alice" }))
      assert.instanceOf(error, RateLimits.RateLimitExceededError)
      assert.isTrue(error._tag === "RateLimitExceededError")
      if (error._tag !== "RateLimitExceededError") return
      assert.deepStrictEqual([error.scope, error.subject, error.kind, error.limit], ["key", "alice", "requests", 3])
      assert.strictEqual(error.retryAfterMs, 60_000)
      // another key has its own counter
      yield* rl.acquire({ key: "bob" })
      yield* TestClock.adjust("20 seconds")
      const later = yield* Effect.flip(rl.acquire({ key: "alice" }))
      assert.isTrue(later._tag === "RateLimitExceededError" && later.retryAfterMs === 40_000)
      yield* TestClock.adjust("40 seconds")
      yield* rl.acquire({ key: "alice" })
    })
  )

  it.effect("consumes the token estimate against tokensPerMinute, per model with overrides", () =>
    Effect.gen(function* () {
      const rl = yield* limits({
        perModel: { tokensPerMinute: 1_000 },
        models: { "kimi/kimi-k3": { tokensPerMinute: 100 } }
      })
      yield* rl.acquire({ model: "glm/glm-5", tokens: 900 })
      const error = yield* Effect.flip(rl.acquire({ model: "glm/glm-5", tokens: 200 }))
      assert.isTrue(error._tag === "RateLimitExceededError" && error.kind === "tokens" && error.scope === "model")
      yield* rl.acquire({ model: "kimi/kimi-k3", tokens: 100 })
      const small = yield* Effect.flip(rl.acquire({ model: "kimi/kimi-k3", tokens: 1 }))
      assert.isTrue(small._tag === "RateLimitExceededError" && small.limit === 100)
      // no estimate: the tokens limit is not checked
      yield* rl.acquire({ model: "kimi/kimi-k3" })
    })
  )

  it.effect("refuses an estimate larger than the limit itself with a full-window retry", () =>
    Effect.gen(function* () {
      const rl = yield* limits({ perKey: { tokensPerMinute: 100 } })
      const error = yield* Effect.flip(rl.acquire({ key: "k", tokens: 101 }))
      assert.isTrue(error._tag === "RateLimitExceededError" && error.retryAfterMs === 60_000)
    })
  )

  it.effect("gives back what earlier checks consumed when a later check refuses", () =>
    Effect.gen(function* () {
      const rl = yield* limits({ perKey: { requestsPerMinute: 2 }, perModel: { requestsPerMinute: 1 } })
      yield* rl.acquire({ key: "k", model: "m" })
      const refused = yield* Effect.flip(rl.acquire({ key: "k", model: "m" }))
      assert.isTrue(refused._tag === "RateLimitExceededError" && refused.scope === "model")
      // the key's second request was refunded, so the key still has one left
      yield* rl.acquire({ key: "k", model: "other" })
      const keyRefused = yield* Effect.flip(rl.acquire({ key: "k", model: "other-2" }))
      assert.isTrue(keyRefused._tag === "RateLimitExceededError" && keyRefused.scope === "key")
    })
  )

  it.effect("settles the estimate with the actual usage: overruns charged, underruns refunded, once", () =>
    Effect.gen(function* () {
      const rl = yield* limits({ perKey: { tokensPerMinute: 1_000 } })
      const first = yield* rl.acquire({ key: "k", tokens: 500 })
      yield* first.reportUsage(200) // refund 300: 200 used
      yield* first.reportUsage(1_000) // settled already: ignored
      const second = yield* rl.acquire({ key: "k", tokens: 800 }) // 1,000 used
      const refused = yield* Effect.flip(rl.acquire({ key: "k", tokens: 1 }))
      assert.strictEqual(refused._tag, "RateLimitExceededError")
      yield* second.reportUsage(900) // overrun of 100 charged although it passes the limit
      yield* TestClock.adjust("1 minute")
      // 1,100 consumed: the counter lives 66 s, so 6 s more before anything passes
      const stillRefused = yield* Effect.flip(rl.acquire({ key: "k", tokens: 1 }))
      assert.isTrue(stillRefused._tag === "RateLimitExceededError" && stillRefused.retryAfterMs === 6_000)
      yield* TestClock.adjust("6 seconds")
      yield* rl.acquire({ key: "k", tokens: 1_000 })
    })
  )

  it.effect("refund gives back requests and tokens", () =>
    Effect.gen(function* () {
      const rl = yield* limits({ perKey: { requestsPerMinute: 1, tokensPerMinute: 100 } })
      const reservation = yield* rl.acquire({ key: "k", tokens: 100 })
      yield* reservation.refund
      yield* rl.acquire({ key: "k", tokens: 100 })
    })
  )
})

describe("SessionManager with RateLimits", () => {
  const managerWith = (config: RateLimits.Config, manager: SessionManager.Config = {}) =>
    SessionManager.layer(manager).pipe(Layer.provide(RateLimits.layer(config)))

  it.effect("refuses over the limit before queueing, with the retry time", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionManager.SessionManager
      yield* sessions.run(Effect.void, { rateLimit: { key: "tenant-1" } })
      const error = yield* Effect.flip(sessions.run(Effect.void, { rateLimit: { key: "tenant-1" } }))
      assert.instanceOf(error, RateLimits.RateLimitExceededError)
      assert.isTrue(error._tag === "RateLimitExceededError" && error.retryAfterMs === 60_000)
      const stats = yield* sessions.stats
      assert.deepStrictEqual([stats.completed, stats.failed, stats.rejected, stats.inFlight], [1, 1, 1, 0])
    }).pipe(Effect.provide(managerWith({ perKey: { requestsPerMinute: 1 } })))
  )

  it.effect("refunds the rate limit of a request the queue refused", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionManager.SessionManager
      const blocker = yield* Effect.forkChild(sessions.run(Effect.sleep("1 second")))
      yield* Effect.yieldNow
      const full = yield* Effect.flip(sessions.run(Effect.void, { rateLimit: { key: "k" } }))
      assert.instanceOf(full, SessionError.QueueFullError)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(blocker)
      // the refused request gave its request back: the key can still send one
      yield* sessions.run(Effect.void, { rateLimit: { key: "k" } })
    }).pipe(Effect.provide(managerWith({ perKey: { requestsPerMinute: 1 } }, { maxConcurrent: 1, maxQueued: 0 })))
  )

  it.effect("settles tokens from the value (run) or the elements (runStream) with actualTokens", () =>
    Effect.gen(function* () {
      const sessions = yield* SessionManager.SessionManager
      yield* sessions.run(Effect.succeed({ usage: 10 }), {
        rateLimit: { key: "k", tokens: 900, actualTokens: (value) => value.usage }
      })
      // 10 used, so 990 remain
      yield* sessions.run(Effect.void, { rateLimit: { key: "k", tokens: 990 } })
      yield* TestClock.adjust("1 minute")
      const parts = [{ usage: undefined }, { usage: 300 }, { usage: 400 }]
      yield* Stream.runDrain(
        sessions.runStream(Stream.fromIterable(parts), {
          rateLimit: { key: "k", tokens: 100, actualTokens: (part) => part.usage }
        })
      )
      // 700 used: 300 remain
      const refused = yield* Effect.flip(sessions.run(Effect.void, { rateLimit: { key: "k", tokens: 301 } }))
      assert.strictEqual(refused._tag, "RateLimitExceededError")
      yield* sessions.run(Effect.void, { rateLimit: { key: "k", tokens: 300 } })
    }).pipe(Effect.provide(managerWith({ perKey: { tokensPerMinute: 1_000 } })))
  )
})

describe("RateLimits (Redis)", () => {
  let server: RedisServer.RedisServer
  beforeAll(async () => {
    server = await RedisServer.startRedisServer()
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
  })

  /** One "instance": its own Redis client, rate limits and session manager. */
  const instance = (config: RateLimits.Config, options: { readonly disableOfflineQueue?: boolean } = {}) =>
    SessionManager.layer().pipe(
      Layer.provide(RateLimits.layerRedis(config)),
      Layer.provide(NodeRedis.layer({ url: server.url, ...options }))
    )

  it.live("two managers on one Redis share one limit", () =>
    Effect.gen(function* () {
      const config: RateLimits.Config = { perKey: { requestsPerMinute: 5 }, prefix: `test:${Date.now()}:` }
      const a = yield* Layer.build(instance(config))
      const b = yield* Layer.build(instance(config))
      const managerA = Context.get(a, SessionManager.SessionManager)
      const managerB = Context.get(b, SessionManager.SessionManager)
      const outcomes: Array<string> = []
      for (let i = 0; i < 10; i++) {
        const manager = i % 2 === 0 ? managerA : managerB
        const exit = yield* Effect.result(manager.run(Effect.succeed(i), { rateLimit: { key: "shared" } }))
        outcomes.push(
          Result.isSuccess(exit) ? "ok" : exit.failure._tag === "RateLimitExceededError" ? "limited" : exit.failure._tag
        )
      }
      assert.deepStrictEqual(outcomes, [
        "ok",
        "ok",
        "ok",
        "ok",
        "ok",
        "limited",
        "limited",
        "limited",
        "limited",
        "limited"
      ])
      const error = yield* Effect.flip(managerB.run(Effect.void, { rateLimit: { key: "shared" } }))
      assert.isTrue(error._tag === "RateLimitExceededError" && error.retryAfterMs > 0 && error.retryAfterMs <= 60_000)
      // each instance counted its own refusals
      const [statsA, statsB] = [yield* managerA.stats, yield* managerB.stats]
      assert.strictEqual(statsA.completed + statsB.completed, 5)
      assert.strictEqual(statsA.rejected + statsB.rejected, 6)
    }).pipe(Effect.scoped)
  )

  it.live("token estimates and settlements are shared too", () =>
    Effect.gen(function* () {
      const config: RateLimits.Config = { perModel: { tokensPerMinute: 1_000 }, prefix: `test:${Date.now()}:tpm:` }
      const a = Context.get(yield* Layer.build(instance(config)), SessionManager.SessionManager)
      const b = Context.get(yield* Layer.build(instance(config)), SessionManager.SessionManager)
      yield* a.run(Effect.succeed(100), { rateLimit: { model: "m", tokens: 800, actualTokens: (n) => n } })
      yield* b.run(Effect.void, { rateLimit: { model: "m", tokens: 900 } })
      const refused = yield* Effect.flip(a.run(Effect.void, { rateLimit: { model: "m", tokens: 1 } }))
      assert.strictEqual(refused._tag, "RateLimitExceededError")
    }).pipe(Effect.scoped)
  )

  it.live("reports an unreachable store as RateLimitStoreError", () =>
    Effect.gen(function* () {
      const config: RateLimits.Config = { perKey: { requestsPerMinute: 5 }, prefix: `test:${Date.now()}:down:` }
      const manager = Context.get(
        yield* Layer.build(instance(config, { disableOfflineQueue: true })),
        SessionManager.SessionManager
      )
      yield* manager.run(Effect.void, { rateLimit: { key: "k" } })
      yield* Effect.promise(() => server.stop())
      const error = yield* Effect.flip(
        manager.run(Effect.void, { rateLimit: { key: "k" } }).pipe(Effect.timeout("5 seconds"))
      )
      yield* Effect.promise(() => server.restart())
      assert.strictEqual(error._tag, "RateLimitStoreError")
      assert.strictEqual((yield* manager.stats).inFlight, 0)
    }).pipe(Effect.scoped)
  )

  it.live(
    "layerRedisFailover: per-instance limits while Redis is down, fail-closed on request, shared again after",
    () =>
      Effect.gen(function* () {
        const config: RateLimits.Config = { perKey: { requestsPerMinute: 3 }, prefix: `test:${Date.now()}:failover:` }
        const seen: Record<string, Array<boolean>> = { open: [], closed: [] }
        const failover = (failClosed: boolean) =>
          Effect.map(
            Layer.build(
              SessionManager.layer().pipe(
                Layer.provide(
                  RateLimits.layerRedisFailover(config, {
                    failClosed,
                    onStore: (ok) => seen[failClosed ? "closed" : "open"]?.push(ok)
                  })
                ),
                Layer.provide(NodeRedis.layer({ url: server.url, disableOfflineQueue: true }))
              )
            ),
            (context) => Context.get(context, SessionManager.SessionManager)
          )
        const open = yield* failover(false)
        const closed = yield* failover(true)
        const outcome = (manager: SessionManager.SessionManager["Service"]) =>
          Effect.map(Effect.result(manager.run(Effect.void, { rateLimit: { key: "k" } })), (exit) =>
            Result.isSuccess(exit) ? "ok" : exit.failure._tag
          )
        assert.strictEqual(yield* outcome(open), "ok") // 1 of 3 in Redis
        yield* Effect.promise(() => server.stop())
        // Redis down: the open instance counts in memory (3 per minute of its own), the closed one refuses
        const during = [yield* outcome(open), yield* outcome(open), yield* outcome(open), yield* outcome(open)]
        assert.deepStrictEqual(during, ["ok", "ok", "ok", "RateLimitExceededError"])
        assert.strictEqual(yield* outcome(closed), "RateLimitStoreError")
        assert.isTrue(seen.open?.includes(false))
        yield* Effect.promise(() => server.restart())
        // back (a fresh redis-server without persistence: its counter starts again), used once each client reconnected
        // (probed with another key)
        for (const [name, manager] of [
          ["open", open],
          ["closed", closed]
        ] as const) {
          const deadline = Date.now() + 30_000 // a reconnect on a loaded machine
          while (seen[name]?.at(-1) !== true && Date.now() < deadline) {
            yield* Effect.result(manager.run(Effect.void, { rateLimit: { key: `probe-${name}` } }))
            if (seen[name]?.at(-1) !== true) yield* Effect.sleep("100 millis")
          }
        }
        assert.deepStrictEqual(
          [yield* outcome(closed), yield* outcome(open), yield* outcome(closed), yield* outcome(open)],
          ["ok", "ok", "ok", "RateLimitExceededError"]
        )
      }).pipe(Effect.scoped)
  )
})
