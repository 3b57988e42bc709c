/**
 * The OpenAI-compatible transport: one `openai` SDK instance per provider configuration, wrapped as an Effect
 * service.
 *
 * - SDK retries are off (`maxRetries: 0`): exactly one layer retries, and it is Conduit's `RetryPolicy`.
 * - Every call gets an `AbortSignal` tied to the calling fiber: interrupting the fiber (a timeout, a client that
 *   went away) aborts the HTTP request.
 * - Errors go through the provider's `ErrorTable` into `effect/ai` `AiError`s (see `ProviderError`).
 * - Streaming reads the SSE body itself (pull-based, so a slow consumer back-pressures the socket) and enforces
 *   what the SDK does not: a first-token timeout (from the request start to the first chunk that carries a token:
 *   text, reasoning, a tool-call fragment or a finish reason; a role-only opening chunk does not count), an idle
 *   timeout between data events (keep-alive comments do not reset it), an absolute deadline, and the rule that a
 *   stream ending without `data: [DONE]` and without a finish reason is a `truncated-stream` failure, never a short
 *   answer.
 * - Chunks are checked against `ChatCompletions.ChatCompletionChunk` (by `ChatCompletions.isChatCompletionChunk`, a
 *   written-out guard a property test holds equal to the Schema); an error frame inside a 200 stream
 *   (`{"error":{...}}`, or `event: error`) is classified by the same table.
 *
 * Sources: openai-node 7 (`client.ts` `makeStatusError`, `APIPromise.asResponse`); ../shared/TOOLCHAIN.md pitfalls 6
 * and 7; docs/providers/kimi.md#streaming ("until you receive data: [DONE] the message should be considered
 * incomplete").
 *
 * @since 0.1.0
 */
import { Cause, Clock, Context, Effect, Layer, Redacted, Schema, type Scope, Stream } from "effect"
import { AiError } from "effect/ai"
import OpenAI, { APIConnectionError } from "openai"
import * as ChatCompletions from "./ChatCompletions.js"
import * as CompletionAssembly from "./CompletionAssembly.js"
import * as ChatStreamReading from "./internal/chatStream.js"
import * as NodeFetch from "./NodeFetch.js"
import * as ProviderError from "./ProviderError.js"
import * as Sse from "./Sse.js"

// =============================================================================
// Configuration
// =============================================================================

/**
 * How to reach one provider.
 *
 * - `provider`: short name used in errors and metadata (`"kimi"`, `"glm"`).
 * - `apiKey`: a `Redacted` key, or an effect producing one per request (Zhipu JWT mode). Never logged.
 * - `baseURL`: e.g. `https://api.moonshot.ai/v1`.
 * - `headers`: extra headers on every request (e.g. `User-Agent`).
 * - `fetch`: a custom `fetch` (tests, proxies); default `NodeFetch.defaultFetch` (`node:http` while the global
 *   `fetch` is Node's own, else the global `fetch`).
 * - `errorTable`: the provider's wire-error classification.
 * - `requestIdHeaders`: response headers carrying the provider's request id, in order of preference.
 *
 * @since 0.1.0
 */
export interface ClientConfig {
  readonly provider: string
  readonly apiKey: Redacted.Redacted<string> | Effect.Effect<Redacted.Redacted<string>, AiError.AiError>
  readonly baseURL: string
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly fetch?: typeof globalThis.fetch | undefined
  readonly errorTable: ProviderError.ErrorTable
  readonly requestIdHeaders?: ReadonlyArray<string> | undefined
  /**
   * The response's `id` is the provider's request id (Zhipu: `id == request_id`, and stream chunks carry only `id`);
   * used when no request-id header or `request_id` field is present.
   */
  readonly responseIdIsRequestId?: boolean | undefined
}

/**
 * Per-attempt stream limits, in ms (`undefined`: no limit). `deadline` is an absolute time (Clock ms) by which the
 * whole call must be done (the total timeout spans retries, so the caller computes it once).
 *
 * @since 0.1.0
 */
