// bench/core: Conduit's LanguageModel against the raw `openai` SDK, side by side in one run. Every figure with a
// target is a ratio against a baseline measured in the same run (these machines are noisy: 2 shared cores).
//
// Over loopback (a node:http mock upstream in this process, Moonshot's wire shapes):
//   1. non-stream request latency, p50 and p99 over interleaved rounds (target: ours/raw p50 <= 1.10)
//   2. one stream of 20,000 chunks, chunks/s, median of 3 (target: ours/raw >= 1.0, issue 18)
// Without a network (fetch answered in-process), CPU time per call or per chunk (process.cpuUsage, so other
// processes on the machine do not count), the fastest of 3 rounds, to show where the time goes:
//   3. non-stream: raw SDK; Conduit's transport alone (OpenAiCompatClient); effect/ai's own floor (LanguageModel.make
//      over a model that answers at once); Conduit's LanguageModel
//   4. stream: raw SDK iteration; Conduit's transport alone; Conduit's LanguageModel.streamText
//
// Run: npx pnpm bench core (builds first), or node bench/core/index.mjs after npx pnpm build.
import * as fs from "node:fs"
import * as http from "node:http"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.resolve(here, "../..")
const requireFromCore = createRequire(path.join(root, "packages/core/package.json"))
const OpenAI = (await import(requireFromCore.resolve("openai"))).default
const { Effect, Layer, ManagedRuntime, Stream } = await import(requireFromCore.resolve("effect"))
const { LanguageModel } = await import(requireFromCore.resolve("effect/ai"))
const core = await import(path.join(root, "packages/core/dist/index.js"))

const STREAM_CHUNKS = Number(process.env.BENCH_STREAM_CHUNKS ?? 20_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const PER_ROUND = Number(process.env.BENCH_PER_ROUND ?? 300)

// ---------------------------------------------------------------------------------------------------------------
// Wire data (Moonshot's shapes: usage inside choices[0] of the finish chunk)
// ---------------------------------------------------------------------------------------------------------------
const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_760_000_000,
  model: "bench-model",
  choices: [
    { index: 0, message: { role: "assistant", content: "Hello from the mock upstream." }, finish_reason: "stop" }
  ],
  usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, cached_tokens: 0 }
})
const chunkLine = (i) =>
  `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1760000000,"model":"bench-model","choices":[{"index":0,"delta":{"content":"tok${i} "},"finish_reason":null}]}\n\n`
const streamBody = (() => {
  const parts = []
  for (let i = 0; i < STREAM_CHUNKS; i++) parts.push(chunkLine(i))
  parts.push(
    `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1760000000,"model":"bench-model","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":12,"completion_tokens":${STREAM_CHUNKS},"total_tokens":${STREAM_CHUNKS + 12}}}]}\n\n`
  )
  parts.push("data: [DONE]\n\n")
  return Buffer.from(parts.join(""))
})()
// ~16 KiB slices, as a socket delivers them
const slices = []
for (let offset = 0; offset < streamBody.length; offset += 16_384)
  slices.push(streamBody.subarray(offset, offset + 16_384))

// ---------------------------------------------------------------------------------------------------------------
// Mock upstream on loopback
// ---------------------------------------------------------------------------------------------------------------
const server = http.createServer((req, res) => {
  let body = ""
  req.on("data", (d) => (body += d))
  req.on("end", () => {
    if (!body.includes('"stream":true')) {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) })
      res.end(completion)
      return
    }
    res.writeHead(200, { "content-type": "text/event-stream" })
    let i = 0
    const pump = () => {
      while (i < slices.length) if (!res.write(slices[i++])) return res.once("drain", pump)
      res.end()
    }
    pump()
  })
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const loopbackURL = `http://127.0.0.1:${server.address().port}/v1`

/** fetch answered in-process: the same bytes without a socket. */
const inProcessFetch = async (_input, init) =>
  typeof init?.body === "string" && init.body.includes('"stream":true')
    ? new Response(
        new ReadableStream({
          start() {
            this.i = 0
          },
          pull(controller) {
            if (this.i < slices.length) controller.enqueue(slices[this.i++])
            else controller.close()
          }
        }),
        { status: 200, headers: { "content-type": "text/event-stream" } }
      )
    : new Response(completion, { status: 200, headers: { "content-type": "application/json" } })

