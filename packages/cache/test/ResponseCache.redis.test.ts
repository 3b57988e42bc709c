/**
 * The response cache and idempotency over a real redis-server: sharing between instances, and the failure modes.
 */
import { CacheStore, ResponseCacheHook } from "@conduitkit/core"
import { RedisServer } from "@conduitkit/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Stream } from "effect"
import type { AiError, Response } from "effect/ai"
import { afterAll, beforeAll } from "vitest"
import * as Idempotency from "../src/Idempotency.js"
import * as RedisStore from "../src/RedisStore.js"
import * as ResponseCache from "../src/ResponseCache.js"
import { call, conduitMark, generateParts, makeUpstream, streamParts, unmarked, upstreamError } from "./fixtures.js"
import { rawClient } from "./redis.js"

let server: RedisServer.RedisServer
let n = 0
const freshPrefix = () => `rc-${process.pid}-${n++}:`

beforeAll(async () => {
  server = await RedisServer.startRedisServer()
})
afterAll(() => server?.stop())

/** One gateway instance: its own Redis connection and its own hook, built in the current scope. */
const instance = (options: RedisStore.LayerOptions, cacheOptions?: ResponseCache.Options) =>
  Effect.gen(function* () {
    // a bound on each round trip a loaded machine stays inside (a read timing out at the default 500 ms is a miss)
    const store = RedisStore.layer({ url: server.url, operationTimeout: "10 seconds", ...options })
    const context = yield* Layer.build(ResponseCache.layer(cacheOptions).pipe(Layer.provideMerge(store)))
    return {
      hook: Context.get(context, ResponseCacheHook.ResponseCacheHook),
      stats: Context.get(context, ResponseCache.ResponseCacheStats).stats,
      store: Context.get(context, CacheStore.CacheStore)
    }
  })

/** Polls `condition` (real time, at most 30 seconds): slow Redis round trips on a loaded machine must not fail a test. */
const waitFor = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function* () {
    const deadline = Date.now() + 30_000
    while (!(yield* condition) && Date.now() < deadline) yield* Effect.sleep("10 millis")
    assert.isTrue(yield* condition, "condition not reached within 30 seconds")
  })
const waitUntil = (condition: () => boolean) => waitFor(Effect.sync(condition))

/** The sum of one counter over instances' stats. */
const total = (
  instances: ReadonlyArray<{ readonly stats: Effect.Effect<ResponseCache.Stats> }>,
  counter: "joins" | "claimWaits"
) =>
  Effect.map(
    Effect.forEach(instances, (at) => at.stats),
    (all) => all.reduce((sum, stats) => sum + stats[counter], 0)
  )

const collect = (stream: Stream.Stream<Response.StreamPartEncoded, AiError.AiError>) => Stream.runCollect(stream)

