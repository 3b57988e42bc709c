import { ConfigProvider, Effect, Exit, Layer, Stream } from "effect"
import { AiError, LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as ModelsConfig from "../src/ModelsConfig.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as ProviderError from "../src/ProviderError.js"
import * as ProviderRegistry from "../src/ProviderRegistry.js"
import * as ResponseSummary from "../src/ResponseSummary.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"

const provider = (name: string) =>
  OpenAiCompatProvider.make({
    name,
    baseURLs: { default: `https://${name}.test/v1` },
    apiKeyEnv: [`${name.toUpperCase()}_KEY`],
    errorTable: ProviderError.openAiTable,
    defaultModel: `${name}-1`,
    catalog: ModelCatalog.make(name, [
      {
        id: `${name}-1`,
        provider: name,
        aliases: [`${name}-latest`],
        contextWindow: 8_000,
        maxOutputTokens: 1_000,
        capabilities: ModelCatalog.conservativeCapabilities,
        lifecycle: { status: "active" }
      }
    ]),
    reasoningReplay: { mode: "never" }
  })

const entries = ["alpha", "beta"].map((name): ProviderRegistry.ProviderEntry => {
  const p = provider(name)
  return {
    name,
    catalog: p.catalog,
    layer: (model, config) => p.layer(model, config).pipe(Layer.provide(p.clientLayer({ apiKey: "k" })))
  }
})

const yaml = `
models:
  fast:
    target: alpha/alpha-1
    fallbacks: [beta/beta-1]
    retry: { maxRetries: 0 }
    defaults: { temperature: 0.2, max_tokens: 64 }
`

const answer = (text: string) => ({
  id: "x",
  choices: [{ index: 0, message: { content: text }, finish_reason: "stop" }]
})
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const registry = async () => ProviderRegistry.make(entries, await Effect.runPromise(ModelsConfig.parse(yaml)))

describe("ProviderRegistry", () => {
  it("resolves provider/model ids, catalog aliases, unknown ids (passed through) and models.yaml names", async () => {
    const r = await registry()
    const resolve = (name: string) => Effect.runPromise(r.resolve(name))
    expect((await resolve("alpha/alpha-1")).info.contextWindow).toBe(8_000)
    expect((await resolve("alpha/alpha-latest")).model).toBe("alpha-1")
    expect((await resolve("beta/new-model")).info.unknown).toBe(true)
    const fast = await resolve("fast")
    expect([fast.provider, fast.model, fast.fallbacks.map((f) => f.name)]).toEqual([
      "alpha",
      "alpha-1",
      ["beta/beta-1"]
    ])
    expect(fast.config.request).toEqual({ temperature: 0.2, max_tokens: 64 })
  })

  it("fails with a typed error for an unknown provider or bare name", async () => {
    const r = await registry()
    for (const name of ["gamma/x", "nonsense", "alpha/"]) {
      const exit = await Effect.runPromiseExit(r.resolve(name))
      const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((reason) => reason._tag === "Fail") : undefined
      expect(failure?._tag === "Fail" && failure.error._tag).toBe("UnknownModelError")
    }
  })

  it("lists every routable name (models.yaml names and every active catalog model)", async () => {
    expect((await registry()).list().map((entry) => entry.name)).toEqual(["fast", "alpha/alpha-1", "beta/beta-1"])
  })

  it("falls back to the next provider after a retryable failure, with the route's defaults", async () => {
    const alpha = new MockUpstream.Recorder()
    const beta = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        "https://alpha.test/v1",
        () => MockUpstream.error(503, { error: { message: "down" } }),
        alpha
      ),
      MockUpstream.chatCompletions("https://beta.test/v1", () => MockUpstream.json(answer("from beta")), beta)
    )
    const r = await registry()
    const route = await Effect.runPromise(r.resolve("fast"))
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(ProviderRegistry.provideRoute(r, route))
    )
    expect(response.text).toBe("from beta")
    expect([alpha.count, beta.count]).toEqual([1, 1])
    expect(beta.last().body).toMatchObject({ temperature: 0.2, max_tokens: 64 })
  })

  it("does not fall back after an invalid request (the other provider would refuse too)", async () => {
    const beta = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions("https://alpha.test/v1", () =>
        MockUpstream.error(400, { error: { message: "bad", type: "invalid_request_error" } })
      ),
      MockUpstream.chatCompletions("https://beta.test/v1", () => MockUpstream.json(answer("no")), beta)
    )
    const r = await registry()
    const route = await Effect.runPromise(r.resolve("fast"))
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: "hi" }).pipe(ProviderRegistry.provideRoute(r, route))
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(beta.count).toBe(0)
  })

  it("hands over on retryable failures and quota exhaustion, never on invalid requests, auth or content policy", () => {
    const err = (reason: AiError.AiErrorReason) => AiError.make({ module: "t", method: "t", reason })
    const table: ReadonlyArray<[AiError.AiErrorReason, boolean]> = [
      [new AiError.RateLimitError({}), true],
      [new AiError.InternalProviderError({ description: "503" }), true],
      [new AiError.QuotaExhaustedError({}), true],
      [new AiError.InvalidRequestError({ description: "bad" }), false],
      [new AiError.AuthenticationError({ kind: "InvalidKey" }), false],
      [new AiError.ContentPolicyError({ description: "no" }), false]
    ]
    for (const [reason, expected] of table)
      expect([reason._tag, ProviderRegistry.isFallbackEligible(err(reason))]).toEqual([reason._tag, expected])
  })

  it("a stream falls back before its first part, never after", async () => {
    let fallbacks = 0
    const sse = (text: string) => [
      { id: "s", choices: [{ index: 0, delta: { content: text }, finish_reason: "stop" }] }
    ]
    server.use(
      MockUpstream.chatCompletions("https://alpha.test/v1", () =>
        MockUpstream.error(503, { error: { message: "down" } })
      ),
      MockUpstream.chatCompletions("https://beta.test/v1", () => MockUpstream.sse(sse("beta stream")))
    )
    const r = await registry()
    const route = await Effect.runPromise(r.resolve("fast"))
    const parts = await Effect.runPromise(
      Stream.runCollect(
        LanguageModel.streamText({ prompt: "hi" }).pipe(
          ProviderRegistry.provideRouteStream(r, route, { onFallback: () => fallbacks++ })
        )
      )
    )
    expect(ResponseSummary.fromParts(parts).text).toBe("beta stream")
    expect(fallbacks).toBe(1)

    server.resetHandlers(
      MockUpstream.chatCompletions("https://alpha.test/v1", () =>
        MockUpstream.sse([{ id: "s", choices: [{ index: 0, delta: { content: "partial" }, finish_reason: null }] }], {
          disconnectAfter: 1
        })
      ),
      MockUpstream.chatCompletions("https://beta.test/v1", () => MockUpstream.sse(sse("must not be used")))
    )
    const exit = await Effect.runPromiseExit(
      Stream.runCollect(
        LanguageModel.streamText({ prompt: "hi" }).pipe(
          Stream.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 0 }),
          ProviderRegistry.provideRouteStream(r, route)
        )
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
  })
})