export interface StreamLimits {
  readonly firstTokenMs?: number | undefined
  readonly idleMs?: number | undefined
  readonly deadline?: { readonly at: number; readonly totalMs: number } | undefined
  /**
   * The caller buffers the whole answer (a non-stream call assembled from the stream, `CompletionAssembly`): nothing
   * reached its caller yet, so an idle timeout is retryable too.
   */
  readonly buffered?: boolean | undefined
}

/**
 * A decoded body with the response's headers (lower-case keys) and the provider's request id.
 *
 * @since 0.1.0
 */
export interface WithHeaders<A> {
  readonly body: A
  readonly headers: Readonly<Record<string, string>>
  readonly requestId: string | undefined
}

/**
 * An open chat stream: the response headers, the request id (from headers, else the body's `request_id` once a
 * chunk carried one) and the chunks. Consume `chunks` inside the scope that opened it.
 *
 * @since 0.1.0
 */
export interface ChatStream {
  readonly headers: Readonly<Record<string, string>>
  readonly requestId: () => string | undefined
  readonly chunks: Stream.Stream<ChatCompletions.ChatCompletionChunk, AiError.AiError>
}

/**
 * A provider-specific request through the same SDK instance (files, caching, tokenizers, balance).
 *
 * - `responseType`: `"json"` (default; decoded with `schema` when given), `"text"` or `"bytes"`.
 * - `body` is a JSON value; for multipart uploads use {@link OpenAiCompatClientShape.use} with the SDK's helpers
 *   (e.g. `sdk.files.create({ file: await toFile(...), purpose })`).
 *
 * @since 0.1.0
 */
export interface RequestOptions<A> {
  readonly method: "get" | "post" | "put" | "patch" | "delete"
  readonly path: string
  readonly body?: unknown
  readonly query?: Readonly<Record<string, unknown>> | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly schema?: Schema.Decoder<A> | undefined
  readonly responseType?: "json" | "text" | "bytes" | undefined
}

/**
 * The transport service.
 *
 * - `createChatCompletion`: non-streaming; fails with `AiError`. Optional per-request `headers` on both chat calls.
 * - `streamChatCompletion`: opens a stream in the caller's scope; the returned `chunks` fail with `AiError`
 *   (including timeouts and truncation).
 * - `assembleChatCompletion`: a non-stream answer made in streaming mode, so that the attempt has the stream's
 *   first-token and idle bounds: the request is sent with `stream: true`, its chunks are guarded as a stream's are and
 *   assembled into a `ChatCompletion` (`CompletionAssembly.assemble`); fails as `streamChatCompletion`'s chunks do (a
 *   stream cut before its finish chunk or `[DONE]` is a `truncated-stream` error, never a short answer).
 * - `request`: any other endpoint.
 * - `use`: escape hatch to the SDK instance with abort and error mapping.
 *
 * @since 0.1.0
 */
export interface OpenAiCompatClientShape {
  readonly config: ClientConfig
  readonly createChatCompletion: (
    request: ChatCompletions.WireRequest,
    headers?: Readonly<Record<string, string>>
  ) => Effect.Effect<WithHeaders<ChatCompletions.ChatCompletion>, AiError.AiError>
  readonly streamChatCompletion: (
    request: ChatCompletions.WireRequest,
    limits?: StreamLimits,
    headers?: Readonly<Record<string, string>>
  ) => Effect.Effect<ChatStream, AiError.AiError, Scope.Scope>
  readonly assembleChatCompletion: (
    request: ChatCompletions.WireRequest,
    limits?: StreamLimits,
    headers?: Readonly<Record<string, string>>
  ) => Effect.Effect<WithHeaders<ChatCompletions.ChatCompletion>, AiError.AiError>
  readonly request: <A = unknown>(options: RequestOptions<A>) => Effect.Effect<WithHeaders<A>, AiError.AiError>
  readonly use: <A>(
    method: string,
    f: (sdk: OpenAI, options: { readonly signal: AbortSignal }) => Promise<A>,
    path?: string
  ) => Effect.Effect<A, AiError.AiError>
}

