/**
 * Moonshot's built-in web search (`$web_search`) as an `effect/ai` provider-defined tool.
 *
 * Put {@link tool} in the toolkit to enable it. It is declared as
 * `{ "type": "builtin_function", "function": { "name": "$web_search" } }`; when the model calls it
 * (`finish_reason: "tool_calls"`), Conduit answers the call itself: it appends the assistant turn and a
 * `{ "role": "tool", "tool_call_id", "name": "$web_search", "content": <the arguments, unchanged> }` message and asks
 * again (Moonshot runs the search server-side), up to {@link defaultMaxRounds} rounds. The call and its echo appear in
 * the response as provider-executed `tool-call` / `tool-result` parts named `web_search`; {@link usageOf} sums the
 * search tokens they announce (`arguments.usage.total_tokens`, which the follow-up call bills as prompt tokens).
 * Passed as the wire {@link declaration} only (core's `ModelConfig.wireTools`, as the Promise face does),
 * the calls are provider-executed `tool-call` parts named `$web_search` without `tool-result` parts; {@link usageOf}
 * counts both.
 *
 * Not supported on the vision previews and kimi-thinking-preview; on kimi-k2.5 not while thinking (thinking is
 * switched off for the call when the caller did not ask for it, refused when they did).
 *
 * Sources: docs/providers/kimi.md#web-search ([DOC-EN-25] "Use Kimi API's Internet Search Functionality": echo the
 * arguments back; $0.005 per call; [DOC-CN-26] §7 Tool Use 参数兼容性; [KOSONG] `tool_to_kimi`).
 *
 * @since 0.1.0
 */
import type { OpenAiCompatLanguageModel, ResponseSummary } from "@conduitkit/core"
import { Schema } from "effect"
import { type Response, Tool } from "effect/ai"
import { webSearchDeclaration } from "./internal/tools.js"

/**
 * The wire name of the built-in.
 *
 * @since 0.1.0
 */
export const providerName = "$web_search"

/**
 * The name the tool has in toolkits and response parts.
 *
 * @since 0.1.0
 */
export const toolName = "web_search"

/**
 * The constructor of the provider-defined tool (no arguments).
 *
 * @since 0.1.0
 */
export const WebSearch = Tool.providerDefined({
  id: "kimi.web_search",
  customName: toolName,
  providerName,
  parameters: Schema.Unknown,
  success: Schema.Unknown
})

/**
 * The web search tool, ready for `Toolkit.make(KimiWebSearch.tool, ...)`.
 *
 * @since 0.1.0
 */
export const tool = WebSearch(undefined as never)

/**
 * The wire declaration (`builtin_function`).
 *
 * @since 0.1.0
 */
export const declaration = webSearchDeclaration

/**
 * Core's `providerTool` hook: the wire declaration of Kimi's provider-defined tools (`undefined` for others).
 *
 * @since 0.1.0
 */
export const providerTool = (candidate: Tool.Any) =>
  Tool.isProviderDefined(candidate) && candidate.providerName === providerName
    ? { ...webSearchDeclaration, function: { ...webSearchDeclaration.function } }
    : undefined

/**
 * The default bound of provider-executed rounds per call.
 *
 * @since 0.1.0
 */
export const defaultMaxRounds = 3

/**
 * Core's `providerExecutedTools` declaration: `$web_search` is answered by echoing its arguments, at most `maxRounds`
 * times.
 *
 * @since 0.1.0
 */
export const providerExecutedTools = (
  maxRounds: number = defaultMaxRounds
): NonNullable<OpenAiCompatLanguageModel.ProviderSpec["providerExecutedTools"]> => ({
  names: [providerName],
  resolve: (call) => call.arguments,
  maxRounds
})

/**
 * Web search usage of a response: the number of searches and the tokens their results added to the prompt (from
 * `usage.total_tokens` in each call's arguments; 0 when a call does not say).
 *
 * @since 0.1.0
 */
export interface SearchUsage {
  readonly searches: number
  readonly searchTokens: number
}

const tokensOf = (value: unknown): number => {
  let parsed = value
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value)
    } catch {
      return 0
    }
  }
  const total = (parsed as { usage?: { total_tokens?: unknown } } | null)?.usage?.total_tokens
  return typeof total === "number" && Number.isFinite(total) && total >= 0 ? total : 0
}

type AnyPart = Response.AnyPart | Response.AnyPartEncoded

/**
 * Sums the web searches of a response's parts (or a stream's, or a `ResponseSummary`'s tool calls).
 *
 * @since 0.1.0
 */
export const usageOf = (parts: Iterable<AnyPart> | ResponseSummary.Summary): SearchUsage => {
  let searches = 0
  let searchTokens = 0
  const calls: Iterable<{
    readonly name: string
    readonly params: unknown
    readonly providerExecuted?: boolean | undefined
  }> =
    Symbol.iterator in parts ? [...parts].flatMap((part) => (part.type === "tool-call" ? [part] : [])) : parts.toolCalls
  for (const call of calls) {
    if (call.providerExecuted !== true || (call.name !== toolName && call.name !== providerName)) continue
    searches++
    searchTokens += tokensOf(call.params)
  }
  return { searches, searchTokens }
}
