/**
 * `POST /v1/embeddings`: OpenAI's `CreateEmbeddingRequest` in, `CreateEmbeddingResponse` out.
 *
 * 1. Read the body like the chat route (size limit, UTF-8, JSON), check it: `model` (string), `input` (a non-empty
 *    string, or 1 to 2,048 non-empty strings), `dimensions` (integer >= 1), `encoding_format` (`float` | `base64`),
 *    `user` (string). Token-array inputs (OpenAI's integer form) have no meaning for another provider's tokenizer
 *    and answer 400 `unsupported_input`.
 * 2. Resolve the name ({@link resolve}): a models.yaml name (its target), `provider/model`, or a bare id one provider's
 *    embedding catalog lists (`embedding-3`). A provider without embedding models (Kimi) answers 400
 *    `model_not_supported` naming the models that embed; an unknown provider or name 404 `model_not_found`.
 * 3. Run the provider's `EmbeddingModel` (batching within its limits, retries) through the `SessionManager` (same
 *    admission, queue, timeout and rate limits as chat; `x-session-id` names the session), counting upstream
 *    attempts.
 * 4. Answer `{ object: "list", data: [{ object: "embedding", index, embedding }], model, usage: { prompt_tokens,
 *    total_tokens } }`; with `encoding_format: "base64"` (what the `openai` SDK asks for by default) each vector is
 *    the base64 of its little-endian float32 bytes. Headers as chat: `x-request-id`, `x-conduit-provider`,
 *    `x-conduit-attempts`.
 */
import { type EmbeddingCatalog, RequestContext, TokenEstimator } from "@conduitkit/core"
import { Effect, type Scope } from "effect"
import { EmbeddingModel } from "effect/ai"
import { type HttpServerRequest, HttpServerResponse } from "effect/http"
import type { CreateEmbeddingResponse, Embedding } from "openai/resources/embeddings"
import * as ChatRequest from "./ChatRequest.js"
import * as Engine from "./Engine.js"
import * as Errors from "./Errors.js"
import * as RequestBody from "./RequestBody.js"

/** A checked embeddings request (OpenAI's `CreateEmbeddingRequest`, string inputs only). */
export interface EmbeddingRequest {
  readonly model: string
  readonly inputs: ReadonlyArray<string>
  readonly dimensions: number | undefined
  readonly encodingFormat: "float" | "base64"
}

const isNonEmptyString = (value: unknown): value is string => typeof value === "string" && value !== ""

/**
 * Checks a parsed body (pure). Fails with a 400 naming the field.
 */
export const decodeRequest = (body: unknown): Effect.Effect<EmbeddingRequest, Errors.GatewayError> => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return Effect.fail(Errors.badRequest("The request body must be a JSON object.", "invalid_type"))
  }
  const value = body as Record<string, unknown>
  if (typeof value.model !== "string" || value.model === "") {
    return Effect.fail(Errors.badRequest("model is required: a model name (string).", "invalid_type", "model"))
  }
  const input = value.input
  if (Array.isArray(input) && input.length > 0 && input.every((item) => typeof item !== "string")) {
    return Effect.fail(
      Errors.badRequest(
        "Token-array input is not supported: the gateway's providers use their own tokenizers. Send the text as a string or an array of strings.",
        "unsupported_input",
        "input"
      )
    )
  }
  const inputs = typeof input === "string" ? [input] : input
  if (
    !Array.isArray(inputs) ||
    inputs.length === 0 ||
    inputs.length > 2048 ||
    !inputs.every((item) => isNonEmptyString(item))
  ) {
    return Effect.fail(
      Errors.badRequest(
        "input must be a non-empty string or an array of 1 to 2048 non-empty strings.",
        "invalid_value",
        "input"
      )
    )
  }
  const dimensions = value.dimensions
  if (dimensions !== undefined && (!Number.isInteger(dimensions) || (dimensions as number) < 1)) {
    return Effect.fail(Errors.badRequest("dimensions must be an integer >= 1.", "invalid_value", "dimensions"))
  }
  const format = value.encoding_format
  if (format !== undefined && format !== "float" && format !== "base64") {
    return Effect.fail(
      Errors.badRequest("encoding_format must be 'float' or 'base64'.", "invalid_value", "encoding_format")
    )
  }
  if (value.user !== undefined && typeof value.user !== "string") {
    return Effect.fail(Errors.badRequest("user must be a string.", "invalid_type", "user"))
  }
  return Effect.succeed({
    model: value.model,
    inputs: inputs as ReadonlyArray<string>,
    dimensions: dimensions as number | undefined,
    encodingFormat: format ?? "float"
  })
}

/** A name resolved to a provider's embedding model. */
export interface Target {
  readonly provider: string
  readonly model: string
  readonly embeddings: EmbeddingCatalog.EmbeddingProvider
}

/** What {@link resolve} needs: the providers and the routable chat names (models.yaml names map to their target). */
export interface Resolver {
  readonly providers: ReadonlyMap<string, { readonly embeddings?: EmbeddingCatalog.EmbeddingProvider | undefined }>
  readonly aliases: ReadonlyMap<string, { readonly provider: string; readonly model: string }>
}

/** Every `provider/model` that embeds, for messages. */
const embeddingNames = (resolver: Resolver): Array<string> =>
  [...resolver.providers].flatMap(([provider, entry]) =>
    (entry.embeddings?.catalog.list ?? []).map((info) => `${provider}/${info.id}`)
  )

/**
 * Resolves an embeddings model name (pure; see the module docs). Fails with 404 `model_not_found` or 400
 * `model_not_supported`.
 */
