/**
 * Guaranteed release, as a property: 10 scenarios of 1,000 random requests each (10,000 requests) with random
 * limits, arrival times, durations, failures, defects, execution and queue timeouts, oversized metadata, streams and
 * interruptions, run on the TestClock. At the end of every scenario: nothing active, nothing queued, nothing in the
 * registry, every global and session permit back, every request counted once, every `onEnd` called once with the
 * outcome its caller saw, the turns of each session started in arrival order without exceeding the per-session
 * limit, and no fiber left (every fiber started inside the scenario has ended once the manager's scope is closed).
 */
import { RequestContext } from "@conduitkit/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Metric, PubSub, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import * as SessionManager from "../src/SessionManager.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

type Work = "succeed" | "fail" | "die" | "hang" | "stream" | "stream-fail"

interface Spec {
  readonly session: number
  readonly work: Work
  readonly arriveMs: number
  readonly durationMs: number
  readonly attempts: number
  readonly timeoutMs: number | undefined
  readonly queueTimeoutMs: number | undefined
  readonly interruptAfterMs: number | undefined
  readonly oversized: boolean
}

interface Scenario {
  readonly maxConcurrent: number
  readonly maxConcurrentPerSession: number
  readonly maxQueued: number
  readonly requests: ReadonlyArray<Spec>
}

const spec: fc.Arbitrary<Spec> = fc.record({
  session: fc.integer({ min: 0, max: 24 }),
  work: fc.constantFrom<Work>("succeed", "succeed", "succeed", "fail", "die", "hang", "stream", "stream-fail"),
  arriveMs: fc.integer({ min: 0, max: 2_000 }),
  durationMs: fc.integer({ min: 0, max: 50 }),
  attempts: fc.integer({ min: 0, max: 3 }),
  timeoutMs: fc.option(fc.integer({ min: 1, max: 80 }), { nil: undefined }),
  queueTimeoutMs: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
  interruptAfterMs: fc.option(fc.integer({ min: 0, max: 150 }), { nil: undefined, freq: 4 }),
  oversized: fc.integer({ min: 0, max: 19 }).map((n) => n === 0)
})

const scenario: fc.Arbitrary<Scenario> = fc.record({
  maxConcurrent: fc.integer({ min: 1, max: 12 }),
  maxConcurrentPerSession: fc.integer({ min: 1, max: 3 }),
  maxQueued: fc.integer({ min: 0, max: 400 }),
  requests: fc.array(spec, { minLength: 1_000, maxLength: 1_000 })
})

const append = <K, V>(map: Map<K, Array<V>>, key: K, value: V): void => {
  const values = map.get(key)
  if (values === undefined) map.set(key, [value])
  else values.push(value)
}

/** Counts the fibers started and ended under it. */
const fiberCounter = () => {
  const counts = { started: 0, ended: 0 }
  const service: Metric.FiberRuntimeMetricsService = {
    recordFiberStart: () => {
      counts.started++
    },
    recordFiberEnd: () => {
      counts.ended++
    }
  }
  return { counts, service }
}

