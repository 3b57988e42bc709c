/**
 * The rows of the matrix on the provider axis: a Kimi and a GLM model, and a thinking model of each, as the gateway
 * names them (`provider/model`). The catalog says which models think (`thinking: "always"` for the thinking rows).
 */
export interface Target {
  readonly label: string
  readonly provider: "kimi" | "glm"
  readonly model: string
  readonly thinking: boolean
}

export const targets: ReadonlyArray<Target> = [
  { label: "kimi kimi-k2.6", provider: "kimi", model: "kimi/kimi-k2.6", thinking: false },
  { label: "kimi kimi-k2.7-code (thinking)", provider: "kimi", model: "kimi/kimi-k2.7-code", thinking: true },
  { label: "glm glm-4.6", provider: "glm", model: "glm/glm-4.6", thinking: false },
  { label: "glm glm-4.7 (thinking)", provider: "glm", model: "glm/glm-4.7", thinking: true }
]

/**
 * The prices the catalogs give the targets on api.moonshot.ai / api.z.ai, USD per million tokens
 * (docs/providers/kimi.md#pricing, docs/providers/glm.md#pricing); the suite's gateway prices its simulated targets with
 * them through models.yaml `pricing:`.
 */
export const publishedPrices: Readonly<Record<string, { input: number; cached: number; output: number }>> = {
  "kimi/kimi-k2.6": { input: 0.95, cached: 0.16, output: 4 },
  "kimi/kimi-k2.7-code": { input: 0.95, cached: 0.19, output: 4 },
  "glm/glm-4.6": { input: 0.6, cached: 0.11, output: 2.2 },
  "glm/glm-4.7": { input: 0.6, cached: 0.11, output: 2.2 }
}

/** A model id the gateway does not know at all (no such provider prefix). */
export const unknownModel = "no-such-provider/no-such-model"

/** Model ids a provider does not know: the gateway sends them, the provider answers its own 404. */
export const unknownProviderModels: ReadonlyArray<string> = ["kimi/kimi-no-such-model", "glm/glm-no-such-model"]

/** Any bearer key: the suite's gateway runs without CONDUIT_API_KEYS (loopback only). */
export const apiKey = "sk-client-compat"
