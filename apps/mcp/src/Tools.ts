/**
 * The MCP tools, each with an input and an output schema (Effect Schemas; their JSON Schemas are what `tools/list`
 * shows and what clients validate `structuredContent` against):
 *
 * - `chat` (see `ChatTool`);
 * - `models`: every routable name with its target, fallbacks, context window, output cap, capabilities, lifecycle
 *   and mode (the gateway's `/v1/models` entries);
 * - `web_search`: GLM's standalone search API (`POST /web_search`), the results with their URLs;
 * - `extract_file`: a local file uploaded to Kimi's files API (`purpose: file-extract`, size-checked before sending:
 *   1 byte to 100 MB, or the smaller `max_bytes`), its extracted text returned, the uploaded file deleted again.
 *   Only files under `CONDUIT_MCP_FILE_ROOTS` (default: the server's working directory) can be read;
 * - `count_tokens`: the prompt tokens of messages for a model: exact from the provider's endpoint where it has one
 *   (Kimi's estimate endpoint; GLM's tokenizer for the models it documents), else core's estimate.
 *
 * Every call runs through the engine's `SessionManager` (admission, queue, execution timeout, rate limits) with
 * core's retry policy for provider endpoints; a simulated provider's answer says it is simulated.
 */
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import type { OpenAiCompatProvider } from "@conduitkit/core"
import { RequestContext, RetryPolicy, TokenEstimator } from "@conduitkit/core"
import { ModelsRoute } from "@conduitkit/gateway"
import { GlmTokenizer, GlmWebSearch } from "@conduitkit/provider-glm"
import { KimiClient, KimiFiles, KimiTokenizer } from "@conduitkit/provider-kimi"
import { Effect, Schema } from "effect"
import type { AiError } from "effect/ai"
import * as ChatTool from "./ChatTool.js"
import { type Engine, ToolError } from "./Engine.js"

/** A tool: its name, description, schemas, and how it runs. */
export interface ToolDefinition<I = unknown, O = unknown> {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly input: Schema.Codec<I, unknown>
  readonly output: Schema.Codec<O, unknown>
  readonly run: (input: I, context: ChatTool.CallContext) => Effect.Effect<O, unknown>
  /** A short text rendering of the output for the `content` block (the structured output travels as well). */
  readonly render: (output: O) => string
}

const define = <I, O>(tool: ToolDefinition<I, O>): ToolDefinition => tool as unknown as ToolDefinition

// =============================================================================
// Shared
// =============================================================================

const simulatedNotice = ChatTool.simulatedNotice

const unavailable = (provider: string, tool: string, keys: string) =>
  new ToolError(
    "ProviderUnavailable",
    `${tool} needs the ${provider} provider, which is disabled: set ${keys} (or CONDUIT_SIMULATE=1 for its simulation).`,
    "provider_unavailable",
    503
  )

const clientOf = (engine: Engine, provider: string, tool: string, keys: string) => {
  const client = engine.clients.get(provider)
  return client === undefined ? Effect.fail(unavailable(provider, tool, keys)) : Effect.succeed(client)
}

/**
 * Runs a provider endpoint call as one request: admitted by the session manager (same limits as chat), retried by
 * core's retry policy, its attempts counted.
 */
const asRequest = <A>(
  context: ChatTool.CallContext,
  model: string,
  call: Effect.Effect<A, AiError.AiError>
): Effect.Effect<{ readonly value: A; readonly attempts: number }, unknown> => {
  let attempts = 0
  const counted = Effect.suspend(() => {
    attempts++
    return call
  })
  return context.engine.sessions
    .run(RetryPolicy.retry(counted, RetryPolicy.defaults), {
      requestId: context.requestId,
      ...(context.engine.config.rateLimits !== undefined ? { rateLimit: { key: context.keyId, model } } : {})
    })
    .pipe(
      Effect.provideService(RequestContext.RequestContext, {}),
      Effect.map(({ value }) => ({ value, attempts }))
    )
}

// =============================================================================
// models
// =============================================================================

