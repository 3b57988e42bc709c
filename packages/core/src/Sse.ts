/**
 * Server-Sent Events decoding for LLM streams, on Effect's own parser (`effect/encoding/Sse.makeParser`: WHATWG
 * line handling, linear in its input, bounded event size).
 *
 * This wrapper adds what a chat stream needs on top of it:
 * - bytes in (UTF-8 decoded in streaming mode, so a multi-byte character split across reads is fine);
 * - end-of-input semantics: an event whose last line was complete but which lacks the closing blank line is still
 *   dispatched (several providers end with `data: [DONE]\n`), while input that stops in the middle of a line is
 *   reported as `truncatedLine` (a cut connection) instead of being guessed at.
 *
 * The output does not depend on how the input is split (property-tested down to 1-byte chunks).
 *
 * @since 0.1.0
 */
import * as EffectSse from "effect/encoding/Sse"

/**
 * One dispatched event (`event` is `"message"` unless the server named it).
 *
 * @since 0.1.0
 */
export interface SseEvent {
  readonly data: string
  readonly event: string
  readonly id?: string | undefined
}

/**
 * What {@link Decoder.end} reports about the tail of the input.
 *
 * @since 0.1.0
 */
export interface EndResult {
  readonly events: Array<SseEvent>
  /** The input ended in the middle of a line, and that partial line was discarded. */
  readonly truncatedLine: boolean
}

/**
 * A decoder: `push` bytes or text as they arrive, then `end` once. Both throw Effect's `Sse.SseError` when one
 * event grows beyond `maxEventSize` (default 10 MiB of text).
 *
 * @since 0.1.0
 */
export interface Decoder {
  readonly push: (chunk: Uint8Array | string) => Array<SseEvent>
  readonly end: () => EndResult
}

/**
 * Creates a decoder (pure apart from its own state).
 *
 * @since 0.1.0
 */
export const makeDecoder = (options?: { readonly maxEventSize?: number | undefined }): Decoder => {
  const textDecoder = new TextDecoder("utf-8")
  let out: Array<SseEvent> = []
  let lastChar = 10 // nothing fed yet counts as "at a line boundary"
  let sawInput = false
  const parser = EffectSse.makeParser(
    (event) => {
      if (event._tag === "Event") {
        out.push(
          event.id === undefined
            ? { data: event.data, event: event.event }
            : { data: event.data, event: event.event, id: event.id }
        )
      }
    },
    { maxEventSize: options?.maxEventSize }
  )
  const feed = (text: string): Array<SseEvent> => {
    if (text.length > 0) {
      sawInput = true
      lastChar = text.charCodeAt(text.length - 1)
      const error = parser.feed(text)
      if (error !== undefined) throw error
    }
    const events = out
    out = []
    return events
  }
  return {
    push: (chunk) => feed(typeof chunk === "string" ? chunk : textDecoder.decode(chunk, { stream: true })),
    end: () => {
      const events = feed(textDecoder.decode())
      const atLineEnd = lastChar === 10 || lastChar === 13
      if (sawInput && atLineEnd) events.push(...feed("\n\n"))
      return { events, truncatedLine: sawInput && !atLineEnd }
    }
  }
}

/**
 * Decodes a whole SSE text at once (for fixtures and tests).
 *
 * @since 0.1.0
 */
export const decodeAll = (text: string): Array<SseEvent> => {
  const decoder = makeDecoder()
  return [...decoder.push(text), ...decoder.end().events]
}
