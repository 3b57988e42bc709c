/**
 * The GLM error table: every recorded error body classified by code (never by message), and the retry behaviour it
 * drives through the transport.
 */
import { ProviderError, RetryPolicy } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Exit, Layer, Stream } from "effect"
import { type AiError, LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmError from "../src/GlmError.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

type Reason = ProviderError.ErrorRule["reason"]

/** The reason and retryability each documented code class must get (issue 5, docs/providers/glm.md#error-codes, #retries). */
const expectedFor = (code: string | undefined, status: number): { reason: Reason; retryable: boolean } => {
  const n = Number(code)
  if (code === undefined || Number.isNaN(n)) {
    // Relayed text bodies without a parsable code: by status.
    if (status === 429) return { reason: "RateLimitError", retryable: true }
    if (status === 401) return { reason: "AuthenticationError", retryable: false }
    return { reason: "InvalidRequestError", retryable: false }
  }
  if (n >= 1000 && n <= 1005) return { reason: "AuthenticationError", retryable: false }
  if ([1113, 1304, 1308, 1309, 1310, 1311, 1313].includes(n) || (n >= 1314 && n <= 1321)) {
    return { reason: "QuotaExhaustedError", retryable: false }
  }
  if ([1302, 1303, 1305, 1312].includes(n)) return { reason: "RateLimitError", retryable: true }
  if ([500, 1230, 1234].includes(n)) return { reason: "InternalProviderError", retryable: true }
  if (n === 1300 || n === 1301) return { reason: "ContentPolicyError", retryable: false }
  return { reason: "InvalidRequestError", retryable: false }
}

const isRetryable = (rule: ProviderError.ErrorRule) =>
  rule.retryable ?? (rule.reason === "RateLimitError" || rule.reason === "InternalProviderError")

const codeOf = (body: unknown): string | undefined => {
  const record = body as { error?: { code?: unknown }; code?: unknown } | undefined
  const code = record?.error?.code ?? record?.code
  return code === undefined ? undefined : String(code)
}

interface Observed {
  readonly http_status: number
  readonly host: string
  readonly body?: unknown
  readonly body_text?: string
  readonly source: string
}

Recordings.describeRecordings("GlmError over the recorded error bodies (glm/errors)", () => {
  const observed = Recordings.readText("glm/errors/third_party_observed_error_bodies.jsonl")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Observed)

  it.each(observed.map((entry) => [`${entry.http_status} ${codeOf(entry.body) ?? "(text)"} ${entry.host}`, entry]))(
    "classifies %s by code",
    (_name, entry) => {
      const body = entry.body ?? entry.body_text
      const rule = GlmError.classify(entry.http_status, body)
      const expected = expectedFor(codeOf(entry.body), entry.http_status)
      expect({ reason: rule.reason, retryable: isRetryable(rule) }).toEqual(expected)
    }
  )

  it.each([
    ["zai_GET_api_paas_v4_no_auth_1001.json", 401, "MissingKey"],
    ["zai_GET_api_coding_paas_v4_no_auth_1001.json", 401, "MissingKey"]
  ])("the crawled %s is a missing-key authentication error", (file, status, kind) => {
    const rule = GlmError.classify(status, Recordings.readJson(`glm/errors/${file}`))
    expect(rule).toMatchObject({ reason: "AuthenticationError", authKind: kind })
  })

  it("the documented 1214 shape is an invalid request", () => {
    expect(GlmError.classify(400, Recordings.readJson("glm/errors/zai_docs_error_shape_1214.json")).reason).toBe(
      "InvalidRequestError"
    )
  })

  it("the docs' 401 transcript (1002) is an invalid-key authentication error", () => {
    const transcript = Recordings.readText("glm/errors/zai_docs_http401_1002_curl_transcript.txt")
    const status = Number(/< HTTP\/2 (\d{3})/.exec(transcript)?.[1])
    const body = JSON.parse(transcript.slice(transcript.indexOf('{"error"')).trim())
    expect(status).toBe(401)
    expect(GlmError.classify(status, body)).toMatchObject({ reason: "AuthenticationError", authKind: "InvalidKey" })
  })

  it("Chinese and English messages classify the same", () => {
    const messages = observed.flatMap((entry) => {
      const record = entry.body as { error?: { message?: unknown }; message?: unknown } | undefined
      const message = record?.error?.message ?? record?.message
      return typeof message === "string" ? [message] : []
    })
    expect(messages.some((message) => /[\u4e00-\u9fff]/.test(message))).toBe(true)
    expect(messages.some((message) => /^[\x20-\x7e]+$/.test(message))).toBe(true)
    // Every known code gets the same rule whatever message (Chinese, English, or another code's) comes with it.
    for (const code of Object.keys(GlmError.codes)) {
      const rules = messages.map((message) => GlmError.classify(429, { error: { code, message } }))
      for (const rule of rules) expect(rule).toEqual(GlmError.codes[code])
    }
  })
})

