/**
 * The round policy of a call, pure and shared by `generateText` and `streamText`: given what one segment (one
 * upstream response, streamed or not) produced, the next request or "done".
 *
 * - A provider-executed round: every tool call of the segment is one of the spec's `providerExecutedTools`
 *   (Moonshot `$web_search`) and the bound `maxRounds` is not reached. The next request is the segment's request plus
 *   the assistant turn with those calls (reasoning replayed as the call's replay policy says, placeholder included)
 *   and one tool message per call with the spec's `resolve` answer; the round's `tool-result` parts are reported for
 *   the calls of toolkit tools (a tool declared only on the wire has no toolkit tool to decode a result with).
 * - A continuation: `finish_reason` is `length`, continuation is enabled, the answer has text and no tool calls, and
 *   neither `maxContinuations` nor `maxTotalTokens` is reached. The next request is the call's first request plus the
 *   answer so far (`"prefill"`: a partial assistant prefix, where the model supports partial mode; otherwise
 *   `"instruction"`: the answer as an assistant turn and {@link continueInstruction}), with `max_tokens` lowered to
 *   the tokens left.
 * - Otherwise done.
 *
 * @since 0.1.0
 */
import type { Response } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"
import type * as ModelCatalog from "./ModelCatalog.js"
import type * as PromptConversion from "./PromptConversion.js"
import type * as ProviderSpec from "./ProviderSpec.js"
import type * as RequestBuilder from "./RequestBuilder.js"

/**
 * The user turn appended by the `"instruction"` continuation strategy.
 *
 * @since 0.1.0
 */
export const continueInstruction =
  "Continue exactly where your previous answer stopped, mid-sentence if needed. Do not repeat anything and do not add any preamble or commentary."

/**
 * What one segment produced, as the policy sees it.
 *
 * - `text`, `reasoning`: the segment's answer and reasoning text.
 * - `rawFinishReason`: the wire `finish_reason`.
 * - `toolCalls`: the segment's `tool-call` parts, in wire order; `wireToolCalls`: the same calls as sent on the wire
 *   (provider tool name, arguments as the raw JSON string).
 * - `toolCallsComplete`: whether the calls are final, so a provider-executed round may answer them (a non-stream
 *   message: always; a stream: when it finished with `tool_calls`).
 *
 * @since 0.1.0
 */
export interface SegmentSummary {
  readonly text: string
  readonly reasoning: string
  readonly rawFinishReason: string | undefined
  readonly toolCalls: ReadonlyArray<Response.ToolCallPartEncoded>
  readonly wireToolCalls: ReadonlyArray<ProviderSpec.ProviderExecutedToolCall>
  readonly toolCallsComplete: boolean
}

/**
 * The call so far, after the segment: rounds and continuations already run, output tokens summed over every
 * segment, and the answer's text over every segment.
 *
 * @since 0.1.0
 */
export interface CallProgress {
  readonly providerExecutedRounds: number
  readonly continuations: number
  readonly outputTokens: number
  readonly text: string
}

/**
 * What the policy reads of the resolved call: the model (for partial mode), the reasoning-replay policy, the
 * continuation policy, the call's first wire request, and the names of its toolkit tools.
 *
 * @since 0.1.0
 */
export type RoundCall = Pick<
  RequestBuilder.ResolvedCall,
  "info" | "replay" | "continuation" | "request" | "declaredTools"
>

/**
 * What comes after a segment: a provider-executed round (its request, and the `tool-result` parts to report), a
 * continuation (its request), or the end of the call.
 *
 * @since 0.1.0
 */
export type NextRound =
  | {
      readonly _tag: "ProviderExecutedRound"
      readonly request: ChatCompletions.WireRequest
      readonly results: ReadonlyArray<Response.ToolResultPartEncoded>
    }
  | { readonly _tag: "Continuation"; readonly request: ChatCompletions.WireRequest }
  | { readonly _tag: "Done" }

/**
 * The next round after a segment sent as `request` (see the module docs for the rules).
 *
 * @since 0.1.0
 */
