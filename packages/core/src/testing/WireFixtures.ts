/**
 * Wire-fixture builders: OpenAI Chat Completions wire shapes, for authoring a provider's scenario data: stream
 * chunks, completion bodies, error bodies and tool calls exactly as OpenAI sends them. A provider's `src/testing`
 * starts from these and changes what its recordings show differently (field names, where usage appears, its error vocabulary).
 *
 * @since 0.1.0
 */

/**
 * What {@link shapes} returns, bound to one model and response id.
 *
 * - `chunk(delta, finish?, usage?)`: a `chat.completion.chunk` with one choice.
 * - `completion(message, finish, usage?)`: a `chat.completion` body (the message's role is `assistant`; usage
 *   defaults to 10 prompt + 3 completion tokens).
 * - `error(message, type, code)`: an OpenAI error body `{ error: { message, type, code, param } }`.
 * - `toolCall(id, name, args)`: a `tool_calls` entry; `args` JSON-encoded unless it is a string (sent verbatim, so
 *   `""` opens a streamed call whose arguments follow in later deltas).
 *
 * @since 0.1.0
 */
export interface Shapes {
  readonly chunk: (
    delta: Record<string, unknown>,
    finish?: string | null,
    usage?: Record<string, unknown>
  ) => Record<string, unknown>
  readonly completion: (
    message: Record<string, unknown>,
    finish: string,
    usage?: Record<string, unknown>
  ) => Record<string, unknown>
  readonly error: (message: string, type: string, code: string | null) => { readonly error: Record<string, unknown> }
  readonly toolCall: (id: string, name: string, args: unknown) => Record<string, unknown>
}

/**
 * OpenAI's shapes for `model`, with response id `id` (default `chatcmpl-test`).
 *
 * @since 0.1.0
 */
export const shapes = (options: {
  readonly model: string
  readonly id?: string | undefined
  readonly created?: number | undefined
}): Shapes => {
  const base = (object: string) => ({
    id: options.id ?? "chatcmpl-test",
    object,
    created: options.created ?? 1_760_000_000,
    model: options.model
  })
  return {
    chunk: (delta, finish = null, usage) => ({
      ...base("chat.completion.chunk"),
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...(usage ? { usage } : {})
    }),
    completion: (message, finish, usage = { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 }) => ({
      ...base("chat.completion"),
      choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
      usage
    }),
    error: (message, type, code) => ({ error: { message, type, code, param: null } }),
    toolCall: (id, name, args) => ({
      id,
      type: "function",
      function: { name, arguments: typeof args === "string" ? args : JSON.stringify(args) }
    })
  }
}
