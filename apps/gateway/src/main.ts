/**
 * Entry point (`npx pnpm gateway`, or `node apps/gateway/dist/main.js` after a build).
 *
 * Reads the configuration from the environment, loads models.yaml when `CONDUIT_MODELS` is set, decides each
 * provider's mode (live with a key; without one simulated while nothing is live or with `CONDUIT_SIMULATE=1`, else
 * disabled), logs that as its first line (and a warning when simulated providers run next to live ones), starts
 * the simulations it needs (and a warning for each key id of models.yaml's `keys:` that matches no configured key;
 * the "listening" line lists the key ids), and serves until SIGTERM / SIGINT, then shuts down gracefully (see `Gateway`) and exits
 * 0. Startup failures (a malformed variable, a models.yaml error naming file:line:field, a public
 * HOST without keys, a busy port, Redis unreachable) are logged as one JSON line and exit with code 1.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Context, Effect, Exit, Layer, Redacted } from "effect"
import * as Auth from "./Auth.js"
import * as Gateway from "./Gateway.js"
import * as GatewayConfig from "./GatewayConfig.js"
import * as Log from "./Log.js"
import * as Providers from "./Providers.js"

const serve = (config: GatewayConfig.GatewayConfig) =>
  Effect.gen(function* () {
    const { models, entries, status, handlers } = yield* Providers.fromConfig(config)
    yield* Effect.logInfo(
      `conduit gateway: ${status.length === 0 ? "no providers" : status.map((s) => `${s.name} ${s.mode}`).join(", ")}`
    ).pipe(
      Effect.annotateLogs({
        providers: Object.fromEntries(status.map((s) => [s.name, { mode: s.mode, detail: s.detail }])),
        models: config.modelsFile ?? "built-in table"
      })
    )
    const simulated = status.filter((s) => s.mode === "simulated").map((s) => s.name)
    if (simulated.length > 0 && status.some((s) => s.mode === "live" || s.mode === "config")) {
      yield* Effect.logWarning(
        `${simulated.join(", ")} simulated next to live providers (CONDUIT_SIMULATE=1): their answers are canned and carry x-conduit-simulated: true; no fallback lands on them`
      )
    }
    for (const { name, detail } of status.filter((s) => s.mode === "disabled")) {
      yield* Effect.logWarning(`provider ${name} is disabled: ${detail}; requests to it answer 503 until it is enabled`)
    }
    if (config.apiKeys.length === 0) {
      yield* Effect.logWarning(
        `no CONDUIT_API_KEYS: authentication is off, so the gateway only listens on loopback (${config.host})`
      )
    }
    // the key ids callers are known by (never the keys): models.yaml's keys section names them
    const keyIds =
      config.apiKeys.length === 0 ? ["anonymous"] : config.apiKeys.map((key) => Auth.keyId(Redacted.value(key)))
    const unmatched = Object.keys(models?.keys ?? {}).filter((id) => !keyIds.includes(id))
    if (unmatched.length > 0) {
      yield* Effect.logWarning(
        `models.yaml keys ${unmatched.join(", ")} match no key of CONDUIT_API_KEYS (key ids: ${keyIds.join(", ")}): their limits never apply`
      )
    }
    yield* Providers.startSimulation(handlers)
    const running = yield* Layer.build(Gateway.layer({ config, providers: entries, models, status }))
    const { url } = Context.get(running, Gateway.Running)
    yield* Effect.logInfo(`listening on ${url}`).pipe(
      Effect.annotateLogs({ url, auth: config.apiKeys.length > 0, keyIds, redis: config.redisUrl !== undefined })
    )
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(Log.layer(config.logLevel)))

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)

const main = Effect.gen(function* () {
  const config = yield* GatewayConfig.load.pipe(Effect.provide(Log.layer("Info")))
  return yield* serve(config)
}).pipe(
  Effect.tapCause((cause) =>
    Cause.hasInterruptsOnly(cause)
      ? Effect.void
      : Effect.logError(`the gateway could not start: ${describe(Cause.squash(cause))}`).pipe(
          Effect.provide(Log.layer("Info"))
        )
  )
)

// A graceful shutdown (SIGTERM / SIGINT interrupting the main fiber) exits 0; a failure to start exits 1.
NodeRuntime.runMain(main, {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
})
