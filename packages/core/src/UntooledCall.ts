/**
 * `LanguageModel.generateText` for a call that declares no `effect/ai` tool of its own and never runs one (the
 * gateway's calls, the Promise face's calls without tools): the model's tool calls come back as they are (deferred
 * validation, no resolution), and the answer is decoded by `effect/ai`'s cached response decoder.
 *
 * Why: `effect/ai` 4.1.0 `LanguageModel.generateText` without a toolkit (or with `Toolkit.empty`) builds the
 * `Response.Part` schema and compiles its parser again on every call (`dist/ai/LanguageModel.js`, `generateContent`);
 * with a toolkit that has a tool it takes a decoder cached per model. Measured over an instant model: ~105 to 270 µs
 * of CPU per call without a toolkit against ~33 to 58 µs this way (BENCHMARKS.md, issue 18 round 2). So the call
 * passes a toolkit whose one tool no `toolChoice` ever allows (`{ oneOf: [] }`): effect/ai hands the provider no
 * tool (`ProviderOptions.tools` is `[]`, so the wire request is the one without a toolkit), tool calls of any other
 * name decode as undeclared calls exactly as without a toolkit, and the tool's name (not a valid function name on
 * the OpenAI wire, nor a provider-executed tool's) is one no model calls. What differs from a call without a
 * toolkit: the `LanguageModel.generateText` span's `effect.ai.tool_choice` attribute reads `{"oneOf":[]}`, and the
 * provider's `ProviderOptions.toolChoice` is `{ oneOf: [] }` instead of `"none"` (core's request builder sends no
 * `tool_choice` for either when no tool is declared).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import { type AiError, LanguageModel, type Prompt, Tool, Toolkit } from "effect/ai"

/**
 * The name of the tool no call allows: characters the OpenAI wire's function names (`^[a-zA-Z0-9_-]{1,64}$`) and
 * the providers' built-in tools (`$web_search`) never use.
 *
 * @since 0.1.0
 */
export const placeholderToolName = "conduit/no-tool (never declared)"

const Placeholder = Tool.make(placeholderToolName, { parameters: Schema.Struct({}), success: Schema.Unknown })

/** The tools of {@link toolkit}. */
type Tools = { readonly [placeholderToolName]: typeof Placeholder }

// Resolved once: a toolkit's evaluation reads no service (handlers are looked up only when a tool call is handled,
// which `disableToolCallResolution` never does), and a resolved toolkit is what effect/ai caches its decoder by.
const toolkit: Toolkit.WithHandler<Tools> = Effect.runSync(
  Toolkit.make(Placeholder) as unknown as Effect.Effect<Toolkit.WithHandler<Tools>>
)

/**
 * `LanguageModel.generateText({ prompt, disableToolCallResolution: true, toolCallValidation: "deferred" })`, through
 * effect/ai's cached response decoder (see the module docs). Fails like `LanguageModel.generateText`.
 *
 * @since 0.1.0
 */
export const generateText = (
  prompt: Prompt.RawInput
): Effect.Effect<LanguageModel.GenerateTextResponse<Tools, "deferred">, AiError.AiError, LanguageModel.LanguageModel> =>
  LanguageModel.generateText({
    prompt,
    toolkit,
    toolChoice: { oneOf: [] },
    disableToolCallResolution: true,
    toolCallValidation: "deferred"
  })
