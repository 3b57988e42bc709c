import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { LanguageModel } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as ProviderError from "../src/ProviderError.js"
import * as MockUpstream from "../src/testing/MockUpstream.js"

const Sample = OpenAiCompatProvider.make({
  name: "sample",
  baseURLs: { default: "https://global.sample.test/v1", cn: "https://cn.sample.test/v1" },
  apiKeyEnv: ["SAMPLE_API_KEY", "SAMPLE_KEY"],
  baseURLEnv: "SAMPLE_BASE_URL",
  errorTable: ProviderError.openAiTable,
  defaultModel: "sample-1",
  catalog: ModelCatalog.make("sample", []),
  reasoningReplay: { mode: "never" },
  headers: { "user-agent": "conduit-test" }
})

const reply = {
  id: "c",
  created: 1,
  model: "sample-1",
  choices: [{ index: 0, message: { content: "hi" }, finish_reason: "stop" }]
}
const server = setupServer()

describe("OpenAiCompatProvider.make", () => {
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  const run = (client: Layer.Layer<OpenAiCompatProvider.ProviderClient, unknown>, env: Record<string, string> = {}) =>
    Effect.runPromise(
      LanguageModel.generateText({ prompt: "hello" }).pipe(
        Effect.provide(Sample.layer("sample-1").pipe(Layer.provide(client))),
        Effect.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))
      )
    )

  it("reads the key from the first declared variable that is set, and never exposes it", async () => {
    const recorder = new MockUpstream.Recorder()
    server.use(MockUpstream.chatCompletions("https://global.sample.test/v1", () => MockUpstream.json(reply), recorder))
    const response = await run(Sample.clientLayerConfig(), { SAMPLE_KEY: "secret-from-env" })
    expect(response.text).toBe("hi")
    expect(recorder.last().headers.authorization).toBe("Bearer secret-from-env")
    expect(recorder.last().headers["user-agent"]).toBe("conduit-test")
  })

  it("takes the base URL from the declared variable, and a region from the options", async () => {
    const viaEnv = new MockUpstream.Recorder()
    const viaRegion = new MockUpstream.Recorder()
    server.use(
      MockUpstream.chatCompletions("https://proxy.example.test/v1", () => MockUpstream.json(reply), viaEnv),
      MockUpstream.chatCompletions("https://cn.sample.test/v1", () => MockUpstream.json(reply), viaRegion)
    )
    await run(Sample.clientLayerConfig(), { SAMPLE_API_KEY: "k", SAMPLE_BASE_URL: "https://proxy.example.test/v1" })
    await run(Sample.clientLayerConfig({ region: "cn" }), { SAMPLE_API_KEY: "k" })
    expect([viaEnv.count, viaRegion.count]).toEqual([1, 1])
  })

  it("fails with a configuration error naming the variable when no key is set", async () => {
    await expect(run(Sample.clientLayerConfig(), {})).rejects.toThrow(/SAMPLE_API_KEY|SAMPLE_KEY/)
  })

  it("keeps the client's options without the key", () => {
    const client = Sample.makeClient({ apiKey: Redacted.make("k"), region: "cn" })
    expect(client.options).toEqual({ region: "cn", baseURL: "https://cn.sample.test/v1" })
    expect(JSON.stringify(client.options)).not.toContain('"k"')
  })

  it("gives a Promise face over the same model", async () => {
    server.use(MockUpstream.chatCompletions("https://global.sample.test/v1", () => MockUpstream.json(reply)))
    const promise = Sample.promise({ apiKey: "k" })
    const result = await promise.chat({ prompt: "hello" })
    expect(result.text).toBe("hi")
    expect(result.metadata).toMatchObject({ streamed: false, attempts: 1, provider: "sample" })
    await promise.close()
  })
})