const runScenario = (s: Scenario) => {
  const fibers = fiberCounter()
  const program = Effect.gen(function* () {
    const ends = new Map<number, Array<SessionManager.RunEnd>>()
    const arrivals = new Map<number, Array<number>>()
    const granted = new Map<number, Array<number>>()
    const starts = new Map<number, Array<number>>()
    const running = new Map<number, number>()
    let runningTotal = 0
    let peakTotal = 0
    let peakPerSession = 0

    const outcome = yield* Effect.scoped(
      Effect.gen(function* () {
        const sessions = yield* SessionManager.make({
          maxConcurrent: s.maxConcurrent,
          maxConcurrentPerSession: s.maxConcurrentPerSession,
          maxQueued: s.maxQueued,
          maxMetadataBytes: 100,
          queueTimeout: "1 second",
          timeout: "100 millis",
          sessionTtl: "1 second",
          eventBufferSize: 100_000
        })
        const subscription = yield* sessions.subscribe

        const work = (index: number, r: Spec) =>
          Effect.gen(function* () {
            append(starts, r.session, index)
            const now = (running.get(r.session) ?? 0) + 1
            running.set(r.session, now)
            peakPerSession = Math.max(peakPerSession, now)
            peakTotal = Math.max(peakTotal, ++runningTotal)
            const context = yield* RequestContext.RequestContext
            for (let attempt = 1; attempt <= r.attempts; attempt++) context.onAttempt?.(attempt)
            yield* Effect.sleep(`${r.durationMs} millis`)
            if (r.work === "fail") return yield* new Boom()
            if (r.work === "die") return yield* Effect.die("defect")
            if (r.work === "hang") return yield* Effect.never
            return index
          }).pipe(
            Effect.ensuring(
              Effect.sync(() => {
                running.set(r.session, (running.get(r.session) ?? 1) - 1)
                runningTotal--
              })
            )
          )

        const request = (index: number, r: Spec) => {
          const options: SessionManager.RunOptions<number> = {
            sessionId: `session-${r.session}`,
            requestId: `request-${index}`,
            timeout: r.timeoutMs === undefined ? undefined : `${r.timeoutMs} millis`,
            queueTimeout: r.queueTimeoutMs === undefined ? undefined : `${r.queueTimeoutMs} millis`,
            metadata: r.oversized ? { blob: "x".repeat(200) } : { index },
            onEnd: (end) =>
              Effect.sync(() => {
                append(ends, index, end)
              })
          }
          if (r.work === "stream" || r.work === "stream-fail") {
            const elements = Stream.fromEffect(work(index, r)).pipe(
              Stream.concat(r.work === "stream-fail" ? Stream.fail(new Boom()) : Stream.make(-1))
            )
            return Stream.runDrain(sessions.runStream(elements, options))
          }
          return sessions.run(work(index, r), options)
        }

        const forked = yield* Effect.forEach(s.requests, (r, index) =>
          Effect.gen(function* () {
            const fiber = yield* Effect.forkChild(
              Effect.andThen(Effect.sleep(`${r.arriveMs} millis`), request(index, r))
            )
            if (r.interruptAfterMs !== undefined) {
              yield* Effect.forkChild(
                Effect.andThen(Effect.sleep(`${r.arriveMs + r.interruptAfterMs} millis`), Fiber.interrupt(fiber))
              )
            }
            return fiber
          })
        )

        yield* TestClock.adjust("10 seconds")
        const exits = yield* Effect.forEach(forked, Fiber.await)
        const stats = yield* sessions.stats
        yield* TestClock.adjust("5 seconds")
        const sessionsLeft = (yield* sessions.stats).sessions
        const events = yield* PubSub.takeAll(subscription)
        return { exits, stats, sessionsLeft, events }
      })
    )

    const { exits, stats, sessionsLeft, events } = outcome

    // Each request's events: created first, at most one queued and one running, one terminal event, released last.
    const lifecycles = new Map<string, Array<string>>()
    const sessionOf = (event: { readonly sessionId: string }) => Number(event.sessionId.slice("session-".length))
    const indexOf = (event: { readonly requestId: string }) => Number(event.requestId.slice("request-".length))
    for (const event of events) {
      if (event.type === "session-expired") continue
      append(lifecycles, event.requestId, event.type)
      // Admission order per session is the order of `created` events (admission follows synchronously), grant order
      // the order of `running` events (published when the permits are granted).
      if (event.type === "created") append(arrivals, sessionOf(event), indexOf(event))
      if (event.type === "running") append(granted, sessionOf(event), indexOf(event))
    }
    assert.strictEqual(lifecycles.size, s.requests.length)
    for (const [requestId, types] of lifecycles) {
      assert.match(
        types.join(" "),
        /^created( queued)?( running)? (completed|failed|timed-out|cancelled) released$/,
        requestId
      )
    }

    // Nothing held, nothing waiting, nothing registered.
    assert.strictEqual(stats.active, 0, "active")
    assert.strictEqual(stats.queued, 0, "queued")
    assert.strictEqual(stats.inFlight, 0, "in flight")
    assert.strictEqual(stats.permits.available, s.maxConcurrent, "global permits back")
    assert.strictEqual(stats.permits.sessionHeld, 0, "session permits back")
    assert.strictEqual(sessionsLeft, 0, "idle sessions expired")

    // Every request counted once, in exactly one outcome, and told once.
    const n = s.requests.length
    assert.strictEqual(stats.created, n)
    assert.strictEqual(stats.completed + stats.failed + stats.timedOut + stats.cancelled, n)
    for (let index = 0; index < n; index++) {
      const told = ends.get(index) ?? []
      assert.strictEqual(told.length, 1, `onEnd calls of request ${index}`)
      const end = told[0]!
      const exit = exits[index]!
      assert.strictEqual(end.metadata.requestId, `request-${index}`)
      if (Exit.isSuccess(exit)) {
        assert.strictEqual(end.outcome, "completed", `request ${index}`)
      } else if (end.outcome === "cancelled") {
        assert.isTrue(Cause.hasInterrupts(exit.cause), `request ${index} cancelled without interruption`)
      } else {
        assert.notStrictEqual(end.outcome, "completed", `request ${index} failed but reported completed`)
      }
      if (end.outcome === "completed" && s.requests[index]!.work === "succeed") {
        assert.strictEqual(end.metadata.attempts, s.requests[index]!.attempts)
      }
    }

    // Limits held, and each session's turns got their permits (`running`) in arrival order. With one permit per
    // session the work itself also started in arrival order (with more, granted turns start concurrently).
    assert.isAtMost(peakTotal, s.maxConcurrent)
    assert.isAtMost(peakPerSession, s.maxConcurrentPerSession)
    const inArrivalOrder = (order: Map<number, Array<number>>, what: string) => {
      for (const [session, started] of order) {
        const startedSet = new Set(started)
        assert.deepStrictEqual(
          started,
          (arrivals.get(session) ?? []).filter((index) => startedSet.has(index)),
          `${what} order of session ${session}`
        )
      }
    }
    inArrivalOrder(granted, "running")
    if (s.maxConcurrentPerSession === 1) inArrivalOrder(starts, "start")
    return stats
  })

  return program.pipe(
    Effect.provideService(Metric.FiberRuntimeMetrics, fibers.service),
    Effect.provide(TestClock.layer()),
    Effect.map((stats) => ({ stats, fibers: fibers.counts }))
  )
}

