import { ResponseCacheHook } from "@conduitkit/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { AiError, type Response } from "effect/ai"
import { TestClock } from "effect/testing"
import * as CacheKey from "../src/CacheKey.js"
import * as Idempotency from "../src/Idempotency.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as ResponseCache from "../src/ResponseCache.js"
import {
  call,
  conduitMark,
  generateParts,
  makeUpstream,
  streamParts,
  unmarked,
  upstreamError,
  yieldUntil
} from "./fixtures.js"

const withHook = <A, E>(
  body: (
    hook: ResponseCacheHook.ResponseCacheHookShape,
    stats: Effect.Effect<ResponseCache.Stats>
  ) => Effect.Effect<A, E>,
  options?: ResponseCache.Options
) =>
  Effect.gen(function* () {
    const hook = yield* ResponseCacheHook.ResponseCacheHook
    const { stats } = yield* ResponseCache.ResponseCacheStats
    return yield* body(hook, stats)
  }).pipe(Effect.provide(ResponseCache.layer(options).pipe(Layer.provideMerge(MemoryStore.layer()))))

/** A non-deterministic request, so only idempotency (not the response cache) can avoid a second call. */
const keyed = (key: string, overrides: Record<string, unknown> = {}) =>
  call({ temperature: 0.7, ...overrides }, { idempotencyKey: key })

const reasonMetadata = (error: AiError.AiError): unknown => (error.reason as { readonly metadata?: unknown }).metadata

const collect = (stream: Stream.Stream<Response.StreamPartEncoded, AiError.AiError>) => Stream.runCollect(stream)