// ---------------------------------------------------------------------------------------------------------------
// Arms
// ---------------------------------------------------------------------------------------------------------------
const Provider = core.OpenAiCompatProvider.make({
  name: "bench",
  baseURLs: { default: loopbackURL },
  apiKeyEnv: ["BENCH_API_KEY"],
  errorTable: core.ProviderError.openAiTable,
  defaultModel: "bench-model",
  catalog: core.ModelCatalog.make("bench", []),
  reasoningReplay: { mode: "tool-calls", placeholder: " " }
})
const messages = [{ role: "user", content: "Say hello." }]
const armsFor = (baseURL, fetch) => {
  const raw = new OpenAI({ apiKey: "bench", baseURL, maxRetries: 0, ...(fetch ? { fetch } : {}) })
  const clientOptions = { apiKey: "bench", baseURL, ...(fetch ? { fetch } : {}) }
  const runtime = ManagedRuntime.make(
    Provider.layer("bench-model").pipe(Layer.provide(Provider.clientLayer(clientOptions)))
  )
  const transport = Provider.makeClient(clientOptions)
  const expectChunks = (n) => {
    if (n !== STREAM_CHUNKS) throw new Error(`saw ${n} of ${STREAM_CHUNKS} chunks`)
  }
  return {
    runtime,
    raw: () => raw.chat.completions.create({ model: "bench-model", messages }),
    transport: () => Effect.runPromise(transport.createChatCompletion({ model: "bench-model", messages })),
    ours: () => runtime.runPromise(LanguageModel.generateText({ prompt: "Say hello." })),
    rawStream: async () => {
      let n = 0
      const stream = await raw.chat.completions.create({ model: "bench-model", messages, stream: true })
      for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) n++
      expectChunks(n)
    },
    transportStream: async () =>
      expectChunks(
        await Effect.runPromise(
          Effect.scoped(
            Effect.flatMap(transport.streamChatCompletion({ model: "bench-model", messages }), (chat) =>
              Stream.runFold(
                chat.chunks,
                () => 0,
                (n, chunk) => n + (chunk.choices?.[0]?.delta?.content ? 1 : 0)
              )
            )
          )
        )
      ),
    oursStream: async () =>
      expectChunks(
        await runtime.runPromise(
          LanguageModel.streamText({ prompt: "Say hello." }).pipe(
            Stream.filter((part) => part.type === "text-delta"),
            Stream.runCount
          )
        )
      )
  }
}
const loopback = armsFor(loopbackURL)
const inProcess = armsFor("http://in-process.invalid/v1", inProcessFetch)
const floorRuntime = ManagedRuntime.make(
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: () =>
        Effect.succeed([
          { type: "text", text: "Hello from the mock upstream." },
          {
            type: "finish",
            reason: "stop",
            usage: {
              inputTokens: { total: 12, uncached: 12, cacheRead: 0, cacheWrite: 0 },
              outputTokens: { total: 7, text: 7, reasoning: 0 }
            }
          }
        ]),
      streamText: () => Stream.empty
    })
  )
)
const floor = () => floorRuntime.runPromise(LanguageModel.generateText({ prompt: "Say hello." }))

// ---------------------------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------------------------
const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}
const median = (values) => quantile(values, 0.5)

const timeRequests = async (fn, n, out) => {
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await fn()
    out.push(performance.now() - start)
  }
}
/** CPU µs per unit of `fn` (n calls, `units` units each), the fastest of 3 rounds after a warm-up. */
const cpuPer = async (fn, n, units = 1) => {
  for (let i = 0; i < Math.max(1, n / 10); i++) await fn()
  let best = Number.POSITIVE_INFINITY
  for (let round = 0; round < 3; round++) {
    const start = process.cpuUsage()
    for (let i = 0; i < n; i++) await fn()
    const used = process.cpuUsage(start)
    best = Math.min(best, (used.user + used.system) / (n * units))
  }
  return best
}

