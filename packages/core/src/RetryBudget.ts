/**
 * A retry budget (as Envoy's retry budgets and the AWS SDKs' retry quota): retries across all requests are capped to
 * a share of the traffic, so a provider outage does not multiply the load on it by the number of attempts.
 *
 * Over a sliding window (`windowMs`, default 10 s, in ten buckets) a retry is allowed while the retries already made
 * stay below `max(ratio × requests, minPerSecond × window seconds)` (defaults: 20% of the requests, at least 5 per
 * second). `RetryPolicy.schedule` asks the {@link CurrentRetryBudget} before every retry and stops (the attempt's
 * error is the call's error) when the budget says no. Whoever owns a budget counts its requests with `request()`
 * (the gateway: once per call); the default budget ({@link unlimited}) allows every retry.
 *
 * @since 0.1.0
 */
import { Context } from "effect"

/**
 * What a budget has seen over its window (and since it was made, for `denied`).
 *
 * @since 0.1.0
 */
export interface Stats {
  /** Requests counted in the window. */
  readonly requests: number
  /** Retries allowed in the window. */
  readonly retries: number
  /** Retries still allowed in the window now. */
  readonly available: number
  /** Retries refused since the budget was made. */
  readonly denied: number
}

/**
 * A retry budget: `request(provider?)` counts a request, `tryRetry(provider?)` takes one retry from the budget (false:
 * refused). `provider` names the provider the request or retry goes to: a {@link perProvider} budget keeps one window
 * per provider, a {@link make} budget ignores it. `RetryPolicy` passes the provider named by the failed attempt's
 * error (`metadata.conduit.provider`).
 *
 * @since 0.1.0
 */
export interface RetryBudget {
  readonly request: (provider?: string) => void
  readonly tryRetry: (provider?: string) => boolean
  readonly stats: () => Stats
}

/**
 * A budget per provider (see {@link perProvider}): `byProvider()` gives each provider's figures.
 *
 * @since 0.1.0
 */
export interface PerProviderRetryBudget extends RetryBudget {
  readonly byProvider: () => ReadonlyMap<string, Stats>
}

/**
 * Options of {@link make}: `ratio` (retries per request, default 0.2), `minPerSecond` (retries always allowed per
 * second, default 5), `windowMs` (default 10,000), `now` (a clock in ms, for tests).
 *
 * @since 0.1.0
 */
export interface Options {
  readonly ratio?: number | undefined
  readonly minPerSecond?: number | undefined
  readonly windowMs?: number | undefined
  readonly now?: (() => number) | undefined
}

/**
 * A budget over a sliding window of ten buckets.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): RetryBudget => {
  const ratio = options.ratio ?? 0.2
  const windowMs = options.windowMs ?? 10_000
  const floor = (options.minPerSecond ?? 5) * (windowMs / 1_000)
  const now = options.now ?? (() => performance.now())
  const bucketMs = windowMs / 10
  const requests = new Array<number>(10).fill(0)
  const retries = new Array<number>(10).fill(0)
  let current = Math.floor(now() / bucketMs)
  let denied = 0
  const advance = () => {
    const bucket = Math.floor(now() / bucketMs)
    for (let b = current + 1; b <= bucket && b <= current + 10; b++) {
      requests[b % 10] = 0
      retries[b % 10] = 0
    }
    current = Math.max(current, bucket)
    return current % 10
  }
  const sum = (counts: ReadonlyArray<number>) => counts.reduce((a, b) => a + b, 0)
  const available = () => Math.max(0, Math.floor(Math.max(ratio * sum(requests), floor)) - sum(retries))
  return {
    request: () => {
      requests[advance()]! += 1
    },
    tryRetry: () => {
      const index = advance()
      if (available() <= 0) {
        denied++
        return false
      }
      retries[index]! += 1
      return true
    },
    stats: () => {
      advance()
      return { requests: sum(requests), retries: sum(retries), available: available(), denied }
    }
  }
}

/**
 * One budget per provider, each made with {@link make} and the same `options` (a request or retry without a provider
 * counts under `""`): an outage of one provider spends that provider's budget only, so retries to a healthy one
 * are not refused because of it. `stats()` sums the providers' figures.
 *
 * @since 0.1.0
 */
export const perProvider = (options: Options = {}): PerProviderRetryBudget => {
  const budgets = new Map<string, RetryBudget>()
  const budgetOf = (provider: string | undefined) => {
    const key = provider ?? ""
    let budget = budgets.get(key)
    if (budget === undefined) {
      budget = make(options)
      budgets.set(key, budget)
    }
    return budget
  }
  const byProvider = () => new Map([...budgets].map(([key, budget]) => [key, budget.stats()] as const))
  return {
    request: (provider) => budgetOf(provider).request(),
    tryRetry: (provider) => budgetOf(provider).tryRetry(),
    stats: () => {
      let requests = 0
      let retries = 0
      let available = 0
      let denied = 0
      for (const stats of byProvider().values()) {
        requests += stats.requests
        retries += stats.retries
        available += stats.available
        denied += stats.denied
      }
      return { requests, retries, available, denied }
    },
    byProvider
  }
}

/**
 * A budget that allows every retry (the default).
 *
 * @since 0.1.0
 */
export const unlimited: RetryBudget = {
  request: () => undefined,
  tryRetry: () => true,
  stats: () => ({ requests: 0, retries: 0, available: Number.POSITIVE_INFINITY, denied: 0 })
}

/**
 * The budget retries are taken from (default {@link unlimited}); provide one per process (or per provider) with
 * `Effect.provideService(CurrentRetryBudget, budget)`.
 *
 * @since 0.1.0
 */
export const CurrentRetryBudget: Context.Reference<RetryBudget> = Context.Reference<RetryBudget>(
  "@conduitkit/core/RetryBudget",
  { defaultValue: () => unlimited }
)
