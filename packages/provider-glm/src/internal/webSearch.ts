/**
 * Pure helpers of the `web_search` built-in tool: its arguments schema, its wire declaration, and the conversion of
 * Zhipu's search results into `effect/ai` source parts. Public API in `GlmWebSearch`.
 *
 * Sources: ZAI-OAS `WebSearchObject`; ZAI-DOCS-4.6 `67_docs_z_ai_guides_tools_web-search.md`; fixture
 * `glm/docs/zai_docs_web_search_in_chat_response_example.json` (top-level `web_search` array).
 */
import type { ChatCompletions } from "@conduitkit/core"
import { Schema } from "effect"
import { type Response, Tool } from "effect/ai"

/** The fields of the `web_search` tool object (ZAI-OAS `WebSearchObject`). */
export const WebSearchArgs = Schema.Struct({
  enable: Schema.optional(Schema.Boolean),
  search_engine: Schema.optional(Schema.String),
  search_query: Schema.optional(Schema.String),
  search_result: Schema.optional(Schema.Boolean),
  require_search: Schema.optional(Schema.Boolean),
  search_prompt: Schema.optional(Schema.String),
  count: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
  search_domain_filter: Schema.optional(Schema.String),
  search_recency_filter: Schema.optional(Schema.Literals(["oneDay", "oneWeek", "oneMonth", "oneYear", "noLimit"])),
  content_size: Schema.optional(Schema.Literals(["medium", "high"])),
  result_sequence: Schema.optional(Schema.Literals(["before", "after"]))
})

export type WebSearchArgs = typeof WebSearchArgs.Type

/** The id of the provider-defined tool. */
export const toolId = "glm.web_search"

/** The engine used when none is given: the one docs.z.ai uses in its examples. */
export const defaultEngine = "search-prime"

/**
 * The wire declaration. Defaults: `enable: true` (the API's default is false, which would make the tool a no-op),
 * `search_engine: "search-prime"`, `search_result: true` (return the results, so they become source parts).
 */
export const wireTool = (args: WebSearchArgs | undefined): ChatCompletions.RequestTool => ({
  type: "web_search",
  web_search: { enable: true, search_engine: defaultEngine, search_result: true, ...args }
})

/** core's `providerTool` hook: the wire declaration of the GLM web search tool, `undefined` for other tools. */
export const providerTool = (tool: Tool.Any): ChatCompletions.RequestTool | undefined =>
  Tool.isProviderDefined(tool) && tool.id === toolId ? wireTool(tool.args as WebSearchArgs | undefined) : undefined

/** One search result as Zhipu returns it (chat `web_search` items and `/web_search` `search_result` items). */
export interface SearchResult {
  readonly title?: string | null | undefined
  readonly content?: string | null | undefined
  readonly link?: string | null | undefined
  readonly media?: string | null | undefined
  readonly icon?: string | null | undefined
  readonly refer?: string | null | undefined
  readonly publish_date?: string | null | undefined
}

const httpUrl = (link: string | null | undefined): string | undefined => {
  if (typeof link !== "string" || link === "") return undefined
  try {
    const url = new URL(link)
    return url.protocol === "http:" || url.protocol === "https:" ? url.toString() : undefined
  } catch {
    return undefined
  }
}

/**
 * Search results as source parts: a `url` source per result with an http(s) link (a `document` source otherwise),
 * id = the reference id (`refer`, e.g. `ref_1`, what the answer cites) or `web_search_<n>`, title, and
 * `metadata.glm = { refer, media, publishDate, icon, content }` (empty strings omitted).
 */
export const toSourceParts = (results: ReadonlyArray<SearchResult>): Array<Response.PartEncoded> =>
  results.map((result, index) => {
    const id = typeof result.refer === "string" && result.refer !== "" ? result.refer : `web_search_${index}`
    const title = typeof result.title === "string" && result.title !== "" ? result.title : (result.link ?? id)
    const glm: Record<string, string> = {}
    if (result.refer) glm.refer = result.refer
    if (result.media) glm.media = result.media
    if (result.publish_date) glm.publishDate = result.publish_date
    if (result.icon) glm.icon = result.icon
    if (result.content) glm.content = result.content
    const url = httpUrl(result.link)
    return url !== undefined
      ? { type: "source", sourceType: "url", id, url, title, metadata: { glm } }
      : { type: "source", sourceType: "document", id, mediaType: "text/plain", title, metadata: { glm } }
  })

/** core's `extraParts` hook: the top-level `web_search` array of a body or chunk as source parts. */
export const extraParts = (
  body: ChatCompletions.ChatCompletion | ChatCompletions.ChatCompletionChunk
): ReadonlyArray<Response.PartEncoded> => {
  const results = body.web_search
  return results === undefined || results === null || results.length === 0 ? [] : toSourceParts(results)
}
