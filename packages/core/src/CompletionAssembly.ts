/**
 * A non-stream answer assembled from a stream's chunks: what lets a non-stream call be made in streaming mode, so
 * that each attempt gets the first-token and idle bounds a stream has (a provider sends a non-stream answer's
 * headers only when the whole answer is ready, so a hung non-stream attempt cannot be told from a long one).
 *
 * {@link assemble} is pure: chunks in, `ChatCompletion` out, in the provider's non-stream shape.
 *
 * - Top level: `id`, `created`, `model`, `system_fingerprint`, `request_id` and any field the schema does not name
 *   (GLM's `web_search`, ...) from the first chunk that carries them; `object` is `chat.completion` when the chunks
 *   name one (Moonshot) and absent when they do not (Zhipu sends none either way).
 * - Per choice (by `index`): `role` (default `assistant`), `content`, `reasoning_content`, `reasoning` and `refusal`
 *   concatenated (absent when no chunk carried the field; `content` is `null` then, as a tool-call-only answer
 *   has), `tool_calls` merged by their `index` (else their position in the delta, as index-less streams send
 *   parallel calls; `arguments` concatenated), the last `finish_reason`, `logprobs.content` concatenated.
 * - `usage`: the top-level usage of the last chunk that has one (`stream_options.include_usage`), else the finish
 *   chunk's `choices[i].usage` (Moonshot's placement), moved to the top level where non-stream answers carry it.
 *
 * Evidence that the streams of Kimi and GLM carry every field of their non-stream answers (field by field, over the
 * recordings): `test/CompletionAssembly.test.ts` and docs/providers/non-stream-over-stream.md.
 *
 * @since 0.1.0
 */
import type * as ChatCompletions from "./ChatCompletions.js"

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

interface ToolCallAcc {
  id?: string | null | undefined
  type?: string | null | undefined
  index: number
  function: { name?: string | null | undefined; arguments?: unknown }
}

interface ChoiceAcc {
  index: number
  role: string | undefined
  content: string | undefined
  reasoning_content: string | undefined
  reasoning: string | undefined
  refusal: string | undefined
  toolCalls: Array<ToolCallAcc>
  finish_reason: string | null
  usage: ChatCompletions.Usage | undefined
  logprobs: Array<unknown> | undefined
}

const append = (acc: string | undefined, value: unknown): string | undefined =>
  typeof value === "string" ? (acc ?? "") + value : acc

const mergeToolCalls = (calls: Array<ToolCallAcc>, deltas: ReadonlyArray<ChatCompletions.ToolCallDelta>) => {
  for (const [position, delta] of deltas.entries()) {
    // a fragment's slot is its `index`, else its position in the delta's array (as the stream assembler of
    // `ResponseConversion` keys them: index-less streams send parallel calls side by side)
    const slot = typeof delta.index === "number" ? delta.index : position
    let call = calls.find((c) => c.index === slot)
    if (call === undefined) {
      call = { index: slot, function: {} }
      calls.push(call)
    }
    if (typeof delta.id === "string" && delta.id !== "") call.id = delta.id
    if (typeof delta.type === "string" && delta.type !== "") call.type = delta.type
    const fn = delta.function
    if (fn !== undefined && fn !== null) {
      if (typeof fn.name === "string" && fn.name !== "") call.function.name ??= fn.name
      const args: unknown = fn.arguments
      if (typeof args === "string") {
        call.function.arguments = typeof call.function.arguments === "string" ? call.function.arguments + args : args
      } else if (args !== undefined && args !== null) {
        call.function.arguments = args // an object, as some providers send whole calls
      }
    }
  }
}

/**
 * The non-stream answer the chunks of one stream make (see the module's description). An empty list gives a
 * completion with no choices.
 *
 * @since 0.1.0
 */
