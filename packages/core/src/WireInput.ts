/**
 * The reverse of `PromptConversion`: an OpenAI Chat Completions request (what the gateway and the Promise face
 * receive) into `effect/ai` inputs.
 *
 * - messages → `Prompt`: `system` and `developer` become system messages; user content parts become text and file
 *   parts (`data:` URLs become bytes-as-base64 with their media type; `http(s):` and `ms://` URLs stay URLs);
 *   assistant `reasoning_content` becomes a reasoning part (so reasoning a client sends back is replayed), its
 *   `tool_calls` tool-call parts; `tool` messages tool-result parts named after the call they answer.
 * - tools → function declarations for the wire, or `Tool.dynamic` tools with the raw JSON Schema, and built-in
 *   provider tools; `tool_choice` → `effect/ai` tool choice.
 * - everything else that shapes the answer (sampling, `max_tokens`, `stop`, `response_format`, provider extras) is
 *   returned as wire parameters for `CallConfig.request`, so it reaches the provider unchanged.
 *
 * Bad input is a typed `InvalidRequestError` naming the message index and field, never a crash.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { AiError, type LanguageModel, Prompt, Tool } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"

const invalid = (description: string, parameter: string): Result.Result<never, AiError.AiError> =>
  Result.fail(
    AiError.make({
      module: "WireInput",
      method: "fromRequest",
      reason: new AiError.InvalidRequestError({
        description,
        parameter,
        metadata: { conduit: { kind: "invalid-input" } }
      })
    })
  )

const dataUrl = /^data:([^;,]+)(;base64)?,(.*)$/s

const filePart = (url: string, fallbackMediaType: string): Prompt.FilePart => {
  const match = dataUrl.exec(url)
  if (match !== null) {
    const mediaType = match[1] ?? fallbackMediaType
    const payload = match[3] ?? ""
    const data = match[2] !== undefined ? payload : Buffer.from(decodeURIComponent(payload)).toString("base64")
    return Prompt.filePart({ mediaType, data })
  }
  return Prompt.filePart({ mediaType: fallbackMediaType, data: new URL(url) })
}

const textOf = (content: ChatCompletions.RequestMessage["content"]): string => {
  if (content === null || content === undefined) return ""
  if (typeof content === "string") return content
  return content.map((part) => (part.type === "text" && typeof part.text === "string" ? part.text : "")).join("")
}

const parseArguments = (raw: unknown, index: number): Result.Result<unknown, AiError.AiError> => {
  if (typeof raw !== "string") return Result.succeed(raw ?? {})
  if (raw.trim() === "") return Result.succeed({})
  try {
    return Result.succeed(JSON.parse(raw))
  } catch {
    return invalid(`messages[${index}].tool_calls: arguments are not valid JSON`, `messages[${index}]`)
  }
}

/**
 * Converts wire messages to a `Prompt`.
 *
 * @since 0.1.0
 */
export const toPrompt = (
  messages: ReadonlyArray<ChatCompletions.RequestMessage>
): Result.Result<Prompt.Prompt, AiError.AiError> =>
  Result.gen(function* () {
    const out: Array<Prompt.Message> = []
    const toolNames = new Map<string, string>()
    for (const [index, message] of messages.entries()) {
      switch (message.role) {
        case "system":
        case "developer": {
          out.push(Prompt.systemMessage({ content: textOf(message.content) }))
          break
        }
        case "user": {
          const content = message.content
          if (content === null || content === undefined) {
            return yield* invalid(`messages[${index}]: a user message needs content`, `messages[${index}].content`)
          }
          if (typeof content === "string") {
            out.push(Prompt.userMessage({ content: [Prompt.textPart({ text: content })] }))
            break
          }
          const parts: Array<Prompt.UserMessagePart> = []
          for (const [partIndex, part] of content.entries()) {
            const where = `messages[${index}].content[${partIndex}]`
            switch (part.type) {
              case "text":
                if (typeof part.text !== "string") return yield* invalid(`${where}: text must be a string`, where)
                parts.push(Prompt.textPart({ text: part.text }))
                break
              case "image_url":
              case "video_url": {
                const holder = part[part.type] as { url?: unknown } | string | undefined
                const url = typeof holder === "string" ? holder : holder?.url
                if (typeof url !== "string") return yield* invalid(`${where}: ${part.type}.url must be a string`, where)
                try {
                  parts.push(filePart(url, part.type === "image_url" ? "image/*" : "video/*"))
                } catch {
                  return yield* invalid(`${where}: ${part.type}.url is not a URL`, where)
                }
                break
              }
              default:
                return yield* invalid(`${where}: unsupported content part type "${part.type}"`, where)
            }
          }
          out.push(Prompt.userMessage({ content: parts }))
          break
        }
        case "assistant": {
          const parts: Array<Prompt.AssistantMessagePart> = []
          if (typeof message.reasoning_content === "string" && message.reasoning_content !== "") {
            parts.push(Prompt.reasoningPart({ text: message.reasoning_content }))
          }
          const text = textOf(message.content)
          if (text !== "") parts.push(Prompt.textPart({ text }))
          for (const call of message.tool_calls ?? []) {
            const name = call.function?.name
            const id = call.id
            if (typeof name !== "string" || typeof id !== "string") {
              return yield* invalid(
                `messages[${index}].tool_calls: each call needs an id and a function name`,
                `messages[${index}]`
              )
            }
            toolNames.set(id, name)
            parts.push(
              Prompt.toolCallPart({
                id,
                name,
                params: yield* parseArguments(call.function?.arguments, index),
                providerExecuted: false
              })
            )
          }
          const extras = typeof message.partial === "boolean" ? { conduit: { wire: { partial: message.partial } } } : {}
          out.push(Prompt.assistantMessage({ content: parts, options: extras }))
          break
        }
        case "tool": {
          const id = message.tool_call_id
          if (typeof id !== "string") {
            return yield* invalid(
              `messages[${index}]: a tool message needs tool_call_id`,
              `messages[${index}].tool_call_id`
            )
          }
          const name = toolNames.get(id) ?? (typeof message.name === "string" ? message.name : "unknown_tool")
          out.push(
            Prompt.toolMessage({
              content: [
                Prompt.toolResultPart({
                  id,
                  name,
                  isFailure: false,
                  result: textOf(message.content),
                  providerExecuted: false
                })
              ]
            })
          )
          break
        }
        default:
          return yield* invalid(`messages[${index}]: unsupported role "${message.role}"`, `messages[${index}].role`)
      }
    }
    return Prompt.fromMessages(out)
  })

