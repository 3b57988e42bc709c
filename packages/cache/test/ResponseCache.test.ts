import { CacheStore, ResponseCacheHook } from "@conduitkit/core"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { AiError, type Response } from "effect/ai"
import { TestClock } from "effect/testing"
import * as CacheKey from "../src/CacheKey.js"
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
  usage,
  yieldUntil
} from "./fixtures.js"

/** The hook as core's LanguageModel sees it, over a fresh memory store. */
const withCache = <A, E>(
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

const collect = (stream: Stream.Stream<Response.StreamPartEncoded, AiError.AiError>) => Stream.runCollect(stream)

describe("ResponseCache (generate)", () => {
  it.effect("calls upstream once for a deterministic request, then replays it marked as a hit", () =>
    withCache((hook, stats) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const first = yield* hook.generate(call(), upstream.generate())
        const second = yield* hook.generate(call(), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(conduitMark(first), { cache: "miss" })
        assert.deepStrictEqual(conduitMark(second), { cache: "hit" })
        assert.deepStrictEqual(unmarked(second), generateParts)
        assert.deepStrictEqual(unmarked(first), generateParts)
        // the finish part keeps the provider's own metadata next to the mark
        assert.deepStrictEqual(second.at(-1)?.metadata, { kimi: { requestId: "req-1" }, conduit: { cache: "hit" } })
        // and so does the response-metadata part
        assert.deepStrictEqual(second[0]?.metadata, { conduit: { cache: "hit" } })
        const counted = yield* stats
        assert.strictEqual(counted.hits, 1)
        assert.strictEqual(counted.misses, 1)
        assert.strictEqual(counted.stored, 1)
        assert.strictEqual(counted.savedInputTokens, usage.inputTokens.total)
        assert.strictEqual(counted.savedOutputTokens, usage.outputTokens.total)
      })
    )
  )

  it.effect("keys by the normalized request: key order does not matter, content does", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const a = call()
        const reordered: ResponseCacheHook.CacheableCall = {
          provider: "kimi",
          request: Object.fromEntries(Object.entries(a.request).reverse()),
          options: {}
        }
        assert.notDeepEqual(Object.keys(reordered.request), Object.keys(a.request))
        yield* hook.generate(a, upstream.generate())
        const hit = yield* hook.generate(reordered, upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(conduitMark(hit), { cache: "hit" })
        yield* hook.generate(call({ max_tokens: 65 }), upstream.generate())
        yield* hook.generate({ ...a, provider: "glm" }, upstream.generate())
        assert.strictEqual(upstream.counter.calls, 3)
      })
    )
  )

  it.effect("caches per mode: auto needs temperature 0 or a seed, always opts in, never bypasses", () =>
    withCache((hook, stats) =>
      Effect.gen(function* () {
        const cases: ReadonlyArray<readonly [ResponseCacheHook.CacheableCall, number]> = [
          [call({ temperature: 0.7 }), 2],
          [call({ temperature: 0.7, seed: 42 }), 1],
          [call({ temperature: 0.7 }, { mode: "always" }), 1],
          [call({ temperature: 0 }, { mode: "never" }), 2],
          [call({ temperature: undefined }), 2]
        ]
        for (const [request, expectedCalls] of cases) {
          const upstream = makeUpstream()
          yield* hook.generate(request, upstream.generate())
          yield* hook.generate(request, upstream.generate())
          assert.strictEqual(upstream.counter.calls, expectedCalls, JSON.stringify(request))
        }
        assert.strictEqual((yield* stats).bypassed, 6)
      })
    )
  )

  it.effect("single flight: N concurrent identical misses make exactly one upstream call", () =>
    withCache((hook, stats) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const fibers = yield* Effect.forEach(Array.from({ length: 10 }), () =>
          Effect.forkChild(hook.generate(call(), upstream.generate()))
        )
        yield* Effect.yieldNow
        yield* Deferred.succeed(gate, undefined)
        const results = yield* Fiber.joinAll(fibers)
        assert.strictEqual(upstream.counter.calls, 1)
        for (const parts of results) assert.deepStrictEqual(unmarked(parts), generateParts)
        assert.deepStrictEqual(
          results.map(conduitMark).filter((mark) => mark?.cache === "miss"),
          [{ cache: "miss" }]
        )
        const counted = yield* stats
        assert.strictEqual(counted.misses, 1)
        assert.strictEqual(counted.joins, 9)
        assert.strictEqual(counted.savedOutputTokens, 9 * usage.outputTokens.total)
        assert.strictEqual(counted.inFlight, 0)
      })
    )
  )

  it.effect("never stores a failed call, and its joiners get the same failure", () =>
    withCache((hook, stats) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        let calls = 0
        const failing = Effect.sync(() => calls++).pipe(
          Effect.andThen(Deferred.await(gate)),
          Effect.andThen(Effect.fail(upstreamError()))
        )
        const fibers = yield* Effect.forEach([1, 2, 3], () =>
          Effect.forkChild(Effect.exit(hook.generate(call(), failing)))
        )
        yield* Effect.yieldNow
        yield* Deferred.succeed(gate, undefined)
        const exits = yield* Fiber.joinAll(fibers)
        assert.strictEqual(calls, 1)
        for (const exit of exits) assert.isTrue(Exit.isFailure(exit))
        const upstream = makeUpstream()
        const retried = yield* hook.generate(call(), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(conduitMark(retried), { cache: "miss" })
        assert.strictEqual((yield* stats).stored, 1)
      })
    )
  )

  it.effect("does not store an answer that finished with an error", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const errored: Array<Response.PartEncoded> = [{ type: "finish", reason: "error", usage }]
        yield* hook.generate(call(), upstream.generate(errored))
        yield* hook.generate(call(), upstream.generate(errored))
        assert.strictEqual(upstream.counter.calls, 2)
      })
    )
  )

  it.effect("treats an entry that no longer decodes as a miss and removes it", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const hook = yield* ResponseCache.make({ store })
      const key = `response:v1:generate:${CacheKey.requestHash("kimi", call().request)}`
      yield* store.set(key, { version: 99, garbage: true })
      const upstream = makeUpstream()
      const parts = yield* hook.generate(call(), upstream.generate())
      assert.strictEqual(upstream.counter.calls, 1)
      assert.deepStrictEqual(conduitMark(parts), { cache: "miss" })
      const stored = yield* store.get(key)
      assert.isTrue(Option.isSome(stored))
      assert.strictEqual((stored.pipe(Option.getOrThrow) as { version: number }).version, 1)
    })
  )

  it.effect("expires entries after the configured TTL", () =>
    withCache(
      (hook) =>
        Effect.gen(function* () {
          const upstream = makeUpstream()
          yield* hook.generate(call(), upstream.generate())
          yield* TestClock.adjust("59 seconds")
          yield* hook.generate(call(), upstream.generate())
          assert.strictEqual(upstream.counter.calls, 1)
          yield* TestClock.adjust("2 seconds")
          yield* hook.generate(call(), upstream.generate())
          assert.strictEqual(upstream.counter.calls, 2)
        }),
      { ttl: "1 minute" }
    )
  )

  it.effect("uses the CacheStore in context by default", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const upstream = makeUpstream()
      yield* Effect.gen(function* () {
        const hook = yield* ResponseCacheHook.ResponseCacheHook
        yield* hook.generate(call(), upstream.generate())
      }).pipe(Effect.provide(ResponseCache.layer()), Effect.provideService(CacheStore.CacheStore, store))
      assert.strictEqual((yield* store.stats).size, 1)
    })
  )
})

