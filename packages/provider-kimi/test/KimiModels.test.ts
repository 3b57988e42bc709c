import { ModelCatalog } from "@conduitkit/core"
import { Recordings } from "@conduitkit/core/testing"
import { Effect, Exit, Schema } from "effect"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiError from "../src/KimiError.js"
import * as KimiModels from "../src/KimiModels.js"
import { KimiMock } from "../src/testing/index.js"
import { describe as describeError, failureOf, successOf, testKey } from "./helpers.js"

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("the catalog", () => {
  it("retired models resolve (lifecycle is information) and carry a warning naming the current models", async () => {
    for (const id of ["kimi-k2.5", "moonshot-v1-8k", "kimi-k2-0711-preview", "kimi-latest", "kimi-thinking-preview"]) {
      const info = await Effect.runPromise(KimiModels.catalog.resolve(id))
      expect(info.lifecycle.status).toBe("retired")
      expect(ModelCatalog.lifecycleWarning(info)).toMatch(
        /is marked retired.*current models: kimi-k3, kimi-k2\.6, kimi-k2\.7-code, kimi-k2\.7-code-highspeed/
      )
    }
  })

  it("retired models name the same current models as the error table's 404 (one source)", () => {
    for (const model of KimiModels.models.filter((entry) => entry.lifecycle.status === "retired")) {
      expect(model.lifecycle.replacements).toEqual(KimiError.defaultCurrentModels)
    }
    for (const id of KimiError.defaultCurrentModels) {
      expect(KimiModels.catalog.get(id)?.lifecycle.status).toBe("active")
    }
  })

  // docs/providers/kimi.md#model-catalog (every row, the kimi-latest billing tiers included) and #kimi-code, with the
  // lifecycle the newest live capture gives ([HALRO] §1.4, 2026-09-01) and the two retirement dates
  // docs/providers/kimi.md#model-lifecycle states.
  const lifecycles: ReadonlyArray<readonly [string, "active" | "deprecated" | "retired", string | undefined]> = [
    ["kimi-k3", "active", undefined],
    ["kimi-k2.7-code", "active", undefined],
    ["kimi-k2.7-code-highspeed", "active", undefined],
    ["kimi-k2.6", "active", undefined],
    ["kimi-k2.5", "retired", "2026-08-31"],
    ["kimi-k2-thinking", "retired", undefined],
    ["kimi-k2-thinking-turbo", "retired", undefined],
    ["kimi-k2-turbo-preview", "retired", "2026-05-25"],
    ["kimi-k2-0905-preview", "retired", "2026-05-25"],
    ["kimi-k2-0711-preview", "retired", "2026-05-25"],
    ["kimi-latest", "retired", undefined],
    ["kimi-latest-8k", "retired", undefined],
    ["kimi-latest-32k", "retired", undefined],
    ["kimi-latest-128k", "retired", undefined],
    ["kimi-thinking-preview", "retired", undefined],
    ["moonshot-v1-8k", "retired", undefined],
    ["moonshot-v1-32k", "retired", undefined],
    ["moonshot-v1-128k", "retired", undefined],
    ["moonshot-v1-auto", "retired", undefined],
    ["moonshot-v1-8k-vision-preview", "retired", undefined],
    ["moonshot-v1-32k-vision-preview", "retired", undefined],
    ["moonshot-v1-128k-vision-preview", "retired", undefined],
    ["kimi-for-coding", "active", undefined]
  ]
  it("the catalog is exactly the model list of docs/providers/kimi.md#model-catalog (and Kimi Code)", () => {
    expect(KimiModels.models.map((model) => model.id).sort()).toEqual(lifecycles.map(([id]) => id).sort())
  })
  for (const [id, status, date] of lifecycles) {
    it(`${id}: ${status}${date !== undefined ? ` on ${date}` : ""}`, () => {
      const lifecycle = KimiModels.catalog.get(id)?.lifecycle
      expect(lifecycle?.status).toBe(status)
      expect(lifecycle?.date).toBe(date)
    })
  }

  it("active models resolve (ids case-insensitive): the 2026-09-01 live listing, plus Kimi Code", async () => {
    const info = successOf(await Effect.runPromiseExit(KimiModels.catalog.resolve("Kimi-K3")))
    expect(info.id).toBe("kimi-k3")
    expect([...KimiModels.activeIds()].sort()).toEqual([...KimiError.defaultCurrentModels, "kimi-for-coding"].sort())
  })

  it("an unknown id is passed through with conservative defaults", async () => {
    const info = successOf(await Effect.runPromiseExit(KimiModels.catalog.resolve("kimi-k4-preview")))
    expect(info).toMatchObject({ id: "kimi-k4-preview", unknown: true })
    expect(KimiModels.traitsOf(info)).toBe(KimiModels.unknownTraits)
  })

  it("every entry names its source, and thinking models pin or bound their sampling", () => {
    for (const model of KimiModels.models) {
      expect(model.source, model.id).toMatch(/kimi\.md/)
      expect(model.maxOutputTokens).toBeLessThanOrEqual(model.contextWindow)
      expect(model.defaultMaxTokens ?? 0).toBeLessThanOrEqual(model.maxOutputTokens)
      if (model.kimi.pinnedSampling)
        expect(model.sampling?.temperature?.fixed).toBe(model.kimi.pinnedSampling.temperature.thinking)
    }
  })

  it("overrides keep a retired model callable (where a region still serves it)", async () => {
    const catalog = KimiModels.make({ "moonshot-v1-8k": { lifecycle: { status: "active" } } })
    expect(Exit.isSuccess(await Effect.runPromiseExit(catalog.resolve("moonshot-v1-8k")))).toBe(true)
    const extra = KimiModels.make({}, [
      { ...(KimiModels.catalog.get("kimi-k3") as KimiModels.KimiModelInfo), id: "kimi-k3-0901" }
    ])
    expect(extra.get("kimi-k3-0901")?.contextWindow).toBe(1_048_576)
  })
})

