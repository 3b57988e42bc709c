import type { ModelCatalog, OpenAiCompatLanguageModel } from "@conduitkit/core"
import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiModels from "../src/KimiModels.js"
import * as KimiProvider from "../src/KimiProvider.js"
import { describe as describeError, failureOf, successOf } from "./helpers.js"

describe("response metadata from Moonshot's headers", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, Record<string, unknown> | undefined]> = [
    ["no cache headers", { "msh-request-id": "r" }, undefined],
    ["automatic cache hit", { "msh-context-cache-token-saved": "4700" }, { contextCacheTokensSaved: 4700 }],
    [
      "explicit cache",
      {
        "msh-context-cache-id": "cache-1",
        "msh-context-cache-token-saved": "32768",
        "msh-context-cache-token-exp": "1718680442"
      },
      { contextCacheId: "cache-1", contextCacheTokensSaved: 32768, contextCacheExpiresAt: 1718680442 }
    ],
    ["the trace id", { "x-msh-trace-id": "99f3afaa" }, { traceId: "99f3afaa" }],
    ["a value that is not a number is ignored", { "msh-context-cache-token-saved": "n/a" }, undefined],
    ["an undocumented cache-token header is not read", { "msh-context-cache-token": "abc" }, undefined]
  ]
  for (const [name, headers, expected] of cases) {
    it(name, () => {
      expect(KimiProvider.responseMetadata(headers)).toEqual(expected)
    })
  }
})

describe("base URLs", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>, string]> = [
    ["default", {}, KimiProvider.baseURLs.global],
    ["cn", { region: "cn" }, KimiProvider.baseURLs.cn],
    ["coding", { plan: "coding", region: "cn" }, KimiProvider.baseURLs.coding],
    ["explicit", { baseURL: "https://x.test/v1", plan: "coding" }, "https://x.test/v1"]
  ]
  for (const [name, options, expected] of cases) {
    it(name, () => {
      expect(KimiProvider.resolveBaseURL(options)).toBe(expected)
    })
  }
})

describe("auth", () => {
  it("passes open-platform keys, and Kimi Code keys on the coding plan or a custom host", async () => {
    for (const [key, options] of [
      ["sk-platform", {}],
      ["sk-kimi-x", { plan: "coding" }],
      ["sk-kimi-x", { baseURL: "https://my-proxy.test/v1" }]
    ] as const) {
      const out = successOf(await Effect.runPromiseExit(KimiProvider.auth(Redacted.make(key), options)))
      expect(Redacted.value(out)).toBe(key)
    }
  })

  it("refuses a Kimi Code key on api.moonshot.cn", async () => {
    const error = failureOf(
      await Effect.runPromiseExit(KimiProvider.auth(Redacted.make("sk-kimi-x"), { region: "cn" }))
    )
    expect(describeError(error)).toMatchObject({ reason: "AuthenticationError", kind: "preflight" })
    expect(JSON.stringify(error)).not.toContain("sk-kimi-x")
  })
})

describe("the reasoning-replay policy", () => {
  const client = KimiClient.make({ apiKey: "sk-test-kimi" })
  const policy = (model: string, config: OpenAiCompatLanguageModel.ModelConfig = {}) =>
    KimiProvider.reasoningReplay({ model: KimiModels.catalog.get(model) as ModelCatalog.ModelInfo, config, client })

  it("keeps reasoning, with the placeholder on tool-call turns only when the model thinks (as in a $web_search round)", () => {
    expect(policy("kimi-k3")).toEqual({ mode: "always", placeholder: " " })
    expect(policy("kimi-k3", { providerOptions: { thinking: "disabled" } })).toEqual({ mode: "always" })
    expect(policy("kimi-k3", { request: { thinking: { type: "disabled" } } })).toEqual({ mode: "always" })
    expect(policy("moonshot-v1-8k")).toEqual({ mode: "always" })
    expect(policy("kimi-k2.7-code")).toEqual({ mode: "always", placeholder: " " })
  })

  it("kimi-k2.5 searches with thinking off unless the caller switched it on", () => {
    expect(policy("kimi-k2.5")).toEqual({ mode: "always" })
    expect(policy("kimi-k2.5", { providerOptions: { thinking: "enabled" } })).toEqual({
      mode: "always",
      placeholder: " "
    })
  })

  it("options that do not decode keep the placeholder (request shaping refuses the call)", () => {
    expect(policy("kimi-k3", { providerOptions: { thinking: 42 } })).toEqual({ mode: "always", placeholder: " " })
  })
})
