// An OTLP/HTTP sink for bench/gateway/tracing.mjs: answers every export with 200 and counts the requests and bytes
// (printed as JSON on SIGTERM), so the traced gateway pays for real exports over loopback.
import * as http from "node:http"

let requests = 0
let bytes = 0
const server = http.createServer((req, res) => {
  req.on("data", (chunk) => {
    bytes += chunk.length
  })
  req.on("end", () => {
    requests++
    res.writeHead(200, { "content-type": "application/x-protobuf" })
    res.end()
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })))
process.on("SIGTERM", () => {
  console.log(JSON.stringify({ requests, bytes }))
  process.exit(0)
})
