/**
 * MSW handlers that behave like Moonshot's API, for tests (yours and ours) and the demo's simulated mode.
 *
 * `KimiMock.make(options)` returns `{ handlers, state, recorder }`; `server.use(...mock.handlers)` (start the server
 * with `onUnhandledFrame: "error"`). Endpoints under `baseURL` (default `https://api.moonshot.ai/v1`):
 *
 * - every endpoint: the bearer check (no key → 401 `incorrect_api_key_error` "Incorrect API key provided"; another
 *   key → 401 `invalid_authentication_error`), an `msh-request-id` header; with `gate`, the Kimi Code
 *   `User-Agent` gate (403 `access_terminated_error`);
 * - `POST /chat/completions`: Moonshot's validations with its 400 bodies (unknown or retired model → 404; pinned
 *   sampling "invalid temperature: only 1 is allowed for this model"; more than 5 stop strings or one over 32 bytes
 *   (UTF-8); thinking disabled on
 *   a model that always thinks; `tool_choice` required/named with thinking on; an assistant tool-call turn without
 *   `reasoning_content` while thinking "thinking is enabled but reasoning_content is missing in assistant tool call
 *   message at index N" (`""` counts as missing); empty assistant messages), then an answer: `respond(call)` decides
 *   (a {@link KimiScenarios.Scenario}, a {@link KimiScenarios.WireError}, a `Response`, or `undefined` for the
 *   default), streamed with the usage inside `choices[0]` of the finish chunk and, when `stream_options.include_usage`
 *   is set, a trailing `choices: []` usage chunk. `$web_search` is simulated (a tool call whose arguments announce
 *   the search tokens, then an answer once the arguments are echoed back). A `role: "cache"` message or an
 *   `X-Msh-Context-Cache` header referencing a `ready` stored cache adds `msh-context-cache-id` and
 *   `msh-context-cache-token-saved` and applies `reset_ttl` (`expired_at` = now + value). A cache is `pending` for
 *   `cacheReadySeconds` after creation and `inactive` once `expired_at` has passed (`reset_ttl` re-activates it as
 *   `pending`); a cache message referencing a cache that is not `ready` is refused with a 400 (the cached prefix is
 *   not in the request; Moonshot's text for this case is not documented), a header reference is simply not used;
 * - `GET /models`: the catalog's active models with the 2026 live fields;
 * - `/files` (upload with Moonshot's size and purpose checks, list, retrieve, content, delete);
 * - `/caching` and `/caching/refs/tags` (create, list, get, update, delete; tags);
 * - `POST /tokenizers/estimate-token-count`, `GET /users/me/balance`.
 *
 * Every scenario body is authored data (see `KimiScenarios`); nothing here copies a recording.
 *
 * @since 0.1.0
 */
import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream, Twin } from "@conduitkit/core/testing"
import { type HttpHandler, HttpResponse, http } from "msw"
import * as KimiModels from "../KimiModels.js"
import * as KimiScenarios from "./KimiScenarios.js"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * A chat call as a responder sees it.
 *
 * @since 0.1.0
 */
export interface MockChatCall {
  readonly body: Json
  readonly headers: Readonly<Record<string, string>>
  /** 0-based index among the chat calls of this mock. */
  readonly index: number
  readonly model: KimiModels.KimiModelInfo | undefined
  /** Whether the model thinks on this call (from the catalog and `thinking`). */
  readonly thinking: boolean
  readonly streaming: boolean
}

/**
 * What a responder returns: a scenario, a wire error, a raw `Response`, or `undefined` for the default answer.
 *
 * @since 0.1.0
 */
export type MockReply = KimiScenarios.Scenario | KimiScenarios.WireError | Response | undefined

/**
 * A stored file of the mock.
 *
 * @since 0.1.0
 */
export interface StoredFile {
  readonly object: Json
  readonly text: string
}

/**
 * The mock's in-memory state (files, caches, tags), shared by its handlers and inspectable by tests.
 *
 * @since 0.1.0
 */
export interface MockState {
  readonly files: Map<string, StoredFile>
  readonly caches: Map<string, Json>
  readonly tags: Map<string, Json>
}

