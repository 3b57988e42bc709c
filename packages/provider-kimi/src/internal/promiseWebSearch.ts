/**
 * Stopgap for core's Promise face and `$web_search`: core passes a built-in tool of an OpenAI-shaped request to the
 * model as `ModelConfig.extraTools` and defers the validation of undeclared tool calls, but a server round also
 * yields a provider-executed `tool-result` part, which `effect/ai` refuses to decode (`InvalidOutputError`) when
 * the toolkit does not declare the tool. So for a call whose extra tools declare `$web_search`, this wrapper of
 * the `LanguageModel` takes the declaration out of `extraTools` and adds `KimiWebSearch.tool` to the toolkit
 * instead: the request is the same (`providerTool` declares the built-in), and the parts are those of the Effect
 * face (`web_search` tool calls and results, provider-executed). Delete once core's Promise face declares
 * built-in tools in its toolkit.
 */
import { type ChatCompletions, OpenAiCompatLanguageModel } from "@conduit-llm/core"
import { Effect, Stream } from "effect"
import { type LanguageModel, Toolkit } from "effect/ai"
import * as KimiWebSearch from "../KimiWebSearch.js"
import { declaresWebSearch } from "./tools.js"

const isWebSearch = (tool: ChatCompletions.RequestTool) => declaresWebSearch([tool])

type Options = { readonly toolkit?: unknown }

/** The call's configuration without the `$web_search` extra tool, when it had one. */
const withoutWebSearch = Effect.gen(function* () {
  const config = yield* OpenAiCompatLanguageModel.CallConfig
  return (config.extraTools ?? []).some(isWebSearch)
    ? { ...config, extraTools: (config.extraTools ?? []).filter((tool) => !isWebSearch(tool)) }
    : undefined
})

const withTool = <O extends Options>(options: O): O => ({
  ...options,
  toolkit:
    options.toolkit === undefined
      ? Toolkit.make(KimiWebSearch.tool)
      : Toolkit.merge(options.toolkit as Toolkit.Any, Toolkit.make(KimiWebSearch.tool))
})

/** `model` with `$web_search` from `extraTools` declared as `KimiWebSearch.tool` (see the module documentation). */
export const withBuiltinWebSearch = (model: LanguageModel.LanguageModel): LanguageModel.LanguageModel => {
  const generateText = model.generateText as (options: Options) => Effect.Effect<unknown, unknown, unknown>
  const streamText = model.streamText as (options: Options) => Stream.Stream<unknown, unknown, unknown>
  return {
    ...model,
    generateText: ((options: Options) =>
      Effect.flatMap(withoutWebSearch, (config) =>
        config === undefined
          ? generateText(options)
          : generateText(withTool(options)).pipe(Effect.provideService(OpenAiCompatLanguageModel.CallConfig, config))
      )) as LanguageModel.LanguageModel["generateText"],
    streamText: ((options: Options) =>
      Stream.unwrap(
        Effect.map(withoutWebSearch, (config) =>
          config === undefined
            ? streamText(options)
            : streamText(withTool(options)).pipe(Stream.provideService(OpenAiCompatLanguageModel.CallConfig, config))
        )
      )) as LanguageModel.LanguageModel["streamText"]
  }
}
