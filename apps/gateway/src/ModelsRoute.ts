/**
 * `GET /v1/models` and `GET /v1/models/{name}`: every routable name with its target, fallbacks, context window,
 * output limit, capabilities and lifecycle, in OpenAI's list shape plus these fields (and `mode` when the provider
 * is simulated or configured). The JSON is built once, when the gateway starts.
 */
import type { ModelCatalog } from "@conduitkit/core"
import type { Model } from "openai/resources/models"
import type * as ModelRoutes from "./ModelRoutes.js"

/** The model listing of a gateway. */
export interface ModelsRoute {
  /** The `{ object: "list", data }` JSON. */
  readonly list: string
  /**
   * One entry by the name in the path (URL-decoded; a malformed escape is looked up as sent): its JSON, or
   * `undefined` when the name is not routable.
   */
  readonly lookup: (raw: string) => { readonly name: string; readonly json: string | undefined }
}

/**
 * A model listing entry in OpenAI's shape (the `openai` SDK's `Model`: `id`, `object`, `created`, `owned_by`) plus
 * Conduit's fields (`target`, `fallbacks`, `context_window`, `max_output_tokens` in tokens, `capabilities`,
 * `lifecycle`, and `mode` when the provider's mode is known).
 */
export interface ModelJson extends Readonly<Model> {
  readonly target: string
  readonly fallbacks: ReadonlyArray<string>
  readonly context_window: number
  readonly max_output_tokens: number
  readonly capabilities: ModelCatalog.Capabilities
  readonly lifecycle: ModelCatalog.Lifecycle["status"]
  readonly mode?: string | undefined
}

/** @see {@link ModelJson} */
export const modelJson = (entry: ModelRoutes.Listing, modes: ReadonlyMap<string, string>): ModelJson => ({
  id: entry.name,
  object: "model",
  created: 0,
  owned_by: entry.provider,
  target: `${entry.provider}/${entry.model}`,
  fallbacks: entry.fallbacks,
  context_window: entry.info.contextWindow,
  max_output_tokens: entry.info.maxOutputTokens,
  capabilities: entry.info.capabilities,
  lifecycle: entry.info.lifecycle.status,
  ...(modes.has(entry.provider) ? { mode: modes.get(entry.provider) } : {})
})

/** The listing of `routes`; `modes`: each provider's mode by name. */
export const make = (routes: ModelRoutes.ModelRoutes, modes: ReadonlyMap<string, string>): ModelsRoute => {
  const listing = routes.list().map((entry) => modelJson(entry, modes))
  const byName = new Map(listing.map((entry) => [entry.id, JSON.stringify(entry)] as const))
  return {
    list: JSON.stringify({ object: "list", data: listing }),
    lookup: (raw) => {
      let name = raw
      try {
        name = decodeURIComponent(raw)
      } catch {
        // a malformed escape: look the name up as sent
      }
      return { name, json: byName.get(name) }
    }
  }
}
