/**
 * Every documented error status, seen through the real `openai` SDK: the SDK raises its typed error with the status,
 * and the body is OpenAI's envelope `{ error: { message, type, code, param } }`.
 */
import type { ProviderError } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Errors from "../src/Errors.js"
import {
  chunk,
  client,
  completionBody,
  errorBody,
  eventually,
  mswServer,
  respond,
  type Started,
  startGateway
} from "./support.js"

const server = mswServer()
let gateway: Started
const key = "sk-gateway-test"

const models = {
  models: {
    direct: { target: "ref/ref-chat-1", retry: { maxRetries: 0 } },
    hasty: { target: "ref/ref-chat-1", retry: { maxRetries: 0 }, timeouts: { firstTokenMs: 100 } }
  }
}

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({ config: { apiKeys: [Redacted.make(key)] }, models })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  server.close()
})

const user = (content: string) => ({ role: "user" as const, content })

/** Calls the gateway and returns the SDK's APIError (fails the test when the call succeeds). */
const failure = async (
  request: Omit<Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>, "stream"> & { readonly stream?: boolean },
  options: { readonly apiKey?: string; readonly headers?: Record<string, string>; readonly gateway?: Started } = {}
): Promise<InstanceType<typeof OpenAI.APIError>> => {
  try {
    const sdk = client(options.gateway ?? gateway, options.apiKey ?? key)
    const result = await sdk.chat.completions.create(
      { model: "direct", messages: [user("hi")], ...request } as OpenAI.ChatCompletionCreateParams,
      options.headers !== undefined ? { headers: options.headers } : undefined
    )
    if (request.stream === true) {
      for await (const _ of result as AsyncIterable<unknown>) {
        // drain
      }
    }
  } catch (error) {
    if (error instanceof OpenAI.APIError) return error
    throw error
  }
  throw new Error("expected the request to fail")
}

const envelope = (error: InstanceType<typeof OpenAI.APIError>) =>
  error.error as { message: string; type: string; code: string | null; param: string | null }

describe("authentication", () => {
  it("401 without a key and with a wrong key", async () => {
    const missing = await failure({}, { headers: { Authorization: null as unknown as string } })
    expect(missing.status).toBe(401)
    expect(missing).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(envelope(missing).code).toBe("missing_api_key")
    const wrong = await failure({}, { apiKey: "sk-wrong" })
    expect(wrong.status).toBe(401)
    expect(envelope(wrong).code).toBe("invalid_api_key")
  })
})

describe("request errors", () => {
  it("400 naming the invalid field", async () => {
    const error = await failure({ messages: [] })
    expect(error.status).toBe(400)
    expect(envelope(error)).toMatchObject({ type: "invalid_request_error", param: "messages" })
    const wrongType = await failure({ messages: [{ role: "user", content: 42 }] as never })
    expect(wrongType.status).toBe(400)
    expect(envelope(wrongType).param).toBe("messages.0.content")
  })

  it("a prompt over the catalog's context window is sent: catalog windows do not gate, the provider decides", async () => {
    const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: "it fit" })))
    const answer = await client(gateway, key).chat.completions.create({
      model: "ref/ref-small",
      messages: [user("lorem ipsum ".repeat(2_000))]
    })
    expect(answer.choices[0]?.message.content).toBe("it fit")
    expect(recorder.count).toBe(1)
  })

  it("400 context_length_exceeded when the provider says so", async () => {
    respond(server, "ref", () =>
      MockUpstream.error(
        400,
        errorBody("maximum context length is 128000 tokens", "invalid_request_error", "context_length_exceeded")
      )
    )
    const error = await failure({})
    expect(error.status).toBe(400)
    expect(envelope(error)).toMatchObject({ code: "context_length_exceeded", param: "messages" })
  })

  it("400 content_policy_violation", async () => {
    respond(server, "ref", () =>
      MockUpstream.error(
        400,
        errorBody("rejected by the safety system", "invalid_request_error", "content_policy_violation")
      )
    )
    const error = await failure({})
    expect(error.status).toBe(400)
    expect(envelope(error).code).toBe("content_policy_violation")
  })

  it("404 for an unknown provider and an unknown name", async () => {
    for (const model of ["nowhere/model-1", "no-such-alias"]) {
      const error = await failure({ model })
      expect(error.status).toBe(404)
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect(envelope(error)).toMatchObject({ code: "model_not_found", param: "model" })
    }
  })

  it("409 when an idempotency key is reused with a different request", async () => {
    respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
    const headers = { "Idempotency-Key": "conflict-1" }
    await client(gateway, key).chat.completions.create({ model: "direct", messages: [user("one")] }, { headers })
    const error = await failure({ messages: [user("two")] }, { headers })
    expect(error.status).toBe(409)
    expect(error).toBeInstanceOf(OpenAI.ConflictError)
    expect(envelope(error).code).toBe("idempotency_conflict")
  })

  it("413 when the body is over CONDUIT_MAX_BODY_BYTES", async () => {
    const small = await startGateway({ config: { maxBodyBytes: 2_048 } })
    try {
      const error = await failure({ model: "ref/ref-chat-1", messages: [user("x".repeat(4_096))] }, { gateway: small })
      expect(error.status).toBe(413)
      expect(envelope(error).code).toBe("request_too_large")
    } finally {
      await small.close()
    }
  })
})

