/**
 * Pure conversion of Chat Completions responses and stream chunks into `effect/ai` response parts.
 *
 * - {@link fromCompletion}: a non-streaming body to `response-metadata`, `reasoning`, `text`, `tool-call`, provider
 *   extra parts (e.g. web-search sources) and `finish` parts.
 * - {@link makeAssembler}: a stateful fold over chunks to stream parts (`*-start` / `*-delta` / `*-end`,
 *   `tool-params-*`, then complete `tool-call` parts and one `finish` part at the end).
 *
 * Tool calls are assembled by `index`, tolerating what real streams do: ids missing on continuation fragments, a
 * whole call (name and complete arguments) in one delta (Zhipu without `tool_stream`), arguments split over many
 * deltas, empty-argument starts, fragments without `index` (keyed by their position in the delta, so parallel
 * calls sent side by side stay apart; a new id in an occupied slot starts a new call), ids that are odd but opaque (`get_weather_0`, `call_-8223…`, `search:0`). A missing or empty id gets a
 * generated one. Arguments are parsed only when the call is complete; invalid JSON is a typed
 * `ToolParameterValidationError` carrying the raw text, never a silently dropped call.
 *
 * Sources: fixtures `kimi/vercel-ai/synthetic/moonshotai-stream-indexless-tool-calls.chunks.txt`,
 * `glm/fantasy/*multi_tool_streaming*.yaml`, `kimi/vercel-ai/moonshotai-k3-required-tool-choice.json`;
 * docs/providers/kimi.md#streaming, docs/providers/glm.md#responses, #streaming; anchors.md §1.5 (Vercel throws on a
 * missing id).
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { AiError, type Response, Tool } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as FinishReason from "./FinishReason.js"
import * as Usage from "./Usage.js"

/**
 * Conduit's fields in a `finish` part's `metadata.conduit` (JSON). The converters fill `rawFinishReason` and
 * `lengthInReasoning`; the language model adds the request metadata (`streamed`, `chunkCount`,
 * `timeToFirstTokenMs`, `durationMs`, `requestId`, `attempts`, `continuations`, ...).
 *
 * @since 0.1.0
 */
export interface FinishMetadata {
  readonly rawFinishReason?: string | undefined
  /** `finish_reason: "length"` arrived while the model was still reasoning (no answer text yet). */
  readonly lengthInReasoning?: boolean | undefined
  readonly [key: string]: unknown
}

/**
 * Options shared by both converters.
 *
 * - `toolNames`: maps provider tool names back to the names the caller declared (provider-defined tools).
 * - `finishReasons`: provider-specific finish-reason entries (see `FinishReason.map`).
 * - `extraParts`: a provider hook returning extra parts for a body or chunk (for example Zhipu `web_search`
 *   results as `source` parts). It must be pure.
 *
 * @since 0.1.0
 */
export interface ConversionOptions {
  readonly toolNames?: Tool.NameMapper<ReadonlyArray<Tool.Any>> | undefined
  readonly finishReasons?: Readonly<Record<string, Response.FinishReason>> | undefined
  readonly extraParts?:
    | ((
        body: ChatCompletions.ChatCompletion | ChatCompletions.ChatCompletionChunk
      ) => ReadonlyArray<Response.PartEncoded>)
    | undefined
}

const timestamp = (created: number | null | undefined): string | undefined =>
  typeof created === "number" && Number.isFinite(created) ? new Date(created * 1000).toISOString() : undefined

const argumentsText = (value: string | Readonly<Record<string, unknown>> | null | undefined): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)

const parseArguments = (name: string, text: string): Result.Result<unknown, AiError.AiError> => {
  if (text.trim() === "") return Result.succeed({})
  try {
    return Result.succeed(Tool.unsafeSecureJsonParse(text))
  } catch (cause) {
    return Result.fail(
      AiError.make({
        module: "ResponseConversion",
        method: "toolCall",
        reason: new AiError.ToolParameterValidationError({
          toolName: name,
          description: `the arguments of tool call "${name}" are not valid JSON (${
            cause instanceof Error ? cause.message : String(cause)
          }): ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`
        })
      })
    )
  }
}

