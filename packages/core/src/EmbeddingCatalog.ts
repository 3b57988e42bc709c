/**
 * Embedding models: their metadata (`EmbeddingModelInfo`), a provider's catalog of them, how a batch of inputs is
 * split to fit a provider's limits, and the registry's view of a provider that embeds (`EmbeddingProvider`).
 *
 * Limits are information for batching (an adaptation: a request is split, never refused); an unknown id is passed
 * through with {@link unknownModel}'s conservative limits, like chat models.
 *
 * @since 0.1.0
 */
import type { Layer } from "effect"
import type { EmbeddingModel } from "effect/ai"
import type * as ModelCatalog from "./ModelCatalog.js"
import * as TokenEstimator from "./TokenEstimator.js"

/**
 * One embedding model. Sizes in tokens, vectors in dimensions (numbers per vector).
 *
 * - `dimensions`: the vector length when the caller asks for none.
 * - `dimensionOptions`: the values `dimensions` accepts; `undefined` when the model has one fixed length (the
 *   parameter is then not sent).
 * - `maxInputs`: inputs per upstream request; `maxInputTokens`: tokens per input; `maxBatchTokens`: tokens per
 *   upstream request (all inputs together).
 * - `source`: where the numbers come from ("UNCONFIRMED" marks numbers no official page confirms).
 *
 * @since 0.1.0
 */
export interface EmbeddingModelInfo {
  readonly id: string
  readonly provider: string
  readonly aliases?: ReadonlyArray<string> | undefined
  readonly dimensions: number
  readonly dimensionOptions?: ReadonlyArray<number> | undefined
  readonly maxInputs: number
  readonly maxInputTokens: number
  readonly maxBatchTokens: number
  readonly lifecycle: ModelCatalog.Lifecycle
  /** The model is not in the catalog; these are conservative defaults. */
  readonly unknown?: boolean | undefined
  readonly source?: string | undefined
}

/**
 * The info of an unknown id: 16 inputs and 8,192 tokens per request, 512 tokens per input, dimensions as the
 * provider defaults (`0`: not known, `dimensions` sent only when the caller asks).
 *
 * @since 0.1.0
 */
export const unknownModel = (provider: string, id: string): EmbeddingModelInfo => ({
  id,
  provider,
  dimensions: 0,
  maxInputs: 16,
  maxInputTokens: 512,
  maxBatchTokens: 8_192,
  lifecycle: { status: "active" },
  unknown: true
})

/**
 * A provider's embedding catalog: `get` by id or alias (case-insensitive), `resolve` (unknown ids passed through
 * with {@link unknownModel}), `list`.
 *
 * @since 0.1.0
 */
export interface Catalog {
  readonly provider: string
  readonly list: ReadonlyArray<EmbeddingModelInfo>
  readonly get: (id: string) => EmbeddingModelInfo | undefined
  readonly resolve: (id: string) => EmbeddingModelInfo
}

/**
 * Builds a catalog. A duplicate id or alias throws at construction (a programming error).
 *
 * @since 0.1.0
 */
export const make = (provider: string, models: ReadonlyArray<EmbeddingModelInfo>): Catalog => {
  const byName = new Map<string, EmbeddingModelInfo>()
  for (const model of models) {
    for (const name of [model.id, ...(model.aliases ?? [])]) {
      const key = name.toLowerCase()
      if (byName.has(key)) throw new Error(`duplicate embedding model id or alias in the ${provider} catalog: ${name}`)
      byName.set(key, model)
    }
  }
  const get = (id: string) => byName.get(id.toLowerCase())
  return { provider, list: models, get, resolve: (id) => get(id) ?? unknownModel(provider, id) }
}

/**
 * Splits inputs into consecutive batches of at most `maxInputs` inputs and at most `maxBatchTokens` estimated tokens
 * each (core's `TokenEstimator`; an input estimated above the batch budget travels alone, and the provider decides).
 * Returns the batches as index ranges `[start, end)` over `inputs`, in order. Pure.
 *
 * @since 0.1.0
 */
export const batches = (
  inputs: ReadonlyArray<string>,
  limits: Pick<EmbeddingModelInfo, "maxInputs" | "maxBatchTokens">
): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  const maxInputs = Math.max(1, limits.maxInputs)
  let start = 0
  let tokens = 0
  for (let i = 0; i < inputs.length; i++) {
    const cost = TokenEstimator.estimateText(inputs[i] ?? "")
    if (i > start && (i - start >= maxInputs || tokens + cost > limits.maxBatchTokens)) {
      out.push([start, i])
      start = i
      tokens = 0
    }
    tokens += cost
  }
  if (inputs.length > start) out.push([start, inputs.length])
  return out
}

/**
 * Per-call options of an embedding model: `dimensions` (sent only when the model has `dimensionOptions`, or is
 * unknown).
 *
 * @since 0.1.0
 */
export interface EmbeddingConfig {
  readonly dimensions?: number | undefined
}

/**
 * A provider that embeds, as the registry and the gateway see it: its embedding catalog and a factory of fully
 * configured `EmbeddingModel` layers (client and key inside).
 *
 * @since 0.1.0
 */
export interface EmbeddingProvider {
  readonly catalog: Catalog
  readonly layer: (model: string, config?: EmbeddingConfig) => Layer.Layer<EmbeddingModel.EmbeddingModel>
}
