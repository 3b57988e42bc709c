import { ProviderError, RequestContext } from "@conduitkit/core"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Deferred, Effect, Exit, Fiber, PubSub, Schema, Stream } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import * as SessionError from "../src/SessionError.js"
import * as SessionEvents from "../src/SessionEvents.js"
import * as SessionManager from "../src/SessionManager.js"

class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}

/** A piece of work that reports `attempts` upstream attempts through core's RequestContext, like core's model does. */
const upstreamCall = <A>(value: A, attempts = 1) =>
  Effect.gen(function* () {
    const context = yield* RequestContext.RequestContext
    for (let attempt = 1; attempt <= attempts; attempt++) context.onAttempt?.(attempt)
    return value
  })

const manager = (config: SessionManager.Config = {}) => SessionManager.make(config)

/** Lets every forked fiber run until it suspends. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 10; i++) yield* Effect.yieldNow
})

const assertIdle = (sessions: SessionManager.SessionManager["Service"]) =>
  Effect.gen(function* () {
    const stats = yield* sessions.stats
    assert.strictEqual(stats.active, 0, "active")
    assert.strictEqual(stats.queued, 0, "queued")
    assert.strictEqual(stats.inFlight, 0, "in flight")
    assert.strictEqual(stats.permits.available, stats.permits.limit, "global permits")
    assert.strictEqual(stats.permits.sessionHeld, 0, "session permits")
  })

describe("SessionManager.run", () => {
  it.effect("returns the value with generated ids, timings and the attempts core reported", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const fiber = yield* Effect.forkChild(
        sessions.run(Effect.andThen(Effect.sleep("250 millis"), upstreamCall("answer", 3)))
      )
      yield* TestClock.adjust("250 millis")
      const { value, metadata } = yield* Fiber.join(fiber)
      assert.strictEqual(value, "answer")
      assert.match(metadata.requestId, /^req_[0-9a-f-]{36}$/)
      assert.match(metadata.sessionId, /^sess_[0-9a-f-]{36}$/)
      assert.strictEqual(metadata.attempts, 3)
      assert.strictEqual(metadata.queuedMs, 0)
      assert.strictEqual(metadata.durationMs, 250)
      yield* assertIdle(sessions)
    })
  )

  it.effect("reports 0 attempts for work that made no upstream call, and keeps the caller's ids", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const { metadata } = yield* sessions.run(Effect.succeed("cached"), { sessionId: "s-1", requestId: "r-1" })
      assert.deepStrictEqual(metadata, { sessionId: "s-1", requestId: "r-1", queuedMs: 0, durationMs: 0, attempts: 0 })
    })
  )

  it.effect("provides RequestContext to the work and chains an outer onAttempt observer", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outer: Array<number> = []
      const { value, metadata } = yield* sessions
        .run(
          Effect.gen(function* () {
            yield* upstreamCall(null, 2)
            return yield* RequestContext.RequestContext
          }),
          { sessionId: "s-ctx", requestId: "r-ctx" }
        )
        .pipe(
          Effect.provideService(RequestContext.RequestContext, {
            requestId: "outer",
            onAttempt: (attempt) => outer.push(attempt)
          })
        )
      assert.strictEqual(value.requestId, "r-ctx")
      assert.strictEqual(value.sessionId, "s-ctx")
      assert.deepStrictEqual(outer, [1, 2])
      assert.strictEqual(metadata.attempts, 2)
    })
  )

  it.effect("runs the turns of one session one at a time, in arrival order", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const log: Array<string> = []
      const turn = (n: number) =>
        Effect.gen(function* () {
          log.push(`start ${n}`)
          yield* Effect.sleep("100 millis")
          log.push(`end ${n}`)
        })
      const fibers = yield* Effect.forEach([1, 2, 3, 4], (n) =>
        Effect.forkChild(sessions.run(turn(n), { sessionId: "conversation" }))
      )
      yield* settle
      assert.strictEqual((yield* sessions.stats).active, 1)
      assert.strictEqual((yield* sessions.stats).queued, 3)
      yield* TestClock.adjust("400 millis")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      assert.deepStrictEqual(log, ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3", "start 4", "end 4"])
      assert.deepStrictEqual(
        results.map((r) => r.metadata.queuedMs),
        [0, 100, 200, 300]
      )
      yield* assertIdle(sessions)
    })
  )

  it.effect("lets different sessions run concurrently up to the global limit, FIFO beyond it", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 2 })
      const started: Array<number> = []
      let running = 0
      let peak = 0
      const work = (n: number) =>
        Effect.gen(function* () {
          started.push(n)
          running++
          peak = Math.max(peak, running)
          yield* Effect.sleep("100 millis")
          running--
        })
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (n) =>
        Effect.forkChild(sessions.run(work(n), { sessionId: `s-${n}` }))
      )
      yield* settle
      const stats = yield* sessions.stats
      assert.strictEqual(stats.active, 2)
      assert.strictEqual(stats.queued, 3)
      assert.strictEqual(stats.permits.available, 0)
      yield* TestClock.adjust("300 millis")
      yield* Effect.forEach(fibers, Fiber.join)
      assert.strictEqual(peak, 2)
      assert.deepStrictEqual(started, [1, 2, 3, 4, 5])
      yield* assertIdle(sessions)
    })
  )

  it.effect("allows several turns of a session at once when maxConcurrentPerSession says so", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrentPerSession: 2 })
      const fibers = yield* Effect.forEach([1, 2, 3], () =>
        Effect.forkChild(sessions.run(Effect.sleep("1 second"), { sessionId: "wide" }))
      )
      yield* settle
      assert.strictEqual((yield* sessions.stats).active, 2)
      yield* TestClock.adjust("2 seconds")
      yield* Effect.forEach(fibers, Fiber.join)
      yield* assertIdle(sessions)
    })
  )

  it.effect("refuses a request with QueueFullError when maxQueued requests already wait", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1, maxQueued: 1 })
      const ends: Array<SessionManager.RunEnd> = []
      const onEnd = (end: SessionManager.RunEnd) => Effect.sync(() => ends.push(end))
      const first = yield* Effect.forkChild(sessions.run(Effect.sleep("1 second"), { onEnd }))
      const second = yield* Effect.forkChild(sessions.run(Effect.sleep("1 second"), { onEnd }))
      yield* settle
      const error = yield* Effect.flip(sessions.run(Effect.void, { requestId: "third", onEnd }))
      assert.instanceOf(error, SessionError.QueueFullError)
      assert.strictEqual(error.requestId, "third")
      assert.strictEqual(error.maxQueued, 1)
      assert.deepStrictEqual(
        ends.map((end) => [end.outcome, end.error, end.metadata.durationMs]),
        [["failed", "QueueFullError", 0]]
      )
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      const stats = yield* sessions.stats
      assert.strictEqual(stats.rejected, 1)
      assert.strictEqual(stats.failed, 1)
      assert.strictEqual(stats.completed, 2)
      yield* assertIdle(sessions)
    })
  )

  it.effect("fails a request that waits longer than queueTimeout and gives its place back", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1, queueTimeout: "5 seconds" })
      const blocker = yield* Effect.forkChild(sessions.run(Effect.sleep("1 minute")))
      yield* settle
      const waiter = yield* Effect.forkChild(Effect.flip(sessions.run(Effect.void, { requestId: "late" })))
      yield* settle
      assert.strictEqual((yield* sessions.stats).queued, 1)
      yield* TestClock.adjust("5 seconds")
      const error = yield* Fiber.join(waiter)
      assert.instanceOf(error, SessionError.QueueTimeoutError)
      assert.strictEqual(error.timeoutMs, 5_000)
      const stats = yield* sessions.stats
      assert.strictEqual(stats.queued, 0)
      assert.strictEqual(stats.timedOut, 1)
      assert.strictEqual(stats.rejected, 1)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(blocker)
      yield* assertIdle(sessions)
    })
  )

  it.effect("a per-request queueTimeout overrides the manager's", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1, queueTimeout: "1 hour" })
      const blocker = yield* Effect.forkChild(sessions.run(Effect.sleep("1 minute")))
      yield* settle
      const waiter = yield* Effect.forkChild(Effect.flip(sessions.run(Effect.void, { queueTimeout: "1 second" })))
      yield* settle
      yield* TestClock.adjust("1 second")
      assert.instanceOf(yield* Fiber.join(waiter), SessionError.QueueTimeoutError)
      yield* TestClock.adjust("1 minute")
      yield* Fiber.join(blocker)
    })
  )

  it.effect("interrupts work that exceeds its execution timeout with ExecutionTimeoutError", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ timeout: "10 seconds" })
      let finalized = false
      const slow = Effect.sleep("1 minute").pipe(Effect.ensuring(Effect.sync(() => (finalized = true))))
      const fiber = yield* Effect.forkChild(Effect.flip(sessions.run(slow, { sessionId: "s", requestId: "r" })))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      assert.instanceOf(error, SessionError.ExecutionTimeoutError)
      assert.deepStrictEqual([error.requestId, error.sessionId, error.timeoutMs], ["r", "s", 10_000])
      assert.isTrue(finalized)
      const stats = yield* sessions.stats
      assert.strictEqual(stats.timedOut, 1)
      assert.strictEqual(stats.rejected, 0)
      yield* assertIdle(sessions)
    })
  )

  it.effect("a per-request timeout overrides the manager's, and the work's own TimeoutError stays a failure", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ timeout: "1 hour" })
      const fiber = yield* Effect.forkChild(Effect.flip(sessions.run(Effect.never, { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      assert.instanceOf(yield* Fiber.join(fiber), SessionError.ExecutionTimeoutError)
      const own = yield* Effect.flip(
        sessions.run(
          Effect.fail(new SessionError.ExecutionTimeoutError({ requestId: "x", sessionId: "y", timeoutMs: 1 }))
        )
      )
      assert.isTrue(own._tag === "ExecutionTimeoutError" && own.requestId === "x")
      const stats = yield* sessions.stats
      assert.strictEqual(stats.timedOut, 1)
      assert.strictEqual(stats.failed, 1)
    })
  )

  it.effect("passes the work's failures through unchanged and counts them", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const error = yield* Effect.flip(sessions.run(Effect.fail(new Boom())))
      assert.instanceOf(error, Boom)
      const defect = yield* Effect.exit(sessions.run(Effect.die("kaput")))
      assert.isTrue(Exit.isFailure(defect) && Cause.hasDies(defect.cause))
      const stats = yield* sessions.stats
      assert.strictEqual(stats.failed, 2)
      yield* assertIdle(sessions)
    })
  )

  it.effect("releases a running request that is interrupted and lets the next turn of its session start", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const ends: Array<string> = []
      const onEnd = (end: SessionManager.RunEnd) =>
        Effect.sync(() => ends.push(`${end.metadata.requestId} ${end.outcome}`))
      const first = yield* Effect.forkChild(sessions.run(Effect.never, { sessionId: "s", requestId: "a", onEnd }))
      const second = yield* Effect.forkChild(sessions.run(Effect.succeed(2), { sessionId: "s", requestId: "b", onEnd }))
      yield* settle
      assert.strictEqual((yield* sessions.stats).queued, 1)
      yield* Fiber.interrupt(first)
      const result = yield* Fiber.join(second)
      assert.strictEqual(result.value, 2)
      assert.deepStrictEqual(ends, ["a cancelled", "b completed"])
      assert.strictEqual((yield* sessions.stats).cancelled, 1)
      yield* assertIdle(sessions)
    })
  )

  it.effect("releases the queue place of a request interrupted while waiting", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1 })
      const blocker = yield* Effect.forkChild(sessions.run(Effect.sleep("1 second")))
      const waiting = yield* Effect.forkChild(sessions.run(Effect.void, { sessionId: "w" }))
      const after = yield* Effect.forkChild(sessions.run(Effect.succeed("after")))
      yield* settle
      assert.strictEqual((yield* sessions.stats).queued, 2)
      yield* Fiber.interrupt(waiting)
      const stats = yield* sessions.stats
      assert.strictEqual(stats.queued, 1)
      assert.strictEqual(stats.cancelled, 1)
      assert.strictEqual(stats.rejected, 1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(blocker)
      assert.strictEqual((yield* Fiber.join(after)).value, "after")
      yield* assertIdle(sessions)
    })
  )

  it.effect("refuses metadata larger than maxMetadataBytes of JSON, or not JSON at all", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxMetadataBytes: 64 })
      const fine = yield* sessions.run(Effect.succeed(1), { metadata: { user: "u-1", tags: ["a", "b"] } })
      assert.strictEqual(fine.value, 1)
      const large = yield* Effect.flip(sessions.run(Effect.succeed(1), { metadata: { note: "é".repeat(40) } }))
      assert.instanceOf(large, SessionError.MetadataTooLargeError)
      assert.strictEqual(large.sizeBytes, JSON.stringify({ note: "é".repeat(40) }).length + 40)
      assert.strictEqual(large.maxBytes, 64)
      const notJson = yield* Effect.flip(sessions.run(Effect.succeed(1), { metadata: { n: 1n } }))
      assert.instanceOf(notJson, SessionError.MetadataTooLargeError)
      assert.strictEqual(notJson.sizeBytes, -1)
      const stats = yield* sessions.stats
      assert.strictEqual(stats.rejected, 2)
      yield* assertIdle(sessions)
    })
  )

  it.effect("defaults to 10 KB of metadata", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      yield* sessions.run(Effect.void, { metadata: { blob: "x".repeat(10_000) } })
      const error = yield* Effect.flip(sessions.run(Effect.void, { metadata: { blob: "x".repeat(10_240) } }))
      assert.instanceOf(error, SessionError.MetadataTooLargeError)
    })
  )

  it.effect("fails loudly when rateLimit is used without a RateLimits service", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const exit = yield* Effect.exit(sessions.run(Effect.void, { rateLimit: { key: "k" } }))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
      yield* assertIdle(sessions)
    })
  )

  it.effect("is reachable through the module accessors and the layer", () =>
    Effect.gen(function* () {
      const { value } = yield* SessionManager.run(Effect.succeed("via layer"), { sessionId: "acc" })
      const streamed = yield* Stream.runCollect(SessionManager.runStream(Stream.make(1, 2), { sessionId: "acc" }))
      assert.strictEqual(value, "via layer")
      assert.deepStrictEqual(streamed, [1, 2])
    }).pipe(Effect.provide(SessionManager.layer()))
  )
})

describe("SessionManager.runStream", () => {
  it.effect("holds the session permit until the stream ends, and delivers the metadata to onEnd", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const ended = yield* Deferred.make<SessionManager.RunEnd>()
      const stream = Stream.fromEffect(upstreamCall("a", 2)).pipe(
        Stream.concat(Stream.fromEffect(Effect.as(Effect.sleep("1 second"), "b")))
      )
      const consumer = yield* Effect.forkChild(
        Stream.runCollect(
          sessions.runStream(stream, {
            sessionId: "s",
            requestId: "stream-1",
            onEnd: (end) => Deferred.succeed(ended, end)
          })
        )
      )
      yield* settle
      const next = yield* Effect.forkChild(sessions.run(Effect.succeed("next"), { sessionId: "s" }))
      yield* settle
      let stats = yield* sessions.stats
      assert.strictEqual(stats.active, 1)
      assert.strictEqual(stats.queued, 1)
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(consumer), ["a", "b"])
      const end = yield* Deferred.await(ended)
      assert.deepStrictEqual(end, {
        outcome: "completed",
        error: undefined,
        metadata: { sessionId: "s", requestId: "stream-1", queuedMs: 0, durationMs: 1_000, attempts: 2 }
      })
      const after = yield* Fiber.join(next)
      assert.strictEqual(after.metadata.queuedMs, 1_000)
      stats = yield* sessions.stats
      assert.strictEqual(stats.completed, 2)
      yield* assertIdle(sessions)
    })
  )

  it.effect("does not admit before the stream is pulled", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const stream = sessions.runStream(Stream.make(1))
      assert.strictEqual((yield* sessions.stats).created, 0)
      yield* Stream.runDrain(stream)
      assert.strictEqual((yield* sessions.stats).completed, 1)
    })
  )

  it.effect("releases when the consumer stops early", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string> = []
      const taken = yield* Stream.runCollect(
        sessions
          .runStream(
            Stream.iterate(0, (n) => n + 1),
            { onEnd: (end) => Effect.sync(() => outcomes.push(end.outcome)) }
          )
          .pipe(Stream.take(3))
      )
      assert.deepStrictEqual(taken, [0, 1, 2])
      assert.deepStrictEqual(outcomes, ["completed"])
      yield* assertIdle(sessions)
    })
  )

  it.effect("releases before the rest of a concatenated stream runs", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const activeAfter = yield* Stream.runCollect(
        sessions
          .runStream(Stream.make(1, 2))
          .pipe(Stream.concat(Stream.fromEffect(Effect.map(sessions.stats, (s) => s.active))))
      )
      assert.deepStrictEqual(activeAfter, [1, 2, 0])
    })
  )

  it.effect("records a failing stream as failed and passes its error through", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string | undefined> = []
      const error = yield* Effect.flip(
        Stream.runDrain(
          sessions.runStream(Stream.concat(Stream.make(1), Stream.fail(new Boom())), {
            onEnd: (end) => Effect.sync(() => outcomes.push(`${end.outcome} ${end.error}`))
          })
        )
      )
      assert.instanceOf(error, Boom)
      assert.deepStrictEqual(outcomes, ["failed Boom"])
      yield* assertIdle(sessions)
    })
  )

  it.effect("bounds the whole stream by the execution timeout", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string> = []
      const slow = Stream.fromEffectRepeat(Effect.as(Effect.sleep("1 second"), "tick"))
      const fiber = yield* Effect.forkChild(
        Effect.flip(
          Stream.runDrain(
            sessions.runStream(slow, {
              timeout: "3500 millis",
              onEnd: (end) => Effect.sync(() => outcomes.push(end.outcome))
            })
          )
        )
      )
      yield* TestClock.adjust("4 seconds")
      const error = yield* Fiber.join(fiber)
      assert.instanceOf(error, SessionError.ExecutionTimeoutError)
      assert.deepStrictEqual(outcomes, ["timed-out"])
      yield* assertIdle(sessions)
    })
  )

  it.effect("gives a stream that honors the deadline its deadline, and checks it at each pull", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string> = []
      const seen: Array<RequestContext.RequestContextShape["deadline"]> = []
      // ticks of 1 s that never wait past the deadline on their own: only the check at the pull ends them
      const ticks = Stream.unwrap(
        Effect.map(RequestContext.RequestContext, (context) => {
          seen.push(context.deadline)
          return Stream.fromEffectRepeat(Effect.as(Effect.sleep("1 second"), "tick"))
        })
      )
      const fiber = yield* Effect.forkChild(
        Effect.flip(
          Stream.runDrain(
            sessions.runStream(ticks, {
              timeout: "3500 millis",
              honorsDeadline: true,
              onEnd: (end) => Effect.sync(() => outcomes.push(end.outcome))
            })
          )
        )
      )
      yield* TestClock.adjust("4 seconds")
      const error = yield* Fiber.join(fiber)
      assert.instanceOf(error, SessionError.ExecutionTimeoutError)
      assert.deepStrictEqual(seen, [{ at: 3_500, timeoutMs: 3_500 }])
      assert.deepStrictEqual(outcomes, ["timed-out"])
      yield* assertIdle(sessions)
    })
  )

  it.effect("takes a call's total timeout naming the deadline as the execution timeout; other failures pass", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string> = []
      const failing = (limitMs: number) =>
        Effect.flip(
          Stream.runDrain(
            sessions.runStream(
              Stream.concat(
                Stream.make(1),
                Stream.fail(ProviderError.timeout({ kind: "total", limitMs, provider: "sample" }))
              ),
              {
                timeout: "3500 millis",
                honorsDeadline: true,
                onEnd: (end) => Effect.sync(() => outcomes.push(end.outcome))
              }
            )
          )
        )
      // core's timer may fire a little before the Clock reads the deadline: its error names the deadline's timeout
      assert.instanceOf(yield* failing(3_500), SessionError.ExecutionTimeoutError)
      const own = yield* failing(100)
      assert.isTrue(AiError.isAiError(own) && ProviderError.describe(own).limitMs === 100)
      assert.deepStrictEqual(outcomes, ["timed-out", "failed"])
      yield* assertIdle(sessions)
    })
  )

  it.effect("records an interrupted consumer as cancelled", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const outcomes: Array<string> = []
      const fiber = yield* Effect.forkChild(
        Stream.runDrain(
          sessions.runStream(Stream.never, { onEnd: (end) => Effect.sync(() => outcomes.push(end.outcome)) })
        )
      )
      yield* settle
      assert.strictEqual((yield* sessions.stats).active, 1)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(outcomes, ["cancelled"])
      yield* assertIdle(sessions)
    })
  )
})

describe("SessionManager observability", () => {
  it.effect("publishes the lifecycle of each request in order", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1 })
      const subscription = yield* sessions.subscribe
      const first = yield* Effect.forkChild(
        sessions.run(Effect.sleep("1 second"), { requestId: "a", sessionId: "s1", metadata: { user: "u" } })
      )
      const second = yield* Effect.forkChild(sessions.run(Effect.fail(new Boom()), { requestId: "b", sessionId: "s2" }))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(first)
      yield* Effect.flip(Fiber.join(second))
      const events = yield* PubSub.takeAll(subscription)
      const lines = events.map((event) =>
        event.type === "session-expired" ? event.type : `${event.requestId} ${event.type}`
      )
      assert.deepStrictEqual(lines, [
        "a created",
        "a running",
        "b created",
        "b queued",
        "a completed",
        "a released",
        "b running",
        "b failed",
        "b released"
      ])
      const created = events[0]
      assert.isTrue(created?.type === "created" && created.metadata?.user === "u")
      const failed = events.find((event) => event.type === "failed")
      assert.isTrue(
        failed !== undefined && SessionEvents.isEnded(failed) && failed.error === "Boom" && failed.queuedMs === 1_000
      )
      const released = events.at(-1)
      assert.isTrue(
        released?.type === "released" && released.outcome === "failed" && released.metadata.requestId === "b"
      )
      assert.match(
        SessionEvents.format(failed!),
        /^b s2 failed phase=running queued=1000ms run=0.00ms attempts=0 error=Boom$/
      )
    })
  )

  it.effect("streams events to a subscriber of the events stream", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      const collected = yield* Effect.forkChild(Stream.runCollect(Stream.take(sessions.events, 4)))
      yield* settle
      yield* sessions.run(Effect.void, { requestId: "r" })
      const events = yield* Fiber.join(collected)
      assert.deepStrictEqual(
        events.map((event) => event.type),
        ["created", "running", "completed", "released"]
      )
    })
  )

  it.effect("reports p50/p95 queue and run times over recent requests", () =>
    Effect.gen(function* () {
      const sessions = yield* manager()
      for (let i = 1; i <= 20; i++) {
        const fiber = yield* Effect.forkChild(sessions.run(Effect.sleep(`${i * 10} millis`)))
        yield* TestClock.adjust(`${i * 10} millis`)
        yield* Fiber.join(fiber)
      }
      const stats = yield* sessions.stats
      assert.deepStrictEqual(stats.runMs, { p50: 100, p95: 190 })
      assert.deepStrictEqual(stats.queueMs, { p50: 0, p95: 0 })
      assert.strictEqual(stats.completed, 20)
    })
  )

  it.effect("lists requests in flight with their state and metadata", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ maxConcurrent: 1 })
      yield* Effect.forkChild(sessions.run(Effect.never, { requestId: "a", metadata: { k: 1 } }))
      yield* Effect.forkChild(sessions.run(Effect.never, { requestId: "b" }))
      yield* settle
      const requests = yield* sessions.requests
      assert.deepStrictEqual(
        requests.map((r) => [r.requestId, r.state, r.metadata]),
        [
          ["a", "running", { k: 1 }],
          ["b", "queued", undefined]
        ]
      )
    })
  )

  it.effect("forgets idle sessions after the TTL with one sweeper, never a session still in use", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ sessionTtl: "1 minute" })
      const subscription = yield* sessions.subscribe
      yield* sessions.run(Effect.void, { sessionId: "idle" })
      const busy = yield* Effect.forkChild(sessions.run(Effect.sleep("10 minutes"), { sessionId: "busy" }))
      yield* settle
      assert.deepStrictEqual(
        (yield* sessions.sessions).map((s) => s.sessionId),
        ["idle", "busy"]
      )
      yield* TestClock.adjust("30 seconds")
      assert.strictEqual((yield* sessions.stats).sessions, 2)
      yield* TestClock.adjust("45 seconds")
      assert.deepStrictEqual((yield* sessions.stats).sessions, 1)
      const info = yield* sessions.sessions
      assert.deepStrictEqual(
        info.map((s) => [s.sessionId, s.active, s.requests]),
        [["busy", 1, 1]]
      )
      const expired = (yield* PubSub.takeAll(subscription)).filter((event) => event.type === "session-expired")
      assert.strictEqual(expired.length, 1)
      assert.isTrue(
        expired[0]?.type === "session-expired" && expired[0].sessionId === "idle" && expired[0].idleMs >= 60_000
      )
      yield* TestClock.adjust("10 minutes")
      yield* Fiber.join(busy)
      yield* TestClock.adjust("2 minutes")
      assert.strictEqual((yield* sessions.stats).sessions, 0)
    })
  )

  it.effect("forgets a session it generated as soon as its request ends", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ sessionTtl: "1 hour" })
      const fiber = yield* Effect.forkChild(sessions.run(Effect.sleep("1 second")))
      yield* settle
      assert.strictEqual((yield* sessions.stats).sessions, 1)
      yield* TestClock.adjust("1 second")
      const { metadata } = yield* Fiber.join(fiber)
      assert.strictEqual((yield* sessions.stats).sessions, 0)
      // the generated id can be used for the next turn: it becomes a named session
      yield* sessions.run(Effect.void, { sessionId: metadata.sessionId })
      assert.deepStrictEqual(
        (yield* sessions.sessions).map((s) => s.sessionId),
        [metadata.sessionId]
      )
    })
  )

  it.effect("keeps a session used again before its TTL", () =>
    Effect.gen(function* () {
      const sessions = yield* manager({ sessionTtl: "1 minute" })
      yield* sessions.run(Effect.void, { sessionId: "s" })
      yield* TestClock.adjust("50 seconds")
      yield* sessions.run(Effect.void, { sessionId: "s" })
      yield* TestClock.adjust("50 seconds")
      const [info] = yield* sessions.sessions
      assert.strictEqual(info?.requests, 2)
    })
  )
})
