// Benchmark of @conduitkit/cache (built dist): run `npx pnpm build` first, then `node bench/run.mjs cache`.
//
// 1. Memory store: get / set ops/s through the Effect API, against raw lru-cache in the same run (the baseline).
// 2. 1,000,000 inserts (values of 100..3,000 characters) into a store bounded at 10,000 entries and 16 MiB: the
//    store's own byte accounting never exceeds its bound; the peak RSS growth is reported against that bound.
// 3. Redis store: get / set round trip p50 / p99 on loopback, against the raw `redis` client's GET (baseline). The
//    script starts its own redis-server on a free port (persistence off) and stops it at the end.
// 4. Response cache: latency of a hit (memory store, and Redis store) against the upstream call it replaces. The
//    simulated upstream is a local node:http server answering a chat.completion JSON body with no added delay,
//    called with fetch and converted to parts: the cheapest upstream possible, so the ratio is conservative (a real
//    provider call takes 0.5-10 s).
import * as fs from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const cacheDir = path.join(root, "packages/cache")
const requireFromCache = createRequire(path.join(cacheDir, "package.json"))
const load = (specifier) => import(pathToFileURL(requireFromCache.resolve(specifier)).href)

if (!fs.existsSync(path.join(cacheDir, "dist/index.js"))) {
  console.error("packages/cache/dist is missing: run `npx pnpm build` first")
  process.exit(1)
}

const { MemoryStore, RedisStore, ResponseCache } = await import(
  pathToFileURL(path.join(cacheDir, "dist/index.js")).href
)
const { Effect, Layer, Context } = await load("effect")
const { CacheStore, ResponseCacheHook } = await load("@conduitkit/core")
const { RedisServer } = await load("@conduitkit/core/testing")
const { LRUCache } = requireFromCache("lru-cache")
const { createClient } = requireFromCache("redis")

const results = []
const report = (row) => {
  results.push(row)
  const extra =
    row.ratio === undefined ? "" : `  (ratio ${row.ratio.toFixed(3)}${row.target ? `, target ${row.target}` : ""})`
  console.log(`${row.metric}: ${typeof row.value === "number" ? row.value.toFixed(2) : row.value} ${row.unit}${extra}`)
}
const gc = () => globalThis.gc?.()
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
const micros = (ns) => Number(ns) / 1_000

/** Runs `fn` (sync) for ~`ms` milliseconds in batches; returns operations per second. */
const opsPerSecond = (fn, ms = 1_000) => {
  for (let i = 0; i < 20_000; i++) fn(i) // warm up
  let ops = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < deadline) {
    for (let i = 0; i < 10_000; i++) fn(ops + i)
    ops += 10_000
    now = process.hrtime.bigint()
  }
  return ops / (Number(now - start) / 1e9)
}

/** Latencies (µs) of `n` sequential runs of the async `fn`, after `warmup` runs. */
const latencies = async (fn, n, warmup = 200) => {
  for (let i = 0; i < warmup; i++) await fn(i)
  const out = new Array(n)
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint()
    await fn(i)
    out[i] = micros(process.hrtime.bigint() - start)
  }
  return out.sort((a, b) => a - b)
}

/** Latencies (µs) of `a` and `b`, run alternately `n` times each after a warm-up. */
const interleaved = async (a, b, n, warmup = 200) => {
  for (let i = 0; i < warmup; i++) {
    await a(i)
    await b(i)
  }
  const outA = new Array(n)
  const outB = new Array(n)
  for (let i = 0; i < n; i++) {
    let start = process.hrtime.bigint()
    await a(i)
    outA[i] = micros(process.hrtime.bigint() - start)
    start = process.hrtime.bigint()
    await b(i)
    outB[i] = micros(process.hrtime.bigint() - start)
  }
  return [outA.sort((x, y) => x - y), outB.sort((x, y) => x - y)]
}

// ---------------------------------------------------------------------------------------------------------------
// 1. memory store ops/s
{
  const keys = Array.from({ length: 10_000 }, (_, i) => `key-${i}`)
  const value = { cacheId: "ctx-0123456789", tokens: 1234, at: "2025-01-01T00:00:00Z" }
  const store = Effect.runSync(MemoryStore.make({ capacity: 10_000 }))
  const raw = new LRUCache({ max: 10_000, maxSize: 64 * 1024 * 1024, sizeCalculation: (v) => v.length, ttl: 3_600_000 })
  const json = JSON.stringify(value)
  // the Effect API as a caller uses it: many operations inside one program
  const setOps = opsPerSecond((i) => Effect.runSync(store.set(keys[i % 10_000], value)))
  const getOps = opsPerSecond((i) => Effect.runSync(store.get(keys[i % 10_000])))
  const setBatch = opsPerSecondBatched((n) =>
    Effect.runSync(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* store.set(keys[i % 10_000], value)
      })
    )
  )
  const getBatch = opsPerSecondBatched((n) =>
    Effect.runSync(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* store.get(keys[i % 10_000])
      })
    )
  )
  const rawSet = opsPerSecond((i) => raw.set(keys[i % 10_000], JSON.stringify(value)))
  const rawGet = opsPerSecond((i) => JSON.parse(raw.get(keys[i % 10_000]) ?? json))
  report({ metric: "memory set (runSync per op)", value: setOps, unit: "ops/s" })
  report({ metric: "memory get (runSync per op)", value: getOps, unit: "ops/s" })
  report({
    metric: "memory set (inside one Effect)",
    value: setBatch,
    unit: "ops/s",
    baseline: rawSet,
    ratio: setBatch / rawSet
  })
  report({
    metric: "memory get (inside one Effect)",
    value: getBatch,
    unit: "ops/s",
    baseline: rawGet,
    ratio: getBatch / rawGet
  })
  report({ metric: "raw lru-cache set + JSON.stringify (baseline)", value: rawSet, unit: "ops/s" })
  report({ metric: "raw lru-cache get + JSON.parse (baseline)", value: rawGet, unit: "ops/s" })
}

