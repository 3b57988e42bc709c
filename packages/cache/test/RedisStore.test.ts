import { CacheStore } from "@conduitkit/core"
import { RedisServer } from "@conduitkit/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Exit, Layer, Logger, Option, References, Schema } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as MemoryStore from "../src/MemoryStore.js"
import * as RedisStore from "../src/RedisStore.js"
import type { ClaimableStore, StoreStats } from "../src/Store.js"
import { connectedClients, type RawClient, rawClient } from "./redis.js"

let server: RedisServer.RedisServer
let raw: RawClient
let n = 0
const freshPrefix = () => `test-${process.pid}-${n++}:`

beforeAll(async () => {
  server = await RedisServer.startRedisServer()
  raw = await rawClient(server.url)
})
afterAll(async () => {
  raw?.destroy()
  await server?.stop()
})

/**
 * `RedisStore.layer` with a bound on each round trip that a loaded machine stays inside (the default 500 ms is not:
 * a read that times out is a miss, a write a failure), unless the test sets its own.
 */
const storeLayer = (options: Parameters<typeof RedisStore.layer>[0]) =>
  RedisStore.layer({ operationTimeout: "10 seconds", ...options })

/** Runs `body` with a store built by `RedisStore.layer` (so the connection is the layer's own). */
const withStore = <A, E>(options: RedisStore.LayerOptions, body: (store: ClaimableStore) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const store = (yield* CacheStore.CacheStore) as ClaimableStore
    return yield* body(store)
  }).pipe(Effect.provide(storeLayer({ url: server.url, ...options })))

/** Builds a store layer in the current scope (it stays connected until the scope closes). */
const storeIn = (layer: Layer.Layer<never, unknown>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, CacheStore.CacheStore) as ClaimableStore)

const stats = (store: ClaimableStore) => store.stats as Effect.Effect<StoreStats, CacheStore.CacheStoreError>

/** Retries `effect` until it succeeds with a value satisfying `ok` (real time, bounded). */
const eventually = <A, E>(effect: Effect.Effect<A, E>, ok: (a: A) => boolean, timeout = Duration.seconds(10)) =>
  Effect.gen(function* () {
    const deadline = Date.now() + Duration.toMillis(timeout)
    while (true) {
      const exit = yield* Effect.exit(effect)
      if (Exit.isSuccess(exit) && ok(exit.value)) return exit.value
      if (Date.now() > deadline) return yield* Effect.die(new Error(`not reached in time: ${String(exit)}`))
      yield* Effect.sleep("50 millis")
    }
  })

