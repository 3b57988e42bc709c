/**
 * A streamed call's parts as the provider built them (`Response.StreamPartEncoded`), for a caller that passes them
 * on instead of using them typed: the gateway encodes every part straight into its wire format.
 *
 * effect/ai's `LanguageModel.streamText` decodes every batch of the provider's parts with the `Response.StreamPart`
 * schema (and, without a toolkit of its own, builds that schema again for every call). For parts that Conduit's own
 * converters built from a checked chunk that decode only re-checks them and adds defaults (`metadata: {}`, the part
 * brand), so {@link streamText} runs the same call without it: the same `LanguageModel.streamText` span with the
 * same attributes, the same provider options, the model's own stream (request building, cache hook, retries,
 * stream guards, timeouts, round policy: all of it in the model's hook). For a `LanguageModel` that
 * `OpenAiCompatLanguageModel.make` did not build, or when a span transformer or a response id tracker is in the
 * context (effect/ai features this path does not replay), it is `LanguageModel.streamText` itself.
 *
 * @since 0.1.0
 */
import { Effect, Option, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, ResponseIdTracker, Telemetry, Toolkit } from "effect/ai"
import * as encodedStreams from "./internal/encodedStreams.js"

/**
 * The parts of `LanguageModel.streamText({ prompt, toolkit: Toolkit.empty, disableToolCallResolution: true,
 * toolCallValidation: "deferred" })` from the `LanguageModel` in the context, as the provider built them (see the
 * module). Fails with the model's `AiError`s.
 *
 * @since 0.1.0
 */
export const streamText = (options: {
  readonly prompt: Prompt.RawInput
}): Stream.Stream<Response.StreamPartEncoded, AiError.AiError, LanguageModel.LanguageModel> =>
  Stream.unwrap(
    Effect.gen(function* () {
      const model = yield* LanguageModel.LanguageModel
      const hook = encodedStreams.hookOf(model)
      if (
        hook === undefined ||
        Option.isSome(yield* Effect.serviceOption(Telemetry.CurrentSpanTransformer)) ||
        Option.isSome(yield* Effect.serviceOption(ResponseIdTracker.ResponseIdTracker))
      ) {
        return model.streamText({
          prompt: options.prompt,
          toolkit: Toolkit.empty,
          disableToolCallResolution: true,
          toolCallValidation: "deferred"
        }) as Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
      }
      // as effect/ai's `LanguageModel.streamText` opens and annotates it (its `annotateRequestOptions`)
      const span = yield* Effect.makeSpanScoped("LanguageModel.streamText", { kind: "client" })
      span.attribute("gen_ai.output.type", "text")
      span.attribute("effect.ai.tool_choice", "auto")
      span.attribute("effect.ai.concurrency", "unbounded")
      return hook({
        prompt: Prompt.make(options.prompt),
        tools: [],
        toolChoice: "auto", // what effect/ai hands the provider with a toolkit given (here the empty one)
        responseFormat: { type: "text" },
        span,
        previousResponseId: undefined,
        incrementalPrompt: undefined,
        toolCallValidation: "deferred"
      })
    })
  )
