/**
 * A mock of Moonshot's and Z.ai's chat-completions endpoints on a real loopback socket (node:http), for the
 * benchmarks, the reliability suite and the gateway's load tests, where MSW's in-process interception would hide
 * exactly what is being measured (sockets, backpressure, TCP splitting).
 *
 * Wire flavours, as the recordings show them:
 * - `moonshot` (`POST /v1/chat/completions`): `chatcmpl-<hex>` ids, `usage` inside `choices[0]` of the finish chunk
 *   plus a trailing `choices: []` usage chunk, top-level `cached_tokens`, `x-msh-request-id` / `msh-request-id`.
 * - `zai` (`POST /api/paas/v4/chat/completions`): `id == request_id`, no `object`, `role` on every delta, usage with
 *   `prompt_tokens_details.cached_tokens` on the finish chunk.
 *
 * Behaviour is set per server (`configure`) and can be overridden per request by a JSON header
 * `x-mock-behaviour` (the gateway does not forward it, so use it only when calling the mock directly).
 *
 * Accounting: every request is keyed by the content of its last user message (clients put a unique id there), and
 * the mock counts attempts, successes, aborts (client closed before the response ended, with the time) and bytes
 * written.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export type Flavour = "moonshot" | "zai"

export interface Behaviour {
  /** Delay before the response headers, ms. */
  readonly latencyMs?: number
  /** For streams: number of content chunks. Default 16. */
  readonly chunks?: number
  /** For streams: delay between chunks, ms. Default 0 (written as fast as the socket takes them). */
  readonly pacingMs?: number
  /** Content of each chunk (`{i}` is replaced by the chunk index). Default `tok{i} `. */
  readonly chunkText?: string
  /** Probability in [0,1] of a transient 429 (rate_limit_reached_error / code 1302) with `retryAfterMs`. */
  readonly rate429?: number
  /** Probability in [0,1] of a quota 429 (exceeded_current_quota_error / code 1113). */
  readonly rateQuota429?: number
  /** Probability in [0,1] of a 500/503. */
  readonly rate5xx?: number
  /** The first this-many attempts of each request key get a transient 429 (deterministic, unlike `rate429`). */
  readonly first429?: number
  /** `retry-after-ms` sent on transient 429s (and `retry-after` in whole seconds, rounded up). */
  readonly retryAfterMs?: number
  /** Stop writing after this many chunks, keeping the connection open. */
  readonly stallAfter?: number
  /** End the response after this many chunks, without a finish reason and without `[DONE]`. */
  readonly truncateAfter?: number
  /** Write the stream in pieces of this many bytes (1 = byte by byte), each in its own socket write. */
  readonly splitBytes?: number
  /** Reasoning chunks before the content (thinking models). Default 0. */
  readonly reasoningChunks?: number
  /**
   * The first this-many attempts of each request key read the request and never answer (no status line; the
   * connection stays open until the client closes it). Deterministic, like `first429`.
   */
  readonly hangFirst?: number
  /**
   * The first this-many attempts of each request key send the headers and half the body (half the JSON of a
   * non-stream answer, half the events of a stream), then reset the connection.
   */
  readonly resetFirst?: number
}

export interface RequestRecord {
  readonly key: string
  attempts: number
  successes: number
  aborts: number
  lastAbortAt: number | undefined
  readonly attemptTimes: Array<number>
}

export interface MockUpstream {
  readonly url: string
  readonly port: number
  /** `baseURL` for a flavour: `${url}/v1` or `${url}/api/paas/v4`. */
  readonly baseURL: (flavour: Flavour) => string
  readonly configure: (behaviour: Behaviour) => void
  readonly records: Map<string, RequestRecord>
  readonly totals: () => { requests: number; successes: number; aborts: number; bytes: number; open: number }
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const keyOf = (body: unknown): string => {
  const messages = (body as { messages?: Array<{ role?: string; content?: unknown }> } | undefined)?.messages ?? []
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]
    if (message?.role === "user" && typeof message.content === "string") return message.content
  }
  return ""
}

const sleep = (ms: number | undefined) =>
  ms === undefined || ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms))

let sequence = 0
const hexId = () => (++sequence).toString(16).padStart(24, "0")