const ModelEntry = Schema.Struct({
  id: Schema.String,
  target: Schema.String,
  owned_by: Schema.String,
  fallbacks: Schema.Array(Schema.String),
  context_window: Schema.Number,
  max_output_tokens: Schema.Number,
  capabilities: Schema.Record(Schema.String, Schema.Unknown),
  lifecycle: Schema.String,
  mode: Schema.optional(Schema.String)
})

const models = define({
  name: "models",
  title: "List models",
  description:
    "Lists the routable model names (models.yaml names such as 'default', and kimi/<model>, glm/<model>) with their target, fallbacks, context window and output cap in tokens, capabilities, lifecycle (active, deprecated, retired) and mode (live or simulated).",
  input: Schema.toCodecJson(
    Schema.Struct({
      provider: Schema.optional(Schema.String.annotate({ description: "Only this provider's names (kimi, glm, ...)." }))
    })
  ),
  output: Schema.toCodecJson(Schema.Struct({ models: Schema.Array(ModelEntry) })),
  run: (input, context) =>
    Effect.sync(() => {
      const modes = context.engine.modes as ReadonlyMap<string, string>
      const all = context.engine.routes.list().map((entry) => ModelsRoute.modelJson(entry, modes))
      const list = input.provider === undefined ? all : all.filter((entry) => entry.owned_by === input.provider)
      return {
        models: list.map(({ object: _object, created: _created, ...rest }) => ({
          ...rest,
          capabilities: rest.capabilities as unknown as Record<string, unknown>,
          ...(rest.mode !== undefined ? { mode: String(rest.mode) } : {})
        }))
      }
    }),
  render: (output) =>
    output.models
      .map((m) => `${m.id} → ${m.target} (${m.lifecycle}${m.mode !== undefined ? `, ${m.mode}` : ""})`)
      .join("\n")
})

// =============================================================================
// web_search
// =============================================================================

const SearchResult = Schema.Struct({
  title: Schema.String,
  url: Schema.optional(Schema.String),
  snippet: Schema.optional(Schema.String),
  site: Schema.optional(Schema.String),
  published: Schema.optional(Schema.String),
  reference: Schema.optional(Schema.String)
})

const webSearch = define({
  name: "web_search",
  title: "Web search (GLM)",
  description:
    "Searches the web with Zhipu GLM's search API and returns the results with their URLs, titles and snippets.",
  input: Schema.toCodecJson(
    Schema.Struct({
      query: Schema.String.check(Schema.isMinLength(1)).annotate({ description: "What to search for." }),
      count: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
      recency: Schema.optional(Schema.Literals(["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"])),
      domain: Schema.optional(Schema.String.annotate({ description: "Only results from this domain." })),
      content_size: Schema.optional(Schema.Literals(["medium", "high"]))
    })
  ),
  output: Schema.toCodecJson(
    Schema.Struct({ query: Schema.String, results: Schema.Array(SearchResult), simulated: Schema.Boolean })
  ),
  run: (input, context) =>
    Effect.gen(function* () {
      const client = yield* clientOf(context.engine, "glm", "web_search", "ZAI_API_KEY or ZHIPUAI_API_KEY")
      const request: GlmWebSearch.SearchRequest = {
        search_query: input.query,
        ...(input.count !== undefined ? { count: input.count } : {}),
        ...(input.recency !== undefined ? { search_recency_filter: input.recency } : {}),
        ...(input.domain !== undefined ? { search_domain_filter: input.domain } : {}),
        ...(input.content_size !== undefined ? { content_size: input.content_size } : {})
      }
      const { value } = yield* asRequest(context, "glm/web_search", GlmWebSearch.searchWith(client, request))
      const text = (value: string | null | undefined) =>
        value === null || value === undefined || value === "" ? {} : value
      return {
        query: input.query,
        simulated: context.engine.modes.get("glm") === "simulated",
        results: value.results.map((result) => ({
          title: result.title ?? result.link ?? "",
          ...optional("url", text(result.link)),
          ...optional("snippet", text(result.content)),
          ...optional("site", text(result.media)),
          ...optional("published", text(result.publish_date)),
          ...optional("reference", text(result.refer))
        }))
      }
    }),
  render: (output) =>
    `${output.simulated ? simulatedNotice("glm") : ""}${output.results
      .map(
        (r, i) =>
          `${i + 1}. ${r.title}${r.url !== undefined ? ` <${r.url}>` : ""}${r.snippet !== undefined ? `\n   ${r.snippet}` : ""}`
      )
      .join("\n")}`
})

