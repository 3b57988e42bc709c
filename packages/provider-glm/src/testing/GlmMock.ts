/**
 * An MSW mock of the Z.ai / BigModel API that behaves like the real one, for tests and the demo's simulated mode.
 *
 * - Auth: no `Authorization` header answers 401 code 1001 "Authorization Token Missing"; a wrong key 401 code 1002
 *   (the docs' body); with `jwt` set, a Zhipu JWT signed with that secret is accepted, an expired one answers 401
 *   code 1003, a bad signature 1002.
 * - `POST /chat/completions`: text, reasoning (when `thinking.type` is `"enabled"`), tool calls for the declared
 *   function tools (complete in one delta, or in fragments when `tool_stream: true`; several tools give a
 *   multi-tool turn), an answer after tool results, and web-search results when a `web_search` tool is declared;
 *   streamed as Z.ai streams (`role` on every delta, finish and usage on the last chunk, `[DONE]`). `chat` overrides
 *   the answer per call (return `undefined` for the default).
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
import { MockUpstream } from "@conduitkit/core/testing"
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
 *
 * @since 0.1.0
 */
export interface Options {
  readonly baseURL?: string | undefined
  readonly apiKey?: string | undefined
  readonly jwt?: { readonly id: string; readonly secret: string } | undefined
  readonly chat?: ((call: MockUpstream.ChatCall) => Response | Promise<Response> | undefined) | undefined
  readonly asyncPolls?: number | undefined
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

interface WireToolDeclaration {
  readonly type?: unknown
  readonly function?: { readonly name?: unknown; readonly parameters?: unknown }
}

interface DeclaredFunction {
  readonly name: string
  readonly parameters: unknown
}

const functionTools = (body: Body): Array<DeclaredFunction> =>
  ((body.tools as ReadonlyArray<WireToolDeclaration> | undefined) ?? [])
    .filter((tool) => tool.type === "function" && typeof tool.function?.name === "string")
    .map((tool) => ({ name: tool.function?.name as string, parameters: tool.function?.parameters }))

/**
 * Arguments a model would plausibly send for a declared function: every property of its JSON Schema filled with a
 * value of its type (`location` → "Florence, Italy", numbers 2, 3, ...).
 */
const argumentsFor = (tool: DeclaredFunction): string => {
  type Property = { readonly type?: unknown; readonly anyOf?: ReadonlyArray<Property> }
  const schema = tool.parameters as { properties?: Record<string, Property> } | undefined
  const typeOf = (property: Property): unknown =>
    Array.isArray(property.type) ? property.type[0] : (property.type ?? property.anyOf?.map(typeOf).find(Boolean))
  let n = 2
  const args: Record<string, unknown> = {}
  for (const [key, property] of Object.entries(schema?.properties ?? {})) {
    const type = typeOf(property)
    args[key] =
      type === "number" || type === "integer"
        ? n++
        : type === "boolean"
          ? true
          : type === "array"
            ? []
            : type === "object"
              ? {}
              : key === "location"
                ? "Florence, Italy"
                : "example"
  }
  return JSON.stringify(args)
}

const hasWebSearch = (body: Body) =>
  ((body.tools as ReadonlyArray<WireToolDeclaration> | undefined) ?? []).some((tool) => tool.type === "web_search")

const lastMessage = (body: Body) => {
  const messages = (body.messages as ReadonlyArray<{ role?: unknown; content?: unknown }> | undefined) ?? []
  return messages[messages.length - 1]
}

let counter = 0
const nextId = () => GlmScenarios.responseId(0x10000 + ++counter)

/**
 * The default chat answer for a request body (see the module docs). Pure apart from fresh ids.
 *
 * @since 0.1.0
 */
export const defaultChat = (body: Body): Response => {
  const model = typeof body.model === "string" ? body.model : "glm-4.6"
  const id = nextId()
  const streaming = body.stream === true
  const thinking = (body.thinking as { type?: unknown } | undefined)?.type === "enabled"
  const last = lastMessage(body)
  const tools = functionTools(body)
  const reasoning = thinking ? GlmScenarios.reasoning.reasoning : undefined

  // After tool results: answer with their content.
  if (last?.role === "tool" || tools.length === 0 || hasWebSearch(body)) {
    const answer =
      last?.role === "tool"
        ? `\n\nThe tool answered: ${String(last.content)}.`
        : hasWebSearch(body)
          ? GlmScenarios.webSearch.text
          : thinking
            ? GlmScenarios.reasoning.text
            : GlmScenarios.text.text
    const webSearch = hasWebSearch(body) ? { web_search: GlmScenarios.webSearch.results } : {}
    const tokens = GlmScenarios.usage(40, 30, 0, reasoning === undefined ? undefined : 20)
    if (!streaming) {
      return MockUpstream.json(
        GlmScenarios.completion(
          id,
          model,
          { content: answer, ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}) },
          "stop",
          tokens,
          webSearch
        )
      )
    }
    return MockUpstream.sse([
      ...(reasoning === undefined
        ? []
        : GlmScenarios.pieces(reasoning).map((piece) => GlmScenarios.chunk(id, model, { reasoning_content: piece }))),
      ...GlmScenarios.pieces(answer).map((piece) => GlmScenarios.chunk(id, model, { content: piece })),
      { ...GlmScenarios.finishChunk(id, model, "stop", tokens), ...webSearch }
    ])
  }

  // Tool calls: one per declared function tool (at most two).
  const called = tools.slice(0, 2)
  const tokens = GlmScenarios.usage(171, 66, 32)
  if (!streaming) {
    return MockUpstream.json(
      GlmScenarios.completion(
        id,
        model,
        {
          ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
          tool_calls: called.map((tool, index) => ({
            function: { arguments: argumentsFor(tool), name: tool.name },
            id: `call_-73940156283019472${10 + index}`,
            index,
            type: "function"
          }))
        },
        "tool_calls",
        tokens
      )
    )
  }
  const fragmented = body.tool_stream === true
  const callChunks = called.flatMap((tool, index) => {
    const name = tool.name
    const callId = `call_${(0xabc000 + counter * 4 + index).toString(16).padStart(24, "0")}`
    const args = argumentsFor(tool)
    if (!fragmented) {
      return [
        GlmScenarios.chunk(id, model, {
          tool_calls: [{ id: callId, index, type: "function", function: { name, arguments: args } }]
        })
      ]
    }
    return [
      GlmScenarios.chunk(id, model, {
        tool_calls: [{ id: callId, index, type: "function", function: { name, arguments: "" } }]
      }),
      ...GlmScenarios.pieces(args, 5).map((piece) =>
        GlmScenarios.chunk(id, model, { tool_calls: [{ index, function: { arguments: piece } }] })
      )
    ]
  })
  return MockUpstream.sse([
    ...(reasoning === undefined
      ? []
      : GlmScenarios.pieces(reasoning).map((piece) => GlmScenarios.chunk(id, model, { reasoning_content: piece }))),
    ...callChunks,
    GlmScenarios.finishChunk(id, model, "tool_calls", tokens)
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

  const chatHandler = http.post(
    `${baseURL}/chat/completions`,
    guarded(async (_request, _params, call) => {
      const body = (call.body ?? {}) as Body
      const custom = await options.chat?.({
        call,
        body,
        index: chatCount++,
        onCancel: () => {
          call.aborted = true
          call.abortedAt ??= performance.now()
        }
      })
      return custom ?? defaultChat(body)
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
