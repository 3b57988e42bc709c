/**
 * Pure request shaping for Zhipu: core builds a draft Chat Completions body from the `effect/ai` call; this turns it
 * into what the GLM API accepts, or refuses it before any HTTP call with an `InvalidRequestError`
 * (`conduit.kind = "preflight"`) that says why.
 *
 * Rules (sources in docs/providers/glm.md#request-parameters, #sampling, #messages, #tools, #tool-choice, #thinking):
 * - provider options are decoded (`GlmConfig.ProviderOptions`);
 * - `max_completion_tokens` becomes `max_tokens` (GLM has only the latter); above the model's output cap is refused
 *   (the API answers 400 1210 "max_tokens参数非法");
 * - temperature and top_p are checked against the model's range; at an excluded bound (GLM-4-era models reject 0 and
 *   1 with 1214 "temperature参数非法") `temperature: 0` becomes `do_sample: false` (greedy; the parameter is dropped)
 *   and 1 becomes 0.99, as the official SDK does (ZAI-SDK-PY `completions.py`);
 * - `stop`: a string becomes a one-element array; more than the model's `maxStop` (one: "Currently, only one stop word
 *   is supported") is refused;
 * - `response_format`: `text` and `json_object` only (no `json_schema`: it is downgraded to `json_object` plus the
 *   schema as a system instruction); refused on models without JSON mode (vision);
 * - tools: function declarations carry `strict: false` (the shape the live cassettes sent and Z.ai accepted);
 *   `tool_choice: "none"` drops the function tools (the docs accept only `auto`); a forced choice (a named function,
 *   or `required` with exactly one tool) is sent only where the catalog says it works (`toolChoiceNamed`), else
 *   refused; `required` with several tools is refused; the `web_search` provider option adds the built-in tool, and
 *   a `{ type: "web_search" }` declaration sent as is (the Promise face's built-in tools) is checked and completed
 *   with the same defaults (the option wins over it);
 *   `tool_stream: true` is added when streaming with function tools on models that accept it;
 * - `thinking: { type, clear_thinking }` is sent as given; disabling it on an always-thinking model is refused (the
 *   API answers 1210 "该模型始终思考");
 * - messages: tool messages lose `name` (not in the GLM schema); assistant `reasoning_content` is replayed on
 *   tool-call turns (interleaved thinking) and, with Preserved Thinking (`clear_thinking: false`, the coding-plan
 *   default), on every assistant turn;
 * - `request_id`, `user_id`, `reasoning_effort`, `do_sample` are passed through.
 */
import {
  type ChatCompletions,
  type ModelCatalog,
  OpenAiCompatLanguageModel,
  ProviderError,
  ProviderOptions
} from "@conduitkit/core"
import { Exit, Result, Schema } from "effect"
import type { AiError } from "effect/ai"
import * as GlmConfig from "../GlmConfig.js"
import type { GlmFeatures } from "../GlmModels.js"
import { WebSearchArgs, wireTool } from "./webSearch.js"

/** What the shaping looks at besides the draft. */
export interface ShapeInput {
  readonly model: ModelCatalog.ModelInfo
  readonly features: GlmFeatures
  readonly providerOptions: Readonly<Record<string, unknown>> | undefined
  readonly streaming: boolean
  /** Preserved Thinking is the endpoint's default (the coding plan). */
  readonly preservedThinkingByDefault: boolean
}

type Shaped = Result.Result<ChatCompletions.WireRequest, AiError.AiError>

const refuse = (description: string, parameter: string): Shaped =>
  Result.fail(ProviderError.invalidRequest({ provider: "glm", description, parameter }))

const decodeOptions = ProviderOptions.decoder(GlmConfig.ProviderOptions, { provider: "glm", label: "GLM" })

