/**
 * Context that an outer layer (the session manager, the gateway) gives one request, and through which core reports
 * back what happened inside it.
 *
 * Core's model calls `onAttempt` once per upstream HTTP attempt (1 for a request that succeeded first time), so
 * the session manager can put `attempts` in its response metadata without parsing responses. `requestId` and
 * `sessionId`, when set, are attached to log annotations and to response metadata.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

/**
 * The request's identity and observers. Every field is optional.
 *
 * @since 0.1.0
 */
export interface RequestContextShape {
  readonly requestId?: string | undefined
  readonly sessionId?: string | undefined
  /** Called with the attempt number (1-based) each time an upstream HTTP attempt starts. */
  readonly onAttempt?: ((attempt: number) => void) | undefined
  /**
   * The request's deadline: `at` an absolute time (Clock ms), `timeoutMs` the timeout it came from (the session
   * manager's execution timeout, for a stream run with `honorsDeadline`). A streamed call started under it ends its
   * waits (for headers, chunks, a retry's sleep) by then, as for its own total timeout (the tighter one applies), and
   * fails with its `total` timeout naming `timeoutMs`.
   */
  readonly deadline?: { readonly at: number; readonly timeoutMs: number } | undefined
}

/**
 * The current request's context (default: empty).
 *
 * @since 0.1.0
 */
export const RequestContext: Context.Reference<RequestContextShape> = Context.Reference<RequestContextShape>(
  "@conduitkit/core/RequestContext",
  { defaultValue: () => ({}) }
)
