/**
 * Moonshot context caching.
 *
 * Two mechanisms (docs/providers/kimi.md#automatic-prefix-caching, #context-caching-api):
 * - Automatic prefix caching (kimi-latest, the K2 family and later, kimi-k3): nothing to call; cache hits are
 *   reported as `usage.cached_tokens` (core counts them as cached input tokens) and by the response header
 *   `msh-context-cache-token-saved`, surfaced as `contextCacheTokensSaved` in the response metadata. The
 *   `promptCacheKey` provider option improves hit rates.
 * - Explicit caches (the moonshot-v1 family): this module's API. Create a cache of a prompt prefix (messages and
 *   tools; `model` is the model family, e.g. `moonshot-v1`), then reference it per call with the `contextCache`
 *   provider option, either by a `role: "cache"` message (`cache_id=…` or `tag=…`, `reset_ttl=…`, `dry_run=1`; the
 *   cached messages and tools are substituted server-side) or by headers (`X-Msh-Context-Cache`, `-Reset-TTL`,
 *   `-DryRun`; the cached messages must still be sent as the exact prefix). Creation is asynchronous (status
 *   `pending` for ~40–60 s; use is best-effort, a call that cannot use the cache is answered and billed normally).
 *   Limits: 128k tokens per cache, 1M tokens per user, TTL at most 3,600 s.
 *
 * The registry ({@link layerRegistry}) maps a stable hash of a prompt prefix (leading system messages + tools +
 * model family) to a cache id with its expiry, stored through core's `CacheStore` (in memory by default; the cache
 * package supplies Redis), so a repeated prefix reuses its cache: calls with `contextCache: { auto: true }` send
 * the cache message instead of the prefix once the cache is `ready` (until then, the full prompt), with
 * `reset_ttl` when the registry (or the call) sets `resetTtl`. It fails open: a store or API failure means "no
 * cache", never a failed call.
 *
 * Undocumented cache-token request headers seen in other projects (e.g. `Msh-Context-Cache-Token`) are not sent:
 * Moonshot documents `msh-context-cache-token-saved` as a count of tokens saved, not a reusable token.
 *
 * Every API function requires a {@link KimiClient} and fails with an `AiError` (the error table's reasons; 404 for
 * a missing cache or tag; `InvalidRequestError` with `conduit.kind = "preflight"` for arguments Moonshot would
 * refuse; `InvalidResponseError` for a body that does not decode).
 *
 * Sources: docs/providers/kimi.md#context-caching-api ([DOC-EN-25] "Context Caching";
 * https://platform.moonshot.cn/docs/api/caching); fixtures `official-doc-examples/caching-*.json`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { CacheStore, type ChatCompletions, ProviderError } from "@conduitkit/core"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import type { AiError } from "effect/ai"
import { type CacheReference, cacheHeaders, cacheMessageContent } from "./internal/messages.js"
import { type PrefixCache, type PrefixRequest, Registry, type RegistryShape } from "./internal/references.js"
import { KimiClient } from "./KimiClient.js"
import * as KimiModels from "./KimiModels.js"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const opt = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * A cache object: `{ id, status: "pending" | "ready" | "error" | "inactive", object, created_at, tokens,
 * expired_at (unix s), model, messages, tools, name, description, metadata, error? }` (the object string differs
 * between doc versions, so it is not checked).
 *
 * @since 0.1.0
 */
export const ContextCacheObject = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.String,
    status: opt(Schema.String),
    object: opt(Schema.String),
    created_at: opt(Schema.Number),
    tokens: opt(Schema.Number),
    expired_at: opt(Schema.Number),
    model: opt(Schema.String),
    messages: opt(Schema.Array(Schema.Unknown)),
    tools: opt(Schema.Array(Schema.Unknown)),
    name: opt(Schema.String),
    description: opt(Schema.String),
    metadata: opt(Schema.Record(Schema.String, Schema.String)),
    error: opt(Schema.StructWithRest(Schema.Struct({ type: opt(Schema.String), message: opt(Schema.String) }), Rest))
  }),
  Rest
)

