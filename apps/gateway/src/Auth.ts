/**
 * API-key authentication: `Authorization: Bearer <key>` (OpenAI clients) or `x-api-key: <key>` (Anthropic clients),
 * against the same keys.
 *
 * Keys come from `CONDUIT_API_KEYS` as `Redacted` values; only their SHA-256 digests are kept. A presented key is
 * hashed and compared with every configured digest by `crypto.timingSafeEqual` (equal-length 32-byte digests, no
 * early exit), so neither the comparison time nor the key length tells an attacker anything. Each key gets a short
 * public identifier (`key_<12 hex>`, a hash of a domain-separated hash of the key): it names the caller in logs,
 * rate limits, idempotency keys and conversation ids, and can never be turned back into the key.
 */
import * as crypto from "node:crypto"
import { Redacted } from "effect"

/** The outcome of checking a request's key. */
export type AuthResult =
  | { readonly _tag: "Ok"; readonly keyId: string }
  | { readonly _tag: "Missing" }
  | { readonly _tag: "Invalid" }

/** A key checker. `enabled` is false when no keys are configured (every request is `Ok` as `anonymous`). */
export interface Authenticator {
  readonly enabled: boolean
  /**
   * Checks the key of a request: the `Authorization: Bearer` token, else the `x-api-key` header. `Missing` when
   * neither carries one.
   */
  readonly check: (authorization: string | undefined, apiKey?: string | undefined) => AuthResult
}

const digest = (text: string): Buffer => crypto.createHash("sha256").update(text, "utf8").digest()

/** The public identifier of a key (`key_` + 12 hex characters). */
export const keyId = (key: string): string =>
  `key_${crypto.createHash("sha256").update("conduit-key-id\u0000").update(digest(key)).digest("hex").slice(0, 12)}`

const anonymous: AuthResult = { _tag: "Ok", keyId: "anonymous" }
const missing: AuthResult = { _tag: "Missing" }
const invalid: AuthResult = { _tag: "Invalid" }

const bearer = /^\s*bearer\s+(\S+)\s*$/i

/**
 * The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, surrounding spaces ignored), or
 * `undefined` when the header is absent or uses another scheme.
 */
export const bearerToken = (authorization: string | undefined): string | undefined => {
  if (authorization === undefined) return undefined
  const match = bearer.exec(authorization)
  return match?.[1]
}

/** Builds an authenticator over the configured keys (their digests and ids are computed once here). */
export const make = (keys: ReadonlyArray<Redacted.Redacted<string>>): Authenticator => {
  if (keys.length === 0) return { enabled: false, check: () => anonymous }
  const entries = keys.map((key) => {
    const value = Redacted.value(key)
    return { digest: digest(value), result: { _tag: "Ok", keyId: keyId(value) } as AuthResult }
  })
  return {
    enabled: true,
    check: (authorization, apiKey) => {
      const token =
        bearerToken(authorization) ?? (apiKey !== undefined && apiKey.trim() !== "" ? apiKey.trim() : undefined)
      if (token === undefined) return missing
      const presented = digest(token)
      let found: AuthResult = invalid
      for (const entry of entries) {
        // every digest is compared, whichever matches
        if (crypto.timingSafeEqual(presented, entry.digest)) found = entry.result
      }
      return found
    }
  }
}
