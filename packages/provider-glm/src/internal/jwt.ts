/**
 * Zhipu's JWT authentication for `<id>.<secret>` keys: an HS256 token with the non-standard header
 * `{"alg":"HS256","sign_type":"SIGN"}` and the payload `{ api_key: <id>, exp, timestamp }`, both times in
 * milliseconds, signed with the secret (UTF-8) and sent as `Authorization: Bearer <jwt>`.
 *
 * Sources: BM-DOCS https://docs.bigmodel.cn/cn/guide/develop/http/introduction ("JWT Token 鉴权");
 * ZAI-SDK-PY `src/zai/core/_jwt_token.py` (cache 180 s, `exp = now + 210 s`); docs/providers/glm.md#authentication. An
 * expired token is answered with HTTP 401 code 1003 (MetaGLM/zhipuai-sdk-python-v4#6), hence renewal before expiry.
 */
import { createHmac } from "node:crypto"
import { Clock, Effect, Redacted, Result } from "effect"
import { AiError } from "effect/ai"

/** Token lifetime and renewal margin, in ms. */
export interface JwtOptions {
  /** Lifetime written into `exp` (default 210,000 ms, as the official SDK). */
  readonly ttlMs?: number | undefined
  /** A cached token is replaced this long before its `exp` (default 30,000 ms, so it is reused for 180 s). */
  readonly renewBeforeMs?: number | undefined
}

export const defaultTtlMs = 210_000
export const defaultRenewBeforeMs = 30_000

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url")

/** Splits an `<id>.<secret>` key; anything else is refused (as the official SDKs do). */
export const splitKey = (
  key: string
): Result.Result<{ readonly id: string; readonly secret: string }, AiError.AiError> => {
  const parts = key.split(".")
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    return Result.fail(
      AiError.make({
        module: "GlmClient",
        method: "jwt",
        reason: new AiError.AuthenticationError({
          kind: "InvalidKey",
          description: "JWT mode needs an API key of the form <id>.<secret> (one dot)",
          // refusal: glm/api-key-format
          metadata: { conduit: { kind: "preflight", provider: "glm" } }
        })
      })
    )
  }
  return Result.succeed({ id: parts[0] as string, secret: parts[1] as string })
}

/** Signs a token (pure: the same inputs give the same token). */
export const sign = (params: {
  readonly id: string
  readonly secret: string
  readonly nowMs: number
  readonly ttlMs: number
}): string => {
  const header = base64url(JSON.stringify({ alg: "HS256", sign_type: "SIGN" }))
  const payload = base64url(
    JSON.stringify({ api_key: params.id, exp: params.nowMs + params.ttlMs, timestamp: params.nowMs })
  )
  const signature = createHmac("sha256", Buffer.from(params.secret, "utf8"))
    .update(`${header}.${payload}`)
    .digest("base64url")
  return `${header}.${payload}.${signature}`
}

/**
 * A token source for one client: an effect that returns the cached token, or signs a new one (with the Effect
 * `Clock`, so tests drive it with `TestClock`) when there is none or the cached one is within `renewBeforeMs` of its
 * expiry. Fails with `AuthenticationError` for a key that is not `<id>.<secret>`.
 */
export const tokenSource = (
  apiKey: Redacted.Redacted<string>,
  options: JwtOptions = {}
): Effect.Effect<Redacted.Redacted<string>, AiError.AiError> => {
  const ttlMs = options.ttlMs ?? defaultTtlMs
  const renewBeforeMs = Math.min(options.renewBeforeMs ?? defaultRenewBeforeMs, ttlMs)
  let cached: { readonly token: Redacted.Redacted<string>; readonly renewAt: number } | undefined
  return Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    if (cached !== undefined && now < cached.renewAt) return cached.token
    const key = splitKey(Redacted.value(apiKey))
    if (Result.isFailure(key)) return yield* Effect.fail(key.failure)
    const token = Redacted.make(sign({ ...key.success, nowMs: now, ttlMs }))
    cached = { token, renewAt: now + ttlMs - renewBeforeMs }
    return token
  })
}

/** Decodes a token's header and payload (for tests and debugging; the signature is not checked). */
export const decode = (token: string): { readonly header: unknown; readonly payload: unknown } => {
  const [header = "", payload = ""] = token.split(".")
  return {
    header: JSON.parse(Buffer.from(header, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(payload, "base64url").toString("utf8"))
  }
}