describe("ProviderRegistry: kept services, observers and per-provider options", () => {
  it("builds a route's services once (pinned names) and keeps invented names in a bounded cache", async () => {
    const built: Array<string> = []
    const counting = entries.map(
      (entry): ProviderRegistry.ProviderEntry => ({
        ...entry,
        layer: (model, config) => {
          built.push(`${entry.name}/${model}`)
          return entry.layer(model, config)
        }
      })
    )
    const r = ProviderRegistry.make(counting, await Effect.runPromise(ModelsConfig.parse(yaml)), { maxCached: 1 })
    const resolve = (name: string) => Effect.runPromise(r.resolve(name))
    const fast = await resolve("fast")
    expect(r.services(fast)).toBe(r.services(fast))
    expect(built).toEqual(["alpha/alpha-1", "beta/beta-1"])
    const first = await resolve("alpha/invented-1")
    const second = await resolve("alpha/invented-2")
    const kept = r.services(first)
    expect(r.services(first)).toBe(kept)
    r.services(second) // evicts invented-1 (maxCached: 1)
    expect(r.services(first)).not.toBe(kept)
    expect(built.filter((name) => name === "alpha/invented-1")).toHaveLength(2)
  })

  it("observes each step and each hand-over", async () => {
    server.use(
      MockUpstream.chatCompletions("https://alpha.test/v1", () =>
        MockUpstream.error(503, { error: { message: "down" } })
      ),
      MockUpstream.chatCompletions("https://beta.test/v1", () => MockUpstream.json(answer("from beta")))
    )
    const r = await registry()
    const route = await Effect.runPromise(r.resolve("fast"))
    const steps: Array<number> = []
    let fallbacks = 0
    const observer = { onStep: (index: number) => steps.push(index), onFallback: () => fallbacks++ }
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(ProviderRegistry.provideRoute(r, route, observer))
    )
    expect(response.text).toBe("from beta")
    expect([steps, fallbacks]).toEqual([[0, 1], 1])
  })

  it("gives each step the providerOptions models.yaml sets for its provider", async () => {
    const config = await Effect.runPromise(
      ModelsConfig.parse(`
models:
  fast:
    target: alpha/alpha-1
    fallbacks: [beta/beta-1]
    providerOptions:
      alpha: { thinking: enabled }
`)
    )
    const route = await Effect.runPromise(ProviderRegistry.make(entries, config).resolve("fast"))
    expect(route.config.providerOptions).toEqual({ thinking: "enabled" })
    expect(route.fallbacks[0]?.config.providerOptions).toBeUndefined()
  })
})

