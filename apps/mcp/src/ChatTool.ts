/**
 * The `chat` tool: one model call on a route, with tools off.
 *
 * Input: `model` (a models.yaml name such as `default`, or `kimi/<id>`, `glm/<id>`), either `prompt` (one user
 * message) or `messages` (`system` / `user` / `assistant` text turns), an optional `system` prompt (placed first),
 * `max_tokens`, `temperature`, `session` (names a session: ordering and per-session limits, like the gateway's
 * `x-session-id`) and `stream`. With `stream: true` the answer is streamed upstream and every text delta is sent to
 * the client as a progress notification (`message` = the delta) when the client asked for progress; the result is
 * the whole answer either way.
 *
 * The call runs like a gateway request: the route's target and fallbacks (`ProviderRegistry.provideRoute`), retries
 * and timeouts inside the model, admission through the `SessionManager` (concurrency, queue, execution timeout,
 * rate limits per key and model name). An answer from a simulated provider says so (`simulated: true`, and the text
 * starts with a notice).
 */

import type { ChatCompletions } from "@conduitkit/core"
import {
  OpenAiCompatLanguageModel,
  ProviderRegistry,
  RequestContext,
  ResponseSummary,
  TokenEstimator,
  WireInput
} from "@conduitkit/core"
import { Effect, Schema, Stream } from "effect"
import { LanguageModel, type Prompt, type Response } from "effect/ai"
import { type Engine, ToolError } from "./Engine.js"

const Message = Schema.Struct({
  role: Schema.Literals(["system", "user", "assistant"]),
  content: Schema.String
})

/** The input. */
export const Input = Schema.Struct({
  model: Schema.String.annotate({
    description: "A routable model name: a models.yaml name (e.g. 'default', 'fast'), or 'kimi/<model>', 'glm/<model>'."
  }),
  prompt: Schema.optional(Schema.String.annotate({ description: "One user message (or give 'messages')." })),
  messages: Schema.optional(
    Schema.Array(Message).annotate({ description: "The conversation as text turns (or give 'prompt')." })
  ),
  system: Schema.optional(Schema.String.annotate({ description: "A system prompt, placed before the messages." })),
  stream: Schema.optional(
    Schema.Boolean.annotate({
      description:
        "Stream the answer: each text delta arrives as a progress notification (when a progress token is sent)."
    })
  ),
  max_tokens: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  temperature: Schema.optional(Schema.Number),
  session: Schema.optional(
    Schema.String.check(Schema.isPattern(/^[\w.:@/+=-]{1,128}$/)).annotate({
      description: "A session name: calls of one session run in order, under the per-session limits."
    })
  )
})

/** @since 0.1.0 */
export type Input = typeof Input.Type

const Usage = Schema.Struct({
  input_tokens: Schema.Number,
  output_tokens: Schema.Number,
  cached_input_tokens: Schema.Number,
  reasoning_tokens: Schema.Number
})

/** The output (token counts in tokens). */
export const Output = Schema.Struct({
  model: Schema.String,
  provider: Schema.String,
  text: Schema.String,
  reasoning: Schema.optional(Schema.String),
  finish_reason: Schema.String,
  usage: Usage,
  attempts: Schema.Number,
  simulated: Schema.Boolean,
  sources: Schema.optional(Schema.Array(Schema.Struct({ title: Schema.String, url: Schema.optional(Schema.String) })))
})

/** @since 0.1.0 */
export type Output = typeof Output.Type

/** What a call knows about its caller, and how it reports progress. */
export interface CallContext {
  readonly engine: Engine
  /** Names the caller in sessions and rate limits (`anonymous`, or the key id of an HTTP client). */
  readonly keyId: string
  readonly requestId: string
  /** Sends one progress notification (`undefined`: the client asked for none). */
  readonly progress?: ((message: string) => Effect.Effect<void>) | undefined
}

/** The notice a simulated answer starts with. */
export const simulatedNotice = (provider: string) =>
  `[simulated: answered by Conduit's built-in ${provider} simulation, not the live API; set the provider's API key for real answers]\n\n`

