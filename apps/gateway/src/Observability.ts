/**
 * Traces over OTLP/HTTP, on `effect/observability`'s `OtlpTracer` (Effect's own exporter: batching, retries,
 * flush on shutdown), configured by the standard OpenTelemetry variables. Nothing is installed when no endpoint is
 * set: Effect's HTTP server then makes no request span and core's `Tracing` no attempt span.
 *
 * | variable | default | meaning |
 * |---|---|---|
 * | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | none | the traces URL as is (e.g. `http://collector:4318/v1/traces`) |
 * | `OTEL_EXPORTER_OTLP_ENDPOINT` | none | the collector's base URL; traces go to `{endpoint}/v1/traces` |
 * | `OTEL_EXPORTER_OTLP_HEADERS` / `_TRACES_HEADERS` | none | `key=value,...` (URL-encoded values) sent with each export |
 * | `OTEL_EXPORTER_OTLP_PROTOCOL` / `_TRACES_PROTOCOL` | `http/protobuf` | or `http/json` (`grpc` is refused at start) |
 * | `OTEL_SERVICE_NAME` | `conduit-gateway` | the resource's `service.name` |
 * | `OTEL_RESOURCE_ATTRIBUTES` | none | more resource attributes (`key=value,...`) |
 * | `OTEL_TRACES_EXPORTER` | `otlp` | `none` turns exporting off |
 * | `OTEL_SDK_DISABLED` | `false` | `true` turns exporting off |
 * | `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION`, `OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT` | Effect's | batching, gzip, shutdown flush timeout |
 * | `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` | `parentbased_always_on` | which traces are exported: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` (the ratio from 0 to 1 in `_ARG`, default 1); see {@link sampled} |
 * | `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` | off | `true` (or `SPAN_ONLY`, `SPAN_AND_EVENT`): prompts and answers on the attempt spans |
 *
 * Spans of a request (names and attributes: core's `Tracing`, after the OpenTelemetry GenAI semantic conventions,
 * https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/):
 *
 * ```
 * POST /v1/chat/completions              server span (Effect's HTTP tracer; an incoming traceparent is its parent)
 *   conduit.session.admission            the wait for the session's and the global permits
 *   conduit.route.step                   one per step of a route with fallbacks (0: the target)
 *     LanguageModel.generateText         effect/ai's span, with the call's gen_ai.* totals and cost
 *       chat {model}                     one per upstream HTTP attempt; its traceparent goes upstream
 * ```
 *
 * The request span ends when the response has been written (for a stream: after its last chunk).
 */

import { Tracing } from "@conduitkit/core"
import { Config, ConfigProvider, Effect, Layer, type Option, Schema, Tracer } from "effect"
import { FetchHttpClient, HttpMiddleware, type HttpServerRequest } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"

/** Whether and how traces are exported (see the module's table). */
export interface TracingConfig {
  readonly protocol: "http/protobuf" | "http/json"
  readonly serviceName: string
  /** Prompts and answers are recorded on spans (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`). */
  readonly captureContent: boolean
  /** Which traces are exported (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`). */
  readonly sampler: Sampler
}

/**
 * A sampler of the OpenTelemetry SDK's environment (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/#general-sdk-configuration):
 * `ratio` of new traces are sampled (1: `always_on`, 0: `always_off`, else `traceidratio`'s argument); with
 * `parentBased`, a request whose incoming `traceparent` carries a sampled flag follows that flag instead.
 */
export interface Sampler {
  readonly parentBased: boolean
  /** From 0 to 1. */
  readonly ratio: number
}

const samplerNames = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio"
] as const

/**
 * The sampler of `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (pure): `parentbased_always_on` when unset; the
 * argument (a ratio from 0 to 1, default 1) counts only for the two `traceidratio` samplers.
 */
export const samplerOf = (name: (typeof samplerNames)[number] | undefined, arg: number | undefined): Sampler => {
  const chosen = name ?? "parentbased_always_on"
  const parentBased = chosen.startsWith("parentbased_")
  const ratio = chosen.endsWith("always_off") ? 0 : chosen.endsWith("traceidratio") ? (arg ?? 1) : 1
  return { parentBased, ratio }
}

/**
 * Whether a trace id falls under `ratio` (pure): its rightmost 56 bits (14 hex digits, the random part of a W3C
 * trace id, https://www.w3.org/TR/trace-context-2/#random-trace-id-flag) read as a fraction of 2^56, below `ratio`.
 * The same trace id gets the same answer in every service that samples this way.
 */
