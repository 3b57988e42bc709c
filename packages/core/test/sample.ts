/**
 * Test support: the OpenAI-compatible "sample" provider that core's tests call (the OpenAI error table, the key in
 * `SAMPLE_API_KEY`, default model `m1`, an empty catalog, reasoning replayed with tool calls), on the test's own
 * `baseURL` and with its overrides, and one model for a catalog.
 */
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as OpenAiCompatProvider from "../src/OpenAiCompatProvider.js"
import * as ProviderError from "../src/ProviderError.js"

/** The sample provider on `baseURL`, `overrides` over the defaults above. */
export const sampleProvider = (baseURL: string, overrides: Partial<OpenAiCompatProvider.Declarations> = {}) =>
  OpenAiCompatProvider.make({
    name: "sample",
    baseURLs: { default: baseURL },
    apiKeyEnv: ["SAMPLE_API_KEY"],
    errorTable: ProviderError.openAiTable,
    defaultModel: "m1",
    catalog: ModelCatalog.make("sample", []),
    reasoningReplay: { mode: "tool-calls", placeholder: " " },
    ...overrides
  })

/** One active model of the sample provider: 8,000 tokens of context, 1,000 of output, conservative capabilities. */
export const sampleModel = (id: string, overrides: Partial<ModelCatalog.ModelInfo> = {}): ModelCatalog.ModelInfo => ({
  id,
  provider: "sample",
  contextWindow: 8_000,
  maxOutputTokens: 1_000,
  capabilities: ModelCatalog.conservativeCapabilities,
  lifecycle: { status: "active" },
  ...overrides
})