describe("ResponseCache over Redis", () => {
  it.live("an answer stored by one instance is replayed by another, streams included", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const a = yield* instance({ prefix })
      const b = yield* instance({ prefix })
      const upstream = makeUpstream()
      const stored = yield* collect(a.hook.stream(call(), upstream.stream()))
      const replayed = yield* collect(b.hook.stream(call(), upstream.stream()))
      yield* a.hook.generate(call(), upstream.generate())
      const generated = yield* b.hook.generate(call(), upstream.generate())
      assert.strictEqual(upstream.counter.calls, 2)
      assert.deepStrictEqual(unmarked(stored), streamParts)
      assert.deepStrictEqual(unmarked(replayed), streamParts)
      assert.deepStrictEqual(conduitMark(replayed), { cache: "hit" })
      assert.deepStrictEqual(unmarked(generated), generateParts)
      assert.strictEqual((yield* b.stats).hits, 2)
      assert.strictEqual((yield* a.stats).stored, 2)
    })
  )

  it.live("single flight within one instance also holds over Redis", () =>
    Effect.gen(function* () {
      const a = yield* instance({ prefix: freshPrefix() })
      const gate = yield* Deferred.make<void>()
      const upstream = makeUpstream(gate)
      const fibers = yield* Effect.forEach(Array.from({ length: 8 }), () =>
        Effect.forkChild(collect(a.hook.stream(call(), upstream.stream())))
      )
      // every other caller has joined the in-flight call before it ends (a late one would find the stored answer)
      yield* waitFor(Effect.map(total([a], "joins"), (joins) => joins === 7))
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      assert.strictEqual(upstream.counter.calls, 1)
      for (const parts of results) assert.deepStrictEqual(unmarked(parts), streamParts)
    })
  )

  it.live("single flight across instances: identical misses on two instances at once make one upstream call", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const options = { crossInstance: { pollInterval: "20 millis" } } as const
      const a = yield* instance({ prefix }, options)
      const b = yield* instance({ prefix }, options)
      const gate = yield* Deferred.make<void>()
      const upstream = makeUpstream(gate)
      // streams and non-stream calls, both instances at the same moment
      const streams = yield* Effect.forEach([a, b, a, b], (at) =>
        Effect.forkChild(collect(at.hook.stream(call(), upstream.stream())))
      )
      const generates = yield* Effect.forEach([b, a], (at) =>
        Effect.forkChild(at.hook.generate(call(), upstream.generate()))
      )
      yield* waitUntil(() => upstream.counter.calls >= 2)
      // every caller is in place before the answers come: the second caller on each instance joined its local
      // flight, and each kind's flight on the other instance waits on the claim (a late one would find the answer)
      yield* waitFor(
        Effect.map(
          Effect.all([total([a, b], "joins"), total([a, b], "claimWaits")]),
          ([joins, claimWaits]) => joins === 2 && claimWaits === 2
        )
      )
      yield* Effect.sleep("200 millis") // time for a second (wrong) upstream call to start
      assert.strictEqual(upstream.counter.calls, 2) // one stream call, one generate call
      yield* Deferred.succeed(gate, undefined)
      const streamed = yield* Fiber.joinAll(streams)
      const generated = yield* Fiber.joinAll(generates)
      assert.strictEqual(upstream.counter.calls, 2)
      for (const parts of streamed) assert.deepStrictEqual(unmarked(parts), streamParts)
      for (const parts of generated) assert.deepStrictEqual(unmarked(parts), generateParts)
      const marks = [...streamed, ...generated].map((parts) => conduitMark(parts)?.cache).sort()
      assert.deepStrictEqual(marks, ["hit", "hit", "hit", "hit", "miss", "miss"])
      const statsA = yield* a.stats
      const statsB = yield* b.stats
      assert.strictEqual(statsA.misses + statsB.misses, 2)
      assert.strictEqual(statsA.claimWaits + statsB.claimWaits, 2)
      assert.strictEqual(statsA.hits + statsB.hits, 2)
      assert.strictEqual(statsA.claimTimeouts + statsB.claimTimeouts, 0)
      // the claims are released once the answers are stored
      const raw = yield* Effect.promise(() => rawClient(server.url))
      const claims = yield* Effect.promise(() => raw.keys(`${prefix}response-claim:*`))
      const entries = yield* Effect.promise(() => raw.keys(`${prefix}response:*`))
      yield* Effect.sync(() => raw.destroy())
      assert.deepStrictEqual(claims, [])
      assert.strictEqual(entries.length, 2)
    })
  )

  it.live("across instances the wait is bounded: past maxWait the waiting instance calls upstream itself", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const a = yield* instance({ prefix })
      const b = yield* instance({ prefix }, { crossInstance: { maxWait: "300 millis", pollInterval: "20 millis" } })
      const gate = yield* Deferred.make<void>()
      const slow = makeUpstream(gate)
      const first = yield* Effect.forkChild(a.hook.generate(call(), slow.generate()))
      yield* waitUntil(() => slow.counter.calls === 1)
      const fast = makeUpstream()
      const started = Date.now()
      const second = yield* b.hook.generate(call(), fast.generate())
      const waited = Date.now() - started
      assert.isAtLeast(waited, 250)
      assert.strictEqual(fast.counter.calls, 1)
      assert.deepStrictEqual(conduitMark(second), { cache: "miss" })
      const statsB = yield* b.stats
      assert.strictEqual(statsB.claimWaits, 1)
      assert.strictEqual(statsB.claimTimeouts, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
    })
  )

  it.live("across instances: when the claim holder's call fails, a waiting instance calls upstream itself", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const options = { crossInstance: { pollInterval: "20 millis" } } as const
      const a = yield* instance({ prefix }, options)
      const b = yield* instance({ prefix }, options)
      const gate = yield* Deferred.make<void>()
      const failing = makeUpstream(gate)
      const first = yield* Effect.forkChild(
        a.hook.generate(call(), Effect.andThen(failing.generate(), Effect.fail(upstreamError())))
      )
      yield* waitUntil(() => failing.counter.calls === 1)
      const next = makeUpstream()
      const second = yield* Effect.forkChild(b.hook.generate(call(), next.generate()))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(next.counter.calls, 0)
      yield* Deferred.succeed(gate, undefined)
      assert.isTrue(Exit.isFailure(yield* Fiber.await(first)))
      const parts = yield* Fiber.join(second)
      assert.strictEqual(next.counter.calls, 1)
      assert.deepStrictEqual(unmarked(parts), generateParts)
    })
  )

  it.live("crossInstance: false keeps single flight per process (both instances call upstream)", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const a = yield* instance({ prefix }, { crossInstance: false })
      const b = yield* instance({ prefix }, { crossInstance: false })
      const gate = yield* Deferred.make<void>()
      const upstream = makeUpstream(gate)
      const fibers = yield* Effect.forEach([a, b], (at) =>
        Effect.forkChild(at.hook.generate(call(), upstream.generate()))
      )
      yield* waitUntil(() => upstream.counter.calls === 2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      assert.strictEqual(upstream.counter.calls, 2)
    })
  )

  it.live("idempotency across instances: a duplicate on another instance waits for the first, then replays it", () =>
    Effect.gen(function* () {
      const prefix = freshPrefix()
      const a = yield* instance({ prefix }, { idempotency: { pollInterval: "20 millis" } })
      const b = yield* instance({ prefix }, { idempotency: { pollInterval: "20 millis" } })
      const gate = yield* Deferred.make<void>()
      const upstream = makeUpstream(gate)
      const keyed = call({ temperature: 0.9 }, { idempotencyKey: "order-42" })
      const first = yield* Effect.forkChild(collect(a.hook.stream(keyed, upstream.stream())))
      yield* waitUntil(() => upstream.counter.calls === 1) // the first holds the key before the duplicate arrives
      const duplicate = yield* Effect.forkChild(collect(b.hook.stream(keyed, upstream.stream())))
      const conflicting = yield* Effect.flip(
        b.hook
          .stream(call({ temperature: 0.9, max_tokens: 1 }, { idempotencyKey: "order-42" }), upstream.stream())
          .pipe(Stream.runDrain)
      )
      assert.isTrue(Idempotency.isIdempotencyConflict(conflicting))
      yield* Effect.sleep("100 millis")
      assert.strictEqual(upstream.counter.calls, 1)
      yield* Deferred.succeed(gate, undefined)
      const original = yield* Fiber.join(first)
      const replay = yield* Fiber.join(duplicate)
      assert.strictEqual(upstream.counter.calls, 1)
      assert.deepStrictEqual(original, streamParts)
      assert.deepStrictEqual(unmarked(replay), streamParts)
      assert.deepStrictEqual(conduitMark(replay), { cache: "hit", idempotency: "replayed" })
    })
  )
})

