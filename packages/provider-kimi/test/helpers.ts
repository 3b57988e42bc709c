/**
 * Shared test helpers: model layers against a test base URL, running effects to an `Exit`, and reading failures.
 */
import { type OpenAiCompatProvider, ProviderError, ResponseSummary, RetryPolicy } from "@conduitkit/core"
import { Effect, Exit, Layer, Stream } from "effect"
import { AiError, type LanguageModel, type Response } from "effect/ai"
import * as KimiClient from "../src/KimiClient.js"
import type * as KimiConfig from "../src/KimiConfig.js"
import * as KimiLanguageModel from "../src/KimiLanguageModel.js"

export const testKey = "sk-test-kimi"

/** A `LanguageModel` layer for `model` with a client on `baseURL`. */
export const modelLayer = (
  model: string,
  options: {
    readonly baseURL?: string
    readonly config?: KimiConfig.ModelConfig
    readonly provider?: OpenAiCompatProvider.Provider<"kimi">
    readonly client?: Omit<KimiClient.Options, "apiKey">
  } = {}
): Layer.Layer<LanguageModel.LanguageModel> =>
  KimiLanguageModel.layer(model, options.config, options.provider).pipe(
    Layer.provide(
      KimiClient.layer({
        apiKey: testKey,
        baseURL: options.baseURL ?? "https://api.moonshot.ai/v1",
        ...(options.provider !== undefined ? { provider: options.provider } : {}),
        ...options.client
      })
    )
  )

/** Runs an effect to its exit, with fast retries unless told otherwise. */
export const runExit = <A, E>(
  effect: Effect.Effect<A, E, LanguageModel.LanguageModel>,
  layer: Layer.Layer<LanguageModel.LanguageModel>,
  retry: RetryPolicy.RetryPolicyInput = { baseDelayMs: 1, maxDelayMs: 5 }
): Promise<Exit.Exit<A, E>> =>
  Effect.runPromiseExit(effect.pipe(Effect.provideService(RetryPolicy.CallRetryPolicy, retry), Effect.provide(layer)))

/** Collects a stream of parts to its exit. */
export const collectExit = <A, E>(
  stream: Stream.Stream<A, E, LanguageModel.LanguageModel>,
  layer: Layer.Layer<LanguageModel.LanguageModel>,
  retry?: RetryPolicy.RetryPolicyInput
): Promise<Exit.Exit<ReadonlyArray<A>, E>> => runExit(Stream.runCollect(stream), layer, retry)

/** The `AiError` of a failed exit (throws otherwise). */
export const failureOf = (exit: Exit.Exit<unknown, unknown>): AiError.AiError => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure, got a success")
  for (const reason of exit.cause.reasons) {
    if (reason._tag === "Fail" && AiError.isAiError(reason.error)) return reason.error
  }
  throw new Error(`expected an AiError failure, got ${String(exit.cause)}`)
}

/** The value of a successful exit (throws with the cause otherwise). */
export const successOf = <A>(exit: Exit.Exit<A, unknown>): A => {
  if (Exit.isFailure(exit)) throw new Error(`expected a success, got ${String(exit.cause)}`)
  return exit.value
}

/** The summary of parts. */
export const summarize = (parts: Iterable<Response.AnyPart>) => ResponseSummary.fromParts(parts)

/** The flattened description of an error. */
export const describe = (error: AiError.AiError) => ProviderError.describe(error)
