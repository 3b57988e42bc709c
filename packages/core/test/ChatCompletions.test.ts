/**
 * The hand-written per-chunk guard (`isChatCompletionChunk`) must say exactly what `Schema.is(ChatCompletionChunk)`
 * says: over every recorded stream chunk (Kimi and GLM), over hand-picked edge cases, and over random mutations of
 * recorded chunks (a value anywhere in the tree replaced by an arbitrary JSON value).
 */
import { Schema } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as Recordings from "../src/testing/Recordings.js"

const bySchema = Schema.is(ChatCompletions.ChatCompletionChunk)
const agree = (value: unknown) => expect(ChatCompletions.isChatCompletionChunk(value)).toBe(bySchema(value))

/** A guard agrees with its Schema on values of `recorded` with a value anywhere in the tree replaced by any JSON. */
const agreesOnMutations = (
  recorded: ReadonlyArray<unknown>,
  guard: (u: unknown) => boolean,
  schema: (u: unknown) => boolean
) => {
  /** Every path to a value in a JSON tree. */
  const paths = (value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> => {
    if (typeof value !== "object" || value === null) return [prefix]
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value)
    return [prefix, ...entries.flatMap(([key, v]) => paths(v, [...prefix, key]))]
  }
  const setAt = (value: unknown, path: ReadonlyArray<string | number>, replacement: unknown): unknown => {
    if (path.length === 0) return replacement
    const [head, ...rest] = path
    const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>
    copy[head!] = setAt(copy[head!], rest, replacement)
    return copy
  }
  const json = fc.jsonValue({ maxDepth: 2 })
  fc.assert(
    fc.property(fc.nat(recorded.length - 1), fc.nat(), json, (which, pick, replacement) => {
      const value = recorded[which]
      const all = paths(value)
      const mutated = setAt(value, all[pick % all.length]!, replacement)
      expect(guard(mutated)).toBe(schema(mutated))
    }),
    { numRuns: 5_000 }
  )
}

describe("isChatCompletionChunk", () => {
  it.each([
    ["an empty object", {}],
    ["a usage-only chunk", { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }],
    [
      "nulls everywhere optional",
      { id: null, model: null, usage: null, choices: [{ delta: null, finish_reason: null }] }
    ],
    ["null choices (not nullable)", { choices: null }],
    ["choices not an array", { choices: {} }],
    ["a string index", { choices: [{ index: "0" }] }],
    [
      "arguments as an object (Zhipu's documented form)",
      { choices: [{ delta: { tool_calls: [{ function: { arguments: { q: 1 } } }] } }] }
    ],
    ["arguments as an array", { choices: [{ delta: { tool_calls: [{ function: { arguments: [1] } }] } }] }],
    ["tool_calls not an array", { choices: [{ delta: { tool_calls: {} } }] }],
    ["a delta that is an array", { choices: [{ delta: [] }] }],
    ["a numeric content", { choices: [{ delta: { content: 1 } }] }],
    ["unknown fields", { x: 1, choices: [{ y: [], delta: { z: {} } }] }],
    ["web_search results", { web_search: [{ title: "t", link: "l" }, { refer: 1 }] }],
    ["cached tokens details", { usage: { prompt_tokens_details: { cached_tokens: "3" } } }],
    ["an array", []],
    ["a string", "data"],
    ["null", null]
  ])("agrees with the Schema on %s", (_name, value) => agree(value))
})

Recordings.describeRecordings("isChatCompletionChunk over the recordings", () => {
  const chunks: Array<unknown> = [
    ...Recordings.list("kimi", /\.chunks\.txt$/).flatMap((file) => Recordings.readChunks(file)),
    ...Recordings.list(".", /\.sse(\.txt)?$/).flatMap((file) =>
      Recordings.readSse(file)
        .filter((data) => data.trim() !== "[DONE]")
        .flatMap((data) => {
          try {
            return [JSON.parse(data)]
          } catch {
            return []
          }
        })
    ),
    ...Recordings.list("glm/fantasy", /\.yaml$/).flatMap((file) =>
      Recordings.readCassette(file).interactions.flatMap(({ response }) =>
        (response.sse ?? []).filter((data) => data !== "[DONE]").map((data) => JSON.parse(data) as unknown)
      )
    )
  ]

  it("accepts every recorded chunk, as the Schema does", () => {
    expect(chunks.length).toBeGreaterThan(200)
    for (const chunk of chunks) {
      expect(bySchema(chunk)).toBe(true)
      expect(ChatCompletions.isChatCompletionChunk(chunk)).toBe(true)
    }
  })

  it("agrees with the Schema on random mutations of recorded chunks", () =>
    agreesOnMutations(chunks, ChatCompletions.isChatCompletionChunk, bySchema))
})

const completionBySchema = Schema.is(ChatCompletions.ChatCompletion)

describe("isChatCompletion", () => {
  it.each([
    ["an empty object (choices missing)", {}],
    ["no choices", { choices: [] }],
    ["null choices (not nullable)", { choices: null }],
    ["nulls everywhere optional", { id: null, usage: null, choices: [{ message: null, finish_reason: null }] }],
    ["a message that is an array", { choices: [{ message: [] }] }],
    ["a numeric content", { choices: [{ message: { content: 1 } }] }],
    ["arguments as an object", { choices: [{ message: { tool_calls: [{ function: { arguments: { q: 1 } } }] } }] }],
    ["arguments as an array", { choices: [{ message: { tool_calls: [{ function: { arguments: [1] } }] } }] }],
    ["usage inside the choice (Moonshot)", { choices: [{ usage: { prompt_tokens: 1, cached_tokens: 1 } }] }],
    ["a string usage count", { choices: [], usage: { total_tokens: "3" } }],
    ["unknown fields", { x: 1, choices: [{ y: [], message: { z: {} } }] }],
    ["a delta instead of a message (unknown field)", { choices: [{ delta: { content: "a" } }] }],
    ["an array", []],
    ["null", null]
  ])("agrees with the Schema on %s", (_name, value) =>
    expect(ChatCompletions.isChatCompletion(value)).toBe(completionBySchema(value))
  )
})

Recordings.describeRecordings("isChatCompletion over the recordings", () => {
  /** Every object with a `choices` array whose choices carry a `message`, anywhere in a recorded JSON value. */
  const completionsIn = (value: unknown): Array<unknown> => {
    if (typeof value !== "object" || value === null) return []
    const nested = Object.values(value).flatMap(completionsIn)
    const choices = (value as { choices?: unknown }).choices
    return Array.isArray(choices) && choices.some((choice) => typeof choice?.message === "object")
      ? [value, ...nested]
      : nested
  }
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text)
    } catch {
      return undefined
    }
  }
  const responses: Array<unknown> = [
    ...Recordings.list(".", /\.json$/).flatMap((file) => completionsIn(Recordings.readJson(file))),
    ...Recordings.list("glm/fantasy", /\.yaml$/).flatMap((file) =>
      Recordings.readCassette(file).interactions.flatMap(({ response }) => completionsIn(parse(response.body)))
    )
  ]

  it("accepts every recorded response, as the Schema does", () => {
    expect(responses.length).toBeGreaterThan(15)
    for (const response of responses) {
      expect(completionBySchema(response)).toBe(true)
      expect(ChatCompletions.isChatCompletion(response)).toBe(true)
    }
  })

  it("agrees with the Schema on random mutations of recorded responses", () =>
    agreesOnMutations(responses, ChatCompletions.isChatCompletion, completionBySchema))
})
