import { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Thinking from "../../src/internal/thinking.js"
import * as KimiModels from "../../src/KimiModels.js"

const info = (id: string) => KimiModels.catalog.get(id) as KimiModels.KimiModelInfo
const unknown = ModelCatalog.unknownModel("kimi", "kimi-k9-preview")

describe("thinking switch", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly model: ModelCatalog.ModelInfo
    readonly explicit?: Thinking.WireThinking
    readonly webSearch?: boolean
    readonly expected?: { readonly wire: Thinking.WireThinking | undefined; readonly on: boolean | undefined }
    readonly refused?: RegExp
  }> = [
    {
      name: "kimi-k2.6 thinks by default and sends nothing",
      model: info("kimi-k2.6"),
      expected: { wire: undefined, on: true }
    },
    {
      name: "kimi-k2.6 can be switched off",
      model: info("kimi-k2.6"),
      explicit: { type: "disabled" },
      expected: { wire: { type: "disabled" }, on: false }
    },
    {
      name: "kimi-k2.6 accepts keep all (Preserved Thinking)",
      model: info("kimi-k2.6"),
      explicit: { type: "enabled", keep: "all" },
      expected: { wire: { type: "enabled", keep: "all" }, on: true }
    },
    {
      name: "keep all on kimi-k2.5 is sent as asked (documented 400, no recording)",
      model: info("kimi-k2.5"),
      explicit: { type: "enabled", keep: "all" },
      expected: { wire: { type: "enabled", keep: "all" }, on: true }
    },
    {
      name: "keep all with thinking disabled is sent as asked",
      model: info("kimi-k3"),
      explicit: { type: "disabled", keep: "all" },
      expected: { wire: { type: "disabled", keep: "all" }, on: false }
    },
    {
      name: "kimi-k2.7-code refuses thinking disabled up front",
      model: info("kimi-k2.7-code"),
      explicit: { type: "disabled" },
      refused: /only type=enabled is allowed for this model"; omit thinking or set thinking\.type to "enabled"/
    },
    {
      name: "kimi-k3 accepts thinking disabled (live)",
      model: info("kimi-k3"),
      explicit: { type: "disabled" },
      expected: { wire: { type: "disabled" }, on: false }
    },
    {
      name: "a model without thinking: enabled is sent as asked",
      model: info("moonshot-v1-8k"),
      explicit: { type: "enabled" },
      expected: { wire: { type: "enabled" }, on: true }
    },
    {
      name: "a model without thinking drops disabled",
      model: info("moonshot-v1-8k"),
      explicit: { type: "disabled" },
      expected: { wire: undefined, on: false }
    },
    {
      name: "web search on kimi-k2.5 switches default thinking off",
      model: info("kimi-k2.5"),
      webSearch: true,
      expected: { wire: { type: "disabled" }, on: false }
    },
    {
      name: "web search on kimi-k2.5 with thinking explicitly on is sent as asked",
      model: info("kimi-k2.5"),
      explicit: { type: "enabled" },
      webSearch: true,
      expected: { wire: { type: "enabled" }, on: true }
    },
    {
      name: "web search with thinking on kimi-k3 is left alone",
      model: info("kimi-k3"),
      webSearch: true,
      expected: { wire: undefined, on: true }
    },
    { name: "an unknown model: nothing decided", model: unknown, expected: { wire: undefined, on: undefined } },
    {
      name: "an unknown model: the caller's switch is sent",
      model: unknown,
      explicit: { type: "enabled", keep: "all" },
      expected: { wire: { type: "enabled", keep: "all" }, on: true }
    }
  ]
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = Thinking.resolve(
        testCase.model,
        KimiModels.traitsOf(testCase.model),
        testCase.explicit,
        testCase.webSearch ?? false
      )
      if (testCase.refused !== undefined) {
        expect(Result.isFailure(result) && result.failure.description).toMatch(testCase.refused)
      } else {
        expect(Result.isSuccess(result) && { wire: result.success.wire, on: result.success.on }).toEqual(
          testCase.expected
        )
      }
    })
  }
})
