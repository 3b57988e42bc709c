/**
 * Zhipu's prices per model and the currency each endpoint bills in (docs/providers/glm.md#pricing).
 *
 * - {@link prices}: per model id, the price per million tokens (core's `Cost.Pricing`): USD on Z.ai
 *   (`api.z.ai`), CNY on BigModel (`open.bigmodel.cn`). Input is the cache-miss price, cached input the cache-hit
 *   price, output includes reasoning tokens. Each entry names its source and date; "UNCONFIRMED" marks prices no
 *   primary source states or that the sources disagree on (the cost is still computed, and says so). A free model
 *   costs 0. Models absent here have no published price Conduit could find: their responses have no cost unless
 *   models.yaml `pricing:` sets one.
 * - {@link billingCurrency}: `USD` for `api.z.ai`, `CNY` for `open.bigmodel.cn`, none for the coding plans
 *   (`/coding/` paths: a subscription, not billed per token) or any other host (a proxy's prices are unknown).
 *
 * @since 0.1.0
 */
import { Cost } from "@conduitkit/core"

const zaiDocs = "docs/providers/glm.md#pricing (ZAI-DOCS-4.6 pricing, https://docs.z.ai/guides/overview/pricing)"
const secondary =
  "UNCONFIRMED: docs/providers/glm.md#pricing (secondary: OpenClaw's zai plugin catalog and docs.wolffi.sh's Z.ai page agree)"

/** A price in USD per 1,000,000 tokens (Moonshot's and Z.ai's international endpoints bill in USD). */
const usd = (input: number, cachedInput: number | undefined, output: number, source: string, date: string) =>
  Cost.perMillion("USD", input, cachedInput, output, source, date)

/**
 * Prices per model id, one entry per billing currency. Units: currency per 1,000,000 tokens.
 *
 * @since 0.1.0
 */
export const prices: Readonly<Record<string, ReadonlyArray<Cost.Pricing>>> = {
  "glm-5.2": [
    usd(
      1.4,
      0.26,
      4.4,
      "UNCONFIRMED: docs/providers/glm.md#pricing (secondary: docs.wolffi.sh's Z.ai page only)",
      "2026-08"
    )
  ],
  "glm-5.1": [
    usd(
      1.4,
      0.26,
      4.4,
      "UNCONFIRMED: docs/providers/glm.md#pricing (secondary, sources disagree: docs.wolffi.sh $1.40 / $0.26 / $4.40, OpenClaw $1.20 / $0.24 / $4.00)",
      "2026-08"
    ),
    {
      currency: "CNY",
      inputPerMillion: 6,
      cachedInputPerMillion: 1.2,
      outputPerMillion: 24,
      source:
        "UNCONFIRMED: docs/providers/glm.md#pricing (secondary: desirecore config-center, citing bigmodel.cn/pricing)",
      date: "2026-04-25"
    }
  ],
  "glm-5": [usd(1, 0.2, 3.2, secondary, "2026-08")],
  "glm-4.7": [usd(0.6, 0.11, 2.2, secondary, "2026-08")],
  "glm-4.6": [usd(0.6, 0.11, 2.2, zaiDocs, "2025-10")],
  "glm-4.5": [usd(0.6, 0.11, 2.2, zaiDocs, "2025-10")],
  "glm-4.5-air": [usd(0.2, 0.03, 1.1, zaiDocs, "2025-10")],
  "glm-4.5-x": [usd(2.2, 0.45, 8.9, zaiDocs, "2025-10")],
  "glm-4.5-airx": [usd(1.1, 0.22, 4.5, zaiDocs, "2025-10")],
  "glm-4.5-flash": [usd(0, 0, 0, `${zaiDocs}: free`, "2025-10")],
  "glm-4.5v": [usd(0.6, 0.11, 1.8, zaiDocs, "2025-10")],
  "glm-4-32b-0414-128k": [usd(0.1, undefined, 0.1, `${zaiDocs}: no cached-input price`, "2025-10")],
  "glm-4-plus": [
    {
      currency: "CNY",
      inputPerMillion: 5,
      outputPerMillion: 5,
      source:
        "docs/providers/glm.md#pricing (BM-DOCS https://docs.bigmodel.cn/cn/guide/models/text/glm-4: 5 元/1M tokens)",
      date: "2025-10"
    }
  ]
}

/**
 * The currency the endpoint at `baseURL` bills in (core's `ProviderSpec.billingCurrency`): `USD` for `api.z.ai`,
 * `CNY` for `open.bigmodel.cn`, `undefined` for a coding-plan path (`/coding/`), another host, or a URL that does not
 * parse.
 *
 * @since 0.1.0
 */
export const billingCurrency: (baseURL: string) => string | undefined = Cost.currencyByHost(
  { "api.z.ai": "USD", "open.bigmodel.cn": "CNY" },
  { unbilledPath: /\/coding\// }
)
