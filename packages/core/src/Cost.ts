/**
 * Prices and the cost of one response, computed from its normalized usage (`Usage.TokenUsage`).
 *
 * - {@link Pricing}: what a model costs, per million tokens, in one currency (ISO 4217 code: `USD` on
 *   platform.moonshot.ai / api.z.ai, `CNY` on platform.moonshot.cn / open.bigmodel.cn), with its source and date.
 *   The catalogs carry it on `ModelInfo.pricing` (docs/providers/kimi.md#pricing, docs/providers/glm.md#pricing);
 *   models.yaml's `pricing:` section overrides or adds it.
 * - {@link costOf}: uncached input tokens (input minus cached) at the input price, cached input tokens at the cached
 *   price, output tokens at the output price. Reasoning tokens are output tokens: the normalized `outputTokens`
 *   already includes `reasoningTokens` (OpenAI's `completion_tokens` does, on Moonshot and Zhipu alike), so they are
 *   not added again. An unknown price gives no cost (`undefined`), never a guessed one; currencies are never
 *   converted.
 *
 * Pure: no I/O, no clock.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type * as Usage from "./Usage.js"

const Price = Schema.Number.check(Schema.isFinite(), Schema.isGreaterThanOrEqualTo(0))

/**
 * A model's price, as published by its provider.
 *
 * - `currency`: ISO 4217 code (`"USD"`, `"CNY"`).
 * - `inputPerMillion`: price of one million input tokens on a cache miss, in `currency`.
 * - `cachedInputPerMillion`: price of one million cached (cache-hit) input tokens; absent when the provider
 *   publishes none (a response with cached tokens then has no cost).
 * - `outputPerMillion`: price of one million output tokens, reasoning tokens included.
 * - `source`: where the numbers come from (price page URL, or a reference with "UNCONFIRMED" when no primary source
 *   states them, as in the catalogs); `date`: the day the source was read or dated (`YYYY-MM-DD`).
 *
 * A free model has all prices 0 (cost 0, not unknown).
 *
 * @since 0.1.0
 */
export const Pricing = Schema.Struct({
  currency: Schema.String.check(Schema.makeFilter((s: string) => /^[A-Z]{3}$/.test(s) || "expected an ISO 4217 code")),
  inputPerMillion: Price,
  cachedInputPerMillion: Schema.optional(Price),
  outputPerMillion: Price,
  source: Schema.optional(Schema.String),
  date: Schema.optional(Schema.String)
})

/** @since 0.1.0 */
export type Pricing = typeof Pricing.Type

/**
 * A {@link Pricing} from its figures, in `currency` per 1,000,000 tokens, with the source of the figures and the date
 * they were read (for the catalogs' price tables). `cachedInputPerMillion` `undefined`: no published cached-input
 * price (cached tokens then make the cost unknown, see {@link costOf}).
 *
 * @since 0.1.0
 */
export const perMillion = (
  currency: string,
  inputPerMillion: number,
  cachedInputPerMillion: number | undefined,
  outputPerMillion: number,
  source: string,
  date: string
): Pricing => ({
  currency,
  inputPerMillion,
  ...(cachedInputPerMillion !== undefined ? { cachedInputPerMillion } : {}),
  outputPerMillion,
  source,
  date
})

/**
 * The cost of one response: `amount` in `currency` (rounded to 1e-10 of a unit). `unconfirmed` is true when the
 * pricing's source is marked "UNCONFIRMED" (a secondary source: the cost is computed, and says so).
 *
 * @since 0.1.0
 */
export interface Cost {
  readonly amount: number
  readonly currency: string
  readonly unconfirmed: boolean
}

/**
 * The cost of `usage` (tokens) at `pricing`, or `undefined` when the pricing is unknown, or when the response has
 * cached input tokens and the pricing has no cached-input price. Never converts currencies.
 *
 * Example: kimi-k3 at $3.00 input / $0.30 cached / $15.00 output per million tokens, usage 10,000 input (4,000
 * cached) and 2,000 output (500 of them reasoning): 6,000 × 3 + 4,000 × 0.3 + 2,000 × 15 = 49,200 per million,
 * so `{ amount: 0.0492, currency: "USD" }`.
 *
 * @since 0.1.0
 */
