/**
 * Moonshot's prices per model and the currency each endpoint bills in (docs/providers/kimi.md#pricing).
 *
 * - {@link prices}: per model id, the price per million tokens (core's `Cost.Pricing`): USD on the international
 *   platform (platform.moonshot.ai / platform.kimi.ai, host `api.moonshot.ai`), CNY on the Chinese one
 *   (platform.moonshot.cn, host `api.moonshot.cn`). Input is the cache-miss price, cached input the cache-hit price
 *   of automatic prefix caching, output includes reasoning tokens. Each entry names its source and date; "UNCONFIRMED"
 *   marks prices no primary source states or that the sources disagree on (the cost is still computed, and says so).
 *   Models absent here have no published price Conduit could find: their responses have no cost unless models.yaml
 *   `pricing:` sets one.
 * - {@link billingCurrency}: `USD` for `api.moonshot.ai`, `CNY` for `api.moonshot.cn`, none for the Kimi Code
 *   subscription (`api.kimi.com/coding`, not billed per token) or any other host (a proxy's prices are unknown).
 *
 * The moonshot-v1 models have no cache-hit price: their caches are explicit objects billed per creation, storage
 * and call ([DOC-EN-25] "Context Caching Pricing and Billing", inconsistent within the docs), so a response with
 * cached tokens has no cost rather than a guessed one.
 *
 * @since 0.1.0
 */
import { Cost } from "@conduitkit/core"

const k3Page = "https://platform.kimi.ai/docs/pricing/chat-k3"
const halro = "docs/providers/kimi.md#pricing ([HALRO] §1.4, international account, quoting Moonshot's price pages"
const docEn25 = "docs/providers/kimi.md#pricing ([DOC-EN-25] pricing, served under https://platform.moonshot.ai/docs)"

/** A price in USD per 1,000,000 tokens (Moonshot's and Z.ai's international endpoints bill in USD). */
const usd = (input: number, cachedInput: number | undefined, output: number, source: string, date: string) =>
  Cost.perMillion("USD", input, cachedInput, output, source, date)

/**
 * Prices per model id, one entry per billing currency. Units: currency per 1,000,000 tokens.
 *
 * @since 0.1.0
 */
export const prices: Readonly<Record<string, ReadonlyArray<Cost.Pricing>>> = {
  "kimi-k3": [
    usd(3, 0.3, 15, `${k3Page} (also [HALRO] §1.4; getagentseal/codeburn#709)`, "2026-09-01"),
    {
      currency: "CNY",
      inputPerMillion: 20,
      cachedInputPerMillion: 2,
      outputPerMillion: 100,
      source: "UNCONFIRMED: secondary (dev.to teamorouter Kimi K3 API pricing guide), not Moonshot's own page",
      date: "2026-07"
    }
  ],
  "kimi-k2.6": [
    usd(
      0.95,
      0.16,
      4,
      `UNCONFIRMED: ${halro}; an April 2026 secondary guide (tokenmix.ai) gives $0.60 / $2.50)`,
      "2026-09-01"
    )
  ],
  "kimi-k2.7-code": [usd(0.95, 0.19, 4, `UNCONFIRMED: ${halro})`, "2026-09-01")],
  "kimi-k2.7-code-highspeed": [usd(1.9, 0.38, 8, `UNCONFIRMED: ${halro})`, "2026-09-01")],
  "kimi-k2-0711-preview": [usd(0.6, 0.15, 2.5, docEn25, "2025-07")],
  "kimi-k2-0905-preview": [
    usd(0.6, 0.15, 2.5, "UNCONFIRMED: secondary ([EXAI] docs/03_API_REFERENCE KIMI_API_REFERENCE.md)", "2025-11")
  ],
  "kimi-k2-turbo-preview": [
    usd(2.4, 0.6, 10, "UNCONFIRMED: secondary ([EXAI] docs/03_API_REFERENCE KIMI_API_REFERENCE.md)", "2025-11")
  ],
  "kimi-thinking-preview": [usd(30, undefined, 30, docEn25, "2025-07")],
  "moonshot-v1-8k": [usd(0.2, undefined, 2, docEn25, "2025-07")],
  "moonshot-v1-32k": [usd(1, undefined, 3, docEn25, "2025-07")],
  "moonshot-v1-128k": [usd(2, undefined, 5, docEn25, "2025-07")]
}

/**
 * The currency the endpoint at `baseURL` bills in (core's `ProviderSpec.billingCurrency`): `USD` for
 * `api.moonshot.ai`, `CNY` for `api.moonshot.cn`, `undefined` for anything else (Kimi Code's subscription, a proxy,
 * a URL that does not parse).
 *
 * @since 0.1.0
 */
export const billingCurrency: (baseURL: string) => string | undefined = Cost.currencyByHost({
  "api.moonshot.ai": "USD",
  "api.moonshot.cn": "CNY"
})
