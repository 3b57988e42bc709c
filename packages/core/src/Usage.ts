/**
 * Token usage normalized from every place providers put it.
 *
 * Placements handled (all counts in tokens):
 * - Moonshot: top-level `usage.cached_tokens`, plus OpenAI's `prompt_tokens_details.cached_tokens` on newer models;
 *   in streams, `choices[0].usage` on the finish chunk (always) and a trailing `choices: []` chunk with top-level
 *   `usage` (with `stream_options.include_usage`). Fixtures: `kimi/vercel-ai/moonshotai-usage-live.chunks.txt`,
 *   `kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt`, `kimi/other-repos/kimi-k2-0905-preview.stream.sse.txt`.
 * - Zhipu: `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens` on the finish chunk.
 *   Fixtures: `glm/fantasy/*.yaml`, `glm/octollm/glm-4.6_nonstream_reasoning.json`.
 *
 * `prompt_tokens` includes cached tokens and `completion_tokens` includes reasoning tokens
 * (docs/providers/kimi.md#usage, docs/providers/glm.md#usage). Reported values are clamped so parts never exceed their
 * whole (fixture `kimi/vercel-ai/issue-19311-kimi-k3-negative-usage.json` reports 6001 reasoning of 6000 completion
 * tokens).
 *
 * @since 0.1.0
 */
import type { Response } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"

/**
 * Usage in tokens. `inputTokens` includes `cachedInputTokens`; `outputTokens` includes `reasoningTokens`.
 *
 * @since 0.1.0
 */
export interface TokenUsage {
  readonly inputTokens: number
  readonly outputTokens: number
  readonly cachedInputTokens: number
  readonly reasoningTokens: number
  readonly totalTokens: number
}

/**
 * Usage of nothing (all zeros).
 *
 * @since 0.1.0
 */
export const zero: TokenUsage = {
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0
}

const count = (value: number | null | undefined): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined

/**
 * Normalizes one wire `usage` object. Returns `undefined` when there is none. Cached tokens are the larger of the
 * top-level Moonshot field and the nested OpenAI field (they are equal whenever both are sent); reasoning tokens
 * come from `completion_tokens_details.reasoning_tokens`. Both are clamped to their whole.
 *
 * @since 0.1.0
 */
export const normalize = (usage: ChatCompletions.Usage | null | undefined): TokenUsage | undefined => {
  if (usage === null || usage === undefined) return undefined
  const inputTokens = count(usage.prompt_tokens) ?? 0
  const outputTokens = count(usage.completion_tokens) ?? 0
  const cached = Math.max(count(usage.cached_tokens) ?? 0, count(usage.prompt_tokens_details?.cached_tokens) ?? 0)
  const reasoning = count(usage.completion_tokens_details?.reasoning_tokens) ?? 0
  return {
    inputTokens,
    outputTokens,
    cachedInputTokens: Math.min(cached, inputTokens),
    reasoningTokens: Math.min(reasoning, outputTokens),
    totalTokens: count(usage.total_tokens) ?? inputTokens + outputTokens
  }
}

/**
 * The usage a stream chunk carries, from whichever placement it uses: top-level `usage` (trailing chunk or the
 * 2026 doc shape) or `choices[i].usage` (Moonshot's finish chunk). Top-level wins when both are present.
 *
 * @since 0.1.0
 */
export const fromChunk = (chunk: ChatCompletions.ChatCompletionChunk): TokenUsage | undefined => {
  const top = normalize(chunk.usage)
  if (top !== undefined) return top
  const choices = chunk.choices
  if (choices === undefined) return undefined
  for (const choice of choices) {
    const inChoice = normalize(choice.usage)
    if (inChoice !== undefined) return inChoice
  }
  return undefined
}

/**
 * The usage of a non-streaming response: top-level `usage`, else the first choice's.
 *
 * @since 0.1.0
 */
export const fromCompletion = (body: ChatCompletions.ChatCompletion): TokenUsage | undefined =>
  normalize(body.usage) ?? normalize(body.choices[0]?.usage)

/**
 * Adds two usages (for merged continuations and multi-step tool rounds).
 *
 * @since 0.1.0
 */
export const sum = (a: TokenUsage, b: TokenUsage): TokenUsage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens,
  cachedInputTokens: a.cachedInputTokens + b.cachedInputTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens,
  totalTokens: a.totalTokens + b.totalTokens
})

/**
 * Converts to the `effect/ai` usage of a `finish` part (encoded form): `inputTokens.total/uncached/cacheRead`,
 * `outputTokens.total/text/reasoning`. Unknown usage gives empty objects (every field undefined).
 *
 * @since 0.1.0
 */
export const toResponseUsage = (usage: TokenUsage | undefined): typeof Response.Usage.Encoded =>
  usage === undefined
    ? { inputTokens: {}, outputTokens: {} }
    : {
        inputTokens: {
          total: usage.inputTokens,
          uncached: usage.inputTokens - usage.cachedInputTokens,
          cacheRead: usage.cachedInputTokens
        },
        outputTokens: {
          total: usage.outputTokens,
          text: usage.outputTokens - usage.reasoningTokens,
          reasoning: usage.reasoningTokens
        }
      }

/**
 * Reads an `effect/ai` usage back into {@link TokenUsage} (missing fields count as 0).
 *
 * @since 0.1.0
 */
export const fromResponseUsage = (usage: typeof Response.Usage.Encoded): TokenUsage => {
  const inputTokens = usage.inputTokens.total ?? 0
  const outputTokens = usage.outputTokens.total ?? 0
  return {
    inputTokens,
    outputTokens,
    cachedInputTokens: usage.inputTokens.cacheRead ?? 0,
    reasoningTokens: usage.outputTokens.reasoning ?? 0,
    totalTokens: inputTokens + outputTokens
  }
}
