import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Random } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import * as ProviderError from "../src/ProviderError.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

const err = (reason: AiError.AiErrorReason) => AiError.make({ module: "test", method: "test", reason })
const rateLimited = (retryAfterMs?: number) =>
  err(new AiError.RateLimitError(retryAfterMs === undefined ? {} : { retryAfter: Duration.millis(retryAfterMs) }))
const quota = err(new AiError.QuotaExhaustedError({}))
const serverError = err(new AiError.InternalProviderError({ description: "HTTP 503" }))
const invalid = err(new AiError.InvalidRequestError({ description: "bad" }))
const policy = RetryPolicy.defaults

describe("RetryPolicy.decide", () => {
  const cases: ReadonlyArray<[string, AiError.AiError, number, number, RetryPolicy.Decision]> = [
    [
      "full jitter on the first retry: random × 500 ms",
      serverError,
      1,
      0.5,
      { _tag: "Retry", delayMs: 250, source: "backoff" }
    ],
    ["doubles the ceiling per retry", serverError, 2, 0.5, { _tag: "Retry", delayMs: 500, source: "backoff" }],
    ["jitter can be zero", serverError, 1, 0, { _tag: "Retry", delayMs: 0, source: "backoff" }],
    ["stops after maxRetries", serverError, 3, 0.5, { _tag: "Stop", why: "exhausted" }],
    [
      "Retry-After wins over backoff",
      rateLimited(1500),
      1,
      0.9,
      { _tag: "Retry", delayMs: 1500, source: "retry-after" }
    ],
    [
      "Retry-After above the cap is not slept on",
      rateLimited(61_000),
      1,
      0.5,
      { _tag: "Stop", why: "retry-after-above-cap" }
    ],
    ["quota exhaustion is never retried", quota, 1, 0.5, { _tag: "Stop", why: "not-retryable" }],
    ["invalid requests are never retried", invalid, 1, 0.5, { _tag: "Stop", why: "not-retryable" }]
  ]
  for (const [name, error, attempt, random, expected] of cases) {
    it(name, () => {
      assert.deepStrictEqual(RetryPolicy.decide(policy, error, attempt, random), expected)
    })
  }

  it("caps the backoff ceiling at maxDelayMs", () => {
    const wide = { ...policy, maxRetries: 10 }
    assert.deepStrictEqual(RetryPolicy.decide(wide, serverError, 8, 0.999), {
      _tag: "Retry",
      delayMs: 7992,
      source: "backoff"
    })
  })

  it("a first-token timeout is retryable, an idle timeout is not", () => {
    const first = ProviderError.timeout({ kind: "firstToken", limitMs: 10, provider: "p" })
    const idle = ProviderError.timeout({ kind: "idle", limitMs: 10, provider: "p" })
    assert.strictEqual(RetryPolicy.decide(policy, first, 1, 0)._tag, "Retry")
    assert.deepStrictEqual(RetryPolicy.decide(policy, idle, 1, 0), { _tag: "Stop", why: "not-retryable" })
  })
})

describe("RetryPolicy.retry", () => {
  it.effect("retries a retryable failure after the advised delay, then succeeds", () =>
    Effect.gen(function* () {
      let attempts = 0
      const delays: Array<number> = []
      const effect = Effect.suspend(() => (++attempts < 3 ? Effect.fail(rateLimited(1000)) : Effect.succeed("ok")))
      const fiber = yield* RetryPolicy.retry(effect, policy, { onRetry: (i) => delays.push(i.delayMs) }).pipe(
        Effect.forkChild
      )
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(attempts, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(attempts, 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.deepStrictEqual(delays, [1000, 1000])
    })
  )

  it.effect("maxDelayMs cuts a longer delay (advised or backoff) and leaves a shorter one", () =>
    Effect.gen(function* () {
      const cases = [
        { advisedMs: 1000, maxDelayMs: 250, waits: 250 },
        { advisedMs: 1000, maxDelayMs: 5000, waits: 1000 },
        { advisedMs: 1000, maxDelayMs: 0, waits: 0 }
      ]
      for (const { advisedMs, maxDelayMs, waits } of cases) {
        let attempts = 0
        const delays: Array<number> = []
        const effect = Effect.suspend(() =>
          ++attempts < 2 ? Effect.fail(rateLimited(advisedMs)) : Effect.succeed("ok")
        )
        const fiber = yield* RetryPolicy.retry(effect, policy, {
          onRetry: (i) => delays.push(i.delayMs),
          maxDelayMs: () => maxDelayMs
        }).pipe(Effect.forkChild)
        if (waits > 0) {
          yield* TestClock.adjust(Duration.millis(waits - 1))
          assert.strictEqual(attempts, 1)
        }
        yield* TestClock.adjust("1 millis")
        assert.strictEqual(yield* Fiber.join(fiber), "ok")
        assert.deepStrictEqual(delays, [waits])
      }
    })
  )

  it.effect("makes exactly one attempt for a quota error sent as 429", () =>
    Effect.gen(function* () {
      let attempts = 0
      const exit = yield* Effect.exit(
        RetryPolicy.retry(
          Effect.suspend(() => {
            attempts++
            return Effect.fail(quota)
          }),
          policy
        )
      )
      assert.isTrue(Exit.isFailure(exit))
      assert.strictEqual(attempts, 1)
    })
  )

  it.effect("makes at most maxRetries + 1 attempts and fails with the last error", () =>
    Effect.gen(function* () {
      let attempts = 0
      const fiber = yield* RetryPolicy.retry(
        Effect.suspend(() => {
          attempts++
          return Effect.fail(serverError)
        }),
        policy
      ).pipe(Effect.forkChild)
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(fiber)
      assert.strictEqual(attempts, 3)
      assert.deepStrictEqual(exit, Exit.fail(serverError))
    })
  )

  it.effect("jitter is deterministic under a seeded Random", () =>
    Effect.gen(function* () {
      const run = Effect.gen(function* () {
        const delays: Array<number> = []
        const fiber = yield* RetryPolicy.retry(Effect.fail(serverError), policy, {
          onRetry: (i) => delays.push(i.delayMs)
        }).pipe(Effect.forkChild)
        yield* TestClock.adjust("1 minute")
        yield* Fiber.await(fiber)
        return delays
      })
      const a = yield* run.pipe(Random.withSeed(42))
      const b = yield* run.pipe(Random.withSeed(42))
      assert.deepStrictEqual(a, b)
      assert.strictEqual(a.length, 2)
      assert.isTrue(a[0]! < 500 && a[1]! < 1000)
    })
  )
})
