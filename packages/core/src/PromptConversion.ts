/**
 * Pure conversion of an `effect/ai` `Prompt` and its tools into Chat Completions `messages`, `tools` and
 * `tool_choice`.
 *
 * - system → `{ role: "system", content }`.
 * - user → a string when every part is text (joined with `\n`), else an array of parts: images as `image_url`
 *   (bytes and base64 strings become `data:` URLs; `URL`s, including Moonshot's `ms://<file_id>`, pass as is),
 *   videos as `video_url`, `text/*` files inlined as text. Other media types are refused with a clear
 *   `InvalidRequestError` (upload them through the provider's files API instead).
 * - assistant → `content` (text parts joined), `tool_calls` (arguments JSON-encoded), and `reasoning_content` as
 *   the {@link ReasoningReplay} policy says. An assistant message with neither text nor tool calls is dropped
 *   (Moonshot answers 400 "must not be empty"); a tool-call turn without text omits `content`.
 * - tool → one `{ role: "tool", tool_call_id, name, content }` per result (`content` is the result string, the
 *   model-output text, or the JSON of the result).
 * - Any message may carry extra wire fields in `options.conduit.wire` (for example Moonshot's `partial: true`),
 *   merged into the wire message last.
 *
 * Sources: https://platform.openai.com/docs/api-reference/chat/create; docs/providers/kimi.md#messages,
 * #thinking-and-reasoning-replay; docs/providers/glm.md#messages, #thinking (messages, thinking.clear_thinking).
 *
 * @since 0.1.0
 */
import { Predicate, Result } from "effect"
import { AiError, type LanguageModel, type Prompt, Tool } from "effect/ai"
import * as Base64 from "effect/encoding/Base64"
import type * as ChatCompletions from "./ChatCompletions.js"
import * as ProviderError from "./ProviderError.js"

/**
 * When assistant `reasoning_content` is sent back to the provider.
 *
 * - `"never"`: never (providers that ignore or reject it).
 * - `"tool-calls"`: on assistant messages that carry tool calls (Moonshot with thinking on requires it there).
 * - `"always"`: on every assistant message that has reasoning (Zhipu preserved thinking, Moonshot `keep: "all"`).
 *
 * `placeholder`: sent where the policy requires reasoning but the caller lost it (an empty string counts as
 * missing, because Moonshot k2.5+ rejects `""`); `undefined` sends nothing. Required means: tool-call turns for
 * `"tool-calls"`, and also for `"always"`.
 *
 * @since 0.1.0
 */
export interface ReasoningReplay {
  readonly mode: "never" | "tool-calls" | "always"
  readonly placeholder?: string | undefined
}

/**
 * Options of {@link toMessages}.
 *
 * - `reasoning`: the replay policy.
 * - `toolResultName`: include `name` on tool messages (Moonshot's docs do; default true).
 * - `providerName`: for error messages.
 *
 * @since 0.1.0
 */
export interface MessageOptions {
  readonly reasoning: ReasoningReplay
  readonly toolResultName?: boolean | undefined
  readonly providerName: string
}

// refusal-helper
const fail = (provider: string, description: string, parameter?: string) =>
  ProviderError.invalidRequest({ provider, description, parameter, module: "PromptConversion", method: "toMessages" })

const wireExtras = (options: Prompt.ProviderOptions): Record<string, unknown> | undefined => {
  const conduit = options.conduit
  if (Predicate.isObject(conduit) && Predicate.isObject((conduit as { wire?: unknown }).wire)) {
    return (conduit as { wire: Record<string, unknown> }).wire
  }
  return undefined
}

const isBase64 = (data: string) => /^[A-Za-z0-9+/=\s]+$/.test(data) && data.length % 4 === 0

const fileUrl = (part: Prompt.FilePart): string => {
  const data = part.data
  const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType
  if (data instanceof URL) return data.toString()
  if (data instanceof Uint8Array) return `data:${mediaType};base64,${Base64.encode(data)}`
  if (/^(data:|https?:|ms:\/\/)/.test(data) || !isBase64(data)) return data
  return `data:${mediaType};base64,${data}`
}

const fileText = (part: Prompt.FilePart): string | undefined => {
  const data = part.data
  if (data instanceof Uint8Array) return new TextDecoder().decode(data)
  if (typeof data === "string") {
    if (isBase64(data)) {
      const decoded = Base64.decode(data)
      return Result.isSuccess(decoded) ? new TextDecoder().decode(decoded.success) : undefined
    }
    return data
  }
  return undefined
}