function opsPerSecondBatched(run, ms = 1_000) {
  run(20_000)
  let ops = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < deadline) {
    run(10_000)
    ops += 10_000
    now = process.hrtime.bigint()
  }
  return ops / (Number(now - start) / 1e9)
}

// ---------------------------------------------------------------------------------------------------------------
// 2. 1,000,000 inserts into a bounded store
{
  const maxBytes = 16 * 1024 * 1024
  const capacity = 10_000
  gc()
  gc()
  const baselineRss = process.memoryUsage().rss
  const baselineHeap = process.memoryUsage().heapUsed
  const store = Effect.runSync(MemoryStore.make({ capacity, maxBytes }))
  let peakRss = baselineRss
  let peakBytes = 0
  let seed = 12345
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
  const start = process.hrtime.bigint()
  Effect.runSync(
    Effect.gen(function* () {
      for (let i = 0; i < 1_000_000; i++) {
        const length = 100 + Math.floor(random() * 2_900)
        const text =
          alphabet.repeat(Math.ceil(length / alphabet.length)).slice(0, length - 8) + String(i).padStart(8, "0")
        yield* store.set(`prefix-hash-${i}`, { cacheId: `ctx-${i}`, text })
        if (i % 10_000 === 9_999) {
          const stats = yield* store.stats
          peakBytes = Math.max(peakBytes, stats.bytes)
          peakRss = Math.max(peakRss, process.memoryUsage().rss)
        }
      }
    })
  )
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const stats = Effect.runSync(store.stats)
  const growth = peakRss - baselineRss
  gc()
  gc()
  const retained = process.memoryUsage().heapUsed - baselineHeap
  const rssAfterGc = process.memoryUsage().rss - baselineRss
  const mib = (bytes) => bytes / (1024 * 1024)
  report({ metric: "bounded store: inserts/s over 1,000,000 inserts", value: 1_000_000 / seconds, unit: "ops/s" })
  report({ metric: "bounded store: entries at the end (bound 10,000)", value: stats.size, unit: "entries" })
  report({ metric: "bounded store: evictions", value: stats.evictions, unit: "entries" })
  report({
    metric: "bounded store: peak accounted bytes / byte bound",
    value: mib(peakBytes),
    unit: "MiB",
    baseline: mib(maxBytes),
    ratio: peakBytes / maxBytes,
    target: "<= 1",
    met: peakBytes <= maxBytes && stats.size <= capacity
  })
  report({
    metric: "bounded store: heap retained after GC / byte bound",
    value: mib(retained),
    unit: "MiB",
    baseline: mib(maxBytes),
    ratio: retained / maxBytes,
    target: "<= 1",
    met: retained <= maxBytes
  })
  // Peak RSS includes the garbage of generating 1,000,000 values (about 1.5 GB allocated in total) that V8 has not
  // collected yet, so it is reported, not held to the bound.
  report({
    metric: "bounded store: peak RSS growth",
    value: mib(growth),
    unit: "MiB",
    baseline: mib(maxBytes),
    ratio: growth / maxBytes
  })
  report({
    metric: "bounded store: RSS growth after GC",
    value: mib(rssAfterGc),
    unit: "MiB",
    baseline: mib(maxBytes),
    ratio: rssAfterGc / maxBytes
  })
}

// ---------------------------------------------------------------------------------------------------------------
// 3 and 4 need a redis-server and an upstream
const server = await RedisServer.startRedisServer()
const upstreamServer = http.createServer((request, response) => {
  let body = ""
  request.on("data", (chunk) => {
    body += chunk
  })
  request.on("end", () => {
    const payload = JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created: 1735689600,
      model: "kimi-k2",
      choices: [
        { index: 0, message: { role: "assistant", content: "Paris is the capital of France." }, finish_reason: "stop" }
      ],
      usage: { prompt_tokens: 120, completion_tokens: 9, total_tokens: 129, cached_tokens: 0 },
      echo: body.length
    })
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
    response.end(payload)
  })
})
await new Promise((resolve) => upstreamServer.listen(0, "127.0.0.1", resolve))
const upstreamUrl = `http://127.0.0.1:${upstreamServer.address().port}/v1/chat/completions`

