/**
 * An MSW mock of the Z.ai / BigModel API that behaves like the real one, for tests and the demo's simulated mode.
 *
 * - Auth: no `Authorization` header answers 401 code 1001 "Authorization Token Missing"; a wrong key 401 code 1002
 *   (the docs' body); with `jwt` set, a Zhipu JWT signed with that secret is accepted, an expired one answers 401
 *   code 1003, a bad signature 1002.
 * - `POST /chat/completions`: Zhipu's validations first ({@link validateChat}: an unknown model answers 1211,
 *   disabling thinking on a model that always thinks 1210, a prompt over the context window 1261), then `chat` (a per-call override; `undefined` for the
 *   default), else the twin's answer ({@link defaultChat}: reasoning by the catalog's thinking mode, tool calls by
 *   the twin's rule with arguments valid for the tool's schema, an answer that uses tool results, structured
 *   output, web-search results, usage that adds up with automatic prefix caching), streamed as Z.ai streams
 *   (`role` on every delta, finish and usage on the last chunk, `[DONE]`).
 * - `POST /embeddings` (see {@link embeddingVector}: deterministic unit vectors, 2048 dimensions for `embedding-3` unless
 *   `dimensions` says 256/512/1024/2048, 1024 for `embedding-2`; more than 64 inputs, an empty input or an unknown
 *   model answer Zhipu's 400 bodies; `usage.prompt_tokens` is core's estimate),
 * - `POST /tokenizer` (estimated count), `POST /web_search`, files (`POST /files` multipart, `GET /files`,
 *   `GET /files/{id}/content`, `DELETE /files/{id}`), async chat (`POST /async/chat/completions`, then
 *   `GET /async-result/{id}` answering `PROCESSING` `asyncPolls` times before `SUCCESS`), `GET /models`.
 *
 * Start the server with `onUnhandledFrame: "error"` (msw 3; msw 2's name for that option is silently ignored).
 *
 * @since 0.1.0
 */
import { createHash, createHmac } from "node:crypto"
import { TokenEstimator } from "@conduitkit/core"
import { MockUpstream, Twin } from "@conduitkit/core/testing"
import { type HttpHandler, HttpResponse, http } from "msw"
import * as GlmModels from "../GlmModels.js"
import * as GlmScenarios from "./GlmScenarios.js"

/**
 * Options of {@link make}.
 *
 * - `baseURL`: default `https://api.z.ai/api/paas/v4`.
 * - `apiKey`: the accepted bearer key (default `"test-key"`).
 * - `jwt`: accept Zhipu JWTs signed for this `<id>.<secret>` pair.
 * - `chat`: a per-call override of the chat answer (`undefined` falls back to the default behaviour).
 * - `asyncPolls`: how many polls of an async task answer `PROCESSING` before `SUCCESS` (default 1).
 * - `validate`: run Zhipu's chat validations ({@link validateChat}) before `chat` (default true).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly baseURL?: string | undefined
  readonly apiKey?: string | undefined
  readonly jwt?: { readonly id: string; readonly secret: string } | undefined
  readonly chat?: ((call: MockUpstream.ChatCall) => Response | Promise<Response> | undefined) | undefined
  readonly asyncPolls?: number | undefined
  readonly validate?: boolean | undefined
}

/**
 * A running mock: its MSW handlers and a recorder of every call it received.
 *
 * @since 0.1.0
 */
export interface Mock {
  readonly baseURL: string
  readonly handlers: ReadonlyArray<HttpHandler>
  readonly recorder: MockUpstream.Recorder
}

/**
 * An error response as Zhipu sends it (see `GlmScenarios.errors`).
 *
 * @since 0.1.0
 */
export const errorResponse = (error: GlmScenarios.WireError): Response =>
  MockUpstream.error(error.status, error.body, error.headers ?? {})

type Body = Record<string, unknown>

const isRecord = (value: unknown): value is Body => typeof value === "object" && value !== null && !Array.isArray(value)

const hasWebSearch = (body: Body) =>
  (Array.isArray(body.tools) ? body.tools : []).some((tool) => isRecord(tool) && tool.type === "web_search")

const switchOf = (body: Body) => (isRecord(body.thinking) ? body.thinking.type : undefined)

/**
 * Whether the model thinks on this call, by the catalog's thinking mode: `always` always, `optional` unless
 * `thinking.type` is `"disabled"` (`enabled` is the default, docs/providers/glm.md#thinking), `none` never.
 *
 * @since 0.1.0
 */