describe("ResponseCache (stream)", () => {
  it.effect("stores a stream as its parts and replays the same parts as a stream", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const first = yield* collect(hook.stream(call(), upstream.stream()))
        const replay = yield* collect(hook.stream(call(), upstream.stream()))
        assert.strictEqual(upstream.counter.calls, 1)
        assert.deepStrictEqual(unmarked(first), streamParts)
        assert.deepStrictEqual(unmarked(replay), streamParts)
        assert.deepStrictEqual(conduitMark(replay), { cache: "hit" })
        assert.deepStrictEqual(replay[0]?.metadata, { conduit: { cache: "hit" } })
        // a non-stream call of the same request is a separate entry (parts differ in shape)
        const generated = yield* hook.generate(call(), upstream.generate())
        assert.strictEqual(upstream.counter.calls, 2)
        assert.deepStrictEqual(unmarked(generated), generateParts)
      })
    )
  )

  it.effect("single flight for streams: joiners get every part, including those emitted before they joined", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const leader = yield* Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
        yield* Effect.yieldNow
        const joiners = yield* Effect.forEach([1, 2, 3, 4], () =>
          Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
        )
        yield* Effect.yieldNow
        yield* Deferred.succeed(gate, undefined)
        const all = yield* Fiber.joinAll([leader, ...joiners])
        assert.strictEqual(upstream.counter.calls, 1)
        for (const parts of all) assert.deepStrictEqual(unmarked(parts), streamParts)
        assert.deepStrictEqual(conduitMark(all[0]!), { cache: "miss" })
        for (const parts of all.slice(1)) assert.deepStrictEqual(conduitMark(parts), { cache: "hit" })
      })
    )
  )

  it.effect("never stores a stream that fails midway; the caller sees the parts, then the error", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        let calls = 0
        const broken = Stream.fromEffect(Effect.sync(() => calls++)).pipe(
          Stream.drain,
          Stream.concat(Stream.fromIterable(streamParts.slice(0, 3))),
          Stream.concat(Stream.fail(upstreamError()))
        )
        const seen: Array<Response.StreamPartEncoded> = []
        const exit = yield* hook.stream(call(), broken).pipe(
          Stream.runForEach((part) => Effect.sync(() => seen.push(part))),
          Effect.exit
        )
        assert.isTrue(Exit.isFailure(exit))
        assert.deepStrictEqual(unmarked(seen), streamParts.slice(0, 3))
        const upstream = makeUpstream()
        yield* collect(hook.stream(call(), upstream.stream()))
        assert.strictEqual(calls, 1)
        assert.strictEqual(upstream.counter.calls, 1)
      })
    )
  )

  it.effect("never stores a stream that reported an error part", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const upstream = makeUpstream()
        const withError: Array<Response.StreamPartEncoded> = [
          ...streamParts.slice(0, -1),
          { type: "error", error: { message: "moderation" } },
          streamParts.at(-1)!
        ]
        yield* collect(hook.stream(call(), upstream.stream(withError)))
        yield* collect(hook.stream(call(), upstream.stream(withError)))
        assert.strictEqual(upstream.counter.calls, 2)
      })
    )
  )

  it.effect("a caller that goes away does not cancel the call for the others; it is still stored", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const leader = yield* Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
        yield* Effect.yieldNow
        const joiner = yield* Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(leader)
        yield* Deferred.succeed(gate, undefined)
        const parts = yield* Fiber.join(joiner)
        assert.deepStrictEqual(unmarked(parts), streamParts)
        assert.strictEqual(upstream.counter.interrupted, 0)
        yield* collect(hook.stream(call(), upstream.stream()))
        assert.strictEqual(upstream.counter.calls, 1)
      })
    )
  )

  it.effect("when every caller goes away the upstream call is cancelled and nothing is stored", () =>
    withCache((hook, stats) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const callers = yield* Effect.forEach([1, 2], () =>
          Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
        )
        yield* yieldUntil(() => upstream.counter.calls === 1)
        yield* Fiber.interruptAll(callers)
        assert.strictEqual(upstream.counter.calls, 1)
        assert.strictEqual(upstream.counter.interrupted, 1)
        assert.strictEqual((yield* stats).inFlight, 0)
        const again = makeUpstream()
        const parts = yield* collect(hook.stream(call(), again.stream()))
        assert.strictEqual(again.counter.calls, 1)
        assert.deepStrictEqual(conduitMark(parts), { cache: "miss" })
      })
    )
  )

  it.effect("a lone consumer that stops early cancels the call, and nothing is stored", () =>
    withCache((hook) =>
      Effect.gen(function* () {
        const gate = yield* Deferred.make<void>()
        const upstream = makeUpstream(gate)
        const firstTwo = yield* hook.stream(call(), upstream.stream()).pipe(Stream.take(2), Stream.runCollect)
        assert.deepStrictEqual(unmarked(firstTwo), streamParts.slice(0, 2))
        yield* yieldUntil(() => upstream.counter.interrupted === 1)
        yield* Deferred.succeed(gate, undefined)
        const full = yield* collect(hook.stream(call(), upstream.stream()))
        assert.deepStrictEqual(unmarked(full), streamParts)
        assert.deepStrictEqual(conduitMark(full), { cache: "miss" })
        assert.strictEqual(upstream.counter.calls, 2)
      })
    )
  )
})