describe("RedisStore on a real redis-server", () => {
  it.live("gets, sets, deletes, and counts only its own prefix", () => {
    const prefix = freshPrefix()
    return withStore({ prefix }, (store) =>
      Effect.gen(function* () {
        yield* Effect.promise(() => raw.set("someone-else:k", "1"))
        yield* store.set("a", { cacheId: "ctx-1", n: [1, 2] })
        yield* store.set("b", "two")
        assert.deepStrictEqual(yield* store.get("a"), Option.some({ cacheId: "ctx-1", n: [1, 2] }))
        assert.deepStrictEqual(yield* store.get("missing"), Option.none())
        assert.strictEqual(yield* Effect.promise(() => raw.get(`${prefix}b`)), `"two"`)
        assert.isTrue(yield* store.delete("b"))
        assert.isFalse(yield* store.delete("b"))
        const counted = yield* stats(store)
        assert.deepStrictEqual(
          { hits: counted.hits, misses: counted.misses, size: counted.size, failures: counted.failures },
          { hits: 1, misses: 1, size: 1, failures: 0 }
        )
        // Redis expires and evicts by itself: the store cannot observe either, so it reports neither
        assert.isUndefined(counted.evictions)
        assert.isUndefined(counted.expirations)
      })
    )
  })

  it.live("lets Redis enforce TTLs (SET ... PX) and expire entries", () => {
    const prefix = freshPrefix()
    return withStore({ prefix, defaultTtl: "1 hour" }, (store) =>
      Effect.gen(function* () {
        // 1 s: Redis holds it (PTTL within the TTL) or has already expired it (-2) when a loaded machine reads late
        yield* store.set("short", 1, { ttl: "1 second" })
        yield* store.set("default", 2)
        yield* store.set("forever", 3, { ttl: Duration.infinity })
        const short = yield* Effect.promise(() => raw.pTTL(`${prefix}short`))
        const long = yield* Effect.promise(() => raw.pTTL(`${prefix}default`))
        const forever = yield* Effect.promise(() => raw.pTTL(`${prefix}forever`))
        assert.isTrue(short === -2 || (short > 0 && short <= 1_000), `short PTTL ${short}`)
        assert.isTrue(long > 3_500_000 && long <= 3_600_000, `default PTTL ${long}`)
        assert.strictEqual(forever, -1)
        yield* Effect.sleep("1100 millis")
        assert.deepStrictEqual(yield* store.get("short"), Option.none())
        assert.deepStrictEqual(yield* store.get("default"), Option.some(2))
        yield* store.set("default", 4, { ttl: 0 })
        assert.deepStrictEqual(yield* store.get("default"), Option.none())
      })
    )
  })

  it.live("two store instances (two connections) with one prefix share entries; another prefix is isolated", () => {
    const prefix = freshPrefix()
    const layerA = storeLayer({ url: server.url, prefix })
    const layerB = storeLayer({ url: server.url, prefix })
    const layerOther = storeLayer({ url: server.url, prefix: freshPrefix() })
    return Effect.gen(function* () {
      const a = yield* storeIn(layerA)
      const b = yield* storeIn(layerB)
      const other = yield* storeIn(layerOther)
      yield* a.set("shared", { by: "a" })
      assert.deepStrictEqual(yield* b.get("shared"), Option.some({ by: "a" }))
      assert.deepStrictEqual(yield* other.get("shared"), Option.none())
      assert.isTrue(yield* b.setIfAbsent("claim", "b", { ttl: "10 seconds" }))
      assert.isFalse(yield* a.setIfAbsent("claim", "a", { ttl: "10 seconds" }))
      assert.deepStrictEqual(yield* a.get("claim"), Option.some("b"))
      assert.isTrue(yield* b.delete("shared"))
      assert.deepStrictEqual(yield* a.get("shared"), Option.none())
    })
  })

  it.live("treats a stored value that is not JSON as a miss and removes it", () => {
    const prefix = freshPrefix()
    return withStore({ prefix }, (store) =>
      Effect.gen(function* () {
        yield* Effect.promise(() => raw.set(`${prefix}bad`, "{not json"))
        assert.deepStrictEqual(yield* store.get("bad"), Option.none())
        assert.strictEqual(yield* Effect.promise(() => raw.exists(`${prefix}bad`)), 0)
        const counted = yield* stats(store)
        assert.strictEqual(counted.undecodable, 1)
        assert.strictEqual(counted.misses, 1)
        // and one that is JSON but no longer matches its schema, through core's typed helper
        const Entry = Schema.Struct({ cacheId: Schema.String })
        yield* store.set("old", { cacheId: 7 })
        assert.deepStrictEqual(yield* CacheStore.getDecoded(store, "old", Entry), Option.none())
        assert.strictEqual(yield* Effect.promise(() => raw.exists(`${prefix}old`)), 0)
        // the store saw valid JSON (a hit); the schema mismatch is core's business and is not counted here
        const after = yield* stats(store)
        assert.strictEqual(after.undecodable, 1)
        assert.strictEqual(after.hits, 1)
      })
    )
  })

  it.live("bounds each operation by operationTimeout (a paused Redis), fail-open and fail-closed", () => {
    const prefix = freshPrefix()
    // a 1 s bound a loaded machine's round trips stay inside, a pause (6 s) that outlasts both bounded reads (2 s)
    // with room to spare: a read that waited for Redis instead of its bound would end after the pause
    const open = RedisStore.layer({ url: server.url, prefix, operationTimeout: "1 second" })
    const closed = RedisStore.layer({ url: server.url, prefix, operationTimeout: "1 second", failureMode: "closed" })
    return Effect.gen(function* () {
      const openStore = yield* storeIn(open)
      const closedStore = yield* storeIn(closed)
      yield* openStore.set("k", 1)
      yield* Effect.promise(() => raw.sendCommand(["CLIENT", "PAUSE", "6000", "ALL"]))
      const started = Date.now()
      assert.deepStrictEqual(yield* openStore.get("k"), Option.none())
      const error = yield* Effect.flip(closedStore.get("k"))
      const elapsed = Date.now() - started
      assert.strictEqual(error._tag, "CacheStoreError")
      assert.strictEqual(error.operation, "get")
      assert.include(error.message, "timed out")
      assert.isBelow(elapsed, 4_000)
      assert.strictEqual((yield* stats(openStore)).failures >= 1, true)
      // once Redis answers again, so does the store
      assert.deepStrictEqual(yield* eventually(openStore.get("k"), Option.isSome), Option.some(1))
    }).pipe(Effect.scoped)
  })

  it.live("releases its connection when the layer's scope closes", () =>
    Effect.gen(function* () {
      const before = yield* Effect.promise(() => connectedClients(server.url))
      yield* withStore({ prefix: freshPrefix() }, (store) =>
        Effect.gen(function* () {
          yield* store.set("k", 1)
          const during = yield* Effect.promise(() => connectedClients(server.url))
          assert.strictEqual(during, before + 1)
        })
      )
      const after = yield* eventually(
        Effect.promise(() => connectedClients(server.url)),
        (count) => count === before
      )
      assert.strictEqual(after, before)
    })
  )

  it.live("layerConfig reads REDIS_URL; without it the layer fails with a ConfigError", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const value = yield* Effect.gen(function* () {
        const store = yield* CacheStore.CacheStore
        yield* store.set("k", "from-config")
        return yield* store.get("k")
      }).pipe(
        Effect.provide(RedisStore.layerConfig({ prefix, operationTimeout: "10 seconds" })),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({ REDIS_URL: server.url })))
      )
      assert.deepStrictEqual(value, Option.some("from-config"))
      const missing = yield* Effect.exit(
        Effect.void.pipe(
          Effect.provide(RedisStore.layerConfig({ prefix })),
          Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown({})))
        )
      )
      assert.isTrue(Exit.isFailure(missing))
      assert.include(String(missing), "REDIS_URL")
    })
  )
})

