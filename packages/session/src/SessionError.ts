/**
 * The typed failures of the session manager. Each carries the request's `requestId` and `sessionId` so a caller can
 * log or answer with them; rate-limit failures are defined in `RateLimits` and included in `SessionError`.
 *
 * Suggested HTTP mapping for a gateway: `QueueFullError`, `RateLimitExceededError` and `Budget.BudgetExceededError`
 * 429 (with `Retry-After` from `retryAfterMs` when present), `QueueTimeoutError` 503, `ExecutionTimeoutError` 504, `MetadataTooLargeError` 400,
 * `RateLimitStoreError` 503 (and `Conversation.ConversationError` 503).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { BudgetExceededError } from "./Budget.js"
import type { RateLimitExceededError, RateLimitStoreError } from "./RateLimits.js"

/**
 * The request could not wait: `maxQueued` requests were already waiting for a permit. Nothing ran.
 *
 * @since 0.1.0
 */
export class QueueFullError extends Schema.TaggedError<QueueFullError>()("QueueFullError", {
  requestId: Schema.String,
  sessionId: Schema.String,
  /** The queue length limit that was reached (requests). */
  maxQueued: Schema.Number
}) {
  override get message(): string {
    return `Request ${this.requestId} rejected: ${this.maxQueued} requests are already queued`
  }
}

/**
 * The request waited `timeoutMs` milliseconds for a permit without getting one. Nothing ran; its queue place and any
 * session permit it held are given back.
 *
 * @since 0.1.0
 */
export class QueueTimeoutError extends Schema.TaggedError<QueueTimeoutError>()("QueueTimeoutError", {
  requestId: Schema.String,
  sessionId: Schema.String,
  /** The queue timeout that elapsed (ms). */
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `Request ${this.requestId} waited ${this.timeoutMs} ms in the queue without a permit`
  }
}

/**
 * The work ran longer than its execution timeout (`timeoutMs`, counted from the moment it got its permits) and was
 * interrupted. For a stream, the timeout bounds the whole stream, from admission to its end.
 *
 * @since 0.1.0
 */
export class ExecutionTimeoutError extends Schema.TaggedError<ExecutionTimeoutError>()("ExecutionTimeoutError", {
  requestId: Schema.String,
  sessionId: Schema.String,
  /** The execution timeout that elapsed (ms). */
  timeoutMs: Schema.Number
}) {
  override get message(): string {
    return `Request ${this.requestId} did not finish within ${this.timeoutMs} ms`
  }
}

/**
 * The caller's `metadata` is larger than the limit once encoded as JSON (UTF-8 bytes), or is not JSON at all
 * (`sizeBytes` is then -1). Nothing ran.
 *
 * @since 0.1.0
 */
export class MetadataTooLargeError extends Schema.TaggedError<MetadataTooLargeError>()("MetadataTooLargeError", {
  requestId: Schema.String,
  sessionId: Schema.String,
  /** The JSON size of the metadata (bytes), or -1 when it cannot be encoded as JSON. */
  sizeBytes: Schema.Number,
  /** The limit (bytes). */
  maxBytes: Schema.Number
}) {
  override get message(): string {
    return this.sizeBytes < 0
      ? `Request ${this.requestId} metadata is not JSON-serializable`
      : `Request ${this.requestId} metadata is ${this.sizeBytes} bytes of JSON, more than the ${this.maxBytes} allowed`
  }
}

/**
 * Failures raised before the work starts: nothing ran, no upstream call was made.
 *
 * @since 0.1.0
 */
export type AdmissionError =
  | QueueFullError
  | QueueTimeoutError
  | MetadataTooLargeError
  | RateLimitExceededError
  | BudgetExceededError
  | RateLimitStoreError

/**
 * Every failure the session manager adds to the work's own errors.
 *
 * @since 0.1.0
 */
export type SessionError = AdmissionError | ExecutionTimeoutError
