/**
 * The response cache and idempotency over a real redis-server: sharing between instances, and the failure modes.
 */
import { CacheStore, ResponseCache as CoreResponseCache } from "@conduit-llm/core"
import { RedisServer } from "@conduit-llm/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Fiber, Layer, Stream } from "effect"
import type { AiError, Response } from "effect/ai"
import { afterAll, beforeAll } from "vitest"
import * as Idempotency from "../src/Idempotency.js"
import * as RedisStore from "../src/RedisStore.js"
import * as ResponseCache from "../src/ResponseCache.js"
import { call, conduitMark, generateParts, makeUpstream, streamParts, unmarked } from "./fixtures.js"

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
    const context = yield* Layer.build(
      ResponseCache.layer(cacheOptions).pipe(Layer.provideMerge(RedisStore.layer({ url: server.url, ...options })))
    )
    return {
      hook: Context.get(context, CoreResponseCache.ResponseCache),
      stats: Context.get(context, ResponseCache.ResponseCacheStats).stats,
      store: Context.get(context, CacheStore.CacheStore)
    }
  })

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
      yield* Effect.sleep("50 millis")
      yield* Deferred.succeed(gate, undefined)
      const results = yield* Fiber.joinAll(fibers)
      assert.strictEqual(upstream.counter.calls, 1)
      for (const parts of results) assert.deepStrictEqual(unmarked(parts), streamParts)
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
      yield* Effect.sleep("50 millis")
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
          ).pipe(Effect.map((context) => Context.get(context, CoreResponseCache.ResponseCache)))
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
