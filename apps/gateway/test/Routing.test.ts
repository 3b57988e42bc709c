/**
 * Provider wiring (live / simulated / disabled from the environment), model routes (built-in table restricted to
 * the configured providers, services built once per route), and the Prometheus metrics after real traffic.
 */
import { ModelCatalog, ProviderRegistry } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { ConfigProvider, Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelRoutes from "../src/ModelRoutes.js"
import * as Providers from "../src/Providers.js"
import {
  chunk,
  client,
  completionBody,
  errorBody,
  mswServer,
  realFetch,
  referenceEntry,
  respond,
  startGateway
} from "./support.js"

const wire = (env: Record<string, string>, simulate?: boolean) =>
  Effect.runPromise(
    Providers.wire(Providers.builtin, { simulate }).pipe(
      Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env }))
    )
  )

const modes = (wired: Providers.Wired) => wired.status.map(({ name, mode }) => [name, mode])

describe("Providers.wire", () => {
  it("live with a key (either variable name), pointed at the base URL variable", async () => {
    const wired = await wire({
      MOONSHOT_API_KEY: "sk-kimi-secret",
      MOONSHOT_BASE_URL: "https://proxy.example/v1",
      ZHIPUAI_API_KEY: "glm-secret.abc"
    })
    expect(modes(wired)).toEqual([
      ["kimi", "live"],
      ["glm", "live"]
    ])
    expect(wired.status[0]?.detail).toBe("key from MOONSHOT_API_KEY, https://proxy.example/v1")
    expect(wired.status[1]?.detail).toBe("key from ZHIPUAI_API_KEY, https://api.z.ai/api/paas/v4")
    expect(JSON.stringify(wired.status)).not.toContain("secret")
    expect(wired.handlers).toEqual([])
    expect(wired.entries.map((entry) => [entry.name, entry.mode])).toEqual([
      ["kimi", "live"],
      ["glm", "live"]
    ])
  })

  it("without any key: both simulated by default (with the simulations' handlers), disabled with CONDUIT_SIMULATE=0", async () => {
    const simulated = await wire({})
    expect(modes(simulated)).toEqual([
      ["kimi", "simulated"],
      ["glm", "simulated"]
    ])
    expect(simulated.handlers.length).toBeGreaterThan(0)
    const disabled = await wire({}, false)
    expect(disabled.status.map(({ mode }) => mode)).toEqual(["disabled", "disabled"])
    expect(disabled.status[0]?.detail).toContain("CONDUIT_SIMULATE=0")
    expect(disabled.entries).toEqual([])
  })

  it("once a provider is live, one without a key is disabled unless CONDUIT_SIMULATE=1 asks for its simulation", async () => {
    const mixed = await wire({ KIMI_API_KEY: "sk-kimi" })
    expect(modes(mixed)).toEqual([
      ["kimi", "live"],
      ["glm", "disabled"]
    ])
    expect(mixed.status[1]?.detail).toContain("CONDUIT_SIMULATE=1")
    expect(mixed.handlers).toEqual([])
    expect(mixed.entries.map((entry) => entry.name)).toEqual(["kimi"])
    const asked = await wire({ KIMI_API_KEY: "sk-kimi" }, true)
    expect(modes(asked)).toEqual([
      ["kimi", "live"],
      ["glm", "simulated"]
    ])
    expect(asked.status[1]?.detail).toContain("x-conduit-simulated")
    // a models.yaml backend is live too
    const backend = await Effect.runPromise(
      Providers.wire(Providers.builtin, { simulate: undefined, live: true }).pipe(
        Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env: {} }))
      )
    )
    expect(backend.status.map(({ mode }) => mode)).toEqual(["disabled", "disabled"])
  })
})

