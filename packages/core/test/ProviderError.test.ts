/**
 * Pure mappings, table-driven: Retry-After headers to a delay, SDK failures to `AiError` reasons, wire finish
 * reasons to `effect/ai` finish reasons.
 */
import { Duration } from "effect"
import { APIConnectionError, APIConnectionTimeoutError, APIUserAbortError } from "openai"
import { describe, expect, it } from "vitest"
import * as FinishReason from "../src/FinishReason.js"
import * as ProviderError from "../src/ProviderError.js"

describe("ProviderError.retryAfterFromHeaders", () => {
  const now = Date.parse("2026-11-21T00:00:00Z")
  const cases: ReadonlyArray<readonly [string, Record<string, string>, number | undefined]> = [
    ["retry-after-ms in ms", { "retry-after-ms": "250" }, 250],
    ["retry-after in seconds", { "retry-after": "2" }, 2_000],
    ["fractional seconds", { "retry-after": "0.5" }, 500],
    ["x-retry-after (Moonshot) in seconds", { "x-retry-after": "3" }, 3_000],
    ["an HTTP date", { "retry-after": "Sat, 21 Nov 2026 00:00:07 GMT" }, 7_000],
    ["an HTTP date in the past is no advice", { "retry-after": "Fri, 20 Nov 2026 23:59:00 GMT" }, undefined],
    ["retry-after-ms wins over retry-after", { "retry-after-ms": "100", "retry-after": "9" }, 100],
    ["retry-after wins over x-retry-after", { "retry-after": "1", "x-retry-after": "9" }, 1_000],
    ["a negative value is skipped for the next header", { "retry-after": "-1", "x-retry-after": "4" }, 4_000],
    ["garbage is no advice", { "retry-after": "soon" }, undefined],
    ["an empty retry-after-ms falls through", { "retry-after-ms": " ", "retry-after": "1" }, 1_000],
    ["no header", {}, undefined]
  ]
  for (const [name, headers, expected] of cases) {
    it(name, () => {
      const delay = ProviderError.retryAfterFromHeaders(headers, now)
      expect(delay === undefined ? undefined : Duration.toMillis(delay)).toBe(expected)
    })
  }
})

describe("ProviderError.fromSdkError", () => {
  const params = {
    target: { provider: "sample", method: "POST", url: "https://model.test/v1/chat/completions" },
    table: ProviderError.openAiTable,
    module: "OpenAiCompatClient",
    method: "createChatCompletion"
  }

  it("a connection failure is a retryable NetworkError naming the cause", () => {
    const error = ProviderError.fromSdkError(
      new APIConnectionError({ message: "Connection error.", cause: new Error("ECONNRESET") }),
      params
    )
    expect(error.reason._tag).toBe("NetworkError")
    expect(error.message).toContain("ECONNRESET")
    expect(ProviderError.isRetryable(error)).toBe(true)
  })

  it("a connection timeout is a retryable NetworkError too", () => {
    const error = ProviderError.fromSdkError(new APIConnectionTimeoutError(), params)
    expect(error.reason._tag).toBe("NetworkError")
    expect(ProviderError.isRetryable(error)).toBe(true)
  })

  it("a user abort is `aborted` and never retried", () => {
    const error = ProviderError.fromSdkError(new APIUserAbortError(), params)
    expect(ProviderError.conduitMetadata(error)).toMatchObject({ kind: "aborted", provider: "sample" })
    expect(ProviderError.isRetryable(error)).toBe(false)
  })

  it("anything else is an UnknownError that keeps the message", () => {
    const error = ProviderError.fromSdkError(new TypeError("boom"), params)
    expect(error.reason._tag).toBe("UnknownError")
    expect(error.message).toContain("boom")
  })
})

describe("FinishReason.map", () => {
  const cases: ReadonlyArray<readonly [string | null | undefined, boolean, string]> = [
    ["stop", false, "stop"],
    ["stop", true, "tool-calls"],
    ["length", false, "length"],
    ["tool_calls", true, "tool-calls"],
    ["function_call", true, "tool-calls"],
    ["content_filter", false, "content-filter"],
    ["sensitive", false, "content-filter"],
    ["network_error", false, "error"],
    ["model_context_window_exceeded", false, "length"],
    [null, false, "unknown"],
    [undefined, true, "tool-calls"],
    ["", false, "unknown"],
    ["something_new", false, "other"]
  ]
  for (const [raw, hasToolCalls, expected] of cases) {
    it(`${JSON.stringify(raw)}${hasToolCalls ? " with tool calls" : ""} -> ${expected}`, () => {
      expect(FinishReason.map(raw, { hasToolCalls })).toBe(expected)
    })
  }

  it("a provider's extra mapping wins over the defaults", () => {
    expect(FinishReason.map("sensitive", { hasToolCalls: false, extra: { sensitive: "error" } })).toBe("error")
  })
})