export const traceIdUnder = (traceId: string, ratio: number): boolean => {
  if (ratio >= 1) return true
  if (ratio <= 0) return false
  const random = traceId.padStart(32, "0").slice(-14)
  // 56 bits are more than a double holds exactly: compare as integers
  return /^[0-9a-f]{14}$/i.test(random) && BigInt(`0x${random}`) < BigInt(Math.floor(ratio * 2 ** 56))
}

/**
 * The sampling decision of a new span (pure; `undefined`: Effect's own, which a span with a parent in this process
 * takes from its parent, so a trace is exported whole or not at all). A span whose parent came in a `traceparent`
 * follows the parent's sampled flag with `parentBased`, else its trace id's ({@link traceIdUnder}); a span without a
 * parent is sampled when `random()` (from 0 to 1) falls under the ratio: its trace id is drawn by the tracer after
 * this decision, and is as random.
 */
export const sampled = (
  sampler: Sampler,
  parent: Option.Option<Tracer.AnySpan>,
  random: () => number
): boolean | undefined => {
  if (parent._tag === "Some") {
    const span = parent.value
    if (span._tag === "Span") return undefined
    return sampler.parentBased ? span.sampled : traceIdUnder(span.traceId, sampler.ratio)
  }
  return sampler.ratio >= 1 ? undefined : sampler.ratio > 0 && random() < sampler.ratio
}

/** `tracer` deciding each new span's sampling with `sampler` (see {@link sampled}). */
const withSampler = (tracer: Tracer.Tracer, sampler: Sampler): Tracer.Tracer =>
  Tracer.make({
    span: (options) => {
      const decision = sampled(sampler, options.parent, Math.random)
      return tracer.span(decision === undefined ? options : { ...options, sampled: decision && options.sampled })
    },
    ...(tracer.context !== undefined ? { context: tracer.context } : {})
  })

const optional = (name: string) => Config.option(Config.String(name))

/** `true`, `SPAN_ONLY`, `SPAN_AND_EVENT` (any case) capture content; anything else (`NO_CONTENT`, `false`) does not. */
export const capturesContent = (value: string | undefined): boolean =>
  value !== undefined && ["true", "span_only", "span_and_event", "event_only"].includes(value.trim().toLowerCase())

/**
 * Reads the tracing configuration: `undefined` (nothing installed) unless a traces endpoint is set, the SDK is not
 * disabled and `OTEL_TRACES_EXPORTER` (when set) names `otlp`. Fails with a `ConfigError` for a `grpc` protocol
 * (Effect's exporter speaks OTLP/HTTP) or an unknown one.
 */
