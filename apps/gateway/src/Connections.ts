/**
 * Connection hygiene for the gateway's node:http server: every connection is on a bounded timer, and the number open
 * at once is capped below the process's file descriptor limit, so idle or slow clients cannot starve the requests
 * that matter (`/healthz` among them) of sockets.
 *
 * - A connection that sends no byte within `headersTimeoutMs` is closed (Node's own `headersTimeout` starts only at
 *   the first byte, so such connections were never closed).
 * - Headers that take longer than `headersTimeoutMs` (slowloris) are cut by Node's `headersTimeout`, the whole
 *   request by `requestTimeoutMs` (Node's `requestTimeout`, 408), both checked every second.
 * - A connection idle between requests is closed after `keepAliveTimeoutMs` (Node's `keepAliveTimeout`).
 * - At most `maxConnections` are open: a new connection beyond it first evicts the oldest connection that never sent
 *   a byte, else the oldest that has no request running (sending headers, or idle between requests); when every open
 *   connection is running a request, the new one is refused with a 503 `server_overloaded` error envelope and closed.
 */
import * as fs from "node:fs"
import type * as http from "node:http"
import type * as net from "node:net"
import { family } from "./Metrics.js"

/** The timers and the cap. Times in ms. */
export interface Limits {
  readonly maxConnections: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly keepAliveTimeoutMs: number
}

/**
 * The default cap on open client connections: half of the soft file descriptor limit (`/proc/self/limits`) after 64
 * kept for files, logs and Redis, since every running request also holds an upstream socket; at least 16, at most
 * 10,000 (10,000 where the limit cannot be read).
 */
export const defaultMaxConnections = (limitsFile = "/proc/self/limits"): number => {
  try {
    const line = fs
      .readFileSync(limitsFile, "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"))
    const soft = Number(line?.slice("Max open files".length).trim().split(/\s+/)[0])
    if (!Number.isFinite(soft)) return 10_000
    return Math.min(10_000, Math.max(16, Math.floor((soft - 64) / 2)))
  } catch {
    return 10_000
  }
}

/** The `http.createServer` options for `limits` (Node's header, request and keep-alive timers, checked every 1 s). */
export const serverOptions = (limits: Limits): http.ServerOptions => ({
  headersTimeout: limits.headersTimeoutMs,
  requestTimeout: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
  keepAliveTimeout: limits.keepAliveTimeoutMs,
  connectionsCheckingInterval: 1_000
})

const refusalBody = JSON.stringify({
  error: {
    message: "The gateway has too many open connections; retry shortly.",
    type: "server_error",
    code: "server_overloaded",
    param: null
  }
})
const refusal =
  "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-type: application/json\r\nretry-after: 1\r\n" +
  `content-length: ${Buffer.byteLength(refusalBody)}\r\n\r\n${refusalBody}`

/** What the guard did so far, for `/metrics`. */
export interface Guard {
  readonly open: () => number
  readonly render: () => string
}

interface Tracked {
  readonly openedAt: number
  /** Requests running on the connection. */
  busy: number
}

/**
 * Applies the first-byte timer and the cap to `server` (create it with {@link serverOptions}). Returns the counts
 * `/metrics` shows: open connections, and connections closed by each rule since start.
 */
export const guard = (server: http.Server, limits: Limits): Guard => {
  // insertion order: the oldest first
  const sockets = new Map<net.Socket, Tracked>()
  let silentClosed = 0
  let evicted = 0
  let refused = 0
  const untrack = (socket: net.Socket) => sockets.delete(socket)
  server.on("connection", (socket: net.Socket) => {
    if (sockets.size >= limits.maxConnections) {
      // the oldest that never sent a byte, else the oldest without a running request
      let oldest: net.Socket | undefined
      let oldestIdle: net.Socket | undefined
      for (const [open, tracked] of sockets) {
        if (tracked.busy > 0) continue
        if (open.bytesRead === 0) {
          oldest = open
          break
        }
        oldestIdle ??= open
      }
      oldest ??= oldestIdle
      if (oldest === undefined) {
        refused++
        socket.on("error", () => undefined)
        socket.end(refusal)
        socket.destroySoon()
        return
      }
      evicted++
      untrack(oldest)
      oldest.destroy()
    }
    sockets.set(socket, { openedAt: performance.now(), busy: 0 })
    socket.once("close", () => untrack(socket))
  })
  server.on("request", (request: http.IncomingMessage, response: http.ServerResponse) => {
    const tracked = sockets.get(request.socket)
    if (tracked === undefined) return
    tracked.busy++
    response.once("close", () => {
      tracked.busy--
    })
  })
  // connections that never sent a byte (Node's headersTimeout does not see them)
  const sweep = setInterval(
    () => {
      const now = performance.now()
      for (const [socket, tracked] of sockets) {
        if (now - tracked.openedAt >= limits.headersTimeoutMs && socket.bytesRead === 0 && tracked.busy === 0) {
          silentClosed++
          untrack(socket)
          socket.destroy()
        }
      }
    },
    Math.min(1_000, Math.max(50, Math.floor(limits.headersTimeoutMs / 4)))
  )
  sweep.unref()
  server.once("close", () => clearInterval(sweep))
  return {
    open: () => sockets.size,
    render: () =>
      family("conduit_gateway_connections_open", "gauge", "Client connections open", [["", sockets.size]]) +
      family("conduit_gateway_connections_closed_total", "counter", "Client connections closed by the gateway", [
        ['{reason="no_byte"}', silentClosed],
        ['{reason="evicted_idle"}', evicted],
        ['{reason="refused"}', refused]
      ])
  }
}
