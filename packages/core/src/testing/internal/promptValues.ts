/**
 * Values from a prompt for a JSON Schema (used by `Twin`): the meaningful words of a text, the values and numbers a
 * message names, and a value valid for a schema whose free properties take them (the rest from `json-schema-faker`,
 * seeded). Pure apart from the generator's seeded randomness.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { generateSync, type JsonSchema } from "json-schema-faker"

type Json = Record<string, unknown>

const isRecord = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

// =============================================================================
// Words
// =============================================================================

const COMMON = new Set(
  (
    "a an the and or but of in on at to for with from by as is are was were be been am do does did done can could " +
    "would will shall should may might must me my mine you your yours we our us i it its this that these those " +
    "what whats which who whom whose how when where why please thanks thank get gets give tell show let lets " +
    "call use using some any all there here then than so not no yes just also about into out up down over " +
    "one two three tool tools function functions value"
  ).split(" ")
)

const stem = (word: string) =>
  word.length > 3 && word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word

/**
 * The meaningful words of a text or identifier: lowercase, split on non-letters, `snake_case` and `camelCase`,
 * a trailing plural `s` dropped, common words and words under 3 letters left out.
 *
 * @since 0.1.0
 */
export const words = (text: string): Set<string> => {
  const out = new Set<string>()
  const spaced = text.replace(/(\p{Ll})(\p{Lu})/gu, "$1 $2").replace(/['\u2019]s\b/gu, "")
  for (const raw of spaced.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < 3 || COMMON.has(raw)) continue
    out.add(stem(raw))
  }
  return out
}

/** Whether a text has a word of `wanted`. */
export const sharesWord = (text: string, wanted: Set<string>) => [...words(text)].some((word) => wanted.has(word))

// =============================================================================
// Values from the prompt
// =============================================================================

const SENTENCE_START = /(^|[.!?]\s+|\n\s*)$/

/**
 * The values a user message names, in order: double-quoted strings, then runs of capitalized words ("New York",
 * "Florence, Italy") that do not open a sentence with a common word.
 *
 * @since 0.1.0
 */
export const namedValues = (text: string): Array<string> => {
  const quoted = [...text.matchAll(/"([^"]+)"|\u201c([^\u201d]+)\u201d/gu)].map((match) => match[1] ?? match[2] ?? "")
  const names: Array<string> = []
  for (const match of text.matchAll(/\p{Lu}[\p{L}\p{M}'\u2019-]*(?:(?:,\s*|\s+)\p{Lu}[\p{L}\p{M}'\u2019-]*)*/gu)) {
    let run = match[0]
    const before = text.slice(0, match.index)
    const first = run.split(/[\s,]+/)[0] ?? ""
    const firstWord = first.toLowerCase().replace(/['\u2019]s$/u, "")
    if (COMMON.has(firstWord) || COMMON.has(firstWord.replace(/['\u2019]/gu, "")) || SENTENCE_START.test(before)) {
      // a sentence opener ("What's", "Generate"): keep what follows it in the run, if anything
      run = run.slice(first.length).replace(/^[\s,]+/u, "")
      if (run === "" || !/^\p{Lu}/u.test(run)) continue
    }
    if (!quoted.some((value) => value.includes(run))) names.push(run)
  }
  return [...quoted.filter((value) => value.trim() !== ""), ...names]
}

/**
 * The numbers a text names, in order.
 *
 * @since 0.1.0
 */
export const namedNumbers = (text: string): Array<number> =>
  [...text.matchAll(/(?<![\p{L}\d.])-?\d+(?:\.\d+)?(?![\p{L}\d])/gu)].map((match) => Number(match[0]))

// =============================================================================
// Generating values for a schema
// =============================================================================

const FREE_STRING_KEYS = ["enum", "const", "format", "pattern", "minLength", "maxLength", "contentEncoding"]

/** A string schema without enum, const, format, pattern, length bound or default. */
export const isFreeString = (schema: Json) =>
  schema.type === "string" && !FREE_STRING_KEYS.some((key) => key in schema) && !("default" in schema)

const isFreeNumber = (schema: Json) =>
  (schema.type === "number" || schema.type === "integer") && !("enum" in schema) && !("const" in schema)

const fitsNumber = (schema: Json, value: number) =>
  (schema.type !== "integer" || Number.isInteger(value)) &&
  (typeof schema.minimum !== "number" || value >= schema.minimum) &&
  (typeof schema.maximum !== "number" || value <= schema.maximum) &&
  (typeof schema.exclusiveMinimum !== "number" || value > schema.exclusiveMinimum) &&
  (typeof schema.exclusiveMaximum !== "number" || value < schema.exclusiveMaximum) &&
  (typeof schema.multipleOf !== "number" || Number.isInteger(value / schema.multipleOf))

/**
 * An `anyOf` narrowed to its first branch that is not `null` (Effect's `Schema.Number` is a number or the strings
 * "NaN"/"Infinity"; a nullable field is its type or null): a value valid for that branch is valid for the `anyOf`.
 */
const firstBranch = (schema: unknown): unknown => {
  if (!isRecord(schema) || !Array.isArray(schema.anyOf)) return schema
  const branch = schema.anyOf.find((candidate) => isRecord(candidate) && candidate.type !== "null")
  if (!isRecord(branch)) return schema
  const { anyOf: _anyOf, ...rest } = schema
  return { ...rest, ...branch }
}

/** A value the prompt offers, with the words just before it ("named Alice", "lives in Paris"). */
interface Candidate {
  readonly value: string
  readonly context: ReadonlyArray<string>
}

/** Values the prompt offers, consumed as the schema's free properties are met. */
interface Supply {
  readonly words: ReadonlySet<string>
  readonly strings: Array<Candidate>
  readonly numbers: Array<number>
  readonly fallback: string
}

const candidate = (prompt: string, value: string): Candidate => {
  const at = prompt.indexOf(value)
  const before = at < 0 ? "" : prompt.slice(0, at).split(/\s+/u).slice(-5).join(" ")
  return { value, context: [...words(before)] }
}

const related = (a: string, b: string) =>
  a === b || (a.length >= 4 && b.length >= 4 && (a.startsWith(b) || b.startsWith(a)))

/** How well a value's context fits a property: 2 per word related to its name, 1 per word related to its description. */
const fitOf = (value: Candidate, key: string, property: Json) => {
  const named = [...words(key)]
  const described = [...words(typeof property.description === "string" ? property.description : "")]
  return value.context.reduce(
    (score, word) =>
      score + (named.some((k) => related(word, k)) ? 2 : described.some((d) => related(word, d)) ? 1 : 0),
    0
  )
}

/** The first string option of an enum that shares a word with the prompt ("Europe/Rome" for "the time in Rome"). */
const mentionedOption = (options: ReadonlyArray<unknown>, prompt: ReadonlySet<string>): string | undefined =>
  options.find(
    (option): option is string => typeof option === "string" && [...words(option)].some((word) => prompt.has(word))
  )

/**
 * The prompt's values for the free string properties of one object: the best-fitting (property, value) pairs first
 * ("named Alice" goes to `name`, "lives in Paris" to the city "where the person lives"), the rest in order.
 */
const assignStrings = (keys: ReadonlyArray<string>, properties: Json, supply: Supply): Map<string, string> => {
  const out = new Map<string, string>()
  const pairs = keys
    .flatMap((key) =>
      supply.strings.map((value) => ({ key, value, score: fitOf(value, key, properties[key] as Json) }))
    )
    .filter((pair) => pair.score > 0)
    .sort((a, b) => b.score - a.score)
  for (const pair of pairs) {
    if (out.has(pair.key) || !supply.strings.includes(pair.value)) continue
    out.set(pair.key, pair.value.value)
    supply.strings.splice(supply.strings.indexOf(pair.value), 1)
  }
  for (const key of keys) if (!out.has(key)) out.set(key, supply.strings.shift()?.value ?? supply.fallback)
  return out
}

/**
 * A copy of the schema whose free string and number properties (no enum, const, format, pattern or length bound)
 * are pinned (`const`) to values from the prompt: every string the schema accepts still validates.
 */
const pinFromPrompt = (schema: unknown, supply: Supply, depth = 0): unknown => {
  if (!isRecord(schema) || depth > 8) return schema
  if (!isRecord(schema.properties)) return schema
  const narrowed: Json = {}
  for (const [key, declared] of Object.entries(schema.properties)) narrowed[key] = firstBranch(declared)
  const strings = assignStrings(
    Object.keys(narrowed).filter((key) => isRecord(narrowed[key]) && isFreeString(narrowed[key] as Json)),
    narrowed,
    supply
  )
  const properties: Json = {}
  for (const [key, property] of Object.entries(narrowed)) {
    if (!isRecord(property)) {
      properties[key] = property
    } else if (strings.has(key)) {
      properties[key] = { ...property, const: strings.get(key) }
    } else if (Array.isArray(property.enum) && mentionedOption(property.enum, supply.words) !== undefined) {
      properties[key] = { ...property, const: mentionedOption(property.enum, supply.words) }
    } else if (isFreeNumber(property) && supply.numbers.length > 0 && fitsNumber(property, supply.numbers[0] ?? 0)) {
      properties[key] = { ...property, const: supply.numbers.shift() }
    } else if (property.type === "object") {
      properties[key] = pinFromPrompt(property, supply, depth + 1)
    } else {
      properties[key] = property
    }
  }
  return { ...schema, properties }
}

/**
 * The schema in the generator's dialect: draft-07 `definitions` (zod's output) moved to `$defs` with their `$ref`s, and
 * a root `{"$ref": "#/$defs/X"}` (Effect's and zod's output) replaced by its target, the definitions kept.
 */
const normalize = (input: unknown): unknown => {
  if (!isRecord(input)) return input
  let schema = input
  if (isRecord(schema.definitions)) {
    const { definitions, ...rest } = JSON.parse(
      JSON.stringify(schema).replaceAll('"#/definitions/', '"#/$defs/')
    ) as Json
    schema = { ...rest, $defs: { ...(definitions as Json), ...(isRecord(rest.$defs) ? rest.$defs : {}) } }
  }
  if (typeof schema.$ref !== "string") return schema
  const match = /^#\/\$defs\/(.+)$/u.exec(schema.$ref)
  const target = isRecord(schema.$defs) && match?.[1] !== undefined ? schema.$defs[match[1]] : undefined
  if (!isRecord(target)) return schema
  const { $ref: _ref, ...rest } = schema
  return { ...rest, ...target }
}

const seedOf = (...parts: ReadonlyArray<string>): number =>
  createHash("sha256").update(parts.join("\u0000")).digest().readUInt32BE(0)

/**
 * A value valid against a JSON Schema, deterministic for the same schema, prompt and key: the free properties take
 * the prompt's values (see the module documentation), the rest comes from `json-schema-faker` seeded with the key and
 * the prompt. Object schemas without properties give `{}`; a schema the generator cannot read gives `{}` too.
 *
 * @since 0.1.0
 */
export const valueFor = (
  schema: unknown,
  prompt: string,
  key: string,
  values: ReadonlyArray<string> = namedValues(prompt)
): unknown => {
  const pinned = pinFromPrompt(normalize(schema), {
    words: words(prompt),
    strings: values.map((value) => candidate(prompt, value)),
    numbers: namedNumbers(prompt),
    fallback: prompt.trim().replace(/\s+/gu, " ").slice(0, 60) || key
  })
  if (!isRecord(pinned)) return {}
  try {
    const value = generateSync(pinned as JsonSchema, {
      seed: seedOf(key, prompt),
      useDefaultValue: true,
      alwaysFakeOptionals: true,
      maxItems: 3,
      maxDepth: 6
    })
    return value === undefined ? {} : value
  } catch {
    return {}
  }
}
