import { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import type * as Thinking from "../../src/internal/thinking.js"
import * as Tools from "../../src/internal/tools.js"
import * as KimiModels from "../../src/KimiModels.js"

const info = (id: string) => KimiModels.catalog.get(id) as KimiModels.KimiModelInfo

describe("a forced tool_choice on a model that refuses it while thinking (live 400 recorded)", () => {
  const named = { type: "function", function: { name: "ping" } }
  const off = { wire: undefined, on: false, explicit: false } as const
  const byDefault = { wire: undefined, on: true, explicit: false } as const
  const asked = { wire: { type: "enabled" }, on: true, explicit: true } as const
  const cases: ReadonlyArray<readonly [string, string, unknown, Thinking.ThinkingState, "sent" | "adapted" | RegExp]> =
    [
      ["kimi-k3 accepts required with thinking on (live fixture)", "kimi-k3", "required", byDefault, "sent"],
      ["kimi-k3 accepts a named choice", "kimi-k3", named, asked, "sent"],
      ["kimi-k2.6, thinking only on by default: named choice adapted", "kimi-k2.6", named, byDefault, "adapted"],
      ["kimi-k2.6, thinking only on by default: required adapted", "kimi-k2.6", "required", byDefault, "adapted"],
      ["kimi-k2.6 with thinking off: sent", "kimi-k2.6", "required", off, "sent"],
      [
        "kimi-k2.6 with thinking asked for: refused, naming the request fields",
        "kimi-k2.6",
        named,
        asked,
        /set thinking\.type to "disabled" or use tool_choice "auto"/
      ],
      [
        "kimi-k2.7-code always thinks: refused",
        "kimi-k2.7-code",
        "required",
        byDefault,
        /always thinks.*tool_choice "auto"/
      ],
      ["legacy models (documented auto/none only): sent", "moonshot-v1-8k", "required", off, "sent"],
      ["auto is sent", "kimi-k2.6", "auto", asked, "sent"]
    ]
  for (const [name, model, choice, thinking, expected] of cases) {
    it(name, () => {
      const modelInfo = info(model)
      const warnings: Array<string> = []
      const result = Tools.forcedChoice(choice, modelInfo, modelInfo.kimi, thinking, (w) => warnings.push(w))
      if (expected instanceof RegExp) {
        expect(Result.isFailure(result) && result.failure.description).toMatch(expected)
        expect(result._tag === "Failure" && result.failure.description).not.toMatch(/providerOptions/)
      } else if (expected === "adapted") {
        expect(Result.isSuccess(result) && result.success).toEqual({
          wire: { type: "disabled" },
          on: false,
          explicit: false
        })
        expect(warnings).toEqual([expect.stringMatching(/thinking was switched off for this call/)])
      } else {
        expect(Result.isSuccess(result) && result.success).toEqual(thinking)
        expect(warnings).toEqual([])
      }
    })
  }

  it("unknown models are never second-guessed", () => {
    const unknown = ModelCatalog.unknownModel("kimi", "kimi-next")
    const result = Tools.forcedChoice("required", unknown, KimiModels.unknownTraits, byDefault, () => {})
    expect(Result.isSuccess(result)).toBe(true)
  })
})

describe("tool declarations", () => {
  const fn = (name: string, parameters: unknown = { type: "object", properties: {} }) => ({
    type: "function",
    function: { name, parameters }
  })

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
