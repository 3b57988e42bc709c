// Benchmarks of @conduitkit/session (the built dist): run by `node bench/run.mjs session` after `npx pnpm build`.
//
// 1. Admission overhead: the cost per request of SessionManager.run around a no-op, beside the same no-op run
//    directly (baseline), in the same process. Requests run one after the other in batches of 1,000; the figure is the
//    p50 over batches of the per-request mean, so timer resolution and GC pauses do not dominate.
// 2. 1,000 concurrent requests (250 sessions of 4 turns, 1-3 ms of real work each) through a global limit of 200 and
//    one permit per session: peak concurrency, wall time, queue p50/p95, and per-session order violations (a turn
//    whose work started before an earlier-admitted turn of its session). Target: 0 violations, peak <= 200.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const load = (relative) => import(pathToFileURL(path.join(root, relative)).href)

const { Effect, Fiber, PubSub } = await load("packages/session/node_modules/effect/dist/index.js")
const { SessionManager } = await load("packages/session/dist/index.js")

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** Per-request mean (µs) of `batches` batches of `size` sequential runs of `request(i)`. */
const measure = (request, { batches, size }) =>
  Effect.gen(function* () {
    const means = []
    for (let b = 0; b < batches; b++) {
      const start = performance.now()
      for (let i = 0; i < size; i++) yield* request(i)
      means.push(((performance.now() - start) * 1000) / size)
    }
    return means
  })

const results = []
const record = (entry) => {
  results.push(entry)
  const extra = entry.baseline === undefined ? "" : ` (baseline ${entry.baseline.toFixed(2)})`
  console.log(
    `${entry.metric}: ${typeof entry.value === "number" ? entry.value.toFixed(2) : entry.value} ${entry.unit}${extra}`
  )
}

// --- 1. admission overhead ---------------------------------------------------------------------------------------

const overhead = Effect.scoped(
  Effect.gen(function* () {
    const sessions = yield* SessionManager.make({ maxConcurrent: 200 })
    const noop = Effect.void
    const shape = { batches: 200, size: 1_000 }
    const cases = [
      ["run, fresh session per request", () => sessions.run(noop)],
      [
        "run, caller ids and metadata",
        (i) => sessions.run(noop, { sessionId: `s-${i % 64}`, requestId: `r-${i}`, metadata: { user: "u-1", i } })
      ],
      ["run, execution timeout set", () => sessions.run(noop, { timeout: "30 seconds" })]
    ]
    // warm up every path (JIT), then interleave baseline and manager batches so drift hits both alike
    yield* measure(() => noop, { batches: 20, size: 1_000 })
    for (const [, request] of cases) yield* measure(request, { batches: 20, size: 1_000 })
    for (const [name, request] of cases) {
      const baseline = []
      const managed = []
      for (let round = 0; round < shape.batches / 10; round++) {
        baseline.push(...(yield* measure(() => noop, { batches: 10, size: shape.size })))
        managed.push(...(yield* measure(request, { batches: 10, size: shape.size })))
      }
      const base = percentile(baseline, 50)
      const value = percentile(managed, 50)
      record({
        metric: `admission overhead p50: ${name}`,
        value: value - base,
        unit: "µs/request",
        baseline: base,
        ratio: value / base,
        target: "< 50 µs over the no-op",
        met: value - base < 50
      })
    }
    // with a subscriber to the lifecycle events (the gateway/demo case)
    const subscription = yield* sessions.subscribe
    const drain = yield* Effect.forkChild(Effect.forever(PubSub.takeAll(subscription)))
    const withEvents = yield* measure(() => sessions.run(noop), shape)
    const base = percentile(yield* measure(() => noop, shape), 50)
    yield* Fiber.interrupt(drain)
    record({
      metric: "admission overhead p50: run, events subscribed",
      value: percentile(withEvents, 50) - base,
      unit: "µs/request",
      baseline: base,
      ratio: percentile(withEvents, 50) / base,
      target: "< 50 µs over the no-op",
      met: percentile(withEvents, 50) - base < 50
    })
  })
)

// --- 2. 1,000 concurrent requests through a limit of 200 ------------------------------------------------------------

const concurrent = Effect.scoped(
  Effect.gen(function* () {
    const limit = 200
    const sessionsCount = 250
    const turns = 4
    const total = sessionsCount * turns
    const sessions = yield* SessionManager.make({ maxConcurrent: limit, maxQueued: total, eventBufferSize: 10 * total })
    const subscription = yield* sessions.subscribe
    const started = new Map()
    let running = 0
    let peak = 0
    const work = (session, index) =>
      Effect.gen(function* () {
        const list = started.get(session) ?? []
        list.push(index)
        started.set(session, list)
        peak = Math.max(peak, ++running)
        yield* Effect.sleep(`${1 + (index % 3)} millis`)
        running--
      })
    const begin = performance.now()
    const fibers = []
    for (let turn = 0; turn < turns; turn++) {
      for (let s = 0; s < sessionsCount; s++) {
        const index = turn * sessionsCount + s
        fibers.push(
          yield* Effect.forkChild(
            sessions.run(work(s, index), { sessionId: `session-${s}`, requestId: `request-${index}` })
          )
        )
      }
    }
    yield* Effect.forEach(fibers, Fiber.join, { discard: true })
    const wallMs = performance.now() - begin
    const stats = yield* sessions.stats
    const events = yield* PubSub.takeAll(subscription)
    const admitted = new Map()
    for (const event of events) {
      if (event.type !== "created") continue
      const session = Number(event.sessionId.slice("session-".length))
      const list = admitted.get(session) ?? []
      list.push(Number(event.requestId.slice("request-".length)))
      admitted.set(session, list)
    }
    let violations = 0
    for (const [session, order] of admitted) {
      const actual = started.get(session) ?? []
      for (let i = 0; i < order.length; i++) if (actual[i] !== order[i]) violations++
    }
    record({
      metric: "1,000 concurrent requests: per-session order violations",
      value: violations,
      unit: "requests",
      target: "0",
      met: violations === 0
    })
    record({
      metric: "1,000 concurrent requests: peak concurrency (limit 200)",
      value: peak,
      unit: "requests",
      target: "<= 200",
      met: peak <= limit
    })
    record({
      metric: "1,000 concurrent requests: completed",
      value: stats.completed,
      unit: "requests",
      target: "1000",
      met: stats.completed === total
    })
    record({ metric: "1,000 concurrent requests: wall time", value: wallMs, unit: "ms" })
    record({ metric: "1,000 concurrent requests: queue p50", value: stats.queueMs.p50, unit: "ms" })
    record({ metric: "1,000 concurrent requests: queue p95", value: stats.queueMs.p95, unit: "ms" })
    record({
      metric: "1,000 concurrent requests: permits back after",
      value: stats.permits.available,
      unit: "permits",
      target: "200",
      met: stats.permits.available === limit && stats.permits.sessionHeld === 0 && stats.queued === 0
    })
  })
)

await Effect.runPromise(overhead)
await Effect.runPromise(concurrent)

fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/session.json"),
  JSON.stringify(
    { name: "session", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results },
    null,
    2
  )
)
if (results.some((r) => r.met === false)) process.exitCode = 1
