import { type Config, ConfigProvider, Effect, Layer, Redacted } from "effect"
import { type AiError, LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiLanguageModel from "../src/KimiLanguageModel.js"
import * as KimiProvider from "../src/KimiProvider.js"
import { KimiMock } from "../src/testing/index.js"
import { describe as describeError, failureOf, runExit, successOf, testKey } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const mockAt = (baseURL: string, options: KimiMock.Options = {}) => {
  const mock = KimiMock.make({ baseURL, ...options })
  server.use(...mock.handlers)
  return mock
}

const ask = (
  client: Layer.Layer<KimiClient.KimiClient, Config.ConfigError | AiError.AiError>,
  model = "kimi-k3",
  env: Record<string, string> = {}
) =>
  runExit(
    LanguageModel.generateText({ prompt: "Hi" }),
    KimiLanguageModel.layer(model).pipe(
      Layer.provide(client),
      Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
    ) as Layer.Layer<LanguageModel.LanguageModel>
  )

describe("endpoints", () => {
  const cases: ReadonlyArray<readonly [string, KimiClient.Options, string]> = [
    ["default: the global platform", {}, "https://api.moonshot.ai/v1"],
    ["region global", { region: "global" }, "https://api.moonshot.ai/v1"],
    ["region cn", { region: "cn" }, "https://api.moonshot.cn/v1"],
    ["plan coding: Kimi Code", { plan: "coding" }, "https://api.kimi.com/coding/v1"],
    ["plan open with region cn", { plan: "open", region: "cn" }, "https://api.moonshot.cn/v1"],
    [
      "an explicit baseURL wins",
      { region: "cn", baseURL: "https://proxy.example.test/v1" },
      "https://proxy.example.test/v1"
    ]
  ]
  for (const [name, options, baseURL] of cases) {
    it(name, async () => {
      const mock = mockAt(baseURL, options.plan === "coding" ? { apiKey: "sk-kimi-test" } : {})
      const apiKey = options.plan === "coding" ? "sk-kimi-test" : testKey
      const model = options.plan === "coding" ? "kimi-for-coding" : "kimi-k3"
      successOf(await ask(KimiClient.layer({ ...options, apiKey }), model))
      expect(KimiClient.make({ ...options, apiKey }).options.baseURL).toBe(baseURL)
      expect(mock.recorder.count).toBe(1)
    })
  }
})

describe("configuration from the environment", () => {
  it("reads MOONSHOT_API_KEY and MOONSHOT_BASE_URL", async () => {
    const mock = mockAt("https://gateway.example.test/v1", { apiKey: "from-env" })
    successOf(
      await ask(KimiClient.layerConfig(), "kimi-k3", {
        MOONSHOT_API_KEY: "from-env",
        MOONSHOT_BASE_URL: "https://gateway.example.test/v1"
      })
    )
    expect(mock.recorder.last().headers.authorization).toBe("Bearer from-env")
  })

  it("falls back to KIMI_API_KEY", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1", { apiKey: "kimi-env" })
    successOf(await ask(KimiClient.layerConfig(), "kimi-k3", { KIMI_API_KEY: "kimi-env" }))
    expect(mock.recorder.last().headers.authorization).toBe("Bearer kimi-env")
  })

  it("options win over the environment", async () => {
    const mock = mockAt("https://api.moonshot.cn/v1")
    successOf(
      await ask(KimiClient.layerConfig({ apiKey: testKey, region: "cn" }), "kimi-k3", { MOONSHOT_API_KEY: "ignored" })
    )
    expect(mock.recorder.last().headers.authorization).toBe(`Bearer ${testKey}`)
  })

  it("without a key, fails with a configuration error naming the variables", async () => {
    const exit = await ask(KimiClient.layerConfig(), "kimi-k3", {})
    expect(String(exit._tag === "Failure" ? exit.cause : "")).toMatch(/MOONSHOT_API_KEY|KIMI_API_KEY/)
  })

  it("without a key (or with blank variables), fails with a MissingKey AuthenticationError naming both variables, before any HTTP call", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1")
    for (const env of [{}, { MOONSHOT_API_KEY: "", KIMI_API_KEY: "  " }]) {
      const error = failureOf(await ask(KimiClient.layerConfig(), "kimi-k3", env))
      expect(error.reason).toMatchObject({ _tag: "AuthenticationError", kind: "MissingKey" })
      expect(describeError(error).message).toMatch(/MOONSHOT_API_KEY or KIMI_API_KEY/)
    }
    expect(mock.recorder.count).toBe(0)
  })

  it("a client built without a key (from JavaScript) fails each call with MissingKey, never a TypeError", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1")
    const error = failureOf(await ask(KimiClient.layer({ apiKey: undefined as never })))
    expect(error.reason).toMatchObject({ _tag: "AuthenticationError", kind: "MissingKey" })
    expect(describeError(error).message).toMatch(/MOONSHOT_API_KEY or KIMI_API_KEY/)
    expect(mock.recorder.count).toBe(0)
  })
})

describe("User-Agent and keys", () => {
  it("the default User-Agent is Conduit's own, never another product's", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1")
    successOf(await ask(KimiClient.layer({ apiKey: testKey })))
    expect(mock.recorder.last().headers["user-agent"]).toBe(KimiProvider.defaultUserAgent)
    expect(KimiProvider.defaultUserAgent).not.toMatch(/claude|kimi-cli|roo|kilo|openai/i)
  })

  it("the User-Agent is configurable, and admitted by a Kimi Code gate that recognizes it", async () => {
    const mock = mockAt("https://api.kimi.com/coding/v1", {
      apiKey: "sk-kimi-test",
      gate: { admit: (agent) => agent === "MyAgent/2.0" }
    })
    successOf(
      await ask(
        KimiClient.layer({ apiKey: "sk-kimi-test", plan: "coding", userAgent: "MyAgent/2.0" }),
        "kimi-for-coding"
      )
    )
    expect(mock.recorder.last().headers["user-agent"]).toBe("MyAgent/2.0")
  })

  it("a Kimi Code key on the open platform is refused before sending", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1")
    const error = failureOf(await ask(KimiClient.layer({ apiKey: "sk-kimi-abc" })))
    expect(describeError(error)).toMatchObject({ reason: "AuthenticationError", kind: "preflight" })
    expect(describeError(error).message).toMatch(/pass plan: "coding"/)
    expect(mock.recorder.count).toBe(0)
  })

  it("the key is never kept in the client's options", () => {
    const client = KimiClient.make({ apiKey: Redacted.make("sk-secret-123"), region: "cn" })
    expect(JSON.stringify(client.options)).not.toContain("sk-secret-123")
    expect(client.options.baseURL).toBe("https://api.moonshot.cn/v1")
  })

  it("extra headers are sent", async () => {
    const mock = mockAt("https://api.moonshot.ai/v1")
    successOf(await ask(KimiClient.layer({ apiKey: testKey, headers: { "X-Msh-Request-Nonce": "2f1c" } })))
    expect(mock.recorder.last().headers["x-msh-request-nonce"]).toBe("2f1c")
  })
})

describe("KimiClient.make", () => {
  it("uses the given provider", async () => {
    mockAt("https://api.moonshot.ai/v1")
    const provider = KimiProvider.make({ webSearchMaxRounds: 1 })
    const client = KimiClient.make({ apiKey: testKey, provider })
    const body = successOf(
      await Effect.runPromiseExit(
        client.createChatCompletion({ model: "kimi-k3", messages: [{ role: "user", content: "Hi" }] })
      )
    )
    expect(body.body.choices[0]?.message?.content).toBe("Hello from simulated Kimi.")
  })
})
