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
 */
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
