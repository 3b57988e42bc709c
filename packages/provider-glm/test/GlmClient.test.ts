/**
 * The GLM client: configuration from the environment, region × plan endpoints, bearer and JWT auth, and the key
 * never leaking.
 */

import { ProviderError } from "@conduitkit/core"
import { it as effectIt } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted, Result } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { TestClock } from "effect/testing"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmProvider from "../src/GlmProvider.js"
import * as Jwt from "../src/internal/jwt.js"
import * as GlmMock from "../src/testing/GlmMock.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const chatWith = (client: Layer.Layer<GlmClient.Service, unknown>, env: Record<string, string> = {}) =>
  Effect.runPromiseExit(
    LanguageModel.generateText({ prompt: "hello" }).pipe(
      Effect.provide(GlmLanguageModel.layer("glm-4.6").pipe(Layer.provide(client))),
      Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
    )
  )

const failure = (exit: Exit.Exit<unknown, unknown>): AiError.AiError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason === undefined || reason._tag !== "Fail" || !AiError.isAiError(reason.error)) {
    throw new Error(String(exit.cause))
  }
  return reason.error
}

describe("endpoints", () => {
  it.each([
    [undefined, undefined, "https://api.z.ai/api/paas/v4"],
    ["global", "general", "https://api.z.ai/api/paas/v4"],
    ["global", "coding", "https://api.z.ai/api/coding/paas/v4"],
    ["cn", "general", "https://open.bigmodel.cn/api/paas/v4"],
    ["cn", "coding", "https://open.bigmodel.cn/api/coding/paas/v4"]
  ] as const)("region %s × plan %s → %s", (region, plan, expected) => {
    expect(GlmProvider.baseURLFor({ region, plan })).toBe(expected)
    const client = GlmClient.make({ apiKey: "k", region, plan })
    expect(client.options.baseURL).toBe(expected)
    expect(GlmClient.endpointOf(client).coding).toBe(plan === "coding")
  })

  it("an explicit baseURL wins over region and plan", () => {
    const client = GlmClient.make({ apiKey: "k", region: "cn", plan: "coding", baseURL: "https://proxy.test/v4" })
    expect(client.options.baseURL).toBe("https://proxy.test/v4")
  })

  it.each([
    ["https://api.z.ai/api/coding/paas/v4", true],
    ["https://open.bigmodel.cn/api/coding/paas/v4/", true],
    ["https://api.z.ai/api/paas/v4", false],
    ["https://proxy.test/v4?route=coding", false]
  ])("isCodingEndpoint(%s) is %s", (url, expected) => {
    expect(GlmProvider.isCodingEndpoint(url)).toBe(expected)
  })
})

describe("configuration from the environment", () => {
  it("reads ZAI_API_KEY, and sends Accept-Language: en-US,en", async () => {
    const zai = GlmMock.make({ apiKey: "zai-secret" })
    server.use(...zai.handlers)
    const exit = await chatWith(GlmClient.layerConfig(), { ZAI_API_KEY: "zai-secret", ZHIPUAI_API_KEY: "other" })
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(zai.recorder.last().headers.authorization).toBe("Bearer zai-secret")
    expect(zai.recorder.last().headers["accept-language"]).toBe("en-US,en")
  })

  it("falls back to ZHIPUAI_API_KEY", async () => {
    const zai = GlmMock.make({ apiKey: "zhipu-secret" })
    server.use(...zai.handlers)
    expect(Exit.isSuccess(await chatWith(GlmClient.layerConfig(), { ZHIPUAI_API_KEY: "zhipu-secret" }))).toBe(true)
  })

  it("ZAI_BASE_URL overrides region and plan", async () => {
    const zai = GlmMock.make({ baseURL: "https://gateway.test/glm/v4" })
    server.use(...zai.handlers)
    const exit = await chatWith(GlmClient.layerConfig({ region: "cn", plan: "coding" }), {
      ZAI_API_KEY: "test-key",
      ZAI_BASE_URL: "https://gateway.test/glm/v4"
    })
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(zai.recorder.last().url).toBe("https://gateway.test/glm/v4/chat/completions")
  })

  it("the coding plan from options reaches the coding endpoint", async () => {
    const zai = GlmMock.make({ baseURL: "https://open.bigmodel.cn/api/coding/paas/v4" })
    server.use(...zai.handlers)
    const exit = await chatWith(GlmClient.layerConfig({ region: "cn", plan: "coding" }), { ZAI_API_KEY: "test-key" })
    expect(Exit.isSuccess(exit)).toBe(true)
  })

  it("fails with a configuration error naming the variables when no key is set", async () => {
    const exit = await chatWith(GlmClient.layerConfig(), {})
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/ZAI_API_KEY|ZHIPUAI_API_KEY/)
  })

  it("never exposes the key in the client's options", () => {
    const client = GlmClient.make({ apiKey: Redacted.make("top-secret-key"), plan: "coding" })
    expect(JSON.stringify(client.options)).not.toContain("top-secret-key")
    expect(client.options).toEqual({ plan: "coding", baseURL: "https://api.z.ai/api/coding/paas/v4" })
  })
})

