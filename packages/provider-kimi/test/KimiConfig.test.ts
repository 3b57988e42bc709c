import { OpenAiCompatLanguageModel } from "@conduitkit/core"
import { Effect, Exit, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as KimiConfig from "../src/KimiConfig.js"
import { describe as describeError, failureOf } from "./helpers.js"

describe("provider options", () => {
  const valid: ReadonlyArray<readonly [string, Record<string, unknown>, KimiConfig.ProviderOptions]> = [
    ["empty", {}, {}],
    ["thinking as a type", { thinking: "disabled" }, { thinking: "disabled" }],
    [
      "thinking with keep",
      { thinking: { type: "enabled", keep: "all" } },
      { thinking: { type: "enabled", keep: "all" } }
    ],
    ["keep null", { thinking: { type: "enabled", keep: null } }, { thinking: { type: "enabled", keep: null } }],
    [
      "partial with a name",
      { partial: { content: "", name: "Dr. Kelsier" } },
      { partial: { content: "", name: "Dr. Kelsier" } }
    ],
    [
      "an explicit cache",
      { contextCache: { tag: "docs", resetTtl: 60 } },
      { contextCache: { tag: "docs", resetTtl: 60 } }
    ],
    [
      "the registry",
      { contextCache: { auto: true, ttlSeconds: 600 } },
      { contextCache: { auto: true, ttlSeconds: 600 } }
    ],
    [
      "everything else",
      { reasoningEffort: "max", promptCacheKey: "k", safetyIdentifier: "u", strictSampling: false },
      { reasoningEffort: "max", promptCacheKey: "k", safetyIdentifier: "u", strictSampling: false }
    ]
  ]
  for (const [name, input, expected] of valid) {
    it(`decodes ${name}`, async () => {
      const exit = await Effect.runPromiseExit(KimiConfig.decodeProviderOptions(input))
      expect(exit).toEqual(Exit.succeed(expected))
    })
  }

  const invalid: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["an unknown thinking type", { thinking: "auto" }],
    ["keep other than all", { thinking: { type: "enabled", keep: "last" } }],
    ["a partial without content", { partial: { name: "x" } }],
    ["a non-boolean strictSampling", { strictSampling: "no" }],
    ["a reasoningEffort Moonshot does not document", { reasoningEffort: "medium" }],
    ["a reasoningEffort that is not a string", { reasoningEffort: 3 }]
  ]
  for (const [name, input] of invalid) {
    it(`refuses ${name} before sending`, async () => {
      const error = failureOf(await Effect.runPromiseExit(KimiConfig.decodeProviderOptions(input)))
      expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
      expect(describeError(error).message).toMatch(/invalid Kimi provider options/)
    })
  }

  it("refuses an unknown key naming it and every accepted key", async () => {
    const error = failureOf(await Effect.runPromiseExit(KimiConfig.decodeProviderOptions({ thinkin: "disabled" })))
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
    expect(describeError(error).message).toBe(
      'unknown Kimi provider option "thinkin" (accepted: thinking, reasoningEffort, promptCacheKey, safetyIdentifier, partial, contextCache, strictSampling)'
    )
  })

  it("says what is wrong with a bad value in one plain line", async () => {
    const error = failureOf(await Effect.runPromiseExit(KimiConfig.decodeProviderOptions({ thinking: "auto" })))
    const message = describeError(error).message
    expect(message).toMatch(/^invalid Kimi provider options: Expected .* at \["thinking"\]$/)
    expect(message).not.toMatch(/\n|Cause\(/)
  })

  it("reasoningEffort is the typed union of the values in docs/providers/kimi.md#reasoning-effort", async () => {
    const efforts: ReadonlyArray<KimiConfig.ReasoningEffort> = ["low", "high", "max"]
    for (const reasoningEffort of efforts) {
      const exit = await Effect.runPromiseExit(KimiConfig.decodeProviderOptions({ reasoningEffort }))
      expect(exit).toEqual(Exit.succeed({ reasoningEffort }))
    }
    // @ts-expect-error: "medium" is not a documented reasoning effort
    const options: KimiConfig.ProviderOptions = { reasoningEffort: "medium" }
    expect(options.reasoningEffort).toBe("medium")
  })

  it("thinkingOf normalizes the switch", () => {
    expect(KimiConfig.thinkingOf({ thinking: "enabled" })).toEqual({ type: "enabled" })
    expect(KimiConfig.thinkingOf({ thinking: { type: "disabled" } })).toEqual({ type: "disabled" })
    expect(KimiConfig.thinkingOf({})).toBeUndefined()
  })
})

describe("per-call overrides", () => {
  const current = OpenAiCompatLanguageModel.CallConfig

  it("withProviderOptions merges over options already in context, key by key", async () => {
    const seen = await Effect.runPromise(
      Effect.gen(function* () {
        return yield* current
      }).pipe(
        KimiConfig.withProviderOptions({ reasoningEffort: "low" }),
        KimiConfig.withProviderOptions({ thinking: "enabled", reasoningEffort: "max" })
      )
    )
    expect(seen.providerOptions).toEqual({ thinking: "enabled", reasoningEffort: "low" })
  })

  it("streamWithCallConfig applies to a stream", async () => {
    const seen = await Effect.runPromise(
      Stream.runCollect(
        Stream.fromEffect(
          Effect.gen(function* () {
            return yield* current
          })
        ).pipe(
          KimiConfig.streamWithCallConfig({ request: { max_tokens: 5 }, providerOptions: { thinking: "disabled" } })
        )
      )
    )
    expect(seen[0]).toMatchObject({ request: { max_tokens: 5 }, providerOptions: { thinking: "disabled" } })
  })
})
