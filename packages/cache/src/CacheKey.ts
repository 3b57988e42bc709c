/**
 * Stable keys for model calls: canonical JSON (object keys sorted recursively, no insignificant whitespace) and a
 * SHA-256 hash over it, plus the rule that decides whether a request is deterministic enough to cache.
 *
 * Everything here is pure: the same request always yields the same key, whatever the key order of its objects or
 * the whitespace of the JSON text it was parsed from. Array order is significant (message order is the prompt),
 * and so is every character inside a string (message content).
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"

/**
 * Fields of an OpenAI-compatible wire request that change how the answer is delivered, not what it is. They are
 * dropped from the key (core already leaves them out of `CacheableCall.request`; dropping them again is harmless).
 *
 * @since 0.1.0
 */
export const transportFields: ReadonlyArray<string> = ["stream", "stream_options"]

/**
 * Canonical JSON text of a JSON-like value: object keys sorted by code unit (recursively), no whitespace, object
 * entries whose value is `undefined` omitted (as `JSON.stringify` does), `-0` written as `0`. Arrays keep their
 * order; `undefined` inside an array is written as `null` (again as `JSON.stringify` does).
 *
 * Throws a `TypeError` for values JSON cannot represent (a `bigint`, a function, a cyclic structure) and for
 * non-finite numbers, which have no JSON form: a key must never silently collapse two different requests.
 *
 * @since 0.1.0
 */
export const canonicalJson = (value: unknown): string => {
  // the objects on the path from the root: a value that is its own ancestor is a cycle
  const ancestors: Array<object> = []
  const write = (input: unknown): string => {
    if (input === null) return "null"
    switch (typeof input) {
      case "string":
        return JSON.stringify(input)
      case "boolean":
        return input ? "true" : "false"
      case "number":
        if (!Number.isFinite(input)) throw new TypeError(`canonicalJson: ${input} has no JSON form`)
        return Object.is(input, -0) ? "0" : String(input)
      case "object": {
        if (ancestors.includes(input)) throw new TypeError("canonicalJson: cyclic structure")
        ancestors.push(input)
        let out: string
        if (Array.isArray(input)) {
          out = "["
          for (let i = 0; i < input.length; i++) {
            if (i > 0) out += ","
            const item: unknown = input[i]
            out += item === undefined ? "null" : write(item)
          }
          out += "]"
        } else {
          const record = input as Record<string, unknown>
          const keys = Object.keys(record).sort()
          out = "{"
          let first = true
          for (const key of keys) {
            const item = record[key]
            if (item === undefined) continue
            if (!first) out += ","
            first = false
            out += `${JSON.stringify(key)}:${write(item)}`
          }
          out += "}"
        }
        ancestors.pop()
        return out
      }
      default:
        throw new TypeError(`canonicalJson: a ${typeof input} has no JSON form`)
    }
  }
  return write(value)
}

/**
 * SHA-256 of a UTF-8 string, as 64 lowercase hex characters.
 *
 * @since 0.1.0
 */
export const sha256Hex = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex")

/**
 * The request without its {@link transportFields} (a shallow copy; the input is not modified).
 *
 * @since 0.1.0
 */
export const withoutTransportFields = (request: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(request)) {
    if (!transportFields.includes(key)) out[key] = request[key]
  }
  return out
}

/**
 * The canonical text a call is keyed by: `{"provider":...,"request":...}` with the request's transport fields
 * dropped. Throws like {@link canonicalJson}.
 *
 * @since 0.1.0
 */
export const normalizedCall = (provider: string, request: Readonly<Record<string, unknown>>): string =>
  canonicalJson({ provider, request: withoutTransportFields(request) })

/**
 * The stable hash of a call: SHA-256 (64 hex characters) of {@link normalizedCall}. Two requests that differ only
 * in object key order, in the whitespace of the JSON they were parsed from, or in `stream` / `stream_options` have
 * the same hash; any other difference (model, messages, tools, sampling, provider options) changes it.
 *
 * @since 0.1.0
 */
export const requestHash = (provider: string, request: Readonly<Record<string, unknown>>): string =>
  sha256Hex(normalizedCall(provider, request))

/**
 * The same as {@link requestHash} for a request still in JSON text form (for example an HTTP body). Throws a
 * `SyntaxError` when the text is not JSON or a `TypeError` when it is not a JSON object.
 *
 * @since 0.1.0
 */
export const requestHashFromJson = (provider: string, json: string): string => {
  const parsed: unknown = JSON.parse(json)
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError("requestHashFromJson: the request must be a JSON object")
  }
  return requestHash(provider, parsed as Record<string, unknown>)
}

/**
 * Whether a wire request asks for a deterministic answer: `temperature` is exactly `0`, or `seed` is an explicit
 * number. Such requests are the ones the response cache stores in `mode: "auto"`.
 *
 * @since 0.1.0
 */
export const isDeterministic = (request: Readonly<Record<string, unknown>>): boolean =>
  request.temperature === 0 || (typeof request.seed === "number" && Number.isFinite(request.seed))
