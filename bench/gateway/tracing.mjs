// bench/gateway/tracing.mjs: what tracing costs the gateway, in one run. Three arms, all in their own processes over
// loopback in front of the node:http mock upstream (Moonshot format), rounds interleaved so the machine's noise falls
// on all of them alike:
//
//   direct       the load generator calls the mock itself (what "added" latency is added to)
//   off          apps/gateway/dist/main.js without OTEL_* variables (no tracer installed; what operators run by default)
//   on           the same with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP sink process (protobuf, Effect's
//                default batching): every request exports its request, admission, call and attempt spans
//
// Rows: added p50 at 1 client and requests/s at 64 clients (non-stream), one 16-chunk stream's latency at 1 client,
// and CPU time per request of each gateway process (/proc/<pid>/stat utime + stime over the measured rounds), with
// on/off ratios. And the tracing-off path in isolation: the guard core runs per upstream attempt, per call and per
// admission when no tracer is installed (Tracing.attempt / Tracing.withSpan with Effect's native tracer), in ns per
// request, against a bare Effect.
//
// Run: npx pnpm build, then node bench/gateway/tracing.mjs (BENCH_SCALE=0.5 for a shorter run).
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

import { agentFor, median, quantile, record, results, SCALE, startMock, startServer, stopAll } from "./harness.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")

const post = (url, body, agent) =>
  new Promise((resolve) => {
    const target = new URL(url)
    const payload = JSON.stringify(body)
    const started = performance.now()
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
      },
      (res) => {
        res.resume()
        res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started }))
        res.on("error", () => resolve({ status: 0, ms: performance.now() - started }))
      }
    )
    req.on("error", () => resolve({ status: 0, ms: performance.now() - started }))
    req.end(payload)
  })
/** CPU time of a process so far, ms (utime + stime, clock ticks of 10 ms). */
const cpuMs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

// ---------------------------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------------------------
const mock = await startMock()
const upstream = `${mock.url}/v1`
const sink = await startServer([path.join(here, "otlp-sink.mjs")], {}, { keepLines: true })
const gatewayEnv = {
  PORT: "0",
  MOONSHOT_API_KEY: "sk-bench",
  MOONSHOT_BASE_URL: upstream,
  CONDUIT_SIMULATE: "0",
  CONDUIT_RESPONSE_CACHE: "0",
  CONDUIT_MAX_CONCURRENT: "5000",
  CONDUIT_MAX_QUEUED: "5000"
}
const main = path.join(root, "apps/gateway/dist/main.js")
const off = await startServer([main], gatewayEnv)
const on = await startServer([main], {
  ...gatewayEnv,
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
  OTEL_SERVICE_NAME: "conduit-bench"
})
const arms = [
  { name: "direct", url: `${upstream}/chat/completions`, model: "kimi-k2.6" },
  { name: "off", url: `${off.url}/v1/chat/completions`, model: "kimi/kimi-k2.6", pid: off.pid },
  { name: "on", url: `${on.url}/v1/chat/completions`, model: "kimi/kimi-k2.6", pid: on.pid }
]
const chat = (a, stream) => ({ model: a.model, stream, messages: [{ role: "user", content: "bench" }] })
console.log(`node ${process.version}, ${os.cpus().length} cpus; mock ${mock.url}, off ${off.url}, on ${on.url}`)

// ---------------------------------------------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------------------------------------------
const runRequests = async (a, concurrency, count, agent, stream) => {
  const latencies = []
  let errors = 0
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        const r = await post(a.url, chat(a, stream), agent)
        if (r.status !== 200) errors++
        latencies.push(r.ms)
      }
    })
  )
  return { latencies, errors, ms: performance.now() - started }
}

const measure = async (label, concurrency, perRound, stream) => {
  const agent = agentFor(concurrency)
  const rounds = 5
  const collected = Object.fromEntries(arms.map((a) => [a.name, { latencies: [], errors: 0, ms: 0, cpu: 0 }]))
  for (const a of arms) await runRequests(a, concurrency, perRound, agent, stream) // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const a of round % 2 === 0 ? arms : [...arms].reverse()) {
      const cpuBefore = a.pid === undefined ? 0 : cpuMs(a.pid)
      const r = await runRequests(a, concurrency, perRound, agent, stream)
      if (a.pid !== undefined) collected[a.name].cpu += cpuMs(a.pid) - cpuBefore
      collected[a.name].latencies.push(...r.latencies)
      collected[a.name].errors += r.errors
      collected[a.name].ms += r.ms
    }
  }
  agent.destroy()
  const c = (name) => collected[name]
  const p50 = (name) => median(c(name).latencies)
  console.log(
    `${label}: p50/p99 ms ${arms.map((a) => `${a.name} ${p50(a.name).toFixed(3)}/${quantile(c(a.name).latencies, 0.99).toFixed(3)}`).join(", ")}`
  )
  return { c, p50, errors: c("off").errors + c("on").errors }
}

