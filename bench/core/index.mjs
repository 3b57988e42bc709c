// bench/core: Conduit's LanguageModel against the raw `openai` SDK, side by side in one run, against a local
// node:http mock on loopback (no network). Figures are ratios against the SDK baseline measured in the same run.
//
// 1. Non-stream request latency, p50 and p99 over interleaved rounds (target: ours/raw p50 <= 1.10).
// 2. One stream of 20,000 chunks, chunks/s, median of 3 (target: ours/raw >= 0.8).
//
// Run: npx pnpm build && node bench/core/index.mjs (or npx pnpm bench).
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
// Mock upstream (speaks Moonshot's wire shapes: usage inside choices[0] of the finish chunk, then a usage chunk)
// ---------------------------------------------------------------------------------------------------------------
const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1_760_000_000,
  model: "bench-model",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the mock upstream." }, finish_reason: "stop" }],
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

const server = http.createServer((req, res) => {
  let body = ""
  req.on("data", (d) => (body += d))
  req.on("end", () => {
    const stream = body.includes('"stream":true')
    if (!stream) {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(completion) })
      res.end(completion)
      return
    }
    res.writeHead(200, { "content-type": "text/event-stream" })
    // write in ~16 KiB slices, as a socket would deliver them
    let offset = 0
    const pump = () => {
      while (offset < streamBody.length) {
        const next = streamBody.subarray(offset, offset + 16_384)
        offset += next.length
        if (!res.write(next)) return res.once("drain", pump)
      }
      res.end()
    }
    pump()
  })
})
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
const baseURL = `http://127.0.0.1:${server.address().port}/v1`

// ---------------------------------------------------------------------------------------------------------------
// Arms
// ---------------------------------------------------------------------------------------------------------------
const raw = new OpenAI({ apiKey: "bench", baseURL, maxRetries: 0 })
const Provider = core.OpenAiCompatProvider.make({
  name: "bench",
  baseURLs: { default: baseURL },
  apiKeyEnv: ["BENCH_API_KEY"],
  errorTable: core.ProviderError.openAiTable,
  defaultModel: "bench-model",
  catalog: core.ModelCatalog.make("bench", []),
  reasoningReplay: { mode: "tool-calls", placeholder: " " }
})
const runtime = ManagedRuntime.make(
  Provider.layer("bench-model").pipe(Layer.provide(Provider.clientLayer({ apiKey: "bench" })))
)
const messages = [{ role: "user", content: "Say hello." }]

const rawRequest = () => raw.chat.completions.create({ model: "bench-model", messages })
const oursRequest = () => runtime.runPromise(LanguageModel.generateText({ prompt: "Say hello." }))

const rawStream = async () => {
  let n = 0
  const stream = await raw.chat.completions.create({ model: "bench-model", messages, stream: true })
  for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) n++
  return n
}
const oursStream = () =>
  runtime.runPromise(
    LanguageModel.streamText({ prompt: "Say hello." }).pipe(
      Stream.filter((part) => part.type === "text-delta"),
      Stream.runCount
    )
  )

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

console.log(`mock upstream on ${baseURL}; node ${process.version}; ${os.cpus().length} cpus`)
// warm-up
await timeRequests(rawRequest, 200, [])
await timeRequests(oursRequest, 200, [])

const latency = { raw: [], ours: [] }
for (let round = 0; round < ROUNDS; round++) {
  // alternate the order of arms per round
  const order = round % 2 === 0 ? ["raw", "ours"] : ["ours", "raw"]
  for (const arm of order) await timeRequests(arm === "raw" ? rawRequest : oursRequest, PER_ROUND, latency[arm])
}

const streamRates = { raw: [], ours: [] }
for (let run = 0; run < 3; run++) {
  for (const arm of run % 2 === 0 ? ["raw", "ours"] : ["ours", "raw"]) {
    const start = performance.now()
    const count = await (arm === "raw" ? rawStream() : oursStream())
    const seconds = (performance.now() - start) / 1000
    if (count !== STREAM_CHUNKS) throw new Error(`${arm} stream saw ${count} of ${STREAM_CHUNKS} chunks`)
    streamRates[arm].push(count / seconds)
  }
}

await runtime.dispose()
server.close()

const p50Raw = median(latency.raw)
const p50Ours = median(latency.ours)
const p99Raw = quantile(latency.raw, 0.99)
const p99Ours = quantile(latency.ours, 0.99)
const rateRaw = median(streamRates.raw)
const rateOurs = median(streamRates.ours)
const results = [
  { metric: "non-stream p50, raw openai SDK", value: p50Raw * 1000, unit: "µs" },
  { metric: "non-stream p50, Conduit LanguageModel", value: p50Ours * 1000, unit: "µs", ratio: p50Ours / p50Raw, target: "<= 1.10", met: p50Ours / p50Raw <= 1.1 },
  { metric: "non-stream p99, raw openai SDK", value: p99Raw * 1000, unit: "µs" },
  { metric: "non-stream p99, Conduit LanguageModel", value: p99Ours * 1000, unit: "µs", ratio: p99Ours / p99Raw },
  { metric: `stream of ${STREAM_CHUNKS} chunks, raw openai SDK`, value: rateRaw, unit: "chunks/s" },
  { metric: `stream of ${STREAM_CHUNKS} chunks, Conduit LanguageModel`, value: rateOurs, unit: "chunks/s", ratio: rateOurs / rateRaw, target: ">= 0.8", met: rateOurs / rateRaw >= 0.8 }
]
for (const r of results) {
  console.log(
    `${r.metric.padEnd(52)} ${r.value.toFixed(0).padStart(10)} ${r.unit}${r.ratio !== undefined ? `  ratio ${r.ratio.toFixed(3)}` : ""}${r.target ? `  target ${r.target}: ${r.met ? "met" : "NOT met"}` : ""}`
  )
}
fs.mkdirSync(path.join(root, "bench/results"), { recursive: true })
fs.writeFileSync(
  path.join(root, "bench/results/core.json"),
  JSON.stringify({ name: "core", date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, samples: { latencyPerArm: latency.raw.length, streamRuns: 3 }, results }, null, 2)
)