export const thinks = (model: GlmModels.GlmModelInfo | undefined, body: Body): boolean => {
  const mode = model?.capabilities.thinking ?? "none"
  return mode === "always" || (mode === "optional" && switchOf(body) !== "disabled")
}

/**
 * Zhipu's chat validations (pure): the first problem as the live API answers it, or `undefined`. An id the catalog
 * does not know answers 400 code 1211 (`errors.unknownModelEn`, recorded live); `thinking.type: "disabled"` on a
 * model that always thinks answers 400 code 1210 (`errors.thinkingAlwaysCn`, recorded live); a prompt estimated (core's
 * `TokenEstimator`) above the model's context window answers 400 code 1261 "Prompt too long" (`errors.promptTooLongEn`,
 * recorded live on api.z.ai); no messages answers 1214.
 *
 * @since 0.1.0
 */
export const validateChat = (
  body: Body,
  model: GlmModels.GlmModelInfo | undefined
): GlmScenarios.WireError | undefined => {
  if (model === undefined) return GlmScenarios.errors.unknownModelEn
  if (!Array.isArray(body.messages) || body.messages.length === 0) return GlmScenarios.errors.invalidParameterEn
  if (model.capabilities.thinking === "always" && switchOf(body) === "disabled") {
    return GlmScenarios.errors.thinkingAlwaysCn
  }
  const prompt = TokenEstimator.estimateRequest({
    messages: body.messages as ReadonlyArray<TokenEstimator.EstimatedMessage>,
    tools: Array.isArray(body.tools) ? body.tools : undefined
  })
  if (prompt > model.contextWindow) return GlmScenarios.errors.promptTooLongEn
  return undefined
}

let counter = 0
const nextId = () => GlmScenarios.responseId(0x10000 + ++counter)

/**
 * Context of {@link defaultChat}: the cached prompt tokens of the call (automatic prefix caching).
 *
 * @since 0.1.0
 */
export interface ChatContext {
  readonly cached?: number | undefined
}

/** The answer's parts: reasoning, text, tool calls, top-level extras (web search results). */
interface Answer {
  readonly reasoning: string | undefined
  readonly text: string | undefined
  readonly calls: ReadonlyArray<Twin.ToolCall>
  readonly extra: Body
}

/**
 * Whether a sentence comes with the tool calls, as the cassettes show: never under a forced `tool_choice`
 * (`*ObjectGeneration*`: `content: ""`), else always on glm-4.5 (`*zai-glm-4.5*tool*.yaml`) and, on later models,
 * only for several calls streamed (`TestZAICommon__zai-glm-4.6__multi_tool_streaming.yaml`; none in `*4.6__tool*`).
 */
const narratesToolCalls = (body: Body, calls: number) =>
  isRecord(body.tool_choice)
    ? false
    : String(body.model ?? "").startsWith("glm-4.5") || (body.stream === true && calls > 1)

/** glm-4.5 and glm-4.6 report no `completion_tokens_details` (every `glm/fantasy` cassette); newer models do. */
const reportsReasoningTokens = (model: string) => !/^glm-4\.[56]/.test(model)

const answerOf = (body: Body, thinking: boolean): Answer => {
  const plan = Twin.plan(body)
  const reasoning = thinking ? Twin.reasoningText(body, plan) : undefined
  const calls = plan._tag === "ToolCalls" ? plan.calls : []
  if (plan._tag === "Text" && hasWebSearch(body)) {
    return {
      reasoning,
      text: GlmScenarios.webSearch.text,
      calls,
      extra: { web_search: GlmScenarios.webSearch.results }
    }
  }
  const text =
    plan._tag === "ToolResults"
      ? plan.json !== undefined
        ? Twin.json(plan.json.value)
        : `\n\n${plan.text}`
      : plan._tag === "Structured"
        ? Twin.json(plan.value)
        : plan._tag === "Text"
          ? GlmScenarios.text.text
          : narratesToolCalls(body, calls.length)
            ? `\nI'll call ${calls.map((call) => call.name).join(" and ")}.\n`
            : isRecord(body.tool_choice)
              ? ""
              : undefined
  return { reasoning, text, calls, extra: {} }
}

