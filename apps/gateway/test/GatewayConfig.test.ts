import { ConfigProvider, Effect, Exit, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import * as Auth from "../src/Auth.js"
import * as GatewayConfig from "../src/GatewayConfig.js"

const load = (env: Record<string, string>) =>
  Effect.runSyncExit(
    GatewayConfig.load.pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromEnv({ env })))
  )

const loaded = (env: Record<string, string>) => {
  const exit = load(env)
  if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
  return exit.value
}

const failure = (env: Record<string, string>) => {
  const exit = load(env)
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  return String(exit.cause)
}

describe("GatewayConfig.load", () => {
  it("defaults: loopback, port 8787, no keys, 4 MiB bodies, 10 s grace, memory state", () => {
    const config = loaded({})
    expect(config).toMatchObject({
      host: "127.0.0.1",
      port: 8787,
      apiKeys: [],
      maxBodyBytes: 4 * 1024 * 1024,
      shutdownGraceMs: 10_000,
      simulate: undefined,
      conversations: false,
      responseCache: true,
      redisUrl: undefined,
      rateLimits: undefined,
      logLevel: "Info"
    })
  })

  it("reads every variable", () => {
    const config = loaded({
      HOST: "0.0.0.0",
      PORT: "9000",
      CONDUIT_API_KEYS: " sk-one, sk-two ,,",
      CONDUIT_MODELS: "/etc/conduit/models.yaml",
      CONDUIT_MAX_BODY_BYTES: "1024",
      CONDUIT_SHUTDOWN_GRACE_MS: "2500",
      CONDUIT_MAX_CONNECTIONS: "300",
      CONDUIT_HEADERS_TIMEOUT_MS: "5000",
      CONDUIT_RECEIVE_TIMEOUT_MS: "20000",
      CONDUIT_KEEPALIVE_TIMEOUT_MS: "30000",
      CONDUIT_SIMULATE: "0",
      CONDUIT_CONVERSATIONS: "1",
      CONDUIT_RESPONSE_CACHE: "false",
      REDIS_URL: "redis://:secret@127.0.0.1:6379",
      CONDUIT_MAX_CONCURRENT: "50",
      CONDUIT_MAX_CONCURRENT_PER_SESSION: "2",
      CONDUIT_MAX_QUEUED: "0",
      CONDUIT_QUEUE_TIMEOUT_MS: "500",
      CONDUIT_REQUEST_TIMEOUT_MS: "30000",
      CONDUIT_RATE_LIMIT_RPM: "60",
      CONDUIT_RATE_LIMIT_TPM: "100000",
      CONDUIT_MODEL_RATE_LIMIT_RPM: "600",
      CONDUIT_LOG_LEVEL: "warn"
    })
    expect(config.apiKeys.map(Redacted.value)).toEqual(["sk-one", "sk-two"])
    expect(Redacted.isRedacted(config.redisUrl)).toBe(true)
    expect(String(config.redisUrl)).not.toContain("secret")
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 9000,
      modelsFile: "/etc/conduit/models.yaml",
      maxBodyBytes: 1024,
      shutdownGraceMs: 2500,
      connections: {
        maxConnections: 300,
        headersTimeoutMs: 5000,
        receiveTimeoutMs: 20_000,
        keepAliveTimeoutMs: 30_000
      },
      simulate: false,
      conversations: true,
      responseCache: false,
      sessions: {
        maxConcurrent: 50,
        maxConcurrentPerSession: 2,
        maxQueued: 0,
        queueTimeoutMs: 500,
        requestTimeoutMs: 30_000
      },
      rateLimits: {
        perKey: { requestsPerMinute: 60, tokensPerMinute: 100_000 },
        perModel: { requestsPerMinute: 600 }
      },
      logLevel: "Warn"
    })
  })

  it("bounds a request at 10 minutes by default; 0 removes the bound; a negative value is refused", () => {
    expect(loaded({}).sessions.requestTimeoutMs).toBe(600_000)
    expect(loaded({ CONDUIT_REQUEST_TIMEOUT_MS: "0" }).sessions.requestTimeoutMs).toBeUndefined()
    expect(failure({ CONDUIT_REQUEST_TIMEOUT_MS: "-5" })).toContain("CONDUIT_REQUEST_TIMEOUT_MS")
  })

  it("cools a provider down after 3 failed calls for 30 s by default; both are settable, 0 failures turns it off", () => {
    expect(loaded({}).cooldown).toEqual({ failures: 3, cooldownMs: 30_000 })
    expect(loaded({ CONDUIT_COOLDOWN_FAILURES: "0", CONDUIT_COOLDOWN_MS: "500" }).cooldown).toEqual({
      failures: 0,
      cooldownMs: 500
    })
    expect(failure({ CONDUIT_COOLDOWN_FAILURES: "-1" })).toContain("CONDUIT_COOLDOWN_FAILURES")
    expect(failure({ CONDUIT_COOLDOWN_MS: "0" })).toContain("CONDUIT_COOLDOWN_MS")
  })

  it("refuses a public HOST without keys, naming the fix", () => {
    expect(failure({ HOST: "0.0.0.0" })).toContain("CONDUIT_API_KEYS")
    expect(failure({ HOST: "192.168.1.10", CONDUIT_API_KEYS: " , " })).toContain("refusing to listen on 192.168.1.10")
  })

  it("names malformed variables", () => {
    expect(failure({ PORT: "eighty" })).toContain("PORT")
    expect(failure({ PORT: "70000" })).toContain("PORT")
    expect(loaded({ PORT: "0" }).port).toBe(0)
    expect(failure({ CONDUIT_MAX_BODY_BYTES: "0" })).toContain("CONDUIT_MAX_BODY_BYTES")
    expect(failure({ CONDUIT_LOG_LEVEL: "loud" })).toContain("CONDUIT_LOG_LEVEL")
    expect(failure({ CONDUIT_SIMULATE: "perhaps" })).toContain("CONDUIT_SIMULATE")
    expect(failure({ CONDUIT_RATE_LIMIT_FAIL: "maybe" })).toContain("CONDUIT_RATE_LIMIT_FAIL")
  })

  it("keys never appear when the configuration is printed", () => {
    const config = loaded({ CONDUIT_API_KEYS: "sk-very-secret" })
    expect(JSON.stringify(config)).not.toContain("sk-very-secret")
    expect(String(config.apiKeys)).not.toContain("sk-very-secret")
  })
})