try {
  // 3. Redis store round trips
  {
    const raw = createClient({ url: server.url })
    raw.on("error", () => {})
    await raw.connect()
    await raw.set("bench:raw", JSON.stringify({ cacheId: "ctx-1" }))
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const context = yield* Layer.build(RedisStore.layer({ url: server.url, prefix: "bench:" }))
          const store = Context.get(context, CacheStore.CacheStore)
          yield* store.set("k", { cacheId: "ctx-1", tokens: 1234 })
          // raw and store round trips interleaved, so both see the same machine noise
          const [rawGet, getLatency] = yield* Effect.promise(() =>
            interleaved(
              () => raw.get("bench:raw"),
              () => Effect.runPromise(store.get("k")),
              5_000
            )
          )
          const setLatency = yield* Effect.promise(() =>
            latencies((i) => Effect.runPromise(store.set(`k${i % 100}`, { cacheId: "ctx-1", n: i })), 5_000)
          )
          const rawP50 = quantile(rawGet, 0.5)
          report({ metric: "redis raw client GET p50 (baseline)", value: rawP50, unit: "µs" })
          report({ metric: "redis raw client GET p99", value: quantile(rawGet, 0.99), unit: "µs" })
          report({
            metric: "redis store get p50",
            value: quantile(getLatency, 0.5),
            unit: "µs",
            baseline: rawP50,
            ratio: quantile(getLatency, 0.5) / rawP50,
            target: "<= 2",
            met: quantile(getLatency, 0.5) <= 2 * rawP50
          })
          report({ metric: "redis store get p99", value: quantile(getLatency, 0.99), unit: "µs" })
          report({ metric: "redis store set p50", value: quantile(setLatency, 0.5), unit: "µs" })
          report({ metric: "redis store set p99", value: quantile(setLatency, 0.99), unit: "µs" })
        })
      )
    )
    await raw.close()
  }

  // 4. response cache hit vs the upstream call it replaces
  {
    const request = {
      model: "kimi-k2",
      messages: [
        { role: "system", content: "Answer in one sentence." },
        { role: "user", content: "What is the capital of France?" }
      ],
      temperature: 0,
      max_tokens: 64
    }
    const call = { provider: "kimi", request, options: {} }
    const upstream = Effect.promise(async () => {
      const response = await fetch(upstreamUrl, { method: "POST", body: JSON.stringify(request) })
      const body = await response.json()
      return [
        { type: "response-metadata", id: body.id, modelId: body.model },
        { type: "text", text: body.choices[0].message.content },
        {
          type: "finish",
          reason: "stop",
          usage: {
            inputTokens: { total: body.usage.prompt_tokens },
            outputTokens: { total: body.usage.completion_tokens }
          }
        }
      ]
    })
    const upstreamLatency = await latencies(() => Effect.runPromise(upstream), 2_000)
    const upstreamP50 = quantile(upstreamLatency, 0.5)
    report({ metric: "upstream call p50 (local node:http mock, no delay; baseline)", value: upstreamP50, unit: "µs" })

    const hitLatency = (storeLayer) =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const context = yield* Layer.build(ResponseCache.layer().pipe(Layer.provideMerge(storeLayer)))
            const hook = Context.get(context, ResponseCacheHook.ResponseCacheHook)
            const stats = Context.get(context, ResponseCache.ResponseCacheStats)
            yield* hook.generate(call, upstream) // the miss that stores it
            const sorted = yield* Effect.promise(() =>
              latencies(() => Effect.runPromise(hook.generate(call, upstream)), 2_000)
            )
            const counted = yield* stats.stats
            if (counted.misses !== 1) throw new Error(`expected one miss, got ${counted.misses}`)
            return sorted
          })
        )
      )
    const memoryHits = await hitLatency(MemoryStore.layer())
    const redisHits = await hitLatency(RedisStore.layer({ url: server.url, prefix: "bench-rc:" }))
    for (const [name, sorted] of [
      ["memory store", memoryHits],
      ["redis store", redisHits]
    ]) {
      const p50 = quantile(sorted, 0.5)
      report({
        metric: `response cache hit p50 (${name}) vs upstream p50`,
        value: p50,
        unit: "µs",
        baseline: upstreamP50,
        ratio: p50 / upstreamP50,
        target: "< 1",
        met: p50 < upstreamP50
      })
      report({ metric: `response cache hit p99 (${name})`, value: quantile(sorted, 0.99), unit: "µs" })
    }
  }
} finally {
  upstreamServer.close()
  await server.stop()
}

fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/cache.json"),
  `${JSON.stringify({ name: "cache", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results }, null, 2)}\n`
)
