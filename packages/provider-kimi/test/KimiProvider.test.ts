import { Effect, Redacted } from "effect"
import { describe, expect, it } from "vitest"
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