export const assemble = (
  chunks: ReadonlyArray<ChatCompletions.ChatCompletionChunk>
): ChatCompletions.ChatCompletion => {
  const top: Record<string, unknown> = {}
  let object = false
  let usage: ChatCompletions.Usage | undefined
  const choices: Array<ChoiceAcc> = []
  for (const chunk of chunks) {
    for (const key in chunk) {
      const value = (chunk as Record<string, unknown>)[key]
      if (key === "object") {
        object ||= typeof value === "string"
      } else if (key !== "choices" && key !== "usage" && top[key] === undefined) {
        if (value !== undefined && value !== null) top[key] = value
      }
    }
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      const index = typeof choice.index === "number" ? choice.index : 0
      let acc = choices.find((c) => c.index === index)
      if (acc === undefined) {
        acc = {
          index,
          role: undefined,
          content: undefined,
          reasoning_content: undefined,
          reasoning: undefined,
          refusal: undefined,
          toolCalls: [],
          finish_reason: null,
          usage: undefined,
          logprobs: undefined
        }
        choices.push(acc)
      }
      const delta = choice.delta
      if (delta !== undefined && delta !== null) {
        if (typeof delta.role === "string" && delta.role !== "") acc.role ??= delta.role
        acc.content = append(acc.content, delta.content)
        acc.reasoning_content = append(acc.reasoning_content, delta.reasoning_content)
        acc.reasoning = append(acc.reasoning, delta.reasoning)
        acc.refusal = append(acc.refusal, delta.refusal)
        if (delta.tool_calls !== undefined && delta.tool_calls !== null) mergeToolCalls(acc.toolCalls, delta.tool_calls)
      }
      if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") {
        acc.finish_reason = choice.finish_reason
      }
      if (choice.usage !== undefined && choice.usage !== null) acc.usage = choice.usage
      const logprobs = (choice as { logprobs?: { content?: unknown } | null }).logprobs
      if (logprobs !== undefined && logprobs !== null && Array.isArray(logprobs.content)) {
        acc.logprobs = [...(acc.logprobs ?? []), ...(logprobs.content as Array<unknown>)]
      }
    }
  }
  choices.sort((a, b) => a.index - b.index)
  const out: Mutable<ChatCompletions.ChatCompletion> & Record<string, unknown> = {
    ...top,
    ...(object ? { object: "chat.completion" } : {}),
    choices: choices.map((acc) => {
      const message: Record<string, unknown> = { role: acc.role ?? "assistant", content: acc.content ?? null }
      if (acc.reasoning_content !== undefined) message.reasoning_content = acc.reasoning_content
      if (acc.reasoning !== undefined) message.reasoning = acc.reasoning
      if (acc.refusal !== undefined) message.refusal = acc.refusal
      if (acc.toolCalls.length > 0) {
        message.tool_calls = [...acc.toolCalls]
          .sort((a, b) => a.index - b.index)
          .map((call) => ({
            ...(call.id !== undefined ? { id: call.id } : {}),
            type: call.type ?? "function",
            index: call.index,
            function: { name: call.function.name ?? "", arguments: call.function.arguments ?? "" }
          }))
      }
      return {
        index: acc.index,
        message: message as ChatCompletions.ResponseMessage,
        finish_reason: acc.finish_reason,
        ...(acc.logprobs !== undefined ? { logprobs: { content: acc.logprobs } } : {})
      }
    })
  }
  const choiceUsage = choices[0]?.usage
  if (usage !== undefined) out.usage = usage
  else if (choiceUsage !== undefined) out.usage = choiceUsage
  return out
}

/**
 * Whether a request asks only for what the recorded streams of Kimi and GLM show carrying everything their non-stream
 * answers do (text, reasoning, function tool calls, finish reason, usage with cached and reasoning tokens, ids and
 * model): no provider-defined tool (GLM's `web_search` puts a top-level `web_search` array in its non-stream answer,
 * and Kimi's `builtin_function` runs server-side; neither has a recorded stream) and no `logprobs` (no recorded
 * stream carries them). The providers' `assembleNonStream` decisions start from it.
 *
 * @since 0.1.0
 */
export const onlyRecordedFeatures = (request: ChatCompletions.WireRequest): boolean => {
  if (request.logprobs === true || request.top_logprobs !== undefined) return false
  const tools = request.tools as ReadonlyArray<{ readonly type?: unknown }> | undefined
  return tools === undefined || tools.every((tool) => tool.type === "function")
}
