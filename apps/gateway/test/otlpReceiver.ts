/**
 * A loopback OTLP/HTTP trace receiver for tests: answers `POST /v1/traces` with 200 and keeps what arrived (the raw
 * request: path, headers, content type, body) and, for OTLP/JSON bodies, the decoded spans with their resource.
 * OTLP/JSON: https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding (ids as hex strings, `intValue` as a
 * number or a decimal string, span kinds as numbers: 1 internal, 2 server, 3 client).
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

/** An OTLP attribute value, decoded. */
export type Value = string | number | boolean | ReadonlyArray<Value> | undefined

/** One exported span, decoded. */
export interface Span {
  readonly name: string
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly kind: number
  readonly attributes: Record<string, Value>
  readonly events: ReadonlyArray<{ readonly name: string; readonly attributes: Record<string, Value> }>
  readonly status: { readonly code?: number } | undefined
  readonly resource: Record<string, Value>
}

/** One export request as it arrived. */
export interface Export {
  readonly path: string
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

type AnyValue = {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
  arrayValue?: { values?: Array<AnyValue> }
}

const decodeValue = (value: AnyValue | undefined): Value => {
  if (value === undefined) return undefined
  if (value.stringValue !== undefined) return value.stringValue
  if (value.intValue !== undefined) return Number(value.intValue)
  if (value.doubleValue !== undefined) return value.doubleValue
  if (value.boolValue !== undefined) return value.boolValue
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(decodeValue)
  return undefined
}

const decodeAttributes = (list: ReadonlyArray<{ key: string; value?: AnyValue }> | undefined) =>
  Object.fromEntries((list ?? []).map((entry) => [entry.key, decodeValue(entry.value)]))

/** The spans of an OTLP/JSON `ExportTraceServiceRequest`. */
export const decodeJson = (body: unknown): Array<Span> => {
  const out: Array<Span> = []
  const data = body as {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value?: AnyValue }> }
      scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }>
    }>
  }
  for (const resourceSpans of data.resourceSpans ?? []) {
    const resource = decodeAttributes(resourceSpans.resource?.attributes)
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        const parent = span.parentSpanId as string | undefined
        out.push({
          name: span.name as string,
          traceId: span.traceId as string,
          spanId: span.spanId as string,
          parentSpanId: parent === undefined || parent === "" ? undefined : parent,
          kind: span.kind as number,
          attributes: decodeAttributes(span.attributes as never),
          events: ((span.events as Array<{ name: string; attributes?: never }> | undefined) ?? []).map((event) => ({
            name: event.name,
            attributes: decodeAttributes(event.attributes)
          })),
          status: span.status as { code?: number } | undefined,
          resource
        })
      }
    }
  }
  return out
}

/** A running receiver. */
export interface Receiver {
  /** The collector's base URL (`OTEL_EXPORTER_OTLP_ENDPOINT`). */
  readonly url: string
  readonly exports: Array<Export>
  /** The decoded spans of every OTLP/JSON export so far. */
  readonly spans: () => Array<Span>
  readonly close: () => Promise<void>
}

/** Starts a receiver on 127.0.0.1 (an ephemeral port). */
export const start = async (): Promise<Receiver> => {
  const exports: Array<Export> = []
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      exports.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) })
      res.writeHead(200, { "content-type": "application/json" })
      res.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    exports,
    spans: () =>
      exports
        .filter((e) => e.headers["content-type"]?.startsWith("application/json"))
        .flatMap((e) => decodeJson(JSON.parse(e.body.toString("utf8")))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