/**
 * The twin's chat answer for a request body (see `Twin.plan` in core's testing entry), in Z.ai's wire format as the
 * live cassettes show it (`glm/fantasy/*.yaml`):
 * - reasoning (`reasoning_content`, quoting the request) when the model thinks on this call ({@link thinks});
 *   inline as `<think>…</think>` in `content` on the models that write it there (`inlineThinking`);
 * - tool calls by the twin's rule: non-stream ids `call_-<19 digits>`, a sentence in `content` where the cassettes
 *   show one (`narratesToolCalls`); streamed, each call complete
 *   in one delta with the next `index`, or, with `tool_stream: true`, a first fragment with id and name then
 *   argument pieces;
 * - after tool results, an answer that uses them; structured output as compact JSON text (`json_object`, with the
 *   schema the provider puts in a system message); web-search results when a `web_search` tool is declared;
 * - usage from core's estimator: `prompt_tokens_details.cached_tokens` (`context.cached`), and
 *   `completion_tokens_details.reasoning_tokens` when the model reasoned, except on glm-4.5 / glm-4.6 whose live
 *   answers never carry it; on the finish chunk when streamed.
 *
 * Pure apart from fresh ids.
 *
 * @since 0.1.0
 */
export const defaultChat = (body: Body, context: ChatContext = {}): Response => {
  const model = typeof body.model === "string" ? body.model : "glm-4.6"
  const info = GlmModels.get(model)
  const id = nextId()
  const streaming = body.stream === true
  const answer = answerOf(body, thinks(info, body))
  const inline = info?.glm.inlineThinking === true && answer.reasoning !== undefined
  const reasoning = inline ? undefined : answer.reasoning
  const text = inline ? `<think>${answer.reasoning}</think>${answer.text ?? ""}` : answer.text
  const twinUsage = Twin.usage(body, { text, reasoning: answer.reasoning, calls: answer.calls }, context.cached)
  const tokens = GlmScenarios.usage(
    twinUsage.prompt,
    twinUsage.completion,
    twinUsage.cached,
    answer.reasoning === undefined || !reportsReasoningTokens(model) ? undefined : twinUsage.reasoning
  )
  const finish = answer.calls.length > 0 ? "tool_calls" : "stop"
  const callIds = answer.calls.map((_, index) =>
    streaming
      ? `call_${(0xabc000 + counter * 4 + index).toString(16).padStart(24, "0")}`
      : `call_-7394015628${String(counter * 10 + index).padStart(9, "0")}`
  )
  if (!streaming) {
    return MockUpstream.json(
      GlmScenarios.completion(
        id,
        model,
        {
          ...(text !== undefined ? { content: text } : {}),
          ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
          ...(answer.calls.length > 0
            ? {
                tool_calls: answer.calls.map((call, index) => ({
                  function: { arguments: Twin.json(call.arguments), name: call.name },
                  id: callIds[index],
                  index,
                  type: "function"
                }))
              }
            : {})
        },
        finish,
        tokens,
        answer.extra
      )
    )
  }
  const fragmented = body.tool_stream === true
  const callChunks = answer.calls.flatMap((call, index) => {
    const args = Twin.json(call.arguments)
    const head = { id: callIds[index], index, type: "function" }
    if (!fragmented) {
      return [
        GlmScenarios.chunk(id, model, { tool_calls: [{ ...head, function: { name: call.name, arguments: args } }] })
      ]
    }
    return [
      GlmScenarios.chunk(id, model, { tool_calls: [{ ...head, function: { name: call.name, arguments: "" } }] }),
      ...GlmScenarios.pieces(args, 8).map((piece) =>
        GlmScenarios.chunk(id, model, { tool_calls: [{ index, function: { arguments: piece } }] })
      )
    ]
  })
  return MockUpstream.sse([
    ...Twin.fragments(reasoning ?? "").map((piece) => GlmScenarios.chunk(id, model, { reasoning_content: piece })),
    ...Twin.fragments(text ?? "").map((piece) => GlmScenarios.chunk(id, model, { content: piece })),
    ...callChunks,
    { ...GlmScenarios.finishChunk(id, model, finish, tokens), ...answer.extra }
  ])
}

// =============================================================================
// Embeddings
// =============================================================================

/**
 * The simulation's vector for a text: `dimensions` numbers from a SHA-256 counter stream over the model and the text,
 * scaled to unit length. The same text gives the same vector; different texts almost surely differ.
 *
 * @since 0.1.0
 */
export const embeddingVector = (model: string, text: string, dimensions: number): Array<number> => {
  const raw: Array<number> = []
  for (let block = 0; raw.length < dimensions; block++) {
    const digest = createHash("sha256").update(`${model}\u0000${block}\u0000${text}`).digest()
    for (let i = 0; i + 1 < digest.length && raw.length < dimensions; i += 2) {
      raw.push(digest.readUInt16BE(i) / 32_767.5 - 1)
    }
  }
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1
  return raw.map((x) => x / norm)
}