await mock.configure({ chunks: 16 })
{
  const { c, p50, errors } = await measure("c=1 non-stream", 1, Math.round(200 * SCALE), false)
  const offAdded = p50("off") - p50("direct")
  const onAdded = p50("on") - p50("direct")
  record({ metric: "c=1 tracing off: gateway added p50", value: offAdded, unit: "ms" })
  record({
    metric: "c=1 tracing on: gateway added p50 (vs off)",
    value: onAdded,
    unit: "ms",
    baseline: offAdded,
    ratio: onAdded / offAdded
  })
  record({ metric: "c=1 tracing on minus off, p50 per request", value: (onAdded - offAdded) * 1000, unit: "µs" })
  const perRequest = (name) => (c(name).cpu / c(name).latencies.length) * 1000
  record({ metric: "c=1 CPU per request, tracing off", value: perRequest("off"), unit: "µs" })
  record({
    metric: "c=1 CPU per request, tracing on (vs off)",
    value: perRequest("on"),
    unit: "µs",
    baseline: perRequest("off"),
    ratio: perRequest("on") / perRequest("off")
  })
  record({ metric: "c=1 errors (off + on)", value: errors, unit: "responses" })
}
{
  const { c, errors } = await measure("c=64 non-stream", 64, Math.round(800 * SCALE), false)
  const rps = (name) => c(name).latencies.length / (c(name).ms / 1000)
  record({ metric: "c=64 tracing off: gateway requests/s", value: rps("off"), unit: "req/s" })
  record({
    metric: "c=64 tracing on: gateway requests/s (vs off)",
    value: rps("on"),
    unit: "req/s",
    baseline: rps("off"),
    ratio: rps("on") / rps("off")
  })
  const perRequest = (name) => (c(name).cpu / c(name).latencies.length) * 1000
  record({
    metric: "c=64 CPU per request, tracing on (vs off)",
    value: perRequest("on"),
    unit: "µs",
    baseline: perRequest("off"),
    ratio: perRequest("on") / perRequest("off")
  })
  record({ metric: "c=64 errors (off + on)", value: errors, unit: "responses" })
}
{
  const { p50 } = await measure("c=1 16-chunk stream", 1, Math.round(200 * SCALE), true)
  const offAdded = p50("off") - p50("direct")
  const onAdded = p50("on") - p50("direct")
  record({
    metric: "c=1 stream: tracing on added p50 (vs off)",
    value: onAdded,
    unit: "ms",
    baseline: offAdded,
    ratio: onAdded / offAdded
  })
}

// ---------------------------------------------------------------------------------------------------------------
// The tracing-off path in isolation (this process: no tracer installed, Effect's native one)
// ---------------------------------------------------------------------------------------------------------------
{
  const core = await import(pathToFileURL(path.join(root, "packages/core/dist/index.js")).href)
  const { Effect } = await import(
    pathToFileURL(path.join(root, "packages/core/node_modules/effect/dist/index.js")).href
  )
  const { Tracing } = core
  const info = {
    provider: "bench",
    baseURL: "http://127.0.0.1:1/v1",
    request: { model: "m", messages: [] },
    streaming: false,
    attempt: 1,
    retryDelayMs: undefined
  }
  const work = Effect.succeed(1)
  // what a request runs through when no tracer is installed: one attempt, one call, one admission
  const guarded = Effect.flatMap(Tracing.withSpan(work, "conduit.session.admission"), () =>
    Tracing.attempt(
      info,
      undefined,
      () => work,
      () => ({})
    )
  )
  const bare = Effect.flatMap(work, () => work)
  const N = Math.round(200_000 * SCALE)
  const time = (effect) => {
    const started = performance.now()
    for (let i = 0; i < N; i++) Effect.runSync(effect)
    return ((performance.now() - started) * 1e6) / N
  }
  for (let i = 0; i < 3; i++) {
    time(bare)
    time(guarded)
  }
  const samples = { bare: [], guarded: [] }
  for (let i = 0; i < 5; i++) {
    samples.bare.push(time(bare))
    samples.guarded.push(time(guarded))
  }
  const extra = median(samples.guarded) - median(samples.bare)
  record({ metric: "tracing off: guards per request (admission + attempt), in isolation", value: extra, unit: "ns" })
}

sink.child.kill("SIGTERM")
await new Promise((resolve) => sink.child.once("exit", resolve))
const exported = sink.lines.map((line) => JSON.parse(line)).find((line) => line.requests !== undefined)
if (exported !== undefined) {
  record({ metric: "tracing on: OTLP exports received by the sink", value: exported.requests, unit: "requests" })
  record({ metric: "tracing on: OTLP bytes received by the sink", value: exported.bytes, unit: "bytes" })
}
stopAll()
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/gateway-tracing.json"),
  JSON.stringify(
    { name: "gateway-tracing", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results },
    null,
    2
  )
)
process.exit(0)
