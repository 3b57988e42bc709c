/**
 * The Promise face: `chat(request): Promise<ChatResult>`, `stream(request): AsyncIterable<StreamPart>` and
 * `listModels()`, for code that does not use Effect. It is a thin runtime over the Effect face (the same
 * `LanguageModel`, retries, timeouts, guards and continuation), not a second implementation. Providers build
 * `createKimi` / `createGlm` on {@link make}.
 *
 * Requests use OpenAI Chat Completions message shapes (or a plain `prompt`); wire parameters go in `request`;
 * `signal` aborts the call (and the upstream HTTP request). Failures reject with {@link ConduitError}, which carries
 * the `effect/ai` reason, HTTP status, provider request id, retry advice and which timeout fired.
 *
 * @since 0.1.0
 */
import { Effect, Exit, type Layer, ManagedRuntime, Stream } from "effect"
import { AiError, LanguageModel, type Response, Toolkit } from "effect/ai"
import type * as ChatCompletions from "./ChatCompletions.js"
import type * as ModelCatalog from "./ModelCatalog.js"
import * as OpenAiCompatLanguageModel from "./OpenAiCompatLanguageModel.js"
import * as ProviderError from "./ProviderError.js"
import * as ResponseCacheHook from "./ResponseCacheHook.js"
import * as ResponseSummary from "./ResponseSummary.js"
import * as UntooledCall from "./UntooledCall.js"
import * as WireInput from "./WireInput.js"

/**
 * One call.
 *
 * - `model`: defaults to the client's default model.
 * - `messages` (OpenAI shapes) or `prompt` (one user turn), with an optional `system` prepended.
 * - `tools` (OpenAI function tools; the result lists the calls, your code executes them), `toolChoice`.
 * - `request`: wire parameters (`temperature`, `max_tokens`, `stop`, `response_format`, ...).
 * - `providerOptions`, `retry`, `timeouts`, `continuation`, `preflight` (the catalog's context-window check before
 *   sending, off by default): see `OpenAiCompatLanguageModel.ModelConfig`.
 * - `idempotencyKey`, `cache`: see `ResponseCacheHook.CallOptions`.
 * - `signal`: aborts the call.
 *
 * @since 0.1.0
 */
export interface ChatRequest {
  readonly model?: string | undefined
  readonly messages?: ReadonlyArray<ChatCompletions.RequestMessage> | undefined
  readonly prompt?: string | undefined
  readonly system?: string | undefined
  readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | undefined
  readonly toolChoice?: ChatCompletions.ChatCompletionRequest["tool_choice"]
  readonly request?: Readonly<Record<string, unknown>> | undefined
  readonly providerOptions?: Readonly<Record<string, unknown>> | undefined
  readonly retry?: OpenAiCompatLanguageModel.ModelConfig["retry"]
  readonly timeouts?: OpenAiCompatLanguageModel.ModelConfig["timeouts"]
  readonly continuation?: OpenAiCompatLanguageModel.ModelConfig["continuation"]
  readonly preflight?: boolean | undefined
  readonly idempotencyKey?: string | undefined
  readonly cache?: ResponseCacheHook.CallOptionsShape["mode"]
  readonly signal?: AbortSignal | undefined
}

/**
 * The result of `chat` (see `ResponseSummary.Summary`).
 *
 * @since 0.1.0
 */
export type ChatResult = ResponseSummary.Summary

/**
 * A streamed part (`effect/ai`'s stream parts: `text-delta`, `reasoning-delta`, `tool-call`, `finish`, ...).
 *
 * @since 0.1.0
 */
export type StreamPart = Response.StreamPart<Record<string, never>>

/**
 * A failed call. `reason` is the `effect/ai` reason tag (`RateLimitError`, `QuotaExhaustedError`, ...), `summary`
 * the flattened details (status, request id, retry advice, timeout), `cause` the original `AiError`.
 *
 * @since 0.1.0
 */
export class ConduitError extends Error {
  override readonly name = "ConduitError"
  readonly reason: string
  readonly status: number | undefined
  readonly requestId: string | undefined
  readonly retryAfterMs: number | undefined
  readonly retryable: boolean
  readonly summary: ProviderError.ErrorSummary
  override readonly cause: AiError.AiError