const optional = (key: string, value: string | Record<string, never>) =>
  typeof value === "string" ? { [key]: value } : {}

// =============================================================================
// extract_file
// =============================================================================

/** The directories `extract_file` may read (`CONDUIT_MCP_FILE_ROOTS`, comma-separated; default: the working directory). */
export const fileRoots = (env: string | undefined = process.env.CONDUIT_MCP_FILE_ROOTS): ReadonlyArray<string> =>
  (env ?? "")
    .split(",")
    .map((root) => root.trim())
    .filter((root) => root !== "")
    .map((root) => NodePath.resolve(root))
    .concat(env === undefined || env.trim() === "" ? [process.cwd()] : [])

/** Resolves `path` (symlinks included) and checks it lies under one of `roots`. */
export const checkRoot = (path: string, roots: ReadonlyArray<string>): Effect.Effect<string, ToolError> =>
  Effect.gen(function* () {
    const real = yield* Effect.tryPromise({
      try: () => Fs.promises.realpath(NodePath.resolve(path)),
      catch: () => new ToolError("InvalidRequestError", `cannot read ${path}: no such file`, "file_not_found")
    })
    const inside = roots.some((root) => {
      let base = root
      try {
        base = Fs.realpathSync(root)
      } catch {
        // a root that does not exist admits nothing but itself
      }
      const relative = NodePath.relative(base, real)
      return relative === "" || (!relative.startsWith("..") && !NodePath.isAbsolute(relative))
    })
    return inside
      ? real
      : yield* Effect.fail(
          new ToolError(
            "InvalidRequestError",
            `${path} is outside the directories this server may read (CONDUIT_MCP_FILE_ROOTS)`,
            "path_not_allowed",
            403
          )
        )
  })

const extractFile = (roots: ReadonlyArray<string>) =>
  define({
    name: "extract_file",
    title: "Extract a file's text (Kimi)",
    description:
      "Uploads a local file (PDF, Word, text, images with text, ...) to Moonshot Kimi's file extraction and returns its text. The path must be under the server's allowed directories; files of 1 byte to 100 MB (or max_bytes) are sent, others refused before uploading.",
    input: Schema.toCodecJson(
      Schema.Struct({
        path: Schema.String.check(Schema.isMinLength(1)).annotate({ description: "The file's path on the server." }),
        max_bytes: Schema.optional(
          Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
            description: "Refuse files larger than this many bytes (at most 100 MB)."
          })
        )
      })
    ),
    output: Schema.toCodecJson(
      Schema.Struct({
        filename: Schema.String,
        bytes: Schema.Number,
        content: Schema.String,
        title: Schema.optional(Schema.String),
        file_type: Schema.optional(Schema.String),
        simulated: Schema.Boolean
      })
    ),
    run: (input, context) =>
      Effect.gen(function* () {
        const client = yield* clientOf(context.engine, "kimi", "extract_file", "MOONSHOT_API_KEY or KIMI_API_KEY")
        const path = yield* checkRoot(input.path, roots)
        const maxBytes = Math.min(input.max_bytes ?? KimiFiles.defaultMaxBytes, KimiFiles.defaultMaxBytes)
        const checked = yield* KimiFiles.checkPath(path, maxBytes)
        const provided = <A>(effect: Effect.Effect<A, AiError.AiError, KimiClient.KimiClient>) =>
          Effect.provideService(effect, KimiClient.KimiClient, client)
        // one upload per call (never retried: a retry could upload twice); reading the content is retried
        const file = yield* provided(KimiFiles.upload({ path: checked.path, maxBytes }))
        const extracted = yield* asRequest(context, "kimi/files", provided(KimiFiles.content(file.id))).pipe(
          Effect.ensuring(provided(KimiFiles.remove(file.id)).pipe(Effect.ignore))
        )
        const content = extracted.value.content
        return {
          filename: file.filename ?? NodePath.basename(checked.path),
          bytes: checked.bytes,
          content: content?.content ?? extracted.value.raw,
          ...(content?.title ? { title: content.title } : {}),
          ...(content?.file_type ? { file_type: content.file_type } : {}),
          simulated: context.engine.modes.get("kimi") === "simulated"
        }
      }),
    render: (output) => `${output.simulated ? simulatedNotice("kimi") : ""}${output.content}`
  })

