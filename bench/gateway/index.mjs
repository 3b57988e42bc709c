// bench/gateway: the gateway (apps/gateway/dist/main.js, as operators run it) against two baselines measured in the
// same run, all in their own processes, over loopback, in front of the node:http mock upstream (Moonshot format):
//
//   direct  the load generator calls the mock itself (what every "added" figure is added to)
//   B1      bare node:http pass-through proxy (bench/gateway/b1-passthrough.mjs)
//   B2      minimal proxy on the openai SDK (bench/gateway/b2-openai-sdk.mjs)
//   gateway Conduit's gateway, Kimi provider in live mode against the mock (response cache off, so every request
//           reaches the upstream; logging at its default level, as operators run it)
//
// Figures and targets (issues 9 and 18):
//   1. added latency p50/p99 at 1 and 64 concurrent clients, non-stream: gateway added p50 at 1 client <= 1.25x B2's;
//      CPU per request (utime + stime from /proc/<pid>/stat over the same requests): <= 1.0x B2 at 64 clients,
//      <= 1.1x B2 at 1 client
//   2. requests/s at 64 concurrent clients, non-stream: gateway >= 0.9x B2, zero errors
//   3. one 20,000-chunk stream, chunks/s: gateway >= 0.8x B1 (library vs raw SDK is in bench/core)
//   4. 100 streams paced at one chunk per 20 ms, started at once (twice, in alternating order): zero lost or
//      reordered chunks; time to first chunk p50 and p99 <= 1.25x B2's; added gap p99 reported
//   5. idle RSS after warm-up <= 1.2x B2's; peak RSS per open stream, 1,000 concurrent streams: <= 150 KB above
//      idle; heap used after a full GC flat across three waves (<= 5% growth; the gateway runs with --expose-gc and
//      bench/gateway/heap-probe.mjs, which answers SIGUSR2 with a GC and the heap figures, nothing else)
//   issue 17: the gateway's non-stream CPU per request with its calls made in streaming mode and assembled (the
//      default for Kimi and GLM) against plain non-stream requests (`assembleNonStream: false`), same process,
//      rounds interleaved (no target: the cost of bounding each non-stream attempt, reported for the hot path)
//
// Rounds interleave the arms so that the machine's noise falls on all of them alike.
// Run: npx pnpm bench gateway (builds first), or node bench/gateway/index.mjs after npx pnpm build.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

import { agentFor, median, quantile, record, results, SCALE, startMock, startServer, stopAll } from "./harness.mjs"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const STREAM_CHUNKS = 20_000

// ---------------------------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------------------------
// Load generation (node:http, keep-alive)
// ---------------------------------------------------------------------------------------------------------------

/** One request; resolves with status, latency (ms) and, for streams, the token indexes seen and their arrival times. */
const post = (url, body, agent, onData) =>
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
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (data) => {
          if (onData) onData(data)
          else text += data
        })
        res.on("end", () => resolve({ status: res.statusCode, ms: performance.now() - started, text }))
        res.on("error", () => resolve({ status: 0, ms: performance.now() - started, text }))
      }
    )
    req.on("error", () => resolve({ status: 0, ms: performance.now() - started, text: "" }))
    req.end(payload)
  })

/** Reads `tok<i> ` tokens out of SSE text as it arrives; counts the lost and the out-of-order ones. */
const tokenReader = () => {
  const state = { next: 0, disorder: 0, times: [], tail: "" }
  const pattern = /tok(\d+) /g
  state.onData = (data) => {
    const now = performance.now()
    const text = state.tail + data
    let end = 0
    for (const match of text.matchAll(pattern)) {
      if (Number(match[1]) !== state.next) state.disorder++
      state.next = Number(match[1]) + 1
      state.times.push(now)
      end = match.index + match[0].length
    }
    state.tail = text.slice(Math.max(end, text.length - 16))
  }
  return state
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100
/** CPU time (user + system) a process has used so far, in µs. */
const cpuUs = (pid) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK
}
const loadavg = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")

const rssKb = (pid) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1])
}

