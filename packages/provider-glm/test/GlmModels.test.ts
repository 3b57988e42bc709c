/**
 * The GLM catalog: lookup, pass-through of unknown ids, the forced tool_choice evidence, pre-flight with the
 * catalogued context windows, and the live model listing.
 */
import { ModelCatalog, OpenAiCompatLanguageModel } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Exit, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import { http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmModels from "../src/GlmModels.js"
import * as GlmProvider from "../src/GlmProvider.js"
import * as GlmMock from "../src/testing/GlmMock.js"
import * as GlmScenarios from "../src/testing/GlmScenarios.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("lookup", () => {
  it.each([
    ["glm-4.6", "glm-4.6"],
    ["GLM-4.6", "glm-4.6"],
    ["glm-4v-plus", "glm-4v-plus-0111"],
    ["glm-4.5-x", "glm-4.5-x"]
  ])("resolves %s to %s", async (id, expected) => {
    const info = await Effect.runPromise(GlmModels.catalog.resolve(id))
    expect(info.id).toBe(expected)
    expect(info.unknown).toBeUndefined()
  })

  it("passes unknown ids through with conservative defaults, never rejecting them", async () => {
    const info = await Effect.runPromise(GlmModels.catalog.resolve("glm-9-preview"))
    expect(info).toMatchObject({ id: "glm-9-preview", provider: "glm", unknown: true })
    expect(GlmModels.features(info).toolStream).toBe(false)
    expect(GlmModels.get("glm-9-preview")).toBeUndefined()
  })

  it("every model's output cap fits its context window, and every entry names its source", () => {
    for (const info of GlmModels.models) {
      expect(info.maxOutputTokens, info.id).toBeLessThanOrEqual(info.contextWindow)
      expect(info.source, info.id).toBeDefined()
    }
  })

  // The only entries whose context window AND output cap an official page gives (docs/providers/glm.md#model-catalog
  // table, ZAI-DOCS-4.6 overview / concept-param; BM-DOCS glm-4 page for glm-4-plus), with those numbers.
  const confirmed: Record<string, readonly [context: number, output: number]> = {
    "glm-4.6": [200_000, 131_072],
    "glm-4.5": [128_000, 98_304],
    "glm-4.5-air": [128_000, 98_304],
    "glm-4.5-x": [128_000, 98_304],
    "glm-4.5-airx": [128_000, 98_304],
    "glm-4.5-flash": [128_000, 98_304],
    "glm-4.5v": [65_536, 16_384],
    "glm-4-32b-0414-128k": [128_000, 16_384],
    "glm-4-plus": [128_000, 4_096]
  }

  it("unconfirmed numbers are marked: every entry without an official context and output is UNCONFIRMED", () => {
    for (const info of GlmModels.models) {
      if (info.id in confirmed) {
        expect([info.contextWindow, info.maxOutputTokens], info.id).toEqual(confirmed[info.id])
        expect(info.source, info.id).not.toMatch(/UNCONFIRMED/)
      } else {
        expect(info.source, info.id).toMatch(/UNCONFIRMED/)
      }
    }
    expect(Object.keys(confirmed).filter((id) => GlmModels.get(id) === undefined)).toEqual([])
  })

  it.each([
    // ZAI-SDK-JAVA core/Constants.java (docs/providers/glm.md#model-catalog)
    ["glm-4.6-air", /ZAI-SDK-JAVA/],
    ["glm-4.6-flash", /ZAI-SDK-JAVA/],
    ["glm-4-flashx", /ZAI-SDK-JAVA/],
    ["glm-4", /ZAI-SDK-JAVA/],
    ["glm-4-0520", /ZAI-SDK-JAVA/],
    ["glm-4-9b", /ZAI-SDK-JAVA/],
    ["glm-4v", /ZAI-SDK-JAVA/],
    ["glm-4.1v-thinking-flashx", /ZAI-SDK-JAVA/],
    // the Vercel community provider's list (docs/providers/glm.md#model-catalog)
    ["glm-4.5-flashx", /zhipu-ai-provider/],
    ["glm-4.6-flashx", /zhipu-ai-provider/],
    ["autoglm-phone", /zhipu-ai-provider/]
  ])(
    "the catalog has %s, from the source docs/providers/glm.md#model-catalog gives, with its numbers UNCONFIRMED",
    (id, source) => {
      const info = GlmModels.get(id)
      expect(info?.id).toBe(id)
      expect(info?.unknown).toBeUndefined()
      expect(info?.source).toMatch(source)
      expect(info?.source).toMatch(/UNCONFIRMED/)
    }
  )

  it("glm-4.7 thinks compulsorily (ZAI-OAS ChatThinking): thinking is always, disabling it is refused", async () => {
    expect(GlmModels.get("glm-4.7")?.capabilities.thinking).toBe("always")
    expect(GlmModels.get("glm-4.5v")?.capabilities.thinking).toBe("always")
    expect(GlmModels.get("glm-4.6")?.capabilities.thinking).toBe("optional")
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        "https://api.z.ai/api/paas/v4",
        () => MockUpstream.json(GlmScenarios.text.body),
        recorder
      )
    )
    const layer = GlmLanguageModel.layer("glm-4.7", {
      providerOptions: { thinking: { type: "disabled" } }
    }).pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key" })))
    const exit = await Effect.runPromiseExit(LanguageModel.generateText({ prompt: "hi" }).pipe(Effect.provide(layer)))
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/glm-4.7 always thinks/)
    expect(recorder.count).toBe(0)
  })
})

