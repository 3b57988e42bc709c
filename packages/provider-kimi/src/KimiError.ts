/**
 * The one Moonshot error table: wire errors (HTTP status and `error.type`) to `effect/ai` reasons, never by message
 * text (Moonshot sends the same type with many messages, and the message of a type changes over time).
 *
 * | status | `error.type` | reason | retried |
 * |---|---|---|---|
 * | 400 | `content_filter` | `ContentPolicyError` | no |
 * | 400 | `invalid_request_error` | `InvalidRequestError` | no |
 * | 401 | `invalid_authentication_error`, `incorrect_api_key_error` | `AuthenticationError` (`InvalidKey`) | no |
 * | 403 | `exceeded_current_quota_error` | `QuotaExhaustedError` (account not active / balance) | no |
 * | 403 | `permission_denied_error` | `AuthenticationError` (`InsufficientPermissions`) | no |
 * | 403 | `access_terminated_error` | `AuthenticationError` (`InsufficientPermissions`), explaining the Kimi Code gate | no |
 * | 404 | `resource_not_found_error` | `InvalidRequestError` naming current models (retired or unknown model) | no |
 * | 404 | none (legacy gateway envelope `{"code":5,"error":"url.not_found"}`) | `InvalidRequestError` (wrong base URL) | no |
 * | 429 | `rate_limit_reached_error`, `engine_overloaded_error` | `RateLimitError` with `retry-after` / `x-retry-after` | yes |
 * | 429 | `exceeded_current_quota_error` | `QuotaExhaustedError` | no |
 * | 499 | `client_closed_request` | `UnknownError` | no |
 * | 500 | `server_error`, `unexpected_output` | `InternalProviderError` | yes (not for `/files` extraction) |
 * | 504 | any (an HTML page, not JSON) | `InternalProviderError`, `conduit.kind = "gateway-timeout"` | yes |
 * | 200 stream frame | `server_error` etc. | as above by type, else `InternalProviderError` | before the first part only |
 *
 * Anything else falls back to core's `ProviderError.defaultRule` (by status).
 *
 * Sources: docs/providers/kimi.md#errors ([DOC-EN-25] "Error Explanation", [DOC-CN-26] 错误说明,
 * https://platform.kimi.ai/docs/api/errors.md), docs/providers/kimi.md#rate-limits-and-retries (live `retry-after: 1`,
 * `x-retry-after: 1`), docs/providers/kimi.md#kimi-code (Kimi Code gate); fixtures `vercel-ai/errors/*.json`,
 * `other-repos/live-errors-and-headers-2026-09.txt`, `other-repos/error-messages-from-issues.txt`,
 * `other-repos/files-object-and-extract-error.txt`, `official-doc-examples/error-content-filter-doc.json`,
 * `official-doc-examples/legacy-error-404-url-not-found.json`.
 *
 * @since 0.1.0
 */
import { ProviderError } from "@conduitkit/core"
import type { AiError } from "effect/ai"

/**
 * The explanation given for a 403 `access_terminated_error` from the Kimi Code endpoint
 * (`https://api.kimi.com/coding/v1`), which admits only clients it recognizes by `User-Agent`
 * (docs/providers/kimi.md#kimi-code).
 *
 * @since 0.1.0
 */
export const codingGateDescription =
  "Kimi Code (https://api.kimi.com/coding/v1) refused this client (403 access_terminated_error): the subscription " +
  "endpoint admits only coding agents it recognizes by their User-Agent. Conduit sends its own User-Agent and never " +
  "impersonates another product; if your plan allows this client, set `userAgent` explicitly, otherwise use the " +
  "open platform (api.moonshot.ai / api.moonshot.cn) with a platform key. The same error was also returned during a " +
  "Kimi Code service incident (2026-06-04), so retry later if this client was admitted before."

const notFoundDescription = (info: ProviderError.ErrorInfo, currentModels: ReadonlyArray<string>): string =>
  `${info.message ?? "not found"}: the model is unknown to this key or retired (Moonshot answers 404 for retired ` +
  `models); current models: ${currentModels.join(", ")}`

/**
 * Options of {@link make}: `currentModels` are named in the description of a 404 on chat completions (default
 * {@link defaultCurrentModels}).
 *
 * @since 0.1.0
 */
export interface TableOptions {
  readonly currentModels?: ReadonlyArray<string> | undefined
}

/**
 * The models `/v1/models` listed on 2026-09-01 ([HALRO]; docs/providers/kimi.md#model-lifecycle).
 *
 * @since 0.1.0
 */
export const defaultCurrentModels: ReadonlyArray<string> = [
  "kimi-k3",
  "kimi-k2.6",
  "kimi-k2.7-code",
  "kimi-k2.7-code-highspeed"
]

/**
 * Builds the table (see the module documentation for the rows).
 *
 * @since 0.1.0
 */
export const make =
  (options: TableOptions = {}): ProviderError.ErrorTable =>
  (info) => {
    const currentModels = options.currentModels ?? defaultCurrentModels
    const filesPath = /\/files(\/|$|\?)/.test(info.url)
    switch (info.type) {
      case "content_filter":
        return { reason: "ContentPolicyError" }
      case "invalid_request_error":
        return { reason: "InvalidRequestError" }
      case "invalid_authentication_error":
      case "incorrect_api_key_error":
        return {
          reason: "AuthenticationError",
          authKind: "InvalidKey",
          description: `${info.message ?? "invalid key"} (keys of api.moonshot.ai and api.moonshot.cn are independent, and Kimi Code sk-kimi- keys only work with plan "coding")`
        }
      case "exceeded_current_quota_error":
        return { reason: "QuotaExhaustedError", retryable: false }
      case "permission_denied_error":
        return { reason: "AuthenticationError", authKind: "InsufficientPermissions" }
      case "access_terminated_error":
        return {
          reason: "AuthenticationError",
          authKind: "InsufficientPermissions",
          description: codingGateDescription
        }
      case "resource_not_found_error":
        return /\/chat\/completions$/.test(info.url)
          ? { reason: "InvalidRequestError", description: notFoundDescription(info, currentModels) }
          : { reason: "InvalidRequestError" }
      case "rate_limit_reached_error":
      case "engine_overloaded_error":
        return { reason: "RateLimitError" }
      case "client_closed_request":
        return { reason: "UnknownError", retryable: false }
      case "server_error":
      case "unexpected_output":
        return { reason: "InternalProviderError", ...(filesPath ? { retryable: false } : {}) }
      default:
        break
    }
    if (info.status === 504) {
      return {
        reason: "InternalProviderError",
        kind: "gateway-timeout",
        description:
          "gateway timeout (HTTP 504; Moonshot's gateway answers with an HTML page after about 900 s without a " +
          "response): stream long generations, which send data as it is produced"
      }
    }
    if (info.status === 404 && info.type === undefined) {
      return {
        reason: "InvalidRequestError",
        description: `${info.url} was not found (${info.message ?? info.code ?? "no message"}): check the base URL (e.g. https://api.moonshot.ai/v1)`
      }
    }
    if (info.status >= 500 && filesPath) return { reason: "InternalProviderError", retryable: false }
    return undefined
  }

/**
 * The table with the default current models.
 *
 * @since 0.1.0
 */
export const errorTable: ProviderError.ErrorTable = make()

/**
 * Whether an error is the Kimi Code gate (403 `access_terminated_error`).
 *
 * @since 0.1.0
 */
export const isAccessGate = (error: AiError.AiError): boolean => {
  const conduit = ProviderError.conduitMetadata(error)
  return conduit?.type === "access_terminated_error"
}
