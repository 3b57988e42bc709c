/**
 * The twins' shared behaviour (`Twin`): the tool-choice rule, arguments valid for the tool's JSON Schema (checked with
 * Ajv), values taken from the prompt, structured output, answers about tool results, reasoning and usage.
 */
import { Ajv } from "ajv"
import { describe, expect, it } from "vitest"
import * as TokenEstimator from "../src/TokenEstimator.js"
import * as Twin from "../src/testing/Twin.js"

const ajv = new Ajv({ strict: false })
const valid = (schema: unknown, value: unknown) => {
  const check = ajv.compile(schema as object)
  const ok = check(value)
  return ok ? true : check.errors
}

const fn = (name: string, description: string, parameters: unknown) => ({
  type: "function",
  function: { name, description, parameters }
})

const weather = fn("get_weather", "Current weather for a city", {
  type: "object",
  properties: { location: { type: "string", description: "the city" } },
  required: ["location"]
})
const time = fn("get_time", "The local time in a time zone", {
  type: "object",
  properties: { zone: { type: "string", enum: ["UTC", "CET", "JST"] } },
  required: ["zone"]
})
const add = fn("add", "Adds two numbers", {
  type: "object",
  properties: { a: { type: "number" }, b: { type: "number" } },
  required: ["a", "b"]
})
const multiply = fn("multiply", "Multiplies two numbers", {
  type: "object",
  properties: { a: { type: "number" }, b: { type: "number" } },
  required: ["a", "b"]
})
const user = (content: string) => ({ role: "user", content })

describe("Twin.chooseCalls", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly request: Twin.Request
    readonly calls: ReadonlyArray<{ readonly name: string; readonly arguments?: unknown }>
  }> = [
    {
      name: "auto: the tool whose name shares a word with the message",
      request: { messages: [user("What is the time in Tokyo?")], tools: [weather, time] },
      calls: [{ name: "get_time" }]
    },
    {
      name: "auto: the tool whose description shares a word",
      request: { messages: [user("Is it sunny in Florence, Italy? Which city is warmest?")], tools: [time, weather] },
      calls: [{ name: "get_weather", arguments: { location: "Florence, Italy" } }]
    },
    {
      name: "an enum option the message names",
      request: { messages: [user("What is the time in CET right now?")], tools: [weather, time] },
      calls: [{ name: "get_time", arguments: { zone: "CET" } }]
    },
    {
      name: "auto: no word shared, the first tool",
      request: { messages: [user("Hello there")], tools: [time, weather] },
      calls: [{ name: "get_time" }]
    },
    {
      name: "required: a call even for a greeting",
      request: { messages: [user("hi")], tools: [weather], tool_choice: "required" },
      calls: [{ name: "get_weather", arguments: { location: "hi" } }]
    },
    {
      name: "a named function: that one, once",
      request: {
        messages: [user("Add and multiply 2 and 3")],
        tools: [add, multiply],
        tool_choice: { type: "function", function: { name: "multiply" } }
      },
      calls: [{ name: "multiply", arguments: { a: 2, b: 3 } }]
    },
    {
      name: "two tools named in the message: parallel calls with the message's numbers",
      request: { messages: [user("Add and multiply the numbers 2 and 3")], tools: [add, multiply] },
      calls: [
        { name: "add", arguments: { a: 2, b: 3 } },
        { name: "multiply", arguments: { a: 2, b: 3 } }
      ]
    },
    {
      name: "parallel_tool_calls false: one call",
      request: {
        messages: [user("Add and multiply the numbers 2 and 3")],
        tools: [add, multiply],
        parallel_tool_calls: false
      },
      calls: [{ name: "add", arguments: { a: 2, b: 3 } }]
    },
    {
      name: "several values for a one-string tool: one call per value",
      request: { messages: [user("What's the weather in Paris and in New York?")], tools: [weather] },
      calls: [
        { name: "get_weather", arguments: { location: "Paris" } },
        { name: "get_weather", arguments: { location: "New York" } }
      ]
    },
    {
      name: "tool_choice none: no call",
      request: { messages: [user("weather in Paris")], tools: [weather], tool_choice: "none" },
      calls: []
    },
    {
      name: "after a tool result: no call",
      request: {
        messages: [
          user("weather in Paris"),
          {
            role: "assistant",
            content: "",
            tool_calls: [{ id: "get_weather_0", type: "function", function: { name: "get_weather", arguments: "{}" } }]
          },
          { role: "tool", tool_call_id: "get_weather_0", content: "40 C" }
        ],
        tools: [weather]
      },
      calls: []
    },
    {
      name: "built-in tools ($web_search) are not function tools",
      request: { messages: [user("search")], tools: [fn("$web_search", "", {})] },
      calls: []
    }
  ]
  it.each(cases)("$name", ({ request, calls }) => {
    const made = Twin.chooseCalls(request)
    expect(made.map((call) => call.name)).toEqual(calls.map((call) => call.name))
    for (const [index, call] of calls.entries()) {
      if (call.arguments !== undefined) expect(made[index]?.arguments).toEqual(call.arguments)
    }
    const tools = Twin.functionTools(request)
    for (const call of made) {
      const tool = tools.find((candidate) => candidate.name === call.name)
      expect(valid(tool?.parameters, call.arguments)).toBe(true)
    }
  })

  it("is deterministic: the same request, the same arguments", () => {
    const request = { messages: [user("Book a table")], tools: [fn("book", "", richSchema)] }
    expect(Twin.chooseCalls(request)).toEqual(Twin.chooseCalls(request))
  })
})

const richSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    email: { type: "string", format: "email" },
    code: { type: "string", pattern: "^[A-Z]{3}-\\d{2}$" },
    size: { type: "string", enum: ["S", "M", "L"] },
    kind: { const: "order" },
    count: { type: "integer", minimum: 1, maximum: 4 },
    ratio: { type: "number", exclusiveMinimum: 0, maximum: 1 },
    tags: { type: "array", items: { type: "string", maxLength: 5 }, minItems: 1, maxItems: 3 },
    when: { type: "string", format: "date-time" },
    note: { anyOf: [{ type: "string" }, { type: "null" }] },
    address: {
      type: "object",
      properties: { street: { type: "string" }, zip: { type: "string", minLength: 5, maxLength: 5 } },
      required: ["street", "zip"],
      additionalProperties: false
    },
    level: { type: "integer", default: 3 }
  },
  required: ["name", "email", "code", "size", "kind", "count", "ratio", "tags", "when", "note", "address", "level"],
  additionalProperties: false
}

describe("Twin.valueFor", () => {
  const schemas: ReadonlyArray<{ readonly name: string; readonly schema: unknown }> = [
    { name: "the field's common keywords", schema: richSchema },
    {
      name: "a root $ref into $defs (Effect's and zod's output)",
      schema: {
        $ref: "#/$defs/Person",
        $defs: {
          Person: {
            type: "object",
            properties: { name: { type: "string" }, friends: { type: "array", items: { $ref: "#/$defs/Friend" } } },
            required: ["name", "friends"]
          },
          Friend: { type: "object", properties: { name: { type: "string" } }, required: ["name"] }
        }
      }
    },
    {
      name: "draft-07 definitions",
      schema: {
        $schema: "http://json-schema.org/draft-07/schema#",
        type: "object",
        properties: { item: { $ref: "#/definitions/Item" } },
        required: ["item"],
        definitions: { Item: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] } }
      }
    },
    { name: "an object without properties", schema: { type: "object" } }
  ]
  it.each(schemas)("is valid for $name", ({ schema }) => {
    for (const prompt of ["Alice is 30 and lives in Paris", "", "数字 7 和 8"]) {
      expect(valid(schema, Twin.valueFor(schema, prompt, "key"))).toBe(true)
    }
  })

  it("takes names and numbers from the prompt for free properties", () => {
    const person = {
      type: "object",
      properties: { name: { type: "string" }, age: { type: "integer" }, city: { type: "string" } },
      required: ["name", "age", "city"]
    }
    expect(
      Twin.valueFor(
        person,
        "Generate information about a person named Alice who is 30 years old and lives in Paris.",
        "Person"
      )
    ).toEqual({ name: "Alice", age: 30, city: "Paris" })
  })
})