/**
 * The transport service tag. Providers wrap it in their own client service (`KimiClient`, `GlmClient`).
 *
 * @since 0.1.0
 */
export class OpenAiCompatClient extends Context.Service<OpenAiCompatClient, OpenAiCompatClientShape>()(
  "@conduitkit/core/OpenAiCompatClient"
) {}

// =============================================================================
// Implementation
// =============================================================================

/** An SDK instance that keeps the raw error body (HTML 504 pages, envelopes without `error`). */
class ConduitOpenAI extends OpenAI {
  protected override makeStatusError(
    status: number,
    error: object,
    message: string | undefined,
    headers: Headers
  ): InstanceType<typeof OpenAI.APIError> {
    const made = super.makeStatusError(status, error, message, headers)
    Object.defineProperty(made, ProviderError.rawBodyKey, {
      value: error !== undefined && error !== null ? error : message,
      enumerable: false
    })
    return made
  }
}

// Chunks and bodies are validated against the schemas' declared fields (nested objects fully) and the original
// objects are kept, so unknown fields pass through untouched and no copy is made per chunk. Checking the top-level
// rest record of every chunk costs as much again as everything else (4.7 µs vs 8.2 µs per chunk, bench/core).
const decodeCompletion = Schema.decodeUnknownEffect(ChatCompletions.ChatCompletion)
const invalidResponse = (provider: string, method: string, description: string, requestId?: string) =>
  AiError.make({
    module: "OpenAiCompatClient",
    method,
    reason: new AiError.InvalidResponseError({
      description,
      metadata: { conduit: { kind: "invalid-response", provider, ...(requestId ? { requestId } : {}) } }
    })
  })

/**
 * Builds the service from a config.
 *
 * @since 0.1.0
 */
