/**
 * Web search: the `web_search` built-in tool of chat completions, its results as `effect/ai` source parts, and the
 * standalone `POST /web_search` API.
 *
 * In chat: add {@link tool} to a toolkit (or set the `web_search` provider option, `GlmConfig.ProviderOptions`); the
 * server runs the search itself (no tool call reaches your code) and, with `search_result: true` (Conduit's
 * default), returns the results in a top-level `web_search` array that Conduit turns into `source` parts: a `url`
 * source per result with `id` = the reference id the answer cites (`ref_1`, ...), `title`, `url`, and
 * `metadata.glm = { refer, media, publishDate, icon, content }`.
 *
 * Sources: ZAI-OAS `WebSearchObject`, `WebSearchRequest`/`WebSearchResponse`; ZAI-DOCS-4.6
 * `67_docs_z_ai_guides_tools_web-search.md` (https://docs.z.ai/guides/tools/web-search); fixtures
 * `glm/docs/zai_docs_web_search_in_chat_*` and `glm/docs/zai_docs_web_search_api_response_example.txt`. Price
 * $0.01 per search (ZAI-DOCS-4.6 pricing). Whether streams carry `web_search` and where is UNCONFIRMED; any chunk
 * that carries the array yields source parts.
 *
 * @since 0.1.0
 */
import { type OpenAiCompatProvider, ProviderError } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import { type AiError, type Response, Tool } from "effect/ai"
import { GlmClient } from "./GlmClient.js"
import * as Internal from "./internal/webSearch.js"

/**
 * The fields of the `web_search` tool object, all optional:
 *
 * - `enable` (Conduit default `true`; the API's default `false` makes the tool a no-op);
 * - `search_engine` (default `"search-prime"` as in the Z.ai docs; BigModel also lists `search_std`, `search_pro`,
 *   `search_pro_sogou`, `search_pro_quark`, UNCONFIRMED officially);
 * - `search_query` (force a search with this query), `require_search` (answer only from the search);
 * - `search_result` (Conduit default `true`: return the results, so they become source parts);
 * - `search_prompt` (custom prompt; `{{search_result}}` is replaced by the results);
 * - `count` (1–50 results, default 10), `search_domain_filter` (one domain to whitelist),
 *   `search_recency_filter` (`oneDay` | `oneWeek` | `oneMonth` | `oneYear` | `noLimit`),
 *   `content_size` (`medium` ≈ 400–600 characters per result, `high` ≈ 2,500), `result_sequence` (`before` |
 *   `after` the answer).
 *
 * @since 0.1.0
 */
export const Args = Internal.WebSearchArgs

/** @since 0.1.0 */
export type Args = Internal.WebSearchArgs

/**
 * The provider-defined tool (`id: "glm.web_search"`, wire name `web_search`). Executed by Zhipu; add it to a
 * `Toolkit` and read the `source` parts of the response.
 *
 * @since 0.1.0
 */
export const tool = (args: Args = {}) =>
  Tool.providerDefined({
    id: Internal.toolId,
    customName: "GlmWebSearch",
    providerName: "web_search",
    args: Internal.WebSearchArgs
  })(args)

/**
 * The wire declaration of the tool (`{ type: "web_search", web_search: {...} }`) with Conduit's defaults applied.
 *
 * @since 0.1.0
 */
export const toWire = (args: Args = {}) => Internal.wireTool(args)

/**
 * One search result (chat `web_search` item or `/web_search` `search_result` item): `title`, `content` (snippet),
 * `link`, `media` (site name), `icon`, `refer` (reference id, e.g. `ref_1`), `publish_date` (may be `""`).
 *
 * @since 0.1.0
 */
export const SearchResult = Schema.Struct({
  title: Schema.optional(Schema.NullOr(Schema.String)),
  content: Schema.optional(Schema.NullOr(Schema.String)),
  link: Schema.optional(Schema.NullOr(Schema.String)),
  media: Schema.optional(Schema.NullOr(Schema.String)),
  icon: Schema.optional(Schema.NullOr(Schema.String)),
  refer: Schema.optional(Schema.NullOr(Schema.String)),
  publish_date: Schema.optional(Schema.NullOr(Schema.String))
})

/** @since 0.1.0 */
export type SearchResult = typeof SearchResult.Type

/**
 * Results as `effect/ai` source parts (encoded form; see the module docs for the mapping). Pure.
 *
 * @since 0.1.0
 */
export const toSourceParts = (results: ReadonlyArray<SearchResult>): Array<Response.PartEncoded> =>
  Internal.toSourceParts(results)