/**
 * The request's tools by kind. `functions`: each function tool as the declaration the model gets (its name, its
 * description when a string, its parameters JSON Schema or an empty object schema when absent; other members are
 * not sent), ready for `ModelConfig.wireTools` (no toolkit needed: the caller executes them). `providerDefined`: the
 * built-in provider tools (any `type` other than `function`), as sent, for the provider to map. Fails with
 * `InvalidRequestError` naming the tool when a function has no name.
 *
 * @since 0.1.0
 */
export const splitTools = (
  tools: ReadonlyArray<ChatCompletions.RequestTool> | null | undefined
): Result.Result<
  { readonly functions: Array<FunctionTool>; readonly providerDefined: Array<ChatCompletions.RequestTool> },
  AiError.AiError
> => {
  const functions: Array<FunctionTool> = []
  const providerDefined: Array<ChatCompletions.RequestTool> = []
  for (const [index, tool] of (tools ?? []).entries()) {
    if (tool.type !== "function") {
      providerDefined.push(tool)
      continue
    }
    const fn = tool.function as { name?: unknown; description?: unknown; parameters?: unknown } | undefined
    if (typeof fn?.name !== "string" || fn.name === "") {
      return invalid(`tools[${index}].function.name must be a non-empty string`, `tools[${index}]`)
    }
    functions.push({
      type: "function",
      function: {
        name: fn.name,
        ...(typeof fn.description === "string" ? { description: fn.description } : {}),
        parameters:
          typeof fn.parameters === "object" && fn.parameters !== null
            ? (fn.parameters as Record<string, unknown>)
            : { type: "object", properties: {} }
      }
    })
  }
  return Result.succeed({ functions, providerDefined })
}

/**
 * A function tool's wire declaration, as {@link splitTools} returns it.
 *
 * @since 0.1.0
 */
export type FunctionTool = {
  readonly type: "function"
  readonly function: {
    readonly name: string
    readonly description?: string
    readonly parameters: Record<string, unknown>
  }
}

/**
 * Function tools as `Tool.dynamic` tools (raw JSON Schema parameters, no local validation: the caller executes
 * them), for callers that need a toolkit. Built-in provider tools and failures as in {@link splitTools}.
 *
 * @since 0.1.0
 */
export const toTools = (
  tools: ReadonlyArray<ChatCompletions.RequestTool> | null | undefined
): Result.Result<
  { readonly tools: Array<Tool.Any>; readonly providerDefined: Array<ChatCompletions.RequestTool> },
  AiError.AiError
> =>
  Result.map(splitTools(tools), ({ functions, providerDefined }) => ({
    tools: functions.map(
      ({ function: fn }) =>
        Tool.dynamic(fn.name, {
          ...(fn.description !== undefined ? { description: fn.description } : {}),
          parameters: fn.parameters as never
        }) as unknown as Tool.Any
    ),
    providerDefined
  }))

/**
 * A wire `tool_choice` as an `effect/ai` tool choice (`auto` when absent).
 *
 * @since 0.1.0
 */
export const toToolChoice = (
  choice: ChatCompletions.ChatCompletionRequest["tool_choice"]
): LanguageModel.ToolChoice<string> => {
  if (choice === undefined || choice === null) return "auto"
  if (choice === "none" || choice === "required" || choice === "auto") return choice
  if (typeof choice === "object") {
    const name = (choice as { function?: { name?: unknown } }).function?.name
    if (typeof name === "string") return { tool: name }
  }
  return "auto"
}

/**
 * The wire `tool_choice` to send with the function declarations of {@link splitTools}: {@link toToolChoice}'s choice
 * in wire form (`auto`, `none`, `required`, or `{ type: "function", function: { name } }`); `undefined` when there
 * are no function tools (so providers that reject `tool_choice` without `tools` are fine), as for a toolkit.
 *
 * @since 0.1.0
 */
export const toWireToolChoice = (
  choice: ChatCompletions.ChatCompletionRequest["tool_choice"],
  functions: ReadonlyArray<FunctionTool>
): string | Record<string, unknown> | undefined => {
  if (functions.length === 0) return undefined
  const normalized = toToolChoice(choice)
  if (typeof normalized === "string") return normalized
  return "tool" in normalized ? { type: "function", function: { name: normalized.tool } } : "auto"
}

const handled = new Set(["model", "messages", "tools", "tool_choice", "stream", "stream_options"])

/**
 * The wire parameters to pass through unchanged (everything but model, messages, tools, tool choice and stream
 * flags): sampling, limits, `stop`, `seed`, `response_format`, `user`, provider extras.
 *
 * @since 0.1.0
 */
export const passThroughParameters = (request: ChatCompletions.ChatCompletionRequest): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(request)) {
    if (!handled.has(key) && value !== undefined) out[key] = value
  }
  return out
}