describe("upstream errors", () => {
  it("403 when the upstream denies permission", async () => {
    respond(server, "ref", () => MockUpstream.error(403, errorBody("not allowed", "permission_error", null)))
    const error = await failure({})
    expect(error.status).toBe(403)
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
  })

  it("429 with the upstream's Retry-After passed through", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.error(429, errorBody("slow down", "requests", "rate_limit_exceeded"), { "retry-after": "7" })
    )
    const error = await failure({})
    expect(error.status).toBe(429)
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error.headers?.get("retry-after")).toBe("7")
    expect(error.headers?.get("retry-after-ms")).toBe("7000")
    expect(envelope(error).code).toBe("rate_limit_exceeded")
    expect(recorder.count).toBe(1)
  })

  it("429 insufficient_quota, tried exactly once", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.error(429, errorBody("You exceeded your current quota", "insufficient_quota", "insufficient_quota"))
    )
    const error = await failure({ model: "ref/ref-chat-1" })
    expect(error.status).toBe(429)
    expect(envelope(error)).toMatchObject({ type: "insufficient_quota", code: "insufficient_quota" })
    expect(error.headers?.get("retry-after")).toBeNull()
    expect(recorder.count).toBe(1)
  })

  it("502 after the retries when the upstream keeps failing, also for streams", async () => {
    const recorder = respond(server, "ref", () => MockUpstream.error(500, errorBody("boom", "server_error", null)))
    const error = await failure({ model: "ref/ref-chat-1" })
    expect(error.status).toBe(502)
    expect(envelope(error).code).toBe("upstream_error")
    expect(recorder.count).toBe(3)
    const streamed = await failure({ model: "ref/ref-chat-1", stream: true })
    expect(streamed.status).toBe(502)
  })

  it("502 when the upstream rejects the gateway's own key", async () => {
    respond(server, "ref", () =>
      MockUpstream.error(401, errorBody("Incorrect API key", "invalid_request_error", "invalid_api_key"))
    )
    const error = await failure({})
    expect(error.status).toBe(502)
    expect(envelope(error).code).toBe("upstream_authentication_failed")
  })

  it("503 when the upstream is overloaded", async () => {
    respond(server, "ref", () =>
      MockUpstream.error(503, errorBody("overloaded", "server_error", null), { "retry-after": "2" })
    )
    const error = await failure({})
    expect(error.status).toBe(503)
    expect(envelope(error).code).toBe("upstream_overloaded")
    expect(error.headers?.get("retry-after")).toBe("2")
  })

  it("504 naming the first-token timeout (a stream that never starts)", async () => {
    respond(server, "ref", () => MockUpstream.sse([chunk({ role: "assistant", content: "late" })], { stallAfter: 0 }))
    const error = await failure({ model: "hasty", stream: true })
    expect(error.status).toBe(504)
    expect(envelope(error)).toMatchObject({ type: "timeout", code: "first_token_timeout" })
    expect(envelope(error).message).toContain("100 ms")
  })
})

