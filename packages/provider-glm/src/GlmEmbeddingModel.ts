/**
 * GLM's embedding models (`embedding-3`, `embedding-2`) as `effect/ai` `EmbeddingModel`s, over `POST /embeddings`.
 *
 * Wire: `{ model, input: string | string[], dimensions? }` → `{ model, object: "list", data: [{ index, object:
 * "embedding", embedding }], usage: { prompt_tokens, completion_tokens, total_tokens } }` (counts in tokens).
 *
 * - Batching: `embedMany` (and concurrent `embed` calls, which effect/ai groups) are split into upstream requests
 *   within the model's limits ({@link models}: inputs and estimated tokens per request); the vectors come back in
 *   input order, the usage is the sum of the batches' `prompt_tokens`. Limits only split, they never refuse.
 * - `dimensions`: sent when the caller sets it (`embedding-3` accepts 256, 512, 1024 or 2048); for a model with one
 *   fixed length (`embedding-2`, 1024), a request for that same length is not sent.
 * - Each upstream request runs under core's retry policy (`RetryPolicy.CallRetryPolicy` overrides it per call) and
 *   reports its attempts through core's `RequestContext`; failures are the GLM error table's `AiError` reasons.
 *
 * Sources: glm.md §6 (`POST /embeddings`): BM-DOCS https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入
 * (request and response fields, embedding-3 dimensions 256/512/1024/2048 default 2048), the embedding-2 model card
 * (1024 dimensions), ZAI-SDK-PY `api_resource/embeddings/embeddings.py`. The per-input, per-request and batch-size
 * limits come from a secondary transcription of Zhipu's docs and are UNCONFIRMED.
 *
 * @since 0.1.0
 */
import { EmbeddingCatalog, type OpenAiCompatProvider, RequestContext, RetryPolicy } from "@conduitkit/core"
import { Effect, Layer, Schema } from "effect"
import { type AiError, EmbeddingModel } from "effect/ai"
import { GlmClient } from "./GlmClient.js"
import * as GlmProvider from "./GlmProvider.js"

const source =
  "glm.md §6: https://docs.bigmodel.cn/api-reference/模型-api/文本嵌入 (dimensions); limits from a secondary transcription, UNCONFIRMED"

/**
 * The embedding catalog: `embedding-3` (2048 dimensions by default, `dimensions` 256 / 512 / 1024 / 2048; 3,072
 * tokens per input, UNCONFIRMED) and `embedding-2` (1024 fixed dimensions; 512 tokens per input, UNCONFIRMED). Both:
 * 64 inputs and 8,192 tokens per request (UNCONFIRMED; embedding-2's input count is not documented anywhere we
 * found and is assumed equal).
 *
 * @since 0.1.0
 */
export const models: ReadonlyArray<EmbeddingCatalog.EmbeddingModelInfo> = [
  {
    id: "embedding-3",
    provider: GlmProvider.name,
    dimensions: 2048,
    dimensionOptions: [256, 512, 1024, 2048],
    maxInputs: 64,
    maxInputTokens: 3072,
    maxBatchTokens: 8192,
    lifecycle: { status: "active" },
    source
  },
  {
    id: "embedding-2",
    provider: GlmProvider.name,
    dimensions: 1024,
    maxInputs: 64,
    maxInputTokens: 512,
    maxBatchTokens: 8192,
    lifecycle: { status: "active" },
    source
  }
]

/**
 * The catalog of {@link models} (unknown ids pass through with core's conservative limits).
 *
 * @since 0.1.0
 */
export const catalog: EmbeddingCatalog.Catalog = EmbeddingCatalog.make(GlmProvider.name, models)

const opt = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * The `/embeddings` response body (extra fields pass).
 *
 * @since 0.1.0
 */
export const EmbeddingResponse = Schema.Struct({
  model: opt(Schema.String),
  object: opt(Schema.String),
  data: Schema.Array(
    Schema.Struct({
      index: opt(Schema.Number),
      object: opt(Schema.String),
      embedding: Schema.Array(Schema.Number)
    })
  ),
  usage: opt(
    Schema.Struct({
      prompt_tokens: opt(Schema.Number),
      completion_tokens: opt(Schema.Number),
      total_tokens: opt(Schema.Number)
    })
  )
})

/** @since 0.1.0 */
export type EmbeddingResponse = typeof EmbeddingResponse.Type

/**
 * Options of a model: `dimensions` (see the module docs) and `retry` (over core's defaults).
 *
 * @since 0.1.0
 */
