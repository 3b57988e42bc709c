/**
 * The non-stream hooks of the `LanguageModel` services `OpenAiCompatLanguageModel.make` built (what
 * `LanguageModel.make` decodes), by service: `EncodedGenerate.generateText` runs the hook itself. Not public: only
 * `make` registers.
 */
import type { Effect } from "effect"
import type { AiError, LanguageModel, Response } from "effect/ai"

/** A model's non-stream hook: its parts as built, before effect/ai's decode. */
export type Hook = (
  options: LanguageModel.ProviderOptions
) => Effect.Effect<Array<Response.PartEncoded>, AiError.AiError>

const hooks = new WeakMap<LanguageModel.LanguageModel, Hook>()

/** Remembers `hook` as the undecoded answer of `service`; returns `service`. */
export const register = (service: LanguageModel.LanguageModel, hook: Hook): LanguageModel.LanguageModel => {
  hooks.set(service, hook)
  return service
}

/** The undecoded non-stream hook of `service`, when `OpenAiCompatLanguageModel.make` built it. */
export const hookOf = (service: LanguageModel.LanguageModel): Hook | undefined => hooks.get(service)