const finishPart = (
  rawReason: string | null | undefined,
  hasToolCalls: boolean,
  usage: Usage.TokenUsage | undefined,
  lengthInReasoning: boolean,
  options: ConversionOptions
): Response.FinishPartEncoded => {
  const conduit: Record<string, string | boolean> = {}
  if (typeof rawReason === "string") conduit.rawFinishReason = rawReason
  if (lengthInReasoning) conduit.lengthInReasoning = true
  return {
    type: "finish",
    reason: FinishReason.map(rawReason, { hasToolCalls, extra: options.finishReasons }),
    usage: Usage.toResponseUsage(usage),
    metadata: { conduit }
  }
}

/**
 * Converts a non-streaming body (its first choice) to parts. Fails only for tool-call arguments that are not JSON.
 *
 * @since 0.1.0
 */
export const fromCompletion = (
  body: ChatCompletions.ChatCompletion,
  options: ConversionOptions = {}
): Result.Result<Array<Response.PartEncoded>, AiError.AiError> => {
  const parts: Array<Response.PartEncoded> = []
  const created = timestamp(body.created)
  parts.push({
    type: "response-metadata",
    ...(body.id ? { id: body.id } : {}),
    ...(body.model ? { modelId: body.model } : {}),
    ...(created !== undefined ? { timestamp: created } : {})
  })
  const choice = body.choices[0]
  const message = choice?.message
  const reasoning = message?.reasoning_content ?? message?.reasoning
  if (typeof reasoning === "string" && reasoning.length > 0) parts.push({ type: "reasoning", text: reasoning })
  const text = message?.content
  if (typeof text === "string" && text.length > 0) parts.push({ type: "text", text })
  let toolCalls = 0
  for (const [index, call] of (message?.tool_calls ?? []).entries()) {
    const providerName = call.function?.name ?? "unknown_tool"
    const name = options.toolNames?.getCustomName(providerName) ?? providerName
    const params = parseArguments(name, argumentsText(call.function?.arguments))
    if (Result.isFailure(params)) return Result.fail(params.failure)
    toolCalls++
    parts.push({
      type: "tool-call",
      id: call.id ? call.id : `${body.id ?? "call"}_tool_${index}`,
      name,
      params: params.success
    })
  }
  if (options.extraParts) parts.push(...options.extraParts(body))
  const rawReason = choice?.finish_reason
  const lengthInReasoning = rawReason === "length" && (text ?? "") === "" && (reasoning ?? "") !== ""
  parts.push(finishPart(rawReason, toolCalls > 0, Usage.fromCompletion(body), lengthInReasoning, options))
  return Result.succeed(parts)
}

interface ActiveToolCall {
  readonly index: number
  readonly id: string
  name: string
  args: string
}

/**
 * Progress of an assembler, readable at any time.
 *
 * - `chunkCount`: chunks pushed. `finishReason`: the raw reason once seen. `usage`: the last usage seen (from any
 *   placement). `sawContent`: some text, reasoning or tool-call content arrived.
 *
 * @since 0.1.0
 */
export interface AssemblerState {
  readonly chunkCount: number
  readonly finishReason: string | undefined
  readonly usage: Usage.TokenUsage | undefined
  readonly responseId: string | undefined
  readonly model: string | undefined
  readonly sawContent: boolean
}

/**
 * A chunk assembler: `push` each decoded chunk and get the parts it produces; `finish` once at the end to close
 * open blocks and get the complete tool calls and the `finish` part (or the argument-parsing error).
 *
 * @since 0.1.0
 */
export interface Assembler {
  readonly push: (chunk: ChatCompletions.ChatCompletionChunk) => Array<Response.StreamPartEncoded>
  readonly finish: () => Result.Result<Array<Response.StreamPartEncoded>, AiError.AiError>
  readonly state: () => AssemblerState
}

/**
 * Creates an assembler for one stream (only choice index 0 is followed; `n > 1` is not a `LanguageModel` concept).
 *
 * @since 0.1.0
 */