describe("ModelsConfig", () => {
  const parse = (text: string) => Effect.runPromiseExit(ModelsConfig.parse(text, "models.yaml"))
  const errorOf = async (text: string) => {
    const exit = await parse(text)
    if (Exit.isSuccess(exit)) throw new Error("expected an error")
    return String(exit.cause)
  }

  it("parses the documented example", async () => {
    const exit = await parse(`models:
  fast:
    target: kimi/kimi-k2.6
    fallbacks: [glm/glm-4.6]
    retry: { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000 }
    timeouts: { firstTokenMs: 60000, idleMs: 30000, totalMs: 600000 }
    continuation: { maxContinuations: 3, maxTotalTokens: 32000 }
    defaults: { temperature: 0.6, max_tokens: 4096 }
`)
    expect(Exit.isSuccess(exit) && exit.value.models?.fast?.fallbacks).toEqual(["glm/glm-4.6"])
  })

  it("names the file, line and field of a wrong type", async () => {
    const message = await errorOf(`models:
  fast:
    target: kimi/kimi-k2.6
    retry:
      maxRetries: two
`)
    expect(message).toContain("models.yaml:5")
    expect(message).toContain("models.fast.retry.maxRetries")
  })

  it("refuses an unknown key (a typo) with its line", async () => {
    const message = await errorOf(`models:
  fast:
    target: kimi/kimi-k2.6
    fallback: [glm/glm-4.6]
`)
    expect(message).toMatch(/models\.yaml:\d+/)
    expect(message).toContain("fallback")
  })

  it("refuses a target that is not provider/model", async () => {
    expect(await errorOf("models:\n  fast:\n    target: kimi-k2.6\n")).toContain("models.fast.target")
  })

  it("refuses a price that is negative or not in an ISO 4217 currency, naming the field", async () => {
    expect(
      await errorOf("pricing:\n  kimi/kimi-k3: { currency: USD, inputPerMillion: -3, outputPerMillion: 15 }\n")
    ).toContain("pricing.kimi/kimi-k3.inputPerMillion")
    expect(
      await errorOf("pricing:\n  kimi/kimi-k3: { currency: dollars, inputPerMillion: 3, outputPerMillion: 15 }\n")
    ).toContain("pricing.kimi/kimi-k3.currency")
  })

  it("reports YAML syntax errors with their line", async () => {
    expect(await errorOf("models:\n  fast: [unclosed\n")).toMatch(/models\.yaml:\d+/)
  })

  it("parses a keys section: a budget per key id, rpm and tpm", async () => {
    const exit = await parse(`keys:
  key_3f2a9c0d1b4e:
    budget: { amount: 25, currency: USD, period: month }
    rpm: 60
    tpm: 200000
  anonymous:
    budget: { amount: 0.5, currency: CNY, period: day }
`)
    expect(Exit.isSuccess(exit) && exit.value.keys).toEqual({
      key_3f2a9c0d1b4e: { budget: { amount: 25, currency: "USD", period: "month" }, rpm: 60, tpm: 200_000 },
      anonymous: { budget: { amount: 0.5, currency: "CNY", period: "day" } }
    })
  })

  const keyErrors: ReadonlyArray<readonly [string, string, string]> = [
    // a keys section, the field, the message
    ["  sk-live-123:\n    rpm: 5\n", "keys.sk-live-123", 'expected a key id ("key_" and 12 lowercase hex'],
    ["  key_3F2A9C0D1B4E:\n    rpm: 5\n", "keys.key_3F2A9C0D1B4E", "expected a key id"],
    [
      "  key_3f2a9c0d1b4e:\n    budget: { amount: 0, currency: USD, period: day }\n",
      "keys.key_3f2a9c0d1b4e.budget.amount",
      "expected an amount > 0, got 0"
    ],
    [
      "  key_3f2a9c0d1b4e:\n    budget: { amount: 5, currency: usd, period: day }\n",
      "keys.key_3f2a9c0d1b4e.budget.currency",
      'expected an ISO 4217 currency code such as "USD", got "usd"'
    ],
    [
      "  key_3f2a9c0d1b4e:\n    budget: { amount: 5, currency: USD, period: week }\n",
      "keys.key_3f2a9c0d1b4e.budget.period",
      '"day" | "month"'
    ],
    [
      "  key_3f2a9c0d1b4e:\n    budget: { amount: 5, currency: USD }\n",
      "keys.key_3f2a9c0d1b4e.budget.period",
      "Missing key"
    ],
    ["  key_3f2a9c0d1b4e:\n    rpm: 1.5\n", "keys.key_3f2a9c0d1b4e.rpm", ""],
    ["  key_3f2a9c0d1b4e:\n    tpm: 0\n", "keys.key_3f2a9c0d1b4e.tpm", "greater than 0"],
    ["  key_3f2a9c0d1b4e:\n    rps: 3\n", "keys.key_3f2a9c0d1b4e.rps", "excess property"]
  ]
  for (const [section, field, detail] of keyErrors) {
    it(`refuses ${field} (${detail || "not an integer"}) naming the field and line`, async () => {
      const message = await errorOf(`keys:\n${section}`)
      expect(message).toMatch(/models\.yaml:[23]: /)
      expect(message).toContain(`${field}: `)
      expect(message).toContain(detail)
    })
  }

  it("reports an unreadable file by name", async () => {
    const exit = await Effect.runPromiseExit(ModelsConfig.load("/nonexistent/models.yaml"))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("/nonexistent/models.yaml")
  })
})