/**
 * Options of {@link make}.
 *
 * - `baseURL`: default `https://api.moonshot.ai/v1`.
 * - `apiKey`: the accepted key (default `"sk-test-kimi"`), or a predicate.
 * - `respond`: chooses the answer of a chat call (see {@link MockReply}).
 * - `validate`: run Moonshot's request validations (default true).
 * - `gate`: the Kimi Code `User-Agent` gate; requests whose `User-Agent` it does not admit get 403
 *   `access_terminated_error`.
 * - `extraModels`: more models served (beside the catalog's active ones).
 * - `serveRetired`: answer for models the catalog marks retired (default false: 404 like Moonshot).
 * - `extractFailures`: file names whose extraction fails (500 `extract task failed`).
 * - `nowSeconds`: the clock of cache expiries (default `Date.now()`).
 * - `cacheReadySeconds`: how long a created (or updated, or re-activated) cache stays `pending` before it is
 *   `ready` (default 0; Moonshot takes ~40–60 s, docs/providers/kimi.md#context-caching-api). The create response
 *   always says `pending`.
 * - `recorder`: records every request.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly baseURL?: string | undefined
  readonly apiKey?: string | ((key: string) => boolean) | undefined
  readonly respond?: ((call: MockChatCall) => MockReply | Promise<MockReply>) | undefined
  readonly validate?: boolean | undefined
  readonly gate?: { readonly admit: (userAgent: string | undefined) => boolean } | undefined
  readonly extraModels?: ReadonlyArray<KimiModels.KimiModelInfo> | undefined
  readonly serveRetired?: boolean | undefined
  readonly extractFailures?: ReadonlyArray<string> | undefined
  readonly nowSeconds?: (() => number) | undefined
  readonly cacheReadySeconds?: number | undefined
  readonly recorder?: MockUpstream.Recorder | undefined
}

/**
 * A mock: its handlers, state and recorder.
 *
 * @since 0.1.0
 */
export interface Mock {
  readonly handlers: ReadonlyArray<HttpHandler>
  readonly state: MockState
  readonly recorder: MockUpstream.Recorder
  readonly baseURL: string
}

let requestCounter = 0
const nextRequestId = () => {
  requestCounter++
  return `c0de${requestCounter.toString(16).padStart(4, "0")}-4dae-11ef-b237-9620e33511ee`
}

const errorResponse = (error: KimiScenarios.WireError, requestId: string) =>
  MockUpstream.error(error.status, error.body, { "msh-request-id": requestId, ...(error.headers ?? {}) })

const isWireError = (value: unknown): value is KimiScenarios.WireError =>
  isRecord(value) && typeof value.status === "number" && "body" in value && !("model" in value)

const thinkingOf = (model: KimiModels.KimiModelInfo | undefined, body: Json): boolean => {
  if (model === undefined) return false
  const thinking = body.thinking
  const type = isRecord(thinking) ? thinking.type : undefined
  if (model.capabilities.thinking === "none") return false
  if (model.capabilities.thinking === "always") return true
  return type === undefined ? model.kimi.thinkingDefault : type === "enabled"
}

/**
 * Moonshot's chat validations (pure): the first problem as Moonshot would answer it, or `undefined`.
 *
 * @since 0.1.0
 */
