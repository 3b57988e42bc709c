/**
 * Decoding a provider's options: unknown keys and bad values refused in plain words, each input decoded once.
 */
import { Result, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as ProviderError from "../src/ProviderError.js"
import * as ProviderOptions from "../src/ProviderOptions.js"

const Options = Schema.Struct({
  mode: Schema.optional(Schema.Literals(["fast", "careful"])),
  depth: Schema.optional(Schema.Number)
})
const decode = ProviderOptions.decoder(Options, { provider: "acme", label: "Acme" })

const refusal = (result: Result.Result<unknown, Parameters<typeof ProviderError.describe>[0]>) => {
  if (Result.isSuccess(result)) throw new Error("expected a refusal")
  return ProviderError.describe(result.failure)
}

describe("ProviderOptions.decoder", () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [
      { mode: "fast", depth: 2 },
      { mode: "fast", depth: 2 }
    ]
  ])("decodes %j", (input, expected) => {
    expect(decode(input)).toEqual(Result.succeed(expected))
  })

  it("refuses an unknown key naming it and the accepted keys, as a pre-flight InvalidRequestError", () => {
    expect(refusal(decode({ mdoe: "fast" }))).toMatchObject({
      reason: "InvalidRequestError",
      kind: "preflight",
      message: 'unknown Acme provider option "mdoe" (accepted: mode, depth)'
    })
  })

  it("refuses a bad value with the schema's first issue on one line", () => {
    const { message } = refusal(decode({ mode: "slow" }))
    expect(message).toMatch(/^invalid Acme provider options: Expected "fast" \| "careful".* at \["mode"\]$/)
  })

  it("decodes each input object once", () => {
    const input = { depth: 1 }
    expect(decode(input)).toBe(decode(input))
  })
})
