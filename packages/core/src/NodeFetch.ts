/**
 * A `fetch` for the `openai` SDK on `node:http` / `node:https` with keep-alive agents: the transport's default
 * while the global `fetch` is Node's own (a replaced `fetch`, by MSW, instrumentation or a preload, is used as it is).
 *
 * Why: Node's global `fetch` (undici's WHATWG fetch) costs more CPU per request than the rest of the SDK call
 * together: measured with the `openai` SDK against a loopback mock, ~600 µs of CPU per non-stream call with the
 * global `fetch` against ~350 µs with this one (bench/core, bench/gateway; BENCHMARKS.md). What it keeps of `fetch`:
 *
 * - the request: method, headers, a string / bytes / `URLSearchParams` body with its `content-length`; any other
 *   body (`FormData`, `Blob`, streams: the SDK's file uploads), a `Request` object, a non-HTTP(S) URL or
 *   `NODE_USE_ENV_PROXY` go to the global `fetch` unchanged;
 * - the response: a WHATWG `Response` (status, status text, headers); a `text/event-stream` body streams (pulled, so
 *   a slow reader back-pressures the socket; each read takes what the socket delivered), any other body is read whole before the promise resolves; gzip,
 *   deflate and br bodies are decompressed as `fetch` does (and `content-encoding` / `content-length` dropped);
 *   redirects are not followed (LLM APIs answer chat calls without them; a 3xx is returned as it is);
 * - failures: an aborted `signal` rejects with the signal's reason (an `AbortError` `DOMException` by default) and
 *   errors a body being read; a network failure rejects with `TypeError("fetch failed", { cause })`, as `fetch` does,
 *   which the SDK turns into `APIConnectionError`.
 *
 * @since 0.1.0
 */
import * as http from "node:http"
import * as https from "node:https"
import type { Readable } from "node:stream"
import * as zlib from "node:zlib"

const agents = {
  "http:": new http.Agent({ keepAlive: true }),
  "https:": new https.Agent({ keepAlive: true })
} as const

/**
 * Whether `candidate` is Node's own global `fetch` (undici's, loaded lazily by Node's bootstrap). Decided from its
 * source, which names Node's internal undici module: no user-land function can load that module, so a `fetch`
 * replaced before this module was loaded (an `--import` preload, instrumentation, a polyfill) is told apart too. The
 * answer is kept for the last function asked about, so a call costs one comparison.
 */
let lastAsked: unknown
let lastAnswer = false
const isNodesOwnFetch = (candidate: unknown): boolean => {
  if (candidate !== lastAsked) {
    lastAsked = candidate
    lastAnswer =
      typeof candidate === "function" &&
      Function.prototype.toString.call(candidate).includes("internal/deps/undici/undici")
  }
  return lastAnswer
}

/** The body as bytes or text, or `undefined` when this fetch does not send that kind of body itself. */
const bodyOf = (body: unknown): { readonly ok: boolean; readonly data?: string | Uint8Array } => {
  if (body === undefined || body === null) return { ok: true }
  if (typeof body === "string" || body instanceof Uint8Array) return { ok: true, data: body }
  if (body instanceof URLSearchParams) return { ok: true, data: body.toString() }
  if (body instanceof ArrayBuffer) return { ok: true, data: new Uint8Array(body) }
  return { ok: false }
}

const headersOf = (init: RequestInit["headers"]): Record<string, string> => {
  const out: Record<string, string> = {}
  if (init === undefined) return out
  if (init instanceof Headers || Array.isArray(init)) {
    for (const [name, value] of init as Iterable<[string, string]>) out[name.toLowerCase()] = value
  } else {
    for (const name of Object.keys(init)) {
      const value = (init as Record<string, string | undefined>)[name]
      if (value !== undefined) out[name.toLowerCase()] = String(value)
    }
  }
  return out
}

const abortReason = (signal: AbortSignal): unknown =>
  signal.reason ?? new DOMException("This operation was aborted", "AbortError")

const decompressor = (encoding: string | undefined): NodeJS.ReadWriteStream | undefined => {
  switch (encoding?.trim().toLowerCase()) {
    case "gzip":
    case "x-gzip":
      return zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    case "deflate":
      return zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    case "br":
      return zlib.createBrotliDecompress()
    default:
      return undefined
  }
}

const responseHeaders = (raw: ReadonlyArray<string>, decoded: boolean): Headers => {
  const headers = new Headers()
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (decoded) {
      const lower = name.toLowerCase()
      if (lower === "content-encoding" || lower === "content-length") continue
    }
    headers.append(name, raw[i + 1] as string)
  }
  return headers
}

/**
 * A Node stream as a WHATWG body: each read takes everything the socket delivered so far (one chunk per socket read,
 * as `fetch` gives, where `Readable.toWeb` hands out 16 KB pieces), nothing is read ahead of the reader, and a
 * failure or a close before the end errors the body.
 */
interface WebBody {
  readonly stream: ReadableStream<Uint8Array>
  /** Errors the body with `reason` and drains what is left, leaving the connection to the agent. */
  readonly stop: (reason: unknown) => void
}

