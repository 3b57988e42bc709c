/**
 * An in-memory tracer for tests of code that makes spans (core's `Tracing`, the session manager's admission span):
 * Effect's own `NativeSpan`s, kept in `ended` as they end, with their attributes, events, parents and status.
 * Provide it with `Effect.provideService(Tracer.Tracer, memory.tracer)`.
 *
 * @since 0.1.0
 */
import { Tracer } from "effect"

/**
 * A tracer and the spans it saw end, in the order they ended.
 *
 * @since 0.1.0
 */
export interface MemoryTracer {
  readonly tracer: Tracer.Tracer
  readonly ended: Array<Tracer.NativeSpan>
}

/**
 * A fresh in-memory tracer.
 *
 * @since 0.1.0
 */
export const make = (): MemoryTracer => {
  const ended: Array<Tracer.NativeSpan> = []
  const tracer = Tracer.make({
    span: (options) => {
      const span = new Tracer.NativeSpan(options)
      const end = span.end.bind(span)
      span.end = (endTime, exit) => {
        end(endTime, exit)
        ended.push(span)
      }
      return span
    }
  })
  return { tracer, ended }
}
