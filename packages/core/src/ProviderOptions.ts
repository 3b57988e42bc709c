/**
 * Decoding a provider's typed `providerOptions` (Kimi's `thinking`, GLM's `tool_stream`, ...) against its schema,
 * with refusals a user can act on, as an `InvalidRequestError` (`parameter: "providerOptions"`,
 * `conduit.kind = "preflight"`) before any HTTP call:
 * - an unknown key names the key and the accepted ones (`unknown Kimi provider option "thinkin" (accepted:
 *   thinking, reasoningEffort, ...)`): a typo is never silently ignored;
 * - a bad value gives the schema's first issue in plain words (`invalid Kimi provider options: Expected "enabled" |
 *   "disabled", got "on" at ["thinking"]`).
 *
 * @since 0.1.0
 */
import { Cause, Exit, Option, Result, Schema } from "effect"
import type { AiError } from "effect/ai"
import * as ProviderError from "./ProviderError.js"

/**
 * A decoder of one provider's options: `undefined` decodes as `{}`. Each input object is decoded once (results are
 * kept per object), so the hooks of one call can share the work.
 *
 * @since 0.1.0
 */
export type Decoder<A> = (input: Readonly<Record<string, unknown>> | undefined) => Result.Result<A, AiError.AiError>

/**
 * Builds the decoder of a provider's options schema (a `Schema.Struct` whose fields are the accepted keys).
 * `provider` names the provider in errors' metadata, `label` in their text (e.g. `"kimi"`, `"Kimi"`).
 *
 * @since 0.1.0
 */
export const decoder = <Fields extends Schema.Struct.Fields>(
  schema: Schema.Struct<Fields> & Schema.Decoder<unknown>,
  options: { readonly provider: string; readonly label: string; readonly module?: string | undefined }
): Decoder<Schema.Struct<Fields>["Type"]> => {
  const accepted = Object.keys(schema.fields)
  const decode = Schema.decodeUnknownExit(schema, { errors: "first" })
  // refusal-helper
  const refuse = (description: string) =>
    Result.fail(
      ProviderError.invalidRequest({
        provider: options.provider,
        description,
        parameter: "providerOptions",
        module: options.module ?? "LanguageModel",
        method: "decodeProviderOptions"
      })
    )
  type Decoded = Result.Result<Schema.Struct<Fields>["Type"], AiError.AiError>
  const run = (input: Readonly<Record<string, unknown>>): Decoded => {
    const unknown = Object.keys(input).find((key) => !accepted.includes(key))
    if (unknown !== undefined) {
      // refusal: core/provider-options
      return refuse(
        `unknown ${options.label} provider option ${JSON.stringify(unknown)} (accepted: ${accepted.join(", ")})`
      )
    }
    const exit = decode(input)
    if (Exit.isSuccess(exit)) return Result.succeed(exit.value)
    const issue = Option.match(Cause.findErrorOption(exit.cause), {
      onNone: () => String(exit.cause),
      onSome: (error) => error.message
    })
    // refusal: core/provider-options
    return refuse(`invalid ${options.label} provider options: ${issue.replace(/\s*\n\s*/g, " ")}`)
  }
  const decoded = new WeakMap<object, Decoded>()
  const none = {}
  return (input) => {
    const key = input ?? none
    let result = decoded.get(key)
    if (result === undefined) {
      result = run(key)
      decoded.set(key, result)
    }
    return result
  }
}