export const validateChat = (
  body: Json,
  model: KimiModels.KimiModelInfo | undefined,
  state?: MockState
): KimiScenarios.WireError | undefined => {
  const messages = Array.isArray(body.messages) ? body.messages : []
  if (messages.length === 0) return KimiScenarios.errors.invalidRequest("messages must not be empty")
  const thinking = thinkingOf(model, body)
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message) || message.role !== "assistant") continue
    const calls = Array.isArray(message.tool_calls) ? message.tool_calls : []
    const content = message.content
    const empty =
      content === undefined || content === null || content === "" || (Array.isArray(content) && content.length === 0)
    if (empty && calls.length === 0 && message.partial !== true && message.name === undefined) {
      return KimiScenarios.errors.emptyAssistant(index)
    }
  }
  if (model !== undefined) {
    const switchType = isRecord(body.thinking) ? body.thinking.type : undefined
    if (model.capabilities.thinking === "always" && switchType === "disabled") {
      return KimiScenarios.errors.thinkingOnlyEnabled()
    }
    if (isRecord(body.thinking) && body.thinking.keep === "all" && !model.kimi.thinkingKeep) {
      return KimiScenarios.errors.invalidRequest("thinking.keep is not supported for this model")
    }
    const pinned = model.kimi.pinnedSampling
    if (pinned !== undefined) {
      for (const key of ["temperature", "top_p", "n", "presence_penalty", "frequency_penalty"] as const) {
        const value = body[key]
        if (value === undefined || value === null) continue
        const allowed =
          key === "temperature"
            ? thinking
              ? pinned.temperature.thinking
              : pinned.temperature.nonThinking
            : pinned[key]
        if (value !== allowed) return KimiScenarios.errors.pinned(key, allowed)
      }
    }
  }
  const temperature = body.temperature
  if (typeof temperature === "number" && (temperature < 0 || temperature > 1)) {
    return KimiScenarios.errors.invalidRequest("temperature must be in [0, 1]")
  }
  if (Array.isArray(body.stop) && body.stop.length > 5) return KimiScenarios.errors.stopTooLong(body.stop.length)
  const stops = typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop : []
  for (const [index, stop] of stops.entries()) {
    // each stop string at most 32 bytes (UTF-8) ([DOC-EN-25]; Moonshot's text for this case is not recorded)
    const bytes = typeof stop === "string" ? new TextEncoder().encode(stop).length : 0
    if (bytes > 32) {
      return KimiScenarios.errors.invalidRequest(`stop[${index}] is ${bytes} bytes, the maximum is 32 bytes`)
    }
  }
  const choice = body.tool_choice
  if (model !== undefined && thinking && (choice === "required" || isRecord(choice))) {
    if (model.kimi.toolChoiceRequired !== "always") {
      return KimiScenarios.errors.toolChoiceWithThinking(choice === "required" ? "required" : "specified")
    }
  }
  if (thinking) {
    for (const [index, message] of messages.entries()) {
      if (!isRecord(message) || message.role !== "assistant") continue
      const calls = Array.isArray(message.tool_calls) ? message.tool_calls : []
      const reasoning = message.reasoning_content
      if (calls.length > 0 && (typeof reasoning !== "string" || reasoning === "")) {
        return KimiScenarios.errors.reasoningMissing(index)
      }
    }
  }
  const cacheMessage = messages.find((message) => isRecord(message) && message.role === "cache")
  if (cacheMessage !== undefined) {
    if (body.tools !== undefined && body.tools !== null) {
      return KimiScenarios.errors.invalidRequest("tools must be null when a cache message is used")
    }
    if (state !== undefined && resolveCache(state, cacheMessage as Json) === undefined) {
      return {
        status: 404,
        body: { error: { message: "Not found the context cache", type: "resource_not_found_error" } }
      }
    }
  }
  return undefined
}

const cacheOptions = (content: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof content !== "string") return out
  for (const part of content.split(";")) {
    const [key, ...value] = part.split("=")
    if (key !== undefined && key !== "") out[key.trim()] = value.join("=").trim()
  }
  return out
}

const resolveCache = (state: MockState, cacheMessage: Json): Json | undefined => {
  const options = cacheOptions(cacheMessage.content)
  const id =
    options.cache_id ??
    (options.tag !== undefined ? (state.tags.get(options.tag)?.cache_id as string | undefined) : undefined)
  return id === undefined ? undefined : state.caches.get(id)
}

const webSearchDeclared = (body: Json) =>
  Array.isArray(body.tools) &&
  body.tools.some((tool) => isRecord(tool) && isRecord(tool.function) && tool.function.name === "$web_search")

const lastIsWebSearchEcho = (messages: ReadonlyArray<unknown>) => {
  const last = messages[messages.length - 1]
  return isRecord(last) && last.role === "tool" && last.name === "$web_search"
}

const estimate = (body: Json) =>
  TokenEstimator.estimateRequest({
    messages: (Array.isArray(body.messages) ? body.messages : []) as never,
    tools: (Array.isArray(body.tools) ? body.tools : undefined) as never
  })

/** Tokens the simulated search announces (and adds to the prompt of the follow-up call). */
const searchTokens = 1_200

/**
 * The twin's answer (see `Twin.plan` in core's testing entry): `$web_search` first (a call announcing the search
 * tokens, then an answer once it is echoed back), else tool calls by the twin's rule (ids `<name>_<index>`, content
 * `""`, as `vercel-ai/moonshotai-k3-required-tool-choice.json`), an answer using tool results, structured output as
 * indented JSON text (`vercel-ai/moonshotai-v1-structured-output.json`), or the greeting; reasoning that quotes the
 * request when the model thinks on this call; usage from core's estimator with the cached prefix (`cached`).
 */
