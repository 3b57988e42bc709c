/**
 * Maps provider `finish_reason` strings to `effect/ai` finish reasons.
 *
 * Values seen on the wire: `stop`, `length`, `tool_calls` (OpenAI, Moonshot, Zhipu); `content_filter` (OpenAI);
 * `function_call` (legacy OpenAI); Zhipu's `sensitive` (content policy stop), `network_error` (the upstream failed
 * mid-generation) and `model_context_window_exceeded` (the context filled up). Sources:
 * docs/providers/kimi.md#finish-reasons, docs/providers/glm.md#finish-reasons. Providers pass extra entries for their
 * own values; the raw string is always kept in the finish part's metadata.
 *
 * @since 0.1.0
 */
import type { Response } from "effect/ai"

/**
 * The default table.
 *
 * @since 0.1.0
 */
export const defaults: Readonly<Record<string, Response.FinishReason>> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool-calls",
  function_call: "tool-calls",
  content_filter: "content-filter",
  sensitive: "content-filter",
  network_error: "error",
  model_context_window_exceeded: "length"
}

/**
 * Maps a raw finish reason. A response that ended with tool calls but says `stop` (some compatible servers do) is
 * `tool-calls`; a missing reason is `tool-calls` when tool calls were produced, else `unknown`; an unrecognized
 * string is `other`.
 *
 * @since 0.1.0
 */
export const map = (
  raw: string | null | undefined,
  options: {
    readonly hasToolCalls: boolean
    readonly extra?: Readonly<Record<string, Response.FinishReason>> | undefined
  }
): Response.FinishReason => {
  if (raw === null || raw === undefined || raw === "") return options.hasToolCalls ? "tool-calls" : "unknown"
  const mapped = options.extra?.[raw] ?? defaults[raw] ?? "other"
  return mapped === "stop" && options.hasToolCalls ? "tool-calls" : mapped
}