describe("ResponseCache when Redis is down", () => {
  let own: RedisServer.RedisServer
  beforeAll(async () => {
    own = await RedisServer.startRedisServer()
  })
  afterAll(() => own?.stop())

  it.live(
    "fail-open: calls proceed upstream without caching; fail-closed: a cache-unavailable AiError",
    () =>
      Effect.gen(function* () {
        const prefix = freshPrefix()
        const build = (failureMode: "open" | "closed") =>
          Layer.build(
            ResponseCache.layer().pipe(Layer.provideMerge(RedisStore.layer({ url: own.url, prefix, failureMode })))
          ).pipe(Effect.map((context) => Context.get(context, ResponseCacheHook.ResponseCacheHook)))
        const open = yield* build("open")
        const closed = yield* build("closed")
        const upstream = makeUpstream()
        yield* Effect.promise(() => own.stop())

        const first = yield* open.generate(call(), upstream.generate())
        const second = yield* collect(open.stream(call({}, { idempotencyKey: "while-down" }), upstream.stream()))
        assert.strictEqual(upstream.counter.calls, 2)
        assert.deepStrictEqual(unmarked(first), generateParts)
        assert.deepStrictEqual(unmarked(second), streamParts)

        const exit = yield* Effect.exit(closed.generate(call(), upstream.generate()))
        assert.isTrue(Exit.isFailure(exit))
        const error = yield* Effect.flip(closed.generate(call(), upstream.generate()))
        assert.isTrue(ResponseCache.isCacheUnavailable(error))
        assert.strictEqual(error.reason._tag, "InternalProviderError")
        assert.deepStrictEqual((error.reason as { readonly metadata?: unknown }).metadata, {
          conduit: { kind: "cache-unavailable", operation: "get" }
        })
        const streamed = yield* Effect.flip(collect(closed.stream(call(), upstream.stream())))
        assert.isTrue(ResponseCache.isCacheUnavailable(streamed))
        // calls the cache does not touch are not affected
        yield* closed.generate(call({ temperature: 0.5 }), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 3)
        yield* Effect.promise(() => own.restart())
      }),
    20_000
  )
})
