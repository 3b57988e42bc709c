/**
 * Message-level shaping (pure): roles, reasoning replay, partial mode and the context-cache message.
 *
 * - Roles: Moonshot accepts `system`, `user`, `assistant`, `tool` and `cache`; `developer` is refused by the API
 *   (https://github.com/openclaw/openclaw/issues/8579) and is sent as `system`; anything else is sent as is.
 * - Reasoning replay: with thinking on, every assistant message that carries tool calls must carry a non-empty
 *   `reasoning_content`, else 400 `thinking is enabled but reasoning_content is missing in assistant tool call message
 *   at index N` (an empty string counts as missing on kimi-k2.5/k2.6; a single space is accepted).
 *   docs/providers/kimi.md#thinking-and-reasoning-replay; `other-repos/error-messages-from-issues.txt`. With thinking
 *   off, replayed reasoning is dropped.
 * - Partial mode: the prefix is the LAST message, `{ role: "assistant", content, partial: true, name? }`; not with
 *   `response_format: json_object`; not on kimi-thinking-preview ([DOC-EN-25] "Partial Mode").
 * - Context cache by message: `{ role: "cache", content: "cache_id=…;reset_ttl=…" }` (or `tag=`) first; the
 *   cached messages and tools are substituted server-side, so `tools` must be absent ([DOC-EN-25] "Context Caching").
 */
import type { ChatCompletions } from "@conduitkit/core"
import { Result } from "effect"
import { refuse, type Shaped } from "./refusal.js"

type Message = ChatCompletions.RequestMessage

/** The reasoning sent for a tool-call turn whose reasoning was lost: non-empty, because `""` counts as missing. */
export const reasoningPlaceholder = " "

/**
 * Maps `developer` to `system` (Moonshot has no developer role, https://github.com/openclaw/openclaw/issues/8579;
 * the same instruction under the role it knows). Other roles are sent as is.
 */
export const normalizeRoles = (messages: ReadonlyArray<Message>): Array<Message> =>
  messages.map((message) => (message.role === "developer" ? { ...message, role: "system" } : message))

const hasToolCalls = (message: Message): boolean =>
  message.role === "assistant" && Array.isArray(message.tool_calls) && message.tool_calls.length > 0

/**
 * Adjusts replayed reasoning to the thinking state: on (or unknown) → every assistant tool-call message carries
 * non-empty reasoning (the {@link reasoningPlaceholder} when it was lost); off → `reasoning_content` is removed.
 */
export const replayReasoning = (messages: ReadonlyArray<Message>, thinkingOn: boolean | undefined): Array<Message> =>
  messages.map((message) => {
    if (message.role !== "assistant") return message
    if (thinkingOn === false) {
      if (message.reasoning_content === undefined) return message
      const { reasoning_content: _drop, ...rest } = message
      return rest as Message
    }
    if (
      hasToolCalls(message) &&
      (typeof message.reasoning_content !== "string" || message.reasoning_content.trim() === "")
    ) {
      return { ...message, reasoning_content: reasoningPlaceholder }
    }
    return message
  })

/**
 * Appends the partial-mode prefix (when given): an assistant message with `partial: true`. Where the model or the
 * response format does not support partial mode (documented only), the API's answer decides.
 */
export const applyPartial = (
  messages: ReadonlyArray<Message>,
  prefix: { readonly content: string; readonly name?: string | undefined } | undefined
): Array<Message> => {
  const out = [...messages]
  if (prefix !== undefined) {
    out.push({
      role: "assistant",
      content: prefix.content,
      partial: true,
      ...(prefix.name !== undefined ? { name: prefix.name } : {})
    })
  }
  return out
}

/** A reference to an explicit context cache. */
export interface CacheReference {
  readonly cacheId?: string | undefined
  readonly tag?: string | undefined
  readonly resetTtl?: number | undefined
  readonly dryRun?: boolean | undefined
}

/** The content of a `role: "cache"` message: `;`-joined options, no trailing `;` ([DOC-EN-25]). */
export const cacheMessageContent = (reference: CacheReference): string =>
  [
    ...(reference.cacheId !== undefined ? [`cache_id=${reference.cacheId}`] : []),
    ...(reference.tag !== undefined ? [`tag=${reference.tag}`] : []),
    ...(reference.resetTtl !== undefined ? [`reset_ttl=${Math.floor(reference.resetTtl)}`] : []),
    ...(reference.dryRun ? ["dry_run=1"] : [])
  ].join(";")

/** The request headers that reference a cache (`X-Msh-Context-Cache`, `-Reset-TTL`, `-DryRun`). */
export const cacheHeaders = (reference: CacheReference): Record<string, string> => ({
  ...(reference.cacheId !== undefined ? { "X-Msh-Context-Cache": reference.cacheId } : {}),
  ...(reference.resetTtl !== undefined
    ? { "X-Msh-Context-Cache-Reset-TTL": String(Math.floor(reference.resetTtl)) }
    : {}),
  ...(reference.dryRun !== undefined ? { "X-Msh-Context-Cache-DryRun": reference.dryRun ? "1" : "0" } : {})
})

/**
 * Puts the `role: "cache"` message first (after any existing one is removed) and drops `tools` / `tool_choice`
 * (Moonshot requires `tools` to be absent with a cache message: the cached tools apply).
 */
export const withCacheMessage = (
  body: ChatCompletions.WireRequest,
  reference: CacheReference,
  dropPrefix = 0
): Shaped<ChatCompletions.WireRequest> => {
  if (reference.cacheId === undefined && reference.tag === undefined) {
    // refusal: kimi/cache-reference-empty
    return refuse("contextCache", "a context-cache reference needs a cacheId or a tag")
  }
  const rest = body.messages.filter((message) => message.role !== "cache").slice(dropPrefix)
  const { tools: _tools, tool_choice: _choice, ...others } = body
  return Result.succeed({
    ...others,
    model: body.model,
    messages: [{ role: "cache", content: cacheMessageContent(reference) }, ...rest]
  })
}
