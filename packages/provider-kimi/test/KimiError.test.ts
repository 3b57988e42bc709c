import { ProviderError } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Duration } from "effect"
import { LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiError from "../src/KimiError.js"
import { KimiMock, KimiScenarios } from "../src/testing/index.js"
import { collectExit, failureOf, modelLayer, runExit, describe as summary } from "./helpers.js"

const chatURL = "https://api.moonshot.ai/v1/chat/completions"

const infoOf = (status: number, body: unknown, headers: Record<string, string> = {}, url = chatURL) =>
  ProviderError.errorInfo({
    target: { provider: "kimi", method: "POST", url, requestIdHeaders: ["msh-request-id", "x-msh-trace-id"] },
    status,
    headers,
    body
  })

const classify = (status: number, body: unknown, headers: Record<string, string> = {}, url = chatURL) =>
  KimiError.errorTable(infoOf(status, body, headers, url)) ?? ProviderError.defaultRule(status)

/** The HTTP status Moonshot sends each error type with (docs/providers/kimi.md#errors). */
const statusOfType: Record<string, number> = {
  invalid_request_error: 400,
  content_filter: 400,
  invalid_authentication_error: 401,
  incorrect_api_key_error: 401,
  resource_not_found_error: 404,
  rate_limit_reached_error: 429,
  exceeded_current_quota_error: 429,
  engine_overloaded_error: 429
}

/** What each error type means (the table under test). */
const reasonOfType: Record<string, { reason: string; retryable: boolean }> = {
  invalid_request_error: { reason: "InvalidRequestError", retryable: false },
  content_filter: { reason: "ContentPolicyError", retryable: false },
  invalid_authentication_error: { reason: "AuthenticationError", retryable: false },
  incorrect_api_key_error: { reason: "AuthenticationError", retryable: false },
  resource_not_found_error: { reason: "InvalidRequestError", retryable: false },
  rate_limit_reached_error: { reason: "RateLimitError", retryable: true },
  exceeded_current_quota_error: { reason: "QuotaExhaustedError", retryable: false },
  engine_overloaded_error: { reason: "RateLimitError", retryable: true }
}

const reasonOf = (status: number, body: unknown, headers: Record<string, string> = {}) => {
  const info = infoOf(status, body, headers)
  const rule = KimiError.errorTable(info) ?? ProviderError.defaultRule(status)
  const reason = ProviderError.reasonFromRule(rule, info)
  return { reason, info }
}

/** The first balanced JSON object in a line of text. */
const jsonIn = (line: string): unknown => {
  const start = line.indexOf("{")
  let depth = 0
  for (let index = start; index < line.length; index++) {
    if (line[index] === "{") depth++
    if (line[index] === "}") depth--
    if (depth === 0) return JSON.parse(line.slice(start, index + 1))
  }
  throw new Error(`no JSON object in ${line}`)
}

Recordings.describeRecordings("the error table over the recorded error bodies", () => {
  const files = Recordings.list("kimi/vercel-ai/errors")
  it.each(files)("%s is classified by its error.type", (path) => {
    const body = Recordings.readJson(path) as { error: { type: string; message: string } }
    const status = statusOfType[body.error.type] ?? 400
    const { reason } = reasonOf(status, body)
    expect(reason._tag).toBe(reasonOfType[body.error.type]?.reason)
    expect(reason.isRetryable).toBe(false)
  })

  it("the documented content_filter body is a content-policy error", () => {
    const body = Recordings.readJson("kimi/official-doc-examples/error-content-filter-doc.json")
    expect(reasonOf(400, body).reason._tag).toBe("ContentPolicyError")
  })

  it("the legacy gateway 404 envelope (no error.type) points at the base URL", () => {
    const body = Recordings.readJson("kimi/official-doc-examples/legacy-error-404-url-not-found.json")
    const rule = classify(404, body)
    expect(rule.reason).toBe("InvalidRequestError")
    expect(rule.description).toMatch(/check the base URL/)
  })

  it("the verbatim error lines quoted in issues are classified by type", () => {
    const lines = Recordings.readText("kimi/other-repos/error-messages-from-issues.txt").split("\n")
    let checked = 0
    for (const line of lines) {
      let type: string | undefined
      let body: unknown
      if (line.startsWith('{"error"')) {
        body = jsonIn(line)
        type = (body as { error: { type: string } }).error.type
      } else {
        const match = /'type': '([^']*)'/.exec(line)
        if (match === null) continue
        type = match[1] as string
        body = { error: { type, message: "quoted" } }
      }
      const expected = reasonOfType[type]
      expect(expected, `no expectation for ${type}`).toBeDefined()
      expect(reasonOf(statusOfType[type] ?? 400, body).reason._tag).toBe(expected?.reason)
      checked++
    }
    expect(checked).toBeGreaterThanOrEqual(9)
  })

  it("the live 401 and 429 (with retry-after, x-retry-after, x-msh-trace-id) are classified and carry the advice", () => {
    const text = Recordings.readText("kimi/other-repos/live-errors-and-headers-2026-09.txt")
    const lines = text.split("\n")
    const unauthorized = jsonIn(lines.find((line) => line.startsWith('{"error"')) ?? "")
    expect(reasonOf(401, unauthorized).reason._tag).toBe("AuthenticationError")
    const at = lines.findIndex((line) => line.startsWith("HTTP/2 429"))
    const headers: Record<string, string> = {}
    let index = at + 1
    for (; lines[index]?.includes(":") === true && !lines[index]?.startsWith("{"); index++) {
      const [name, ...value] = (lines[index] as string).split(":")
      headers[(name as string).trim().toLowerCase()] = value.join(":").trim()
    }
    while (!lines[index]?.startsWith("{")) index++
    const body = jsonIn(lines.slice(index, index + 3).join(" "))
    const { reason, info } = reasonOf(429, body, headers)
    expect(reason._tag).toBe("RateLimitError")
    expect(reason.isRetryable).toBe(true)
    expect(reason._tag === "RateLimitError" && reason.retryAfter && Duration.toMillis(reason.retryAfter)).toBe(
      Number(headers["retry-after"]) * 1000
    )
    expect(info.requestId).toBe(headers["x-msh-trace-id"])
  })
})

