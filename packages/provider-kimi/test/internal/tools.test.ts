import { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Tools from "../../src/internal/tools.js"
import * as KimiModels from "../../src/KimiModels.js"

const info = (id: string) => KimiModels.catalog.get(id) as KimiModels.KimiModelInfo

describe("tool_choice required refused up front on thinking models", () => {
  const cases: ReadonlyArray<readonly [string, string, unknown, boolean | undefined, RegExp | undefined]> = [
    ["kimi-k3 accepts required with thinking on (live fixture)", "kimi-k3", "required", true, undefined],
    ["kimi-k3 accepts a named choice", "kimi-k3", { type: "function", function: { name: "ping" } }, true, undefined],
    [
      "kimi-k2.6 refuses required with thinking on",
      "kimi-k2.6",
      "required",
      true,
      /tool_choice "required" is incompatible with thinking enabled on kimi-k2\.6: disable thinking/
    ],
    ["kimi-k2.6 accepts required with thinking off", "kimi-k2.6", "required", false, undefined],
    [
      "kimi-k2.6 refuses a named choice with thinking on",
      "kimi-k2.6",
      { type: "function", function: { name: "ping" } },
      true,
      /a named tool_choice is incompatible with thinking enabled/
    ],
    ["kimi-k2.7-code always thinks, so it refuses required", "kimi-k2.7-code", "required", true, /always thinks/],
    ["kimi-k2-thinking refuses required", "kimi-k2-thinking", "required", true, /incompatible with thinking enabled/],
    ["legacy models refuse required", "moonshot-v1-8k", "required", false, /does not support tool_choice "required"/],
    ["auto always passes", "kimi-k2.6", "auto", true, undefined],
    ["none always passes", "kimi-k2.7-code", "none", true, undefined]
  ]
  for (const [name, model, choice, thinking, refused] of cases) {
    it(name, () => {
      const modelInfo = info(model)
      const result = Tools.checkToolChoice(choice, modelInfo, modelInfo.kimi, thinking)
      if (refused === undefined) expect(Result.isSuccess(result)).toBe(true)
      else expect(Result.isFailure(result) && result.failure.description).toMatch(refused)
    })
  }

  it("unknown models are never second-guessed", () => {
    const unknown = ModelCatalog.unknownModel("kimi", "kimi-next")
    expect(Result.isSuccess(Tools.checkToolChoice("required", unknown, KimiModels.unknownTraits, true))).toBe(true)
  })
})

describe("tool declarations", () => {
  const fn = (name: string, parameters: unknown = { type: "object", properties: {} }) => ({
    type: "function",
    function: { name, parameters }
  })
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, RegExp | undefined]> = [
    ["a valid function", { tools: [fn("get_weather")] }, undefined],
    ["names may contain dashes", { tools: [fn("get-weather")] }, undefined],
    ["a name starting with a digit is refused", { tools: [fn("1tool")] }, /not accepted by Moonshot/],
    ["a two-character name is refused", { tools: [fn("ab")] }, /3 to 64 characters/],
    ["a 65-character name is refused", { tools: [fn(`a${"b".repeat(64)}`)] }, /not accepted/],
    ["a non-object parameters root is refused", { tools: [fn("list_all", { type: "array" })] }, /root to be an object/],
    ["129 tools are refused", { tools: Array.from({ length: 129 }, (_, i) => fn(`tool_${i}`)) }, /at most 128 tools/],
    ["builtin functions are not name-checked", { tools: [Tools.webSearchDeclaration] }, undefined],
    ["deprecated functions are refused", { functions: [{ name: "x" }] }, /deprecated functions/]
  ]
  for (const [name, body, refused] of cases) {
    it(name, () => {
      const result = Tools.checkTools(body)
      if (refused === undefined) expect(Result.isSuccess(result)).toBe(true)
      else expect(Result.isFailure(result) && result.failure.description).toMatch(refused)
    })
  }

  it("detects a $web_search declaration", () => {
    expect(Tools.declaresWebSearch([fn("get_weather"), Tools.webSearchDeclaration])).toBe(true)
    expect(Tools.declaresWebSearch([fn("get_weather")])).toBe(false)
    expect(Tools.declaresWebSearch(undefined)).toBe(false)
  })
})

describe("MFJS schema normalization", () => {
  const cases: ReadonlyArray<readonly [string, unknown, unknown]> = [
    [
      "strips $schema everywhere",
      {
        $schema: "https://json-schema.org/draft/2020-12/schema",
        type: "object",
        properties: { a: { $schema: "x", type: "string" } }
      },
      { type: "object", properties: { a: { type: "string" } } }
    ],
    [
      "tuple items become prefixItems (400: items must be an object)",
      { type: "object", properties: { pair: { type: "array", items: [{ type: "string" }, { type: "number" }] } } },
      { type: "object", properties: { pair: { type: "array", prefixItems: [{ type: "string" }, { type: "number" }] } } }
    ],
    [
      "type beside anyOf moves into the branches",
      { type: "string", anyOf: [{ enum: ["a"] }, { const: "b" }, { minLength: 3 }] },
      { anyOf: [{ enum: ["a"] }, { const: "b" }, { type: "string", minLength: 3 }] }
    ],
    [
      "nested schemas in $defs, additionalProperties and anyOf are normalized",
      {
        type: "object",
        $defs: { Item: { $schema: "x", type: "array", items: [{ type: "string" }] } },
        additionalProperties: { $schema: "y", type: "number" },
        properties: { v: { anyOf: [{ $schema: "z", type: "null" }] } }
      },
      {
        type: "object",
        $defs: { Item: { type: "array", prefixItems: [{ type: "string" }] } },
        additionalProperties: { type: "number" },
        properties: { v: { anyOf: [{ type: "null" }] } }
      }
    ],
    [
      "values that are not schemas are copied as is",
      { type: "object", properties: { p: { type: "object", default: { items: [1, 2], $schema: "kept" } } } },
      { type: "object", properties: { p: { type: "object", default: { items: [1, 2], $schema: "kept" } } } }
    ]
  ]
  for (const [name, input, output] of cases) {
    it(name, () => {
      const before = JSON.stringify(input)
      expect(Tools.normalizeSchema(input)).toEqual(output)
      expect(JSON.stringify(input)).toBe(before)
    })
  }
})
