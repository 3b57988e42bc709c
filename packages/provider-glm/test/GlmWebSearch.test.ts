/**
 * Web search: the tool object, results as source parts, and the standalone `/web_search` API (replaying the
 * docs.z.ai response example in place).
 */
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Exit } from "effect"
import { Tool } from "effect/ai"
import { http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmWebSearch from "../src/GlmWebSearch.js"
import { providerTool } from "../src/internal/webSearch.js"

const baseURL = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const clientLayer = GlmClient.layer({ apiKey: "test-key" })

describe("the web_search tool", () => {
  it("is a provider-defined tool whose wire declaration carries every field", () => {
    const args: GlmWebSearch.Args = {
      enable: true,
      search_engine: "search_pro_sogou",
      search_query: "Florence weather",
      search_result: true,
      require_search: false,
      search_prompt: "Summarize {{search_result}}",
      count: 7,
      search_domain_filter: "www.sohu.com",
      search_recency_filter: "oneMonth",
      content_size: "high",
      result_sequence: "before"
    }
    const tool = GlmWebSearch.tool(args)
    expect(Tool.isProviderDefined(tool)).toBe(true)
    expect(tool.providerName).toBe("web_search")
    expect(providerTool(tool)).toEqual({ type: "web_search", web_search: args })
  })

  it("defaults to an enabled search-prime search that returns its results", () => {
    expect(GlmWebSearch.toWire()).toEqual({
      type: "web_search",
      web_search: { enable: true, search_engine: "search-prime", search_result: true }
    })
  })

  it("other provider-defined tools are not claimed", () => {
    const other = Tool.providerDefined({ id: "other.tool", customName: "Other", providerName: "other" })()
    expect(providerTool(other)).toBeUndefined()
  })
})

describe("source parts", () => {
  it.each([
    [
      "a result with an https link becomes a url source with its reference id",
      { title: "T", link: "https://a.example/x", refer: "ref_3", media: "A", publish_date: "2025-05-23" },
      {
        type: "source",
        sourceType: "url",
        id: "ref_3",
        url: "https://a.example/x",
        title: "T",
        metadata: { glm: { refer: "ref_3", media: "A", publishDate: "2025-05-23" } }
      }
    ],
    [
      "a result without a usable link becomes a document source",
      { title: "T", link: "not a url", content: "snippet" },
      {
        type: "source",
        sourceType: "document",
        id: "web_search_0",
        mediaType: "text/plain",
        title: "T",
        metadata: { glm: { content: "snippet" } }
      }
    ],
    [
      "an empty publish date and title are left out / replaced by the link",
      { title: "", link: "https://b.example/", publish_date: "" },
      {
        type: "source",
        sourceType: "url",
        id: "web_search_0",
        url: "https://b.example/",
        title: "https://b.example/",
        metadata: { glm: {} }
      }
    ]
  ])("%s", (_name, result, expected) => {
    expect(GlmWebSearch.toSourceParts([result])).toEqual([expected])
  })

  it("accepts search_result as one object (as the Python SDK types it)", () => {
    const normalized = GlmWebSearch.fromBody({ id: "x", search_result: { title: "T", link: "https://c.example/" } })
    expect(normalized.results).toHaveLength(1)
    expect(normalized.requestId).toBe("x")
  })
})

Recordings.describeRecordings("the standalone /web_search API", () => {
  it("replays the docs.z.ai response example (zai_docs_web_search_api_response_example.txt)", async () => {
    const printed = Recordings.readText("glm/docs/zai_docs_web_search_api_response_example.txt")
    const body = JSON.parse(printed.slice(printed.indexOf("{"), printed.lastIndexOf("}") + 1)) as {
      id: string
      search_result: Array<{ refer: string; link: string; title: string }>
    }
    const recorder = new MockUpstream.Recorder()
    server.use(
      http.post(`${baseURL}/web_search`, async ({ request }) => {
        await recorder.record(request)
        return MockUpstream.json(body)
      })
    )
    const response = await Effect.runPromise(
      GlmWebSearch.search({ search_query: "financial news", count: 4, search_recency_filter: "oneDay" }).pipe(
        Effect.provide(clientLayer)
      )
    )
    expect(recorder.last().body).toEqual({
      search_engine: "search-prime",
      search_query: "financial news",
      count: 4,
      search_recency_filter: "oneDay"
    })
    expect(response.id).toBe(body.id)
    expect(response.requestId).toBe(body.id)
    expect(response.results).toHaveLength(body.search_result.length)
    expect(response.sources.map((part) => (part as { id: string }).id)).toEqual(
      body.search_result.map((result) => result.refer)
    )
    expect(response.sources.map((part) => (part as { url?: string }).url)).toEqual(
      body.search_result.map((result) => result.link)
    )
  })

  it("refuses an invalid request before sending", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(
      http.post(`${baseURL}/web_search`, async ({ request }) => {
        await recorder.record(request)
        return MockUpstream.json({})
      })
    )
    const exit = await Effect.runPromiseExit(
      GlmWebSearch.search({ search_query: "x", count: 51 }).pipe(Effect.provide(clientLayer))
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/InvalidRequestError|invalid web search request/)
    expect(recorder.count).toBe(0)
  })
})