/** The wire messages of an input (pure). Fails with a {@link ToolError} unless exactly one of prompt/messages. */
export const toMessages = (input: Input): Effect.Effect<Array<ChatCompletions.RequestMessage>, ToolError> => {
  if ((input.prompt === undefined) === (input.messages === undefined)) {
    return Effect.fail(
      new ToolError("InvalidRequestError", "Give either 'prompt' or 'messages' (exactly one).", "invalid_value")
    )
  }
  const turns: Array<ChatCompletions.RequestMessage> =
    input.prompt !== undefined
      ? [{ role: "user", content: input.prompt }]
      : (input.messages ?? []).map((m) => ({ ...m }))
  if (turns.length === 0) {
    return Effect.fail(
      new ToolError("InvalidRequestError", "'messages' must hold at least one message.", "invalid_value")
    )
  }
  return Effect.succeed(input.system !== undefined ? [{ role: "system", content: input.system }, ...turns] : turns)
}

type StreamPart = Response.StreamPart<Record<string, never>>

/** Runs the tool. */
export const run = (input: Input, context: CallContext): Effect.Effect<Output, unknown> =>
  Effect.gen(function* () {
    const { engine } = context
    const messages = yield* toMessages(input)
    const route = yield* engine.routes.resolve(input.model)
    const prompt: Prompt.Prompt = yield* Effect.fromResult(WireInput.toPrompt(messages))
    const request: Record<string, unknown> = {
      ...(input.max_tokens !== undefined ? { max_tokens: input.max_tokens } : {}),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {})
    }
    let attempts = 0
    let step = 0
    const steps = [route, ...route.fallbacks]
    const observer: ProviderRegistry.RouteObserver = { onStep: (index) => (step = index) }
    const requestContext: RequestContext.RequestContextShape = { onAttempt: () => void attempts++ }
    const limits = engine.config.rateLimits
    const runOptions = {
      sessionId: input.session !== undefined ? `${context.keyId}:${input.session}` : undefined,
      requestId: context.requestId,
      ...(limits !== undefined
        ? {
            rateLimit: {
              key: context.keyId,
              model: route.name,
              tokens: TokenEstimator.estimateRequest({ messages }) + (input.max_tokens ?? 0)
            }
          }
        : {})
    }
    const withCall = <A, E>(effect: Effect.Effect<A, E>) =>
      Effect.provideService(withRequest(request)(effect), RequestContext.RequestContext, requestContext)
    let parts: ReadonlyArray<StreamPart | Response.AnyPart>
    if (input.stream === true) {
      const collected: Array<StreamPart> = []
      const stream = ProviderRegistry.provideRouteStream(
        engine.routes.registry,
        route,
        observer
      )(
        LanguageModel.streamText({ prompt, disableToolCallResolution: true } as never) as Stream.Stream<
          StreamPart,
          never,
          LanguageModel.LanguageModel
        >
      )
      yield* withCall(
        Stream.runForEach(engine.sessions.runStream(stream, runOptions), (part) => {
          collected.push(part)
          return part.type === "text-delta" && part.delta !== "" && context.progress !== undefined
            ? context.progress(part.delta)
            : Effect.void
        })
      )
      parts = collected
    } else {
      const generate = ProviderRegistry.provideRoute(
        engine.routes.registry,
        route,
        observer
      )(
        LanguageModel.generateText({ prompt, disableToolCallResolution: true } as never) as Effect.Effect<
          LanguageModel.GenerateTextResponse<Record<string, never>>,
          never,
          LanguageModel.LanguageModel
        >
      )
      const { value } = yield* withCall(engine.sessions.run(generate, runOptions))
      parts = value.content as ReadonlyArray<Response.AnyPart>
    }
    const summary = ResponseSummary.fromParts(parts as Iterable<Response.AnyPart>)
    const provider = summary.metadata.provider ?? steps[step]?.provider ?? route.provider
    const simulated = engine.modes.get(provider) === "simulated"
    const sources = summary.sources.map((source) => ({
      title: source.title,
      ...(source.url !== undefined ? { url: source.url } : {})
    }))
    return {
      model: input.model,
      provider,
      text: simulated ? `${simulatedNotice(provider)}${summary.text}` : summary.text,
      ...(summary.reasoning !== "" ? { reasoning: summary.reasoning } : {}),
      finish_reason: summary.finishReason,
      usage: {
        input_tokens: summary.usage.inputTokens,
        output_tokens: summary.usage.outputTokens,
        cached_input_tokens: summary.usage.cachedInputTokens,
        reasoning_tokens: summary.usage.reasoningTokens
      },
      attempts,
      simulated,
      ...(sources.length > 0 ? { sources } : {})
    }
  })

/** Wire parameters of the call (`max_tokens`, `temperature`) through core's `CallConfig`. */
const withRequest =
  (request: Record<string, unknown>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Object.keys(request).length === 0
      ? effect
      : Effect.provideService(effect, OpenAiCompatLanguageModel.CallConfig, { request })
