/**
 * Every answer the gateway tests receive, checked against OpenAI's published schema (the extract in
 * ../shared/reference/openai-openapi-chat.json: OpenAI's openapi.json, MIT) with ajv.
 *
 * The tests' `realFetch` (support.ts) and the raw-socket helper record each exchange here; test/setup.ts validates
 * them after every test file and fails the file when one does not match:
 *
 * | request | answer | schema |
 * |---|---|---|
 * | `POST /v1/chat/completions` | 200 JSON | `CreateChatCompletionResponse` |
 * | `POST /v1/chat/completions` | 200 SSE | each `data:` frame but `[DONE]`: `CreateChatCompletionStreamResponse`, or `ErrorResponse` when it carries `error` |
 * | `GET /v1/models` | 200 | `ListModelsResponse` |
 * | `GET /v1/models/{name}` | 200 | `Model` |
 * | `POST /v1/embeddings` | 200 | `CreateEmbeddingResponse` (base64 vectors decoded to floats first) |
 * | any `/v1/...` | 4xx / 5xx JSON | `ErrorResponse` |
 *
 * Other routes (`/healthz`, `/metrics`, the Anthropic front door) are not OpenAI's and are not checked.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js"

const schemaPath = fileURLToPath(new URL("../../../../shared/reference/openai-openapi-chat.json", import.meta.url))

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null

/**
 * OpenAPI 3.0's `nullable: true` (some schemas of the extract still use it) as JSON Schema: the type list gains
 * `"null"`. Everything else is kept; `$ref`s are rewritten to the `$defs` of the combined schema.
 */
const toJsonSchema = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(toJsonSchema)
  if (!isObject(node)) return node
  const out: Json = {}
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string") out.$ref = value.replace("#/components/schemas/", "#/$defs/")
    else if (key !== "nullable") out[key] = toJsonSchema(value)
  }
  if (node.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"]
    else if (out.type === undefined) return { anyOf: [out, { type: "null" }] }
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null]
  }
  return out
}

/** The schema names answers are checked against. */
export type SchemaName =
  | "CreateChatCompletionResponse"
  | "CreateChatCompletionStreamResponse"
  | "ErrorResponse"
  | "ListModelsResponse"
  | "Model"
  | "CreateEmbeddingResponse"

let validators: Map<SchemaName, ValidateFunction> | undefined

const validatorsOf = (): Map<SchemaName, ValidateFunction> => {
  if (validators !== undefined) return validators
  const document = JSON.parse(readFileSync(schemaPath, "utf8")) as { components: { schemas: Json } }
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true })
  ajv.addSchema({ $id: "openai", $defs: toJsonSchema(document.components.schemas) })
  const names: ReadonlyArray<SchemaName> = [
    "CreateChatCompletionResponse",
    "CreateChatCompletionStreamResponse",
    "ErrorResponse",
    "ListModelsResponse",
    "Model",
    "CreateEmbeddingResponse"
  ]
  validators = new Map(names.map((name) => [name, ajv.compile({ $ref: `openai#/$defs/${name}` })]))
  return validators
}

/** The schema problems of `value` as `name` (empty when it validates). */
export const problems = (name: SchemaName, value: unknown): ReadonlyArray<string> => {
  const validate = validatorsOf().get(name)!
  if (validate(value)) return []
  return (validate.errors ?? []).map((error) => `${error.instancePath || "/"} ${error.message ?? "is invalid"}`)
}

/** One answer the gateway gave, as a client read it. */
export interface Exchange {
  readonly method: string
  readonly path: string
  readonly status: number
  readonly contentType: string
  readonly body: string
}

/**
 * An embeddings answer with its base64 vectors (`encoding_format: "base64"`, little-endian float32, what the `openai`
 * SDK asks for by default) decoded to the float arrays the schema describes: OpenAI's schema only has the float form.
 */
const decodedEmbeddings = (value: unknown): unknown => {
  if (!isObject(value) || !Array.isArray(value.data)) return value
  return {
    ...value,
    data: value.data.map((item: unknown) => {
      if (!isObject(item) || typeof item.embedding !== "string") return item
      const bytes = new Uint8Array(Buffer.from(item.embedding, "base64")) // a copy: aligned, at offset 0
      const floats = new Float32Array(bytes.buffer, 0, Math.floor(bytes.byteLength / 4))
      return { ...item, embedding: Array.from(floats) }
    })
  }
}