describe("RedisStore when Redis goes away", () => {
  let own: RedisServer.RedisServer
  beforeAll(async () => {
    own = await RedisServer.startRedisServer()
  })
  afterAll(() => own?.stop())

  it.live(
    "fail-open: a stopped server means misses and no-ops, counted; it recovers after restart",
    () => {
      const prefix = freshPrefix()
      return Effect.gen(function* () {
        const store = (yield* CacheStore.CacheStore) as ClaimableStore
        yield* store.set("k", "before")
        yield* Effect.promise(() => own.stop())
        assert.deepStrictEqual(yield* store.get("k"), Option.none())
        yield* store.set("k", "during")
        assert.isFalse(yield* store.delete("k"))
        assert.isTrue(yield* store.setIfAbsent("claim", 1))
        const during = yield* stats(store)
        assert.isAtLeast(during.failures, 5)
        yield* Effect.promise(() => own.restart())
        // the restarted server is empty; the store reconnects on its own (a fail-open set never fails, so look)
        const value = yield* eventually(Effect.andThen(store.set("k", "after"), store.get("k")), Option.isSome)
        assert.deepStrictEqual(value, Option.some("after"))
      }).pipe(Effect.provide(storeLayer({ url: own.url, prefix })))
    },
    20_000
  )

  it.live(
    "fail-open with a fallback store: while Redis is down the fallback answers (a claim holds, a value reads back)",
    () => {
      const prefix = freshPrefix()
      return Effect.gen(function* () {
        const fallback = yield* MemoryStore.make()
        yield* Effect.gen(function* () {
          const store = (yield* CacheStore.CacheStore) as ClaimableStore
          yield* store.set("k", "before")
          yield* Effect.promise(() => own.stop())
          assert.deepStrictEqual(yield* store.get("k"), Option.none())
          yield* store.set("k", "during")
          assert.deepStrictEqual(yield* store.get("k"), Option.some("during"))
          assert.isTrue(yield* store.setIfAbsent("claim", 1))
          assert.isFalse(yield* store.setIfAbsent("claim", 2))
          assert.isTrue(yield* store.delete("k"))
          assert.deepStrictEqual(yield* fallback.get("claim"), Option.some(1))
          yield* Effect.promise(() => own.restart())
          // a value only Redis holds shows the store is on Redis again
          const direct = yield* Effect.promise(() => rawClient(own.url))
          yield* Effect.promise(() => direct.set(`${prefix}marker`, JSON.stringify("in redis")))
          direct.destroy()
          assert.deepStrictEqual(yield* eventually(store.get("marker"), Option.isSome), Option.some("in redis"))
          // and the fallback's claim is not consulted
          assert.isTrue(yield* store.setIfAbsent("claim", 3))
        }).pipe(Effect.provide(storeLayer({ url: own.url, prefix, fallback })))
      })
    },
    20_000
  )

  it.live(
    "fail-open logs a warning (with module and operation) for each operation that failed; fail-closed logs nothing",
    () => {
      const prefix = freshPrefix()
      const logs: Array<{ level: string; message: string; annotations: Record<string, unknown> }> = []
      const capture = Logger.make((options) => {
        logs.push({
          level: options.logLevel,
          message: [options.message].flat().join(" "),
          annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
        })
      })
      const run = (failureMode: "open" | "closed") =>
        Effect.gen(function* () {
          const store = (yield* CacheStore.CacheStore) as ClaimableStore
          yield* store.set("k", "before")
          yield* Effect.promise(() => own.stop())
          logs.length = 0
          yield* Effect.exit(store.get("k"))
          yield* Effect.exit(store.set("k", "during"))
          // the store's own lines: @effect/platform-node's NodeRedis also warns ("NodeRedis client error") when the
          // socket closes, whenever that event arrives (before or after the clear above, as the machine's load decides)
          const captured = logs.filter((line) => !line.message.startsWith("NodeRedis client error"))
          yield* Effect.promise(() => own.restart())
          return captured
        }).pipe(
          Effect.provide(storeLayer({ url: own.url, prefix, failureMode })),
          Effect.provide(Logger.layer([capture]))
        )
      return Effect.gen(function* () {
        const open = yield* run("open")
        assert.deepStrictEqual(
          open.map(({ level, annotations }) => [level, annotations.module, annotations.operation]),
          [
            ["Warn", "@conduitkit/cache/RedisStore", "get"],
            ["Warn", "@conduitkit/cache/RedisStore", "set"]
          ]
        )
        assert.match(open[0]!.message, /^Redis get failed: .+; continuing without cache \(fail-open\)$/)
        const closed = yield* run("closed")
        assert.deepStrictEqual(closed, [])
      })
    },
    20_000
  )

  it.live(
    "fail-closed: a stopped server is a typed CacheStoreError; it recovers after restart",
    () => {
      const prefix = freshPrefix()
      return Effect.gen(function* () {
        const store = (yield* CacheStore.CacheStore) as ClaimableStore
        yield* store.set("k", "before")
        yield* Effect.promise(() => own.stop())
        const errors = yield* Effect.all(
          [Effect.flip(store.get("k")), Effect.flip(store.set("k", 1)), Effect.flip(store.delete("k"))],
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          errors.map((error) => [error._tag, error.operation]),
          [
            ["CacheStoreError", "get"],
            ["CacheStoreError", "set"],
            ["CacheStoreError", "delete"]
          ]
        )
        yield* Effect.promise(() => own.restart())
        const after = yield* eventually(Effect.andThen(store.set("k", "after"), store.get("k")), Option.isSome)
        assert.deepStrictEqual(after, Option.some("after"))
      }).pipe(Effect.provide(storeLayer({ url: own.url, prefix, failureMode: "closed" })))
    },
    20_000
  )

  it.live(
    "startup while Redis is down: fail-closed does not build, fail-open builds and connects later",
    () => {
      const prefix = freshPrefix()
      return Effect.gen(function* () {
        yield* Effect.promise(() => own.stop())
        const closed = yield* Effect.exit(
          Effect.void.pipe(Effect.provide(RedisStore.layer({ url: own.url, prefix, failureMode: "closed" })))
        )
        assert.isTrue(Exit.isFailure(closed))
        yield* Effect.gen(function* () {
          const store = (yield* CacheStore.CacheStore) as ClaimableStore
          assert.deepStrictEqual(yield* store.get("k"), Option.none())
          assert.isAtLeast((yield* stats(store)).failures, 1)
          yield* Effect.promise(() => own.restart())
          yield* eventually(Effect.andThen(store.set("k", "connected"), store.get("k")), Option.isSome)
          assert.deepStrictEqual(yield* Effect.promise(() => raw.ping()), "PONG")
        }).pipe(Effect.provide(storeLayer({ url: own.url, prefix, reconnectInterval: "100 millis" })))
      })
    },
    20_000
  )
})