describe("isLoopback", () => {
  const rows: ReadonlyArray<readonly [string, boolean]> = [
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["localhost", true],
    ["::1", true],
    ["[::1]", true],
    ["::ffff:127.0.0.1", true],
    ["0.0.0.0", false],
    ["::", false],
    ["10.0.0.1", false],
    ["example.com", false],
    ["127.0.0.1.nip.io", false]
  ]
  for (const [host, expected] of rows)
    it(`${host} → ${expected}`, () => expect(GatewayConfig.isLoopback(host)).toBe(expected))
})

describe("Auth", () => {
  const auth = Auth.make([Redacted.make("sk-alpha"), Redacted.make("sk-beta")])

  it("accepts each configured key and names it by a stable id that does not contain it", () => {
    const alpha = auth.check("Bearer sk-alpha")
    const beta = auth.check("bearer   sk-beta ")
    expect(alpha._tag).toBe("Ok")
    expect(beta._tag).toBe("Ok")
    if (alpha._tag !== "Ok" || beta._tag !== "Ok") return
    expect(alpha.keyId).toMatch(/^key_[0-9a-f]{12}$/)
    expect(alpha.keyId).not.toBe(beta.keyId)
    expect(alpha.keyId).toBe(Auth.keyId("sk-alpha"))
    expect(alpha.keyId).not.toContain("alpha")
  })

  it("tells a missing key from a wrong one", () => {
    expect(auth.check(undefined)._tag).toBe("Missing")
    expect(auth.check("Basic dXNlcjpwYXNz")._tag).toBe("Missing")
    expect(auth.check("Bearer")._tag).toBe("Missing")
    expect(auth.check("Bearer sk-alph")._tag).toBe("Invalid")
    expect(auth.check("Bearer sk-alpha-and-more")._tag).toBe("Invalid")
  })

  it("takes the same keys from x-api-key (Anthropic clients), the bearer token first", () => {
    const viaHeader = auth.check(undefined, "sk-beta")
    expect(viaHeader).toEqual({ _tag: "Ok", keyId: Auth.keyId("sk-beta") })
    expect(auth.check(undefined, "sk-gamma")._tag).toBe("Invalid")
    expect(auth.check(undefined, " ")._tag).toBe("Missing")
    expect(auth.check("Bearer sk-alpha", "sk-wrong")).toEqual({ _tag: "Ok", keyId: Auth.keyId("sk-alpha") })
  })

  it("without keys every request is anonymous", () => {
    const open = Auth.make([])
    expect(open.enabled).toBe(false)
    expect(open.check(undefined)).toEqual({ _tag: "Ok", keyId: "anonymous" })
  })
})
