/**
 * The two `AiError`s this package raises, and their predicates.
 *
 * @internal
 */
import { type CacheStore, ProviderError } from "@conduitkit/core"
import { AiError } from "effect/ai"

const conduitKind = (error: unknown): string | undefined =>
  AiError.isAiError(error) ? ProviderError.conduitMetadata(error)?.kind : undefined

/** @internal */
export const idempotencyConflict = (idempotencyKey: string, method: string): AiError.AiError =>
  AiError.make({
    module: "Idempotency",
    method,
    reason: new AiError.InvalidRequestError({
      parameter: "Idempotency-Key",
      description: `the idempotency key "${idempotencyKey}" was already used with a different request; send a new key for a new request`,
      metadata: { conduit: { kind: "idempotency-conflict", idempotencyKey } }
    })
  })

/** @internal */
export const isIdempotencyConflict = (error: unknown): error is AiError.AiError =>
  conduitKind(error) === "idempotency-conflict"

/** @internal */
export const cacheUnavailable = (error: CacheStore.CacheStoreError, method: string): AiError.AiError =>
  AiError.make({
    module: "ResponseCache",
    method,
    reason: new AiError.InternalProviderError({
      description: `the response cache is unavailable (fail-closed): ${error.message}`,
      metadata: { conduit: { kind: "cache-unavailable", operation: error.operation } }
    })
  })

/** @internal */
export const isCacheUnavailable = (error: unknown): error is AiError.AiError =>
  conduitKind(error) === "cache-unavailable"