const defaultReply = (call: MockChatCall, cached: number): KimiScenarios.Scenario => {
  const modelId = typeof call.body.model === "string" ? call.body.model : "kimi-k3"
  const messages = Array.isArray(call.body.messages) ? call.body.messages : []
  if (webSearchDeclared(call.body) && !lastIsWebSearchEcho(messages)) {
    return {
      model: modelId,
      ...(call.thinking ? { reasoning: ["I should search the web for this."] } : {}),
      toolCalls: [
        {
          name: "$web_search",
          id: "$web_search_0",
          arguments: { search_result: { search_id: "c0de5ea4c4000000" }, usage: { total_tokens: searchTokens } }
        }
      ],
      usage: { prompt: estimate(call.body), completion: 20, reasoning: call.thinking ? 8 : 0, cached }
    }
  }
  if (lastIsWebSearchEcho(messages)) {
    const text = "According to the search results, here is the answer."
    const reasoning = call.thinking ? "The search results are in; I will answer from them." : undefined
    const usage = Twin.usage(call.body, { text, reasoning }, cached)
    return {
      model: modelId,
      ...(reasoning !== undefined ? { reasoning: Twin.fragments(reasoning) } : {}),
      text: Twin.fragments(text),
      usage: { ...usage, prompt: usage.prompt + searchTokens }
    }
  }
  const plan = Twin.plan(call.body)
  const reasoning = call.thinking ? Twin.reasoningText(call.body, plan) : undefined
  const calls = plan._tag === "ToolCalls" ? plan.calls : []
  const text =
    plan._tag === "ToolResults"
      ? plan.json !== undefined
        ? JSON.stringify(plan.json.value, null, 2)
        : `Simulated Kimi: ${plan.text}`
      : plan._tag === "Structured"
        ? JSON.stringify(plan.value, null, 2)
        : plan._tag === "Text"
          ? "Hello from simulated Kimi."
          : ""
  return {
    model: modelId,
    ...(reasoning !== undefined ? { reasoning: Twin.fragments(reasoning) } : {}),
    text: Twin.fragments(text),
    ...(calls.length > 0
      ? { toolCalls: calls.map((made) => ({ name: made.name, arguments: Twin.json(made.arguments) })) }
      : {}),
    usage: Twin.usage(call.body, { text, reasoning, calls }, cached)
  }
}

const now = (options: Options) => options.nowSeconds?.() ?? Math.floor(Date.now() / 1000)

let idCounter = 0
const nextId = (prefix: string, length: number) => {
  idCounter++
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
  let out = ""
  let value = idCounter * 2654435761
  for (let i = 0; i < length; i++) {
    out += alphabet[value % alphabet.length]
    value = Math.floor(value / alphabet.length) + idCounter * (i + 7)
  }
  return `${prefix}${out}`
}

const notFound = (what: string) => ({
  status: 404,
  body: { error: { message: `${what} not found`, type: "resource_not_found_error" } }
})