// =============================================================================
// count_tokens
// =============================================================================

const countTokens = define({
  name: "count_tokens",
  title: "Count tokens",
  description:
    "Counts the prompt tokens of a prompt or messages for a model: exactly with the provider's own endpoint where it has one (Kimi; GLM for glm-4.6, glm-4.6v, glm-4.5), else with Conduit's estimate.",
  input: Schema.toCodecJson(
    Schema.Struct({
      model: ChatTool.Input.fields.model,
      prompt: ChatTool.Input.fields.prompt,
      messages: ChatTool.Input.fields.messages,
      system: ChatTool.Input.fields.system
    })
  ),
  output: Schema.toCodecJson(
    Schema.Struct({
      model: Schema.String,
      provider: Schema.String,
      input_tokens: Schema.Number,
      exact: Schema.Boolean,
      simulated: Schema.Boolean
    })
  ),
  run: (input, context) =>
    Effect.gen(function* () {
      const messages = yield* ChatTool.toMessages(input)
      const route = yield* context.engine.routes.resolve(input.model)
      const client = context.engine.clients.get(route.provider)
      const exact = (count: Effect.Effect<number, AiError.AiError>) =>
        Effect.map(asRequest(context, route.name, count), ({ value }) => ({ tokens: value, exact: true }))
      const counted: { readonly tokens: number; readonly exact: boolean } =
        client !== undefined && route.provider === "kimi"
          ? yield* exact(
              KimiTokenizer.countTokens({ model: route.model, messages }).pipe(
                Effect.provideService(KimiClient.KimiClient, client as OpenAiCompatProvider.ProviderClient)
              )
            )
          : client !== undefined && route.provider === "glm" && GlmTokenizer.supportedModels.includes(route.model)
            ? yield* exact(
                Effect.map(GlmTokenizer.countWith(client, { model: route.model, messages }), (c) => c.promptTokens)
              )
            : { tokens: TokenEstimator.estimateMessages(messages), exact: false }
      return {
        model: input.model,
        provider: route.provider,
        input_tokens: counted.tokens,
        exact: counted.exact,
        simulated: context.engine.modes.get(route.provider) === "simulated"
      }
    }),
  render: (output) =>
    `${output.simulated ? simulatedNotice(output.provider) : ""}${output.input_tokens} tokens (${output.exact ? "exact" : "estimated"}) for ${output.model}`
})

// =============================================================================
// The list
// =============================================================================

const chat = define({
  name: "chat",
  title: "Chat with Kimi or GLM",
  description:
    "Asks a model (a route name such as 'default', or kimi/<model>, glm/<model>) and returns its answer, with retries, timeouts and fallbacks. Give 'prompt' or 'messages', optionally 'system'. With stream=true the answer's text deltas arrive as progress notifications.",
  input: Schema.toCodecJson(ChatTool.Input),
  output: Schema.toCodecJson(ChatTool.Output),
  run: ChatTool.run,
  render: (output) => output.text
})

/** Every tool, in the order `tools/list` shows them; `roots` are the directories `extract_file` may read. */
export const all = (roots: ReadonlyArray<string> = fileRoots()): ReadonlyArray<ToolDefinition> => [
  chat,
  models,
  webSearch,
  extractFile(roots),
  countTokens
]
