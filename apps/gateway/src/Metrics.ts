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
 * The retry budget (core's `RetryBudget`, see {@link renderRetryBudget}): `conduit_gateway_retry_budget_requests`,
 * `_retries`, `_available` (gauges over its 10 s window) and `conduit_gateway_retry_budget_denied_total` (counter).
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

/** The metrics of one gateway. Every method is synchronous and cheap (a map lookup and an add). */
export interface GatewayMetrics {
  readonly request: (endpoint: string, status: number, durationSeconds: number, stream: boolean) => void
  readonly error: (endpoint: string, code: string) => void
  readonly attempt: (provider: string) => void
  readonly retry: (provider: string, count: number) => void
  readonly fallback: (model: string) => void
  readonly cacheHit: (kind: "response" | "idempotent") => void
  readonly tokens: (provider: string, tokens: Tokens) => void
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
    firstToken: (provider, seconds) => series(ttft, provider, { provider }).updateUnsafe(seconds, context),
    streamOpened: () => openStreams.updateUnsafe(++open, context),
    streamClosed: () => openStreams.updateUnsafe(--open, context),
    requestStarted: () => inFlight.updateUnsafe(++active, context),
    requestEnded: () => inFlight.updateUnsafe(--active, context),
    render: () => PrometheusMetrics.formatUnsafe(context)
  }
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

/** The retry budget's figures as Prometheus text (gauges over its window, the refusals since start). */
export const renderRetryBudget = (stats: {
  readonly requests: number
  readonly retries: number
  readonly available: number
  readonly denied: number
}): string =>
  family("conduit_gateway_retry_budget_requests", "gauge", "Requests counted in the retry budget's window", [
    ["", stats.requests]
  ]) +
  family("conduit_gateway_retry_budget_retries", "gauge", "Retries taken in the retry budget's window", [
    ["", stats.retries]
  ]) +
  family("conduit_gateway_retry_budget_available", "gauge", "Retries still allowed in the window", [
    ["", stats.available]
  ]) +
  family("conduit_gateway_retry_budget_denied_total", "counter", "Retries refused by the retry budget", [
    ["", stats.denied]
  ])