export const makeAssembler = (options: ConversionOptions = {}): Assembler => {
  let chunkCount = 0
  let finishReason: string | undefined
  let usage: Usage.TokenUsage | undefined
  let responseId: string | undefined
  let model: string | undefined
  let metadataSent = false
  let textId: string | undefined
  let reasoningId: string | undefined
  let blocks = 0
  let sawText = false
  let sawReasoning = false
  const calls: Array<ActiveToolCall> = []
  const byIndex = new Map<number, ActiveToolCall>()

  const endReasoning = (out: Array<Response.StreamPartEncoded>) => {
    if (reasoningId !== undefined) {
      out.push({ type: "reasoning-end", id: reasoningId })
      reasoningId = undefined
    }
  }
  const endText = (out: Array<Response.StreamPartEncoded>) => {
    if (textId !== undefined) {
      out.push({ type: "text-end", id: textId })
      textId = undefined
    }
  }

  const toolDelta = (
    delta: ChatCompletions.ToolCallDelta,
    position: number,
    out: Array<Response.StreamPartEncoded>
  ) => {
    // The slot of a fragment is its `index`, else its position in the delta's array (index-less streams send
    // parallel calls side by side). A fragment with a new id in an occupied slot starts a new call there.
    const slot = typeof delta.index === "number" ? delta.index : position
    let call = byIndex.get(slot)
    if (call !== undefined && delta.id && delta.id !== call.id) call = undefined
    const fragment = argumentsText(delta.function?.arguments)
    if (call === undefined) {
      const providerName = delta.function?.name ?? ""
      call = {
        index: slot,
        id: delta.id ? delta.id : `${responseId ?? "call"}_tool_${calls.length}`,
        name: providerName === "" ? "" : (options.toolNames?.getCustomName(providerName) ?? providerName),
        args: ""
      }
      calls.push(call)
      byIndex.set(slot, call)
      out.push({ type: "tool-params-start", id: call.id, name: call.name === "" ? "unknown_tool" : call.name })
    } else if (call.name === "" && delta.function?.name) {
      call.name = options.toolNames?.getCustomName(delta.function.name) ?? delta.function.name
    }
    if (fragment !== "") {
      call.args += fragment
      out.push({ type: "tool-params-delta", id: call.id, delta: fragment })
    }
  }

  return {
    push: (chunk) => {
      chunkCount++
      const out: Array<Response.StreamPartEncoded> = []
      if (chunk.id) responseId ??= chunk.id
      if (chunk.model) model ??= chunk.model
      if (!metadataSent) {
        metadataSent = true
        const created = timestamp(chunk.created)
        out.push({
          type: "response-metadata",
          ...(chunk.id ? { id: chunk.id } : {}),
          ...(chunk.model ? { modelId: chunk.model } : {}),
          ...(created !== undefined ? { timestamp: created } : {})
        })
      }
      const chunkUsage = Usage.fromChunk(chunk)
      if (chunkUsage !== undefined) usage = chunkUsage
      const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0)
      const delta = choice?.delta
      if (delta !== undefined && delta !== null) {
        const reasoning = delta.reasoning_content ?? delta.reasoning
        if (typeof reasoning === "string" && reasoning.length > 0) {
          endText(out)
          if (reasoningId === undefined) {
            reasoningId = `reasoning-${blocks++}`
            out.push({ type: "reasoning-start", id: reasoningId })
          }
          sawReasoning = true
          out.push({ type: "reasoning-delta", id: reasoningId, delta: reasoning })
        }
        const text = delta.content
        if (typeof text === "string" && text.length > 0) {
          endReasoning(out)
          if (textId === undefined) {
            textId = `text-${blocks++}`
            out.push({ type: "text-start", id: textId })
          }
          sawText = true
          out.push({ type: "text-delta", id: textId, delta: text })
        }
        const toolCalls = delta.tool_calls
        if (toolCalls !== undefined && toolCalls !== null && toolCalls.length > 0) {
          endReasoning(out)
          endText(out)
          for (const [position, toolCall] of toolCalls.entries()) toolDelta(toolCall, position, out)
        }
      }
      if (options.extraParts) out.push(...(options.extraParts(chunk) as Array<Response.StreamPartEncoded>))
      if (typeof choice?.finish_reason === "string" && choice.finish_reason !== "") finishReason = choice.finish_reason
      return out
    },
    finish: () => {
      const out: Array<Response.StreamPartEncoded> = []
      endReasoning(out)
      endText(out)
      for (const call of calls) {
        const name = call.name === "" ? "unknown_tool" : call.name
        const params = parseArguments(name, call.args)
        if (Result.isFailure(params)) return Result.fail(params.failure)
        out.push({ type: "tool-params-end", id: call.id })
        out.push({ type: "tool-call", id: call.id, name, params: params.success })
      }
      const lengthInReasoning = finishReason === "length" && sawReasoning && !sawText
      out.push(
        finishPart(finishReason, calls.length > 0, usage, lengthInReasoning, options) as Response.StreamPartEncoded
      )
      return Result.succeed(out)
    },
    state: () => ({
      chunkCount,
      finishReason,
      usage,
      responseId,
      model,
      sawContent: sawText || sawReasoning || calls.length > 0
    })
  }
}
