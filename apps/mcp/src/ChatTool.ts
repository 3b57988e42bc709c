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
 * The call runs on the gateway's own engine (`Engine` in `@conduitkit/gateway`), as a gateway request does: the
 * route's target and fallbacks with provider cooldowns, retries and timeouts inside the model under the per-provider
 * retry budget, admission through the `SessionManager` (concurrency, queue, execution timeout, rate limits per key and
 * model name, the key's budget charged with the answer's cost), conversations when configured. The result carries
 * the answer's `cost` when the price is known. An answer from a simulated provider says so (`simulated: true`, and
 * the text starts with a notice).
 */

import type { ChatCompletions } from "@conduitkit/core"
import { ResponseSummary, TokenEstimator, WireInput } from "@conduitkit/core"
import { Engine as GatewayEngine } from "@conduitkit/gateway"
import { Cause, Effect, Exit, Pull, Schema } from "effect"
import type { Prompt } from "effect/ai"
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

/** What the answer cost upstream: `amount` in `currency` (the model's price currency), absent when the price is unknown. */
const Cost = Schema.Struct({ amount: Schema.Number, currency: Schema.String, unconfirmed: Schema.Boolean })

/** The output (token counts in tokens; `cost` in the price's currency, USD or CNY). */
export const Output = Schema.Struct({
  model: Schema.String,
  provider: Schema.String,
  text: Schema.String,
  reasoning: Schema.optional(Schema.String),
  finish_reason: Schema.String,
  usage: Usage,
  cost: Schema.optional(Cost),
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

/** The engine's call of an input: the prompt, `max_tokens` and `temperature` as wire parameters, the session. */
const callOf = (
  input: Input,
  messages: ReadonlyArray<ChatCompletions.RequestMessage>,
  prompt: Prompt.Prompt
): GatewayEngine.Call => {
  const request: Record<string, unknown> = {
    ...(input.max_tokens !== undefined ? { max_tokens: input.max_tokens } : {}),
    ...(input.temperature !== undefined ? { temperature: input.temperature } : {})
  }
  return {
    model: input.model,
    prompt,
    config: Object.keys(request).length === 0 ? {} : { request },
    sessionId: input.session,
    idempotencyKey: undefined,
    cacheMode: undefined,
    tokenEstimate: () => TokenEstimator.estimateRequest({ messages }) + (input.max_tokens ?? 0)
  }
}

const truncated = new ToolError(
  "InternalProviderError",
  "The upstream stream ended without a finish reason: the answer is incomplete.",
  "upstream_stream_truncated",
  502
)

/**
 * A streamed call to its whole answer: every batch's text deltas sent as progress, the engine's stream closed however
 * it ends (as interrupted when the client cancelled: the upstream request is aborted). Fails with `truncated` when the
 * upstream ended without a finish part.
 */
const streamed = (
  engine: Engine,
  call: GatewayEngine.Call,
  info: GatewayEngine.RequestInfo,
  progress: CallContext["progress"]
): Effect.Effect<GatewayEngine.Answer, unknown> =>
  Effect.scoped(
    Effect.gen(function* () {
      const streaming = yield* GatewayEngine.stream(engine.deps, call, info)
      const parts: Array<GatewayEngine.StreamPart> = []
      const take = (batch: ReadonlyArray<GatewayEngine.StreamPart>) => {
        parts.push(...batch)
        return progress === undefined
          ? Effect.void
          : Effect.forEach(
              batch,
              (part) => (part.type === "text-delta" && part.delta !== "" ? progress(part.delta) : Effect.void),
              { discard: true }
            )
      }
      const drain = Effect.gen(function* () {
        yield* take(streaming.first)
        while (true) {
          const next = yield* Effect.exit(streaming.pull)
          if (Exit.isSuccess(next)) yield* take(next.value)
          else if (Pull.isDoneCause(next.cause)) return
          else return yield* Effect.failCause(next.cause)
        }
      })
      yield* drain.pipe(
        Effect.onExit((exit) => streaming.close(Exit.isFailure(exit) && Cause.hasInterrupts(exit.cause)))
      )
      if (!parts.some((part) => part.type === "finish")) return yield* Effect.fail(truncated)
      const summary = ResponseSummary.fromParts(parts)
      return {
        summary,
        model: call.model,
        provider: summary.metadata.provider ?? streaming.provider,
        attempts: streaming.attempts,
        cost: streaming.cost()
      }
    })
  )

/**
 * Runs the tool on the gateway's engine (`Engine.generate`, or `Engine.stream` with `stream: true`): the route and its
 * fallbacks, cooldowns and retry budgets, the session manager (admission, rate limits, the key's budget charged with
 * the answer's cost), conversations when configured.
 */
export const run = (input: Input, context: CallContext): Effect.Effect<Output, unknown> =>
  Effect.gen(function* () {
    const { engine } = context
    const messages = yield* toMessages(input)
    const prompt: Prompt.Prompt = yield* Effect.fromResult(WireInput.toPrompt(messages))
    const call = callOf(input, messages, prompt)
    const info: GatewayEngine.RequestInfo = {
      requestId: context.requestId,
      keyId: context.keyId,
      startedAt: performance.now(),
      fields: {},
      done: () => Effect.void
    }
    const answer =
      input.stream === true
        ? yield* streamed(engine, call, info, context.progress)
        : yield* GatewayEngine.generate(engine.deps, call, info)
    const { summary, provider, cost } = answer
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
      ...(cost !== undefined ? { cost } : {}),
      attempts: answer.attempts,
      simulated,
      ...(sources.length > 0 ? { sources } : {})
    }
  })