/** The schema each `data:` frame (or the whole JSON body) of an exchange must match, with the value to check. */
export const documentsOf = (
  exchange: Exchange
): ReadonlyArray<{ readonly schema: SchemaName; readonly value: unknown }> => {
  const path = exchange.path.split("?")[0] ?? ""
  if (!path.startsWith("/v1/") || path.startsWith("/v1/messages")) return []
  if (exchange.contentType.includes("text/event-stream")) {
    return exchange.body
      .split("\n\n")
      .flatMap((block) => {
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n")
        return data === "" || data === "[DONE]" ? [] : [data]
      })
      .map((data) => {
        const value = JSON.parse(data) as unknown
        return {
          schema: isObject(value) && "error" in value ? "ErrorResponse" : "CreateChatCompletionStreamResponse",
          value
        } as const
      })
  }
  if (!exchange.contentType.includes("application/json")) return []
  const value = JSON.parse(exchange.body) as unknown
  if (exchange.status >= 400) return [{ schema: "ErrorResponse", value }]
  if (exchange.method === "POST" && path === "/v1/chat/completions") {
    return [{ schema: "CreateChatCompletionResponse", value }]
  }
  if (exchange.method === "GET" && path === "/v1/models") return [{ schema: "ListModelsResponse", value }]
  if (exchange.method === "GET" && path.startsWith("/v1/models/")) return [{ schema: "Model", value }]
  if (exchange.method === "POST" && path === "/v1/embeddings") {
    return [{ schema: "CreateEmbeddingResponse", value: decodedEmbeddings(value) }]
  }
  return []
}

const recorded: Array<Promise<Exchange | undefined>> = []

/** Records an exchange read by a test (one that fails, e.g. an aborted stream, is skipped). */
export const record = (exchange: Promise<Exchange | undefined>): void => {
  recorded.push(exchange.catch(() => undefined))
}

/**
 * A `fetch` that records every answer before returning it. The body is passed through as the caller reads it (no
 * clone, which would read ahead and defeat backpressure); the exchange is recorded once the caller read it to its end.
 */
export const recording =
  (fetch: typeof globalThis.fetch): typeof globalThis.fetch =>
  async (input, init) => {
    const response = await fetch(input, init)
    if (response.body === null) return response
    const url = new URL(input instanceof Request ? input.url : String(input))
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase()
    const decoder = new TextDecoder()
    let text = ""
    let settle: (body: string) => void = () => {}
    const read = new Promise<string>((resolve) => {
      settle = resolve
    })
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          text += decoder.decode(chunk, { stream: true })
          controller.enqueue(chunk)
        },
        flush: () => settle(text + decoder.decode())
      })
    )
    record(
      read.then((body) => ({
        method,
        path: url.pathname + url.search,
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        body
      }))
    )
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }

/**
 * Validates every exchange recorded so far and forgets them. Returns one line per problem (with the exchange and
 * the frame), and how many documents were checked. Bodies not read to their end within `waitMs` (a test that
 * stopped reading, an aborted stream) are skipped.
 */
export const validateRecorded = async (
  waitMs = 1_000
): Promise<{ readonly checked: number; readonly failures: ReadonlyArray<string> }> => {
  const pending = recorded.splice(0)
  const timeout = new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), waitMs).unref())
  const exchanges = await Promise.all(pending.map((exchange) => Promise.race([exchange, timeout])))
  let checked = 0
  const failures: Array<string> = []
  for (const exchange of exchanges) {
    if (exchange === undefined) continue
    for (const document of documentsOf(exchange)) {
      checked++
      for (const problem of problems(document.schema, document.value)) {
        failures.push(
          `${exchange.method} ${exchange.path} ${exchange.status} as ${document.schema}: ${problem} in ${JSON.stringify(document.value).slice(0, 300)}`
        )
      }
    }
  }
  return { checked, failures }
}
