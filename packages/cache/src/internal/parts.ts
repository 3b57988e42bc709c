/**
 * Response parts as the cache stores them (effect/ai `Response.PartEncoded` / `StreamPartEncoded`, i.e. plain
 * JSON objects with a `type`), the marks added to replays, and the schemas of stored entries.
 *
 * @internal
 */
import { Predicate, Schema, Stream } from "effect"

/** An encoded response part: a JSON object with a string `type`. @internal */
export interface Part {
  readonly type: string
  readonly [key: string]: unknown
}

/** The usage a stored answer saves when it is replayed (tokens). @internal */
export interface SavedUsage {
  readonly inputTokens: number
  readonly outputTokens: number
}

/** A stored part: a JSON object with a string `type`. @internal */
export interface PartJson {
  readonly type: string
  readonly [key: string]: Schema.Json
}

/**
 * Stored parts are checked structurally only (an object with a string `type`): they were produced by
 * `JSON.parse` or by this package, so a deep JSON validation of every answer on every hit would only cost time.
 *
 * @internal
 */
export const PartJson = Schema.declare<PartJson>(
  (u): u is PartJson => Predicate.isObject(u) && typeof u.type === "string",
  { identifier: "PartJson" }
)

/** @internal */
export const SavedUsageJson = Schema.Struct({ inputTokens: Schema.Number, outputTokens: Schema.Number })

/** @internal */
export const Kind = Schema.Literals(["generate", "stream"])

/** @internal */
export type Kind = typeof Kind.Type

/** A stored response (response cache). @internal */
export const Entry = Schema.Struct({
  version: Schema.Literal(1),
  kind: Kind,
  parts: Schema.Array(PartJson),
  usage: Schema.optionalKey(SavedUsageJson),
  storedAt: Schema.Number
})

/** @internal */
export type Entry = typeof Entry.Type

const isRecord = Predicate.isObject

const num = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) ? value : 0)

/**
 * The usage recorded in the last `finish` part (`usage.inputTokens.total`, `usage.outputTokens.total`), or
 * `undefined` when there is none.
 *
 * @internal
 */
export const usageOf = (parts: ReadonlyArray<Part>): SavedUsage | undefined => {
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i]!
    if (part.type !== "finish") continue
    const usage = isRecord(part.usage) ? part.usage : {}
    const input = isRecord(usage.inputTokens) ? usage.inputTokens : {}
    const output = isRecord(usage.outputTokens) ? usage.outputTokens : {}
    return { inputTokens: num(input.total), outputTokens: num(output.total) }
  }
  return undefined
}

/**
 * Whether a finished answer may be stored: it has a `finish` part whose reason is not `"error"`, and no `error`
 * part (a stream that reported an error in-band is never replayed).
 *
 * @internal
 */
export const isStorable = (parts: ReadonlyArray<Part>): boolean => {
  let finished = false
  for (const part of parts) {
    if (part.type === "error") return false
    if (part.type === "finish") {
      if (part.reason === "error") return false
      finished = true
    }
  }
  return finished
}

/**
 * Marks added under `metadata.conduit` of the `finish` and `response-metadata` parts:
 * `cache: "hit" | "miss"`, `idempotency: "replayed" | "joined"`.
 *
 * @internal
 */
export interface Marks {
  readonly cache?: "hit" | "miss"
  readonly idempotency?: "replayed" | "joined"
}

/**
 * The part with `marks` merged into `metadata.conduit` when it is a `finish` or `response-metadata` part; any
 * other part is returned as is. Never mutates its input.
 *
 * @internal
 */
export const mark = (part: Part, marks: Marks): Part => {
  if (part.type !== "finish" && part.type !== "response-metadata") return part
  const metadata = isRecord(part.metadata) ? part.metadata : {}
  const conduit = isRecord(metadata.conduit) ? metadata.conduit : {}
  return { ...part, metadata: { ...metadata, conduit: { ...conduit, ...marks } } }
}

/**
 * A function marking every part, for `Stream.map` / `Array.map`.
 *
 * @internal
 */
export const marker =
  (marks: Marks) =>
  (part: Part): Part =>
    mark(part, marks)

/**
 * What the cache resolved a call to: a finished answer (a replay, served without streaming machinery) or a stream
 * (an upstream call, or a join of one).
 *
 * @internal
 */
export type Resolved<E> = { readonly parts: ReadonlyArray<Part> } | { readonly stream: Stream.Stream<Part, E> }

/** @internal */
export const toStream = <E>(resolved: Resolved<E>): Stream.Stream<Part, E> =>
  "parts" in resolved ? Stream.fromIterable(resolved.parts) : resolved.stream