const userContent = (
  message: Prompt.UserMessage,
  provider: string
): Result.Result<string | Array<ChatCompletions.ContentPart>, AiError.AiError> => {
  const parts: Array<ChatCompletions.ContentPart> = []
  let allText = true
  for (const part of message.content) {
    if (part.type === "text") {
      parts.push({ type: "text", text: part.text })
      continue
    }
    if (part.mediaType.startsWith("image/")) {
      allText = false
      parts.push({ type: "image_url", image_url: { url: fileUrl(part) } })
    } else if (part.mediaType.startsWith("video/")) {
      allText = false
      parts.push({ type: "video_url", video_url: { url: fileUrl(part) } })
    } else if (part.mediaType.startsWith("text/") || part.mediaType === "application/json") {
      const text = fileText(part)
      // refusal: core/prompt-no-wire-form
      if (text === undefined) return Result.fail(fail(provider, `cannot read the ${part.mediaType} file part as text`))
      parts.push({ type: "text", text: part.fileName ? `${part.fileName}:\n${text}` : text })
    } else {
      return Result.fail(
        // refusal: core/prompt-no-wire-form
        fail(
          provider,
          `${provider} does not accept ${part.mediaType} file parts in chat messages: upload the file through the provider's files API and pass its extracted text or file reference instead`,
          "messages"
        )
      )
    }
  }
  if (allText) return Result.succeed(parts.map((part) => part.text as string).join("\n"))
  return Result.succeed(parts)
}

const toolResultContent = (part: Prompt.ToolResultPart): string => {
  if (part.modelOutput !== undefined && part.modelOutput.length > 0) {
    return part.modelOutput.map((p) => (p.type === "text" ? p.text : `[${p.mediaType} file]`)).join("\n")
  }
  if (typeof part.result === "string") return part.result
  return JSON.stringify(part.result ?? null)
}

/**
 * Converts a prompt to wire messages. Fails with `InvalidRequestError` for content the wire cannot carry.
 *
 * @since 0.1.0
 */
export const toMessages = (
  prompt: Prompt.Prompt,
  options: MessageOptions,
  toolNames?: Tool.NameMapper<ReadonlyArray<Tool.Any>>
): Result.Result<Array<ChatCompletions.RequestMessage>, AiError.AiError> =>
  Result.gen(function* () {
    const messages: Array<ChatCompletions.RequestMessage> = []
    const providerName = (name: string) => toolNames?.getProviderName(name) ?? name
    for (const message of prompt.content) {
      const extras = wireExtras(message.options)
      switch (message.role) {
        case "system": {
          messages.push({ role: "system", content: message.content, ...extras })
          break
        }
        case "user": {
          messages.push({ role: "user", content: yield* userContent(message, options.providerName), ...extras })
          break
        }
        case "assistant": {
          let text = ""
          let reasoning = ""
          const toolCalls: Array<ChatCompletions.ToolCall> = []
          for (const part of message.content) {
            switch (part.type) {
              case "text":
                text += part.text
                break
              case "reasoning":
                reasoning += part.text
                break
              case "tool-call":
                if (!part.providerExecuted) {
                  toolCalls.push({
                    id: part.id,
                    type: "function",
                    function: { name: providerName(part.name), arguments: JSON.stringify(part.params ?? {}) }
                  })
                }
                break
              default:
                break
            }
          }
          const hasToolCalls = toolCalls.length > 0
          if (text === "" && !hasToolCalls && extras === undefined) break
          const wire: { -readonly [K in keyof ChatCompletions.RequestMessage]: ChatCompletions.RequestMessage[K] } = {
            role: "assistant"
          }
          if (text !== "" || !hasToolCalls) wire.content = text
          const mode = options.reasoning.mode
          const required = mode !== "never" && hasToolCalls
          const allowed = mode === "always" || (mode === "tool-calls" && hasToolCalls)
          if (allowed && reasoning.trim() !== "") wire.reasoning_content = reasoning
          else if (required && options.reasoning.placeholder !== undefined) {
            wire.reasoning_content = options.reasoning.placeholder
          }
          if (hasToolCalls) wire.tool_calls = toolCalls
          messages.push({ ...wire, ...extras })
          break
        }
        case "tool": {
          for (const part of message.content) {
            if (part.type !== "tool-result") continue
            messages.push({
              role: "tool",
              tool_call_id: part.id,
              ...(options.toolResultName === false ? {} : { name: providerName(part.name) }),
              content: toolResultContent(part),
              ...extras
            })
          }
          break
        }
      }
    }
    return messages
  })

// =============================================================================
// Tools
// =============================================================================

/**
 * Options of {@link toTools}.
 *
 * - `providerTool`: turns a provider-defined tool (`Tool.providerDefined`, e.g. Moonshot `$web_search`, Zhipu
 *   `web_search`) into its wire declaration; `undefined` refuses it.
 * - `strict`: the `strict` flag of function declarations (`undefined`: omitted).
 * - `transformSchema`: rewrites each parameters JSON Schema (Moonshot's MFJS normalization).
 *
 * @since 0.1.0
 */
