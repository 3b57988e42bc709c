import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { TestClock } from "effect/testing"
import * as CacheStore from "../src/CacheStore.js"

describe("CacheStore.makeMemory", () => {
  it.effect("gets what was set, counts hits and misses, deletes", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory()
      yield* store.set("a", { id: "cache-1" })
      assert.deepStrictEqual(yield* store.get("a"), Option.some({ id: "cache-1" }))
      assert.deepStrictEqual(yield* store.get("b"), Option.none())
      assert.isTrue(yield* store.delete("a"))
      assert.isFalse(yield* store.delete("a"))
      assert.deepStrictEqual(yield* store.stats, { hits: 1, misses: 1, size: 0 })
    })
  )

  it.effect("expires an entry after its own TTL", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory()
      yield* store.set("short", 1, { ttl: "1 second" })
      yield* store.set("long", 2, { ttl: "1 minute" })
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* store.get("short"), Option.none())
      assert.deepStrictEqual(yield* store.get("long"), Option.some(2))
    })
  )

  it.effect("stays within its capacity", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory({ capacity: 3 })
      for (const key of ["a", "b", "c", "d", "e"]) yield* store.set(key, key)
      assert.strictEqual((yield* store.stats).size, 3)
      assert.deepStrictEqual(yield* store.get("e"), Option.some("e"))
      assert.deepStrictEqual(yield* store.get("a"), Option.none())
    })
  )
})

describe("CacheStore.getDecoded", () => {
  const Entry = Schema.Struct({ cacheId: Schema.String, tokens: Schema.Number })

  it.effect("decodes what setEncoded stored", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory()
      yield* CacheStore.setEncoded(store, "k", Entry, { cacheId: "cache-x", tokens: 12 })
      assert.deepStrictEqual(
        yield* CacheStore.getDecoded(store, "k", Entry),
        Option.some({ cacheId: "cache-x", tokens: 12 })
      )
    })
  )

  it.effect("treats a value that no longer decodes as a miss and removes it", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory()
      yield* store.set("k", { cacheId: 42 })
      assert.deepStrictEqual(yield* CacheStore.getDecoded(store, "k", Entry), Option.none())
      assert.deepStrictEqual(yield* store.get("k"), Option.none())
    })
  )

  it.effect("the service has an in-memory default", () =>
    Effect.gen(function* () {
      const store = yield* CacheStore.CacheStore
      yield* store.set("x", true)
      assert.deepStrictEqual(yield* store.get("x"), Option.some(true))
    })
  )
})

describe("CacheStore.makeMemory setIfAbsent", () => {
  it.effect("claims a key once", () =>
    Effect.gen(function* () {
      const store = CacheStore.makeMemory()
      assert.isTrue(yield* store.setIfAbsent!("k", 1))
      assert.isFalse(yield* store.setIfAbsent!("k", 2))
      assert.deepStrictEqual(yield* store.get("k"), Option.some(1))
    })
  )
})
