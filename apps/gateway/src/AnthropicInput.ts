/**
 * Pure conversion of an Anthropic Messages API request (`POST /v1/messages`, as the `@anthropic-ai/sdk` types
 * define it) into what the engine runs: an `effect/ai` `Prompt`, function tool declarations, a wire `tool_choice`
 * and the wire parameters of the OpenAI-compatible providers. The Anthropic twin of core's `WireInput`.
 *
 * Messages:
 * - `system` (a string or text blocks) and `role: "system"` messages become system messages;
 * - user `text` → text parts, `image` (`base64` or `url` source) → file parts, `document` with a `text` source →
 *   text, `tool_result` (string or text/image blocks, `is_error`) → a tool message before the rest of the turn,
 *   named after the `tool_use` it answers;
 * - assistant `text` → text, `tool_use` → tool-call parts (`input` as the call's params), `thinking` → reasoning
 *   parts: a thinking block a client sends back is the provider's own reasoning, which the provider replays by its
 *   rules (Kimi needs it on tool-call turns as `reasoning_content`; GLM keeps or clears it per `clear_thinking`);
 *   `redacted_thinking` has no text and is dropped.
 * - blocks no OpenAI-compatible provider can carry (`file` sources, PDF documents, server-tool blocks, search
 *   results, ...) are refused with a 400 naming the block.
 *
 * Parameters (see {@link parameters}): `max_tokens`, `stop_sequences` → `stop`, `temperature`, `top_p` pass through;
 * `top_k` and `metadata.user_id` only where every step of the route has a wire field for them
 * ({@link providerFields}); `thinking` enabled / disabled becomes the wire `thinking: { type }` that Kimi and GLM
 * share, sent only when every step's model accepts that value (`budget_tokens` has no equivalent on either provider
 * and is not sent; `adaptive` leaves thinking to the model's default, as sending nothing does). Whatever is dropped
 * is returned as a warning.
 *
 * Bad input is an {@link InputError} naming the field (`messages.2.content.0.source.type`), never a crash.
 */
import type { MessageCountTokensParams, MessageCreateParamsBase } from "@anthropic-ai/sdk/resources/messages"
import type { ModelCatalog, WireInput } from "@conduitkit/core"
import { Result } from "effect"
import { Prompt } from "effect/ai"

/**
 * The request body, as the SDK types it (after {@link checkRequest}), plus the sampling fields the Messages API
 * documents and clients still send (`@anthropic-ai/sdk` 1.17 no longer types them).
 */
export type MessagesRequest = MessageCreateParamsBase & {
  readonly temperature?: number | undefined
  readonly top_p?: number | undefined
  readonly top_k?: number | undefined
}

/** The `count_tokens` body. */
export type CountTokensRequest = MessageCountTokensParams

/** Invalid input: a message for the client and the offending field, dotted (`messages.0.content`). */
export interface InputError {
  readonly message: string
  readonly param: string
}

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const fail = (message: string, param: string): Result.Result<never, InputError> => Result.fail({ message, param })

/**
 * Checks the shape a converter relies on: an object with a non-empty `model`, a `messages` array of objects with
 * `role` user / assistant / system and string or array `content`, a positive integer `max_tokens` (when
 * `requireMaxTokens`; `count_tokens` has none), `stream` a boolean, `system` a string or an array. Blocks are
 * checked by {@link toPrompt}.
 */