describe("the error table by type and status", () => {
  const cases: ReadonlyArray<readonly [string, number, unknown, string, boolean | undefined]> = [
    [
      "403 exceeded_current_quota_error (account not active)",
      403,
      KimiScenarios.errors.accountInactive().body,
      "QuotaExhaustedError",
      false
    ],
    [
      "403 permission_denied_error",
      403,
      { error: { type: "permission_denied_error", message: "The API you are accessing is not open" } },
      "AuthenticationError",
      undefined
    ],
    ["429 engine_overloaded_error", 429, KimiScenarios.errors.engineOverloaded().body, "RateLimitError", undefined],
    ["500 server_error", 500, KimiScenarios.errors.serverError().body, "InternalProviderError", undefined],
    [
      "500 unexpected_output",
      500,
      { error: { type: "unexpected_output", message: "invalid state transition" } },
      "InternalProviderError",
      undefined
    ],
    [
      "499 client_closed_request",
      499,
      { error: { type: "client_closed_request", message: "" } },
      "UnknownError",
      false
    ],
    [
      "an unknown type falls back to the status",
      418,
      { error: { type: "teapot", message: "" } },
      "InvalidRequestError",
      undefined
    ],
    [
      "the classification never reads the message",
      400,
      { error: { type: "invalid_request_error", message: "rate limit quota exceeded" } },
      "InvalidRequestError",
      undefined
    ]
  ]
  for (const [name, status, body, reason, retryable] of cases) {
    it(name, () => {
      const rule = classify(status, body)
      expect(rule.reason).toBe(reason)
      expect(rule.retryable).toBe(retryable)
    })
  }

  it("an extraction failure on /files (500 with an empty type) is not retried", () => {
    const rule = classify(
      500,
      KimiScenarios.errors.extractFailed().body,
      {},
      "https://api.moonshot.ai/v1/files/abc/content"
    )
    expect(rule).toEqual({ reason: "InternalProviderError", retryable: false })
  })

  it("a 404 on chat completions names the current models", () => {
    const rule = classify(404, KimiScenarios.errors.modelNotFound("kimi-k2.5").body)
    expect(rule.description).toMatch(
      /Not found the model kimi-k2\.5 or Permission denied: .*retired.*current models: kimi-k3, kimi-k2\.6/
    )
  })
})

