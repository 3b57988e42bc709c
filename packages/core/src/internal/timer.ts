/**
 * `Effect.timeoutOrElse` for one effect with one forked fiber instead of two: not public.
 */
import { Clock, Effect } from "effect"

/** The clock a fiber has when none is provided (`TestClock` and custom clocks are not it). */
const defaultClock = Effect.runSync(Clock.clockWith(Effect.succeed))

/** The largest delay `setTimeout` honours (a longer one fires at once). */
const maxTimerMs = 2_147_483_647

/**
 * `effect`, or `orElse()`'s failure once `ms` passed first (`effect` is then interrupted): what
 * `Effect.timeoutOrElse({ duration: ms, orElse })` does. On the default clock, `effect` runs in one forked fiber
 * raced against a plain timer (`timeoutOrElse` races two forked fibers, `effect` and a sleeper); on any other clock
 * (`TestClock`), or past `setTimeout`'s range, it is `Effect.timeoutOrElse` itself.
 */
export const failAfter = <A, E>(effect: Effect.Effect<A, E>, ms: number, orElse: () => E): Effect.Effect<A, E> =>
  Effect.withFiber((parent) => {
    if (parent.getRef(Clock.Clock) !== defaultClock || !(ms >= 0 && ms <= maxTimerMs)) {
      return Effect.timeoutOrElse(effect, { duration: ms, orElse: () => Effect.fail(orElse()) })
    }
    return Effect.callback<A, E>((resume) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      let done = false
      const child = Effect.runForkWith(parent.context)(effect)
      child.addObserver((exit) => {
        done = true
        if (timer !== undefined) clearTimeout(timer)
        resume(exit)
      })
      if (done) return
      timer = setTimeout(() => {
        resume(Effect.fail(orElse()))
        child.interruptUnsafe()
      }, ms)
      return Effect.sync(() => {
        clearTimeout(timer)
        child.interruptUnsafe()
      })
    })
  })