/** @since 0.1.0 */
export type ContextCacheObject = typeof ContextCacheObject.Type

/**
 * A list (`{ object?: "list", data }`).
 *
 * @since 0.1.0
 */
export const CacheList = Schema.StructWithRest(
  Schema.Struct({ object: opt(Schema.String), data: Schema.Array(ContextCacheObject) }),
  Rest
)

/**
 * A deletion result (`{ deleted, id?, tag?, object? }`).
 *
 * @since 0.1.0
 */
export const DeleteResult = Schema.StructWithRest(
  Schema.Struct({
    deleted: Schema.Boolean,
    id: opt(Schema.String),
    tag: opt(Schema.String),
    object: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type DeleteResult = typeof DeleteResult.Type

/**
 * A tag: `{ tag, cache_id, created_at, object: "cache_object.tag", owned_by }`.
 *
 * @since 0.1.0
 */
export const CacheTag = Schema.StructWithRest(
  Schema.Struct({
    tag: Schema.String,
    cache_id: Schema.String,
    created_at: opt(Schema.Number),
    object: opt(Schema.String),
    owned_by: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type CacheTag = typeof CacheTag.Type

/**
 * A tag list (`{ object?, data }`).
 *
 * @since 0.1.0
 */
export const TagList = Schema.StructWithRest(
  Schema.Struct({ object: opt(Schema.String), data: Schema.Array(CacheTag) }),
  Rest
)

// refusal-helper
const refused = (description: string, parameter: string, method: string) =>
  ProviderError.invalidRequest({ provider: "kimi", description, parameter, module: "KimiContextCache", method })

/**
 * The model family a cache is created for: `moonshot-v1` for every `moonshot-v1-*` model (Moonshot creates caches
 * per family), else the id itself.
 *
 * @since 0.1.0
 */
export const modelFamily = (model: string): string => (model.startsWith("moonshot-v1") ? "moonshot-v1" : model)

/**
 * Expiry of a cache: `ttl` seconds from creation, or an absolute `expiredAt` (unix seconds); at most one of them,
 * at most 3,600 s ahead. Neither: Moonshot's default (1 hour).
 *
 * @since 0.1.0
 */
export interface Expiry {
  readonly ttl?: number | undefined
  readonly expiredAt?: number | undefined
}

/**
 * Parameters of {@link create}.
 *
 * @since 0.1.0
 */
export interface CreateParams extends Expiry {
  /** The model (or family); sent as its family (see {@link modelFamily}). */
  readonly model: string
  readonly messages: ReadonlyArray<ChatCompletions.RequestMessage>
  readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  /** At most 256 characters. */
  readonly name?: string | undefined
  /** At most 512 characters. */
  readonly description?: string | undefined
  /** At most 16 pairs; keys at most 64 characters, values at most 512. */
  readonly metadata?: Readonly<Record<string, string>> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
}

/** The tag rule: 1–128 characters, a letter first, then letters, digits, `_`, `-`, `.` ([DOC-EN-25]). */
const tagPattern = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/

/**
 * Checks cache-creation parameters against Moonshot's documented limits (pure). Returns the problem, if any.
 *
 * @since 0.1.0
 */
export const validateCreate = (params: CreateParams): string | undefined => {
  if (params.messages.length === 0) return "a cache needs at least one message"
  if (params.messages.some((message) => (message as { partial?: unknown }).partial === true)) {
    return "a cache cannot hold a partial-mode message"
  }
  const expiry = validateExpiry(params)
  if (expiry !== undefined) return expiry
  if (params.name !== undefined && params.name.length > 256) return "name is longer than 256 characters"
  if (params.description !== undefined && params.description.length > 512) {
    return "description is longer than 512 characters"
  }
  const metadata = Object.entries(params.metadata ?? {})
  if (metadata.length > 16) return "metadata has more than 16 pairs"
  for (const [key, value] of metadata) {
    if (key.length > 64) return `metadata key "${key.slice(0, 20)}…" is longer than 64 characters`
    if (value.length > 512) return `metadata value of "${key}" is longer than 512 characters`
  }
  for (const tag of params.tags ?? []) if (!tagPattern.test(tag)) return `invalid tag "${tag}"`
  return undefined
}

const validateExpiry = (expiry: Expiry): string | undefined => {
  if (expiry.ttl !== undefined && expiry.expiredAt !== undefined) return "set ttl or expiredAt, not both"
  if (expiry.ttl !== undefined && (!Number.isFinite(expiry.ttl) || expiry.ttl <= 0 || expiry.ttl > 3600)) {
    return "ttl must be in (0, 3600] seconds"
  }
  return undefined
}

const expiryBody = (expiry: Expiry) => ({
  ...(expiry.ttl !== undefined ? { ttl: Math.floor(expiry.ttl) } : {}),
  ...(expiry.expiredAt !== undefined ? { expired_at: Math.floor(expiry.expiredAt) } : {})
})

/**
 * The wire body of {@link create} (pure).
 *
 * @since 0.1.0
 */
export const createBody = (params: CreateParams): Record<string, unknown> => ({
  model: modelFamily(params.model),
  messages: params.messages,
  ...(params.tools !== undefined && params.tools.length > 0 ? { tools: params.tools } : {}),
  ...(params.name !== undefined ? { name: params.name } : {}),
  ...(params.description !== undefined ? { description: params.description } : {}),
  ...(params.metadata !== undefined ? { metadata: params.metadata } : {}),
  ...(params.tags !== undefined && params.tags.length > 0 ? { tags: params.tags } : {}),
  ...expiryBody(params)
})

const call = <A>(options: {
  readonly method: "get" | "post" | "put" | "delete"
  readonly path: string
  readonly body?: unknown
  readonly query?: Readonly<Record<string, unknown>> | undefined
  readonly schema: Schema.Decoder<A>
}): Effect.Effect<A, AiError.AiError, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) => Effect.map(client.request(options), ({ body }) => body))

/**
 * Creates a cache (`POST /v1/caching`). A catalogued model without explicit caching (see
 * `KimiModels.canCreateCache`) is refused before any request with an `InvalidRequestError` naming `model`.
 *
 * @since 0.1.0
 */
export const create = (params: CreateParams): Effect.Effect<ContextCacheObject, AiError.AiError, KimiClient> => {
  if (!KimiModels.canCreateCache(params.model)) {
    return Effect.fail(
      // refusal: kimi/cache-create-model
      refused(
        `${params.model} does not support explicit context caches (Moonshot creates them for the moonshot-v1 family; ` +
          "kimi-latest, the K2 family, kimi-k2.6, kimi-k2.7-code and kimi-k3 cache prompt prefixes automatically, " +
          "kimi-thinking-preview not at all, and the vision previews can only use existing caches)",
        "model",
        "create"
      )
    )
  }
  const problem = validateCreate(params)
  return problem !== undefined
    ? // refusal: kimi/cache-arguments
      Effect.fail(refused(problem, "contextCache", "create"))
    : call({ method: "post", path: "/caching", body: createBody(params), schema: ContextCacheObject })
}

/**
 * Paging and filtering of list calls: `limit`, `order` (`asc` | `desc`), `after` / `before` (ids or tags), and
 * for caches `metadata` (sent as `metadata[key]=value`).
 *
 * @since 0.1.0
 */
export interface ListQuery {
  readonly limit?: number | undefined
  readonly order?: "asc" | "desc" | undefined
  readonly after?: string | undefined
  readonly before?: string | undefined
  readonly metadata?: Readonly<Record<string, string>> | undefined
}

/**
 * The query parameters of a list call (pure).
 *
 * @since 0.1.0
 */
export const listQuery = (query: ListQuery = {}): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  if (query.limit !== undefined) out.limit = query.limit
  if (query.order !== undefined) out.order = query.order
  if (query.after !== undefined) out.after = query.after
  if (query.before !== undefined) out.before = query.before
  for (const [key, value] of Object.entries(query.metadata ?? {})) out[`metadata[${key}]`] = value
  return out
}

/**
 * Lists caches (`GET /v1/caching`).
 *
 * @since 0.1.0
 */
export const list = (
  query?: ListQuery
): Effect.Effect<ReadonlyArray<ContextCacheObject>, AiError.AiError, KimiClient> =>
  Effect.map(call({ method: "get", path: "/caching", query: listQuery(query), schema: CacheList }), (body) => body.data)

/**
 * One cache (`GET /v1/caching/{id}`; 404 when missing).
 *
 * @since 0.1.0
 */
export const get = (cacheId: string): Effect.Effect<ContextCacheObject, AiError.AiError, KimiClient> =>
  call({ method: "get", path: `/caching/${encodeURIComponent(cacheId)}`, schema: ContextCacheObject })

/**
 * Updates a cache's metadata and expiry (`PUT /v1/caching/{id}`; an update makes the cache `pending` again).
 *
 * @since 0.1.0
 */
export const update = (
  cacheId: string,
  params: Expiry & { readonly metadata?: Readonly<Record<string, string>> | undefined }
): Effect.Effect<ContextCacheObject, AiError.AiError, KimiClient> => {
  const problem = validateExpiry(params)
  return problem !== undefined
    ? // refusal: kimi/cache-arguments
      Effect.fail(refused(problem, "contextCache", "update"))
    : call({
        method: "put",
        path: `/caching/${encodeURIComponent(cacheId)}`,
        body: { ...(params.metadata !== undefined ? { metadata: params.metadata } : {}), ...expiryBody(params) },
        schema: ContextCacheObject
      })
}

/**
 * Deletes a cache (`DELETE /v1/caching/{id}`; 404 when missing).
 *
 * @since 0.1.0
 */
export const remove = (cacheId: string): Effect.Effect<DeleteResult, AiError.AiError, KimiClient> =>
  call({ method: "delete", path: `/caching/${encodeURIComponent(cacheId)}`, schema: DeleteResult })

export {
  /**
   * Alias of {@link remove}.
   *
   * @since 0.1.0
   */
  remove as delete
}

/**
 * Tags a cache (`POST /v1/caching/refs/tags`).
 *
 * @since 0.1.0
 */
export const createTag = (tag: string, cacheId: string): Effect.Effect<CacheTag, AiError.AiError, KimiClient> =>
  tagPattern.test(tag)
    ? call({ method: "post", path: "/caching/refs/tags", body: { tag, cache_id: cacheId }, schema: CacheTag })
    : Effect.fail(
        // refusal: kimi/cache-tag-name
        refused(
          `invalid tag "${tag}": 1–128 characters, a letter first, then letters, digits, _ - .`,
          "tag",
          "createTag"
        )
      )

/**
 * Lists tags (`GET /v1/caching/refs/tags`).
 *
 * @since 0.1.0
 */
export const listTags = (
  query?: Omit<ListQuery, "metadata">
): Effect.Effect<ReadonlyArray<CacheTag>, AiError.AiError, KimiClient> =>
  Effect.map(
    call({ method: "get", path: "/caching/refs/tags", query: listQuery(query), schema: TagList }),
    (body) => body.data
  )

/**
 * One tag (`GET /v1/caching/refs/tags/{tag}`).
 *
 * @since 0.1.0
 */
export const getTag = (tag: string): Effect.Effect<CacheTag, AiError.AiError, KimiClient> =>
  call({ method: "get", path: `/caching/refs/tags/${encodeURIComponent(tag)}`, schema: CacheTag })

/**
 * The cache a tag points to (`GET /v1/caching/refs/tags/{tag}/content`).
 *
 * @since 0.1.0
 */
export const getTagContent = (tag: string): Effect.Effect<ContextCacheObject, AiError.AiError, KimiClient> =>
  call({ method: "get", path: `/caching/refs/tags/${encodeURIComponent(tag)}/content`, schema: ContextCacheObject })

/**
 * Deletes a tag (`DELETE /v1/caching/refs/tags/{tag}`; always succeeds).
 *
 * @since 0.1.0
 */
export const deleteTag = (tag: string): Effect.Effect<DeleteResult, AiError.AiError, KimiClient> =>
  call({ method: "delete", path: `/caching/refs/tags/${encodeURIComponent(tag)}`, schema: DeleteResult })

// =============================================================================
// Referencing a cache
// =============================================================================

export type {
  /**
   * A reference to a cache: `cacheId` or `tag`, optional `resetTtl` (seconds) and `dryRun`.
   *
   * @since 0.1.0
   */
  CacheReference
}

/**
 * The `role: "cache"` message referencing a cache (wire shape), e.g. `cache_id=cache-…;reset_ttl=3600`.
 *
 * @since 0.1.0
 */
export const cacheMessage = (reference: CacheReference): ChatCompletions.RequestMessage => ({
  role: "cache",
  content: cacheMessageContent(reference)
})

/**
 * The request headers referencing a cache (`X-Msh-Context-Cache`, `X-Msh-Context-Cache-Reset-TTL`,
 * `X-Msh-Context-Cache-DryRun`). Tags cannot be referenced by header.
 *
 * @since 0.1.0
 */
export const headers = (reference: CacheReference): Record<string, string> => cacheHeaders(reference)

// =============================================================================
// Registry
// =============================================================================

/**
 * A registry entry: the cache id, its expiry (Clock ms), how many leading messages it holds, and the cache's last
 * known `status` with when it was checked (Clock ms). Entries stored before `status` existed are checked once.
 *
 * @since 0.1.0
 */
export const RegistryEntry = Schema.Struct({
  cacheId: Schema.String,
  expiresAt: Schema.Number,
  prefixLength: Schema.Number,
  status: Schema.optionalKey(Schema.String),
  checkedAt: Schema.optionalKey(Schema.Number)
})

/** @since 0.1.0 */
export type RegistryEntry = typeof RegistryEntry.Type

const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`
  }
  return JSON.stringify(value) ?? "null"
}

/**
 * The store key of a prefix (pure): `kimi:context-cache:` + SHA-256 of the canonical JSON (sorted keys) of the
 * model family, the prefix messages and the tools. Stable across processes and key order.
 *
 * @since 0.1.0
 */
export const prefixKey = (request: Pick<PrefixRequest, "model" | "messages" | "tools">): string =>
  `kimi:context-cache:${createHash("sha256")
    .update(canonical({ model: modelFamily(request.model), messages: request.messages, tools: request.tools ?? [] }))
    .digest("hex")}`

/**
 * Seconds before a cache's expiry when the registry stops handing it out (it creates a new one instead).
 *
 * @since 0.1.0
 */
export const expiryMarginSeconds = 30

/**
 * Options of {@link makeRegistry} and {@link layerRegistry}.
 *
 * - `resetTtl`: seconds; every reuse sends `reset_ttl` in the cache message (Moonshot then sets the cache's
 *   `expired_at` to now + this, docs/providers/kimi.md#context-caching-api) and moves the entry's own expiry by the
 *   same amount. A call's `contextCache.resetTtl` overrides it. Clamped to [1, 3600].
 * - `statusCheckIntervalSeconds`: how often, at most, the status of a cache that is not `ready` yet is asked
 *   (`GET /v1/caching/{id}`, one request per call at most; default 10).
 *
 * @since 0.1.0
 */
export interface RegistryOptions {
  readonly resetTtl?: number | undefined
  readonly statusCheckIntervalSeconds?: number | undefined
}

const clampTtl = (seconds: number | undefined): number | undefined =>
  seconds === undefined || !Number.isFinite(seconds) ? undefined : Math.min(3600, Math.max(1, Math.floor(seconds)))

/**
 * Builds a registry over a client.
 *
 * - A prefix without an entry (or whose entry is about to expire, or whose cache turned `error` / `inactive`) gets
 *   a new cache (`ttlSeconds`), stored for that long.
 * - A cache is used only once it is `ready`. Moonshot creates caches asynchronously (`pending` for ~40–60 s,
 *   docs/providers/kimi.md#context-caching-api) and a cache message replaces the prefix server-side, so until the cache
 *   reports `ready` the call is sent with the full prompt (no cache message): the registry never waits and never drops
 *   the prefix of a cache that is not usable. The status comes from the create response, then from `GET
 *   /v1/caching/{id}`: at most one check per call, and at most one per `statusCheckIntervalSeconds` per prefix
 *   (bounded; nothing polls).
 * - A `ready` cache is reused: the call sends the cache message, with `reset_ttl` when `resetTtl` is set (the
 *   entry's expiry moves along, the server's too).
 *
 * Store and API failures are a miss (`undefined`: send the full prompt), never a failure.
 *
 * @since 0.1.0
 */
export const makeRegistry = (client: KimiClient["Service"], options: RegistryOptions = {}): RegistryShape => ({
  forPrefix: (request) =>
    Effect.gen(function* () {
      const store = yield* CacheStore.CacheStore
      const key = prefixKey(request)
      const now = yield* Clock.currentTimeMillis
      const resetTtl = clampTtl(request.resetTtl ?? options.resetTtl)
      const checkEveryMs = Math.max(0, options.statusCheckIntervalSeconds ?? 10) * 1000
      const save = (entry: RegistryEntry) =>
        CacheStore.setEncoded(store, key, RegistryEntry, entry, { ttl: Math.max(1, entry.expiresAt - now) }).pipe(
          Effect.catch(() => Effect.void)
        )
      const use = (entry: RegistryEntry) =>
        Effect.gen(function* () {
          if (resetTtl !== undefined) yield* save({ ...entry, expiresAt: now + resetTtl * 1000 })
          return {
            cacheId: entry.cacheId,
            prefixLength: entry.prefixLength,
            ...(resetTtl !== undefined ? { resetTtl } : {})
          } satisfies PrefixCache
        })
      const found = yield* CacheStore.getDecoded(store, key, RegistryEntry).pipe(
        Effect.catch(() => Effect.succeed(undefined))
      )
      if (found !== undefined && Option.isSome(found) && found.value.expiresAt - expiryMarginSeconds * 1000 > now) {
        const entry = found.value
        if (entry.status === "ready") return yield* use(entry)
        if (entry.checkedAt !== undefined && now - entry.checkedAt < checkEveryMs) return undefined
        const status = yield* get(entry.cacheId).pipe(
          Effect.provideService(KimiClient, client),
          Effect.map((cache) => cache.status ?? undefined),
          Effect.catch(() => Effect.succeed(undefined))
        )
        if (status === "ready") {
          const ready: RegistryEntry = { ...entry, status, checkedAt: now }
          if (resetTtl === undefined) yield* save(ready)
          return yield* use(ready)
        }
        if (status !== "error" && status !== "inactive") {
          // pending, or the check failed: full prompt this time, check again later
          yield* save({ ...entry, ...(status !== undefined ? { status } : {}), checkedAt: now })
          return undefined
        }
        // error / inactive: replaced by a new cache below
      }
      const ttl = Math.min(3600, Math.max(1, Math.floor(request.ttlSeconds)))
      const created = yield* create({
        model: request.model,
        messages: request.messages,
        tools: request.tools,
        ttl,
        metadata: { conduit_prefix: key.slice(-32) }
      }).pipe(Effect.provideService(KimiClient, client))
      // The local clock decides (the server's `expired_at` is in its own clock); the cache was asked to live `ttl`.
      const entry: RegistryEntry = {
        cacheId: created.id,
        expiresAt: now + ttl * 1000,
        prefixLength: request.messages.length,
        status: created.status ?? "pending",
        checkedAt: now
      }
      yield* save(entry)
      return entry.status === "ready" ? yield* use(entry) : undefined
    }).pipe(Effect.catch(() => Effect.succeed(undefined)))
})

/**
 * Installs the registry (with the client from context) for calls that ask for `contextCache: { auto: true }`.
 * The `CacheStore` is read per call, so a store layer from `@conduitkit/cache` applies when provided.
 *
 * @since 0.1.0
 */
export const layerRegistry = (options: RegistryOptions = {}): Layer.Layer<never, never, KimiClient> =>
  Layer.effect(
    Registry,
    Effect.map(Effect.service(KimiClient), (client): RegistryShape | undefined => makeRegistry(client, options))
  )