describe("configuration-only backends (models.yaml providers:)", () => {
  it("routes name/model to a declared OpenAI-compatible backend with its key from the environment", async () => {
    const config = await Effect.runPromise(
      ModelsConfig.parse(`
providers:
  deepseek:
    baseURL: https://deepseek.test/v1
    apiKeyEnv: DEEPSEEK_API_KEY
    models:
      deepseek-chat: { contextWindow: 65536 }
models:
  cheap:
    target: deepseek/deepseek-chat
`)
    )
    const backends = await Effect.runPromise(
      ProviderRegistry.backendEntries(config.providers ?? {}).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: { DEEPSEEK_API_KEY: "ds-key" } })))
      )
    )
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        "https://deepseek.test/v1",
        () => MockUpstream.json(answer("from deepseek")),
        recorder
      )
    )
    const r = ProviderRegistry.make([...entries, ...backends], config)
    const route = await Effect.runPromise(r.resolve("cheap"))
    expect(route.info.contextWindow).toBe(65_536)
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(ProviderRegistry.provideRoute(r, route))
    )
    expect(response.text).toBe("from deepseek")
    expect(recorder.last().headers.authorization).toBe("Bearer ds-key")
    expect((recorder.last().body as { model: string }).model).toBe("deepseek-chat")
  })

  it("prices a backend's responses from models.yaml pricing: (alias, target and fallback steps)", async () => {
    const config = await Effect.runPromise(
      ModelsConfig.parse(`
providers:
  deepseek:
    baseURL: https://deepseek.test/v1
    models:
      deepseek-chat: {}
pricing:
  deepseek/deepseek-chat: { currency: USD, inputPerMillion: 0.28, cachedInputPerMillion: 0.028, outputPerMillion: 0.42, source: https://api-docs.deepseek.com/quick_start/pricing, date: 2026-09-01 }
  alpha/alpha-latest: { currency: EUR, inputPerMillion: 1, outputPerMillion: 2 }
models:
  cheap:
    target: deepseek/deepseek-chat
    fallbacks: [alpha/alpha-1, beta/beta-1]
`)
    )
    const backends = await Effect.runPromise(ProviderRegistry.backendEntries(config.providers ?? {}))
    server.use(
      MockUpstream.chatCompletions("https://deepseek.test/v1", () =>
        MockUpstream.json({
          ...answer("priced"),
          usage: {
            prompt_tokens: 1_000_000,
            completion_tokens: 100_000,
            total_tokens: 1_100_000,
            prompt_tokens_details: { cached_tokens: 500_000 }
          }
        })
      )
    )
    const r = ProviderRegistry.make([...entries, ...backends], config)
    const route = await Effect.runPromise(r.resolve("cheap"))
    // an alias in pricing: keys prices the catalog id; a model without an entry has none
    expect(route.fallbacks.map((step) => step.config.pricing?.currency)).toEqual(["EUR", undefined])
    const response = await Effect.runPromise(
      LanguageModel.generateText({ prompt: "hi" }).pipe(ProviderRegistry.provideRoute(r, route))
    )
    const summary = ResponseSummary.fromParts(response.content)
    // 500,000 × 0.28 + 500,000 × 0.028 + 100,000 × 0.42 = 196,000 per million
    expect(summary.cost).toEqual({ amount: 0.196, currency: "USD", unconfirmed: false })
  })

  it("names the missing key variable", async () => {
    const exit = await Effect.runPromiseExit(
      ProviderRegistry.backendEntries({ vllm: { baseURL: "http://127.0.0.1:1/v1", apiKeyEnv: "VLLM_KEY" } }).pipe(
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env: {} })))
      )
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("VLLM_KEY")
  })
})
