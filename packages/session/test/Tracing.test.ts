import { MemoryTracer } from "@conduitkit/core/testing"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Tracer } from "effect"
import { TestClock } from "effect/testing"
import * as SessionManager from "../src/SessionManager.js"

describe("admission spans", () => {
  it.effect("each request's wait for its permits is a span under the caller's, with the time it queued", () => {
    const { tracer, ended } = MemoryTracer.make()
    return Effect.gen(function* () {
      const sessions = yield* SessionManager.make({ maxConcurrent: 1 })
      const gate = yield* Deferred.make<void>()
      const first = yield* Effect.forkChild(
        sessions.run(Deferred.await(gate), { sessionId: "a", requestId: "r1" }).pipe(Effect.withSpan("request 1"))
      )
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(
        sessions.run(Effect.void, { sessionId: "b", requestId: "r2" }).pipe(Effect.withSpan("request 2"))
      )
      yield* Effect.yieldNow
      yield* TestClock.adjust("250 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      const admissions = ended.filter((span) => span.name === "conduit.session.admission")
      assert.deepStrictEqual(
        admissions.map((span) => [
          span.attributes.get("conduit.request.id"),
          span.attributes.get("conduit.session.queued_ms")
        ]),
        [
          ["r1", 0],
          ["r2", 250]
        ]
      )
      const parents = admissions.map((span) => Option.getOrUndefined(span.parent)?.spanId)
      const requests = ["request 1", "request 2"].map((name) => ended.find((span) => span.name === name)?.spanId)
      assert.deepStrictEqual(parents, requests)
    }).pipe(Effect.provideService(Tracer.Tracer, tracer))
  })
})