export const config: Config.Config<TracingConfig | undefined> = Config.all({
  endpoint: optional("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  baseEndpoint: optional("OTEL_EXPORTER_OTLP_ENDPOINT"),
  disabled: Config.Boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  exporters: optional("OTEL_TRACES_EXPORTER"),
  protocol: Config.option(Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")),
  baseProtocol: Config.option(Config.Literals(["http/protobuf", "http/json"], "OTEL_EXPORTER_OTLP_PROTOCOL")),
  serviceName: optional("OTEL_SERVICE_NAME"),
  capture: optional("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"),
  // another sampler (`jaeger_remote`, `xray`, ...) or a ratio outside 0 to 1 fails at start, naming the variable
  sampler: Config.option(Config.Literals(samplerNames, "OTEL_TRACES_SAMPLER")),
  samplerArg: Config.option(
    Config.schema(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), "OTEL_TRACES_SAMPLER_ARG")
  )
}).pipe(
  Config.map((read): TracingConfig | undefined => {
    const value = <A>(option: { readonly _tag: "Some"; readonly value: A } | { readonly _tag: "None" }) =>
      option._tag === "Some" ? option.value : undefined
    const endpoint = value(read.endpoint) ?? value(read.baseEndpoint)
    const exporters = value(read.exporters)
    if (endpoint === undefined || endpoint.trim() === "" || read.disabled) return undefined
    if (exporters !== undefined && !exporters.split(",").some((name) => name.trim().toLowerCase() === "otlp")) {
      return undefined
    }
    return {
      protocol: value(read.protocol) ?? value(read.baseProtocol) ?? "http/protobuf",
      serviceName: value(read.serviceName) ?? "conduit-gateway",
      captureContent: capturesContent(value(read.capture)),
      sampler: samplerOf(value(read.sampler), value(read.samplerArg))
    }
  })
)

const routes = [
  "/v1/chat/completions",
  "/v1/messages",
  "/v1/messages/count_tokens",
  "/v1/embeddings",
  "/v1/models",
  "/healthz",
  "/readyz",
  "/metrics"
]

/**
 * The request span's name: `{method} {route}` for the gateway's routes (`/v1/models/{name}` for one model), the
 * method alone for any other path (HTTP semantic conventions: a low-cardinality name).
 */
export const spanName = (request: HttpServerRequest.HttpServerRequest): string => {
  const url = request.url
  const query = url.indexOf("?")
  const path = query === -1 ? url : url.slice(0, query)
  if (routes.includes(path)) return `${request.method} ${path}`
  if (path.startsWith("/v1/models/")) return `${request.method} /v1/models/{name}`
  return request.method
}

/** The OTLP protocol's serialization. */
const serialization = (protocol: TracingConfig["protocol"]) =>
  protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf

/**
 * The tracer, when `tracing` is set: Effect's `OtlpTracer.layerFromConfig` (it reads the endpoint, headers,
 * compression, batching and resource variables itself; `OTEL_TRACES_EXPORTER` defaults to `otlp` as the
 * OpenTelemetry SDK's does), the request span's name ({@link spanName}), and core's `Tracing.CaptureContent`.
 * `Layer.empty` otherwise. Spans still unsent are flushed when the layer's scope closes.
 */
export const layer = (tracing: TracingConfig | undefined): Layer.Layer<never> => {
  if (tracing === undefined) return Layer.empty
  const exporting = OtlpTracer.layerFromConfig({ resource: { serviceName: tracing.serviceName } }).pipe(
    Layer.provide(serialization(tracing.protocol)),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromEnvRecord({ OTEL_TRACES_EXPORTER: "otlp" })))
  )
  const { sampler } = tracing
  const tracer =
    sampler.parentBased && sampler.ratio >= 1
      ? exporting
      : Layer.effect(
          Tracer.Tracer,
          Effect.map(Effect.tracer, (otlp) => withSampler(otlp, sampler))
        ).pipe(Layer.provide(exporting))
  return Layer.mergeAll(
    tracer,
    Layer.succeed(HttpMiddleware.SpanNameGenerator, spanName),
    Layer.succeed(Tracing.CaptureContent, tracing.captureContent)
  ) as Layer.Layer<never>
}

/** The access log fields copied onto the request span when it ends, with their attribute names. */
const spanFields: ReadonlyArray<readonly [field: string, attribute: string]> = [
  ["key", "conduit.key.id"],
  ["model", "conduit.model"],
  ["stream", "conduit.streamed"],
  ["provider", "gen_ai.provider.name"],
  ["attempts", "conduit.attempts"],
  ["fallbacks", "conduit.fallbacks"],
  ["sessionId", "conduit.session.id"],
  ["cache", "conduit.cache"],
  ["idempotency", "conduit.idempotency"],
  ["error", "conduit.error.code"],
  ["inputTokens", "gen_ai.usage.input_tokens"],
  ["outputTokens", "gen_ai.usage.output_tokens"]
]

/**
 * A request's `done` (see `Engine.RequestInfo`) that first puts its request id and access log fields (key id, model,
 * provider, attempts, fallbacks, error code, tokens, cost; never a key or a body) on the request span: when the
 * request is reported, which for a stream is when it ends.
 */
export const reporting =
  (
    span: Tracer.Span,
    requestId: string,
    fields: Readonly<Record<string, unknown>>,
    report: (status: number) => Effect.Effect<void>
  ) =>
  (status: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      span.attribute("conduit.request.id", requestId)
      for (const [field, attribute] of spanFields) {
        const value = fields[field]
        if (value !== undefined) span.attribute(attribute, value)
      }
      // what the request cost upstream (`Cost.format`'s "0.0492 USD"; none for a cache hit or an unknown price)
      if (typeof fields.cost === "string") {
        const [amount, currency] = fields.cost.split(" ")
        span.attribute("conduit.cost.amount", Number(amount))
        span.attribute("conduit.cost.currency", currency)
      }
      return report(status)
    })