// ---------------------------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------------------------
const mock = await startMock()
const upstream = `${mock.url}/v1`
const b1 = await startServer([path.join(here, "b1-passthrough.mjs")], { UPSTREAM: upstream })
const b2Process = await startServer([path.join(here, "b2-openai-sdk.mjs")], { UPSTREAM: upstream })
const heapFile = path.join(os.tmpdir(), `conduit-bench-heap-${process.pid}.json`)
// one models.yaml name that keeps non-stream calls plain (`assembleNonStream: false`), beside `kimi/kimi-k2.6` whose
// non-stream calls go to the upstream in streaming mode and are assembled (issue 17); row "non-stream CPU per request"
const modelsFile = path.join(os.tmpdir(), `conduit-bench-models-${process.pid}.yaml`)
fs.writeFileSync(modelsFile, "models:\n  plain:\n    target: kimi/kimi-k2.6\n    assembleNonStream: false\n")
const gateway = await startServer(
  ["--expose-gc", "--import", path.join(here, "heap-probe.mjs"), path.join(root, "apps/gateway/dist/main.js")],
  {
    HEAP_PROBE_FILE: heapFile,
    PORT: "0",
    MOONSHOT_API_KEY: "sk-bench",
    MOONSHOT_BASE_URL: upstream,
    CONDUIT_SIMULATE: "0",
    CONDUIT_RESPONSE_CACHE: "0",
    CONDUIT_MAX_CONCURRENT: "5000",
    CONDUIT_MAX_QUEUED: "5000",
    CONDUIT_MODELS: modelsFile
  }
)
const arms = [
  { name: "direct", url: `${upstream}/chat/completions`, model: "kimi-k2.6" },
  { name: "B1", url: `${b1.url}/v1/chat/completions`, model: "kimi-k2.6", pid: b1.pid },
  { name: "B2", url: `${b2Process.url}/v1/chat/completions`, model: "kimi-k2.6", pid: b2Process.pid },
  { name: "gateway", url: `${gateway.url}/v1/chat/completions`, model: "kimi/kimi-k2.6", pid: gateway.pid }
]
const arm = (name) => arms.find((a) => a.name === name)
const chat = (a, stream) => ({
  model: a.model,
  stream,
  messages: [{ role: "user", content: "bench" }]
})
console.log(
  `node ${process.version}, ${os.cpus().length} cpus, load ${loadavg()}; mock ${mock.url}, B1 ${b1.url}, B2 ${b2Process.url}, gateway ${gateway.url}`
)

// ---------------------------------------------------------------------------------------------------------------
// 1 + 2. Non-stream latency and throughput
// ---------------------------------------------------------------------------------------------------------------
await mock.configure({ chunks: 16 })
const runRequests = async (a, concurrency, count, agent) => {
  const latencies = []
  let errors = 0
  let next = 0
  const cpuBefore = a.pid === undefined ? 0 : cpuUs(a.pid)
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++
        const r = await post(a.url, chat(a, false), agent)
        if (r.status !== 200) errors++
        latencies.push(r.ms)
      }
    })
  )
  const ms = performance.now() - started
  return { latencies, errors, ms, cpu: a.pid === undefined ? 0 : cpuUs(a.pid) - cpuBefore }
}