describe("GlmError.table", () => {
  it.each([
    ["1001 missing key", 401, "1001", { reason: "AuthenticationError", authKind: "MissingKey" }],
    ["1003 expired token", 401, "1003", { reason: "AuthenticationError", authKind: "ExpiredKey" }],
    ["1112 account locked", 403, "1112", { reason: "AuthenticationError", authKind: "InsufficientPermissions" }],
    ["1211 unknown model", 400, "1211", { reason: "InvalidRequestError", kind: "model-not-found" }],
    ["1214 invalid parameter", 400, "1214", { reason: "InvalidRequestError" }],
    ["1231 duplicate request id", 400, "1231", { reason: "InvalidRequestError" }],
    ["1261 prompt too long", 400, "1261", { reason: "InvalidRequestError", contextLength: true }],
    ["1301 content policy", 400, "1301", { reason: "ContentPolicyError" }],
    ["1309 coding plan expired", 429, "1309", { reason: "QuotaExhaustedError", retryable: false }],
    ["1303 is retryable (high frequency)", 429, "1303", { reason: "RateLimitError", retryable: true }],
    ["1312 model overloaded", 429, "1312", { reason: "RateLimitError", retryable: true }],
    ["1234 network error", 500, "1234", { reason: "InternalProviderError", retryable: true }]
  ] as const)("%s", (_name, status, code, expected) => {
    expect(GlmError.classify(status, { error: { code, message: "any" } })).toEqual(expected)
  })

  it("reads a numeric code, a body without the error wrapper, and the Anthropic-compatible envelope", () => {
    expect(GlmError.classify(429, { error: { code: 1113, message: "x" } }).reason).toBe("QuotaExhaustedError")
    expect(GlmError.classify(429, { code: "1113", message: "x" }).reason).toBe("QuotaExhaustedError")
    expect(
      GlmError.classify(429, {
        type: "error",
        error: { type: "rate_limit_error", code: "1113", message: "[1113][Insufficient balance]", request_id: "r" }
      }).reason
    ).toBe("QuotaExhaustedError")
  })

  it("falls back to the status for unknown codes and for Zhipu's own statuses", () => {
    expect(GlmError.classify(503, { error: { code: "9999", message: "x" } }).reason).toBe("InternalProviderError")
    expect(GlmError.classify(429, { error: { code: "9999", message: "x" } }).reason).toBe("RateLimitError")
    expect(GlmError.classify(434, {})).toMatchObject({ authKind: "InsufficientPermissions" })
    expect(GlmError.classify(435, {}).reason).toBe("InvalidRequestError")
  })
})

// =============================================================================
// Through the transport
// =============================================================================

const baseURL = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const layer = GlmLanguageModel.layer("glm-4.6").pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key" })))
const fast = { baseDelayMs: 1, maxDelayMs: 5, maxRetries: 2 }

const generate = () =>
  Effect.runPromiseExit(
    LanguageModel.generateText({ prompt: "hi" }).pipe(
      Effect.provideService(RetryPolicy.CallRetryPolicy, fast),
      Effect.provide(layer)
    )
  )

const failure = (exit: Exit.Exit<unknown, AiError.AiError>): AiError.AiError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail") throw new Error(String(exit.cause))
  return reason.error
}

/** Answers with `first` on the first call and the text scenario afterwards. */
const thenText = (first: GlmScenarios.WireError) => {
  const recorder = new MockUpstream.Recorder()
  server.use(
    MockUpstream.chatCompletions(
      baseURL,
      ({ index }) => (index === 0 ? GlmMock.errorResponse(first) : MockUpstream.json(GlmScenarios.text.body)),
      recorder
    )
  )
  return recorder
}