  constructor(error: AiError.AiError) {
    const summary = ProviderError.describe(error)
    super(`${summary.reason}: ${summary.message}`)
    this.reason = summary.reason
    this.status = summary.status
    this.requestId = summary.requestId
    this.retryAfterMs = summary.retryAfterMs
    this.retryable = summary.retryable
    this.summary = summary
    this.cause = error
  }
}

/**
 * The call was aborted through its `AbortSignal`.
 *
 * @since 0.1.0
 */
export class AbortError extends Error {
  override readonly name = "AbortError"
}

/**
 * A Promise client.
 *
 * @since 0.1.0
 */
export interface PromiseClient {
  readonly chat: (request: ChatRequest) => Promise<ChatResult>
  readonly stream: (request: ChatRequest) => AsyncIterable<StreamPart>
  readonly listModels: () => Promise<ReadonlyArray<ModelCatalog.ModelInfo>>
  /** Releases the runtimes (HTTP clients) built so far. */
  readonly close: () => Promise<void>
}

/**
 * Options of {@link make}.
 *
 * - `layer(model)`: the provider's fully configured `LanguageModel` layer for a model id.
 * - `defaultModel`: used when a request names none.
 * - `listModels`: the catalog (static or merged with a live listing).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly layer: (model: string) => Layer.Layer<LanguageModel.LanguageModel>
  readonly defaultModel: string
  readonly listModels: () => Effect.Effect<ReadonlyArray<ModelCatalog.ModelInfo>, AiError.AiError>
}

const toEffectInputs = (request: ChatRequest) =>
  Effect.gen(function* () {
    const messages: Array<ChatCompletions.RequestMessage> = [
      ...(request.system !== undefined ? [{ role: "system", content: request.system }] : []),
      ...(request.messages ?? []),
      ...(request.prompt !== undefined ? [{ role: "user", content: request.prompt }] : [])
    ]
    if (messages.length === 0) {
      return yield* AiError.make({
        module: "PromiseClient",
        method: "chat",
        reason: new AiError.InvalidRequestError({
          description: "a request needs messages or a prompt",
          parameter: "messages"
        })
      })
    }
    const prompt = yield* Effect.fromResult(WireInput.toPrompt(messages))
    const { tools, providerDefined } = yield* Effect.fromResult(WireInput.toTools(request.tools))
    return {
      prompt,
      toolkit: Toolkit.make(...tools),
      toolChoice: WireInput.toToolChoice(request.toolChoice),
      providerDefined
    }
  })

const callConfig = (
  request: ChatRequest,
  providerDefined: ReadonlyArray<ChatCompletions.RequestTool> = []
): OpenAiCompatLanguageModel.ModelConfig => ({
  ...(providerDefined.length > 0 ? { wireTools: providerDefined } : {}),
  ...(request.request !== undefined ? { request: request.request } : {}),
  ...(request.providerOptions !== undefined ? { providerOptions: request.providerOptions } : {}),
  ...(request.retry !== undefined ? { retry: request.retry } : {}),
  ...(request.timeouts !== undefined ? { timeouts: request.timeouts } : {}),
  ...(request.continuation !== undefined ? { continuation: request.continuation } : {}),
  ...(request.preflight !== undefined ? { preflight: request.preflight } : {})
})

const withCallOptions =
  (request: ChatRequest, providerDefined: ReadonlyArray<ChatCompletions.RequestTool> = []) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(
      OpenAiCompatLanguageModel.withCallConfig(callConfig(request, providerDefined)),
      Effect.provideService(ResponseCacheHook.CallOptions, {
        ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
        ...(request.cache !== undefined ? { mode: request.cache } : {})
      })
    )

const rejection = (exit: Exit.Exit<unknown, AiError.AiError>, signal: AbortSignal | undefined): Error => {
  if (Exit.isSuccess(exit)) return new Error("unreachable")
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail" && AiError.isAiError(reason.error)) return new ConduitError(reason.error)
    if (reason._tag === "Die") return reason.defect instanceof Error ? reason.defect : new Error(String(reason.defect))
  }
  if (signal?.aborted) return new AbortError("the call was aborted")
  return new Error(`the call was interrupted: ${String(exit.cause)}`)
}

/**
 * Runs an effect as a Promise the way the Promise face does: its value, or a rejection with a {@link ConduitError}
 * for an `AiError`, the defect itself for a defect, an `Error` naming the interruption otherwise. For a provider's
 * extra Promise methods (files, tokenizer, web search).
 *
 * @since 0.1.0
 */