export const next = (
  spec: ProviderSpec.ProviderSpec,
  call: RoundCall,
  request: ChatCompletions.WireRequest,
  segment: SegmentSummary,
  progress: CallProgress
): NextRound => {
  const tools = spec.providerExecutedTools
  if (tools !== undefined && segment.toolCallsComplete && progress.providerExecutedRounds < tools.maxRounds) {
    const messages = providerExecutedMessages(tools, call.replay, segment)
    if (messages !== undefined) {
      return {
        _tag: "ProviderExecutedRound",
        request: { ...request, messages: [...request.messages, ...messages] },
        results: providerExecutedResults(call.declaredTools, segment)
      }
    }
  }
  if (shouldContinue(call.continuation, segment, progress)) {
    return { _tag: "Continuation", request: continuationRequest(spec, call, progress) }
  }
  return { _tag: "Done" }
}

/** The assistant turn with the calls and their answers, when every call is provider-executed. */
const providerExecutedMessages = (
  tools: NonNullable<ProviderSpec.ProviderSpec["providerExecutedTools"]>,
  replay: PromptConversion.ReasoningReplay,
  segment: SegmentSummary
): Array<ChatCompletions.RequestMessage> | undefined => {
  const calls = segment.wireToolCalls
  if (calls.length === 0 || !calls.every((call) => tools.names.includes(call.name))) return undefined
  // the replay policy applies to the tool-call turn Conduit appends itself, placeholder included
  const replayed =
    replay.mode === "never" ? undefined : segment.reasoning.trim() !== "" ? segment.reasoning : replay.placeholder
  return [
    {
      role: "assistant",
      ...(segment.text !== "" ? { content: segment.text } : {}),
      ...(replayed !== undefined ? { reasoning_content: replayed } : {}),
      tool_calls: calls.map((call) => ({
        id: call.id,
        type: "function",
        function: { name: call.name, arguments: call.arguments }
      }))
    },
    ...calls.map(
      (call): ChatCompletions.RequestMessage => ({
        role: "tool",
        tool_call_id: call.id,
        name: call.name,
        content: tools.resolve(call)
      })
    )
  ]
}

/** The round's `tool-result` parts: the echoed arguments, for the calls of tools the toolkit declares. */
const providerExecutedResults = (
  declaredTools: ReadonlySet<string>,
  segment: SegmentSummary
): Array<Response.ToolResultPartEncoded> =>
  segment.toolCalls.flatMap((call, index) =>
    declaredTools.has(call.name)
      ? [
          {
            type: "tool-result",
            id: call.id,
            name: call.name,
            isFailure: false,
            result: segment.wireToolCalls[index]?.arguments ?? "",
            providerExecuted: true
          }
        ]
      : []
  )

const shouldContinue = (policy: RoundCall["continuation"], segment: SegmentSummary, progress: CallProgress): boolean =>
  policy.enabled &&
  segment.rawFinishReason === "length" &&
  progress.text !== "" &&
  segment.toolCalls.length === 0 &&
  progress.continuations < policy.maxContinuations &&
  progress.outputTokens < policy.maxTotalTokens

/** Prefill only where the model supports partial mode; otherwise the instruction strategy. */
const continuationMessages = (
  spec: ProviderSpec.ProviderSpec,
  info: ModelCatalog.ModelInfo,
  text: string
): Array<ChatCompletions.RequestMessage> =>
  spec.continuation === "prefill" && info.capabilities.partialMode
    ? [spec.prefillMessage ? spec.prefillMessage(text) : { role: "assistant", content: text, partial: true }]
    : [
        { role: "assistant", content: text },
        { role: "user", content: continueInstruction }
      ]

const continuationRequest = (
  spec: ProviderSpec.ProviderSpec,
  call: RoundCall,
  progress: CallProgress
): ChatCompletions.WireRequest => {
  const base = call.request
  const remaining = call.continuation.maxTotalTokens - progress.outputTokens
  const requested = Number(base.max_tokens ?? base.max_completion_tokens ?? remaining) || remaining
  const maxTokens = Math.max(1, Math.min(requested, remaining))
  const { max_completion_tokens: _drop, ...rest } = base
  return {
    ...rest,
    messages: [...base.messages, ...continuationMessages(spec, call.info, progress.text)],
    max_tokens: maxTokens
  }
}
