import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import * as RetryBudget from "../src/RetryBudget.js"
import * as RetryPolicy from "../src/RetryPolicy.js"

const serverError = AiError.make({
  module: "test",
  method: "test",
  reason: new AiError.InternalProviderError({ description: "HTTP 503" })
})

describe("RetryBudget", () => {
  it("allows retries up to max(ratio × requests, minPerSecond × window) over the window, then refuses", () => {
    let now = 0
    const budget = RetryBudget.make({ ratio: 0.2, minPerSecond: 0.1, windowMs: 10_000, now: () => now })
    // the floor: 1 retry per 10 s window without traffic
    assert.isTrue(budget.tryRetry())
    assert.isFalse(budget.tryRetry())
    for (let i = 0; i < 100; i++) budget.request()
    // 20% of 100 requests: 20 retries in the window, one of them already taken
    let allowed = 0
    while (budget.tryRetry()) allowed++
    assert.strictEqual(allowed, 19)
    assert.deepStrictEqual(budget.stats(), { requests: 100, retries: 20, available: 0, denied: 2 })
    // the window slides: 11 s later everything counted is gone
    now = 11_000
    assert.deepStrictEqual(budget.stats(), { requests: 0, retries: 0, available: 1, denied: 2 })
  })

  it.effect("RetryPolicy stops retrying when the current budget refuses (the attempt's error is the answer)", () =>
    Effect.gen(function* () {
      const budget = RetryBudget.make({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 })
      let attempts = 0
      const failing = Effect.suspend(() => {
        attempts++
        return Effect.fail(serverError)
      })
      const run = RetryPolicy.retry(failing, RetryPolicy.defaults).pipe(
        Effect.provideService(RetryBudget.CurrentRetryBudget, budget),
        Effect.forkChild
      )
      // the first call gets the one retry the floor allows (2 attempts), the second none (1 attempt)
      const first = yield* run
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* Fiber.await(first), Exit.fail(serverError))
      assert.strictEqual(attempts, 2)
      const second = yield* run
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(yield* Fiber.await(second), Exit.fail(serverError))
      assert.strictEqual(attempts, 3)
      assert.strictEqual(budget.stats().denied, 2)
    })
  )

  it("perProvider: one window per provider, so an outage of one does not spend another's retries", () => {
    const budget = RetryBudget.perProvider({ ratio: 0, minPerSecond: 0.2, windowMs: 10_000, now: () => 0 })
    // the floor: 2 retries per provider per window
    assert.isTrue(budget.tryRetry("kimi"))
    assert.isTrue(budget.tryRetry("kimi"))
    assert.isFalse(budget.tryRetry("kimi"))
    assert.isTrue(budget.tryRetry("glm"))
    budget.request("glm")
    assert.deepStrictEqual(budget.byProvider().get("kimi"), { requests: 0, retries: 2, available: 0, denied: 1 })
    assert.deepStrictEqual(budget.byProvider().get("glm"), { requests: 1, retries: 1, available: 1, denied: 0 })
    assert.deepStrictEqual(budget.stats(), { requests: 1, retries: 3, available: 1, denied: 1 })
  })

  it.effect("RetryPolicy takes each retry from the budget of the provider its error names", () =>
    Effect.gen(function* () {
      const budget = RetryBudget.perProvider({ ratio: 0, minPerSecond: 0.1, windowMs: 10_000, now: () => 0 })
      const errorOf = (provider: string) =>
        AiError.make({
          module: "test",
          method: "test",
          reason: new AiError.InternalProviderError({
            description: "HTTP 503",
            metadata: { conduit: { kind: "http", provider } }
          })
        })
      let attempts = 0
      const failing = (provider: string) =>
        Effect.suspend(() => {
          attempts++
          return Effect.fail(errorOf(provider))
        })
      const run = (provider: string) =>
        RetryPolicy.retry(failing(provider), RetryPolicy.defaults).pipe(
          Effect.provideService(RetryBudget.CurrentRetryBudget, budget),
          Effect.forkChild
        )
      for (const provider of ["kimi", "glm"]) {
        const fiber = yield* run(provider)
        yield* TestClock.adjust("1 minute")
        yield* Fiber.await(fiber)
      }
      // each provider's floor allowed its one retry: 2 attempts each
      assert.strictEqual(attempts, 4)
      assert.strictEqual(budget.byProvider().get("kimi")?.retries, 1)
      assert.strictEqual(budget.byProvider().get("glm")?.retries, 1)
    })
  )
})
