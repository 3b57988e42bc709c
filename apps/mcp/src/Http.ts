/**
 * MCP over Streamable HTTP (the SDK's `StreamableHTTPServerTransport`) on a Node HTTP server, at `POST/GET/DELETE
 * /mcp`.
 *
 * - Sessions: an `initialize` request without `mcp-session-id` opens a session (a server and a transport of its own,
 *   `mcp-session-id` in the answer); later requests name it. An unknown session id answers 404 (the client then
 *   re-initializes), a request without one that is not `initialize` 400. `DELETE /mcp` ends a session.
 * - Authentication: with `CONDUIT_API_KEYS` set, every request needs `Authorization: Bearer <key>` (the gateway's
 *   `Auth`: constant-time digests); a session belongs to the key that opened it. Without keys the server only
 *   listens on loopback (the gateway's rule, `GatewayConfig.validate`), and DNS-rebinding protection admits only
 *   loopback `Host` headers.
 * - Bodies larger than `CONDUIT_MAX_BODY_BYTES` answer 413; malformed JSON 400 (JSON-RPC parse error).
 */
import * as http from "node:http"
import { Auth, type GatewayConfig } from "@conduitkit/gateway"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import * as McpServer from "./McpServer.js"

/** A running HTTP server. */
export interface Running {
  readonly url: string
  readonly port: number
  /** Open sessions. */
  readonly sessions: () => number
  /** Closes every session and the listener. */
  readonly close: () => Promise<void>
}

const jsonRpcError = (res: http.ServerResponse, status: number, code: number, message: string) => {
  if (res.headersSent) return
  res.writeHead(status, { "content-type": "application/json" })
  res.end(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }))
}

const readBody = (req: http.IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    req.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        req.destroy()
        resolve("too-large")
      } else chunks.push(chunk)
    })
    req.on("end", () => resolve(Buffer.concat(chunks)))
    req.on("error", reject)
  })

/**
 * Serves `runner` on `config.host:config.port` (port 0 picks a free one) at `/mcp`.
 */
export const serve = (
  runner: McpServer.Runner,
  config: Pick<GatewayConfig.GatewayConfig, "host" | "port" | "apiKeys" | "maxBodyBytes">
): Promise<Running> => {
  const auth = Auth.make(config.apiKeys)
  const sessions = new Map<
    string,
    { readonly transport: StreamableHTTPServerTransport; readonly keyId: string; readonly close: () => Promise<void> }
  >()
  let allowedHosts: Array<string> | undefined

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]
    if (path !== "/mcp") return jsonRpcError(res, 404, -32601, `No route for ${req.method} ${path}; MCP is at /mcp.`)
    const checked = auth.check(req.headers.authorization)
    if (checked._tag !== "Ok") {
      res.setHeader("www-authenticate", "Bearer")
      return jsonRpcError(
        res,
        401,
        -32001,
        checked._tag === "Missing" ? "Send your key as 'Authorization: Bearer <key>'." : "Incorrect API key provided."
      )
    }
    let body: unknown
    if (req.method === "POST") {
      const raw = await readBody(req, config.maxBodyBytes)
      if (raw === "too-large")
        return jsonRpcError(res, 413, -32600, `The body is larger than ${config.maxBodyBytes} bytes.`)
      try {
        body = JSON.parse(raw.toString("utf8"))
      } catch {
        return jsonRpcError(res, 400, -32700, "Parse error: the body is not valid JSON.")
      }
    }
    const sessionId = req.headers["mcp-session-id"]
    if (typeof sessionId === "string") {
      const session = sessions.get(sessionId)
      if (session === undefined || session.keyId !== checked.keyId) {
        return jsonRpcError(res, 404, -32001, "Session not found: initialize a new session.")
      }
      return session.transport.handleRequest(req, res, body)
    }
    if (req.method !== "POST" || !isInitializeRequest(body)) {
      return jsonRpcError(res, 400, -32000, "Bad request: no mcp-session-id; send an initialize request first.")
    }
    const server = McpServer.make(runner, { keyId: checked.keyId })
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => crypto.randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, keyId: checked.keyId, close: () => server.close() })
      },
      ...(allowedHosts !== undefined ? { enableDnsRebindingProtection: true, allowedHosts } : {})
    })
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    return transport.handleRequest(req, res, body)
  }

  const listener = http.createServer((req, res) => {
    handle(req, res).catch(() => jsonRpcError(res, 500, -32603, "Internal error."))
  })
  return new Promise((resolve, reject) => {
    listener.once("error", reject)
    listener.listen(config.port, config.host, () => {
      const address = listener.address()
      const port = typeof address === "object" && address !== null ? address.port : config.port
      if (config.apiKeys.length === 0) {
        allowedHosts = [config.host, "localhost", "127.0.0.1", "[::1]"].map(
          (host) => `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`
        )
      }
      const host = config.host.includes(":") ? `[${config.host}]` : config.host
      resolve({
        url: `http://${host}:${port}/mcp`,
        port,
        sessions: () => sessions.size,
        close: async () => {
          await Promise.all([...sessions.values()].map((session) => session.close()))
          sessions.clear()
          listener.closeAllConnections()
          await new Promise<void>((done) => listener.close(() => done()))
        }
      })
    })
  })
}