describe("SessionManager (property)", () => {
  it("releases everything after 10,000 random requests with failures, timeouts and interruptions", async () => {
    let requests = 0
    const outcomes = { completed: 0, failed: 0, timedOut: 0, cancelled: 0, rejected: 0 }
    const result = await fc.check(
      fc.asyncProperty(scenario, async (s) => {
        const { stats, fibers } = await Effect.runPromise(runScenario(s))
        // No fiber left: every fiber started inside the scenario (requests, interrupters, timeouts, the sweeper) ended.
        assert.strictEqual(fibers.started - fibers.ended, 0, "fibers left")
        assert.isAbove(fibers.started, s.requests.length)
        requests += s.requests.length
        outcomes.completed += stats.completed
        outcomes.failed += stats.failed
        outcomes.timedOut += stats.timedOut
        outcomes.cancelled += stats.cancelled
        outcomes.rejected += stats.rejected
      }),
      { numRuns: 10, endOnFailure: true }
    )
    // Report the failure and how to replay it (fc.check with { seed, path }), without printing the 1,000-request
    // counterexample; shrinking such scenarios would outlast the test timeout, hence endOnFailure.
    if (result.failed) {
      const error = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)
      throw new Error(`property failed (seed ${result.seed}, path "${result.counterexamplePath}"): ${error}`)
    }
    assert.strictEqual(requests, 10_000)
    // The generators really exercised every path.
    for (const [name, count] of Object.entries(outcomes)) assert.isAbove(count, 0, name)
  }, 600_000)
})