console.log(`mock upstream on ${loopbackURL}; node ${process.version}; ${os.cpus().length} cpus`)
// 1. loopback latency (warm-up, then interleaved rounds)
await timeRequests(loopback.raw, 200, [])
await timeRequests(loopback.ours, 200, [])
const latency = { raw: [], ours: [] }
for (let round = 0; round < ROUNDS; round++) {
  for (const arm of round % 2 === 0 ? ["raw", "ours"] : ["ours", "raw"]) {
    await timeRequests(loopback[arm], PER_ROUND, latency[arm])
  }
}
// 2. loopback stream
const streamRates = { raw: [], ours: [] }
for (let run = 0; run < 4; run++) {
  for (const arm of run % 2 === 0 ? ["raw", "ours"] : ["ours", "raw"]) {
    const start = performance.now()
    await (arm === "raw" ? loopback.rawStream() : loopback.oursStream())
    if (run > 0) streamRates[arm].push(STREAM_CHUNKS / ((performance.now() - start) / 1000)) // run 0 warms up
  }
}
// 3 + 4. CPU per call / per chunk, in-process
const cpu = {
  raw: await cpuPer(inProcess.raw, 2_000),
  transport: await cpuPer(inProcess.transport, 2_000),
  floor: await cpuPer(floor, 2_000),
  ours: await cpuPer(inProcess.ours, 2_000),
  rawStream: await cpuPer(inProcess.rawStream, 3, STREAM_CHUNKS),
  transportStream: await cpuPer(inProcess.transportStream, 3, STREAM_CHUNKS),
  oursStream: await cpuPer(inProcess.oursStream, 3, STREAM_CHUNKS)
}

await loopback.runtime.dispose()
await inProcess.runtime.dispose()
await floorRuntime.dispose()
server.close()

const p50Raw = median(latency.raw)
const p50Ours = median(latency.ours)
const p99Raw = quantile(latency.raw, 0.99)
const p99Ours = quantile(latency.ours, 0.99)
const rateRaw = median(streamRates.raw)
const rateOurs = median(streamRates.ours)
const results = [
  { metric: "loopback non-stream p50, raw openai SDK", value: p50Raw * 1000, unit: "µs" },
  {
    metric: "loopback non-stream p50, Conduit LanguageModel",
    value: p50Ours * 1000,
    unit: "µs",
    baseline: p50Raw * 1000,
    ratio: p50Ours / p50Raw,
    target: "<= 1.10",
    met: p50Ours / p50Raw <= 1.1
  },
  { metric: "loopback non-stream p99, raw openai SDK", value: p99Raw * 1000, unit: "µs" },
  {
    metric: "loopback non-stream p99, Conduit LanguageModel",
    value: p99Ours * 1000,
    unit: "µs",
    ratio: p99Ours / p99Raw
  },
  { metric: `loopback stream of ${STREAM_CHUNKS} chunks, raw openai SDK`, value: rateRaw, unit: "chunks/s" },
  {
    metric: `loopback stream of ${STREAM_CHUNKS} chunks, Conduit LanguageModel`,
    value: rateOurs,
    unit: "chunks/s",
    baseline: rateRaw,
    ratio: rateOurs / rateRaw,
    target: ">= 1.0",
    met: rateOurs / rateRaw >= 1.0
  },
  { metric: "CPU per call, raw openai SDK", value: cpu.raw, unit: "µs" },
  {
    metric: "CPU per call, Conduit transport (OpenAiCompatClient)",
    value: cpu.transport,
    unit: "µs",
    ratio: cpu.transport / cpu.raw
  },
  { metric: "CPU per call, effect/ai LanguageModel floor (instant model)", value: cpu.floor, unit: "µs" },
  { metric: "CPU per call, Conduit LanguageModel", value: cpu.ours, unit: "µs", ratio: cpu.ours / cpu.raw },
  {
    metric: "CPU per call, Conduit's own LanguageModel plumbing (ours - transport - floor)",
    value: cpu.ours - cpu.transport - cpu.floor,
    unit: "µs"
  },
  { metric: "CPU per chunk, raw openai SDK stream", value: cpu.rawStream, unit: "µs" },
  {
    metric: "CPU per chunk, Conduit transport stream",
    value: cpu.transportStream,
    unit: "µs",
    ratio: cpu.transportStream / cpu.rawStream
  },
  {
    metric: "CPU per chunk, Conduit LanguageModel stream",
    value: cpu.oursStream,
    unit: "µs",
    ratio: cpu.oursStream / cpu.rawStream
  }
]
for (const r of results) {
  const digits = r.unit === "µs" && r.value < 100 ? 2 : 0
  console.log(
    `${r.metric.padEnd(80)} ${r.value.toFixed(digits).padStart(9)} ${r.unit}${r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(3)}` : ""}${r.target ? `  target ${r.target}: ${r.met ? "met" : "NOT met"}` : ""}`
  )
}
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/core.json"),
  JSON.stringify(
    {
      name: "core",
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      samples: { latencyPerArm: latency.raw.length, streamRuns: streamRates.raw.length },
      results
    },
    null,
    2
  )
)