const webBody = (source: Readable, response: http.IncomingMessage): WebBody => {
  let ended = false
  let failed: unknown
  let wake: (() => void) | undefined
  const notify = () => {
    const step = wake
    wake = undefined
    step?.()
  }
  source.on("readable", notify)
  source.once("end", () => {
    ended = true
    notify()
  })
  source.once("error", (error) => {
    failed = error
    notify()
  })
  source.once("close", () => {
    if (!ended && failed === undefined) failed = new Error("the response body was closed before its end")
    notify()
  })
  const stop = (reason: unknown) => {
    if (failed === undefined && !ended) failed = reason
    source.removeListener("readable", notify)
    source.resume()
    notify()
  }
  // a body dropped once the whole response arrived (a stream read up to `data: [DONE]`) keeps its keep-alive
  // connection; one dropped earlier is cut, which stops the upstream
  const release = (reason: unknown): void => {
    if (response.complete) stop(reason)
    else source.destroy()
  }
  const stream = new ReadableStream<Uint8Array>(
    {
      pull: (controller) =>
        new Promise<void>((resolve) => {
          const step = () => {
            const chunk = source.read() as Buffer | null
            if (chunk === null && failed === undefined && !ended) {
              wake = step // nothing yet: wait for the socket
              return
            }
            if (chunk !== null) controller.enqueue(chunk)
            else if (failed !== undefined) controller.error(failed)
            else controller.close()
            resolve()
          }
          step()
        }),
      cancel: (reason) => release(reason)
    },
    { highWaterMark: 0 }
  )
  return { stream, stop }
}

const nullBodyStatus = (status: number) => status === 101 || status === 204 || status === 205 || status === 304

/** Sends one request on `node:http(s)` (see the module docs for what is kept of `fetch`). */
const send = (
  url: URL,
  init: RequestInit,
  data: string | Uint8Array | undefined,
  headers: Record<string, string>
): Promise<Response> =>
  new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined
    if (signal?.aborted) return reject(abortReason(signal))
    if (data !== undefined && headers["content-length"] === undefined) {
      headers["content-length"] = String(typeof data === "string" ? Buffer.byteLength(data) : data.byteLength)
    }
    const transport = url.protocol === "https:" ? https : http
    let settled = false
    let body: { readonly source: Readable; readonly web: WebBody; readonly response: http.IncomingMessage } | undefined
    const onAbort = () => {
      const reason = abortReason(signal as AbortSignal)
      if (body?.response.complete) {
        body.web.stop(reason) // the whole answer is here: nothing upstream to stop, the connection stays pooled
      } else {
        request.destroy()
        body?.source.destroy(reason instanceof Error ? reason : new Error(String(reason)))
      }
      if (!settled) {
        settled = true
        reject(reason)
      }
    }
    const fail = (cause: unknown) => {
      signal?.removeEventListener("abort", onAbort)
      if (settled) return
      settled = true
      reject(signal?.aborted ? abortReason(signal) : new TypeError("fetch failed", { cause }))
    }
    const request = transport.request(
      url,
      { method: init.method ?? "GET", headers, agent: agents[url.protocol as "http:" | "https:"] },
      (res) => {
        const status = res.statusCode ?? 0
        const inflate = nullBodyStatus(status) ? undefined : decompressor(res.headers["content-encoding"])
        const source: Readable = inflate === undefined ? res : (res.pipe(inflate) as unknown as Readable)
        if (inflate !== undefined) res.on("error", (error) => source.destroy(error))
        const make = (responseBody: ConstructorParameters<typeof Response>[0]) =>
          new Response(responseBody, {
            status,
            statusText: res.statusMessage ?? "",
            headers: responseHeaders(res.rawHeaders, inflate !== undefined)
          })
        if (nullBodyStatus(status) || init.method === "HEAD") {
          res.resume()
          signal?.removeEventListener("abort", onAbort)
          settled = true
          return resolve(make(null))
        }
        if (/^text\/event-stream/i.test(res.headers["content-type"] ?? "")) {
          const web = webBody(source, res)
          body = { source, web, response: res }
          settled = true
          source.once("close", () => signal?.removeEventListener("abort", onAbort))
          source.once("end", () => signal?.removeEventListener("abort", onAbort))
          return resolve(make(web.stream))
        }
        const parts: Array<Buffer> = []
        source.on("data", (part: Buffer) => parts.push(part))
        source.once("error", fail)
        source.once("end", () => {
          signal?.removeEventListener("abort", onAbort)
          if (settled) return
          settled = true
          resolve(make(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)))
        })
      }
    )
    request.once("error", fail)
    signal?.addEventListener("abort", onAbort, { once: true })
    request.end(data)
  })

/**
 * `fetch` on `node:http(s)` (see the module docs). Falls back to the global `fetch` for what it does not handle.
 *
 * @since 0.1.0
 */
export const fetch: typeof globalThis.fetch = (input, init = {}) => {
  const url = typeof input === "string" ? URL.parse(input) : input instanceof URL ? input : undefined
  const body = bodyOf(init.body)
  if (
    url === undefined ||
    url === null ||
    (url.protocol !== "http:" && url.protocol !== "https:") ||
    !body.ok ||
    process.env.NODE_USE_ENV_PROXY
  ) {
    return globalThis.fetch(input, init)
  }
  return send(url, init, body.data, headersOf(init.headers))
}

/**
 * The `fetch` a transport uses when none was configured: {@link fetch} while the global `fetch` is Node's own, else
 * the global `fetch` as it is now (replaced by MSW, instrumentation, a polyfill or an `--import` preload, before or
 * after this module was loaded).
 *
 * @since 0.1.0
 */
export const defaultFetch: typeof globalThis.fetch = (input, init) =>
  isNodesOwnFetch(globalThis.fetch) ? fetch(input, init) : globalThis.fetch(input, init)
