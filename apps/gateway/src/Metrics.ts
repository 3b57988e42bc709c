/**
 * The gateway's Prometheus metrics, on Effect's `Metric` with a registry of its own (two gateways in one process
 * never mix their counts), updated synchronously on the request path (no effect per update) and rendered by
 * `PrometheusMetrics.formatUnsafe` for `GET /metrics`.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `conduit_gateway_requests_total` | counter | `endpoint`, `status` |
 * | `conduit_gateway_errors_total` | counter | `endpoint`, `code` (the OpenAI error code, or the type when it has none) |
 * | `conduit_gateway_upstream_attempts_total` | counter | `provider` (every upstream HTTP attempt) |
 * | `conduit_gateway_retries_total` | counter | `provider` (attempts beyond the first of a request) |
 * | `conduit_gateway_fallbacks_total` | counter | `model` (hand-overs to a fallback provider) |
 * | `conduit_gateway_cache_hits_total` | counter | `kind` (`response`, `idempotent`) |
 * | `conduit_gateway_tokens_total` | counter | `provider`, `kind` (`input`, `cached`, `output`, `reasoning`) |
 * | `conduit_gateway_request_duration_seconds` | histogram | `endpoint`, `stream` |
 * | `conduit_gateway_time_to_first_token_seconds` | histogram | `provider` (streams: request start to first part) |
 * | `conduit_gateway_open_streams` | gauge | |
 * | `conduit_gateway_in_flight_requests` | gauge | |
 *
 * The session manager's figures (`SessionManager.stats`, read when `/metrics` is scraped; see {@link renderSessions}):
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `conduit_gateway_session_requests_active` | gauge | (running) |
 * | `conduit_gateway_session_requests_queued` | gauge | (waiting for a permit) |
 * | `conduit_gateway_session_requests_in_flight` | gauge | (created, not yet released) |
 * | `conduit_gateway_sessions` | gauge | (sessions remembered) |
 * | `conduit_gateway_session_permits_available` | gauge | (global permits free) |
 * | `conduit_gateway_session_requests_total` | counter | `outcome` (`completed`, `failed`, `timed_out`, `cancelled`) |
 * | `conduit_gateway_session_requests_rejected_total` | counter | (refused before running; also in an outcome) |
 * | `conduit_gateway_session_queue_seconds` | summary | `quantile` (`0.5`, `0.95`) |
 * | `conduit_gateway_session_run_seconds` | summary | `quantile` (`0.5`, `0.95`) |
 *
 * Spend and tokens per caller (see {@link GatewayMetrics.caller}), labelled `key_id` (`key_<12 hex>`, derived from
 * the key by `Auth.keyId`, never the key; `anonymous` without keys), `provider` and `model` (the catalog id the
 * provider was asked for):
 *
 * | metric | type | labels |
 * |---|---|---|
 * | `conduit_gateway_caller_requests_total` | counter | `key_id`, `provider`, `model` (answered requests, cache hits included) |
 * | `conduit_gateway_caller_tokens_total` | counter | `key_id`, `provider`, `model`, `kind` (`input`, `cached`, `output`, `reasoning`; tokens spent upstream) |
 * | `conduit_gateway_caller_cost_total` | counter | `key_id`, `provider`, `model`, `currency` (ISO 4217; what the upstream charged, see core's `Cost`) |
 *
 * Tokens and cost count upstream work only: an answer from the response cache or an idempotent replay or join spent
 * nothing (as the key budgets see it). A response whose price is unknown adds tokens but no cost; costs in different
 * currencies stay apart (never converted). At most {@link maxCallerSeries} key/provider/model combinations are kept;
 * past that, new models of a key and provider count under `model="_other"`. Counters are plain numbers in nested maps
 * (no allocation per request once a combination exists), rendered when `/metrics` is scraped.
 *
 * The retry budgets (core's `RetryBudget.perProvider`, see {@link renderRetryBudget}), each series labelled
 * `provider`: `conduit_gateway_retry_budget_requests`, `_retries`, `_available` (gauges over its 10 s window) and
 * `conduit_gateway_retry_budget_denied_total` (counter).
 *
 * The provider cooldowns (`Cooldowns`, see {@link renderCooldowns}), per `provider`:
 * `conduit_gateway_provider_cooldown_state` (0 closed, 1 open, 2 half-open) and the counters
 * `conduit_gateway_provider_cooldown_opened_total`, `_skipped_total`, `_probes_total`.
 */
