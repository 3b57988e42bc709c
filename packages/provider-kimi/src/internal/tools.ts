/**
 * Tool declarations and `tool_choice` (pure).
 *
 * - `tool_choice: "required"` and a named function choice: kimi-k3 accepts them with thinking on (live fixture
 *   `moonshotai-k3-required-tool-choice.json`); the K2 thinking models answer 400 `tool_choice 'required' is
 *   incompatible with thinking enabled` (fixture `errors/moonshotai-required-tool-choice-error.json`; the named form
 *   `'specified'` likewise, `other-repos/live-errors-and-headers-2026-09.txt`) and accept them with thinking off;
 *   legacy models document only `none` / `auto` ([DOC-EN-25]). Refused up front where they would fail.
 * - Function names must match `^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$` (2026 OpenAPI; names starting with a digit are a 400,
 *   https://github.com/MoonshotAI/kimi-cli/issues/2531); at most 128 functions; `parameters` must be an object
 *   schema; the deprecated `functions` / `function_call` are not supported ([DOC-EN-25]).
 * - MFJS (Moonshot Flavored JSON Schema) normalization of parameter and `json_schema` schemas, after vercel/ai's
 *   `normalize-json-schema-for-mfjs.ts`: `$schema` is stripped (it derails kimi-k2.5 structured output,
 *   https://github.com/vercel/ai/issues/12871), tuple `items` arrays become `prefixItems`, and a `type` beside
 *   `anyOf` moves into the branches (400 "when using anyOf, type should be defined in anyOf items instead of the
 *   parent schema"). docs/providers/kimi.md#tool-schemas.
 */
import type { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import type * as KimiModels from "../KimiModels.js"
import { refuse, type Shaped } from "./refusal.js"

/** The function-name rule of the 2026 OpenAPI. */
export const toolNamePattern = /^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$/

/** At most this many tools per request. */
export const maxTools = 128

/** The wire declaration of Moonshot's built-in web search. */
export const webSearchDeclaration = { type: "builtin_function", function: { name: "$web_search" } } as const

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/** Whether a wire tool list declares `$web_search`. */
export const declaresWebSearch = (tools: ReadonlyArray<unknown> | null | undefined): boolean =>
  (tools ?? []).some(
    (tool) => isRecord(tool) && isRecord(tool.function) && tool.function.name === webSearchDeclaration.function.name
  )

/**
 * Checks `tool_choice` against the model: `"required"` and named choices are refused on models that reject them
 * (with thinking on, or always).
 */
export const checkToolChoice = (
  choice: unknown,
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  thinkingOn: boolean | undefined
): Shaped<void> => {
  if (model.unknown || choice === undefined || choice === null || choice === "auto" || choice === "none") {
    return Result.succeed(undefined)
  }
  const label = choice === "required" ? `tool_choice "required"` : "a named tool_choice"
  if (traits.toolChoiceRequired === "never") {
    return refuse("tool_choice", `${model.id} does not support ${label} (only "auto" and "none")`)
  }
  if (traits.toolChoiceRequired === "without-thinking" && thinkingOn !== false) {
    const fix =
      model.capabilities.thinking === "always"
        ? `${model.id} always thinks, so use tool_choice "auto" (or kimi-k3, which accepts it with thinking on)`
        : `disable thinking (providerOptions.thinking: "disabled") or use tool_choice "auto"`
    return refuse("tool_choice", `${label} is incompatible with thinking enabled on ${model.id}: ${fix}`)
  }
  return Result.succeed(undefined)
}

/**
 * Checks the declared tools: the deprecated `functions` / `function_call`, the count, function names and object
 * parameter roots.
 */
export const checkTools = (body: Json): Shaped<void> => {
  if (body.functions !== undefined || body.function_call !== undefined) {
    return refuse("functions", "Moonshot does not support the deprecated functions / function_call; use tools")
  }
  const tools = Array.isArray(body.tools) ? body.tools : []
  const functions = tools.filter((tool) => isRecord(tool) && tool.type === "function")
  if (functions.length > maxTools) {
    return refuse("tools", `Moonshot accepts at most ${maxTools} tools, got ${functions.length}`)
  }
  for (const tool of functions) {
    const fn = isRecord(tool) && isRecord(tool.function) ? tool.function : {}
    const name = fn.name
    if (typeof name !== "string" || !toolNamePattern.test(name)) {
      return refuse(
        "tools",
        `tool name ${JSON.stringify(name)} is not accepted by Moonshot: names must match ${toolNamePattern.source} (3 to 64 characters, not starting with a digit)`
      )
    }
    const parameters = fn.parameters
    if (
      parameters !== undefined &&
      (!isRecord(parameters) || (parameters.type !== undefined && parameters.type !== "object"))
    ) {
      return refuse("tools", `tool "${name}": Moonshot requires the parameters schema root to be an object`)
    }
  }
  return Result.succeed(undefined)
}

const typeless = (schema: Json): boolean =>
  schema.type === undefined &&
  schema.anyOf === undefined &&
  schema.oneOf === undefined &&
  schema.allOf === undefined &&
  schema.$ref === undefined &&
  schema.enum === undefined &&
  schema.const === undefined

/** Keywords whose value is a schema or a list of schemas (other values, e.g. `default`, are copied as is). */
const schemaKeywords = new Set([
  "items",
  "prefixItems",
  "additionalProperties",
  "anyOf",
  "oneOf",
  "allOf",
  "not",
  "contains",
  "if",
  "then",
  "else"
])

/**
 * Normalizes a JSON Schema for Moonshot's MFJS validator (see the module documentation). Returns a new object;
 * the input is not modified.
 */
export const normalizeSchema = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(normalizeSchema)
  if (!isRecord(schema)) return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "$schema") continue
    if (key === "properties" || key === "$defs" || key === "definitions" || key === "patternProperties") {
      out[key] = isRecord(value)
        ? Object.fromEntries(Object.entries(value).map(([name, child]) => [name, normalizeSchema(child)]))
        : value
      continue
    }
    if (key === "items" && Array.isArray(value)) {
      out.prefixItems = value.map(normalizeSchema)
      continue
    }
    out[key] = schemaKeywords.has(key) ? normalizeSchema(value) : value
  }
  if (Array.isArray(out.anyOf) && out.type !== undefined) {
    const type = out.type
    delete out.type
    out.anyOf = out.anyOf.map((branch) => (isRecord(branch) && typeless(branch) ? { type, ...branch } : branch))
  }
  return out
}