export const costOf = (usage: Usage.TokenUsage | undefined, pricing: Pricing | undefined): Cost | undefined => {
  if (usage === undefined || pricing === undefined) return undefined
  const cached = usage.cachedInputTokens
  let perMillion =
    (usage.inputTokens - cached) * pricing.inputPerMillion + usage.outputTokens * pricing.outputPerMillion
  if (cached > 0) {
    if (pricing.cachedInputPerMillion === undefined) return undefined
    perMillion += cached * pricing.cachedInputPerMillion
  }
  return {
    amount: Math.round(perMillion * 1e4) / 1e10,
    currency: pricing.currency,
    unconfirmed: pricing.source?.includes("UNCONFIRMED") === true
  }
}

/**
 * The price that applies where a call was billed: the entry of `pricing` in `currency` (the currency the endpoint
 * bills in, from the provider's `ProviderSpec.billingCurrency`). `undefined` when the currency is unknown or nothing
 * matches: a price in another currency is never used (no conversion).
 *
 * @since 0.1.0
 */
export const select = (
  pricing: ReadonlyArray<Pricing> | undefined,
  currency: string | undefined
): Pricing | undefined => {
  if (pricing === undefined || currency === undefined) return undefined
  for (const entry of pricing) if (entry.currency === currency) return entry
  return undefined
}

/**
 * A provider's `billingCurrency` (see `ProviderSpec.billingCurrency`) from the currency each of its API hosts bills in:
 * the currency of the base URL's host, `undefined` for another host, a path `unbilledPath` matches (a subscription
 * plan, not billed per token) or a URL that does not parse. Each distinct base URL is parsed once (a client's
 * configuration, so few).
 *
 * @since 0.1.0
 */
export const currencyByHost = (
  hosts: Readonly<Record<string, string>>,
  options: { readonly unbilledPath?: RegExp | undefined } = {}
): ((baseURL: string) => string | undefined) => {
  const known = new Map<string, string | undefined>()
  return (baseURL) => {
    if (known.has(baseURL)) return known.get(baseURL)
    const url = URL.canParse(baseURL) ? new URL(baseURL) : undefined
    const currency =
      url === undefined || options.unbilledPath?.test(url.pathname) === true
        ? undefined
        : Object.hasOwn(hosts, url.hostname)
          ? hosts[url.hostname]
          : undefined
    known.set(baseURL, currency)
    return currency
  }
}

/**
 * Reads a cost back from response metadata (the `finish` part's `metadata.conduit.cost`, written by the provider
 * after {@link costOf}); `undefined` when absent or not a cost.
 *
 * @since 0.1.0
 */
export const fromMetadata = (value: unknown): Cost | undefined => {
  if (typeof value !== "object" || value === null) return undefined
  const { amount, currency, unconfirmed } = value as Record<string, unknown>
  return typeof amount === "number" && Number.isFinite(amount) && typeof currency === "string"
    ? { amount, currency, unconfirmed: unconfirmed === true }
    : undefined
}

/**
 * What a response spent upstream, from its `finish` part's `metadata.conduit`: its `cost` ({@link fromMetadata}),
 * except for an answer replayed from the response cache (`cache: "hit"`) or by an idempotency key (`idempotency:
 * "replayed"` or `"joined"`), which spent nothing (`undefined`; the replayed `cost` field still says what the original
 * call cost). `undefined` also when the price is unknown.
 *
 * @since 0.1.0
 */
export const spent = (conduit: Readonly<Record<string, unknown>> | undefined): Cost | undefined =>
  conduit === undefined ||
  conduit.cache === "hit" ||
  conduit.idempotency === "replayed" ||
  conduit.idempotency === "joined"
    ? undefined
    : fromMetadata(conduit.cost)

/**
 * The text form of a cost: the amount in plain decimal notation (no exponent, at most 10 decimals, no trailing
 * zeros), a space and the currency (`"0.0492 USD"`). The value of the gateway's `x-conduit-cost` header.
 *
 * @since 0.1.0
 */
export const format = (cost: Cost): string => {
  const fixed = cost.amount.toFixed(10)
  const trimmed = fixed.includes(".") ? fixed.replace(/\.?0+$/, "") : fixed
  return `${trimmed} ${cost.currency}`
}