const embeddingDimensions: Readonly<
  Record<string, { readonly fixed: number; readonly options?: ReadonlyArray<number> }>
> = {
  "embedding-3": { fixed: 2048, options: [256, 512, 1024, 2048] },
  "embedding-2": { fixed: 1024 }
}

const embeddings = (body: Body): Response => {
  const model = typeof body.model === "string" ? body.model : ""
  const dims = embeddingDimensions[model]
  if (dims === undefined) return errorResponse(GlmScenarios.errors.unknownModelEn)
  const input = body.input
  const inputs = typeof input === "string" ? [input] : Array.isArray(input) ? input : undefined
  if (
    inputs === undefined ||
    inputs.length === 0 ||
    inputs.length > 64 ||
    inputs.some((text) => typeof text !== "string" || text === "")
  ) {
    return errorResponse(GlmScenarios.errors.invalidParameterEn)
  }
  const requested = body.dimensions
  if (requested !== undefined && !(dims.options ?? [dims.fixed]).includes(requested as number)) {
    return errorResponse(GlmScenarios.errors.invalidParameterEn)
  }
  const dimensions = typeof requested === "number" ? requested : dims.fixed
  const tokens = (inputs as ReadonlyArray<string>).reduce((sum, text) => sum + TokenEstimator.estimateText(text), 0)
  return MockUpstream.json({
    model,
    object: "list",
    data: (inputs as ReadonlyArray<string>).map((text, index) => ({
      index,
      object: "embedding",
      embedding: embeddingVector(model, text, dimensions)
    })),
    usage: { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens }
  })
}

// =============================================================================
// Auth
// =============================================================================

const verifyJwt = (token: string, secret: string, now: number): "ok" | "invalid" | "expired" => {
  const [header, payload, signature] = token.split(".")
  if (header === undefined || payload === undefined || signature === undefined) return "invalid"
  const expected = createHmac("sha256", Buffer.from(secret, "utf8")).update(`${header}.${payload}`).digest("base64url")
  if (expected !== signature) return "invalid"
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { exp?: unknown }
    return typeof claims.exp === "number" && claims.exp > now ? "ok" : "expired"
  } catch {
    return "invalid"
  }
}

const authFailure = (request: Request, options: Options): Response | undefined => {
  const token = (request.headers.get("authorization") ?? "").trim().replace(/^Bearer\b\s*/i, "")
  if (token === "") return errorResponse(GlmScenarios.errors.missingKey)
  if (token === (options.apiKey ?? "test-key")) return undefined
  if (options.jwt !== undefined && token.split(".").length === 3) {
    const verdict = verifyJwt(token, options.jwt.secret, Date.now())
    if (verdict === "ok") return undefined
    if (verdict === "expired") return errorResponse(GlmScenarios.errors.expiredToken)
  }
  return errorResponse(GlmScenarios.errors.invalidKey)
}

// =============================================================================
// The mock
// =============================================================================