describe("ModelRoutes", () => {
  it("the built-in table keeps only configured providers, promoting a fallback when the target is missing", () => {
    expect(ModelRoutes.restrictTo(ModelRoutes.builtinModels, new Set(["glm"]))).toEqual({
      models: {
        default: { target: "glm/glm-4.6", fallbacks: [] },
        fast: { target: "glm/glm-4.5-air", fallbacks: [] },
        thinking: { target: "glm/glm-5.3", fallbacks: [] },
        vision: { target: "glm/glm-4.6v", fallbacks: [] }
      }
    })
    expect(ModelRoutes.restrictTo(ModelRoutes.builtinModels, new Set())).toEqual({ models: {} })
    const both = ModelRoutes.restrictTo(ModelRoutes.builtinModels, new Set(["kimi", "glm"]))
    expect(both.models?.default).toEqual({ target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6"] })
  })

  it("no fallback lands on a simulated provider from one that is not simulated", () => {
    const config = {
      models: {
        live: { target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6", "other/x"] },
        canned: { target: "glm/glm-4.6", fallbacks: ["kimi/kimi-k2.6"] },
        plain: { target: "kimi/kimi-k3" }
      }
    }
    expect(ModelRoutes.withoutSimulatedFallbacks(config, new Set(["glm"]))).toEqual({
      models: {
        live: { target: "kimi/kimi-k2.6", fallbacks: ["other/x"] },
        canned: { target: "glm/glm-4.6", fallbacks: ["kimi/kimi-k2.6"] },
        plain: { target: "kimi/kimi-k3" }
      }
    })
    expect(ModelRoutes.withoutSimulatedFallbacks(config, new Set())).toBe(config)
  })

  it("the built-in table names only models the provider catalogs serve (none unknown, none retired)", () => {
    const catalogs = new Map(Providers.builtin.map((module) => [module.name, module.catalog]))
    for (const route of Object.values(ModelRoutes.builtinModels.models ?? {})) {
      for (const target of [route.target, ...(route.fallbacks ?? [])]) {
        const [provider, id] = target.split("/") as [string, string]
        const info = catalogs.get(provider)?.get(id)
        expect(info, target).toBeDefined()
        expect(info?.lifecycle.status, target).toBe("active")
      }
    }
  })

  it("builds a route's model service once and reuses it; invented names are kept in a bounded cache", async () => {
    let builds = 0
    const entry: ProviderRegistry.ProviderEntry = {
      name: "count",
      catalog: ModelCatalog.make("count", []),
      layer: () =>
        Layer.effect(
          LanguageModel.LanguageModel,
          Effect.suspend(() => {
            builds++
            return LanguageModel.make({
              generateText: () => Effect.succeed([{ type: "text", text: "hi" }]),
              streamText: () => Effect.die("unused") as never
            })
          })
        )
    }
    const routes = ModelRoutes.make([entry], { models: { alias: { target: "count/a" } } }, { maxCached: 2 })
    const ask = (name: string) =>
      Effect.runPromise(
        Effect.flatMap(routes.resolve(name), (route) =>
          ProviderRegistry.provideRoute(routes.registry, route)(LanguageModel.generateText({ prompt: "x" }))
        )
      )
    expect((await ask("alias")).text).toBe("hi")
    await ask("alias")
    await ask("alias")
    expect(builds).toBe(1)
    await ask("count/x")
    await ask("count/y")
    await ask("count/x")
    expect(builds).toBe(3)
    await ask("count/z") // evicts count/x
    await ask("count/x")
    expect(builds).toBe(5)
    await ask("alias") // named routes are never evicted
    expect(builds).toBe(5)
  })
})

describe("metrics", () => {
  const server = mswServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  it("counts requests, errors by code, attempts, retries, fallbacks, cache hits, tokens, latency and open streams", async () => {
    const gateway = await startGateway({
      providers: [referenceEntry("ref"), referenceEntry("backup")],
      models: {
        models: { smart: { target: "ref/ref-chat-1", fallbacks: ["backup/ref-chat-1"], retry: { maxRetries: 1 } } }
      }
    })
    try {
      respond(server, "ref", ({ index, body }) =>
        index === 0
          ? MockUpstream.error(500, errorBody("flaky", "server_error", null))
          : body.stream === true
            ? MockUpstream.sse([
                chunk({ role: "assistant", content: "s" }),
                chunk({}, "stop"),
                {
                  id: "u",
                  object: "chat.completion.chunk",
                  created: 1,
                  model: "ref-chat-1",
                  choices: [],
                  usage: {
                    prompt_tokens: 100,
                    completion_tokens: 20,
                    total_tokens: 120,
                    prompt_tokens_details: { cached_tokens: 64 },
                    completion_tokens_details: { reasoning_tokens: 8 }
                  }
                }
              ])
            : MockUpstream.json(
                completionBody({ content: "ok" }, "stop", { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 })
              )
      )
      const sdk = client(gateway)
      await sdk.chat.completions.create({ model: "ref/ref-chat-1", messages: [{ role: "user", content: "a" }] }) // 2 attempts
      const stream = await sdk.chat.completions.create({
        model: "ref/ref-chat-1",
        messages: [{ role: "user", content: "b" }],
        stream: true
      })
      for await (const _ of stream) {
        // drain
      }
      await sdk.chat.completions.create({
        model: "ref/ref-chat-1",
        temperature: 0,
        messages: [{ role: "user", content: "c" }]
      })
      await sdk.chat.completions.create({
        model: "ref/ref-chat-1",
        temperature: 0,
        messages: [{ role: "user", content: "c" }]
      }) // cache hit
      await expect(
        sdk.chat.completions.create({ model: "nowhere/x", messages: [{ role: "user", content: "d" }] })
      ).rejects.toThrow()
      server.resetHandlers()
      respond(server, "ref", () => MockUpstream.error(503, errorBody("down", "server_error", null)))
      respond(server, "backup", () => MockUpstream.json(completionBody({ content: "backup" })))
      await sdk.chat.completions.create({ model: "smart", messages: [{ role: "user", content: "e" }] })

      const text = await (await realFetch(`${gateway.url}/metrics`)).text()
      const value = (series: string) => {
        const line = text.split("\n").find((l) => l.startsWith(`${series} `))
        return line === undefined ? undefined : Number(line.slice(series.length + 1))
      }
      expect(value('conduit_gateway_requests_total{endpoint="chat",status="200"}')).toBe(5)
      expect(value('conduit_gateway_requests_total{endpoint="chat",status="404"}')).toBe(1)
      expect(value('conduit_gateway_errors_total{endpoint="chat",code="model_not_found"}')).toBe(1)
      expect(value('conduit_gateway_upstream_attempts_total{provider="ref"}')).toBe(6)
      expect(value('conduit_gateway_upstream_attempts_total{provider="backup"}')).toBe(1)
      expect(value('conduit_gateway_retries_total{provider="ref"}')).toBe(2)
      expect(value('conduit_gateway_fallbacks_total{model="smart"}')).toBe(1)
      expect(value('conduit_gateway_cache_hits_total{kind="response"}')).toBe(1)
      expect(value('conduit_gateway_tokens_total{provider="ref",kind="cached"}')).toBe(64)
      expect(value('conduit_gateway_tokens_total{provider="ref",kind="reasoning"}')).toBe(8)
      expect(value('conduit_gateway_tokens_total{provider="ref",kind="input"}')).toBe(100 + 10 + 10 + 10)
      expect(value('conduit_gateway_request_duration_seconds_count{endpoint="chat",stream="true"}')).toBe(1)
      expect(value('conduit_gateway_time_to_first_token_seconds_count{provider="ref"}')).toBe(1)
      expect(value("conduit_gateway_open_streams")).toBe(0)
      expect(text).toContain("# TYPE conduit_gateway_request_duration_seconds histogram")
    } finally {
      await gateway.close()
    }
  })
})