export const make = (config: ClientConfig): OpenAiCompatClientShape => {
  const provider = config.provider
  const apiKey: Effect.Effect<Redacted.Redacted<string>, AiError.AiError> = Redacted.isRedacted(config.apiKey)
    ? Effect.succeed(config.apiKey)
    : config.apiKey
  const sdk = new ConduitOpenAI({
    apiKey: "unused", // replaced per request by the Authorization header below
    baseURL: config.baseURL,
    maxRetries: 0,
    timeout: 30 * 60 * 1000, // Conduit's TimeoutPolicy bounds calls; this only bounds the wait for headers
    defaultHeaders: config.headers ?? {},
    logLevel: "off",
    // Resolved per call, not captured here, so a fetch patched later (MSW, instrumentation) is honoured; while the
    // global fetch is Node's own, NodeFetch sends the request on node:http (less CPU per call, same semantics).
    fetch: (input, init) => (config.fetch ?? NodeFetch.defaultFetch)(input, init)
  })
  const target = (path: string, method = "POST", clientRequestId?: string): ProviderError.RequestTarget => ({
    provider,
    method,
    url: `${config.baseURL.replace(/\/$/, "")}${path}`,
    requestIdHeaders: config.requestIdHeaders,
    ...(clientRequestId !== undefined ? { clientRequestId } : {})
  })
  /** An error sent with HTTP 200 in a stream's body (an `error` event or an error body), through the error table. */
  const errorIn200 = (json: unknown, headers: Readonly<Record<string, string>>, requestId: string | undefined) => {
    const info = ProviderError.errorInfo({ target: target("/chat/completions"), status: 200, headers, body: json })
    const rule = config.errorTable(info) ?? { reason: "InternalProviderError" as const }
    return AiError.make({
      module: "OpenAiCompatClient",
      method: "streamChatCompletion",
      reason: ProviderError.reasonFromRule(rule, { ...info, requestId: info.requestId ?? requestId })
    })
  }
  const clientRequestIdOf = (request: ChatCompletions.WireRequest): string | undefined =>
    typeof request.request_id === "string" ? request.request_id : undefined
  const responseRequestId = (headers: Readonly<Record<string, string>>, body: unknown): string | undefined =>
    ProviderError.requestIdFrom(headers, config.requestIdHeaders, body) ??
    (config.responseIdIsRequestId && typeof (body as { id?: unknown } | undefined)?.id === "string"
      ? ((body as { id: string }).id as string)
      : undefined)
  const authHeaders = Effect.map(apiKey, (key) => ({ Authorization: `Bearer ${Redacted.value(key)}` }))

  /** `method` names the operation in errors; `httpMethod` and `path` are what the error's target shows. */
  const call = <A>(
    method: string,
    httpMethod: string,
    path: string,
    f: (options: { readonly signal: AbortSignal; readonly headers: Record<string, string> }) => Promise<A>,
    clientRequestId?: string
  ): Effect.Effect<A, AiError.AiError> =>
    Effect.flatMap(authHeaders, (headers) =>
      Effect.tryPromise({
        try: (signal) => f({ signal, headers }),
        catch: (error) =>
          ProviderError.fromSdkError(error, {
            target: target(path, httpMethod, clientRequestId),
            table: config.errorTable,
            module: "OpenAiCompatClient",
            method
          })
      })
    )

  /**
   * A response's whole body as text. A connection that fails while the body is read (a reset mid-body) is a
   * retryable `NetworkError`, as one that fails before the headers is: the caller has received nothing yet.
   */
  const readText = (response: Response): Promise<string> =>
    response.text().catch((cause: unknown) => {
      throw new APIConnectionError({
        message: `the response body was cut off${cause instanceof Error ? `: ${cause.message}` : ""}`,
        cause: cause instanceof Error ? cause : undefined
      })
    })
  const readBody = (response: Response, method = "createChatCompletion") =>
    call(method, "POST", "/chat/completions", () => readText(response))

  /** A JSON answer to a stream request as one chunk (its message as the delta), or the error its body carries. */
  const jsonAnswerAsChunk = (
    text: string,
    requestId: string | undefined
  ): ChatCompletions.ChatCompletionChunk | AiError.AiError => {
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return invalidResponse(
        provider,
        "streamChatCompletion",
        "a JSON answer to a stream request is not JSON",
        requestId
      )
    }
    if (ChatStreamReading.isErrorBody(json)) return errorIn200(json, {}, requestId)
    if (!ChatCompletions.isChatCompletion(json)) {
      return invalidResponse(
        provider,
        "streamChatCompletion",
        `a JSON answer to a stream request does not decode: ${ChatStreamReading.describeInvalid(ChatCompletions.ChatCompletion, json)}`,
        requestId
      )
    }
    const { choices, ...rest } = json as unknown as ChatCompletions.ChatCompletion
    return {
      ...rest,
      choices: choices.map(({ message, ...choice }) => ({ ...choice, delta: message ?? {} }))
    } as ChatCompletions.ChatCompletionChunk
  }

  const createChatCompletion = (
    request: ChatCompletions.WireRequest,
    extraHeaders?: Readonly<Record<string, string>>
  ) =>
    call(
      "createChatCompletion",
      "POST",
      "/chat/completions",
      ({ signal, headers }) =>
        sdk.chat.completions
          .create(
            { ...(request as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming), stream: false },
            { signal, headers: { ...extraHeaders, ...headers } }
          )
          .asResponse(),
      clientRequestIdOf(request)
    ).pipe(
      Effect.flatMap((response) =>
        Effect.map(readBody(response), (text) => ({ text, headers: ProviderError.headersToRecord(response.headers) }))
      ),
      Effect.flatMap(({ text, headers: responseHeaders }) => {
        let data: unknown
        try {
          data = JSON.parse(text)
        } catch {
          return Effect.fail(
            invalidResponse(
              provider,
              "createChatCompletion",
              `the response body is not JSON: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`,
              ProviderError.requestIdFrom(responseHeaders, config.requestIdHeaders)
            )
          )
        }
        const validated: Effect.Effect<ChatCompletions.ChatCompletion, Schema.SchemaError> =
          ChatCompletions.isChatCompletion(data)
            ? Effect.succeed(data as unknown as ChatCompletions.ChatCompletion)
            : decodeCompletion(data)
        return validated.pipe(
          Effect.mapError((error) =>
            invalidResponse(provider, "createChatCompletion", `the response body does not decode: ${error.message}`)
          ),
          Effect.map((body) => ({
            body,
            headers: responseHeaders,
            requestId: responseRequestId(responseHeaders, body)
          }))
        )
      })
    )

  /** Sends a chat request in streaming mode (`stream: true`) and resolves with the response once its headers came. */
  const openStream = (
    request: ChatCompletions.WireRequest,
    headers: Record<string, string>,
    signal: AbortSignal
  ): Promise<Response> =>
    sdk.chat.completions
      .create({ ...request, stream: true } as unknown as OpenAI.ChatCompletionCreateParamsStreaming, {
        signal,
        headers
      })
      .asResponse()

  const guardContext = (headers: Readonly<Record<string, string>>): ChatStreamReading.GuardContext => ({
    headers,
    errorIn200,
    invalid: (description, requestId) => invalidResponse(provider, "streamChatCompletion", description, requestId),
    chunkRequestId: (chunk) => responseRequestId({}, chunk)
  })
  const headerTimeout = (limit: ChatStreamReading.Limit) =>
    ProviderError.timeout({ kind: limit.kind, limitMs: limit.limitMs, provider })
  const readTimeout = (limit: ChatStreamReading.Limit, limits: StreamLimits, state: ChatStreamReading.StreamState) =>
    ProviderError.timeout({
      kind: limit.kind,
      limitMs: limit.limitMs,
      provider,
      requestId: state.requestId,
      chunkCount: state.chunkCount,
      ...(limits.buffered && limit.kind === "idle" ? { retryable: true } : {})
    })
  const truncated = (state: ChatStreamReading.StreamState, detail?: string) =>
    ProviderError.truncatedStream({
      provider,
      chunkCount: state.chunkCount,
      requestId: state.requestId,
      detail
    })
  const connectionFailed = (state: ChatStreamReading.StreamState, failure: unknown) =>
    truncated(state, `the connection failed: ${failure instanceof Error ? failure.message : String(failure)}`)
  const malformed = (state: ChatStreamReading.StreamState, error: unknown) =>
    invalidResponse(
      provider,
      "streamChatCompletion",
      `the event stream is malformed: ${error instanceof Error ? error.message : String(error)}`,
      state.requestId
    )
  const noBody = (state: ChatStreamReading.StreamState) =>
    invalidResponse(provider, "streamChatCompletion", "the stream response has no body", state.requestId)
  /**
   * Takes one wait for the body into `state` and `out` (the batch's chunks); returns the error that ends the stream,
   * if any. A connection that fails after the finish chunk ends the stream (the answer is whole); one that fails
   * before it, or a body that ends without a finish chunk or `[DONE]`, is a truncated stream.
   */
  const takeBatch = (
    outcome: ChatStreamReading.Outcome<ChatStreamReading.Batch>,
    limit: ChatStreamReading.Limit | undefined,
    limits: StreamLimits,
    state: ChatStreamReading.StreamState,
    context: ChatStreamReading.GuardContext,
    out: Array<ChatCompletions.ChatCompletionChunk>
  ): AiError.AiError | undefined => {
    if (outcome._tag === "Failure") {
      if (!state.sawFinish) return connectionFailed(state, outcome.error)
      state.ended = true
      return undefined
    }
    const batch = outcome.value
    if (batch === ChatStreamReading.timedOut) return readTimeout(limit!, limits, state)
    if (batch._tag === "Malformed") return malformed(state, batch.error)
    const error = ChatStreamReading.guardEvents(batch.events, state, context, out)
    if (error !== undefined) return error
    if (ChatStreamReading.isTruncated(state)) {
      return truncated(state, batch.truncatedLine ? "the last event was cut off mid-line" : undefined)
    }
    return undefined
  }

  const streamChatCompletion = (
    request: ChatCompletions.WireRequest,
    limits: StreamLimits = {},
    extraHeaders?: Readonly<Record<string, string>>
  ) =>
    Effect.gen(function* () {
      const clock = yield* Clock.Clock
      const startedAt = clock.currentTimeMillisUnsafe()
      const controller = new AbortController()
      const state = ChatStreamReading.newState(clientRequestIdOf(request))
      // Abort the request unless its body was read to the end (aborting costs a DOMException per stream).
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (!state.ended) controller.abort()
        })
      )
      // The first-token limit and the deadline also bound the wait for headers.
      const headerLimit = ChatStreamReading.limitFor(limits, startedAt, startedAt, false, startedAt)
      const opened = yield* call(
        "streamChatCompletion",
        "POST",
        "/chat/completions",
        ({ signal, headers }) => {
          signal.addEventListener("abort", () => controller.abort(), { once: true })
          return ChatStreamReading.withinSignal(
            () => openStream(request, { ...extraHeaders, ...headers }, controller.signal),
            headerLimit,
            signal
          )
        },
        clientRequestIdOf(request)
      )
      if (opened === ChatStreamReading.timedOut) return yield* headerTimeout(headerLimit!)
      const response = opened
      const headers = ProviderError.headersToRecord(response.headers)
      state.requestId = ProviderError.requestIdFrom(headers, config.requestIdHeaders) ?? state.requestId
      if (isJsonResponse(headers)) {
        // an upstream (or a proxy before it) that ignores `stream: true` answers with the whole completion
        state.ended = true
        const chunk = readBody(response, "streamChatCompletion").pipe(
          Effect.flatMap((text) => {
            const chunk = jsonAnswerAsChunk(text, state.requestId)
            if (AiError.isAiError(chunk)) return Effect.fail(chunk)
            state.requestId ??= responseRequestId(headers, chunk)
            return Effect.succeed(chunk)
          })
        )
        const single: ChatStream = { headers, requestId: () => state.requestId, chunks: Stream.fromEffect(chunk) }
        return single
      }
      const reader = response.body?.getReader()
      if (reader === undefined) return yield* noBody(state)
      yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel().catch(() => undefined)))

      const decoder = Sse.makeDecoder()
      const context = guardContext(headers)
      let lastDataAt = startedAt

      const pull: Effect.Effect<
        readonly [ChatCompletions.ChatCompletionChunk, ...Array<ChatCompletions.ChatCompletionChunk>],
        AiError.AiError | Cause.Done
      > = Effect.suspend(() => {
        if (state.ended || state.sawDone) {
          state.ended = true
          return Cause.done()
        }
        const limit = ChatStreamReading.limitFor(
          limits,
          startedAt,
          lastDataAt,
          state.sawToken,
          clock.currentTimeMillisUnsafe()
        )
        // One Effect step and one timer per batch of events, however finely the bytes are split. No AbortController
        // per read (`Effect.callback`, not `Effect.tryPromise` with a signal): a read that was interrupted (the
        // consumer gone) or timed out stops at its next chunk.
        return Effect.flatMap(
          Effect.callback<ChatStreamReading.Outcome<ChatStreamReading.Batch>>((resume) =>
            Effect.sync(
              ChatStreamReading.within(
                (stop) => ChatStreamReading.readBatch(reader, decoder, state, stop),
                limit,
                (outcome) => resume(Effect.succeed(outcome))
              )
            )
          ),
          (outcome) => {
            const chunks: Array<ChatCompletions.ChatCompletionChunk> = []
            const error = takeBatch(outcome, limit, limits, state, context, chunks)
            if (error !== undefined) return Effect.fail(error)
            if (chunks.length === 0) return pull
            lastDataAt = clock.currentTimeMillisUnsafe()
            return Effect.succeed(
              chunks as unknown as readonly [
                ChatCompletions.ChatCompletionChunk,
                ...Array<ChatCompletions.ChatCompletionChunk>
              ]
            )
          }
        )
      })

      const chatStream: ChatStream = {
        headers,
        requestId: () => state.requestId,
        chunks: Stream.fromPull(Effect.succeed(pull))
      }
      return chatStream
    })

  /**
   * An event-stream body read to its end in one promise loop, each wait under the tightest bound (`limitFor`), each
   * batch taken by `takeBatch`: the chunks of a whole answer, or the error that ended the stream.
   */
  const readToEnd = async (
    reader: ReadableStreamDefaultReader<Uint8Array>,
    context: ChatStreamReading.GuardContext,
    state: ChatStreamReading.StreamState,
    limits: StreamLimits,
    startedAt: number,
    clock: Clock.Clock,
    signal: AbortSignal
  ): Promise<Array<ChatCompletions.ChatCompletionChunk>> => {
    const decoder = Sse.makeDecoder()
    const chunks: Array<ChatCompletions.ChatCompletionChunk> = []
    let lastDataAt = startedAt
    while (!state.ended && !state.sawDone) {
      const limit = ChatStreamReading.limitFor(
        limits,
        startedAt,
        lastDataAt,
        state.sawToken,
        clock.currentTimeMillisUnsafe()
      )
      let outcome: ChatStreamReading.Outcome<ChatStreamReading.Batch>
      try {
        const value = await ChatStreamReading.withinSignal(
          (stop) => ChatStreamReading.readBatch(reader, decoder, state, stop),
          limit,
          signal
        )
        outcome = { _tag: "Success", value }
      } catch (error) {
        if (signal.aborted) throw error
        outcome = { _tag: "Failure", error }
      }
      const before = chunks.length
      const error = takeBatch(outcome, limit, limits, state, context, chunks)
      if (error !== undefined) throw error
      if (chunks.length > before) lastDataAt = clock.currentTimeMillisUnsafe()
    }
    state.ended = true
    return chunks
  }

  /**
   * The non-stream answer of a request sent in streaming mode: its body read to the end in one promise loop under the
   * per-attempt bounds (one timer per read, no Effect step or stream per batch), each chunk guarded as a stream's
   * are, then assembled (`CompletionAssembly.assemble`).
   */
  const assembleChatCompletion = (
    request: ChatCompletions.WireRequest,
    limits: StreamLimits = {},
    extraHeaders?: Readonly<Record<string, string>>
  ): Effect.Effect<WithHeaders<ChatCompletions.ChatCompletion>, AiError.AiError> =>
    Effect.flatMap(authHeaders, (auth) =>
      Clock.clockWith((clock) =>
        Effect.tryPromise({
          try: async (signal: AbortSignal) => {
            const startedAt = clock.currentTimeMillisUnsafe()
            const controller = new AbortController()
            const abort = () => controller.abort()
            signal.addEventListener("abort", abort, { once: true })
            const state = ChatStreamReading.newState(clientRequestIdOf(request))
            let reader: ReadableStreamDefaultReader<Uint8Array> | undefined
            try {
              const headerLimit = ChatStreamReading.limitFor(limits, startedAt, startedAt, false, startedAt)
              const response = await ChatStreamReading.withinSignal(
                () => openStream(request, { ...extraHeaders, ...auth }, controller.signal),
                headerLimit,
                signal
              )
              if (response === ChatStreamReading.timedOut) throw headerTimeout(headerLimit!)
              const headers = ProviderError.headersToRecord(response.headers)
              state.requestId = ProviderError.requestIdFrom(headers, config.requestIdHeaders) ?? state.requestId
              let chunks: Array<ChatCompletions.ChatCompletionChunk>
              if (isJsonResponse(headers)) {
                // an upstream (or a proxy before it) that ignores `stream: true` answers with the whole completion
                state.ended = true
                const chunk = jsonAnswerAsChunk(await readText(response), state.requestId)
                if (AiError.isAiError(chunk)) throw chunk
                state.requestId ??= responseRequestId(headers, chunk)
                chunks = [chunk]
              } else {
                reader = response.body?.getReader()
                if (reader === undefined) throw noBody(state)
                chunks = await readToEnd(reader, guardContext(headers), state, limits, startedAt, clock, signal)
              }
              return { body: CompletionAssembly.assemble(chunks), headers, requestId: state.requestId }
            } finally {
              signal.removeEventListener("abort", abort)
              void reader?.cancel().catch(() => undefined)
              if (!state.ended) controller.abort()
            }
          },
          catch: (error) =>
            AiError.isAiError(error)
              ? error
              : ProviderError.fromSdkError(error, {
                  target: target("/chat/completions", "POST", clientRequestIdOf(request)),
                  table: config.errorTable,
                  module: "OpenAiCompatClient",
                  method: "streamChatCompletion"
                })
        })
      )
    )

  const request = <A>(options: RequestOptions<A>) =>
    call(
      `request ${options.method.toUpperCase()} ${options.path}`,
      options.method.toUpperCase(),
      options.path,
      async ({ signal, headers }) => {
        const sdkOptions = {
          ...(options.body !== undefined ? { body: options.body } : {}),
          ...(options.query !== undefined ? { query: options.query } : {}),
          headers: { ...headers, ...(options.headers ?? {}) },
          signal,
          ...(options.responseType === "text" || options.responseType === "bytes" ? { __binaryResponse: true } : {})
        }
        const { data, response } = await sdk[options.method](options.path, sdkOptions as never).withResponse()
        let body: unknown = data
        if (options.responseType === "text") body = await (data as unknown as Response).text()
        if (options.responseType === "bytes") body = new Uint8Array(await (data as unknown as Response).arrayBuffer())
        return { body, headers: ProviderError.headersToRecord(response.headers) }
      }
    ).pipe(
      Effect.flatMap(({ body, headers }) => {
        const requestId = ProviderError.requestIdFrom(headers, config.requestIdHeaders, body)
        if (options.schema === undefined) return Effect.succeed({ body: body as A, headers, requestId })
        return Schema.decodeUnknownEffect(options.schema)(body).pipe(
          Effect.mapError((error) =>
            invalidResponse(
              provider,
              `request ${options.path}`,
              `the response does not decode: ${error.message}`,
              requestId
            )
          ),
          Effect.map((decoded) => ({ body: decoded as A, headers, requestId }))
        )
      })
    )

  const use = <A>(
    method: string,
    f: (sdk: OpenAI, options: { readonly signal: AbortSignal }) => Promise<A>,
    path?: string
  ) =>
    Effect.flatMap(authHeaders, (headers) => {
      const withKey = sdk.withOptions({ defaultHeaders: { ...(config.headers ?? {}), ...headers } })
      return Effect.tryPromise({
        try: (signal) => f(withKey, { signal }),
        catch: (error) =>
          ProviderError.fromSdkError(error, {
            target: target(path ?? `/${method}`),
            table: config.errorTable,
            module: "OpenAiCompatClient",
            method
          })
      })
    })

  return {
    config,
    createChatCompletion,
    streamChatCompletion,
    assembleChatCompletion,
    request,
    use
  }
}

const isJsonResponse = (headers: Readonly<Record<string, string>>): boolean =>
  (headers["content-type"] ?? "").toLowerCase().includes("application/json")

/**
 * A layer from a config.
 *
 * @since 0.1.0
 */
export const layer = (config: ClientConfig): Layer.Layer<OpenAiCompatClient> =>
  Layer.succeed(OpenAiCompatClient, make(config))