/**
 * A standalone search (`POST /web_search`).
 *
 * - `search_query` (required); `search_engine` (default `"search-prime"`);
 * - `count` (1–50), `search_domain_filter`, `search_recency_filter`, `content_size`;
 * - `search_intent` (ask the engine to report the detected intent), `request_id` (6–64 characters),
 *   `user_id` (6–128 characters).
 *
 * @since 0.1.0
 */
export const SearchRequest = Schema.Struct({
  search_query: Schema.String.check(Schema.isMinLength(1)),
  search_engine: Schema.optional(Schema.String),
  count: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
  search_domain_filter: Schema.optional(Schema.String),
  search_recency_filter: Schema.optional(Schema.Literals(["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"])),
  content_size: Schema.optional(Schema.Literals(["medium", "high"])),
  search_intent: Schema.optional(Schema.Boolean),
  request_id: Schema.optional(Schema.String.check(Schema.isMinLength(6), Schema.isMaxLength(64))),
  user_id: Schema.optional(Schema.String.check(Schema.isMinLength(6), Schema.isMaxLength(128)))
})

/** @since 0.1.0 */
export type SearchRequest = typeof SearchRequest.Type

const SearchIntent = Schema.Struct({
  query: Schema.optional(Schema.NullOr(Schema.String)),
  intent: Schema.optional(Schema.NullOr(Schema.String)),
  keywords: Schema.optional(Schema.NullOr(Schema.String))
})

/**
 * The `/web_search` response as sent: `{ id, created (unix s), request_id?, search_intent?, search_result }`;
 * `search_result` is an array in the docs example (the Python SDK types it as one object: both are accepted).
 *
 * @since 0.1.0
 */
export const SearchResponseBody = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  created: Schema.optional(Schema.NullOr(Schema.Number)),
  request_id: Schema.optional(Schema.NullOr(Schema.String)),
  search_intent: Schema.optional(Schema.NullOr(Schema.Array(SearchIntent))),
  search_result: Schema.optional(Schema.NullOr(Schema.Union([Schema.Array(SearchResult), SearchResult])))
})

/** @since 0.1.0 */
export type SearchResponseBody = typeof SearchResponseBody.Type

/**
 * A search's outcome: the results, their source parts, the detected intents and the request id.
 *
 * @since 0.1.0
 */
export interface SearchResponse {
  readonly id: string | undefined
  readonly requestId: string | undefined
  readonly created: number | undefined
  readonly intents: ReadonlyArray<typeof SearchIntent.Type>
  readonly results: ReadonlyArray<SearchResult>
  readonly sources: ReadonlyArray<Response.PartEncoded>
}

/**
 * Normalizes a `/web_search` body (pure).
 *
 * @since 0.1.0
 */
export const fromBody = (body: SearchResponseBody): SearchResponse => {
  const raw = body.search_result
  const results: ReadonlyArray<SearchResult> =
    raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw as SearchResult]
  return {
    id: body.id ?? undefined,
    requestId: body.request_id ?? body.id ?? undefined,
    created: body.created ?? undefined,
    intents: body.search_intent ?? [],
    results,
    sources: Internal.toSourceParts(results)
  }
}

// refusal-helper
const preflight = (description: string) =>
  ProviderError.invalidRequest({ provider: "glm", description, module: "GlmWebSearch", method: "search" })

/**
 * Runs a standalone search (`POST {base}/web_search`). Fails with `InvalidRequestError` for a request that does not
 * decode (nothing is sent), and with the GLM error table's reasons for HTTP errors.
 *
 * @since 0.1.0
 */
export const search = (
  request: SearchRequest
): Effect.Effect<SearchResponse, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.gen(function* () {
    const client = yield* GlmClient
    return yield* searchWith(client, request)
  })

/**
 * {@link search} with an explicit client (for the Promise face).
 *
 * @since 0.1.0
 */
export const searchWith = (
  client: OpenAiCompatProvider.ProviderClient,
  request: SearchRequest
): Effect.Effect<SearchResponse, AiError.AiError> =>
  Effect.gen(function* () {
    const checked = yield* Schema.decodeUnknownEffect(SearchRequest)(request).pipe(
      // refusal: glm/web-search-request
      Effect.mapError((error) => preflight(`invalid web search request: ${error.message}`))
    )
    const response = yield* client.request({
      method: "post",
      path: "/web_search",
      body: { search_engine: Internal.defaultEngine, ...checked },
      schema: SearchResponseBody
    })
    const normalized = fromBody(response.body)
    return { ...normalized, requestId: normalized.requestId ?? response.requestId }
  })