describe("gateway limits", () => {
  it("429 with Retry-After when a key's request rate limit is reached", async () => {
    const limited = await startGateway({ config: { rateLimits: { perKey: { requestsPerMinute: 1 } } } })
    try {
      respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
      await client(limited).chat.completions.create({ model: "ref/ref-chat-1", messages: [user("one")] })
      const error = await failure({ model: "ref/ref-chat-1" }, { gateway: limited })
      expect(error.status).toBe(429)
      expect(envelope(error).code).toBe("rate_limit_exceeded")
      expect(Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1)
    } finally {
      await limited.close()
    }
  })

  it("429 queue_full when every slot is busy and nothing may wait", async () => {
    const busy = await startGateway({ config: { sessions: { ...defaults, maxConcurrent: 1, maxQueued: 0 } } })
    try {
      // the first call holds the only slot until the second has been refused
      let release = () => {}
      const released = new Promise<void>((resolve) => (release = resolve))
      const recorder = respond(server, "ref", async () => {
        await released
        return MockUpstream.json(completionBody({ content: "slow" }))
      })
      const first = client(busy).chat.completions.create({ model: "ref/ref-chat-1", messages: [user("one")] })
      await eventually(() => recorder.count === 1)
      const error = await failure({ model: "ref/ref-chat-1" }, { gateway: busy })
      release()
      expect(error.status).toBe(429)
      expect(envelope(error).code).toBe("queue_full")
      expect(error.headers?.get("retry-after")).toBe("1")
      expect((await first).choices[0]?.message.content).toBe("slow")
    } finally {
      await busy.close()
    }
  })

  it("504 request_timeout when a request runs longer than CONDUIT_REQUEST_TIMEOUT_MS", async () => {
    // 2 s: the upstream is called well inside it on a loaded machine, and answers only long after it
    const strict = await startGateway({ config: { sessions: { ...defaults, requestTimeoutMs: 2_000 } } })
    try {
      const recorder = respond(server, "ref", async () => {
        await new Promise((resolve) => setTimeout(resolve, 30_000).unref())
        return MockUpstream.json(completionBody({ content: "late" }))
      })
      const error = await failure({ model: "ref/ref-chat-1" }, { gateway: strict })
      expect(error.status).toBe(504)
      expect(envelope(error)).toMatchObject({ type: "timeout", code: "request_timeout" })
      expect(recorder.last().aborted).toBe(true)
      // a stream: the execution timeout's deadline bounds its wait for the upstream's headers
      const streamed = await failure({ model: "ref/ref-chat-1", stream: true }, { gateway: strict })
      expect(streamed.status).toBe(504)
      expect(envelope(streamed)).toMatchObject({ type: "timeout", code: "request_timeout" })
      expect(recorder.count).toBe(2)
      expect(recorder.last().aborted).toBe(true)
    } finally {
      await strict.close()
    }
  })
})

const defaults = {
  maxConcurrent: 200,
  maxConcurrentPerSession: 1,
  maxQueued: 1_000,
  queueTimeoutMs: 60_000,
  requestTimeoutMs: undefined
}

const summary = (overrides: Partial<ProviderError.ErrorSummary>): ProviderError.ErrorSummary => ({
  reason: "UnknownError",
  message: "boom",
  retryable: false,
  kind: "http",
  provider: "kimi",
  status: undefined,
  type: undefined,
  code: undefined,
  requestId: undefined,
  retryAfterMs: undefined,
  timeout: undefined,
  limitMs: undefined,
  contextLength: false,
  param: undefined,
  ...overrides
})