/**
 * Builds the mock's handlers.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Mock => {
  const baseURL = (options.baseURL ?? "https://api.z.ai/api/paas/v4").replace(/\/$/, "")
  const recorder = new MockUpstream.Recorder()
  const files = new Map<string, { readonly meta: Record<string, unknown>; readonly bytes: Uint8Array }>()
  const tasks = new Map<string, { readonly body: Body; polls: number }>()
  let fileCount = 0
  let taskCount = 0

  type Params = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  const guarded =
    (handler: (request: Request, params: Params, call: MockUpstream.RecordedCall) => Response | Promise<Response>) =>
    async ({ request, params }: { readonly request: Request; readonly params: Params }) => {
      const call = await recorder.record(request)
      return authFailure(request, options) ?? handler(request, params, call)
    }
  let chatCount = 0
  const prefixCache = new Twin.PrefixCache()

  const chatHandler = http.post(
    `${baseURL}/chat/completions`,
    guarded(async (_request, _params, call) => {
      const body = (call.body ?? {}) as Body
      if (options.validate !== false) {
        const problem = validateChat(body, GlmModels.get(String(body.model ?? "")))
        if (problem !== undefined) return errorResponse(problem)
      }
      // automatic prefix caching on every model (docs/providers/glm.md#usage): every request is remembered
      const cached = prefixCache.cachedTokens(body)
      const custom = await options.chat?.({
        call,
        body,
        index: chatCount++,
        onCancel: () => {
          call.aborted = true
          call.abortedAt ??= performance.now()
        }
      })
      return custom ?? defaultChat(body, { cached })
    })
  )

  const handlers: Array<HttpHandler> = [
    chatHandler,
    http.post(
      `${baseURL}/embeddings`,
      guarded(async (request) => embeddings((await request.clone().json()) as Body))
    ),
    http.post(
      `${baseURL}/tokenizer`,
      guarded(async (request) => {
        const body = (await request.clone().json()) as Body
        const messages = (body.messages as ReadonlyArray<TokenEstimator.EstimatedMessage> | undefined) ?? []
        if (messages.length === 0) return errorResponse(GlmScenarios.errors.invalidParameterEn)
        const prompt = TokenEstimator.estimateMessages(messages)
        const id = nextId()
        return MockUpstream.json({
          created: 1_767_268_800,
          id,
          request_id: id,
          usage: { prompt_tokens: prompt, image_tokens: 0, video_tokens: 0, total_tokens: prompt }
        })
      })
    ),
    http.post(
      `${baseURL}/web_search`,
      guarded(async (request) => {
        const body = (await request.clone().json()) as Body
        if (typeof body.search_query !== "string" || body.search_query === "") {
          return errorResponse(GlmScenarios.errors.invalidParameterEn)
        }
        return MockUpstream.json(GlmScenarios.webSearchApiBody)
      })
    ),
    http.post(
      `${baseURL}/files`,
      guarded(async (request) => {
        const form = await request.clone().formData()
        const file = form.get("file")
        const purpose = form.get("purpose")
        if (!(file instanceof Blob) || typeof purpose !== "string") {
          return errorResponse(GlmScenarios.errors.invalidParameterEn)
        }
        const bytes = new Uint8Array(await file.arrayBuffer())
        const id = `file-${1_000_000 + ++fileCount}`
        const meta = {
          id,
          object: "file",
          bytes: bytes.byteLength,
          created_at: 1_767_268_800,
          filename: (file as File).name ?? "upload",
          purpose
        }
        files.set(id, { meta, bytes })
        return MockUpstream.json(meta)
      })
    ),
    http.get(
      `${baseURL}/files`,
      guarded(() =>
        MockUpstream.json({ object: "list", data: [...files.values()].map((f) => f.meta), has_more: false })
      )
    ),
    http.get(
      `${baseURL}/files/:id/content`,
      guarded((_request, params) => {
        const file = files.get(String(params.id))
        if (file === undefined)
          return errorResponse({ status: 404, body: { error: { code: "1214", message: "file not found" } } })
        return new HttpResponse(file.bytes, { status: 200, headers: { "content-type": "application/octet-stream" } })
      })
    ),
    http.delete(
      `${baseURL}/files/:id`,
      guarded((_request, params) => {
        const id = String(params.id)
        if (!files.delete(id))
          return errorResponse({ status: 404, body: { error: { code: "1214", message: "file not found" } } })
        return MockUpstream.json({ id, deleted: true })
      })
    ),
    http.post(
      `${baseURL}/async/chat/completions`,
      guarded(async (request) => {
        const body = (await request.clone().json()) as Body
        const id = `task-${++taskCount}`
        tasks.set(id, { body, polls: 0 })
        return MockUpstream.json({ id, request_id: nextId(), model: body.model, task_status: "PROCESSING" })
      })
    ),
    http.get(
      `${baseURL}/async-result/:id`,
      guarded(async (_request, params) => {
        const id = String(params.id)
        const task = tasks.get(id)
        if (task === undefined)
          return errorResponse({ status: 404, body: { error: { code: "1214", message: "task not found" } } })
        task.polls++
        if (task.polls <= (options.asyncPolls ?? 1)) {
          return MockUpstream.json({ id, model: task.body.model, task_status: "PROCESSING" })
        }
        const answer = (await defaultChat({ ...task.body, stream: false }).json()) as Body
        return MockUpstream.json({ ...answer, id, task_status: "SUCCESS" })
      })
    ),
    http.get(
      `${baseURL}/models`,
      guarded(() =>
        MockUpstream.json({
          object: "list",
          data: GlmModels.models.map((info) => ({
            id: info.id,
            object: "model",
            created: 1_753_632_000,
            owned_by: "z-ai"
          }))
        })
      )
    )
  ]
  return { baseURL, handlers, recorder }
}

/**
 * The handlers of a fresh mock (see {@link make}).
 *
 * @since 0.1.0
 */
export const handlers = (options: Options = {}): ReadonlyArray<HttpHandler> => make(options).handlers
