import { ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Sampling from "../../src/internal/sampling.js"
import * as KimiModels from "../../src/KimiModels.js"

const info = (id: string) => KimiModels.catalog.get(id) as KimiModels.KimiModelInfo

describe("pinned sampling", () => {
  const k26 = info("kimi-k2.6")
  const cases: ReadonlyArray<{
    readonly name: string
    readonly body: Record<string, unknown>
    readonly thinking: boolean | undefined
    readonly sent?: Record<string, unknown>
    readonly refused?: { readonly parameter: string; readonly mentions: RegExp }
  }> = [
    { name: "nothing set: nothing sent", body: {}, thinking: true, sent: {} },
    { name: "the pinned temperature (thinking on) is omitted", body: { temperature: 1 }, thinking: true, sent: {} },
    { name: "the pinned temperature (thinking off) is omitted", body: { temperature: 0.6 }, thinking: false, sent: {} },
    {
      name: "temperature 0.3 on kimi-k2.6 is refused with the rule",
      body: { temperature: 0.3 },
      thinking: true,
      refused: {
        parameter: "temperature",
        mentions: /kimi-k2\.6 pins temperature to 1 with thinking on and 0\.6 with thinking off/
      }
    },
    {
      name: "temperature 1 with thinking off is refused (only 0.6 is allowed)",
      body: { temperature: 1 },
      thinking: false,
      refused: { parameter: "temperature", mentions: /omit temperature or send 0\.6/ }
    },
    {
      name: "top_p other than 0.95 is sent as is (no recording of the API refusing it)",
      body: { top_p: 0.9 },
      thinking: true,
      sent: { top_p: 0.9 }
    },
    { name: "the pinned top_p is omitted", body: { top_p: 0.95, n: 2 }, thinking: true, sent: { n: 2 } },
    { name: "null values are dropped", body: { temperature: null, top_p: null }, thinking: true, sent: {} },
    {
      name: "other fields pass",
      body: { max_tokens: 10, temperature: 1 },
      thinking: undefined,
      sent: { max_tokens: 10 }
    }
  ]
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = Sampling.applyPinned(testCase.body, k26, k26.kimi, testCase.thinking)
      if (testCase.refused) {
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isFailure(result)) {
          expect(result.failure.parameter).toBe(testCase.refused.parameter)
          expect(result.failure.description).toMatch(testCase.refused.mentions)
        }
      } else {
        expect(result).toEqual(Result.succeed(testCase.sent))
      }
    })
  }

  it("models without pinned sampling keep their values", () => {
    const legacy = info("moonshot-v1-8k")
    expect(Sampling.applyPinned({ temperature: 0.3 }, legacy, legacy.kimi, false)).toEqual(
      Result.succeed({ temperature: 0.3 })
    )
    const unknown = ModelCatalog.unknownModel("kimi", "kimi-k9")
    expect(Sampling.applyPinned({ temperature: 0.3 }, unknown, KimiModels.unknownTraits, undefined)).toEqual(
      Result.succeed({ temperature: 0.3 })
    )
  })
})

describe("stop: at most 5 strings (the live 400 is recorded); the rest is the API's to judge", () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp | undefined]> = [
    ["absent", undefined, undefined],
    ["one string", "END", undefined],
    ["five strings", ["a", "b", "c", "d", "e"], undefined],
    ["six strings are refused", ["a", "b", "c", "d", "e", "f"], /at most 5 stop strings, got 6; send at most 5/],
    ["33 ASCII bytes are sent (the 32-byte limit is documented only)", ["x".repeat(33)], undefined],
    ["non-strings are sent as is", [1, 2], undefined]
  ]
  for (const [name, stop, refused] of cases) {
    it(name, () => {
      const result = Sampling.checkStop(stop)
      if (refused === undefined) expect(Result.isSuccess(result)).toBe(true)
      else expect(Result.isFailure(result) && result.failure.description).toMatch(refused)
    })
  }
})