describe("GlmError through the transport", () => {
  it.each([
    ["1113 insufficient balance sent as 429 is not retried (English body)", GlmScenarios.errors.insufficientBalanceEn],
    ["1113 insufficient balance sent as 429 is not retried (Chinese body)", GlmScenarios.errors.insufficientBalanceCn]
  ])("%s", async (_name, error) => {
    const recorder = thenText(error)
    const failed = failure(await generate())
    expect(failed.reason._tag).toBe("QuotaExhaustedError")
    expect(ProviderError.describe(failed)).toMatchObject({ status: 429, code: "1113", retryable: false })
    expect(recorder.count).toBe(1)
  })

  it.each([
    ["1302 concurrency is retried (English body)", GlmScenarios.errors.concurrencyEn],
    ["1302 concurrency is retried (Chinese body)", GlmScenarios.errors.concurrencyCn],
    ["1305 model overloaded is retried", GlmScenarios.errors.overloadedCn],
    ["a 500 is retried", GlmScenarios.errors.serverError]
  ])("%s", async (_name, error) => {
    const recorder = thenText(error)
    const exit = await generate()
    expect(Exit.isSuccess(exit) && exit.value.text).toBe(GlmScenarios.text.text)
    expect(recorder.count).toBe(2)
  })

  it("1303 is retryable: a 429 with code 1303 is a retryable RateLimitError, retried", async () => {
    const recorder = thenText(GlmScenarios.errors.frequencyEn)
    const exit = await generate()
    expect(Exit.isSuccess(exit) && exit.value.text).toBe(GlmScenarios.text.text)
    expect(recorder.count).toBe(2)

    server.use(MockUpstream.chatCompletions(baseURL, () => GlmMock.errorResponse(GlmScenarios.errors.frequencyEn)))
    const failed = failure(await generate())
    expect(ProviderError.describe(failed)).toMatchObject({
      reason: "RateLimitError",
      status: 429,
      code: "1303",
      retryable: true
    })
  })

  it.each([
    ["1261 prompt too long is a context-length error (api.z.ai body)", GlmScenarios.errors.promptTooLongEn],
    ["1261 prompt too long is a context-length error (open.bigmodel.cn body)", GlmScenarios.errors.promptTooLongCn]
  ])("%s", async (_name, error) => {
    const recorder = thenText(error)
    const failed = failure(await generate())
    expect(failed.reason._tag).toBe("InvalidRequestError")
    expect((failed.reason as AiError.InvalidRequestError).constraint).toBe("context_length_exceeded")
    expect(ProviderError.describe(failed).contextLength).toBe(true)
    expect(recorder.count).toBe(1)
  })

  it.each([
    ["1301 content policy", GlmScenarios.errors.contentPolicyCn, "ContentPolicyError"],
    ["1211 unknown model", GlmScenarios.errors.unknownModelEn, "InvalidRequestError"],
    ["1211 unknown model (Chinese)", GlmScenarios.errors.unknownModelCn, "InvalidRequestError"],
    ["1214 invalid parameter", GlmScenarios.errors.invalidParameterCn, "InvalidRequestError"],
    ["1000-series auth: 1002 invalid key", GlmScenarios.errors.invalidKey, "AuthenticationError"],
    ["1000-series auth: 1000 authentication failed (Chinese)", GlmScenarios.errors.authFailedCn, "AuthenticationError"]
  ])("%s is not retried", async (_name, error, reason) => {
    const recorder = thenText(error)
    expect(failure(await generate()).reason._tag).toBe(reason)
    expect(recorder.count).toBe(1)
  })

  it("1211 unknown model is marked model-not-found (front doors answer it as OpenAI does, 404)", async () => {
    thenText(GlmScenarios.errors.unknownModelEn)
    expect(ProviderError.describe(failure(await generate())).kind).toBe("model-not-found")
  })

  it("an error frame inside a 200 stream is classified by its code", async () => {
    server.use(
      MockUpstream.chatCompletions(baseURL, () =>
        MockUpstream.sse([{ error: { code: "1113", message: "余额不足或无可用资源包,请充值。" } }])
      )
    )
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(LanguageModel.streamText({ prompt: "hi" })).pipe(
        Effect.provideService(RetryPolicy.CallRetryPolicy, fast),
        Effect.provide(layer)
      )
    )
    expect(failure(exit).reason._tag).toBe("QuotaExhaustedError")
  })
})
