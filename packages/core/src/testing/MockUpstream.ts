/**
 * MSW building blocks for simulating OpenAI-compatible upstreams in tests and in the demo's simulated mode.
 *
 * - Responses: {@link json}, {@link error} (any status, body and headers, including non-JSON bodies such as an
 *   HTML 504 page), {@link sse} (chunks framed as SSE, with `[DONE]` unless told otherwise), with the failure modes
 *   a client must survive: a stall after N events (the connection stays open and silent), a disconnect after N
 *   events (the body errors), a missing `[DONE]`, a delay before the first event and between events, and byte-level
 *   splitting of the framing (down to 1-byte writes).
 * - Replays of recorded data read in place through `Recordings`: {@link recordedChunks} (`*.chunks.txt`),
 *   {@link recordedSse} (raw SSE files) and {@link recordedInteraction} (go-vcr cassettes, status and headers
 *   included).
 * - {@link Recorder}: what the client sent (URL, method, headers, JSON body), how many calls, and whether a call
 *   was aborted by the client (for "abort reaches the upstream" assertions).
 * - {@link chatCompletions}: a handler for `POST {baseURL}/chat/completions` answering with a function of the call.
 *
 * Servers must be started with `onUnhandledFrame: "error"` (msw 3; msw 2's name for that option is silently
 * ignored and lets requests reach the network).
 *
 * @since 0.1.0
 */
import { HttpResponse, http } from "msw"
import * as Recordings from "./Recordings.js"

/**
 * Options of {@link sse}.
 *
 * - `done`: append `data: [DONE]` (default true).
 * - `firstDelayMs` / `delayMs`: wait before the first event / between events.
 * - `stallAfter`: after this many events, stop writing but keep the connection open until the client aborts.
 * - `disconnectAfter`: after this many events, fail the body (a dropped connection).
 * - `splitBytes`: write the framing in pieces of this many bytes (1 = byte by byte).
 * - `headers`, `status`.
 * - `onCancel`: called when the client cancels the body (it stopped reading or aborted).
 *
 * @since 0.1.0
 */
export interface SseOptions {
  readonly done?: boolean | undefined
  readonly firstDelayMs?: number | undefined
  readonly delayMs?: number | undefined
  readonly stallAfter?: number | undefined
  readonly disconnectAfter?: number | undefined
  readonly splitBytes?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly status?: number | undefined
  readonly onCancel?: (() => void) | undefined
}

const sleep = (ms: number | undefined) =>
  ms === undefined || ms <= 0 ? Promise.resolve() : new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * The SSE framing of a list of events: each event's data (a string as is, anything else JSON-encoded) as
 * `data: ...\n\n`.
 *
 * @since 0.1.0
 */
export const frame = (events: ReadonlyArray<unknown>, done = true): string =>
  [...events.map((event) => (typeof event === "string" ? event : JSON.stringify(event))), ...(done ? ["[DONE]"] : [])]
    .map((data) => `data: ${data}\n\n`)
    .join("")

/**
 * A `text/event-stream` response streaming `events` (strings are sent as the data verbatim, so `"[DONE]"` can be
 * placed explicitly; objects are JSON-encoded).
 *
 * @since 0.1.0
 */
export const sse = (events: ReadonlyArray<unknown>, options: SseOptions = {}): Response => {
  const encoder = new TextEncoder()
  const payloads = events.map((event) => (typeof event === "string" ? event : JSON.stringify(event)))
  if (options.done !== false && payloads[payloads.length - 1] !== "[DONE]") payloads.push("[DONE]")
  let cancelled = false
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        await sleep(options.firstDelayMs)
        for (const [index, data] of payloads.entries()) {
          if (cancelled) return
          if (options.stallAfter !== undefined && index >= options.stallAfter) return // keep the connection open
          if (options.disconnectAfter !== undefined && index >= options.disconnectAfter) {
            // let the events already written reach the client first, as on a real connection
            await sleep(Math.max(options.delayMs ?? 0, 20))
            controller.error(new Error("upstream connection reset"))
            return
          }
          if (index > 0) await sleep(options.delayMs)
          const bytes = encoder.encode(`data: ${data}\n\n`)
          const step = options.splitBytes ?? bytes.length
          for (let offset = 0; offset < bytes.length; offset += step) {
            if (cancelled) return
            controller.enqueue(bytes.subarray(offset, offset + step))
          }
        }
        // with `stallAfter` the connection stays open even when every event was written (stallAfter >= events)
        if (options.stallAfter === undefined) controller.close()
      } catch {
        // the client went away while we were writing
      }
    },
    cancel() {
      cancelled = true
      options.onCancel?.()
    }
  })
  return new HttpResponse(body, {
    status: options.status ?? 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      // chunked like real SSE servers: a close-delimited body makes undici treat the socket close after an abort
      // as "message complete" and trip an internal assertion
      "transfer-encoding": "chunked",
      ...(options.headers ?? {})
    }
  })
}

/**
 * A JSON response.
 *
 * @since 0.1.0
 */
