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
import { Config, ConfigProvider, Effect, Layer, type Tracer } from "effect"
import { FetchHttpClient, HttpMiddleware, type HttpServerRequest } from "effect/http"
import { OtlpSerialization, OtlpTracer } from "effect/observability"

/** Whether and how traces are exported (see the module's table). */
export interface TracingConfig {
  readonly protocol: "http/protobuf" | "http/json"
  readonly serviceName: string
  /** Prompts and answers are recorded on spans (`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`). */
  readonly captureContent: boolean
}

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
  capture: optional("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
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
      captureContent: capturesContent(value(read.capture))
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
  const tracer = OtlpTracer.layerFromConfig({ resource: { serviceName: tracing.serviceName } }).pipe(
    Layer.provide(serialization(tracing.protocol)),
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(ConfigProvider.layerAdd(ConfigProvider.fromEnvRecord({ OTEL_TRACES_EXPORTER: "otlp" })))
  )
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
