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
import { Context, Effect, Exit, Option, type Tracer } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, ResponseIdTracker, Telemetry } from "effect/ai"
import * as encodedGenerates from "./internal/encodedGenerates.js"
import * as Tracing from "./Tracing.js"
import * as UntooledCall from "./UntooledCall.js"

/**
 * The span a call gets when tracing is not active (Effect's native tracer, or tracing off): one that records nothing,
 * as Effect's own no-op span.
 */
const inactiveSpan: Tracer.Span = {
  _tag: "Span",
  name: "LanguageModel.generateText",
  spanId: "noop",
  traceId: "noop",
  parent: Option.none(),
  annotations: Context.empty(),
  status: { _tag: "Ended", startTime: 0n, endTime: 0n, exit: Exit.void },
  attributes: new Map(),
  links: [],
  sampled: false,
  kind: "client",
  end: () => {},
  attribute: () => {},
  event: () => {},
  addLinks: () => {}
}

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
        const providerOptions: LanguageModel.ProviderOptions = {
          prompt: Prompt.make(options.prompt),
          tools: [],
          toolChoice: "none", // what effect/ai hands the provider for the empty toolkit
          responseFormat: { type: "text" },
          span: inactiveSpan,
          previousResponseId: undefined,
          incrementalPrompt: undefined,
          toolCallValidation: "deferred"
        }
        // without a tracer that exports, nothing reads the call's span (core's hook annotates it only when tracing is
        // active, see `Tracing`): no span is made, nor made the parent of the call's work
        if (!Tracing.isActive(fiber)) return hook(providerOptions)
        // as effect/ai's `LanguageModel.generateText` opens and annotates it (its `annotateRequestOptions`)
        return Effect.useSpan("LanguageModel.generateText", { kind: "client" }, (span) => {
          span.attribute("gen_ai.output.type", "text")
          span.attribute("effect.ai.tool_choice", "auto")
          span.attribute("effect.ai.concurrency", "unbounded")
          return Effect.withParentSpan(hook({ ...providerOptions, span }), span, { captureStackTrace: false })
        })
      }
    )
  )