describe("ResponseCache across instances (claims)", () => {
  const claimKey = (kind: "generate" | "stream") =>
    `response-claim:v1:${kind}:${CacheKey.requestHash("kimi", call().request)}`

  it.effect("waits for another instance's claim; a claim left by a crashed instance lapses after its TTL", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const hook = yield* ResponseCache.make({
        store,
        crossInstance: { pollInterval: "1 second", maxWait: "1 minute" }
      })
      yield* store.set(claimKey("generate"), { version: 1, state: "pending", startedAt: 0 }, { ttl: "30 seconds" })
      const upstream = makeUpstream()
      const waiting = yield* Effect.forkChild(hook.generate(call(), upstream.generate()))
      yield* TestClock.adjust("20 seconds")
      assert.strictEqual(upstream.counter.calls, 0)
      yield* TestClock.adjust("15 seconds")
      const parts = yield* Fiber.join(waiting)
      assert.strictEqual(upstream.counter.calls, 1)
      assert.deepStrictEqual(conduitMark(parts), { cache: "miss" })
      const stats = yield* hook.stats
      assert.strictEqual(stats.claimWaits, 1)
      assert.strictEqual(stats.claimTimeouts, 0)
      // the call's own claim is released once its answer is stored
      assert.isTrue(Option.isNone(yield* store.get(claimKey("generate"))))
    })
  )

  it.effect("replays the answer the claim holder stores, and gives up waiting after maxWait", () =>
    Effect.gen(function* () {
      const store = yield* MemoryStore.make()
      const hook = yield* ResponseCache.make({
        store,
        crossInstance: { pollInterval: "1 second", maxWait: "10 seconds" }
      })
      const other = yield* ResponseCache.make({ store, crossInstance: false })
      yield* store.set(claimKey("stream"), { version: 1, state: "pending", startedAt: 0 }, { ttl: "1 hour" })
      const upstream = makeUpstream()
      const waiting = yield* Effect.forkChild(collect(hook.stream(call(), upstream.stream())))
      yield* TestClock.adjust("3 seconds")
      // the "other instance" answers (without touching the claim)
      yield* collect(other.stream(call(), upstream.stream()))
      yield* TestClock.adjust("1 second")
      const replayed = yield* Fiber.join(waiting)
      assert.strictEqual(upstream.counter.calls, 1)
      assert.deepStrictEqual(unmarked(replayed), streamParts)
      assert.deepStrictEqual(conduitMark(replayed), { cache: "hit" })

      yield* store.set(claimKey("generate"), { version: 1, state: "pending", startedAt: 0 }, { ttl: "1 hour" })
      const timedOut = yield* Effect.forkChild(hook.generate(call(), upstream.generate()))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(upstream.counter.calls, 1)
      yield* TestClock.adjust("1 second")
      const parts = yield* Fiber.join(timedOut)
      assert.strictEqual(upstream.counter.calls, 2)
      assert.deepStrictEqual(conduitMark(parts), { cache: "miss" })
      const stats = yield* hook.stats
      assert.strictEqual(stats.claimWaits, 2)
      assert.strictEqual(stats.claimTimeouts, 1)
      assert.strictEqual(stats.hits, 1)
      // the claim it did not own is left alone
      assert.isTrue(Option.isSome(yield* store.get(claimKey("generate"))))
    })
  )
})

describe("ResponseCache errors", () => {
  it("recognizes only the cache-unavailable error", () => {
    const unavailable = AiError.make({
      module: "ResponseCache",
      method: "generate",
      reason: new AiError.InternalProviderError({
        description: "x",
        metadata: { conduit: { kind: "cache-unavailable" } }
      })
    })
    assert.isTrue(ResponseCache.isCacheUnavailable(unavailable))
    assert.isFalse(ResponseCache.isCacheUnavailable(upstreamError()))
    assert.isFalse(ResponseCache.isCacheUnavailable(new Error("cache-unavailable")))
  })
})