Recordings.describeRecordings("forced tool_choice follows the recorded evidence", () => {
  it("models recorded honouring a forced function choice have toolChoiceNamed; glm-4.6 does not", () => {
    const honoured = new Set<string>()
    for (const file of Recordings.list("glm/fantasy", /ObjectGeneration.*\.yaml$/)) {
      for (const { request, response } of Recordings.readCassette(file).interactions) {
        const forced = typeof (request.json as { tool_choice?: unknown }).tool_choice === "object"
        const payloads = response.sse ?? [response.body]
        const calledTool = payloads.some((payload) => payload.includes('"tool_calls"'))
        if (forced && calledTool && response.status === 200) {
          honoured.add(String((request.json as { model: string }).model))
        }
      }
    }
    expect([...honoured]).toEqual(["glm-4.5"])
    for (const id of honoured) expect(GlmModels.get(id)?.capabilities.toolChoiceNamed).toBe(true)
    expect(GlmModels.get("glm-4.6")?.capabilities.toolChoiceNamed).toBe(false)
  })
})

describe("pre-flight with the catalogued context window", () => {
  it("a prompt that cannot fit the context window is refused before sending", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        "https://api.z.ai/api/paas/v4",
        () => MockUpstream.json(GlmScenarios.text.body),
        recorder
      )
    )
    const layer = GlmLanguageModel.layer("glm-4-airx", { preflight: true }).pipe(
      Layer.provide(GlmClient.layer({ apiKey: "test-key" }))
    )
    const exit = await Effect.runPromiseExit(
      LanguageModel.generateText({ prompt: "长".repeat(20_000) }).pipe(Effect.provide(layer))
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/8192-token context window of glm-4-airx/)
    expect(recorder.count).toBe(0)
  })
})

describe("catalog lifecycle", () => {
  // docs/providers/glm.md#model-lifecycle announces no retirement or deprecation of any GLM id, so every entry is
  // active; the lifecycle is honoured for a catalog that does list one (a custom entry here).
  it("catalog lifecycle: every catalogued GLM model is active (docs/providers/glm.md#model-lifecycle lists no retired or deprecated id)", () => {
    expect(GlmModels.models.filter((info) => info.lifecycle.status !== "active").map((info) => info.id)).toEqual([])
  })

  const base = GlmModels.get("glm-4.6") as GlmModels.GlmModelInfo
  const custom = ModelCatalog.make("glm", [
    ...GlmModels.models,
    {
      ...base,
      id: "glm-3-turbo-test",
      aliases: undefined,
      lifecycle: { status: "retired", date: "2025-06-30", replacements: ["glm-4.6"] }
    },
    {
      ...base,
      id: "glm-4-deprecated-test",
      aliases: undefined,
      lifecycle: { status: "deprecated", date: "2099-01-01" }
    }
  ])

  const generateWith = async (model: string) => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions(
        "https://api.z.ai/api/paas/v4",
        () => MockUpstream.json(GlmScenarios.text.body),
        recorder
      )
    )
    const exit = await Effect.runPromiseExit(
      Effect.flatMap(GlmClient.GlmClient, (client) =>
        OpenAiCompatLanguageModel.make({
          spec: { ...GlmProvider.declarations, catalog: custom },
          client,
          model
        })
      ).pipe(
        Effect.flatMap((service) =>
          Effect.provideService(LanguageModel.generateText({ prompt: "hi" }), LanguageModel.LanguageModel, service)
        ),
        Effect.provide(GlmClient.layer({ apiKey: "test-key" }))
      )
    )
    return { exit, recorder }
  }

  it("catalog lifecycle: a retired entry is sent (lifecycle is information), with a warning naming its replacement", async () => {
    const { exit, recorder } = await generateWith("glm-3-turbo-test")
    expect(recorder.count).toBe(1)
    expect(Exit.isSuccess(exit)).toBe(true)
    if (Exit.isFailure(exit)) return
    const finish = exit.value.content.find((part) => part.type === "finish")
    expect(JSON.stringify(finish?.metadata)).toMatch(/marked retired \(2025-06-30\).*current models: glm-4\.6/)
  })

  it("catalog lifecycle: a deprecated entry is still served", async () => {
    const { exit, recorder } = await generateWith("glm-4-deprecated-test")
    expect(Exit.isSuccess(exit) && exit.value.text).toBe(GlmScenarios.text.text)
    expect(recorder.count).toBe(1)
  })
})

describe("listLive", () => {
  it("merges the account's models with the catalog (unknown ids with defaults)", async () => {
    const zai = GlmMock.make()
    server.use(
      http.get("https://api.z.ai/api/paas/v4/models", () =>
        MockUpstream.json({
          object: "list",
          data: [
            { id: "glm-4.6", object: "model", created: 1, owned_by: "z-ai" },
            { id: "glm-6-experimental", object: "model", created: 1, owned_by: "z-ai" }
          ]
        })
      ),
      ...zai.handlers
    )
    const listed = await Effect.runPromise(GlmModels.listLive(GlmClient.make({ apiKey: "test-key" })))
    expect(listed.map((info) => [info.id, info.unknown ?? false])).toEqual([
      ["glm-4.6", false],
      ["glm-6-experimental", true]
    ])
    expect(listed[0]).toBe(GlmModels.get("glm-4.6"))
  })
})
