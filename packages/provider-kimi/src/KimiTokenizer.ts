/**
 * Exact token counts and the account balance.
 *
 * - {@link countTokens}: `POST /v1/tokenizers/estimate-token-count` with a chat-shaped body (`model`, `messages`,
 *   optionally `tools`; image parts allowed) → `{"data":{"total_tokens":80}}` (tokens of the prompt as the model
 *   will see it). Accepts wire messages or an `effect/ai` prompt.
 * - {@link layerExactPreflight}: makes core's pre-flight check ("prompt + max_tokens fits the context window"; runs
 *   only with the model config's `preflight: true`) count with this endpoint instead of the local estimate (one extra HTTP call, made only when core's cheap bound,
 *   3 x the JSON length of messages and tools plus `max_tokens`, does not already show that the prompt fits).
 * - {@link getBalance}: `GET /v1/users/me/balance` → available, voucher and cash balances, in USD on
 *   api.moonshot.ai and CNY on api.moonshot.cn; `available <= 0` means inference calls will fail.
 *
 * Both require a {@link KimiClient} and fail with an `AiError` (the error table's reasons, or
 * `InvalidResponseError` when the body lacks the documented fields).
 *
 * Sources: docs/providers/kimi.md#token-estimate-and-balance ([DOC-EN-25];
 * https://platform.moonshot.ai/docs/api/estimate.en-US); fixtures
 * `official-doc-examples/estimate-token-count-response-doc.json`, `official-doc-examples/balance-response-doc.json`.
 *
 * @since 0.1.0
 */
import { type ChatCompletions, PromptConversion } from "@conduitkit/core"
import { Effect, Layer, Schema } from "effect"
import { AiError, Prompt } from "effect/ai"
import { ExactCounter } from "./internal/references.js"
import { KimiClient } from "./KimiClient.js"

/**
 * The estimate response: `{ data: { total_tokens } }`.
 *
 * @since 0.1.0
 */
export const EstimateResponse = Schema.Struct({
  data: Schema.Struct({ total_tokens: Schema.Number })
})

/**
 * What to count: a model and either wire `messages` or an `effect/ai` `prompt`, with optional wire `tools`.
 *
 * @since 0.1.0
 */
export type CountRequest = {
  readonly model: string
  readonly tools?: ReadonlyArray<ChatCompletions.RequestTool> | null | undefined
} & ({ readonly messages: ReadonlyArray<ChatCompletions.RequestMessage> } | { readonly prompt: Prompt.RawInput })

const toMessages = (request: CountRequest) =>
  "messages" in request
    ? Effect.succeed(request.messages)
    : Effect.fromResult(
        PromptConversion.toMessages(Prompt.make(request.prompt), {
          reasoning: { mode: "tool-calls", placeholder: " " },
          providerName: "kimi"
        })
      )

/**
 * The exact prompt-token count of a request, in tokens.
 *
 * @since 0.1.0
 */
export const countTokens = (request: CountRequest): Effect.Effect<number, AiError.AiError, KimiClient> =>
  Effect.gen(function* () {
    const client = yield* KimiClient
    const messages = yield* toMessages(request)
    const { body } = yield* client.request({
      method: "post",
      path: "/tokenizers/estimate-token-count",
      body: {
        model: request.model,
        messages,
        ...(request.tools !== undefined && request.tools !== null && request.tools.length > 0
          ? { tools: request.tools }
          : {})
      },
      schema: EstimateResponse
    })
    return body.data.total_tokens
  })

/**
 * Installs {@link countTokens} as the counter of core's pre-flight check for Kimi models (with the client from
 * context).
 *
 * @since 0.1.0
 */
export const layerExactPreflight: Layer.Layer<never, never, KimiClient> = Layer.effect(
  ExactCounter,
  Effect.map(
    Effect.service(KimiClient),
    (client) => (request: ChatCompletions.WireRequest) =>
      countTokens({ model: request.model, messages: request.messages, tools: request.tools }).pipe(
        Effect.provideService(KimiClient, client)
      )
  )
)

/**
 * The balance response envelope: `{ code: 0, data: { available_balance, voucher_balance, cash_balance }, scode,
 * status: true }`.
 *
 * @since 0.1.0
 */
export const BalanceResponse = Schema.Struct({
  code: Schema.optional(Schema.NullOr(Schema.Number)),
  status: Schema.optional(Schema.NullOr(Schema.Boolean)),
  scode: Schema.optional(Schema.NullOr(Schema.String)),
  data: Schema.Struct({
    available_balance: Schema.Number,
    voucher_balance: Schema.optional(Schema.NullOr(Schema.Number)),
    cash_balance: Schema.optional(Schema.NullOr(Schema.Number))
  })
})

/**
 * The account balance. Amounts in `currency` (`"USD"` on api.moonshot.ai, `"CNY"` on api.moonshot.cn, `undefined`
 * for other hosts); `cash` may be negative.
 *
 * @since 0.1.0
 */
export interface Balance {
  readonly available: number
  readonly voucher: number
  readonly cash: number
  readonly currency: "USD" | "CNY" | undefined
}

/**
 * The currency of a base URL's balance (pure).
 *
 * @since 0.1.0
 */
export const currencyOf = (baseURL: string): Balance["currency"] =>
  /\/\/api\.moonshot\.cn(\/|$)/.test(baseURL) ? "CNY" : /\/\/api\.moonshot\.ai(\/|$)/.test(baseURL) ? "USD" : undefined

/**
 * The account balance (`GET /v1/users/me/balance`). An envelope with `status: false` or a non-zero `code` fails
 * with an `InvalidResponseError`.
 *
 * @since 0.1.0
 */
export const getBalance = (): Effect.Effect<Balance, AiError.AiError, KimiClient> =>
  Effect.gen(function* () {
    const client = yield* KimiClient
    const { body } = yield* client.request({ method: "get", path: "/users/me/balance", schema: BalanceResponse })
    if (body.status === false || (typeof body.code === "number" && body.code !== 0)) {
      return yield* AiError.make({
        module: "KimiTokenizer",
        method: "getBalance",
        reason: new AiError.InvalidResponseError({
          description: `the balance endpoint answered code ${body.code ?? "?"} (${body.scode ?? "no scode"})`,
          metadata: { conduit: { kind: "invalid-response", provider: "kimi" } }
        })
      })
    }
    return {
      available: body.data.available_balance,
      voucher: body.data.voucher_balance ?? 0,
      cash: body.data.cash_balance ?? 0,
      currency: currencyOf(client.options.baseURL)
    }
  })