describe("Twin.structuredOutput", () => {
  const person = {
    type: "object",
    properties: { name: { type: "string" }, age: { type: "number" } },
    required: ["name", "age"],
    additionalProperties: false
  }
  it.each([
    {
      name: "json_schema: valid for the schema",
      request: {
        messages: [user("Invent a person called Bob aged 41")],
        response_format: { type: "json_schema", json_schema: { name: "person", schema: person, strict: true } }
      },
      expected: { name: "Bob", age: 41 }
    },
    {
      name: "json_object with core's jsonInstruction: valid for the instructed schema",
      request: {
        messages: [
          {
            role: "system",
            content: `Respond with a single JSON object named "person" that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(person)}`
          },
          user("Invent a person called Bob aged 41")
        ],
        response_format: { type: "json_object" }
      },
      expected: { name: "Bob", age: 41 }
    },
    {
      name: "json_object alone: an object",
      request: { messages: [user("Reply in JSON")], response_format: { type: "json_object" } },
      expected: { answer: "Reply in JSON" }
    }
  ])("$name", ({ request, expected }) => {
    const out = Twin.structuredOutput(request)
    expect(out?.value).toEqual(expected)
    expect(Twin.plan(request)).toEqual({ _tag: "Structured", value: expected })
  })

  it("text and no format: no structured output", () => {
    expect(Twin.structuredOutput({ messages: [user("hi")], response_format: { type: "text" } })).toBeUndefined()
    expect(Twin.plan({ messages: [user("hi")] })).toEqual({ _tag: "Text" })
  })
})

describe("Twin after tool results", () => {
  const request = {
    messages: [
      user("Weather in Paris and Tokyo?"),
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "a", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } },
          { id: "b", type: "function", function: { name: "get_weather", arguments: '{"location":"Tokyo"}' } }
        ]
      },
      { role: "tool", tool_call_id: "a", content: "22 C" },
      { role: "tool", tool_call_id: "b", content: [{ type: "text", text: "31 C" }] }
    ],
    tools: [weather]
  }
  it("answers with every result of the last round", () => {
    const decided = Twin.plan(request)
    expect(decided).toEqual({ _tag: "ToolResults", text: "get_weather returned: 22 C. get_weather returned: 31 C." })
    expect(Twin.reasoningText(request, decided)).toContain('get_weather returned "31 C"')
  })
})

describe("Twin.reasoningText", () => {
  it("varies with the prompt", () => {
    const one = Twin.reasoningText({ messages: [user("What is 2 + 2?")] })
    const two = Twin.reasoningText({ messages: [user("Name a colour")] })
    expect(one).toContain("What is 2 + 2?")
    expect(two).toContain("Name a colour")
    expect(one).not.toBe(two)
  })
})

describe("Twin.usage and PrefixCache", () => {
  it("adds up: prompt from the estimator, reasoning within completion, cached within prompt", () => {
    const request = { messages: [user("What is the weather in Paris?")], tools: [weather] }
    const calls = Twin.chooseCalls(request)
    const usage = Twin.usage(request, { reasoning: "Thinking about Paris.", calls }, 10_000)
    expect(usage.prompt).toBe(TokenEstimator.estimateRequest({ messages: request.messages, tools: request.tools }))
    expect(usage.reasoning).toBe(TokenEstimator.estimateText("Thinking about Paris."))
    expect(usage.completion).toBeGreaterThan(usage.reasoning)
    expect(usage.cached).toBe(usage.prompt)
  })

  it("counts the leading messages an earlier request sent", () => {
    const cache = new Twin.PrefixCache()
    const system = { role: "system", content: "You are a careful assistant. ".repeat(20) }
    const first = { messages: [system, user("one")] }
    const second = { messages: [system, user("one"), { role: "assistant", content: "1" }, user("two")] }
    expect(cache.cachedTokens(first)).toBe(0)
    expect(cache.cachedTokens(second)).toBe(TokenEstimator.estimateMessages(first.messages))
    expect(cache.cachedTokens({ messages: [user("other")] })).toBe(0)
  })
})