import type { SessionManager } from "@conduitkit/session"
import { Context, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"

const latencyBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/** Token counts of one answer. */
export interface Tokens {
  readonly input: number
  readonly cached: number
  readonly output: number
  readonly reasoning: number
}

/**
 * The most key/provider/model combinations the per-caller counters keep (past it, new models count as `_other`).
 */
export const maxCallerSeries = 2_000

/** The per-caller counters of one key, provider and model (tokens; cost per currency, in currency units). */
interface CallerCounters {
  requests: number
  input: number
  cached: number
  output: number
  reasoning: number
  readonly cost: Map<string, number>
}

/** The metrics of one gateway. Every method is synchronous and cheap (a map lookup and an add). */
export interface GatewayMetrics {
  readonly request: (endpoint: string, status: number, durationSeconds: number, stream: boolean) => void
  readonly error: (endpoint: string, code: string) => void
  readonly attempt: (provider: string) => void
  readonly retry: (provider: string, count: number) => void
  readonly fallback: (model: string) => void
  readonly cacheHit: (kind: "response" | "idempotent") => void
  readonly tokens: (provider: string, tokens: Tokens) => void
  /**
   * One answered request of a caller: `keyId` (`key_<12 hex>` or `anonymous`), the `provider` and `model` that
   * answered; `tokens` spent upstream (`undefined` for an answer from a cache or a replay) and what they cost
   * (`amount` in `currency`; `undefined` when unknown or nothing was spent).
   */
  readonly caller: (
    keyId: string,
    provider: string,
    model: string,
    tokens: Tokens | undefined,
    cost: { readonly amount: number; readonly currency: string } | undefined
  ) => void
  readonly firstToken: (provider: string, seconds: number) => void
  readonly streamOpened: () => void
  readonly streamClosed: () => void
  readonly requestStarted: () => void
  readonly requestEnded: () => void
  /** The Prometheus text exposition of every metric. */
  readonly render: () => string
}

/** Builds the metrics with a fresh registry. */
export const make = (): GatewayMetrics => {
  const context = Context.make(Metric.MetricRegistry, new Map())

  const requests = Metric.counter("conduit_gateway_requests_total", { description: "HTTP requests answered" })
  const errors = Metric.counter("conduit_gateway_errors_total", { description: "Error responses and stream errors" })
  const attempts = Metric.counter("conduit_gateway_upstream_attempts_total", { description: "Upstream HTTP attempts" })
  const retries = Metric.counter("conduit_gateway_retries_total", { description: "Upstream retries" })
  const fallbacks = Metric.counter("conduit_gateway_fallbacks_total", { description: "Fallbacks to another model" })
  const cacheHits = Metric.counter("conduit_gateway_cache_hits_total", { description: "Answers served from cache" })
  const tokens = Metric.counter("conduit_gateway_tokens_total", { description: "Tokens reported by upstreams" })
  const duration = Metric.histogram("conduit_gateway_request_duration_seconds", {
    description: "Time from request to the end of the response",
    boundaries: latencyBoundaries
  })
  const ttft = Metric.histogram("conduit_gateway_time_to_first_token_seconds", {
    description: "Time from request to the first streamed part",
    boundaries: latencyBoundaries
  })
  const openStreams = Metric.gauge("conduit_gateway_open_streams", { description: "Streams being written" })
  const inFlight = Metric.gauge("conduit_gateway_in_flight_requests", { description: "Requests being handled" })

  // one tagged metric per label combination, built once
  const tagged = new Map<string, Metric.Metric<number, unknown>>()
  const series = <S>(metric: Metric.Metric<number, S>, key: string, attributes: Record<string, string>) => {
    const id = `${metric.id}\u0000${key}`
    let found = tagged.get(id)
    if (found === undefined) {
      found = Metric.withAttributes(metric, attributes) as Metric.Metric<number, unknown>
      tagged.set(id, found)
    }
    return found
  }

  // key id -> provider -> model -> counters
  const callers = new Map<string, Map<string, Map<string, CallerCounters>>>()
  let callerSeries = 0
  const callerCounters = (keyId: string, provider: string, model: string): CallerCounters => {
    let byProvider = callers.get(keyId)
    if (byProvider === undefined) {
      byProvider = new Map()
      callers.set(keyId, byProvider)
    }
    let byModel = byProvider.get(provider)
    if (byModel === undefined) {
      byModel = new Map()
      byProvider.set(provider, byModel)
    }
    let counters = byModel.get(model)
    if (counters === undefined) {
      if (callerSeries >= maxCallerSeries && model !== "_other") return callerCounters(keyId, provider, "_other")
      counters = { requests: 0, input: 0, cached: 0, output: 0, reasoning: 0, cost: new Map() }
      byModel.set(model, counters)
      callerSeries++
    }
    return counters
  }

  let open = 0
  let active = 0
  openStreams.updateUnsafe(0, context)
  inFlight.updateUnsafe(0, context)

  return {
    request: (endpoint, status, seconds, stream) => {
      series(requests, `${endpoint}|${status}`, { endpoint, status: String(status) }).updateUnsafe(1, context)
      series(duration, `${endpoint}|${stream}`, { endpoint, stream: String(stream) }).updateUnsafe(seconds, context)
    },
    error: (endpoint, code) => series(errors, `${endpoint}|${code}`, { endpoint, code }).updateUnsafe(1, context),
    attempt: (provider) => series(attempts, provider, { provider }).updateUnsafe(1, context),
    retry: (provider, count) => {
      if (count > 0) series(retries, provider, { provider }).updateUnsafe(count, context)
    },
    fallback: (model) => series(fallbacks, model, { model }).updateUnsafe(1, context),
    cacheHit: (kind) => series(cacheHits, kind, { kind }).updateUnsafe(1, context),
    tokens: (provider, t) => {
      if (t.input > 0) series(tokens, `${provider}|input`, { provider, kind: "input" }).updateUnsafe(t.input, context)
      if (t.cached > 0)
        series(tokens, `${provider}|cached`, { provider, kind: "cached" }).updateUnsafe(t.cached, context)
      if (t.output > 0)
        series(tokens, `${provider}|output`, { provider, kind: "output" }).updateUnsafe(t.output, context)
      if (t.reasoning > 0) {
        series(tokens, `${provider}|reasoning`, { provider, kind: "reasoning" }).updateUnsafe(t.reasoning, context)
      }
    },
    caller: (keyId, provider, model, t, cost) => {
      const counters = callerCounters(keyId, provider, model)
      counters.requests++
      if (t !== undefined) {
        counters.input += t.input
        counters.cached += t.cached
        counters.output += t.output
        counters.reasoning += t.reasoning
      }
      if (cost !== undefined) counters.cost.set(cost.currency, (counters.cost.get(cost.currency) ?? 0) + cost.amount)
    },
    firstToken: (provider, seconds) => series(ttft, provider, { provider }).updateUnsafe(seconds, context),
    streamOpened: () => openStreams.updateUnsafe(++open, context),
    streamClosed: () => openStreams.updateUnsafe(--open, context),
    requestStarted: () => inFlight.updateUnsafe(++active, context),
    requestEnded: () => inFlight.updateUnsafe(--active, context),
    render: () => PrometheusMetrics.formatUnsafe(context) + renderCallers(callers)
  }
}

/** A Prometheus label value: backslash, double quote and line feed escaped. */
const labelValue = (value: string): string => value.replace(/[\\"\n]/g, (char) => (char === "\n" ? "\\n" : `\\${char}`))

const tokenKinds = ["input", "cached", "output", "reasoning"] as const

/** The per-caller counters as Prometheus text (cost rounded to 1e-10 of a currency unit). */
const renderCallers = (callers: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, CallerCounters>>>) => {
  if (callers.size === 0) return ""
  const requests: Array<readonly [string, number]> = []
  const tokens: Array<readonly [string, number]> = []
  const costs: Array<readonly [string, number]> = []
  for (const [keyId, byProvider] of callers) {
    for (const [provider, byModel] of byProvider) {
      for (const [model, counters] of byModel) {
        const labels = `key_id="${labelValue(keyId)}",provider="${labelValue(provider)}",model="${labelValue(model)}"`
        requests.push([`{${labels}}`, counters.requests])
        for (const kind of tokenKinds) tokens.push([`{${labels},kind="${kind}"}`, counters[kind]])
        for (const [currency, amount] of counters.cost) {
          costs.push([`{${labels},currency="${labelValue(currency)}"}`, Math.round(amount * 1e10) / 1e10])
        }
      }
    }
  }
  return (
    family(
      "conduit_gateway_caller_requests_total",
      "counter",
      "Answered requests per caller key, provider and model",
      requests
    ) +
    family(
      "conduit_gateway_caller_tokens_total",
      "counter",
      "Tokens spent upstream per caller key, provider and model",
      tokens
    ) +
    (costs.length > 0
      ? family(
          "conduit_gateway_caller_cost_total",
          "counter",
          "What upstreams charged per caller key, provider and model, in currency units (USD, CNY)",
          costs
        )
      : "")
  )
}

/** One Prometheus metric family as text: HELP, TYPE, and a line per sample (`labels` as `{k="v"}` or empty). */
export const family = (
  name: string,
  type: string,
  help: string,
  samples: ReadonlyArray<readonly [string, number]>
): string =>
  `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.map(([labels, value]) => `${name}${labels} ${value}`).join("\n")}\n`

/**
 * The session manager's figures as Prometheus text (gauges for what is running now, counters for outcomes since
 * start, summaries with the p50/p95 over the manager's recent requests, in seconds).
 */
export const renderSessions = (stats: SessionManager.Stats): string =>
  [
    family("conduit_gateway_session_requests_active", "gauge", "Requests running in the session manager", [
      ["", stats.active]
    ]),
    family("conduit_gateway_session_requests_queued", "gauge", "Requests waiting for a permit", [["", stats.queued]]),
    family("conduit_gateway_session_requests_in_flight", "gauge", "Requests created and not yet released", [
      ["", stats.inFlight]
    ]),
    family("conduit_gateway_sessions", "gauge", "Sessions remembered (active or idle within the TTL)", [
      ["", stats.sessions]
    ]),
    family("conduit_gateway_session_permits_available", "gauge", "Global permits free", [
      ["", stats.permits.available]
    ]),
    family("conduit_gateway_session_requests_total", "counter", "Requests ended in the session manager, by outcome", [
      ['{outcome="completed"}', stats.completed],
      ['{outcome="failed"}', stats.failed],
      ['{outcome="timed_out"}', stats.timedOut],
      ['{outcome="cancelled"}', stats.cancelled]
    ]),
    family(
      "conduit_gateway_session_requests_rejected_total",
      "counter",
      "Requests refused before running (queue full, queue timeout, rate limited, metadata too large)",
      [["", stats.rejected]]
    ),
    family("conduit_gateway_session_queue_seconds", "summary", "Time waiting for a permit (recent requests)", [
      ['{quantile="0.5"}', stats.queueMs.p50 / 1000],
      ['{quantile="0.95"}', stats.queueMs.p95 / 1000]
    ]),
    family("conduit_gateway_session_run_seconds", "summary", "Time running after admission (recent requests)", [
      ['{quantile="0.5"}', stats.runMs.p50 / 1000],
      ['{quantile="0.95"}', stats.runMs.p95 / 1000]
    ])
  ].join("")

/**
 * The retry budgets' figures as Prometheus text, one series per provider (`provider` label): gauges over each
 * budget's window, and the refusals since start.
 */
export const renderRetryBudget = (
  byProvider: ReadonlyMap<
    string,
    { readonly requests: number; readonly retries: number; readonly available: number; readonly denied: number }
  >
): string => {
  if (byProvider.size === 0) return ""
  const series = (pick: (stats: { requests: number; retries: number; available: number; denied: number }) => number) =>
    [...byProvider].map(([provider, stats]) => [`{provider="${labelValue(provider)}"}`, pick(stats)] as const)
  return (
    family(
      "conduit_gateway_retry_budget_requests",
      "gauge",
      "Requests counted in the provider's retry budget window",
      series((stats) => stats.requests)
    ) +
    family(
      "conduit_gateway_retry_budget_retries",
      "gauge",
      "Retries taken in the provider's retry budget window",
      series((stats) => stats.retries)
    ) +
    family(
      "conduit_gateway_retry_budget_available",
      "gauge",
      "Retries still allowed in the provider's window",
      series((stats) => stats.available)
    ) +
    family(
      "conduit_gateway_retry_budget_denied_total",
      "counter",
      "Retries refused by the provider's retry budget",
      series((stats) => stats.denied)
    )
  )
}

/**
 * The provider cooldowns (see `Cooldowns`) as Prometheus text, per `provider`: `conduit_gateway_provider_cooldown_state`
 * (gauge: 0 closed, 1 open, 2 half-open, probing), `_opened_total`, `_skipped_total` (requests that skipped the
 * provider) and `_probes_total` (counters since start).
 */
export const renderCooldowns = (
  snapshot: ReadonlyArray<{
    readonly provider: string
    readonly state: "closed" | "open" | "half-open"
    readonly opened: number
    readonly skipped: number
    readonly probes: number
  }>
): string => {
  if (snapshot.length === 0) return ""
  const series = (pick: (entry: (typeof snapshot)[number]) => number) =>
    snapshot.map((entry) => [`{provider="${labelValue(entry.provider)}"}`, pick(entry)] as const)
  return (
    family(
      "conduit_gateway_provider_cooldown_state",
      "gauge",
      "Provider cooldown: 0 closed, 1 open (skipped in routes with fallbacks), 2 half-open (one probe running)",
      series((entry) => (entry.state === "closed" ? 0 : entry.state === "open" ? 1 : 2))
    ) +
    family(
      "conduit_gateway_provider_cooldown_opened_total",
      "counter",
      "Times the provider started a cooldown",
      series((entry) => entry.opened)
    ) +
    family(
      "conduit_gateway_provider_cooldown_skipped_total",
      "counter",
      "Requests that skipped the provider while it cooled down",
      series((entry) => entry.skipped)
    ) +
    family(
      "conduit_gateway_provider_cooldown_probes_total",
      "counter",
      "Probe requests sent to the provider after a cooldown",
      series((entry) => entry.probes)
    )
  )
}