export const resolve = (resolver: Resolver, name: string): Effect.Effect<Target, Errors.GatewayError> => {
  let provider: string
  let model: string
  const alias = resolver.aliases.get(name)
  const slash = name.indexOf("/")
  if (alias !== undefined) {
    ;({ provider, model } = alias)
  } else if (slash > 0) {
    provider = name.slice(0, slash)
    model = name.slice(slash + 1)
  } else {
    for (const [candidate, entry] of resolver.providers) {
      if (entry.embeddings?.catalog.get(name) !== undefined) {
        return Effect.succeed({ provider: candidate, model: name, embeddings: entry.embeddings })
      }
    }
    return Effect.fail(Errors.modelNotFound(name))
  }
  const entry = resolver.providers.get(provider)
  if (entry === undefined || model === "") return Effect.fail(Errors.modelNotFound(name))
  if (entry.embeddings === undefined) {
    const available = embeddingNames(resolver)
    return Effect.fail(
      Errors.badRequest(
        `The model '${name}' has no embeddings: the ${provider} provider offers no embedding models.${
          available.length > 0 ? ` Models with embeddings: ${available.join(", ")}.` : ""
        }`,
        "model_not_supported",
        "model"
      )
    )
  }
  return Effect.succeed({ provider, model, embeddings: entry.embeddings })
}

/** A vector as the base64 of its little-endian float32 bytes (OpenAI's `encoding_format: "base64"`). */
export const toBase64 = (vector: ReadonlyArray<number>): string => {
  const bytes = Buffer.alloc(vector.length * 4)
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] ?? 0, i * 4)
  return bytes.toString("base64")
}

/** The OpenAI response body (pure). */
export const toResponse = (
  request: EmbeddingRequest,
  response: EmbeddingModel.EmbedManyResponse
): EmbeddingResponse => {
  const tokens =
    response.usage.inputTokens ?? request.inputs.reduce((sum, text) => sum + TokenEstimator.estimateText(text), 0)
  return {
    object: "list",
    data: response.embeddings.map((embedding, index) => ({
      object: "embedding",
      index,
      embedding: request.encodingFormat === "base64" ? toBase64(embedding.vector) : embedding.vector
    })),
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens }
  }
}

/**
 * The answer: the `openai` SDK's `CreateEmbeddingResponse`, whose `embedding` may also be the base64 string of the
 * vector's little-endian float32 bytes (`encoding_format: "base64"`, which the SDK's type does not spell).
 */
export type EmbeddingResponse = Omit<CreateEmbeddingResponse, "data"> & {
  readonly data: ReadonlyArray<Omit<Embedding, "embedding"> & { readonly embedding: ReadonlyArray<number> | string }>
}

/** What the route needs from the gateway. */
export type Dependencies = Pick<Engine.Dependencies, "config" | "sessions" | "metrics"> & {
  readonly resolver: Resolver
}

/**
 * Handles one embeddings request. Never fails: every failure becomes an OpenAI error response. Reports through
 * `info.done` exactly once.
 */
export const handle = (
  deps: Dependencies,
  request: HttpServerRequest.HttpServerRequest,
  info: Engine.RequestInfo
): Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope> =>
  Effect.gen(function* () {
    const sessionHeader = yield* Effect.fromResult(
      ChatRequest.identifierHeader(request.headers["x-session-id"], "x-session-id")
    )
    const body = yield* decodeRequest(yield* RequestBody.readJson(request, deps.config.maxBodyBytes))
    info.fields.model = body.model.length > 200 ? `${body.model.slice(0, 200)}…` : body.model
    const target = yield* resolve(deps.resolver, body.model)
    let attempts = 0
    const requestContext: RequestContext.RequestContextShape = {
      onAttempt: () => {
        attempts++
        deps.metrics.attempt(target.provider)
        if (attempts > 1) deps.metrics.retry(target.provider, 1)
      }
    }
    const estimate = body.inputs.reduce((sum, text) => sum + TokenEstimator.estimateText(text), 0)
    const limits = deps.config.rateLimits
    const work = Effect.flatMap(Effect.service(EmbeddingModel.EmbeddingModel), (model) =>
      model.embedMany(body.inputs)
    ).pipe(Effect.provide(target.embeddings.layer(target.model, { dimensions: body.dimensions })))
    const { value, metadata } = yield* deps.sessions
      .run(work, {
        sessionId: sessionHeader !== undefined ? `${info.keyId}:${sessionHeader}` : undefined,
        requestId: info.requestId,
        ...(limits !== undefined
          ? {
              rateLimit: {
                key: info.keyId,
                model: body.model,
                tokens: estimate,
                actualTokens: (response) => response.usage.inputTokens
              }
            }
          : {})
      })
      .pipe(Effect.provideService(RequestContext.RequestContext, requestContext))
    info.fields.provider = target.provider
    info.fields.attempts = attempts
    info.fields.inputTokens = value.usage.inputTokens
    deps.metrics.tokens(target.provider, { input: value.usage.inputTokens ?? 0, cached: 0, output: 0, reasoning: 0 })
    yield* info.done(200)
    return HttpServerResponse.text(JSON.stringify(toResponse(body, value)), {
      headers: {
        "content-type": "application/json",
        "x-request-id": info.requestId,
        "x-conduit-provider": target.provider,
        "x-conduit-attempts": String(metadata.attempts ?? attempts)
      }
    })
  }).pipe(
    Effect.catchCause((cause) =>
      Effect.flatMap(Engine.failed(deps, info, "embeddings", cause), (http) =>
        Effect.as(info.done(http.status), Errors.errorResponse(http, info.requestId))
      )
    )
  )
