/**
 * Claims on a key of a `CacheStoreShape`, shared by the idempotency keys and the response cache's cross-instance
 * single flight: a record written with a short TTL (`pendingTtl`) before an upstream call, refreshed every
 * `pendingTtl / 3` while the call runs (so a crashed owner's claim lapses), and deleted when the call ends.
 *
 * The claim is atomic across processes when the store offers `setIfAbsent` (both stores of this package do; Redis
 * uses `SET NX PX`); otherwise it is a plain write (atomic only within one process, where single flight already
 * holds).
 *
 * @internal
 */
import type { CacheStore } from "@conduitkit/core"
import { Duration, Effect, type Schema, Stream } from "effect"
import { isClaimable } from "../Store.js"

/** @internal */
export interface Claims {
  /** Whether the store offers an atomic claim (`setIfAbsent`), i.e. other processes see and respect it. */
  readonly atomic: boolean
  /** Writes `record` under `key` unless a live entry is there; `true` when this caller now holds the claim. */
  readonly claim: (key: string, record: Schema.Json) => Effect.Effect<boolean, CacheStore.CacheStoreError>
  /** `stream`, with the claim on `key` refreshed (rewritten with `record`) while it runs. */
  readonly holding: <A, E>(key: string, record: Schema.Json, stream: Stream.Stream<A, E>) => Stream.Stream<A, E>
  /** Deletes the claim; a store failure is logged, never raised. */
  readonly release: (key: string) => Effect.Effect<void>
}

/**
 * Runs a store operation whose failure must not fail the caller (the answer was already paid for): a failure is
 * logged as a warning under `module`.
 *
 * @internal
 */
export const logged =
  (module: string, message: string) =>
  (effect: Effect.Effect<unknown, CacheStore.CacheStoreError>): Effect.Effect<void> =>
    effect.pipe(
      Effect.asVoid,
      Effect.catch((error) => Effect.logWarning(`${message}: ${error.message}`).pipe(Effect.annotateLogs({ module })))
    )

/** @internal */
export const make = (
  store: CacheStore.CacheStoreShape,
  options: { readonly pendingTtl: Duration.Duration; readonly module: string; readonly what: string }
): Claims => {
  const { pendingTtl } = options
  const claim: Claims["claim"] = (key, record) =>
    isClaimable(store)
      ? store.setIfAbsent(key, record, { ttl: pendingTtl })
      : Effect.as(store.set(key, record, { ttl: pendingTtl }), true)

  const heartbeat = (key: string, record: Schema.Json): Stream.Stream<never> =>
    Stream.fromEffect(
      store
        .set(key, record, { ttl: pendingTtl })
        .pipe(Effect.ignore, Effect.delay(Duration.divideUnsafe(pendingTtl, 3)), Effect.forever)
    ).pipe(Stream.drain)

  return {
    atomic: isClaimable(store),
    claim,
    holding: (key, record, stream) => stream.pipe(Stream.merge(heartbeat(key, record), { haltStrategy: "left" })),
    release: (key) => logged(options.module, `${options.what}: could not release a claim`)(store.delete(key))
  }
}
