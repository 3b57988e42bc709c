/**
 * The Zhipu / Z.ai error table: business `error.code` (a string; a number is read as its string) and HTTP status to
 * `effect/ai` reasons. It never reads the message, so the Chinese bodies of open.bigmodel.cn and the English bodies
 * of api.z.ai classify the same.
 *
 * Bodies seen on the wire (docs/providers/glm.md#errors, fixtures `glm/errors/`):
 * `{"error":{"code":"1113","message":"..."}}` (the documented shape), `{"code":"1261","message":"..."}` (wrapper
 * stripped by relays) and the Anthropic-compatible endpoint's
 * `{"type":"error","error":{"type":"rate_limit_error","code":"1113",...}}`; core's `ProviderError` reads the code from
 * all three.
 *
 * Classification (https://docs.z.ai/api-reference/api-code, https://docs.bigmodel.cn/cn/api/api-code,
 * docs/providers/glm.md#error-codes, #retries):
 *
 * | codes | reason | retried |
 * |---|---|---|
 * | 1000–1005 | `AuthenticationError` (1001 missing key, 1003 expired token, else invalid key) | no |
 * | 1110–1112, 1120, 1121, 1220 | `AuthenticationError` (`InsufficientPermissions`: account inactive, locked, no API permission) | no |
 * | 1113, 1304, 1308–1311, 1313–1321 | `QuotaExhaustedError` (balance, daily/plan limits, subscription gates), even when sent as HTTP 429 | no |
 * | 1302, 1303, 1305, 1312 | `RateLimitError` (concurrency, frequency, model overloaded) | yes |
 * | 500, 1230, 1234 and any 5xx | `InternalProviderError` | yes |
 * | 1261 | `InvalidRequestError` with `constraint: "context_length_exceeded"` (prompt too long) | no |
 * | 1300, 1301 | `ContentPolicyError` | no |
 * | 1200, 1210–1215, 1221, 1222, 1231 | `InvalidRequestError` (1211 unknown model, with `metadata.conduit.kind: "model-not-found"`; 1214 invalid parameter, 1231 duplicate `request_id`) | no |
 *
 * Unknown codes fall back to the HTTP status (core's `ProviderError.defaultRule`), and HTTP 434 (no API permission)
 * and 435 (file over 100 MB) are mapped by status. 1210 is an `InvalidRequestError`, not a context-length error:
 * Z.ai uses it for several parameter errors (max_tokens range, forced thinking, and some overflows), which only the
 * message tells apart.
 *
 * @since 0.1.0
 */
import { ProviderError } from "@conduitkit/core"

type Rule = ProviderError.ErrorRule

const invalidKey: Rule = { reason: "AuthenticationError", authKind: "InvalidKey" }
const noPermission: Rule = { reason: "AuthenticationError", authKind: "InsufficientPermissions" }
const quota: Rule = { reason: "QuotaExhaustedError", retryable: false }
const rateLimited: Rule = { reason: "RateLimitError", retryable: true }
const serverError: Rule = { reason: "InternalProviderError", retryable: true }
const invalid: Rule = { reason: "InvalidRequestError" }
const contentPolicy: Rule = { reason: "ContentPolicyError" }

/**
 * The rule of every known business code (keys are the codes as strings).
 *
 * @since 0.1.0
 */
export const codes: Readonly<Record<string, Rule>> = {
  // Internal error (api-code table "500").
  "500": serverError,
  // Authentication.
  "1000": invalidKey,
  "1001": { reason: "AuthenticationError", authKind: "MissingKey" },
  "1002": invalidKey,
  "1003": { reason: "AuthenticationError", authKind: "ExpiredKey" },
  "1004": invalidKey,
  // 1005: two-factor authentication needed (third-party constants; UNCONFIRMED in the official table).
  "1005": { reason: "AuthenticationError", authKind: "Unknown" },
  // Account state.
  "1100": noPermission,
  "1110": noPermission,
  "1111": noPermission,
  "1112": noPermission,
  "1113": quota,
  "1120": noPermission,
  "1121": noPermission,
  // API call errors.
  "1200": invalid,
  "1210": invalid,
  // Unknown model (HTTP 400 on the live API, docs/providers and glm.md §5): marked so that OpenAI-compatible front
  // doors answer it as OpenAI does, 404 `model_not_found`.
  "1211": { reason: "InvalidRequestError", kind: "model-not-found" },
  "1212": invalid,
  "1213": invalid,
  "1214": invalid,
  "1215": invalid,
  "1220": noPermission,
  "1221": invalid,
  "1222": invalid,
  "1230": serverError,
  "1231": invalid,
  "1234": serverError,
  // Prompt too long (CN table; real bodies "Prompt too long" / "Prompt exceeds max length").
  "1261": { reason: "InvalidRequestError", contextLength: true },
  // Policy.
  "1300": contentPolicy,
  "1301": contentPolicy,
  // Limits: transient ones are retried, quota and plan ones are permanent.
  "1302": rateLimited,
  "1303": rateLimited,
  "1304": quota,
  "1305": rateLimited,
  "1308": quota,
  "1309": quota,
  "1310": quota,
  "1311": quota,
  "1312": rateLimited,
  "1313": quota,
  // 1314–1321: enterprise / coding-plan limits (third-party constants citing docs.z.ai/devpack; UNCONFIRMED).
  "1314": quota,
  "1315": quota,
  "1316": quota,
  "1317": quota,
  "1318": quota,
  "1319": quota,
  "1320": quota,
  "1321": quota
}

/**
 * The table core's transport applies to every HTTP error and every error frame inside a stream: the code's rule,
 * else a rule for Zhipu's own statuses (434 no API permission, 435 file too large), else `undefined` (core falls
 * back to the status: 401 auth, 429 rate limit, 5xx retryable, other 4xx invalid request).
 *
 * @since 0.1.0
 */
export const table: ProviderError.ErrorTable = (info) => {
  if (info.code !== undefined) {
    const rule = codes[info.code.trim()]
    if (rule !== undefined) return rule
  }
  if (info.status === 434) return noPermission
  if (info.status === 435) return invalid
  return undefined
}

/**
 * Classifies an HTTP error from its status and parsed body (the table, then core's status fallback). Pure; for
 * callers that hold a body outside the transport (logs, relays, tests).
 *
 * @since 0.1.0
 */
export const classify = (status: number, body: unknown): ProviderError.ErrorRule => {
  const info = ProviderError.errorInfo({
    target: { provider: "glm", method: "POST", url: "" },
    status,
    headers: {},
    body
  })
  return table(info) ?? ProviderError.defaultRule(status)
}