for (const concurrency of [1, 64]) {
  const agent = agentFor(concurrency)
  const perRound = Math.round((concurrency === 1 ? 200 : 600) * SCALE)
  const rounds = 5
  const collected = Object.fromEntries(arms.map((a) => [a.name, { latencies: [], errors: 0, ms: 0, cpu: 0 }]))
  for (const a of arms) await runRequests(a, concurrency, perRound, agent) // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const a of round % 2 === 0 ? arms : [...arms].reverse()) {
      const r = await runRequests(a, concurrency, perRound, agent)
      collected[a.name].latencies.push(...r.latencies)
      collected[a.name].errors += r.errors
      collected[a.name].ms += r.ms
      collected[a.name].cpu += r.cpu
    }
  }
  agent.destroy()
  const p50 = (name) => median(collected[name].latencies)
  const p99 = (name) => quantile(collected[name].latencies, 0.99)
  const direct50 = p50("direct")
  const direct99 = p99("direct")
  console.log(
    `c=${concurrency}: p50/p99 ms ${arms.map((a) => `${a.name} ${p50(a.name).toFixed(3)}/${p99(a.name).toFixed(3)}`).join(", ")}`
  )
  for (const name of ["B1", "B2"]) {
    record({ metric: `c=${concurrency} ${name} added p50`, value: p50(name) - direct50, unit: "ms" })
  }
  const added50 = p50("gateway") - direct50
  const b2Added50 = p50("B2") - direct50
  record({
    metric: `c=${concurrency} gateway added p50 (vs B2's)`,
    value: added50,
    unit: "ms",
    baseline: b2Added50,
    ratio: added50 / b2Added50,
    ...(concurrency === 1 ? { target: "<= 1.25x B2", met: added50 <= 1.25 * b2Added50 } : {})
  })
  const cpuPer = (name) => collected[name].cpu / collected[name].latencies.length
  record({ metric: `c=${concurrency} B2 CPU per request`, value: cpuPer("B2"), unit: "µs" })
  const cpuTarget = concurrency === 1 ? 1.1 : 1.0
  record({
    metric: `c=${concurrency} gateway CPU per request (vs B2)`,
    value: cpuPer("gateway"),
    unit: "µs",
    baseline: cpuPer("B2"),
    ratio: cpuPer("gateway") / cpuPer("B2"),
    target: `<= ${cpuTarget.toFixed(1)}x B2 (load ${loadavg()})`,
    met: cpuPer("gateway") <= cpuTarget * cpuPer("B2")
  })
  record({ metric: `c=${concurrency} gateway added p99`, value: p99("gateway") - direct99, unit: "ms" })
  record({ metric: `c=${concurrency} B2 added p99`, value: p99("B2") - direct99, unit: "ms" })
  if (concurrency === 64) {
    const rps = (name) => collected[name].latencies.length / (collected[name].ms / 1000)
    record({ metric: "c=64 direct requests/s", value: rps("direct"), unit: "req/s" })
    record({ metric: "c=64 B2 requests/s", value: rps("B2"), unit: "req/s" })
    const errors = collected.gateway.errors + collected.B2.errors
    record({
      metric: "c=64 gateway requests/s (vs B2)",
      value: rps("gateway"),
      unit: "req/s",
      baseline: rps("B2"),
      ratio: rps("gateway") / rps("B2"),
      target: ">= 0.9x B2, zero errors",
      met: rps("gateway") >= 0.9 * rps("B2") && errors === 0
    })
    record({ metric: "c=64 errors (gateway + B2)", value: errors, unit: "responses" })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Non-stream CPU per request: the gateway's non-stream calls made in streaming mode and assembled (the default for
// Kimi and GLM, which bounds each attempt by the first-token and idle timeouts) against plain non-stream requests
// (`assembleNonStream: false`), same process, rounds interleaved; the upstream streams 16 content chunks
// ---------------------------------------------------------------------------------------------------------------
{
  const modes = [
    { name: "assembled", url: arm("gateway").url, model: "kimi/kimi-k2.6", pid: gateway.pid },
    { name: "plain", url: arm("gateway").url, model: "plain", pid: gateway.pid }
  ]
  for (const concurrency of [1, 64]) {
    const agent = agentFor(concurrency)
    const perRound = Math.round((concurrency === 1 ? 200 : 600) * SCALE)
    const collected = Object.fromEntries(modes.map((m) => [m.name, { cpu: 0, count: 0, errors: 0, latencies: [] }]))
    for (const m of modes) await runRequests(m, concurrency, perRound, agent) // warm-up
    for (let round = 0; round < 6; round++) {
      for (const m of round % 2 === 0 ? modes : [...modes].reverse()) {
        const r = await runRequests(m, concurrency, perRound, agent)
        collected[m.name].cpu += r.cpu
        collected[m.name].count += r.latencies.length
        collected[m.name].errors += r.errors
        collected[m.name].latencies.push(...r.latencies)
      }
    }
    agent.destroy()
    const cpuPer = (name) => collected[name].cpu / collected[name].count
    record({ metric: `c=${concurrency} gateway non-stream CPU per request, plain`, value: cpuPer("plain"), unit: "µs" })
    record({
      metric: `c=${concurrency} gateway non-stream CPU per request, assembled from a stream (vs plain)`,
      value: cpuPer("assembled"),
      unit: "µs",
      baseline: cpuPer("plain"),
      ratio: cpuPer("assembled") / cpuPer("plain")
    })
    record({
      metric: `c=${concurrency} gateway non-stream p50, assembled (plain ${median(collected.plain.latencies).toFixed(3)} ms)`,
      value: median(collected.assembled.latencies),
      unit: "ms"
    })
    record({
      metric: `c=${concurrency} non-stream errors (assembled + plain)`,
      value: collected.assembled.errors + collected.plain.errors,
      unit: "responses"
    })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// 3. One 20,000-chunk stream
// ---------------------------------------------------------------------------------------------------------------
await mock.configure({ chunks: STREAM_CHUNKS })
{
  const agent = agentFor(1)
  const rates = Object.fromEntries(arms.map((a) => [a.name, []]))
  let lost = 0
  for (let run = 0; run < 4; run++) {
    for (const a of run % 2 === 0 ? arms : [...arms].reverse()) {
      const reader = tokenReader()
      const r = await post(a.url, chat(a, true), agent, reader.onData)
      if (reader.next !== STREAM_CHUNKS || reader.disorder !== 0 || r.status !== 200) lost++
      if (run > 0) rates[a.name].push(STREAM_CHUNKS / (r.ms / 1000)) // run 0 warms up
    }
  }
  agent.destroy()
  console.log(
    `stream chunks/s (median of 3): ${arms.map((a) => `${a.name} ${median(rates[a.name]).toFixed(0)}`).join(", ")}`
  )
  record({ metric: "20k-chunk stream B1 chunks/s", value: median(rates.B1), unit: "chunks/s" })
  record({ metric: "20k-chunk stream B2 chunks/s", value: median(rates.B2), unit: "chunks/s" })
  record({
    metric: "20k-chunk stream gateway chunks/s (vs B1)",
    value: median(rates.gateway),
    unit: "chunks/s",
    baseline: median(rates.B1),
    ratio: median(rates.gateway) / median(rates.B1),
    target: ">= 0.8x B1",
    met: median(rates.gateway) >= 0.8 * median(rates.B1) && lost === 0
  })
  record({ metric: "20k-chunk streams incomplete or reordered", value: lost, unit: "streams" })
}

// ---------------------------------------------------------------------------------------------------------------
// 4. 100 concurrent paced streams
// ---------------------------------------------------------------------------------------------------------------
await mock.configure({ chunks: 50, pacingMs: 20 })
{
  // 100 streams started at once (a fresh connection each), twice per arm in alternating order
  const paced = async (a, into) => {
    const agent = agentFor(100)
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const reader = tokenReader()
        const started = performance.now()
        const r = await post(a.url, chat(a, true), agent, reader.onData)
        const gaps = reader.times.slice(1).map((t, i) => t - reader.times[i])
        const first = reader.times.length > 0 ? reader.times[0] - started : Number.POSITIVE_INFINITY
        return { ok: r.status === 200 && reader.next === 50 && reader.disorder === 0, gaps, first }
      })
    )
    agent.destroy()
    into.bad += outcomes.filter((o) => !o.ok).length
    into.gaps.push(...outcomes.flatMap((o) => o.gaps))
    into.firsts.push(...outcomes.map((o) => o.first))
  }
  const pacedArms = [arm("direct"), arm("gateway"), arm("B2")]
  const pacedResults = Object.fromEntries(pacedArms.map((a) => [a.name, { bad: 0, gaps: [], firsts: [] }]))
  for (let run = 0; run < 2; run++) {
    for (const a of run % 2 === 0 ? pacedArms : [...pacedArms].reverse()) await paced(a, pacedResults[a.name])
  }
  const { direct, gateway: through, B2: b2 } = pacedResults
  console.log(
    `paced time to first chunk p50/p99 ms: direct ${median(direct.firsts).toFixed(2)}/${quantile(direct.firsts, 0.99).toFixed(2)}, B2 ${median(b2.firsts).toFixed(2)}/${quantile(b2.firsts, 0.99).toFixed(2)}, gateway ${median(through.firsts).toFixed(2)}/${quantile(through.firsts, 0.99).toFixed(2)}`
  )
  for (const [label, q] of [
    ["p50", 0.5],
    ["p99", 0.99]
  ]) {
    record({
      metric: `100 streams at once: B2 time to first chunk ${label}`,
      value: quantile(b2.firsts, q),
      unit: "ms"
    })
    record({
      metric: `100 streams at once: gateway time to first chunk ${label} (vs B2)`,
      value: quantile(through.firsts, q),
      unit: "ms",
      baseline: quantile(b2.firsts, q),
      ratio: quantile(through.firsts, q) / quantile(b2.firsts, q),
      target: `<= 1.25x B2 (load ${loadavg()})`,
      met: quantile(through.firsts, q) <= 1.25 * quantile(b2.firsts, q)
    })
  }
  console.log(
    `paced gap p50/p99 ms: direct ${median(direct.gaps).toFixed(2)}/${quantile(direct.gaps, 0.99).toFixed(2)}, B2 ${median(b2.gaps).toFixed(2)}/${quantile(b2.gaps, 0.99).toFixed(2)}, gateway ${median(through.gaps).toFixed(2)}/${quantile(through.gaps, 0.99).toFixed(2)}`
  )
  record({
    metric: "100 paced streams: lost or reordered (gateway)",
    value: through.bad,
    unit: "streams",
    target: "0",
    met: through.bad === 0
  })
  record({
    metric: "100 paced streams: gateway added gap p99",
    value: quantile(through.gaps, 0.99) - quantile(direct.gaps, 0.99),
    unit: "ms"
  })
  record({
    metric: "100 paced streams: B2 added gap p99",
    value: quantile(b2.gaps, 0.99) - quantile(direct.gaps, 0.99),
    unit: "ms"
  })
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Memory: 1,000 concurrent open streams, three waves
// ---------------------------------------------------------------------------------------------------------------
await mock.configure({ chunks: 30, pacingMs: 100 })
{
  const OPEN = Math.round(1_000 * Math.min(1, SCALE))
  const settle = async (pid) => {
    await sleep(1_000)
    const samples = []
    for (let i = 0; i < 5; i++) {
      samples.push(rssKb(pid))
      await sleep(100)
    }
    return median(samples)
  }
  const wave = async (a) => {
    const agent = agentFor(OPEN)
    let peak = 0
    const sampler = setInterval(() => (peak = Math.max(peak, rssKb(a.pid))), 50)
    const outcomes = await Promise.all(
      Array.from({ length: OPEN }, async () => {
        const reader = tokenReader()
        const r = await post(a.url, chat(a, true), agent, reader.onData)
        return r.status === 200 && reader.next === 30 && reader.disorder === 0
      })
    )
    clearInterval(sampler)
    agent.destroy()
    return { peak, bad: outcomes.filter((ok) => !ok).length }
  }
  /** The gateway's heap used right after a full GC (heap-probe.mjs answers SIGUSR2), in KB. */
  const heapKb = async () => {
    const before = fs.existsSync(heapFile) ? fs.statSync(heapFile).mtimeMs : 0
    process.kill(gateway.pid, "SIGUSR2")
    for (let i = 0; i < 100 && (!fs.existsSync(heapFile) || fs.statSync(heapFile).mtimeMs === before); i++) {
      await sleep(50)
    }
    return JSON.parse(fs.readFileSync(heapFile, "utf8")).heapUsed / 1024
  }
  const perStream = async (a, waves) => {
    const idle = await settle(a.pid)
    const out = []
    for (let w = 0; w < waves; w++) {
      const { peak, bad } = await wave(a)
      out.push({ peak, bad, after: await settle(a.pid), heap: a.name === "gateway" ? await heapKb() : undefined })
    }
    return { idle, waves: out }
  }
  // idle RSS after the warm-up above (non-stream and stream requests), both processes settled
  const idleGateway = await settle(gateway.pid)
  const idleB2 = await settle(b2Process.pid)
  record({ metric: "B2 idle RSS after warm-up", value: idleB2 / 1024, unit: "MB" })
  record({
    metric: "gateway idle RSS after warm-up (vs B2)",
    value: idleGateway / 1024,
    unit: "MB",
    baseline: idleB2 / 1024,
    ratio: idleGateway / idleB2,
    target: "<= 1.2x B2",
    met: idleGateway <= 1.2 * idleB2
  })
  const g = await perStream(arm("gateway"), 3)
  const b2 = await perStream(arm("B2"), 1)
  const perKb = (m, w) => (m.waves[w].peak - m.idle) / OPEN
  console.log(
    `gateway RSS KB: idle ${g.idle}, waves ${g.waves.map((w) => `peak ${w.peak} after ${w.after} heap ${w.heap.toFixed(0)} bad ${w.bad}`).join("; ")}`
  )
  console.log(`B2 RSS KB: idle ${b2.idle}, peak ${b2.waves[0].peak}`)
  const worst = Math.max(...g.waves.map((_, w) => perKb(g, w)))
  record({ metric: `B2 RSS per open stream (${OPEN} concurrent)`, value: perKb(b2, 0), unit: "KB" })
  record({
    metric: `gateway RSS per open stream (${OPEN} concurrent, worst of 3 waves)`,
    value: worst,
    unit: "KB",
    baseline: perKb(b2, 0),
    ratio: worst / perKb(b2, 0),
    target: "<= 150 KB",
    met: worst <= 150 && g.waves.every((w) => w.bad === 0)
  })
  const growth = (g.waves[2].peak - g.waves[0].peak) / g.waves[0].peak
  record({ metric: "gateway peak RSS growth, wave 3 vs wave 1", value: growth * 100, unit: "%" })
  const heapGrowth = (g.waves[2].heap - g.waves[0].heap) / g.waves[0].heap
  record({
    metric: "gateway heap used after GC, wave 3 vs wave 1",
    value: heapGrowth * 100,
    unit: "%",
    target: "flat (<= 5%)",
    met: heapGrowth <= 0.05
  })
}

stopAll()
fs.rmSync(heapFile, { force: true })
fs.rmSync(modelsFile, { force: true })
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/gateway.json"),
  JSON.stringify(
    { name: "gateway", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, results },
    null,
    2
  )
)
process.exit(0)
