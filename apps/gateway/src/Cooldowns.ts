/**
 * The gateway's provider cooldowns: one `Cooldown.State` per provider, changed only through the pure `Cooldown`
 * functions, on a monotonic clock (`performance.now()`, ms).
 *
 * - {@link Cooldowns.route}: a route with fallbacks without its steps on providers that are cooling down (a provider
 *   that is due for its probe stays in, and the call is its probe). A route that would be left without a step, or
 *   has a single step, runs as configured (there is nothing to fall back to).
 * - {@link Cooldowns.record}: a step's outcome (`Cooldown.classify` of its failure, or success).
 * - {@link Cooldowns.snapshot}: each provider's state, for `/metrics` and `/healthz`.
 */
import type { ProviderRegistry } from "@conduitkit/core"
import * as Cooldown from "./Cooldown.js"

/** A provider's cooldown as `/healthz` and `/metrics` show it. */
export interface ProviderCooldown {
  readonly provider: string
  readonly state: "closed" | "open" | "half-open"
  /** Availability failures in a row (closed). */
  readonly failures: number
  /** Until the probe is due (open), in ms. */
  readonly retryInMs: number | undefined
  /** Times the provider was opened, requests that skipped it, and probes sent, since start. */
  readonly opened: number
  readonly skipped: number
  readonly probes: number
}

/** The holder (see the module's description). */
export interface Cooldowns {
  readonly route: (route: ProviderRegistry.Route) => ProviderRegistry.Route
  readonly record: (provider: string, outcome: Cooldown.Outcome) => void
  readonly snapshot: () => ReadonlyArray<ProviderCooldown>
}

interface Entry {
  state: Cooldown.State
  opened: number
  skipped: number
  probes: number
}

/** A holder for `policy` (`now`: the clock in ms, for tests). */
export const make = (policy: Cooldown.Policy, now: () => number = () => performance.now()): Cooldowns => {
  const entries = new Map<string, Entry>()
  const entry = (provider: string): Entry => {
    let found = entries.get(provider)
    if (found === undefined) {
      found = { state: Cooldown.closed, opened: 0, skipped: 0, probes: 0 }
      entries.set(provider, found)
    }
    return found
  }
  return {
    route: (route) => {
      if (policy.failures <= 0 || route.fallbacks.length === 0) return route
      const at = now()
      const steps = [route, ...route.fallbacks]
      const admissions = new Map<string, Cooldown.Admission>()
      for (const step of steps) {
        if (!admissions.has(step.provider)) {
          admissions.set(step.provider, Cooldown.admit(entry(step.provider).state, at, policy))
        }
      }
      const kept = steps.filter((step) => admissions.get(step.provider)?.admitted)
      const [first, ...rest] = kept
      if (first === undefined) return route // every step is cooling down: nothing to fall back to
      for (const [provider, admission] of admissions) {
        const held = entry(provider)
        if (!admission.admitted) held.skipped++
        else if (admission.probe) held.probes++
        held.state = admission.state
      }
      if (kept.length === steps.length) return route
      const skipped = [...admissions].filter(([, admission]) => !admission.admitted).map(([provider]) => provider)
      // a name of its own: the registry keeps the built services of a route by its name
      return { ...first, name: `${route.name}~without:${skipped.join(",")}`, fallbacks: rest }
    },
    record: (provider, outcome) => {
      const held = entry(provider)
      const next = Cooldown.record(held.state, outcome, now(), policy)
      if (next._tag === "Open" && held.state._tag !== "Open") held.opened++
      held.state = next
    },
    snapshot: () => {
      const at = now()
      return [...entries].map(([provider, held]) => ({
        provider,
        state: held.state._tag === "Closed" ? "closed" : held.state._tag === "Open" ? "open" : "half-open",
        failures: held.state._tag === "Closed" ? held.state.failures : 0,
        retryInMs: held.state._tag === "Open" ? Math.max(0, Math.round(held.state.until - at)) : undefined,
        opened: held.opened,
        skipped: held.skipped,
        probes: held.probes
      }))
    }
  }
}