describe("mergeLive", () => {
  const live = (entry: Partial<KimiModels.LiveModel> & { id: string }) => entry as KimiModels.LiveModel
  const cases: ReadonlyArray<{
    readonly name: string
    readonly entry: KimiModels.LiveModel
    readonly check: (merged: ModelCatalog.ModelInfo) => void
  }> = [
    {
      name: "context_length overrides the window (and caps the output)",
      entry: live({ id: "kimi-k2.6", context_length: 131_072 }),
      check: (merged) => expect([merged.contextWindow, merged.maxOutputTokens]).toEqual([131_072, 131_072])
    },
    {
      name: "supports_image_in / supports_video_in override vision and video",
      entry: live({ id: "kimi-k3", supports_image_in: false, supports_video_in: true }),
      check: (merged) => expect([merged.capabilities.vision, merged.capabilities.video]).toEqual([false, true])
    },
    {
      name: "reasoning efforts replace the catalog's",
      entry: live({ id: "kimi-k3", reasoning_efforts: ["max"] }),
      check: (merged) => expect(KimiModels.traitsOf(merged).reasoningEfforts).toEqual(["max"])
    },
    {
      name: "think_efforts is read too",
      entry: live({ id: "kimi-k3", think_efforts: ["low", "max"] }),
      check: (merged) => expect(KimiModels.traitsOf(merged).reasoningEfforts).toEqual(["low", "max"])
    },
    {
      name: "supports_reasoning false turns thinking off",
      entry: live({ id: "kimi-k2.6", supports_reasoning: false }),
      check: (merged) => expect(merged.capabilities.thinking).toBe("none")
    },
    {
      name: "an unknown reasoning model becomes optional (or always with supports_thinking_type only)",
      entry: live({
        id: "kimi-k9",
        supports_reasoning: true,
        supports_thinking_type: "only",
        context_length: 2_000_000
      }),
      check: (merged) => {
        expect(merged).toMatchObject({ unknown: true, contextWindow: 2_000_000 })
        expect(merged.capabilities.thinking).toBe("always")
        expect(KimiModels.traitsOf(merged).thinkingDefault).toBe(true)
      }
    },
    {
      name: "supports_dynamic_tools becomes the dynamicTools trait",
      entry: live({ id: "kimi-k2.6", supports_dynamic_tools: true }),
      check: (merged) => expect(KimiModels.traitsOf(merged).dynamicTools).toBe(true)
    },
    {
      name: "supports_dynamic_tools: false switches the trait off",
      entry: live({ id: "kimi-k3", supports_dynamic_tools: false }),
      check: (merged) => expect(KimiModels.traitsOf(merged).dynamicTools).toBe(false)
    },
    {
      name: "a listed model the catalog marks retired is served, so active",
      entry: live({ id: "moonshot-v1-8k" }),
      check: (merged) => expect(merged.lifecycle.status).toBe("active")
    }
  ]
  for (const testCase of cases) {
    it(testCase.name, () => {
      const merged = KimiModels.mergeLive(KimiModels.catalog, [testCase.entry])
      const entry = merged.find((model) => model.id === testCase.entry.id)
      expect(entry).toBeDefined()
      testCase.check(entry as ModelCatalog.ModelInfo)
      expect(merged).toHaveLength(KimiModels.catalog.list.length + (KimiModels.catalog.get(testCase.entry.id) ? 0 : 1))
    })
  }

  const listLive = Effect.flatMap(KimiClient.KimiClient, (client) => KimiModels.listLive(client)).pipe(
    Effect.provide(KimiClient.layer({ apiKey: testKey }))
  )

  it("listLive: GET /v1/models merged over the catalog", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    const listed = successOf(await Effect.runPromiseExit(listLive))
    const k3 = listed.find((model) => model.id === "kimi-k3")
    expect(k3?.source).toMatch(/live fields from GET \/v1\/models/)
    expect(KimiModels.traitsOf(k3 as ModelCatalog.ModelInfo).reasoningEfforts).toEqual(["low", "high", "max"])
    expect(listed.map((model) => model.id)).toEqual(expect.arrayContaining(KimiModels.models.map((model) => model.id)))
    expect(new URL(mock.recorder.last().url).pathname).toBe("/v1/models")
  })

  it("listLive without a valid key fails with the 401", async () => {
    server.use(...KimiMock.handlers({ apiKey: "another" }))
    const error = failureOf(await Effect.runPromiseExit(listLive))
    expect(describeError(error)).toMatchObject({ reason: "AuthenticationError", status: 401 })
  })
})

Recordings.describeRecordings("the recorded models listing", () => {
  it("the 2024 listing shape decodes and merges", () => {
    const recorded = Recordings.readJson("kimi/official-doc-examples/models-list-legacy-shape.json") as {
      data: Array<{ id: string }>
    }
    const decoded = Schema.decodeUnknownSync(KimiModels.LiveModelList)(recorded)
    const merged = KimiModels.mergeLive(KimiModels.catalog, decoded.data)
    for (const { id } of recorded.data) {
      const model = merged.find((entry) => entry.id === id)
      expect(model?.contextWindow).toBe(KimiModels.catalog.get(id)?.contextWindow)
      expect(model?.lifecycle.status).toBe("active")
    }
  })
})
