import { CacheStore } from "@conduitkit/core"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryStore from "../src/MemoryStore.js"

describe("MemoryStore", () => {
  it.effect("gets, sets, deletes and counts hits and misses", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      yield* store.set("a", { cacheId: "ctx-1", tokens: [1, 2] })
      assert.deepStrictEqual(yield* store.get("a"), Option.some({ cacheId: "ctx-1", tokens: [1, 2] }))
      assert.deepStrictEqual(yield* store.get("b"), Option.none())
      assert.isTrue(yield* store.delete("a"))
      assert.isFalse(yield* store.delete("a"))
      const stats = yield* store.stats
      assert.strictEqual(stats.hits, 1)
      assert.strictEqual(stats.misses, 1)
      assert.strictEqual(stats.size, 0)
      assert.strictEqual(stats.bytes, 0)
    })
  )

  it.effect("hands out copies: mutating a value read does not change the store", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const value = { list: [1] }
      yield* store.set("k", value)
      value.list.push(2)
      const read = Option.getOrThrow(yield* store.get("k")) as { list: Array<number> }
      read.list.push(3)
      assert.deepStrictEqual(yield* store.get("k"), Option.some({ list: [1] }))
    })
  )

  it.effect("expires each entry after its own TTL, without timers, and counts expirations", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make({ defaultTtl: "1 minute" })
      yield* store.set("short", 1, { ttl: "1 second" })
      yield* store.set("default", 2)
      yield* store.set("forever", 3, { ttl: Duration.infinity })
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* store.get("short"), Option.none())
      assert.deepStrictEqual(yield* store.get("default"), Option.some(2))
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* store.get("forever"), Option.some(3))
      const stats = yield* store.stats
      assert.strictEqual(stats.size, 1)
      assert.strictEqual(stats.expirations, 2)
      assert.strictEqual(stats.evictions, 0)
    })
  )

  it.effect("a zero TTL stores nothing", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      yield* store.set("k", 1)
      yield* store.set("k", 2, { ttl: 0 })
      assert.deepStrictEqual(yield* store.get("k"), Option.none())
    })
  )

  it.effect("evicts the least recently used entry at its entry capacity", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make({ capacity: 3 })
      for (const key of ["a", "b", "c"]) yield* store.set(key, key)
      yield* store.get("a") // a is now the most recently used
      yield* store.set("d", "d")
      assert.deepStrictEqual(yield* store.get("b"), Option.none())
      assert.deepStrictEqual(yield* store.get("a"), Option.some("a"))
      assert.deepStrictEqual(yield* store.get("d"), Option.some("d"))
      const stats = yield* store.stats
      assert.strictEqual(stats.size, 3)
      assert.strictEqual(stats.evictions, 1)
    })
  )

  it.effect("stays within its byte bound, evicting least recently used entries", () =>
    Effect.gen(function* () {
      const value = "x".repeat(1_000)
      const perEntry = MemoryStore.entryBytes("k0", JSON.stringify(value))
      const store = yield* MemoryStore.make({ capacity: 1_000, maxBytes: perEntry * 5 })
      for (let i = 0; i < 20; i++) {
        yield* store.set(`k${i % 10}`, value)
        const stats = yield* store.stats
        assert.isAtMost(stats.bytes ?? Number.POSITIVE_INFINITY, perEntry * 5)
      }
      const stats = yield* store.stats
      assert.strictEqual(stats.size, 5)
      assert.strictEqual(stats.bytes, perEntry * 5)
      assert.isAbove(stats.evictions ?? 0, 0)
      assert.deepStrictEqual(yield* store.get("k9"), Option.some(value))
      assert.deepStrictEqual(yield* store.get("k0"), Option.none())
    })
  )

  it.effect("refuses an entry larger than maxEntryBytes and counts it as an eviction", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make({ maxBytes: 100_000, maxEntryBytes: 1_000 })
      yield* store.set("big", "y".repeat(1_000))
      assert.deepStrictEqual(yield* store.get("big"), Option.none())
      assert.strictEqual((yield* store.stats).evictions, 1)
    })
  )

  it.effect("setIfAbsent claims a key only when no live entry holds it", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      assert.isTrue(yield* store.setIfAbsent("k", "first", { ttl: "1 second" }))
      assert.isFalse(yield* store.setIfAbsent("k", "second"))
      assert.deepStrictEqual(yield* store.get("k"), Option.some("first"))
      yield* TestClock.adjust("2 seconds")
      assert.isTrue(yield* store.setIfAbsent("k", "third"))
      assert.deepStrictEqual(yield* store.get("k"), Option.some("third"))
    })
  )

  it.effect("fails with CacheStoreError for a value that is not serializable", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const cyclic: Record<string, unknown> = {}
      cyclic.self = cyclic
      const error = yield* Effect.flip(store.set("k", cyclic as never))
      assert.strictEqual(error._tag, "CacheStoreError")
      assert.strictEqual(error.operation, "set")
    })
  )

  it("rejects invalid bounds", () => {
    assert.throws(() => MemoryStore.makeWithClock({ capacity: 0 }, () => 0), RangeError)
    assert.throws(() => MemoryStore.makeWithClock({ maxBytes: -1 }, () => 0), RangeError)
  })

  it.effect("works with core's typed helpers: an undecodable value is a miss and is removed", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const Entry = Schema.Struct({ cacheId: Schema.String })
      yield* CacheStore.setEncoded(store, "ok", Entry, { cacheId: "c" })
      assert.deepStrictEqual(yield* CacheStore.getDecoded(store, "ok", Entry), Option.some({ cacheId: "c" }))
      yield* store.set("old", { cacheId: 42 })
      assert.deepStrictEqual(yield* CacheStore.getDecoded(store, "old", Entry), Option.none())
      assert.deepStrictEqual(yield* store.get("old"), Option.none())
    })
  )

  it.effect("layer provides core's CacheStore", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.CacheStore
      yield* store.set("k", 1)
      const stats = yield* store.stats
      assert.strictEqual(stats.size, 1)
      assert.isDefined(stats.evictions)
      assert.isDefined(stats.bytes)
    }).pipe(Effect.provide(MemoryStore.layer({ capacity: 10 })))
  )
})