export interface ToolOptions {
  readonly providerName: string
  readonly providerTool?: ((tool: Tool.Any) => ChatCompletions.RequestTool | undefined) | undefined
  readonly strict?: boolean | undefined
  readonly transformSchema?: ((schema: Record<string, unknown>) => Record<string, unknown>) | undefined
}

/**
 * The wire `tools` and `tool_choice` of a request. No tools gives `{}` (both omitted, so providers that reject
 * `tool_choice` without `tools` are fine). `{ oneOf, mode }` restricts the declared tools and becomes `auto` or
 * `required`; `{ tool }` becomes a named function choice.
 *
 * @since 0.1.0
 */
export const toTools = (
  tools: ReadonlyArray<Tool.Any>,
  toolChoice: LanguageModel.ToolChoice<string>,
  options: ToolOptions
): Result.Result<
  { readonly tools?: Array<ChatCompletions.RequestTool>; readonly tool_choice?: string | Record<string, unknown> },
  AiError.AiError
> =>
  Result.gen(function* () {
    if (tools.length === 0) return {}
    let allowed = tools
    let choice: string | Record<string, unknown> | undefined
    if (typeof toolChoice === "object" && "oneOf" in toolChoice) {
      const names = new Set(toolChoice.oneOf)
      allowed = tools.filter((tool) => names.has(tool.name))
      choice = toolChoice.mode === "required" ? "required" : "auto"
    } else if (typeof toolChoice === "object") {
      const tool = tools.find((t) => t.name === toolChoice.tool)
      const name = tool !== undefined && Tool.isProviderDefined(tool) ? tool.providerName : toolChoice.tool
      choice = { type: "function", function: { name } }
    } else {
      choice = toolChoice
    }
    const wire: Array<ChatCompletions.RequestTool> = []
    for (const tool of allowed) {
      if (Tool.isProviderDefined(tool)) {
        const declared = options.providerTool?.(tool)
        if (declared === undefined) {
          // refusal: core/prompt-no-wire-form
          return yield* Result.fail(
            fail(options.providerName, `${options.providerName} has no built-in tool "${tool.providerName}"`, "tools")
          )
        }
        wire.push(declared)
        continue
      }
      const schema = yield* Result.try({
        try: () => Tool.getJsonSchema(tool) as Record<string, unknown>,
        catch: (error) =>
          AiError.make({
            module: "PromptConversion",
            method: "toTools",
            reason: new AiError.UnsupportedSchemaError({
              description: `tool "${tool.name}": ${error instanceof Error ? error.message : String(error)}`
            })
          })
      })
      wire.push(
        functionDeclaration(
          {
            name: tool.name,
            description: Tool.getDescription(tool),
            parameters: schema,
            strict: Tool.getStrictMode(tool)
          },
          options
        )
      )
    }
    return { tools: wire, tool_choice: choice }
  })

/**
 * A function tool's wire declaration with the provider's rules applied: `options.transformSchema` rewrites its
 * parameters JSON Schema; `strict` is the tool's own flag, else `options.strict` (omitted when both are unset).
 *
 * @since 0.1.0
 */
export const functionDeclaration = (
  fn: {
    readonly name: string
    readonly description?: string | undefined
    readonly parameters: Record<string, unknown>
    readonly strict?: boolean | undefined
  },
  options: ToolOptions
): ChatCompletions.RequestTool => {
  const strict = fn.strict ?? options.strict
  return {
    type: "function",
    function: {
      name: fn.name,
      ...(fn.description !== undefined ? { description: fn.description } : {}),
      parameters: options.transformSchema ? options.transformSchema(fn.parameters) : fn.parameters,
      ...(strict !== undefined ? { strict } : {})
    }
  }
}

/**
 * Wire tool declarations a caller passes as they are (`ModelConfig.wireTools`): function declarations get the
 * provider's rules as toolkit tools do (see {@link functionDeclaration}), other tools (built-in provider tools such
 * as Moonshot `$web_search`, Zhipu `web_search`) are kept as sent.
 *
 * @since 0.1.0
 */
export const wireToolDeclarations = (
  tools: ReadonlyArray<ChatCompletions.RequestTool>,
  options: ToolOptions
): Array<ChatCompletions.RequestTool> =>
  tools.map((tool) => {
    const fn = tool.function as
      | {
          readonly name?: unknown
          readonly description?: unknown
          readonly parameters?: unknown
          readonly strict?: unknown
        }
      | undefined
    if (tool.type !== "function" || typeof fn?.name !== "string" || !Predicate.isObject(fn.parameters)) return tool
    return functionDeclaration(
      {
        name: fn.name,
        description: typeof fn.description === "string" ? fn.description : undefined,
        parameters: fn.parameters as Record<string, unknown>,
        strict: typeof fn.strict === "boolean" ? fn.strict : undefined
      },
      options
    )
  })
