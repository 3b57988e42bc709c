// Baseline B1: a bare node:http pass-through proxy. It forwards the request as bytes to UPSTREAM (keep-alive) and
// pipes the response back: no parsing, no validation, nothing a real gateway does. It bounds what any proxy hop costs.
import * as http from "node:http"

const upstream = new URL(process.env.UPSTREAM)
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY })
const server = http.createServer((req, res) => {
  const forward = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: `${upstream.pathname.replace(/\/$/, "")}${req.url.replace(/^\/v1/, "")}`,
      headers: { ...req.headers, host: upstream.host },
      agent
    },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    }
  )
  forward.on("error", () => {
    if (!res.headersSent) res.writeHead(502)
    res.end()
  })
  res.on("close", () => forward.destroy())
  req.pipe(forward)
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })))
