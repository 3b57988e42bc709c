/**
 * Whether the gateway's shared state (Redis) answers, for `/healthz` and `/readyz`.
 *
 * With `REDIS_URL`, {@link layerRedis} sends `PING` every second (500 ms timeout). While Redis does not answer, the
 * gateway runs degraded: rate limits and key budgets are per instance (or refuse every request with `CONDUIT_RATE_LIMIT_FAIL=closed`),
 * idempotency keys and the response cache are per instance (in memory), conversations are unavailable; `reasons`
 * says so. Without Redis there is nothing to watch ({@link none}).
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { Redis } from "effect/persistence"

/** The reasons the gateway runs degraded right now (empty: healthy). */
export class StoreHealth extends Context.Service<StoreHealth, { readonly reasons: () => ReadonlyArray<string> }>()(
  "@conduitkit/gateway/StoreHealth"
) {}

/** No shared store: never degraded. */
export const none: Layer.Layer<StoreHealth> = Layer.succeed(StoreHealth, StoreHealth.of({ reasons: () => [] }))

/**
 * Watches the `Redis` in context (a `PING` every `interval`, default 1 s, each bounded by 500 ms); logs a warning
 * when Redis stops answering and an info line when it is back. `failClosed`: rate limits refuse while Redis is away.
 */
export const layerRedis = (options: {
  readonly failClosed: boolean
  readonly interval?: Duration.Input | undefined
}): Layer.Layer<StoreHealth, never, Redis.Redis> =>
  Layer.effect(
    StoreHealth,
    Effect.gen(function* () {
      const redis = yield* Redis.Redis
      let up = true
      const reason = `redis_unavailable: ${
        options.failClosed
          ? "rate-limited and budgeted requests are refused (CONDUIT_RATE_LIMIT_FAIL=closed)"
          : "rate limits and key budgets"
      }${options.failClosed ? "; " : ", "}idempotency keys and the response cache are per instance; conversations are unavailable`
      const check = redis.send("PING").pipe(
        Effect.timeout(Duration.millis(500)),
        Effect.matchEffect({
          onFailure: () => {
            if (!up) return Effect.void
            up = false
            return Effect.logWarning(`Redis does not answer: ${reason}`)
          },
          onSuccess: () => {
            if (up) return Effect.void
            up = true
            return Effect.logInfo("Redis answers again: shared state resumes")
          }
        })
      )
      yield* Effect.forkScoped(Effect.repeat(check, Schedule.spaced(options.interval ?? Duration.seconds(1))))
      return StoreHealth.of({ reasons: () => (up ? [] : [reason]) })
    })
  )
