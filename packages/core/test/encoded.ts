/**
 * Test support shared by the `EncodedGenerate` and `EncodedStream` tests: the sample provider's model "small" (tools
 * on, no reasoning replay) on a mocked base URL, a runner without retries, and what makes an encoded part comparable
 * with effect/ai's decoded one.
 */
import { Effect, Layer, Schema } from "effect"
import { type AiError, type LanguageModel, Response } from "effect/ai"
import * as ModelCatalog from "../src/ModelCatalog.js"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { sampleModel, sampleProvider } from "./sample.js"

export const baseURL = "https://model.test/v1"

const provider = sampleProvider(baseURL, {
  defaultModel: "small",
  catalog: ModelCatalog.make("sample", [
    sampleModel("small", { capabilities: { ...ModelCatalog.conservativeCapabilities, tools: true } })
  ]),
  reasoningReplay: { mode: "never" }
})

/** The `LanguageModel` of the sample provider's "small". */
export const layer = provider.layer("small").pipe(Layer.provide(provider.clientLayer({ apiKey: "k" })))

/** Runs `effect` on `model` (default {@link layer}) without retries, to its exit. */
export const run = <A>(
  effect: Effect.Effect<A, AiError.AiError, LanguageModel.LanguageModel>,
  model: Layer.Layer<LanguageModel.LanguageModel> = layer
) =>
  Effect.runPromiseExit(
    effect.pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, { maxRetries: 0 }), Effect.provide(model))
  )

/** A part without the call's timings (`metadata.conduit.durationMs`, `timeToFirstTokenMs`), which differ by call. */
export const untimed = (part: unknown): unknown => {
  const conduit = (part as { metadata?: { conduit?: Record<string, unknown> } }).metadata?.conduit
  if (conduit === undefined) return part
  const { durationMs: _d, timeToFirstTokenMs: _t, ...rest } = conduit
  return { ...(part as object), metadata: { ...(part as { metadata: object }).metadata, conduit: rest } }
}

/**
 * effect/ai's own decode of a call's parts with `part` (`Response.Part` or `Response.StreamPart` of the empty
 * toolkit), deferred tool-call validation: calls of undeclared tools are kept.
 */
export const decoderOf = <S extends Schema.Top & { readonly DecodingServices: never }>(part: S) =>
  Schema.decodeUnknownSync(
    Schema.Array(
      Schema.Union([
        part,
        Response.ToolCallPart("", Schema.Unknown).mapFields((fields) => ({ ...fields, name: Schema.String }))
      ])
    )
  )