export const checkRequest = (
  body: unknown,
  options: { readonly requireMaxTokens: boolean }
): Result.Result<MessagesRequest, InputError> => {
  if (!isRecord(body)) return fail("The request body must be a JSON object.", "body")
  if (typeof body.model !== "string" || body.model === "") return fail("model: a non-empty string is required", "model")
  if (options.requireMaxTokens || body.max_tokens !== undefined) {
    const max = body.max_tokens
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      return fail("max_tokens: a positive integer is required", "max_tokens")
    }
  }
  if (!Array.isArray(body.messages)) return fail("messages: an array of messages is required", "messages")
  for (const [index, message] of body.messages.entries()) {
    const where = `messages.${index}`
    if (!isRecord(message)) return fail(`${where}: each message must be an object`, where)
    if (message.role !== "user" && message.role !== "assistant" && message.role !== "system") {
      return fail(`${where}.role: must be "user" or "assistant"`, `${where}.role`)
    }
    if (typeof message.content !== "string" && !Array.isArray(message.content)) {
      return fail(`${where}.content: a string or an array of content blocks is required`, `${where}.content`)
    }
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") return fail("stream: must be a boolean", "stream")
  if (body.system !== undefined && typeof body.system !== "string" && !Array.isArray(body.system)) {
    return fail("system: a string or an array of text blocks is required", "system")
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return fail("tools: must be an array", "tools")
  return Result.succeed(body as unknown as MessagesRequest)
}

// =============================================================================
// Messages
// =============================================================================

const textOfBlocks = (blocks: ReadonlyArray<unknown>, where: string): Result.Result<string, InputError> => {
  const texts: Array<string> = []
  for (const [index, block] of blocks.entries()) {
    if (!isRecord(block) || block.type !== "text" || typeof block.text !== "string") {
      return fail(`${where}.${index}: a text block ({ type: "text", text }) is expected`, `${where}.${index}`)
    }
    texts.push(block.text)
  }
  return Result.succeed(texts.join("\n"))
}

const systemText = (system: unknown, where: string): Result.Result<string, InputError> =>
  typeof system === "string" ? Result.succeed(system) : textOfBlocks(system as ReadonlyArray<unknown>, where)

const imagePart = (block: Json, where: string): Result.Result<Prompt.FilePart, InputError> => {
  const source = block.source
  if (!isRecord(source)) return fail(`${where}.source: an image source is required`, `${where}.source`)
  if (source.type === "base64") {
    if (typeof source.data !== "string" || typeof source.media_type !== "string") {
      return fail(`${where}.source: base64 images need media_type and data`, `${where}.source`)
    }
    return Result.succeed(Prompt.filePart({ mediaType: source.media_type, data: source.data }))
  }
  if (source.type === "url" && typeof source.url === "string") {
    try {
      return Result.succeed(Prompt.filePart({ mediaType: "image/*", data: new URL(source.url) }))
    } catch {
      return fail(`${where}.source.url: not a URL`, `${where}.source.url`)
    }
  }
  return fail(
    `${where}.source.type: "${String(source.type)}" is not supported (send the image as base64 or a URL; the gateway has no Files API)`,
    `${where}.source.type`
  )
}

const unsupported = (type: unknown, where: string, role: string) =>
  fail(`${where}.type: "${String(type)}" blocks are not supported in ${role} messages here`, `${where}.type`)

/** A tool result's content as text (text blocks joined; images counted as a marker, as core's conversion does). */
const toolResultText = (content: unknown, where: string): Result.Result<string, InputError> => {
  if (content === undefined || content === null) return Result.succeed("")
  if (typeof content === "string") return Result.succeed(content)
  if (!Array.isArray(content)) return fail(`${where}: a string or an array of blocks is required`, where)
  const texts: Array<string> = []
  for (const [index, block] of content.entries()) {
    if (isRecord(block) && block.type === "text" && typeof block.text === "string") texts.push(block.text)
    else if (isRecord(block) && block.type === "image") texts.push("[image]")
    else return unsupported(isRecord(block) ? block.type : typeof block, `${where}.${index}`, "tool_result")
  }
  return Result.succeed(texts.join("\n"))
}

const userMessages = (
  content: string | ReadonlyArray<unknown>,
  where: string,
  toolNames: ReadonlyMap<string, string>
): Result.Result<Array<Prompt.Message>, InputError> => {
  if (typeof content === "string")
    return Result.succeed([Prompt.userMessage({ content: [Prompt.textPart({ text: content })] })])
  const results: Array<Prompt.ToolResultPart> = []
  const parts: Array<Prompt.UserMessagePart> = []
  for (const [index, block] of content.entries()) {
    const at = `${where}.${index}`
    if (!isRecord(block)) return fail(`${at}: a content block must be an object`, at)
    switch (block.type) {
      case "text":
        if (typeof block.text !== "string") return fail(`${at}.text: must be a string`, `${at}.text`)
        parts.push(Prompt.textPart({ text: block.text }))
        break
      case "image": {
        const image = imagePart(block, at)
        if (Result.isFailure(image)) return Result.fail(image.failure)
        parts.push(image.success)
        break
      }
      case "document": {
        const source = block.source
        if (!isRecord(source) || source.type !== "text" || typeof source.data !== "string") {
          return fail(`${at}.source: only plain-text documents ({ type: "text", data }) are supported`, `${at}.source`)
        }
        parts.push(Prompt.textPart({ text: source.data }))
        break
      }
      case "tool_result": {
        const id = block.tool_use_id
        if (typeof id !== "string" || id === "") return fail(`${at}.tool_use_id: required`, `${at}.tool_use_id`)
        const text = toolResultText(block.content, `${at}.content`)
        if (Result.isFailure(text)) return Result.fail(text.failure)
        results.push(
          Prompt.toolResultPart({
            id,
            name: toolNames.get(id) ?? "unknown_tool",
            isFailure: block.is_error === true,
            result: text.success,
            providerExecuted: false
          })
        )
        break
      }
      default:
        return unsupported(block.type, at, "user")
    }
  }
  const out: Array<Prompt.Message> = []
  if (results.length > 0) out.push(Prompt.toolMessage({ content: results }))
  if (parts.length > 0 || results.length === 0) out.push(Prompt.userMessage({ content: parts }))
  return Result.succeed(out)
}

const assistantMessage = (
  content: string | ReadonlyArray<unknown>,
  where: string,
  toolNames: Map<string, string>
): Result.Result<Prompt.Message, InputError> => {
  if (typeof content === "string") {
    return Result.succeed(
      Prompt.assistantMessage({ content: content === "" ? [] : [Prompt.textPart({ text: content })] })
    )
  }
  const parts: Array<Prompt.AssistantMessagePart> = []
  for (const [index, block] of content.entries()) {
    const at = `${where}.${index}`
    if (!isRecord(block)) return fail(`${at}: a content block must be an object`, at)
    switch (block.type) {
      case "text":
        if (typeof block.text !== "string") return fail(`${at}.text: must be a string`, `${at}.text`)
        if (block.text !== "") parts.push(Prompt.textPart({ text: block.text }))
        break
      case "thinking":
        if (typeof block.thinking !== "string") return fail(`${at}.thinking: must be a string`, `${at}.thinking`)
        if (block.thinking !== "") parts.push(Prompt.reasoningPart({ text: block.thinking }))
        break
      case "redacted_thinking":
        break
      case "tool_use": {
        if (typeof block.id !== "string" || typeof block.name !== "string") {
          return fail(`${at}: a tool_use block needs an id and a name`, at)
        }
        toolNames.set(block.id, block.name)
        parts.push(
          Prompt.toolCallPart({ id: block.id, name: block.name, params: block.input ?? {}, providerExecuted: false })
        )
        break
      }
      default:
        return unsupported(block.type, at, "assistant")
    }
  }
  return Result.succeed(Prompt.assistantMessage({ content: parts }))
}

/**
 * The request's `system` and `messages` as a `Prompt`. Fails with an {@link InputError} naming the first bad block.
 */
export const toPrompt = (
  request: Pick<MessagesRequest, "system" | "messages">
): Result.Result<Prompt.Prompt, InputError> => {
  const out: Array<Prompt.Message> = []
  if (request.system !== undefined) {
    const text = systemText(request.system, "system")
    if (Result.isFailure(text)) return Result.fail(text.failure)
    if (text.success !== "") out.push(Prompt.systemMessage({ content: text.success }))
  }
  const toolNames = new Map<string, string>()
  for (const [index, message] of request.messages.entries()) {
    const where = `messages.${index}.content`
    const content = message.content as string | ReadonlyArray<unknown>
    if (message.role === "system") {
      const text = systemText(content, where)
      if (Result.isFailure(text)) return Result.fail(text.failure)
      out.push(Prompt.systemMessage({ content: text.success }))
    } else if (message.role === "user") {
      const converted = userMessages(content, where, toolNames)
      if (Result.isFailure(converted)) return Result.fail(converted.failure)
      out.push(...converted.success)
    } else {
      const converted = assistantMessage(content, where, toolNames)
      if (Result.isFailure(converted)) return Result.fail(converted.failure)
      out.push(converted.success)
    }
  }
  return Result.succeed(Prompt.fromMessages(out))
}

// =============================================================================
// Tools
// =============================================================================

/**
 * Custom tools (`type` absent or `"custom"`, with `input_schema`) as OpenAI function declarations, which the client
 * runs (core applies the provider's schema rules to them). Anthropic-defined tools (`bash_20250124`,
 * `web_search_20250305`, `text_editor_*`, ...) have no equivalent on an OpenAI-compatible provider: they are left
 * out and named in `dropped`.
 */
export const toTools = (
  tools: ReadonlyArray<unknown> | undefined
): Result.Result<
  { readonly functions: Array<WireInput.FunctionTool>; readonly dropped: Array<string> },
  InputError
> => {
  const functions: Array<WireInput.FunctionTool> = []
  const dropped: Array<string> = []
  for (const [index, tool] of (tools ?? []).entries()) {
    const at = `tools.${index}`
    if (!isRecord(tool)) return fail(`${at}: a tool must be an object`, at)
    if (tool.type !== undefined && tool.type !== null && tool.type !== "custom") {
      dropped.push(typeof tool.name === "string" ? tool.name : String(tool.type))
      continue
    }
    if (typeof tool.name !== "string" || tool.name === "")
      return fail(`${at}.name: a non-empty string is required`, `${at}.name`)
    if (!isRecord(tool.input_schema))
      return fail(`${at}.input_schema: a JSON Schema object is required`, `${at}.input_schema`)
    functions.push({
      type: "function",
      function: {
        name: tool.name,
        ...(typeof tool.description === "string" ? { description: tool.description } : {}),
        parameters: tool.input_schema
      }
    })
  }
  return Result.succeed({ functions, dropped })
}

/**
 * `tool_choice` as the wire `tool_choice` sent with the function declarations: `auto` → `"auto"`, `any` →
 * `"required"`, `tool` → `{ type: "function", function: { name } }` (a name the request declares), `none` →
 * `"none"`; `undefined` when absent or when there are no function tools (providers refuse `tool_choice` without
 * `tools`).
 */
export const toToolChoice = (
  choice: unknown,
  functions: ReadonlyArray<WireInput.FunctionTool>
): Result.Result<string | Record<string, unknown> | undefined, InputError> => {
  if (choice === undefined || choice === null) return Result.succeed(undefined)
  if (!isRecord(choice)) return fail("tool_choice: must be an object", "tool_choice")
  let wire: string | Record<string, unknown>
  switch (choice.type) {
    case "auto":
      wire = "auto"
      break
    case "any":
      wire = "required"
      break
    case "none":
      wire = "none"
      break
    case "tool": {
      const name = choice.name
      if (typeof name !== "string" || name === "") {
        return fail('tool_choice.name: required with type "tool"', "tool_choice.name")
      }
      if (!functions.some((tool) => tool.function.name === name)) {
        return fail(`tool_choice.name: "${name}" is not one of the request's custom tools`, "tool_choice.name")
      }
      wire = { type: "function", function: { name } }
      break
    }
    default:
      return fail(`tool_choice.type: "${String(choice.type)}" is not one of auto, any, tool, none`, "tool_choice.type")
  }
  return Result.succeed(functions.length > 0 ? wire : undefined)
}

// =============================================================================
// Parameters
// =============================================================================

/**
 * Which wire field each provider has for Anthropic fields that are not OpenAI-standard (`undefined`: none, the
 * field is dropped with a warning). Providers not listed (models.yaml backends) take `top_k` as vLLM and most
 * OpenAI-compatible servers do, and no user id.
 *
 * - Kimi: `safety_identifier` (a stable end-user id, docs/providers/kimi.md#request-parameters); no `top_k` in Moonshot's docs.
 * - GLM: `user_id` (6–128 characters, docs/providers/glm.md#request-parameters); no `top_k` in Z.ai's docs.
 */
export const providerFields: Readonly<
  Record<string, { readonly userId: string | undefined; readonly topK: string | undefined }>
> = {
  kimi: { userId: "safety_identifier", topK: undefined },
  glm: { userId: "user_id", topK: undefined }
}

const otherProvider = { userId: undefined, topK: "top_k" }

/** A step of the route a request runs on: its provider and model (for the per-provider rules). */
export interface Step {
  readonly provider: string
  readonly info: Pick<ModelCatalog.ModelInfo, "capabilities"> & { readonly unknown?: boolean | undefined }
}

/** The wire name every step agrees on, or `undefined` when some step has none or they differ. */
const agreed = (steps: ReadonlyArray<Step>, field: "userId" | "topK"): string | undefined => {
  let name: string | undefined
  for (const [index, step] of steps.entries()) {
    const own = (providerFields[step.provider] ?? otherProvider)[field]
    if (own === undefined || (index > 0 && own !== name)) return undefined
    name = own
  }
  return name
}

/** Whether a step's model takes `thinking.type` = `type` (unknown models take anything). */
const thinkingAccepted = (step: Step, type: "enabled" | "disabled"): boolean => {
  if (step.info.unknown === true) return true
  const mode = step.info.capabilities.thinking
  return type === "enabled" ? mode !== "none" : mode !== "always"
}

/**
 * The wire parameters of a request for a route's steps (target first, then fallbacks), and warnings naming what
 * was not sent and why.
 */
export const parameters = (
  request: MessagesRequest,
  steps: ReadonlyArray<Step>
): { readonly wire: Record<string, unknown>; readonly warnings: Array<string> } => {
  const wire: Record<string, unknown> = { max_tokens: request.max_tokens }
  const warnings: Array<string> = []
  if (request.stop_sequences !== undefined && request.stop_sequences.length > 0) wire.stop = request.stop_sequences
  if (request.temperature !== undefined) wire.temperature = request.temperature
  if (request.top_p !== undefined) wire.top_p = request.top_p
  if (request.top_k !== undefined) {
    const name = agreed(steps, "topK")
    if (name !== undefined) wire[name] = request.top_k
    else warnings.push("top_k was not sent: the route's provider has no top_k")
  }
  const userId = request.metadata?.user_id
  if (typeof userId === "string" && userId !== "") {
    const name = agreed(steps, "userId")
    if (name === "user_id" && (userId.length < 6 || userId.length > 128)) {
      warnings.push("metadata.user_id was not sent: GLM takes 6 to 128 characters")
    } else if (name !== undefined) wire[name] = userId
    else warnings.push("metadata.user_id was not sent: the route's providers have no common end-user id field")
  }
  const thinking = request.thinking
  if (thinking !== undefined && thinking !== null) {
    const type = thinking.type === "disabled" ? "disabled" : thinking.type === "enabled" ? "enabled" : undefined
    if (type === undefined) {
      // `adaptive` leaves the choice to the model, which is what sending nothing does (Claude Code sends it)
      if (thinking.type !== "adaptive") {
        warnings.push(`thinking.type "${thinking.type}" has no provider equivalent; the model's default applies`)
      }
    } else if (steps.every((step) => thinkingAccepted(step, type))) {
      wire.thinking = { type }
    } else {
      warnings.push(
        `thinking ${type} was not sent: a model of the route cannot turn thinking ${type === "enabled" ? "on" : "off"}`
      )
    }
  }
  return { wire, warnings }
}