export interface Config extends EmbeddingCatalog.EmbeddingConfig {
  readonly retry?: RetryPolicy.RetryPolicyInput | undefined
}

/**
 * The wire body for one batch (pure): `dimensions` only when it changes something (see the module docs).
 *
 * @since 0.1.0
 */
export const toWire = (
  info: EmbeddingCatalog.EmbeddingModelInfo,
  inputs: ReadonlyArray<string>,
  dimensions: number | undefined
): Record<string, unknown> => ({
  model: info.id,
  input: inputs,
  ...(dimensions !== undefined && !(info.dimensionOptions === undefined && dimensions === info.dimensions)
    ? { dimensions }
    : {})
})

/**
 * The vectors of a response in input order (by `index` when every item has one, else as sent) and its prompt
 * tokens. Pure.
 *
 * @since 0.1.0
 */
export const fromWire = (
  body: EmbeddingResponse
): { readonly vectors: Array<Array<number>>; readonly inputTokens: number | undefined } => {
  const indexed = body.data.every((item) => typeof item.index === "number")
  const items = indexed ? [...body.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)) : body.data
  return {
    vectors: items.map((item) => [...item.embedding]),
    inputTokens: body.usage?.prompt_tokens ?? body.usage?.total_tokens ?? undefined
  }
}

/**
 * Embeds `inputs` with an explicit client: one upstream request per batch (see the module docs), each under the
 * retry policy. Returns effect/ai's provider response (vectors in input order, summed usage).
 *
 * @since 0.1.0
 */
export const embedManyWith = (
  client: OpenAiCompatProvider.ProviderClient,
  model: string,
  inputs: ReadonlyArray<string>,
  config: Config = {}
): Effect.Effect<EmbeddingModel.ProviderResponse, AiError.AiError> =>
  Effect.gen(function* () {
    const info = catalog.resolve(model)
    const context = yield* RequestContext.RequestContext
    const policy = RetryPolicy.merge(RetryPolicy.defaults, config.retry, yield* RetryPolicy.CallRetryPolicy)
    const results: Array<Array<number>> = []
    let inputTokens: number | undefined
    let attempts = 0
    for (const [start, end] of EmbeddingCatalog.batches(inputs, info)) {
      const body = toWire(info, inputs.slice(start, end), config.dimensions)
      const response = yield* RetryPolicy.retry(
        Effect.suspend(() => {
          context.onAttempt?.(++attempts)
          return client.request({ method: "post", path: "/embeddings", body, schema: EmbeddingResponse })
        }),
        policy
      )
      const batch = fromWire(response.body)
      results.push(...batch.vectors)
      if (batch.inputTokens !== undefined) inputTokens = (inputTokens ?? 0) + batch.inputTokens
    }
    return { results, usage: { inputTokens } }
  })

/**
 * Builds the `EmbeddingModel` service for `model` with the client from context.
 *
 * @since 0.1.0
 */
export const make = (
  model: string,
  config: Config = {}
): Effect.Effect<EmbeddingModel.EmbeddingModel, never, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) =>
    EmbeddingModel.make({ embedMany: ({ inputs }) => embedManyWith(client, model, inputs, config) })
  )

/**
 * An `EmbeddingModel` layer for `model` (needs a `GlmClient`), with effect/ai's `EmbeddingModel.Dimensions` when the
 * vector length is known (the configured `dimensions`, else the catalog's default).
 *
 * @since 0.1.0
 */
export const layer = (
  model: string,
  config: Config = {}
): Layer.Layer<
  EmbeddingModel.EmbeddingModel | EmbeddingModel.Dimensions,
  never,
  OpenAiCompatProvider.ProviderClient
> => {
  const dimensions = config.dimensions ?? catalog.resolve(model).dimensions
  return Layer.merge(
    Layer.effect(EmbeddingModel.EmbeddingModel, make(model, config)),
    dimensions > 0 ? Layer.succeed(EmbeddingModel.Dimensions, dimensions) : Layer.empty
  ) as Layer.Layer<
    EmbeddingModel.EmbeddingModel | EmbeddingModel.Dimensions,
    never,
    OpenAiCompatProvider.ProviderClient
  >
}

/**
 * The registry's view of GLM's embeddings (`ProviderRegistry.ProviderEntry.embeddings`) over one client.
 *
 * @since 0.1.0
 */
export const provider = (client: OpenAiCompatProvider.ProviderClient): EmbeddingCatalog.EmbeddingProvider => ({
  catalog,
  layer: (model, config) => Layer.provide(layer(model, config), Layer.succeed(GlmClient, client))
})
