/**
 * A recording loopback proxy in front of the gateway: each client under test talks to it, it forwards every request
 * to the gateway and every response back as it arrives (streams chunk by chunk; a client that goes away closes the
 * upstream request too), and keeps a copy of each exchange. Tests compare what a client surfaced with what was on
 * the wire for exactly that exchange (`take()` drains the exchanges recorded since the last call), and read what a
 * client sent (a tool result turn, a `response_format`).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

// biome-ignore lint/suspicious/noExplicitAny: wire JSON as the tests read it
export type Json = any

/** One request/response pair as it crossed the proxy. */
export interface Exchange {
  readonly method: string
  readonly path: string
  /** The request body parsed as JSON (the raw text when it is not JSON). */
  readonly request: Json
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  /** The response body as received so far (the whole body when `complete`). */
  body: string
  /** Whether the gateway's response ended before the client went away. */
  complete: boolean
}

export interface Wire {
  /** The proxy's base URL with the OpenAI path prefix (`http://127.0.0.1:<port>/v1`). */
  readonly baseURL: string
  /** The exchanges recorded since the last call, oldest first. */
  readonly take: () => Array<Exchange>
  readonly close: () => Promise<void>
}

const parse = (text: string): Json => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Starts the proxy on an ephemeral loopback port, forwarding to `gatewayURL`. */
export const start = async (gatewayURL: string): Promise<Wire> => {
  const target = new URL(gatewayURL)
  let exchanges: Array<Exchange> = []
  // its own connections to the gateway, closed with the proxy (none left for the gateway's shutdown to wait on)
  const agent = new http.Agent({ keepAlive: true })
  const server = http.createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (data: Buffer) => parts.push(data))
    req.on("end", () => {
      const payload = Buffer.concat(parts)
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          agent,
          headers: { ...req.headers, host: target.host }
        },
        (answer) => {
          const exchange: Exchange = {
            method: req.method ?? "",
            path: req.url ?? "",
            request: parse(payload.toString("utf8")),
            status: answer.statusCode ?? 0,
            headers: answer.headers,
            body: "",
            complete: false
          }
          exchanges.push(exchange)
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.on("data", (data: Buffer) => {
            exchange.body += data.toString("utf8")
            res.write(data)
          })
          answer.on("end", () => {
            exchange.complete = true
            res.end()
          })
          answer.on("error", () => res.destroy())
        }
      )
      upstream.on("error", () => res.destroy())
      // the client went away before the answer ended: so does the request to the gateway
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy()
      })
      upstream.end(payload)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    take: () => {
      const taken = exchanges
      exchanges = []
      return taken
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => {
          agent.destroy()
          resolve()
        })
      })
  }
}

/** The `data:` events of an SSE body, parsed (without the closing `[DONE]`). */
export const events = (body: string): Array<Json> =>
  body
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice("data: ".length)))

/** The OpenAI `usage` object of a response, streamed (its last chunk carrying one) or not. */
export const usage = (exchange: Exchange): Json => {
  if (exchange.request?.stream !== true) return parse(exchange.body).usage
  return events(exchange.body).findLast((event) => event.usage != null)?.usage
}

/** The assistant message of a non-streamed response. */
export const message = (exchange: Exchange): Json => parse(exchange.body).choices[0].message

/** The concatenated `content` (or `reasoning_content`) deltas of a streamed response. */
export const streamedText = (exchange: Exchange, field: "content" | "reasoning_content" = "content"): string =>
  events(exchange.body)
    .flatMap((event) => event.choices ?? [])
    .map((choice: Json) => choice.delta?.[field] ?? "")
    .join("")
