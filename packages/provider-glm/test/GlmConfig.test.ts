/**
 * Provider options: decoding, and the per-call helpers merging over the model's options.
 */
import { OpenAiCompatLanguageModel } from "@conduitkit/core"
import { Effect, Exit, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import * as GlmConfig from "../src/GlmConfig.js"

const decode = Schema.decodeUnknownExit(GlmConfig.ProviderOptions)

describe("ProviderOptions", () => {
  it.each([
    ["thinking with clear_thinking", { thinking: { type: "enabled", clear_thinking: false } }],
    ["tool_stream and do_sample", { tool_stream: true, do_sample: false }],
    ["request_id and user_id at their minimum length", { request_id: "abcdef", user_id: "123456" }],
    [
      "every web_search field",
      { web_search: { enable: true, count: 50, content_size: "high", result_sequence: "after" } }
    ]
  ])("accepts %s", (_name, options) => {
    expect(Exit.isSuccess(decode(options))).toBe(true)
  })

  it.each([
    ["a request_id over 64 characters", { request_id: "x".repeat(65) }],
    ["a user_id under 6 characters", { user_id: "abc" }],
    ["clear_thinking as a string", { thinking: { type: "enabled", clear_thinking: "false" } }],
    ["a recency filter that does not exist", { web_search: { search_recency_filter: "all" } }],
    ["a web_search count of 0", { web_search: { count: 0 } }]
  ])("rejects %s", (_name, options) => {
    expect(Exit.isFailure(decode(options))).toBe(true)
  })
})

describe("per-call helpers", () => {
  const current = Effect.map(OpenAiCompatLanguageModel.CallConfig, (config) => config.providerOptions)

  it("withProviderOptions merges over options already set for the call", async () => {
    const options = await Effect.runPromise(
      current.pipe(
        GlmConfig.withProviderOptions({ request_id: "inner-000" }),
        GlmConfig.withProviderOptions({ user_id: "outer-000", request_id: "outer-000" })
      )
    )
    expect(options).toEqual({ user_id: "outer-000", request_id: "inner-000" })
  })

  it("streamWithProviderOptions does the same for streams", async () => {
    const options = await Effect.runPromise(
      Stream.runCollect(
        Stream.fromEffect(current).pipe(
          GlmConfig.streamWithProviderOptions({ tool_stream: false }),
          Stream.provideService(OpenAiCompatLanguageModel.CallConfig, { providerOptions: { do_sample: false } })
        )
      )
    )
    expect(options).toEqual([{ do_sample: false, tool_stream: false }])
  })
})