export const run = <A>(effect: Effect.Effect<A, AiError.AiError>): Promise<A> =>
  Effect.runPromiseExit(effect).then((exit) =>
    Exit.isSuccess(exit) ? exit.value : Promise.reject(rejection(exit, undefined))
  )

/**
 * Builds a Promise client. One runtime (and one HTTP client) is kept per model id until `close`.
 *
 * @since 0.1.0
 */
export const make = (options: Options): PromiseClient => {
  const runtimes = new Map<string, ManagedRuntime.ManagedRuntime<LanguageModel.LanguageModel, never>>()
  const runtimeFor = (model: string) => {
    let runtime = runtimes.get(model)
    if (runtime === undefined) {
      runtime = ManagedRuntime.make(options.layer(model))
      runtimes.set(model, runtime)
    }
    return runtime
  }

  const chat = async (request: ChatRequest): Promise<ChatResult> => {
    const runtime = runtimeFor(request.model ?? options.defaultModel)
    const program = Effect.gen(function* () {
      const inputs = yield* toEffectInputs(request)
      const call =
        Object.keys(inputs.toolkit.tools).length === 0
          ? // no function tool: the same call through effect/ai's cached response decoder
            UntooledCall.generateText(inputs.prompt)
          : LanguageModel.generateText({
              prompt: inputs.prompt,
              toolkit: inputs.toolkit,
              toolChoice: inputs.toolChoice,
              disableToolCallResolution: true,
              // provider-defined tools (e.g. $web_search) come back as calls of tools the toolkit does not declare
              toolCallValidation: "deferred"
            })
      const response = yield* call.pipe(withCallOptions(request, inputs.providerDefined))
      return ResponseSummary.fromParts(response.content as ReadonlyArray<Response.AnyPart>)
    }) as Effect.Effect<ChatResult, AiError.AiError, LanguageModel.LanguageModel>
    const exit = await runtime.runPromiseExit(program, request.signal ? { signal: request.signal } : undefined)
    if (Exit.isSuccess(exit)) return exit.value
    throw rejection(exit, request.signal)
  }

  const stream = (request: ChatRequest): AsyncIterable<StreamPart> => ({
    async *[Symbol.asyncIterator]() {
      const runtime = runtimeFor(request.model ?? options.defaultModel)
      const signal = request.signal
      const aborted = Effect.callback<void>((resume) => {
        if (signal === undefined) return
        if (signal.aborted) return resume(Effect.void)
        const onAbort = () => resume(Effect.void)
        signal.addEventListener("abort", onAbort, { once: true })
        return Effect.sync(() => signal.removeEventListener("abort", onAbort))
      })
      const parts = Stream.unwrap(
        Effect.map(toEffectInputs(request), (inputs) =>
          LanguageModel.streamText({
            prompt: inputs.prompt,
            toolkit: inputs.toolkit,
            toolChoice: inputs.toolChoice,
            disableToolCallResolution: true,
            toolCallValidation: "deferred"
          }).pipe(
            Stream.provideService(OpenAiCompatLanguageModel.CallConfig, callConfig(request, inputs.providerDefined))
          )
        )
      ).pipe(
        Stream.provideService(ResponseCacheHook.CallOptions, {
          ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
          ...(request.cache !== undefined ? { mode: request.cache } : {})
        }),
        Stream.interruptWhen(aborted),
        Stream.mapError((error) => (AiError.isAiError(error) ? new ConduitError(error) : error))
      ) as unknown as Stream.Stream<StreamPart, ConduitError, LanguageModel.LanguageModel>
      const context = await runtime.context()
      for await (const part of Stream.toAsyncIterableWith(parts, context)) yield part
      if (signal?.aborted) throw new AbortError("the call was aborted")
    }
  })

  const listModels = async () => {
    const exit = await Effect.runPromiseExit(options.listModels())
    if (Exit.isSuccess(exit)) return exit.value
    throw rejection(exit, undefined)
  }

  const close = async () => {
    const all = [...runtimes.values()]
    runtimes.clear()
    await Promise.all(all.map((runtime) => runtime.dispose()))
  }

  return { chat, stream, listModels, close }
}