const chunkFor = (
  flavour: Flavour,
  id: string,
  model: string,
  delta: Record<string, unknown>,
  finish: string | null,
  usage?: Record<string, unknown>
) =>
  flavour === "moonshot"
    ? {
        id,
        object: "chat.completion.chunk",
        created: 1_760_000_000,
        model,
        choices: [{ index: 0, delta, finish_reason: finish, ...(usage ? { usage } : {}) }],
        system_fingerprint: "fpv0_mock"
      }
    : {
        id,
        created: 1_760_000_000,
        model,
        choices: [{ index: 0, delta: { role: "assistant", ...delta }, ...(finish ? { finish_reason: finish } : {}) }],
        ...(usage ? { usage } : {})
      }

const writeAsync = (res: http.ServerResponse, data: Buffer | string): Promise<void> =>
  new Promise((resolve) => {
    if (res.write(data)) resolve()
    else res.once("drain", () => resolve())
  })

export const start = async (initial: Behaviour = {}): Promise<MockUpstream> => {
  let behaviour: Behaviour = initial
  const records = new Map<string, RequestRecord>()
  let bytes = 0
  let open = 0
  let requests = 0

  const record = (key: string): RequestRecord => {
    let entry = records.get(key)
    if (entry === undefined) {
      entry = { key, attempts: 0, successes: 0, aborts: 0, lastAbortAt: undefined, attemptTimes: [] }
      records.set(key, entry)
    }
    return entry
  }

  const server = http.createServer((req, res) => {
    const flavour: Flavour | undefined = req.url?.startsWith("/v1/chat/completions")
      ? "moonshot"
      : req.url?.startsWith("/api/paas/v4/chat/completions")
        ? "zai"
        : undefined
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      void handle(flavour, req, res, Buffer.concat(chunks).toString("utf8"))
    })
  })
  server.keepAliveTimeout = 60_000

  const handle = async (
    flavour: Flavour | undefined,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    text: string
  ) => {
    if (flavour === undefined || req.method !== "POST") {
      res.writeHead(404, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: "not found", type: "resource_not_found_error" } }))
      return
    }
    requests++
    open++
    let body: Record<string, unknown>
    try {
      body = JSON.parse(text)
    } catch {
      open--
      res.writeHead(400, { "content-type": "application/json" })
      res.end(JSON.stringify({ error: { message: "invalid json", type: "invalid_request_error" } }))
      return
    }
    const override = req.headers["x-mock-behaviour"]
    const b: Behaviour = typeof override === "string" ? { ...behaviour, ...JSON.parse(override) } : behaviour
    const entry = record(keyOf(body))
    entry.attempts++
    entry.attemptTimes.push(performance.now())
    let finished = false
    res.on("close", () => {
      open--
      if (!finished) {
        entry.aborts++
        entry.lastAbortAt = performance.now()
      }
    })
    const model = typeof body.model === "string" ? body.model : "mock-model"
    const id = flavour === "moonshot" ? `chatcmpl-${hexId()}` : `2026${hexId()}`
    const requestIdHeaders: Record<string, string> =
      flavour === "moonshot" ? { "msh-request-id": id, "x-msh-trace-id": id } : { "x-request-id": id }

    await sleep(b.latencyMs)
    if (res.destroyed) return
    if (entry.attempts <= (b.hangFirst ?? 0)) return // held until the client gives up (counted as an abort)
    const reset = entry.attempts <= (b.resetFirst ?? 0)

    const roll = entry.attempts <= (b.first429 ?? 0) ? -1 : Math.random()
    const r429 = b.rate429 ?? 0
    const rQuota = b.rateQuota429 ?? 0
    const r5xx = b.rate5xx ?? 0
    if (roll < r429 + rQuota + r5xx) {
      finished = true
      if (roll < r429 || roll < 0) {
        const retryAfterMs = b.retryAfterMs ?? 50
        res.writeHead(429, {
          "content-type": "application/json",
          "retry-after-ms": String(retryAfterMs),
          "retry-after": String(Math.ceil(retryAfterMs / 1000)),
          ...requestIdHeaders
        })
        res.end(
          JSON.stringify(
            flavour === "moonshot"
              ? {
                  error: {
                    message: "Organization Rate limit exceeded, please try again after 1 seconds",
                    type: "rate_limit_reached_error"
                  }
                }
              : { error: { code: "1302", message: "Rate limit reached for requests" } }
          )
        )
      } else if (roll < r429 + rQuota) {
        res.writeHead(429, { "content-type": "application/json", ...requestIdHeaders })
        res.end(
          JSON.stringify(
            flavour === "moonshot"
              ? {
                  error: {
                    message: "Your account is suspended due to insufficient balance",
                    type: "exceeded_current_quota_error"
                  }
                }
              : { error: { code: "1113", message: "Insufficient balance or no resource package. Please recharge." } }
          )
        )
      } else {
        res.writeHead(flavour === "moonshot" ? 500 : 503, { "content-type": "application/json", ...requestIdHeaders })
        res.end(
          JSON.stringify(
            flavour === "moonshot"
              ? { error: { message: "unexpected output", type: "server_error" } }
              : { error: { code: "500", message: "Internal Error" } }
          )
        )
      }
      return
    }

    const count = b.chunks ?? 16
    const template = b.chunkText ?? "tok{i} "
    const usage = { prompt_tokens: 12, completion_tokens: count, total_tokens: 12 + count }
    const moonshotUsage = { ...usage, cached_tokens: 0, prompt_tokens_details: { cached_tokens: 0 } }
    const zaiUsage = { ...usage, prompt_tokens_details: { cached_tokens: 0 } }

    if (body.stream !== true) {
      const content = Array.from({ length: count }, (_, i) => template.replace("{i}", String(i))).join("")
      const payload =
        flavour === "moonshot"
          ? {
              id,
              object: "chat.completion",
              created: 1_760_000_000,
              model,
              choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
              usage: moonshotUsage
            }
          : {
              id,
              request_id: id,
              created: 1_760_000_000,
              model,
              choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
              usage: zaiUsage
            }
      const json = JSON.stringify(payload)
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(json),
        ...requestIdHeaders
      })
      if (reset) {
        await writeAsync(res, Buffer.from(json.slice(0, json.length >> 1)))
        await sleep(20)
        res.socket?.resetAndDestroy()
        return
      }
      res.end(json)
      bytes += json.length
      finished = true
      entry.successes++
      return
    }

    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", ...requestIdHeaders })
    // Events are made as they are written (a long stream is never held in memory): reasoning, content, then the tail.
    const reasoning = b.reasoningChunks ?? 0
    const tail: Array<string> = []
    const truncated = b.truncateAfter !== undefined
    if (!truncated) {
      tail.push(
        JSON.stringify(chunkFor(flavour, id, model, {}, "stop", flavour === "moonshot" ? moonshotUsage : zaiUsage))
      )
      if (flavour === "moonshot" && body.stream_options !== undefined) {
        tail.push(
          JSON.stringify({
            id,
            object: "chat.completion.chunk",
            created: 1_760_000_000,
            model,
            choices: [],
            usage: moonshotUsage
          })
        )
      }
      tail.push("[DONE]")
    }
    const eventCount = reasoning + count + tail.length
    const event = (i: number): string =>
      i < reasoning
        ? JSON.stringify(chunkFor(flavour, id, model, { reasoning_content: `think${i} ` }, null))
        : i < reasoning + count
          ? JSON.stringify(
              chunkFor(flavour, id, model, { content: template.replace("{i}", String(i - reasoning)) }, null)
            )
          : (tail[i - reasoning - count] ?? "")
    const limit = reset ? eventCount >> 1 : Math.min(eventCount, b.truncateAfter ?? b.stallAfter ?? eventCount)
    for (let i = 0; i < limit; i++) {
      if (res.destroyed) return
      if (i > 0 && b.pacingMs) await sleep(b.pacingMs)
      const frame = Buffer.from(`data: ${event(i)}\n\n`)
      bytes += frame.length
      if (b.splitBytes !== undefined) {
        for (let offset = 0; offset < frame.length; offset += b.splitBytes) {
          if (res.destroyed) return
          await writeAsync(res, frame.subarray(offset, offset + b.splitBytes))
          if (b.splitBytes < 8) await new Promise((resolve) => setImmediate(resolve))
        }
      } else {
        await writeAsync(res, frame)
      }
    }
    if (reset) {
      await sleep(20)
      res.socket?.resetAndDestroy()
      return
    }
    if (b.stallAfter !== undefined && !truncated) return // keep the connection open until the client goes away
    finished = true
    if (!truncated) entry.successes++
    res.end()
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`
  return {
    url,
    port,
    baseURL: (flavour) => (flavour === "moonshot" ? `${url}/v1` : `${url}/api/paas/v4`),
    configure: (next) => {
      behaviour = next
    },
    records,
    totals: () => {
      let successes = 0
      let aborts = 0
      for (const entry of records.values()) {
        successes += entry.successes
        aborts += entry.aborts
      }
      return { requests, successes, aborts, bytes, open }
    },
    reset: () => {
      records.clear()
      requests = 0
      bytes = 0
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