describe("a missing key", () => {
  it("layerConfig without ZAI_API_KEY or ZHIPUAI_API_KEY (unset or blank) fails with MissingKey naming both, before any HTTP call", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    for (const env of [{}, { ZAI_API_KEY: "", ZHIPUAI_API_KEY: " " }]) {
      const error = failure(await chatWith(GlmClient.layerConfig(), env))
      expect(error.reason).toMatchObject({ _tag: "AuthenticationError", kind: "MissingKey" })
      expect(ProviderError.describe(error).message).toMatch(/ZAI_API_KEY or ZHIPUAI_API_KEY/)
    }
    expect(zai.recorder.count).toBe(0)
  })

  it("a client built without a key (from JavaScript) fails each call with MissingKey, without sending", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const error = failure(await chatWith(GlmClient.layer({ apiKey: undefined as never })))
    expect(error.reason).toMatchObject({ _tag: "AuthenticationError", kind: "MissingKey" })
    expect(ProviderError.describe(error).message).toMatch(/ZAI_API_KEY or ZHIPUAI_API_KEY/)
    expect(zai.recorder.count).toBe(0)
  })
})

describe("auth errors with the real bodies", () => {
  it("a missing key is 1001 (MissingKey), a wrong key 1002 (InvalidKey)", async () => {
    const zai = GlmMock.make({ apiKey: "right" })
    server.use(...zai.handlers)
    const wrong = failure(await chatWith(GlmClient.layer({ apiKey: "wrong" })))
    expect(wrong.reason).toMatchObject({ _tag: "AuthenticationError", kind: "InvalidKey" })
    expect(ProviderError.describe(wrong)).toMatchObject({ status: 401, code: "1002", retryable: false })
    const empty = failure(await chatWith(GlmClient.layer({ apiKey: "" })))
    expect(ProviderError.describe(empty).code).toBe("1001")
    expect(empty.reason).toMatchObject({ kind: "MissingKey" })
  })
})

describe("JWT mode", () => {
  const key = "a1b2c3d4e5f6.s3cr3tS3cr3t"

  effectIt.effect("JWT token cached and renewed before expiry", () =>
    Effect.gen(function* () {
      const source = Jwt.tokenSource(Redacted.make(key))
      const first = Redacted.value(yield* source)
      const decoded = Jwt.decode(first)
      expect(decoded.header).toEqual({ alg: "HS256", sign_type: "SIGN" })
      expect(decoded.payload).toEqual({ api_key: "a1b2c3d4e5f6", exp: 210_000, timestamp: 0 })

      yield* TestClock.adjust("179 seconds")
      expect(Redacted.value(yield* source)).toBe(first)

      yield* TestClock.adjust("1 second")
      const renewed = Redacted.value(yield* source)
      expect(renewed).not.toBe(first)
      expect(Jwt.decode(renewed).payload).toEqual({ api_key: "a1b2c3d4e5f6", exp: 390_000, timestamp: 180_000 })
    })
  )

  effectIt.effect("the lifetime and renewal margin are configurable (ms)", () =>
    Effect.gen(function* () {
      const source = Jwt.tokenSource(Redacted.make(key), { ttlMs: 60_000, renewBeforeMs: 10_000 })
      const first = Redacted.value(yield* source)
      yield* TestClock.adjust("49 seconds")
      expect(Redacted.value(yield* source)).toBe(first)
      yield* TestClock.adjust("1 second")
      expect(Jwt.decode(Redacted.value(yield* source)).payload).toMatchObject({ exp: 110_000, timestamp: 50_000 })
    })
  )

  it("signs with HMAC-SHA256 over header.payload (pure)", () => {
    const token = Jwt.sign({ id: "id", secret: "secret", nowMs: 1_700_000_000_000, ttlMs: 210_000 })
    expect(Jwt.sign({ id: "id", secret: "secret", nowMs: 1_700_000_000_000, ttlMs: 210_000 })).toBe(token)
    expect(token.split(".")).toHaveLength(3)
    expect(Jwt.sign({ id: "id", secret: "other", nowMs: 1_700_000_000_000, ttlMs: 210_000 })).not.toBe(token)
  })

  it.each(["no-dot-key", "a.b.c", ".secret", "id."])("refuses the key %s before sending", (bad) => {
    const split = Jwt.splitKey(bad)
    expect(Result.isFailure(split) && split.failure.reason._tag).toBe("AuthenticationError")
  })

  it("sends a token the server verifies, never the raw key", async () => {
    const zai = GlmMock.make({ apiKey: "unused", jwt: { id: "a1b2c3d4e5f6", secret: "s3cr3tS3cr3t" } })
    server.use(...zai.handlers)
    const exit = await chatWith(GlmClient.layer({ apiKey: key, auth: "jwt" }))
    expect(Exit.isSuccess(exit)).toBe(true)
    const authorization = zai.recorder.last().headers.authorization ?? ""
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
    expect(authorization).not.toContain("s3cr3tS3cr3t")
  })

  it("a malformed key fails with an authentication error and nothing is sent", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const error = failure(await chatWith(GlmClient.layer({ apiKey: "no-dot-key", auth: "jwt" })))
    expect(error.reason._tag).toBe("AuthenticationError")
    expect(zai.recorder.count).toBe(0)
  })

  it("an expired token is answered 1003 and classified as an expired key", async () => {
    const zai = GlmMock.make({ jwt: { id: "a1b2c3d4e5f6", secret: "s3cr3tS3cr3t" } })
    server.use(...zai.handlers)
    const error = failure(
      await chatWith(GlmClient.layer({ apiKey: key, auth: "jwt", jwt: { ttlMs: 0, renewBeforeMs: 0 } }))
    )
    expect(error.reason).toMatchObject({ _tag: "AuthenticationError", kind: "ExpiredKey" })
    expect(ProviderError.describe(error).code).toBe("1003")
  })
})
