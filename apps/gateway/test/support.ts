/**
 * Test support: reference providers built with core's provider builder, MSW upstreams, and a gateway started
 * in-process on an ephemeral port.
 *
 * The `openai` SDK client and raw requests use the `fetch` captured before MSW patches the global one, so they reach
 * the gateway's real socket; the gateway's own upstream calls go through the patched `fetch` and meet the MSW
 * handlers (or, for the node:http mock upstream on loopback, pass through).
 */
import {
  ModelCatalog,
  type ModelsConfig,
  OpenAiCompatLanguageModel,
  OpenAiCompatProvider,
  ProviderError,
  type ProviderRegistry
} from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Context, type Layer, ManagedRuntime, Redacted } from "effect"
import { http, passthrough } from "msw"
import { setupServer } from "msw/node"
import OpenAI from "openai"
import * as Gateway from "../src/Gateway.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import * as Providers from "../src/Providers.js"
import * as OpenApiShapes from "./OpenApiShapes.js"

/**
 * The real fetch, captured before any MSW server patches the global one; every answer read through it is checked
 * against OpenAI's schema after the test file (OpenApiShapes.ts).
 */
export const realFetch: typeof globalThis.fetch = OpenApiShapes.recording(globalThis.fetch.bind(globalThis))

export const model = "ref-chat-1"

const catalog = (name: string) =>
  ModelCatalog.make(name, [
    {
      id: model,
      provider: name,
      contextWindow: 128_000,
      maxOutputTokens: 16_384,
      capabilities: { ...ModelCatalog.conservativeCapabilities, thinking: "optional", toolChoiceRequired: true },
      lifecycle: { status: "active" }
    },
    {
      id: "ref-old",
      provider: name,
      contextWindow: 8_192,
      maxOutputTokens: 1_024,
      capabilities: ModelCatalog.conservativeCapabilities,
      lifecycle: { status: "retired", date: "2025-01-01", replacements: [model] }
    },
    {
      id: "ref-small",
      provider: name,
      contextWindow: 1_000,
      maxOutputTokens: 256,
      capabilities: ModelCatalog.conservativeCapabilities,
      lifecycle: { status: "active" }
    }
  ])

/** A reference OpenAI-compatible provider named `name` at `https://<name>.test/v1` (OpenAI error vocabulary). */
export const referenceProvider = (name: string) =>
  OpenAiCompatProvider.make({
    name,
    baseURLs: { default: `https://${name}.test/v1` },
    apiKeyEnv: [`${name.toUpperCase()}_API_KEY`],
    baseURLEnv: `${name.toUpperCase()}_BASE_URL`,
    errorTable: ProviderError.openAiTable,
    defaultModel: model,
    catalog: catalog(name),
    reasoningReplay: { mode: "tool-calls", placeholder: " " }
  })

export const upstreamKey = "sk-upstream-test"

/** Retries fast in tests (5 ms base, 20 ms cap). */
const fast: OpenAiCompatLanguageModel.ModelConfig = { retry: { baseDelayMs: 5, maxDelayMs: 20 } }

/**
 * A registry entry for a reference provider pointed at `baseURL` (default: its MSW address), retrying fast unless
 * the route says otherwise.
 */
export const referenceEntry = (name: string, baseURL?: string): ProviderRegistry.ProviderEntry => {
  const module = Providers.fromProvider(referenceProvider(name))
  const base = Providers.entry(
    module,
    module.connect({ apiKey: Redacted.make(upstreamKey), ...(baseURL !== undefined ? { baseURL } : {}) }),
    "simulated"
  )
  return {
    ...base,
    layer: (id, config) => base.layer(id, OpenAiCompatLanguageModel.mergeConfig(fast, config ?? {}))
  }
}

export const baseURLOf = (name: string) => `https://${name}.test/v1`

/** An MSW server for upstreams; loopback traffic (the node:http mock upstream) passes through. */
export const mswServer = () => setupServer(http.all(/^http:\/\/127\.0\.0\.1:\d+\//, () => passthrough()))

/** Answers `POST {baseURL}/chat/completions` of provider `name` with `respond`; returns the recorder. */
export const respond = (
  server: ReturnType<typeof setupServer>,
  name: string,
  reply: (call: MockUpstream.ChatCall) => Response | Promise<Response>
) => {
  const recorder = new MockUpstream.Recorder()
  server.use(MockUpstream.chatCompletions(baseURLOf(name), reply, recorder))
  return recorder
}

export interface Started {
  readonly url: string
  readonly port: number
  readonly app: Gateway.App
  readonly logs: Array<Record<string, unknown>>
  readonly close: () => Promise<void>
}

/** Starts a gateway on 127.0.0.1 with an ephemeral port; `close` shuts it down gracefully. */
export const startGateway = async (options: {
  readonly config?: Partial<GatewayConfig.GatewayConfig>
  readonly providers?: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly models?: ModelsConfig.ModelsConfig
}): Promise<Started> => {
  const logs: Array<Record<string, unknown>> = []
  const config = GatewayConfig.make({ port: 0, logLevel: "Info", shutdownGraceMs: 1_000, ...options.config })
  const runtime = ManagedRuntime.make(
    Gateway.layer({
      config,
      providers: options.providers ?? [referenceEntry("ref")],
      models: options.models,
      log: (line) => logs.push(JSON.parse(line))
    }) as Layer.Layer<Gateway.Running>
  )
  const context = await runtime.context()
  const running = Context.get(context, Gateway.Running)
  return { url: running.url, port: running.port, app: running, logs, close: () => runtime.dispose() }
}

/** An `openai` SDK client for a gateway (no SDK retries, real fetch). */
export const client = (gateway: { readonly url: string }, apiKey = "unused") =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey, maxRetries: 0, fetch: realFetch })

/** One OpenAI chunk as a reference upstream streams it. */
export const chunk = (
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {}
) => ({
  id: "chatcmpl-up",
  object: "chat.completion.chunk",
  created: 1_760_000_000,
  model,
  choices: [{ index: 0, delta, finish_reason: finish }],
  ...extra
})

/** A trailing usage chunk. */
export const usageChunk = (usage: Record<string, unknown>) => ({
  id: "chatcmpl-up",
  object: "chat.completion.chunk",
  created: 1_760_000_000,
  model,
  choices: [],
  usage
})

/** A non-streaming upstream body. */
export const completionBody = (message: Record<string, unknown>, finish = "stop", usage?: Record<string, unknown>) => ({
  id: "chatcmpl-up",
  object: "chat.completion",
  created: 1_760_000_000,
  model,
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
  usage: usage ?? { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }
})

/** An OpenAI error body. */
export const errorBody = (message: string, type: string, code: string | null) => ({
  error: { message, type, code, param: null }
})

/** Reads an SSE response body to its end and splits it into frames (`{ event?, data }`). */
export const readFrames = async (response: Response) => {
  const text = await response.text()
  return {
    text,
    frames: text
      .split("\n\n")
      .filter((block) => block.trim() !== "")
      .map((block) => {
        const lines = block.split("\n")
        const event = lines.find((line) => line.startsWith("event: "))?.slice(7)
        const data = lines
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n")
        return { event, data }
      })
  }
}

/**
 * Waits until `predicate` holds (polling every 10 ms, at most `ms`). The default deadline is for a loaded 2-core
 * machine running every suite at once: it only costs time when the condition is never met, i.e. when a test fails.
 */
export const eventually = async (predicate: () => boolean, ms = 20_000) => {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Parsed JSON in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: free-form JSON read in test assertions
export type Json = any
