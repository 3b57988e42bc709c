/**
 * A generic MSW mock of an OpenAI-compatible provider, from its declarations (`OpenAiCompatProvider.make`'s result)
 * and its scenario data (`Conformance.ConformanceFixtures`): the testing handlers a provider package exports from
 * its `./testing` entry so users can test their own code against it without a network.
 *
 * `POST {baseURL}/chat/completions`:
 * - checks the bearer credential against the key (default `test-key`), else answers the provider's `unauthorized`
 *   error body;
 * - checks the model against the catalog (and the default model), else answers the provider's `notFound` body;
 * - answers a queued failure ({@link Mock.fail}) or the `reply` override when there is one;
 * - otherwise non-stream: the text completion (the tool-call completion when the request declares tools);
 *   stream: the text chunks (the tool-call chunks with tools) framed as SSE and ended with `[DONE]`.
 *
 * `GET {baseURL}/models` lists the catalog in OpenAI's shape (same credential check).
 *
 * Built on {@link MockUpstream}; every call is recorded in `recorder`.
 *
 * @since 0.1.0
 */
import { type HttpHandler, http } from "msw"
import type * as OpenAiCompatProvider from "../OpenAiCompatProvider.js"
import type * as Conformance from "./Conformance.js"
import * as MockUpstream from "./MockUpstream.js"

/**
 * The error scenarios a mock can be told to answer (keys of `ConformanceFixtures["errors"]`).
 *
 * @since 0.1.0
 */
export type ErrorName = keyof Conformance.ConformanceFixtures["errors"]

/**
 * Options of {@link make}.
 *
 * - `provider`: the provider (its name, default base URL, catalog and default model are read).
 * - `fixtures`: the provider's scenario data (bodies, chunks, error bodies).
 * - `apiKey`: the key the mock accepts (default `test-key`); `authorize` replaces the check for providers whose
 *   credential is derived from the key (e.g. a signed token).
 * - `baseURL`: where to answer (default: the provider's default base URL).
 * - `models`: the model ids accepted (default: the catalog's ids and aliases, and the default model).
 * - `reply`: answers a call before the defaults (return `undefined` to fall through).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly provider: Pick<OpenAiCompatProvider.Provider<string>, "name" | "declarations" | "catalog">
  readonly fixtures: Conformance.ConformanceFixtures
  readonly apiKey?: string | undefined
  readonly authorize?: ((authorization: string | undefined) => boolean) | undefined
  readonly baseURL?: string | undefined
  readonly models?: ReadonlyArray<string> | undefined
  readonly reply?:
    | ((call: MockUpstream.ChatCall) => Response | Conformance.WireError | undefined | Promise<Response | undefined>)
    | undefined
}

/**
 * A running mock's handlers and controls.
 *
 * - `handlers`: for `setupServer(...mock.handlers)` or `server.use(...)`.
 * - `recorder`: every chat call.
 * - `fail(error, times)`: answer the next `times` (default 1) chat calls with one of the provider's error bodies
 *   (or any `WireError`), after the credential and model checks.
 *
 * @since 0.1.0
 */
export interface Mock {
  readonly handlers: ReadonlyArray<HttpHandler>
  readonly recorder: MockUpstream.Recorder
  readonly baseURL: string
  readonly fail: (error: ErrorName | Conformance.WireError, times?: number) => void
}

const isWireError = (value: unknown): value is Conformance.WireError =>
  typeof value === "object" && value !== null && !(value instanceof Response) && "status" in value && "body" in value

/**
 * Builds a mock.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Mock => {
  const { provider, fixtures } = options
  const baseURL = (options.baseURL ?? provider.declarations.baseURLs.default).replace(/\/$/, "")
  const expected = `Bearer ${options.apiKey ?? "test-key"}`
  const authorize = options.authorize ?? ((authorization) => authorization === expected)
  const models = new Set(
    (
      options.models ?? [
        provider.declarations.defaultModel,
        ...provider.catalog.list.flatMap((model) => [model.id, ...(model.aliases ?? [])])
      ]
    ).map((id) => id.toLowerCase())
  )
  const queued: Array<Conformance.WireError> = []
  const recorder = new MockUpstream.Recorder()
  const wire = (error: Conformance.WireError) => MockUpstream.error(error.status, error.body, error.headers)

  const chat = MockUpstream.chatCompletions(
    baseURL,
    async (call) => {
      if (!authorize(call.call.headers.authorization)) return wire(fixtures.errors.unauthorized)
      if (typeof call.body.model !== "string" || !models.has(call.body.model.toLowerCase())) {
        return wire(fixtures.errors.notFound)
      }
      const failure = queued.shift()
      if (failure !== undefined) return wire(failure)
      const custom = await options.reply?.(call)
      if (custom !== undefined) return isWireError(custom) ? wire(custom) : custom
      const tools = Array.isArray(call.body.tools) && call.body.tools.length > 0
      if (call.body.stream === true) {
        const chunks = tools ? fixtures.streams.toolCall.chunks : fixtures.streams.text.chunks
        return MockUpstream.sse(chunks, { onCancel: call.onCancel })
      }
      return MockUpstream.json(tools ? fixtures.completions.toolCall.body : fixtures.completions.text.body)
    },
    recorder
  )
  const list = http.get(`${baseURL}/models`, ({ request }) =>
    authorize(request.headers.get("authorization") ?? undefined)
      ? MockUpstream.json({
          object: "list",
          data: provider.catalog.list.map((model) => ({
            id: model.id,
            object: "model",
            created: 0,
            owned_by: provider.name
          }))
        })
      : wire(fixtures.errors.unauthorized)
  )

  return {
    handlers: [chat, list],
    recorder,
    baseURL,
    fail: (error, times = 1) => {
      const body = typeof error === "string" ? fixtures.errors[error] : error
      for (let i = 0; i < times; i++) queued.push(body)
    }
  }
}

/**
 * The handlers of a fresh mock (see {@link make}).
 *
 * @since 0.1.0
 */
export const handlers = (options: Options): ReadonlyArray<HttpHandler> => make(options).handlers