describe("Moonshot errors through the model (MSW)", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  const mockWith = (reply: (index: number) => KimiMock.MockReply, options: KimiMock.Options = {}) => {
    const mock = KimiMock.make({ respond: ({ index }) => reply(index), ...options })
    server.use(...mock.handlers)
    return mock
  }
  const chatCalls = (mock: KimiMock.Mock) =>
    mock.recorder.calls.filter((call) => call.url.endsWith("/chat/completions"))

  it("quota 429 exceeded_current_quota_error is not retried", async () => {
    const mock = mockWith(() => KimiScenarios.errors.quotaExhausted())
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(error)).toMatchObject({
      reason: "QuotaExhaustedError",
      status: 429,
      retryable: false,
      type: "exceeded_current_quota_error"
    })
    expect(chatCalls(mock)).toHaveLength(1)
  })

  it("403 balance error (account not active) is not retried", async () => {
    const mock = mockWith(() => KimiScenarios.errors.accountInactive())
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(error)).toMatchObject({ reason: "QuotaExhaustedError", status: 403, retryable: false })
    expect(chatCalls(mock)).toHaveLength(1)
  })

  it("rate_limit_reached_error is retried after Moonshot's x-retry-after", async () => {
    const times: Array<number> = []
    const mock = mockWith((index) => {
      times.push(performance.now())
      return index === 0
        ? { ...KimiScenarios.errors.rateLimited(), headers: { "x-retry-after": "0.2" } }
        : { model: "kimi-k3", text: ["OK"] }
    })
    const exit = await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3"))
    expect(exit._tag).toBe("Success")
    expect(chatCalls(mock)).toHaveLength(2)
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(195)
  })

  it("engine_overloaded_error is retried", async () => {
    const mock = mockWith((index) =>
      index === 0
        ? { ...KimiScenarios.errors.engineOverloaded(), headers: { "retry-after": "0" } }
        : { model: "kimi-k3", text: ["OK"] }
    )
    const exit = await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3"))
    expect(exit._tag).toBe("Success")
    expect(chatCalls(mock)).toHaveLength(2)
  })

  it("HTML 504 body handled as a gateway timeout", async () => {
    const mock = mockWith(() => KimiScenarios.errors.gatewayTimeout())
    const error = failureOf(
      await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3"), { maxRetries: 0 })
    )
    expect(summary(error)).toMatchObject({ reason: "InternalProviderError", status: 504, retryable: true })
    expect(summary(error).message).toMatch(/gateway timeout .*stream long generations/)
    expect(chatCalls(mock)).toHaveLength(1)
  })

  it("a 504 is marked as a gateway timeout in the metadata (conduit.kind), other 5xx stay http", async () => {
    const mock = mockWith(() => KimiScenarios.errors.gatewayTimeout())
    const error = failureOf(
      await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3"), { maxRetries: 0 })
    )
    expect(summary(error).kind).toBe("gateway-timeout")
    expect(ProviderError.conduitMetadata(error)?.kind).toBe("gateway-timeout")
    expect(chatCalls(mock)).toHaveLength(1)
    expect(classify(504, "<html>504 Gateway Time-out</html>")).toMatchObject({ kind: "gateway-timeout" })
    expect(classify(500, { error: { type: "server_error", message: "x" } })).not.toHaveProperty("kind")
    expect(classify(503, "<html>503</html>")).not.toHaveProperty("kind")
  })

  it("Kimi Code 403 access_terminated_error explains the gate", async () => {
    const baseURL = "https://api.kimi.com/coding/v1"
    const mock = mockWith(() => undefined, { baseURL, gate: { admit: (agent) => agent === "SomeAgent/1.0" } })
    const layer = modelLayer("kimi-for-coding", { client: { plan: "coding", baseURL: undefined } })
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), layer))
    expect(error.reason._tag).toBe("AuthenticationError")
    expect(error.reason._tag === "AuthenticationError" && error.reason.kind).toBe("InsufficientPermissions")
    expect(summary(error).message).toContain(KimiError.codingGateDescription)
    expect(KimiError.isAccessGate(error)).toBe(true)
    expect(chatCalls(mock)).toHaveLength(1)
    expect(chatCalls(mock)[0]?.headers["user-agent"]).toMatch(/^conduitkit-provider-kimi\//)
  })

  it("a wrong key: 401 invalid_authentication_error, not retried, explaining the platforms", async () => {
    const mock = mockWith(() => undefined, { apiKey: "sk-other" })
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(error)).toMatchObject({
      reason: "AuthenticationError",
      status: 401,
      type: "invalid_authentication_error"
    })
    expect(summary(error).message).toMatch(/api\.moonshot\.ai and api\.moonshot\.cn are independent/)
    expect(chatCalls(mock)).toHaveLength(1)
  })

  it("content_filter is a content-policy error, not retried", async () => {
    const mock = mockWith(() => KimiScenarios.errors.contentFilter())
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(error.reason._tag).toBe("ContentPolicyError")
    expect(chatCalls(mock)).toHaveLength(1)
  })

  it("the request id from msh-request-id reaches the error", async () => {
    mockWith(() => KimiScenarios.errors.contentFilter())
    const error = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(error).requestId).toMatch(/-4dae-11ef-/)
  })

  it("an error carrying only x-msh-trace-id: that id is the error's request id (chat and stream)", async () => {
    const traceId = "c0de7ace0000000000000000000000aa"
    server.use(
      MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () =>
        MockUpstream.error(
          400,
          { error: { message: "Invalid request: bad", type: "invalid_request_error" } },
          { "x-msh-trace-id": traceId }
        )
      )
    )
    const chat = failureOf(await runExit(LanguageModel.generateText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(chat)).toMatchObject({ reason: "InvalidRequestError", status: 400, requestId: traceId })
    const stream = failureOf(await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k3")))
    expect(summary(stream).requestId).toBe(traceId)
  })

  it("an error frame inside a 200 stream is classified by its type", async () => {
    server.use(
      MockUpstream.chatCompletions("https://api.moonshot.ai/v1", () =>
        MockUpstream.sse([
          { error: { message: "The engine is currently overloaded", type: "engine_overloaded_error" } }
        ])
      )
    )
    const error = failureOf(
      await collectExit(LanguageModel.streamText({ prompt: "Hi" }), modelLayer("kimi-k3"), { maxRetries: 0 })
    )
    expect(summary(error)).toMatchObject({ reason: "RateLimitError", kind: "http", type: "engine_overloaded_error" })
  })
})