describe("fromSummary: the error table", () => {
  const rows: ReadonlyArray<{
    readonly name: string
    readonly input: Partial<ProviderError.ErrorSummary>
    readonly status: number
    readonly type: string
    readonly code: string | null
    readonly headers?: Record<string, string>
  }> = [
    {
      name: "invalid request",
      input: { reason: "InvalidRequestError", status: 400, code: "invalid_value" },
      status: 400,
      type: "invalid_request_error",
      code: "invalid_value"
    },
    {
      name: "context length",
      input: { reason: "InvalidRequestError", status: 400, contextLength: true },
      status: 400,
      type: "invalid_request_error",
      code: "context_length_exceeded"
    },
    {
      name: "upstream 404 model",
      input: { reason: "InvalidRequestError", status: 404 },
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found"
    },
    {
      name: "a provider's unknown-model code on HTTP 400 (GLM 1211)",
      input: { reason: "InvalidRequestError", status: 400, code: "1211", kind: "model-not-found" },
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found"
    },
    {
      name: "retired model",
      input: { reason: "InvalidRequestError", kind: "retired-model" },
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found"
    },
    {
      name: "content policy",
      input: { reason: "ContentPolicyError", status: 400 },
      status: 400,
      type: "invalid_request_error",
      code: "content_policy_violation"
    },
    {
      name: "upstream 403",
      input: { reason: "AuthenticationError", status: 403 },
      status: 403,
      type: "permission_error",
      code: "upstream_permission_denied"
    },
    {
      name: "upstream 401 (the gateway's key)",
      input: { reason: "AuthenticationError", status: 401 },
      status: 502,
      type: "upstream_error",
      code: "upstream_authentication_failed"
    },
    {
      name: "quota",
      input: { reason: "QuotaExhaustedError", status: 429 },
      status: 429,
      type: "insufficient_quota",
      code: "insufficient_quota"
    },
    {
      name: "rate limit with advice",
      input: { reason: "RateLimitError", status: 429, retryAfterMs: 2500 },
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      headers: { "retry-after": "3", "retry-after-ms": "2500" }
    },
    {
      name: "rate limit without advice",
      input: { reason: "RateLimitError", status: 429 },
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      headers: {}
    },
    {
      name: "overloaded 503",
      input: { reason: "InternalProviderError", status: 503, retryAfterMs: 1000 },
      status: 503,
      type: "upstream_error",
      code: "upstream_overloaded",
      headers: { "retry-after": "1", "retry-after-ms": "1000" }
    },
    {
      name: "overloaded 529",
      input: { reason: "InternalProviderError", status: 529 },
      status: 503,
      type: "upstream_error",
      code: "upstream_overloaded"
    },
    {
      name: "upstream 500",
      input: { reason: "InternalProviderError", status: 500 },
      status: 502,
      type: "upstream_error",
      code: "upstream_error"
    },
    {
      name: "network",
      input: { reason: "NetworkError", kind: undefined },
      status: 502,
      type: "upstream_error",
      code: "upstream_unreachable"
    },
    {
      name: "truncated stream",
      input: { reason: "InvalidResponseError", kind: "truncated-stream" },
      status: 502,
      type: "upstream_error",
      code: "upstream_stream_truncated"
    },
    {
      name: "first-token timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "firstToken" },
      status: 504,
      type: "timeout",
      code: "first_token_timeout"
    },
    {
      name: "idle timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "idle" },
      status: 504,
      type: "timeout",
      code: "idle_timeout"
    },
    {
      name: "total timeout",
      input: { reason: "InternalProviderError", kind: "timeout", timeout: "total" },
      status: 504,
      type: "timeout",
      code: "total_timeout"
    },
    {
      name: "idempotency conflict",
      input: { reason: "InvalidRequestError", kind: "idempotency-conflict" },
      status: 409,
      type: "invalid_request_error",
      code: "idempotency_conflict"
    },
    {
      name: "cache store down (fail-closed)",
      input: { reason: "InternalProviderError", kind: "cache-unavailable" },
      status: 503,
      type: "upstream_error",
      code: "cache_unavailable"
    }
  ]
  for (const row of rows) {
    it(row.name, () => {
      const http = Errors.fromSummary(summary(row.input))
      expect(http.status).toBe(row.status)
      expect(http.body.error.type).toBe(row.type)
      expect(http.body.error.code).toBe(row.code)
      expect(http.body.error.message.length).toBeGreaterThan(0)
      if (row.headers !== undefined) expect(http.headers).toEqual(row.headers)
    })
  }

  it("names the offending parameter when the failure knows it", () => {
    const http = Errors.fromSummary(summary({ reason: "InvalidRequestError", status: 400 }), "temperature")
    expect(http.body.error.param).toBe("temperature")
  })

  it("rounds Retry-After up to whole seconds and never below one", () => {
    expect(Errors.retryAfterHeaders(1)).toEqual({ "retry-after": "1", "retry-after-ms": "1" })
    expect(Errors.retryAfterHeaders(1001)).toEqual({ "retry-after": "2", "retry-after-ms": "1001" })
    expect(Errors.retryAfterHeaders(undefined)).toEqual({})
  })
})
