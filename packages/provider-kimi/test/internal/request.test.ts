import type { ChatCompletions, ModelCatalog } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Request from "../../src/internal/request.js"
import type * as KimiConfig from "../../src/KimiConfig.js"
import * as KimiModels from "../../src/KimiModels.js"

const info = (id: string) => KimiModels.catalog.get(id) as ModelCatalog.ModelInfo
const draft = (model: string, extra: Record<string, unknown> = {}): ChatCompletions.WireRequest => ({
  model,
  messages: [{ role: "user", content: "Hi" }],
  ...extra
})

const shape = (model: string, extra: Record<string, unknown> = {}, options: KimiConfig.ProviderOptions = {}) =>
  Request.shape({ draft: draft(model, extra), model: info(model), options })

const sent = (result: ReturnType<typeof shape>) => {
  if (Result.isFailure(result)) throw new Error(result.failure.description)
  return result.success
}

describe("request shaping", () => {
  it("sends max_completion_tokens as max_tokens and never sends store", () => {
    const body = sent(shape("kimi-k3", { max_completion_tokens: 2048, store: true }))
    expect(body.max_tokens).toBe(2048)
    expect(body).not.toHaveProperty("max_completion_tokens")
    expect(body).not.toHaveProperty("store")
  })

  it("keeps max_tokens when both are set", () => {
    const body = sent(shape("kimi-k3", { max_tokens: 100, max_completion_tokens: 2048 }))
    expect(body.max_tokens).toBe(100)
  })

  it("maps the typed provider options to wire fields", () => {
    const body = sent(
      shape(
        "kimi-k3",
        {},
        {
          thinking: { type: "enabled", keep: "all" },
          reasoningEffort: "high",
          promptCacheKey: "session-42",
          safetyIdentifier: "u-hash"
        }
      )
    )
    expect(body).toMatchObject({
      thinking: { type: "enabled", keep: "all" },
      reasoning_effort: "high",
      prompt_cache_key: "session-42",
      safety_identifier: "u-hash"
    })
  })

  it("reasoning_effort is sent as asked (the documented values have no recording of the API refusing others)", () => {
    expect(sent(shape("kimi-k3", {}, { reasoningEffort: "low" }))).toMatchObject({ reasoning_effort: "low" })
    expect(sent(shape("moonshot-v1-8k", {}, { reasoningEffort: "high" }))).toMatchObject({ reasoning_effort: "high" })
  })

  it("the provider option wins over a raw wire thinking field", () => {
    const body = sent(shape("kimi-k2.6", { thinking: { type: "enabled" } }, { thinking: "disabled" }))
    expect(body.thinking).toEqual({ type: "disabled" })
  })

  it("a raw wire thinking field is checked like the option", () => {
    const result = shape("kimi-k2.7-code", { thinking: { type: "disabled" } })
    expect(Result.isFailure(result) && result.failure.parameter).toBe("thinking")
  })

  it("pinned sampling follows the thinking switch: 0.6 is fine on kimi-k2.6 with thinking off", () => {
    const body = sent(shape("kimi-k2.6", { temperature: 0.6 }, { thinking: "disabled" }))
    expect(body).not.toHaveProperty("temperature")
    const refused = shape("kimi-k2.6", { temperature: 0.6 })
    expect(Result.isFailure(refused) && refused.failure.description).toMatch(/omit temperature or send 1/)
  })

  it("strictSampling: false sends the caller's values unchecked", () => {
    const body = sent(shape("kimi-k2.6", { temperature: 0.3, top_p: 0.5 }, { strictSampling: false }))
    expect(body).toMatchObject({ temperature: 0.3, top_p: 0.5 })
  })

  it("normalizes a json_schema response format for MFJS", () => {
    const body = sent(
      shape("kimi-k3", {
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "pair",
            strict: true,
            schema: { $schema: "x", type: "object", properties: { p: { type: "array", items: [{ type: "string" }] } } }
          }
        }
      })
    )
    expect(body.response_format).toEqual({
      type: "json_schema",
      json_schema: {
        name: "pair",
        strict: true,
        schema: { type: "object", properties: { p: { type: "array", prefixItems: [{ type: "string" }] } } }
      }
    })
  })

  it("a cache reference by message replaces nothing but adds the cache message and drops tools", () => {
    const body = sent(
      shape(
        "moonshot-v1-8k",
        { tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }] },
        { contextCache: { cacheId: "cache-1", resetTtl: 600 } }
      )
    )
    expect(body.messages[0]).toEqual({ role: "cache", content: "cache_id=cache-1;reset_ttl=600" })
    expect(body).not.toHaveProperty("tools")
  })

  it("a cache reference by headers leaves the messages and carries the headers for the client", () => {
    const body = sent(
      shape("moonshot-v1-8k", {}, { contextCache: { cacheId: "cache-1", via: "headers", dryRun: true } })
    )
    expect(body.messages).toEqual([{ role: "user", content: "Hi" }])
    expect(Request.requestHeaders({ contextCache: { cacheId: "cache-1", via: "headers", dryRun: true } })).toEqual({
      "X-Msh-Context-Cache": "cache-1",
      "X-Msh-Context-Cache-DryRun": "1"
    })
    expect(body).not.toHaveProperty("__conduit_kimi")
  })

  it("no request headers without a cache referenced by headers", () => {
    expect(Request.requestHeaders({})).toBeUndefined()
    expect(Request.requestHeaders({ contextCache: { cacheId: "cache-1" } })).toBeUndefined()
    expect(Request.requestHeaders({ contextCache: { auto: true } })).toBeUndefined()
    expect(Request.requestHeaders({ contextCache: { tag: "docs", via: "headers" } })).toBeUndefined()
  })

  it("a tag cannot be referenced by headers", () => {
    const result = shape("moonshot-v1-8k", {}, { contextCache: { tag: "docs", via: "headers" } })
    expect(Result.isFailure(result) && result.failure.description).toMatch(
      /only be used through the role "cache" message/
    )
  })

  it("the body carries no private instructions (replay is core's policy, see KimiProvider.reasoningReplay)", () => {
    expect(sent(shape("kimi-k3"))).not.toHaveProperty("__conduit_kimi")
    expect(sent(shape("kimi-k3", {}, { thinking: "disabled" }))).not.toHaveProperty("__conduit_kimi")
    expect(sent(shape("moonshot-v1-8k"))).not.toHaveProperty("__conduit_kimi")
  })

  it("sends $web_search where the catalog lists none (no recording of the API refusing it)", () => {
    const body = sent(
      shape("moonshot-v1-8k-vision-preview", {
        tools: [{ type: "builtin_function", function: { name: "$web_search" } }]
      })
    )
    expect(body.tools).toEqual([{ type: "builtin_function", function: { name: "$web_search" } }])
  })

  it("a forced tool_choice on kimi-k2.6 switches thinking off before the pinned temperature is chosen", () => {
    const warnings: Array<string> = []
    const result = Request.shape({
      draft: { ...draft("kimi-k2.6"), tool_choice: "required", temperature: 0.6 },
      model: info("kimi-k2.6"),
      options: {},
      warn: (warning) => warnings.push(warning)
    })
    expect(sent(result)).toMatchObject({ thinking: { type: "disabled" }, tool_choice: "required" })
    expect(sent(result)).not.toHaveProperty("temperature")
    expect(warnings).toHaveLength(1)
  })
})
