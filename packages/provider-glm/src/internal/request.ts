/**
 * Pure request shaping for Zhipu: core builds a draft Chat Completions body from the `effect/ai` call; this turns it
 * into what the GLM API accepts, or refuses it before any HTTP call with an `InvalidRequestError`
 * (`conduit.kind = "preflight"`) that says why.
 *
 * Refuses only what a recording shows the live API refusing (docs/refusals/glm.md): disabling thinking on a model
 * that always thinks (1210). Adapts with a warning where the API is recorded refusing a value a meaning-preserving
 * change saves (temperature 0 → `do_sample: false`, 1 → 0.99, as the official SDK does), and where GLM documents no
 * form for the request (`json_schema` → `json_object` plus the schema as a system instruction). Sends everything else
 * as is (output caps, stop-word count, forced `tool_choice` on every model, tools and JSON mode per model).
 *
 * Also: provider options are decoded (`GlmConfig.ProviderOptions`); `max_completion_tokens` becomes `max_tokens`; a
 * `stop` string becomes a one-element list; function declarations carry `strict: false` (the shape the live
 * cassettes sent); `tool_choice: "none"` drops the function tools (the docs accept only `auto`); the `web_search`
 * provider option adds the built-in tool and a `{ type: "web_search" }` declaration is completed with the same
 * defaults; `tool_stream: true` is added when streaming with function tools on models that accept it; tool messages
 * lose `name`; assistant `reasoning_content` is replayed on tool-call turns and, with Preserved Thinking
 * (`clear_thinking: false`, the coding-plan default), on every assistant turn; `request_id`, `user_id`,
 * `reasoning_effort`, `do_sample` are passed through.
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
  /** Reports an adaptation as a warning (core's `PrepareContext.warn`). */
  readonly warn?: ((warning: string) => void) | undefined
}

type Shaped = Result.Result<ChatCompletions.WireRequest, AiError.AiError>

// refusal-helper
const refuse = (description: string, parameter: string): Shaped =>
  Result.fail(ProviderError.invalidRequest({ provider: "glm", description, parameter }))

const decodeOptions = ProviderOptions.decoder(GlmConfig.ProviderOptions, { provider: "glm", label: "GLM" })

const inRange = (value: number, rule: ModelCatalog.SamplingRule): boolean =>
  (rule.min === undefined || (rule.exclusiveMin ? value > rule.min : value >= rule.min)) &&
  (rule.max === undefined || (rule.exclusiveMax ? value < rule.max : value <= rule.max))

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
  const warn = input.warn ?? (() => {})
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
  // (the catalog's output caps are unconfirmed: a max_tokens above them is sent, and the API's 1210 is mapped)

  // --- sampling ---------------------------------------------------------------------------------------------
  // At an excluded bound GLM-4-era models answer 1214 "temperature参数非法" (relayed live: glm errors
  // third_party_observed_error_bodies.jsonl, one-api#1141): adapted as the official SDK does, with a warning. Other
  // out-of-range values (documented ranges only) are sent as is.
  const temperatureRule = model.sampling?.temperature
  if (
    typeof body.temperature === "number" &&
    temperatureRule !== undefined &&
    !inRange(body.temperature, temperatureRule)
  ) {
    const value = body.temperature
    if (temperatureRule.exclusiveMin && value === temperatureRule.min && value === 0) {
      delete body.temperature
      body.do_sample = false
      warn(`${model.id} does not accept temperature 0: sent as do_sample: false (greedy decoding)`)
    } else if (temperatureRule.exclusiveMax && value === temperatureRule.max && temperatureRule.max !== undefined) {
      body.temperature = justBelow(temperatureRule.max)
      warn(`${model.id} does not accept temperature ${value}: sent as ${body.temperature}`)
    }
  }
  const topPRule = model.sampling?.topP
  if (
    typeof body.top_p === "number" &&
    topPRule !== undefined &&
    !inRange(body.top_p, topPRule) &&
    topPRule.exclusiveMax &&
    body.top_p === topPRule.max &&
    topPRule.max !== undefined
  ) {
    const value = body.top_p
    body.top_p = justBelow(topPRule.max)
    warn(`${model.id} does not accept top_p ${value}: sent as ${body.top_p}`)
  }
  if (options.do_sample !== undefined) body.do_sample = options.do_sample

  // --- stop ---------------------------------------------------------------------------------------------------
  if (body.stop !== undefined && body.stop !== null) {
    // a string becomes a one-element list; the documented one-word limit has no recording: sent as is
    const words = typeof body.stop === "string" ? [body.stop] : [...body.stop]
    if (words.length === 0) delete body.stop
    else body.stop = words
  }

  // --- response_format ----------------------------------------------------------------------------------------
  const format = body.response_format
  if (format?.type === "json_schema") {
    // GLM documents only text and json_object: the schema goes in a system instruction, with a warning
    const spec = (format as { json_schema?: { name?: unknown; schema?: unknown } }).json_schema
    const name = typeof spec?.name === "string" ? spec.name : "response"
    body.response_format = { type: "json_object" }
    body.messages = [
      { role: "system", content: OpenAiCompatLanguageModel.jsonInstruction(name, spec?.schema ?? {}) },
      ...body.messages
    ]
    warn(`GLM has no json_schema response format: sent as json_object with the schema as a system instruction`)
  }

  // --- tools and tool_choice -----------------------------------------------------------------------------------
  let tools = body.tools ? [...body.tools] : []
  let choice = body.tool_choice
  if (choice === "none") {
    tools = tools.filter((tool) => !isFunctionTool(tool))
    choice = undefined
  }
  const functionTools = tools.filter(isFunctionTool)
  // a forced choice (`required`, a named function) is sent as is on every model: live recordings show glm-4.5 honouring
  // a named choice; the one report of glm-4.6 stalling on it is third-party, and the idle timeout bounds a stall
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
    // refusal: glm/web-search-arguments
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
      // refusal: glm/thinking-disabled-always
      return refuse(
        `${model.id} always thinks (the API answers 1210 "该模型始终思考，不支持关闭思考"): omit thinking or set thinking.type to "enabled"`,
        "thinking"
      )
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
