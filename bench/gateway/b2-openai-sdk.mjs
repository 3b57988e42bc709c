// Baseline B2: the minimal proxy a developer writes directly on the `openai` SDK (the version Conduit uses): parse
// the body, call chat.completions.create against UPSTREAM with retries off, and write the answer back (JSON, or
// each chunk as an SSE event and then [DONE]). No validation, retries, timeouts, stream guards, usage
// normalization, metrics or logging.
import * as http from "node:http"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const OpenAI = (await import(createRequire(path.join(root, "packages/core/package.json")).resolve("openai"))).default
const client = new OpenAI({ apiKey: "sk-bench", baseURL: process.env.UPSTREAM, maxRetries: 0 })

const server = http.createServer((req, res) => {
  const parts = []
  req.on("data", (d) => parts.push(d))
  req.on("end", async () => {
    const controller = new AbortController()
    res.on("close", () => controller.abort())
    try {
      const body = JSON.parse(Buffer.concat(parts).toString("utf8"))
      if (body.stream === true) {
        const stream = await client.chat.completions.create(body, { signal: controller.signal })
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        for await (const chunk of stream) {
          if (!res.write(`data: ${JSON.stringify(chunk)}\n\n`)) await new Promise((r) => res.once("drain", r))
        }
        res.end("data: [DONE]\n\n")
      } else {
        const completion = await client.chat.completions.create(body, { signal: controller.signal })
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify(completion))
      }
    } catch (error) {
      if (res.headersSent) return void res.destroy()
      res.writeHead(error?.status ?? 502, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: String(error?.message ?? error) } }))
    }
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })))