const inRange = (value: number, rule: ModelCatalog.SamplingRule): boolean =>
  (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
  (rule.max === undefined || (rule.exclusiveMax ? value < rule.max : value <= rule.max))

const rangeText = (rule: ModelCatalog.SamplingRule) =>
  `${rule.exclusiveMin ? "(" : "["}${rule.min ?? "-∞"}, ${rule.max ?? "∞"}${rule.exclusiveMax ? ")" : "]"}`

/** Below an excluded upper bound: 1 → 0.99 (two decimals, as the official SDK). */
const justBelow = (max: number) => Math.round((max - 0.01) * 100) / 100

const isFunctionTool = (tool: ChatCompletions.RequestTool) => tool.type === "function"

const isWebSearchTool = (tool: ChatCompletions.RequestTool) => tool.type === "web_search"

const decodeWebSearch = Schema.decodeUnknownExit(WebSearchArgs)

/**
 * Shapes a draft request (pure). Returns the request to send, or the `InvalidRequestError` refusing it.
 */
export const shape = (draft: ChatCompletions.WireRequest, input: ShapeInput): Shaped => {
  const { model, features } = input
  const catalogued = model.unknown !== true
  const decoded = decodeOptions(input.providerOptions)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const options = decoded.success
  const body: ChatCompletions.WireRequest = { ...draft }

  // --- output cap -------------------------------------------------------------------------------------------
  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) {
    body.max_tokens ??= body.max_completion_tokens
    delete body.max_completion_tokens
  }
  if (catalogued && typeof body.max_tokens === "number" && body.max_tokens > model.maxOutputTokens) {
    return refuse(
      `max_tokens ${body.max_tokens} exceeds the ${model.maxOutputTokens}-token output cap of ${model.id}`,
      "max_tokens"
    )
  }

  // --- sampling ---------------------------------------------------------------------------------------------
  const temperatureRule = model.sampling?.temperature
  if (typeof body.temperature === "number" && temperatureRule !== undefined) {
    const value = body.temperature
    if (!inRange(value, temperatureRule)) {
      if (temperatureRule.exclusiveMin && value === temperatureRule.min && value === 0) {
        delete body.temperature
        body.do_sample = false
      } else if (temperatureRule.exclusiveMax && value === temperatureRule.max && temperatureRule.max !== undefined) {
        body.temperature = justBelow(temperatureRule.max)
      } else {
        return refuse(
          `temperature ${value} is outside the range ${rangeText(temperatureRule)} accepted by ${model.id}`,
          "temperature"
        )
      }
    }
  }
  const topPRule = model.sampling?.topP
  if (typeof body.top_p === "number" && topPRule !== undefined && !inRange(body.top_p, topPRule)) {
    if (topPRule.exclusiveMax && body.top_p === topPRule.max && topPRule.max !== undefined) {
      body.top_p = justBelow(topPRule.max)
    } else {
      return refuse(`top_p ${body.top_p} is outside the range ${rangeText(topPRule)} accepted by ${model.id}`, "top_p")
    }
  }
  if (options.do_sample !== undefined) body.do_sample = options.do_sample

  // --- stop ---------------------------------------------------------------------------------------------------
  if (body.stop !== undefined && body.stop !== null) {
    const words = typeof body.stop === "string" ? [body.stop] : [...body.stop]
    const maxStop = model.sampling?.maxStop ?? 1
    if (words.length === 0) delete body.stop
    else if (words.length > maxStop) {
      return refuse(
        `${model.id} accepts only ${maxStop} stop word${maxStop === 1 ? "" : "s"} ("Currently, only one stop word is supported"); got ${words.length}`,
        "stop"
      )
    } else body.stop = words
  }

  // --- response_format ----------------------------------------------------------------------------------------
  const format = body.response_format
  if (format !== undefined && format !== null) {
    if (format.type === "json_object" || format.type === "json_schema") {
      if (catalogued && !model.capabilities.jsonMode) {
        return refuse(`${model.id} does not support response_format (JSON mode is text-model only)`, "response_format")
      }
      if (format.type === "json_schema") {
        const spec = (format as { json_schema?: { name?: unknown; schema?: unknown } }).json_schema
        const name = typeof spec?.name === "string" ? spec.name : "response"
        body.response_format = { type: "json_object" }
        body.messages = [
          { role: "system", content: OpenAiCompatLanguageModel.jsonInstruction(name, spec?.schema ?? {}) },
          ...body.messages
        ]
      }
    } else if (format.type !== "text") {
      return refuse(`GLM accepts response_format "text" or "json_object", not "${format.type}"`, "response_format")
    }
  }

  // --- tools and tool_choice -----------------------------------------------------------------------------------
  let tools = body.tools ? [...body.tools] : []
  let choice = body.tool_choice
  if (choice === "none") {
    tools = tools.filter((tool) => !isFunctionTool(tool))
    choice = undefined
  }
  const functionTools = tools.filter(isFunctionTool)
  if (catalogued && functionTools.length > 0 && !model.capabilities.tools) {
    return refuse(`${model.id} does not support function tools`, "tools")
  }
  const forcedWorks = model.capabilities.toolChoiceNamed === true || options.forceToolChoice === true
  const forcedRefusal = (what: string) =>
    refuse(
      `${model.id} does not honour a forced tool_choice (${what}): the GLM docs accept only "auto", a forced choice reportedly hangs glm-4.6 (https://github.com/Smana/runlore/issues/391), and only glm-4.5 is recorded honouring one. Use "auto", or set the provider option forceToolChoice to send it anyway`,
      "tool_choice"
    )
  if (choice === "required" && !model.capabilities.toolChoiceRequired) {
    const only = functionTools.length === 1 ? functionTools[0] : undefined
    const name = (only?.function as { name?: unknown } | undefined)?.name
    if (typeof name !== "string") {
      return refuse(
        `${model.id} does not accept tool_choice "required" (the GLM docs accept only "auto"); with exactly one tool it is sent as a named choice where that works`,
        "tool_choice"
      )
    }
    if (!forcedWorks) return forcedRefusal(`"required", sent as the named function "${name}"`)
    choice = { type: "function", function: { name } }
  } else if (typeof choice === "object" && choice !== null && !forcedWorks) {
    const name = (choice as { function?: { name?: unknown } }).function?.name
    return forcedRefusal(`function "${String(name)}"`)
  }
  tools = tools.map((tool) =>
    isFunctionTool(tool) && typeof tool.function === "object" && tool.function !== null
      ? { ...tool, function: { ...(tool.function as Record<string, unknown>), strict: false } }
      : tool
  )
  if (options.web_search !== undefined) {
    tools = [...tools.filter((tool) => tool.type !== "web_search"), wireTool(options.web_search)]
  } else if (tools.some(isWebSearchTool)) {
    // a declaration sent as is (an OpenAI-shaped built-in through the Promise face): checked and completed like the
    // option, in place; only the first one is kept
    const args = decodeWebSearch(tools.find(isWebSearchTool)?.web_search ?? {})
    if (Exit.isFailure(args)) return refuse(`invalid web_search tool: ${String(args.cause)}`, "tools")
    let seen = false
    tools = tools.flatMap((tool) => {
      if (!isWebSearchTool(tool)) return [tool]
      if (seen) return []
      seen = true
      return [wireTool(args.value)]
    })
  }
  if (tools.length > 0) {
    body.tools = tools
    body.tool_choice = choice ?? "auto"
  } else {
    delete body.tools
    delete body.tool_choice
  }
  delete body.tool_stream
  const streamTools = options.tool_stream ?? features.toolStream
  if (input.streaming && streamTools && functionTools.length > 0) body.tool_stream = true

  // --- thinking -------------------------------------------------------------------------------------------------
  const thinking = options.thinking
  if (thinking !== undefined) {
    if (thinking.type === "disabled" && catalogued && model.capabilities.thinking === "always") {
      return refuse(
        `${model.id} always thinks; thinking cannot be disabled (the API answers 1210 "该模型始终思考，不支持关闭思考")`,
        "thinking"
      )
    }
    if (thinking.type === "enabled" && catalogued && model.capabilities.thinking === "none") {
      return refuse(`${model.id} has no thinking mode`, "thinking")
    }
    body.thinking = { ...thinking }
  }

  // --- messages -------------------------------------------------------------------------------------------------
  const preserved =
    thinking?.clear_thinking === false || (thinking?.clear_thinking === undefined && input.preservedThinkingByDefault)
  body.messages = body.messages.map((message) => {
    if (message.role === "tool" && "name" in message) {
      const { name: _name, ...rest } = message
      return rest as ChatCompletions.RequestMessage
    }
    if (
      message.role === "assistant" &&
      !preserved &&
      message.reasoning_content !== undefined &&
      (message.tool_calls === undefined || message.tool_calls === null || message.tool_calls.length === 0)
    ) {
      const { reasoning_content: _reasoning, ...rest } = message
      return rest as ChatCompletions.RequestMessage
    }
    return message
  })

  // --- pass-through ---------------------------------------------------------------------------------------------
  if (options.request_id !== undefined) body.request_id = options.request_id
  if (options.user_id !== undefined) body.user_id = options.user_id
  if (options.reasoning_effort !== undefined) body.reasoning_effort = options.reasoning_effort
  return Result.succeed(body)
}