describe("Idempotency", () => {
  it.effect("a later duplicate gets the stored result without a second call", () =>
    withHook((hook, stats) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const first = yield* hook.generate(keyed("k1"), upstream.generate())
        const again = yield* hook.generate(keyed("k1"), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(unmarked(first), generateParts)
        assert.deepStrictEqual(unmarked(again), generateParts)
        assert.deepStrictEqual(conduitMark(first), undefined)
        assert.deepStrictEqual(conduitMark(again), { cache: "hit", idempotency: "replayed" })
        // another key is another request
        yield* hook.generate(keyed("k2"), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 2)
        const counted = yield* stats
        assert.strictEqual(counted.idempotentExecutions, 2)
        assert.strictEqual(counted.idempotentReplays, 1)
      })
    )
  )

  it.effect("a stream duplicate is replayed from the stored parts", () =>
    withHook((hook) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const first = yield* collect(hook.stream(keyed("s1"), upstream.stream()))
        const replay = yield* collect(hook.stream(keyed("s1"), upstream.stream()))
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(first, streamParts)
        assert.deepStrictEqual(unmarked(replay), streamParts)
        assert.deepStrictEqual(conduitMark(replay), { cache: "hit", idempotency: "replayed" })
      })
    )
  )

  it.effect("a concurrent duplicate joins the in-flight call", () =>
    withHook((hook, stats) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const first = yield* Effect.forkChild(collect(hook.stream(keyed("j1"), upstream.stream())))
        yield* Effect.yieldNow
        const second = yield* Effect.forkChild(collect(hook.stream(keyed("j1"), upstream.stream())))
        const third = yield* Effect.forkChild(hook.generate(keyed("j2"), upstream.generate()))
        yield* Effect.yieldNow
        yield* Deferred.succeed(gate, undefined)
        const a = yield* Fiber.join(first)
        const b = yield* Fiber.join(second)
        yield* Fiber.join(third)
        assert.strictEqual(upstream.counter.calls, 2)
        assert.deepStrictEqual(a, streamParts)
        assert.deepStrictEqual(unmarked(b), streamParts)
        assert.deepStrictEqual(conduitMark(b), { cache: "hit", idempotency: "joined" })
        assert.strictEqual((yield* stats).idempotentJoins, 1)
      })
    )
  )

  it.effect("the same key with a different request is a typed conflict, also while the first is in flight", () =>
    withHook((hook, stats) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const first = yield* Effect.forkChild(hook.generate(keyed("c1"), upstream.generate()))
        yield* Effect.yieldNow
        const inFlight = yield* Effect.flip(hook.generate(keyed("c1", { max_tokens: 5 }), upstream.generate()))
        yield* Deferred.succeed(gate, undefined)
        yield* Fiber.join(first)
        const later = yield* Effect.flip(hook.generate(keyed("c1", { max_tokens: 5 }), upstream.generate()))
        // a stream call reusing a non-stream call's key is a different request too
        const asStream = yield* Effect.flip(collect(hook.stream(keyed("c1"), upstream.stream())))
        assert.strictEqual(upstream.counter.calls, 1)
        for (const error of [inFlight, later, asStream]) {
          assert.isTrue(Idempotency.isIdempotencyConflict(error))
          assert.strictEqual(error.reason._tag, "InvalidRequestError")
          assert.deepStrictEqual(reasonMetadata(error), {
            conduit: { kind: "idempotency-conflict", idempotencyKey: "c1" }
          })
          assert.include(error.message, "already used with a different request")
          assert.isFalse(error.isRetryable)
        }
        assert.strictEqual((yield* stats).idempotencyConflicts, 3)
      })
    )
  )

  it.effect("a failed call releases its key, so a retry executes", () =>
    withHook((hook) =>
      Effect.gen(function* () {
        const failed = yield* Effect.exit(hook.generate(keyed("f1"), Effect.fail(upstreamError())))
        assert.isTrue(Exit.isFailure(failed))
        const upstream = makeUpstream()
        const retried = yield* hook.generate(keyed("f1"), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(unmarked(retried), generateParts)
      })
    )
  )

  it.effect("remembers a key for its TTL only", () =>
    withHook(
      (hook) =>
        Effect.gen(function* () {
          const upstream = makeUpstream()
          yield* hook.generate(keyed("t1"), upstream.generate())
          yield* TestClock.adjust("59 minutes")
          yield* hook.generate(keyed("t1", { max_tokens: 1 }), upstream.generate()).pipe(Effect.flip)
          yield* TestClock.adjust("2 minutes")
          yield* hook.generate(keyed("t1", { max_tokens: 1 }), upstream.generate())
          assert.strictEqual(upstream.counter.calls, 2)
        }),
      { idempotency: { ttl: "1 hour" } }
    )
  )

  it.effect("works with the response cache: a keyed deterministic call is stored in both", () =>
    withHook((hook, stats) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        yield* hook.generate(call({}, { idempotencyKey: "rc1" }), upstream.generate())
        const cacheHit = yield* hook.generate(call(), upstream.generate())
        const replay = yield* hook.generate(call({}, { idempotencyKey: "rc1" }), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(conduitMark(cacheHit), { cache: "hit" })
        assert.deepStrictEqual(conduitMark(replay), { cache: "hit", idempotency: "replayed" })
        const counted = yield* stats
        assert.strictEqual(counted.hits, 1)
        assert.strictEqual(counted.idempotentReplays, 1)
      })
    )
  )

  it.effect("Idempotency.layer keeps idempotency without caching responses", () =>
    Effect.gen(function* () {
      const hook = yield* ResponseCacheHook.ResponseCacheHook
      const upstream = makeUpstream()
      yield* hook.generate(call(), upstream.generate())
      yield* hook.generate(call(), upstream.generate())
      yield* hook.generate(call({}, { idempotencyKey: "only" }), upstream.generate())
      yield* hook.generate(call({}, { idempotencyKey: "only" }), upstream.generate())
      assert.strictEqual(upstream.counter.calls, 3)
    }).pipe(Effect.provide(Idempotency.layer().pipe(Layer.provideMerge(MemoryStore.layer()))))
  )

  it.effect("an idempotency record that no longer decodes is ignored and replaced", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const hook = yield* ResponseCache.make({ store })
      const { storeKey } = yield* Effect.promise(() => import("../src/internal/idempotency.js"))
      yield* store.set(storeKey("u1"), { state: "something-else" })
      const upstream = makeUpstream()
      yield* hook.generate(keyed("u1"), upstream.generate())
      yield* hook.generate(keyed("u1"), upstream.generate())
      assert.strictEqual(upstream.counter.calls, 1)
      const record = Option.getOrThrow(yield* store.get(storeKey("u1"))) as { state: string }
      assert.strictEqual(record.state, "completed")
    })
  )

  it.effect("a running call keeps its claim alive; a claim left by a crashed process lapses after pendingTtl", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const hook = yield* ResponseCache.make({
        store,
        idempotency: { pendingTtl: "30 seconds", pollInterval: "1 second" }
      })
      const { storeKey } = yield* Effect.promise(() => import("../src/internal/idempotency.js"))
      const stateOf = (key: string) =>
        Effect.map(
          store.get(storeKey(key)),
          Option.map((record) => (record as { state: string }).state)
        )

      // a live owner: its claim outlives pendingTtl because it is refreshed
      const gate = yield* Deferred.make<void>()
      const upstream = makeUpstream(gate)
      const owner = yield* Effect.forkChild(hook.generate(keyed("live"), upstream.generate()))
      yield* yieldUntil(() => upstream.counter.calls === 1)
      for (let i = 0; i < 9; i++) yield* TestClock.adjust("10 seconds")
      assert.deepStrictEqual(yield* stateOf("live"), Option.some("pending"))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(owner)
      assert.deepStrictEqual(yield* stateOf("live"), Option.some("completed"))

      // a crashed owner: a pending claim nobody refreshes
      const fingerprint = `generate:${CacheKey.requestHash("kimi", keyed("crashed").request)}`
      yield* store.set(
        storeKey("crashed"),
        { version: 1, state: "pending", fingerprint, startedAt: 0 },
        { ttl: "30 seconds" }
      )
      const next = makeUpstream()
      const duplicate = yield* Effect.forkChild(hook.generate(keyed("crashed"), next.generate()))
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(next.counter.calls, 0)
      yield* TestClock.adjust("15 seconds")
      const parts = yield* Fiber.join(duplicate)
      assert.strictEqual(next.counter.calls, 1)
      assert.deepStrictEqual(unmarked(parts), generateParts)
    })
  )

  it("recognizes only conflicts", () => {
    assert.isTrue(Idempotency.isIdempotencyConflict(Idempotency.conflictError("k", "generate")))
    assert.isFalse(Idempotency.isIdempotencyConflict(upstreamError()))
    assert.isFalse(
      Idempotency.isIdempotencyConflict(
        AiError.make({
          module: "X",
          method: "y",
          reason: new AiError.InvalidRequestError({ description: "idempotency-conflict" })
        })
      )
    )
    assert.isFalse(
      Idempotency.isIdempotencyConflict({ reason: { metadata: { conduit: { kind: "idempotency-conflict" } } } })
    )
  })
})
