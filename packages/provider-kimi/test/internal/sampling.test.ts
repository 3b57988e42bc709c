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
      refused: { parameter: "temperature", mentions: /only 0\.6 is allowed/ }
    },
    {
      name: "top_p other than 0.95 is refused",
      body: { top_p: 0.9 },
      thinking: true,
      refused: { parameter: "top_p", mentions: /pins top_p to 0\.95/ }
    },
    {
      name: "n other than 1 is refused",
      body: { n: 2 },
      thinking: true,
      refused: { parameter: "n", mentions: /pins n to 1/ }
    },
    {
      name: "a presence penalty is refused",
      body: { presence_penalty: 0.5 },
      thinking: true,
      refused: { parameter: "presence_penalty", mentions: /pins presence_penalty to 0/ }
    },
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

describe("sampling ranges", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, unknown>, number | undefined, string | undefined]> = [
    ["temperature within [0, 1]", { temperature: 0.7 }, 0, undefined],
    ["temperature above 1 (OpenAI's range) is refused", { temperature: 1.5 }, 0, "temperature"],
    ["negative temperature is refused", { temperature: -0.1 }, 0, "temperature"],
    ["top_p 0 is refused", { top_p: 0 }, 0, "top_p"],
    ["top_p 1 is accepted", { top_p: 1 }, 0, undefined],
    ["n = 5 is accepted", { n: 5, temperature: 0.5 }, 0, undefined],
    ["n = 6 is refused (n <= 5)", { n: 6, temperature: 0.5 }, 0, "n"],
    ["n = 0 is refused", { n: 0 }, 0.3, "n"],
    ["n = 1.5 is refused", { n: 1.5 }, 0.3, "n"],
    ["n > 1 at temperature 0 is refused", { n: 2, temperature: 0 }, 0.3, "n"],
    ["n > 1 at the model's default temperature 0 is refused", { n: 2 }, 0, "n"],
    ["n > 1 at a default temperature above 0 is accepted", { n: 2 }, 0.6, undefined],
    ["frequency_penalty 2 is accepted", { frequency_penalty: 2 }, 0, undefined],
    ["frequency_penalty 2.5 is refused", { frequency_penalty: 2.5 }, 0, "frequency_penalty"]
  ]
  for (const [name, body, defaultTemperature, parameter] of cases) {
    it(name, () => {
      const result = Sampling.checkRanges(body, defaultTemperature)
      if (parameter === undefined) expect(Result.isSuccess(result)).toBe(true)
      else expect(Result.isFailure(result) && result.failure.parameter).toBe(parameter)
    })
  }
})

describe("stop: at most 5 strings of 32 bytes", () => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp | undefined]> = [
    ["absent", undefined, undefined],
    ["one string", "END", undefined],
    ["five strings", ["a", "b", "c", "d", "e"], undefined],
    ["six strings are refused", ["a", "b", "c", "d", "e", "f"], /at most 5 stop strings, got 6/],
    ["32 ASCII bytes are accepted", ["x".repeat(32)], undefined],
    ["33 ASCII bytes are refused", ["x".repeat(33)], /stop\[0\] is 33 bytes/],
    ["11 CJK characters are 33 UTF-8 bytes and refused", ["停".repeat(11)], /is 33 bytes/],
    ["10 CJK characters (30 bytes) are accepted", ["停".repeat(10)], undefined],
    ["a single long string is refused too", "y".repeat(40), /is 40 bytes/],
    ["non-strings are refused", [1, 2], /array of strings/]
  ]
  for (const [name, stop, refused] of cases) {
    it(name, () => {
      const result = Sampling.checkStop(stop)
      if (refused === undefined) expect(Result.isSuccess(result)).toBe(true)
      else expect(Result.isFailure(result) && result.failure.description).toMatch(refused)
    })
  }
})
