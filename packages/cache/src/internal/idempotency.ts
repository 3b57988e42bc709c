/**
 * Idempotency keys over a `CacheStoreShape`: one execution per key and TTL.
 *
 * Record under `idempotency:v1:<sha256(key)>`:
 * - `pending` (written before the call, TTL `pendingTtl`, refreshed every `pendingTtl / 3` while the call runs): a
 *   duplicate in another process waits for it to turn `completed`, or to disappear (the owner failed, or crashed and
 *   stopped refreshing it), and then executes itself.
 * - `completed` (TTL `ttl`): the stored parts; a later duplicate replays them.
 * Both carry the request fingerprint (kind + request hash); a different fingerprint is an idempotency conflict.
 *
 * Concurrent duplicates in one process join the in-flight call (single flight). Across processes the claim is
 * atomic when the store offers `setIfAbsent` (both stores of this package do; Redis uses `SET NX PX`); the claim
 * itself (write, heartbeat, release) is `./claims.ts`, shared with the response cache.
 *
 * @internal
 */
import { CacheStore } from "@conduitkit/core"
import { Clock, Duration, Effect, Option, Schema, type Scope, Stream } from "effect"
import type { AiError } from "effect/ai"
import { sha256Hex } from "../CacheKey.js"
import * as Claims from "./claims.js"
import { idempotencyConflict } from "./errors.js"
import * as Flights from "./flights.js"
import {
  isStorable,
  Kind,
  marker,
  type Part,
  PartJson,
  type Resolved,
  type SavedUsage,
  SavedUsageJson,
  usageOf
} from "./parts.js"

const Pending = Schema.Struct({
  version: Schema.Literal(1),
  state: Schema.Literal("pending"),
  fingerprint: Schema.String,
  startedAt: Schema.Number
})

const Completed = Schema.Struct({
  version: Schema.Literal(1),
  state: Schema.Literal("completed"),
  fingerprint: Schema.String,
  kind: Kind,
  parts: Schema.Array(PartJson),
  usage: Schema.optionalKey(SavedUsageJson),
  completedAt: Schema.Number
})

const IdempotencyRecord = Schema.Union([Pending, Completed])

/** @internal */
export interface Counters {
  idempotentExecutions: number
  idempotentReplays: number
  idempotentJoins: number
  idempotencyConflicts: number
  storeFailures: number
  saved: (usage: SavedUsage | undefined) => void
}

/** @internal */
export interface Config {
  readonly store: CacheStore.CacheStoreShape
  readonly ttl: Duration.Duration
  readonly pendingTtl: Duration.Duration
  readonly pollInterval: Duration.Duration
}

/** @internal */
export interface Idempotency {
  readonly wrap: (params: {
    readonly idempotencyKey: string
    readonly fingerprint: string
    readonly kind: Kind
    readonly method: string
    readonly onUnavailable: (error: CacheStore.CacheStoreError) => AiError.AiError
    readonly inner: Stream.Stream<Part, AiError.AiError>
  }) => Effect.Effect<Resolved<AiError.AiError>, AiError.AiError>
  readonly inFlight: () => number
}

/** @internal */
export const storeKey = (idempotencyKey: string): string => `idempotency:v1:${sha256Hex(idempotencyKey)}`

const logged = (message: string) => Claims.logged("@conduitkit/cache/Idempotency", message)

/** @internal */
export const make = (config: Config, counters: Counters, scope: Scope.Scope): Idempotency => {
  const { store } = config
  const flights = Flights.make<Part, AiError.AiError>(scope)
  const claims = Claims.make(store, {
    pendingTtl: config.pendingTtl,
    module: "@conduitkit/cache/Idempotency",
    what: "Idempotency"
  })

  const pendingRecord = (fingerprint: string, now: number): typeof Pending.Encoded => ({
    version: 1,
    state: "pending",
    fingerprint,
    startedAt: now
  })

  const complete = (key: string, fingerprint: string, kind: Kind, parts: ReadonlyArray<Part>) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (!isStorable(parts)) {
        return claims.release(key)
      }
      const usage = usageOf(parts)
      const record: typeof Completed.Type = {
        version: 1,
        state: "completed",
        fingerprint,
        kind,
        parts: parts as typeof Completed.Type.parts,
        ...(usage === undefined ? {} : { usage }),
        completedAt: now
      }
      return CacheStore.setEncoded(store, key, Completed, record, { ttl: config.ttl }).pipe(
        Effect.tapError(() => Effect.sync(() => counters.storeFailures++)),
        logged("Idempotency: could not store a completed call")
      )
    })

  const join = (flight: Flights.Flight<Part, AiError.AiError>): Resolved<AiError.AiError> => {
    counters.idempotentJoins++
    const marked = marker({ cache: "hit", idempotency: "joined" })
    return {
      stream: flights.subscribe(flight).pipe(
        Stream.map((part) => {
          if (part.type === "finish") counters.saved(usageOf([part]))
          return marked(part)
        })
      )
    }
  }

  const wrap: Idempotency["wrap"] = ({ idempotencyKey, fingerprint, kind, method, onUnavailable, inner }) =>
    Effect.gen(function* () {
      const key = storeKey(idempotencyKey)
      const conflict = () => {
        counters.idempotencyConflicts++
        return idempotencyConflict(idempotencyKey, method)
      }
      while (true) {
        const local = flights.get(key)
        if (local !== undefined) {
          if (local.meta !== fingerprint) return yield* conflict()
          return join(local)
        }
        const found = yield* CacheStore.getDecoded(store, key, IdempotencyRecord).pipe(Effect.mapError(onUnavailable))
        if (Option.isSome(found)) {
          const record = found.value
          if (record.fingerprint !== fingerprint) return yield* conflict()
          if (record.state === "completed") {
            counters.idempotentReplays++
            counters.saved(record.usage)
            return { parts: record.parts.map(marker({ cache: "hit", idempotency: "replayed" })) }
          }
          // Another process (or our own flight that is finishing) holds the key: look again shortly.
          yield* Effect.sleep(config.pollInterval)
          continue
        }
        const now = yield* Clock.currentTimeMillis
        const pending = pendingRecord(fingerprint, now)
        const claimed = yield* claims.claim(key, pending).pipe(Effect.mapError(onUnavailable))
        if (!claimed) continue
        const raced = flights.get(key)
        if (raced !== undefined) {
          if (raced.meta !== fingerprint) return yield* conflict()
          return join(raced)
        }
        counters.idempotentExecutions++
        const running = claims.holding(key, pending, inner)
        const flight = flights.create(key, fingerprint, running, {
          onSuccess: (parts) => complete(key, fingerprint, kind, parts),
          onFailure: () => claims.release(key)
        })
        return { stream: flights.subscribe(flight) }
      }
    })

  return { wrap, inFlight: flights.size }
}

/** @internal */
export const durations = (options: {
  readonly ttl: Duration.Input
  readonly pendingTtl: Duration.Input
  readonly pollInterval: Duration.Input
}) => ({
  ttl: Duration.fromInputUnsafe(options.ttl),
  pendingTtl: Duration.fromInputUnsafe(options.pendingTtl),
  pollInterval: Duration.fromInputUnsafe(options.pollInterval)
})
