/**
 * `POST /v1/embeddings` driven by the `openai` SDK's `embeddings.create` against the GLM simulation (GlmMock), with
 * every request and response checked against OpenAI's published schemas (`CreateEmbeddingRequest`,
 * `CreateEmbeddingResponse`, from ../shared/reference/openai-openapi-chat.json, with ajv): float and base64 encodings
 * (the SDK asks for base64 by default and decodes it), `dimensions`, batching past 64 inputs, models.yaml names, bare
 * ids, and the errors (Kimi has no embeddings: 400; unknown names: 404; token arrays and bad fields: 400).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { GlmMock } from "@conduitkit/provider-glm/testing"
import { KimiMock } from "@conduitkit/provider-kimi/testing"
import { Ajv } from "ajv"
import { Redacted } from "effect"
import OpenAI from "openai"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Providers from "../src/Providers.js"
import { client, mswServer, realFetch, type Started, startGateway } from "./support.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const openapi = JSON.parse(
  fs.readFileSync(path.resolve(here, "../../../../shared/reference/openai-openapi-chat.json"), "utf8")
) as { components: { schemas: Record<string, unknown> } }
const ajv = new Ajv({ strict: false, allErrors: true })
ajv.addSchema({ components: openapi.components }, "openai")
const validRequest = ajv.getSchema("openai#/components/schemas/CreateEmbeddingRequest")!
const validResponse = ajv.getSchema("openai#/components/schemas/CreateEmbeddingResponse")!

const server = mswServer()
let gateway: Started
const zai = GlmMock.make(Providers.glm.simulation)

const simulated = (module: Providers.ProviderModule) => {
  const simulation = module.simulation!
  return Providers.entry(
    module,
    module.connect({ apiKey: Redacted.make(simulation.apiKey), baseURL: simulation.baseURL }),
    "simulated"
  )
}

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({
    providers: [simulated(Providers.kimi), simulated(Providers.glm)],
    models: { models: { vectors: { target: "glm/embedding-3" }, chat: { target: "kimi/kimi-k2.6" } } }
  })
})
afterEach(() => {
  server.resetHandlers()
  zai.recorder.reset()
})
afterAll(async () => {
  await gateway.close()
  server.close()
})

/** Sends a raw request, checks both bodies against OpenAI's schemas (the request only when it should be valid). */
const post = async (body: unknown, options: { readonly validRequest?: boolean } = {}) => {
  if (options.validRequest !== false) expect(validRequest(body), ajv.errorsText(validRequest.errors)).toBe(true)
  const response = await realFetch(`${gateway.url}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  const json = (await response.json()) as Record<string, unknown>
  if (response.status === 200) expect(validResponse(json), ajv.errorsText(validResponse.errors)).toBe(true)
  return { status: response.status, headers: response.headers, json }
}

describe("openai.embeddings.create through the gateway", () => {
  it("embeds with the SDK's default (base64 on the wire, decoded by the SDK) and gives the simulation's vectors", async () => {
    server.use(...zai.handlers)
    const result = await client(gateway).embeddings.create({ model: "glm/embedding-3", input: ["你好", "hello"] })
    expect(result.object).toBe("list")
    expect(result.data).toHaveLength(2)
    expect(result.data[0]?.embedding).toHaveLength(2048)
    const expected = GlmMock.embeddingVector("embedding-3", "hello", 2048)
    const decoded = result.data[1]?.embedding ?? []
    expect(decoded).toHaveLength(2048)
    expect(Math.max(...decoded.map((x, i) => Math.abs(x - expected[i]!)))).toBeLessThan(1e-6)
    expect(result.usage.prompt_tokens).toBeGreaterThan(0)
    expect(result.usage.total_tokens).toBe(result.usage.prompt_tokens)
  })

  it("float encoding, dimensions and a models.yaml name", async () => {
    server.use(...zai.handlers)
    const result = await client(gateway).embeddings.create({
      model: "vectors",
      input: "one sentence",
      dimensions: 256,
      encoding_format: "float"
    })
    expect(result.data[0]?.embedding).toEqual(GlmMock.embeddingVector("embedding-3", "one sentence", 256))
    expect(result.model).toBe("vectors")
    expect(zai.recorder.last().body).toEqual({ model: "embedding-3", input: ["one sentence"], dimensions: 256 })
  })

  it("a bare catalog id resolves to the provider that lists it; 130 inputs go upstream in batches of 64", async () => {
    server.use(...zai.handlers)
    const inputs = Array.from({ length: 130 }, (_, i) => `item ${i}`)
    const { status, json, headers } = await post({ model: "embedding-2", input: inputs, encoding_format: "float" })
    expect(status).toBe(200)
    expect((json.data as Array<{ index: number }>).map((item) => item.index)).toEqual(inputs.map((_, i) => i))
    expect(zai.recorder.calls.map((call) => (call.body as { input: Array<string> }).input.length)).toEqual([64, 64, 2])
    expect(headers.get("x-conduit-provider")).toBe("glm")
    expect(headers.get("x-conduit-attempts")).toBe("3")
  })
})

describe("errors", () => {
  const failure = (call: Promise<unknown>) =>
    call.then(
      () => {
        throw new Error("expected the call to fail")
      },
      (error: unknown) => {
        if (!(error instanceof OpenAI.APIError)) throw error
        return error
      }
    )

  it("a Kimi model has no embeddings: 400 model_not_supported naming the models that have them", async () => {
    server.use(...KimiMock.make(Providers.kimi.simulation).handlers)
    const error = await failure(client(gateway).embeddings.create({ model: "kimi/kimi-k2.6", input: "hi" }))
    expect(error.status).toBe(400)
    expect(error.code).toBe("model_not_supported")
    expect(error.param).toBe("model")
    expect(error.message).toContain("glm/embedding-3")
    const alias = await post({ model: "chat", input: "hi" })
    expect(alias.status).toBe(400)
  })

  it.each([
    ["an unknown provider", { model: "nope/embedding-3", input: "a" }, 404, "model_not_found", true],
    ["an unknown bare name", { model: "text-embedding-3-small", input: "a" }, 404, "model_not_found", true],
    ["token-array input", { model: "glm/embedding-3", input: [1, 2, 3] }, 400, "unsupported_input", true],
    ["an empty string", { model: "glm/embedding-3", input: "" }, 400, "invalid_value", true],
    ["no input", { model: "glm/embedding-3" }, 400, "invalid_value", false],
    ["dimensions 0", { model: "glm/embedding-3", input: "a", dimensions: 0 }, 400, "invalid_value", false],
    ["a bad encoding", { model: "glm/embedding-3", input: "a", encoding_format: "hex" }, 400, "invalid_value", false]
  ])("%s", async (_name, body, status, code, schemaValid) => {
    server.use(...zai.handlers)
    const result = await post(body, { validRequest: schemaValid })
    if (!schemaValid) expect(validRequest(body)).toBe(false)
    expect(result.status).toBe(status)
    expect((result.json.error as { code: string }).code).toBe(code)
    expect(zai.recorder.calls).toHaveLength(0)
  })

  it("an upstream refusal (a dimension embedding-3 does not offer) comes back as a 400 with Zhipu's reason", async () => {
    server.use(...zai.handlers)
    const error = await failure(
      client(gateway).embeddings.create({ model: "glm/embedding-3", input: "a", dimensions: 100 })
    )
    expect(error.status).toBe(400)
    expect(zai.recorder.calls).toHaveLength(1)
  })

  it("GET is not allowed", async () => {
    const response = await realFetch(`${gateway.url}/v1/embeddings`)
    expect(response.status).toBe(405)
  })
})
