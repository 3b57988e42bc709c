/**
 * A non-stream call's parts as the provider built them (`Response.PartEncoded`), for a caller that passes them on
 * instead of using them typed: the gateway encodes the answer straight into its wire format. The non-stream
 * counterpart of `EncodedStream`.
 *
 * effect/ai's `LanguageModel.generateText` decodes the provider's parts with the `Response.Part` schema (for parts
 * that Conduit's own converters built from a checked answer, that only re-checks them and adds defaults:
 * `metadata: {}`, the part brand, a `DateTime` timestamp) and resolves a toolkit. {@link generateText} runs the same
 * call without it: the same `LanguageModel.generateText` span with the same attributes, the same provider options,
 * the model's own hook (request building, cache hook, retries, timeouts, round policy, finish rules, usage and
 * metadata: all of it in the model's hook). For a `LanguageModel` that `OpenAiCompatLanguageModel.make` did not
 * build, or when a span transformer or a response id tracker is in the context (effect/ai features this path does
 * not replay), it is `UntooledCall.generateText` (effect/ai's `LanguageModel.generateText`, decoded parts).
 *
 * @since 0.1.0
 */
import { Context, Effect } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, ResponseIdTracker, Telemetry } from "effect/ai"
import * as encodedGenerates from "./internal/encodedGenerates.js"
import * as UntooledCall from "./UntooledCall.js"

/**
 * The parts of `LanguageModel.generateText({ prompt, toolkit: Toolkit.empty, disableToolCallResolution: true,
 * toolCallValidation: "deferred" })` from the `LanguageModel` in the context, as the provider built them (see the
 * module): response metadata, reasoning, text, tool calls as the model made them (undeclared, not resolved), the
 * `finish` part with usage and `metadata.conduit`. Fails with the model's `AiError`s.
 *
 * @since 0.1.0
 */
export const generateText = (options: {
  readonly prompt: Prompt.RawInput
}): Effect.Effect<ReadonlyArray<Response.PartEncoded>, AiError.AiError, LanguageModel.LanguageModel> =>
  Effect.flatMap(Effect.service(LanguageModel.LanguageModel), (model) =>
    Effect.withFiber(
      (fiber): Effect.Effect<ReadonlyArray<Response.PartEncoded>, AiError.AiError, LanguageModel.LanguageModel> => {
        const hook = encodedGenerates.hookOf(model)
        if (
          hook === undefined ||
          Context.getOrUndefined(fiber.context, Telemetry.CurrentSpanTransformer) !== undefined ||
          Context.getOrUndefined(fiber.context, ResponseIdTracker.ResponseIdTracker) !== undefined
        ) {
          // decoded parts, read as the encoded ones they were decoded from (as `EncodedStream` does)
          return Effect.map(
            UntooledCall.generateText(options.prompt),
            (response) => response.content as unknown as ReadonlyArray<Response.PartEncoded>
          )
        }
        // as effect/ai's `LanguageModel.generateText` opens and annotates it (its `annotateRequestOptions`), with the
        // options effect/ai hands the provider for the empty toolkit
        return Effect.useSpan("LanguageModel.generateText", { kind: "client" }, (span) => {
          span.attribute("gen_ai.output.type", "text")
          span.attribute("effect.ai.tool_choice", "auto")
          span.attribute("effect.ai.concurrency", "unbounded")
          return Effect.withParentSpan(
            hook({
              prompt: Prompt.make(options.prompt),
              tools: [],
              toolChoice: "none",
              responseFormat: { type: "text" },
              span,
              previousResponseId: undefined,
              incrementalPrompt: undefined,
              toolCallValidation: "deferred"
            }),
            span,
            { captureStackTrace: false }
          )
        })
      }
    )
  )
