/**
 * Tool declarations and `tool_choice` (pure).
 *
 * - `tool_choice: "required"` and a named function choice: kimi-k3 accepts them with thinking on (live fixture
 *   `moonshotai-k3-required-tool-choice.json`); the K2 thinking models answer 400 `tool_choice 'required' is
 *   incompatible with thinking enabled` (fixture `errors/moonshotai-required-tool-choice-error.json`; the named form
 *   `'specified'` likewise, `other-repos/live-errors-and-headers-2026-09.txt`) and accept them with thinking off;
 *   legacy models document only `none` / `auto` ([DOC-EN-25]). See {@link forcedChoice}: adapted where thinking is
 *   only on by default, refused where the caller asked for thinking or the model always thinks.
 * - Documented limits on declarations (function names `^[a-zA-Z_][a-zA-Z0-9-_]{2,63}$`, at most 128 functions,
 *   object `parameters`, no `functions` / `function_call`; [DOC-EN-25]) have no recording of the live API refusing
 *   them: declarations are sent as is and the API's answer is mapped.
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
import type { ThinkingState } from "./thinking.js"

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
 * A forced `tool_choice` (`"required"` or a named function) on a model that refuses it while thinking (the K2
 * thinking models; the live 400 `tool_choice 'required' is incompatible with thinking enabled` is recorded:
 * `errors/moonshotai-required-tool-choice-error.json`, and `'specified'` for the named form,
 * `other-repos/live-errors-and-headers-2026-09.txt`):
 * - thinking only on by default (kimi-k2.6, the caller did not ask for it): adapted, thinking is switched off for
 *   this call, with a warning;
 * - thinking the caller switched on, or a model that always thinks: refused, naming what to change in the request.
 * Returns the thinking state to use. Anything else (legacy models documented with only `auto` / `none`, unknown
 * models) is sent as is.
 */
export const forcedChoice = (
  choice: unknown,
  model: ModelCatalog.ModelInfo,
  traits: KimiModels.KimiTraits,
  thinking: ThinkingState,
  warn: (warning: string) => void
): Shaped<ThinkingState> => {
  const forced = choice === "required" || (typeof choice === "object" && choice !== null)
  if (model.unknown || !forced || traits.toolChoiceRequired !== "without-thinking" || thinking.on === false) {
    return Result.succeed(thinking)
  }
  const label = choice === "required" ? `tool_choice "required"` : "a named tool_choice"
  if (model.capabilities.thinking === "always") {
    // refusal: kimi/tool-choice-with-thinking
    return refuse(
      "tool_choice",
      `${label} is incompatible with thinking, and ${model.id} always thinks (Moonshot answers 400): use tool_choice "auto", or a model that accepts it (kimi-k3)`
    )
  }
  if (thinking.explicit) {
    // refusal: kimi/tool-choice-with-thinking
    return refuse(
      "tool_choice",
      `${label} is incompatible with thinking enabled on ${model.id} (Moonshot answers 400): set thinking.type to "disabled" or use tool_choice "auto"`
    )
  }
  warn(`${label} is incompatible with thinking on ${model.id}: thinking was switched off for this call`)
  return Result.succeed({ wire: { type: "disabled" }, on: false, explicit: false })
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