/**
 * Builds a mock (see the module documentation).
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Mock => {
  const baseURL = (options.baseURL ?? "https://api.moonshot.ai/v1").replace(/\/$/, "")
  const recorder = options.recorder ?? new MockUpstream.Recorder()
  const state: MockState = { files: new Map(), caches: new Map(), tags: new Map() }
  const catalog = KimiModels.make({}, options.extraModels ?? [])
  let chatCount = 0
  const prefixCache = new Twin.PrefixCache()
  /** When each cache turns ready (unix s). */
  const readyAt = new Map<string, number>()
  const statusOf = (cache: Json): "pending" | "ready" | "inactive" =>
    typeof cache.expired_at === "number" && cache.expired_at <= now(options)
      ? "inactive"
      : (readyAt.get(String(cache.id)) ?? 0) > now(options)
        ? "pending"
        : "ready"
  const markPending = (id: string) => readyAt.set(id, now(options) + (options.cacheReadySeconds ?? 0))

  const keyAccepted = (key: string) =>
    typeof options.apiKey === "function" ? options.apiKey(key) : key === (options.apiKey ?? "sk-test-kimi")

  /** Auth and gate; the error response, or the request id to use. */
  const admit = (request: Request): { readonly requestId: string; readonly refused?: Response } => {
    const requestId = nextRequestId()
    const authorization = request.headers.get("authorization")
    const key = authorization?.startsWith("Bearer ") ? authorization.slice("Bearer ".length) : undefined
    if (key === undefined || key === "")
      return { requestId, refused: errorResponse(KimiScenarios.errors.missingKey(), requestId) }
    if (!keyAccepted(key)) return { requestId, refused: errorResponse(KimiScenarios.errors.invalidKey(), requestId) }
    if (options.gate !== undefined && !options.gate.admit(request.headers.get("user-agent") ?? undefined)) {
      return { requestId, refused: errorResponse(KimiScenarios.errors.accessTerminated(), requestId) }
    }
    return { requestId }
  }

  const route = <P extends Record<string, string>>(
    method: "get" | "post" | "put" | "delete",
    path: string,
    handle: (input: { request: Request; params: P; requestId: string }) => Response | Promise<Response>
  ): HttpHandler =>
    http[method](`${baseURL}${path}`, async ({ request, params }) => {
      await recorder.record(request)
      const admitted = admit(request)
      if (admitted.refused !== undefined) return admitted.refused
      return handle({ request, params: params as P, requestId: admitted.requestId })
    })

  const json = (body: unknown, requestId: string, headers: Record<string, string> = {}) =>
    MockUpstream.json(body, { headers: { "msh-request-id": requestId, ...headers } })

  const chat = route("post", "/chat/completions", async ({ request, requestId }) => {
    const body = (await request.clone().json()) as Json
    const headers: Record<string, string> = {}
    request.headers.forEach((value, key) => {
      headers[key.toLowerCase()] = value
    })
    const modelId = typeof body.model === "string" ? body.model : ""
    const info = catalog.get(modelId) as KimiModels.KimiModelInfo | undefined
    if (info === undefined || (info.lifecycle.status === "retired" && options.serveRetired !== true)) {
      return errorResponse(KimiScenarios.errors.modelNotFound(modelId), requestId)
    }
    if (options.validate !== false) {
      const problem = validateChat(body, info, state)
      if (problem !== undefined) return errorResponse(problem, requestId)
    }
    const messages = Array.isArray(body.messages) ? body.messages : []
    const cacheMessage = messages.find((message) => isRecord(message) && message.role === "cache") as Json | undefined
    const headerCacheId = headers["x-msh-context-cache"]
    const referenced =
      cacheMessage !== undefined
        ? resolveCache(state, cacheMessage)
        : headerCacheId !== undefined
          ? state.caches.get(headerCacheId)
          : undefined
    const resetTtl = Number(
      cacheMessage !== undefined
        ? cacheOptions(cacheMessage.content).reset_ttl
        : (headers["x-msh-context-cache-reset-ttl"] ?? Number.NaN)
    )
    let cache: Json | undefined
    if (referenced !== undefined) {
      const status = statusOf(referenced)
      if (status === "inactive" && Number.isFinite(resetTtl) && resetTtl > 0) {
        // reset_ttl re-activates an expired cache: pending again (docs/providers/kimi.md#context-caching-api)
        referenced.expired_at = now(options) + resetTtl
        readyAt.set(String(referenced.id), now(options) + (options.cacheReadySeconds ?? 0))
      }
      const current = statusOf(referenced)
      if (current === "ready") {
        if (Number.isFinite(resetTtl) && resetTtl > 0) referenced.expired_at = now(options) + resetTtl
        cache = referenced
      } else if (cacheMessage !== undefined && options.validate !== false) {
        // the cached prefix is not in the request, so an unusable cache cannot be answered
        return errorResponse(
          KimiScenarios.errors.invalidRequest(
            `context cache ${String(referenced.id)} is not ready (status ${current})`
          ),
          requestId
        )
      } // by headers: the prefix is in the request, the cache is simply not used (best-effort)
    }
    const streaming = body.stream === true
    const call: MockChatCall = {
      body,
      headers,
      index: chatCount++,
      model: info,
      thinking: thinkingOf(info, body),
      streaming
    }
    // automatic prefix caching (docs/providers/kimi.md#automatic-prefix-caching): every request is remembered
    const seen = prefixCache.cachedTokens(body)
    const cached = info.capabilities.contextCaching === "automatic" ? seen : 0
    const reply = (await options.respond?.(call)) ?? defaultReply(call, cached)
    if (reply instanceof Response) return reply
    if (isWireError(reply)) return errorResponse(reply, requestId)
    const scenario = reply as KimiScenarios.Scenario
    const responseHeaders: Record<string, string> = { "msh-request-id": requestId }
    if (cache !== undefined) {
      responseHeaders["msh-context-cache-id"] = String(cache.id)
      responseHeaders["msh-context-cache-token-saved"] = String(cache.tokens)
      responseHeaders["msh-context-cache-token-exp"] = String(cache.expired_at)
    } else if ((scenario.usage?.cached ?? 0) > 0) {
      responseHeaders["msh-context-cache-token-saved"] = String(scenario.usage?.cached)
    }
    if (!streaming) return json(KimiScenarios.completion(scenario), requestId, responseHeaders)
    const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true
    return MockUpstream.sse(KimiScenarios.chunks(scenario, { includeUsage }), { headers: responseHeaders })
  })

  const models = route("get", "/models", ({ requestId }) =>
    json(
      {
        object: "list",
        data: catalog.list
          .filter((model) => model.lifecycle.status === "active")
          .map((model) => {
            const traits = KimiModels.traitsOf(model)
            return {
              id: model.id,
              object: "model",
              created: 1_787_000_000,
              owned_by: "moonshot",
              context_length: model.contextWindow,
              supports_image_in: model.capabilities.vision,
              supports_video_in: model.capabilities.video === true,
              supports_reasoning: model.capabilities.thinking !== "none",
              supports_dynamic_tools: traits.dynamicTools === true,
              ...(traits.reasoningEfforts !== undefined && model.id === "kimi-k3"
                ? { reasoning_efforts: traits.reasoningEfforts, supports_thinking_type: "only" }
                : {})
            }
          })
      },
      requestId
    )
  )

  const maxFileBytes = 100 * 1024 * 1024
  const purposes = new Set(["file-extract", "image", "video", "batch"])

  const uploadFile = route("post", "/files", async ({ request, requestId }) => {
    const form = await request.formData()
    const file = form.get("file")
    const purpose = String(form.get("purpose") ?? "")
    if (!purposes.has(purpose)) {
      return errorResponse(KimiScenarios.errors.invalidRequest(`Invalid purpose: ${purpose}`), requestId)
    }
    if (!(file instanceof Blob))
      return errorResponse(KimiScenarios.errors.invalidRequest("file is required"), requestId)
    if (file.size === 0) {
      return errorResponse(
        {
          status: 400,
          body: {
            error: { message: "File size is zero, please confirm the file content", type: "invalid_request_error" }
          }
        },
        requestId
      )
    }
    if (file.size > maxFileBytes) {
      return errorResponse(
        {
          status: 400,
          body: {
            error: {
              message: "File size is too large, max file size is 100MB, please confirm and re-upload the file",
              type: "invalid_request_error"
            }
          }
        },
        requestId
      )
    }
    const filename = file instanceof File ? file.name : "unknown_file"
    const id = nextId("cn", 18)
    const object = {
      id,
      object: "file",
      bytes: file.size,
      created_at: now(options),
      filename,
      purpose,
      status: "ok",
      status_details: ""
    }
    state.files.set(id, { object, text: purpose === "file-extract" ? await file.text() : "" })
    return json(object, requestId)
  })

  const listFiles = route("get", "/files", ({ requestId }) =>
    json({ object: "list", data: [...state.files.values()].map((file) => file.object) }, requestId)
  )

  const getFile = route<{ id: string }>("get", "/files/:id", ({ params, requestId }) => {
    const file = state.files.get(params.id)
    return file === undefined ? errorResponse(notFound(`file ${params.id}`), requestId) : json(file.object, requestId)
  })

  const fileContent = route<{ id: string }>("get", "/files/:id/content", ({ params, requestId }) => {
    const file = state.files.get(params.id)
    if (file === undefined) return errorResponse(notFound(`file ${params.id}`), requestId)
    const filename = String(file.object.filename)
    if ((options.extractFailures ?? []).includes(filename)) {
      return errorResponse(KimiScenarios.errors.extractFailed(), requestId)
    }
    if (file.object.purpose !== "file-extract") {
      return errorResponse(
        KimiScenarios.errors.invalidRequest("the content of image and video files is not available"),
        requestId
      )
    }
    const content = JSON.stringify({ content: file.text, file_type: "text/plain", filename, title: "", type: "file" })
    return new HttpResponse(content, { headers: { "content-type": "application/json", "msh-request-id": requestId } })
  })

  const deleteFile = route<{ id: string }>("delete", "/files/:id", ({ params, requestId }) => {
    if (!state.files.delete(params.id)) return errorResponse(notFound(`file ${params.id}`), requestId)
    return json({ deleted: true, id: params.id, object: "file" }, requestId)
  })

  const expiryOf = (body: Json): number | KimiScenarios.WireError => {
    const ttl = body.ttl
    const expiredAt = body.expired_at
    if (ttl !== undefined && expiredAt !== undefined)
      return KimiScenarios.errors.invalidRequest("use ttl or expired_at, not both")
    if (typeof ttl === "number") {
      if (ttl <= 0 || ttl > 3600) return KimiScenarios.errors.invalidRequest("ttl must be in (0, 3600]")
      return now(options) + ttl
    }
    if (typeof expiredAt === "number" && expiredAt > 0) return expiredAt
    return now(options) + 3600
  }

  const createCache = route("post", "/caching", async ({ request, requestId }) => {
    const body = (await request.clone().json()) as Json
    const messages = Array.isArray(body.messages) ? body.messages : []
    if (messages.length === 0)
      return errorResponse(KimiScenarios.errors.invalidRequest("messages must not be empty"), requestId)
    if (messages.some((message) => isRecord(message) && message.partial === true)) {
      return errorResponse(KimiScenarios.errors.invalidRequest("partial is not supported in context cache"), requestId)
    }
    const expiry = expiryOf(body)
    if (typeof expiry !== "number") return errorResponse(expiry, requestId)
    const id = nextId("cache-", 20)
    const cache: Json = {
      id,
      status: "pending",
      object: "context-cache",
      created_at: now(options),
      tokens: estimate(body),
      expired_at: expiry,
      model: body.model,
      messages,
      tools: Array.isArray(body.tools) ? body.tools : [],
      name: body.name ?? "",
      description: body.description ?? "",
      metadata: isRecord(body.metadata) ? body.metadata : {}
    }
    state.caches.set(id, cache)
    markPending(id)
    for (const tag of Array.isArray(body.tags) ? body.tags : []) {
      state.tags.set(String(tag), {
        tag,
        cache_id: id,
        created_at: now(options),
        object: "cache_object.tag",
        owned_by: "c0de"
      })
    }
    return json(cache, requestId)
  })

  const visible = (cache: Json) => ({ ...cache, status: statusOf(cache) })

  const page = <A extends Json>(items: Array<A>, url: URL, key: string): Array<A> => {
    const order = url.searchParams.get("order") ?? "desc"
    let out = order === "asc" ? [...items] : [...items].reverse()
    const after = url.searchParams.get("after")
    if (after !== null) out = out.slice(out.findIndex((item) => item[key] === after) + 1)
    const before = url.searchParams.get("before")
    if (before !== null) {
      const index = out.findIndex((item) => item[key] === before)
      if (index >= 0) out = out.slice(0, index)
    }
    const limit = Number(url.searchParams.get("limit") ?? "20")
    return out.slice(0, Number.isFinite(limit) && limit > 0 ? limit : 20)
  }

  const listCaches = route("get", "/caching", ({ request, requestId }) => {
    const url = new URL(request.url)
    const filters = [...url.searchParams.entries()].flatMap(([key, value]) => {
      const match = /^metadata\[(.+)\]$/.exec(key)
      return match?.[1] !== undefined ? [[match[1], value] as const] : []
    })
    const items = [...state.caches.values()].filter((cache) =>
      filters.every(([key, value]) => isRecord(cache.metadata) && cache.metadata[key] === value)
    )
    return json({ object: "list", data: page(items, url, "id").map(visible) }, requestId)
  })

  const getCache = route<{ id: string }>("get", "/caching/:id", ({ params, requestId }) => {
    const cache = state.caches.get(params.id)
    return cache === undefined
      ? errorResponse(notFound(`cache ${params.id}`), requestId)
      : json(visible(cache), requestId)
  })

  const updateCache = route<{ id: string }>("put", "/caching/:id", async ({ request, params, requestId }) => {
    const cache = state.caches.get(params.id)
    if (cache === undefined) return errorResponse(notFound(`cache ${params.id}`), requestId)
    const body = (await request.clone().json()) as Json
    const expiry =
      body.ttl !== undefined || body.expired_at !== undefined ? expiryOf(body) : (cache.expired_at as number)
    if (typeof expiry !== "number") return errorResponse(expiry, requestId)
    const updated = {
      ...cache,
      ...(isRecord(body.metadata) ? { metadata: body.metadata } : {}),
      expired_at: expiry,
      status: "pending"
    }
    state.caches.set(params.id, updated)
    markPending(params.id)
    return json(updated, requestId)
  })

  const deleteCache = route<{ id: string }>("delete", "/caching/:id", ({ params, requestId }) => {
    if (!state.caches.delete(params.id)) return errorResponse(notFound(`cache ${params.id}`), requestId)
    return json({ deleted: true, id: params.id, object: "context_cache_object.deleted" }, requestId)
  })

  const createTag = route("post", "/caching/refs/tags", async ({ request, requestId }) => {
    const body = (await request.clone().json()) as Json
    const tag = String(body.tag ?? "")
    const cacheId = String(body.cache_id ?? "")
    if (!state.caches.has(cacheId)) return errorResponse(notFound(`cache ${cacheId}`), requestId)
    const record = { cache_id: cacheId, created_at: now(options), object: "cache_object.tag", owned_by: "c0de", tag }
    state.tags.set(tag, record)
    return json(record, requestId)
  })

  const listTags = route("get", "/caching/refs/tags", ({ request, requestId }) =>
    json({ object: "list", data: page([...state.tags.values()], new URL(request.url), "tag") }, requestId)
  )

  const getTag = route<{ tag: string }>("get", "/caching/refs/tags/:tag", ({ params, requestId }) => {
    const tag = state.tags.get(params.tag)
    return tag === undefined ? errorResponse(notFound(`tag ${params.tag}`), requestId) : json(tag, requestId)
  })

  const tagContent = route<{ tag: string }>("get", "/caching/refs/tags/:tag/content", ({ params, requestId }) => {
    const cache = state.caches.get(String(state.tags.get(params.tag)?.cache_id ?? ""))
    return cache === undefined
      ? errorResponse(notFound(`tag ${params.tag}`), requestId)
      : json(visible(cache), requestId)
  })

  const deleteTag = route<{ tag: string }>("delete", "/caching/refs/tags/:tag", ({ params, requestId }) => {
    state.tags.delete(params.tag)
    return json({ deleted: true, object: "cache_object.tag.deleted", tag: params.tag }, requestId)
  })

  const estimateTokens = route("post", "/tokenizers/estimate-token-count", async ({ request, requestId }) => {
    const body = (await request.clone().json()) as Json
    const model = typeof body.model === "string" ? catalog.get(body.model) : undefined
    if (model === undefined || model.lifecycle.status === "retired") {
      return errorResponse(KimiScenarios.errors.modelNotFound(String(body.model)), requestId)
    }
    return json({ data: { total_tokens: estimate(body) } }, requestId)
  })

  const balance = route("get", "/users/me/balance", ({ requestId }) =>
    json(
      {
        code: 0,
        data: { available_balance: 49.5, voucher_balance: 46.5, cash_balance: 3 },
        scode: "0x0",
        status: true
      },
      requestId
    )
  )

  return {
    baseURL,
    recorder,
    state,
    handlers: [
      chat,
      models,
      uploadFile,
      listFiles,
      fileContent,
      getFile,
      deleteFile,
      createTag,
      listTags,
      tagContent,
      getTag,
      deleteTag,
      createCache,
      listCaches,
      getCache,
      updateCache,
      deleteCache,
      estimateTokens,
      balance
    ]
  }
}

/**
 * The handlers of a fresh mock (see {@link make}).
 *
 * @since 0.1.0
 */
export const handlers = (options: Options = {}): ReadonlyArray<HttpHandler> => make(options).handlers