export const json = (
  body: unknown,
  options: { readonly status?: number; readonly headers?: Readonly<Record<string, string>> } = {}
): Response =>
  HttpResponse.json(body as never, { status: options.status ?? 200, headers: { ...(options.headers ?? {}) } })

/**
 * An error response: `body` is JSON-encoded unless it is a string (sent verbatim, e.g. an HTML gateway page, with
 * `content-type: text/html` unless headers say otherwise).
 *
 * @since 0.1.0
 */
export const error = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Response =>
  typeof body === "string"
    ? new HttpResponse(body, { status, headers: { "content-type": "text/html", ...headers } })
    : HttpResponse.json(body as never, { status, headers: { ...headers } })

// =============================================================================
// Recordings
// =============================================================================

/**
 * A stream replaying a Vercel-style `*.chunks.txt` recording (one JSON chunk per line, framing stripped), framed
 * again as SSE with `[DONE]`.
 *
 * @since 0.1.0
 */
export const recordedChunks = (relative: string, options: SseOptions = {}): Response =>
  sse(Recordings.readChunks(relative), options)

/**
 * A stream replaying a raw SSE recording's data payloads as recorded (a trailing `[DONE]` only if the recording
 * has one, unless `options.done` says otherwise).
 *
 * @since 0.1.0
 */
export const recordedSse = (relative: string, options: SseOptions = {}): Response => {
  const payloads = Recordings.readSse(relative)
  const hasDone = payloads[payloads.length - 1] === "[DONE]"
  return sse(payloads, { ...options, done: options.done ?? hasDone })
}

/**
 * The response of interaction `index` of a go-vcr cassette, with its recorded status and content type.
 *
 * @since 0.1.0
 */
export const recordedInteraction = (relative: string, index = 0, options: SseOptions = {}): Response => {
  const cassette = Recordings.readCassette(relative)
  const interaction = cassette.interactions[index]
  if (interaction === undefined) throw new Error(`${relative} has no interaction ${index}`)
  const { response } = interaction
  if (response.sse !== undefined) {
    const hasDone = response.sse[response.sse.length - 1] === "[DONE]"
    return sse(response.sse, { ...options, done: options.done ?? hasDone, status: response.status })
  }
  return new HttpResponse(response.body, {
    status: response.status,
    headers: { "content-type": response.headers["content-type"] ?? "application/json" }
  })
}

// =============================================================================
// Recorder and handlers
// =============================================================================

/**
 * One request as the upstream saw it.
 *
 * @since 0.1.0
 */
export interface RecordedCall {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: unknown
  /** Set when the client aborted the request (signal) or cancelled the response body. */
  aborted: boolean
  abortedAt: number | undefined
}

/**
 * Records every call a handler receives.
 *
 * @since 0.1.0
 */
export class Recorder {
  readonly calls: Array<RecordedCall> = []

  /** Number of calls so far. */
  get count(): number {
    return this.calls.length
  }

  /** The last call (throws when there is none). */
  last(): RecordedCall {
    const call = this.calls[this.calls.length - 1]
    if (call === undefined) throw new Error("no request was recorded")
    return call
  }

  /** Forgets every call. */
  reset(): void {
    this.calls.length = 0
  }

  /** Records `request` (its body is read from a clone) and returns the record. */
  async record(request: Request): Promise<RecordedCall> {
    const headers: Record<string, string> = {}
    request.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value
    })
    const text = await request.clone().text()
    let body: unknown = text
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      // not JSON (multipart uploads): keep the text
    }
    const call: RecordedCall = {
      url: request.url,
      method: request.method,
      headers,
      body,
      aborted: false,
      abortedAt: undefined
    }
    request.signal.addEventListener(
      "abort",
      () => {
        call.aborted = true
        call.abortedAt ??= performance.now()
      },
      { once: true }
    )
    this.calls.push(call)
    return call
  }
}

/**
 * What a chat-completions responder receives: the recorded call, its JSON body and its 0-based index among the
 * calls this handler has seen.
 *
 * @since 0.1.0
 */
export interface ChatCall {
  readonly call: RecordedCall
  readonly body: Record<string, unknown>
  readonly index: number
  /** Marks the call as aborted (pass to `sse({ onCancel })`). */
  readonly onCancel: () => void
}

/**
 * A handler for `POST {baseURL}/chat/completions`. `respond` decides per call; calls are recorded in `recorder`.
 *
 * @since 0.1.0
 */
export const chatCompletions = (
  baseURL: string,
  respond: (call: ChatCall) => Response | Promise<Response>,
  recorder: Recorder = new Recorder()
) =>
  http.post(`${baseURL.replace(/\/$/, "")}/chat/completions`, async ({ request }) => {
    const call = await recorder.record(request)
    const body = (call.body ?? {}) as Record<string, unknown>
    return respond({
      call,
      body,
      index: recorder.count - 1,
      onCancel: () => {
        call.aborted = true
        call.abortedAt ??= performance.now()
      }
    })
  })
