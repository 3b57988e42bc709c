/**
 * The files API: upload (multipart, with purpose and size checks before sending), list, content, delete.
 *
 * Purposes and limits (sizes in bytes; `MB` = 1,024 × 1,024):
 *
 * | purpose | max size | extensions | source |
 * |---|---|---|---|
 * | `batch` | 100 MB | `.jsonl` | BM-DOCS 上传文件 |
 * | `file-extract` | 50 MB (images 5 MB) | pdf, docx, doc, xls, xlsx, ppt, pptx, png, jpg, jpeg, csv | BM-DOCS 上传文件 |
 * | `code-interpreter` | 20 MB | any | BM-DOCS 上传文件 |
 * | `agent` | 100 MB on Z.ai, 20 MB on BigModel (`region: "cn"`) | any | ZAI-OAS `/paas/v4/files`; BM-DOCS |
 * | `user_data` | no documented limit ("1T") | pptx, ppt, docx, doc, xlsx, xls, pdf | ZAI-OAS `/paas/v4/files` |
 * | `fine-tune` | 100 MB | `.jsonl` | ZAI-SDK-PY `file_create_params.py` |
 * | `retrieval` | 5 MB | doc, docx, pdf, xlsx (needs a `knowledge_id` form field) | ZAI-SDK-PY |
 * | `voice-clone-input` | UNCONFIRMED | mp3, wav | BM-DOCS 上传文件 |
 *
 * Page: https://docs.bigmodel.cn/api-reference/文件-api/上传文件. The server answers HTTP 435 for files over 100 MB
 * (mapped to `InvalidRequestError` by `GlmError`). The upload response is `{ id, object: "file", bytes, created_at,
 * filename, purpose }`.
 *
 * @since 0.1.0
 */
import { type OpenAiCompatProvider, ProviderError } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import { AiError } from "effect/ai"
import { GlmClient } from "./GlmClient.js"

const MB = 1_024 * 1_024

/**
 * A purpose's limits: `maxBytes` (`undefined`: none documented), `imageMaxBytes` for image files,
 * `extensions` (lower-case, with the dot; `undefined`: any).
 *
 * @since 0.1.0
 */
export interface PurposeRule {
  readonly maxBytes: number | undefined
  readonly imageMaxBytes?: number | undefined
  readonly extensions: ReadonlyArray<string> | undefined
}

/**
 * The purposes Zhipu documents.
 *
 * @since 0.1.0
 */
export type Purpose =
  | "batch"
  | "file-extract"
  | "code-interpreter"
  | "agent"
  | "user_data"
  | "fine-tune"
  | "retrieval"
  | "voice-clone-input"

const imageExtensions = [".png", ".jpg", ".jpeg"]

/**
 * The limits of each purpose for a region (see the module table).
 *
 * @since 0.1.0
 */
export const purposeRules = (region: "global" | "cn" = "global"): Readonly<Record<Purpose, PurposeRule>> => ({
  batch: { maxBytes: 100 * MB, extensions: [".jsonl"] },
  "file-extract": {
    maxBytes: 50 * MB,
    imageMaxBytes: 5 * MB,
    extensions: [".pdf", ".docx", ".doc", ".xls", ".xlsx", ".ppt", ".pptx", ".png", ".jpg", ".jpeg", ".csv"]
  },
  "code-interpreter": { maxBytes: 20 * MB, extensions: undefined },
  agent: { maxBytes: region === "cn" ? 20 * MB : 100 * MB, extensions: undefined },
  user_data: { maxBytes: undefined, extensions: [".pptx", ".ppt", ".docx", ".doc", ".xlsx", ".xls", ".pdf"] },
  "fine-tune": { maxBytes: 100 * MB, extensions: [".jsonl"] },
  retrieval: { maxBytes: 5 * MB, extensions: [".doc", ".docx", ".pdf", ".xlsx"] },
  "voice-clone-input": { maxBytes: undefined, extensions: [".mp3", ".wav"] }
})

const extensionOf = (filename: string): string => {
  const dot = filename.lastIndexOf(".")
  return dot < 0 ? "" : filename.slice(dot).toLowerCase()
}

/**
 * Checks an upload before sending (pure): the purpose is known, the extension is accepted, the size is within the
 * limit (the image limit for images). Returns the reason of a refusal, or `undefined` when the upload may be sent.
 *
 * @since 0.1.0
 */
export const checkUpload = (params: {
  readonly filename: string
  readonly bytes: number
  readonly purpose: string
  readonly region?: "global" | "cn" | undefined
}): string | undefined => {
  const rules = purposeRules(params.region) as Readonly<Record<string, PurposeRule>>
  const rule = rules[params.purpose]
  if (rule === undefined) {
    return `unknown file purpose "${params.purpose}" (expected one of ${Object.keys(rules).join(", ")})`
  }
  const extension = extensionOf(params.filename)
  if (rule.extensions !== undefined && !rule.extensions.includes(extension)) {
    return `purpose "${params.purpose}" accepts ${rule.extensions.join(", ")} files, not "${params.filename}"`
  }
  if (params.bytes === 0) return `"${params.filename}" is empty`
  const limit =
    rule.imageMaxBytes !== undefined && imageExtensions.includes(extension) ? rule.imageMaxBytes : rule.maxBytes
  if (limit !== undefined && params.bytes > limit) {
    return `"${params.filename}" is ${params.bytes} bytes; purpose "${params.purpose}" accepts at most ${limit} bytes (${limit / MB} MB)`
  }
  return undefined
}

/**
 * A file object: `id`, `bytes`, `created_at` (unix s), `filename`, `purpose`, `object` (`"file"`).
 *
 * @since 0.1.0
 */
export const FileObject = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.NullOr(Schema.String)),
  bytes: Schema.optional(Schema.NullOr(Schema.Number)),
  created_at: Schema.optional(Schema.NullOr(Schema.Number)),
  filename: Schema.optional(Schema.NullOr(Schema.String)),
  purpose: Schema.optional(Schema.NullOr(Schema.String))
})

/** @since 0.1.0 */
export type FileObject = typeof FileObject.Type

/**
 * A page of files: `data`, `has_more`.
 *
 * @since 0.1.0
 */
export const FileList = Schema.Struct({
  object: Schema.optional(Schema.NullOr(Schema.String)),
  data: Schema.Array(FileObject),
  has_more: Schema.optional(Schema.NullOr(Schema.Boolean))
})

/** @since 0.1.0 */
export type FileList = typeof FileList.Type

/**
 * The answer to a delete: `{ id, deleted }` (`deleted` defaults to true when the server omits it).
 *
 * @since 0.1.0
 */
export const Deleted = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  deleted: Schema.optional(Schema.NullOr(Schema.Boolean))
})

/**
 * An upload: the content (`Uint8Array` or `Blob`), its file name (the extension is checked), the purpose, and extra
 * form fields (e.g. `knowledge_id` for `retrieval`).
 *
 * @since 0.1.0
 */
export interface UploadRequest {
  readonly file: Uint8Array | Blob
  readonly filename: string
  readonly purpose: Purpose
  readonly fields?: Readonly<Record<string, string>> | undefined
}

// refusal-helper
const refuse = (description: string, method: string) =>
  ProviderError.invalidRequest({ provider: "glm", description, parameter: "file", module: "GlmFiles", method })

const regionOf = (client: OpenAiCompatProvider.ProviderClient): "global" | "cn" =>
  (client.options as { region?: unknown }).region === "cn" || client.options.baseURL.includes("bigmodel.cn")
    ? "cn"
    : "global"

const invalidBody = (method: string, error: Schema.SchemaError) =>
  AiError.make({
    module: "GlmFiles",
    method,
    reason: new AiError.InvalidResponseError({
      description: `the files API answered an unexpected body: ${error.message}`,
      metadata: { conduit: { kind: "invalid-response", provider: "glm" } }
    })
  })

/**
 * Uploads a file (`POST /files`, multipart). Fails with `InvalidRequestError` before sending when
 * {@link checkUpload} refuses it.
 *
 * @since 0.1.0
 */
export const upload = (
  request: UploadRequest
): Effect.Effect<FileObject, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.gen(function* () {
    const client = yield* GlmClient
    const size = request.file instanceof Blob ? request.file.size : request.file.byteLength
    const refusal = checkUpload({
      filename: request.filename,
      bytes: size,
      purpose: request.purpose,
      region: regionOf(client)
    })
    // refusal: glm/files-upload-limits
    if (refusal !== undefined) return yield* refuse(refusal, "upload")
    const file = new File([request.file as Blob], request.filename)
    const created = yield* client.use(
      "files.create",
      (sdk, { signal }) => sdk.files.create({ file, purpose: request.purpose, ...request.fields } as never, { signal }),
      "/files"
    )
    return yield* Schema.decodeUnknownEffect(FileObject)(created).pipe(
      Effect.mapError((error) => invalidBody("upload", error))
    )
  })

/**
 * Lists files (`GET /files`): optional `purpose`, `limit` (1–100), `after` (cursor), `order`.
 *
 * @since 0.1.0
 */
export const list = (
  query: {
    readonly purpose?: Purpose | undefined
    readonly limit?: number | undefined
    readonly after?: string | undefined
    readonly order?: string | undefined
  } = {}
): Effect.Effect<FileList, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) =>
    client
      .request({
        method: "get",
        path: "/files",
        query: Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined)),
        schema: FileList
      })
      .pipe(Effect.map((response) => response.body))
  )

/**
 * A file's content (`GET /files/{id}/content`), as bytes. For `file-extract` uploads this is the extracted text
 * (decode with `TextDecoder`); its exact shape is UNCONFIRMED.
 *
 * @since 0.1.0
 */
export const content = (id: string): Effect.Effect<Uint8Array, AiError.AiError, OpenAiCompatProvider.ProviderClient> =>
  Effect.flatMap(GlmClient, (client) =>
    client
      .request<Uint8Array>({
        method: "get",
        path: `/files/${encodeURIComponent(id)}/content`,
        headers: { accept: "application/binary" },
        responseType: "bytes"
      })
      .pipe(Effect.map((response) => response.body))
  )

/**
 * Deletes a file (`DELETE /files/{id}`). Returns whether the server reports it deleted.
 *
 * @since 0.1.0
 */
export const remove = (
  id: string
): Effect.Effect<
  { readonly id: string; readonly deleted: boolean },
  AiError.AiError,
  OpenAiCompatProvider.ProviderClient
> =>
  Effect.flatMap(GlmClient, (client) =>
    client
      .request({ method: "delete", path: `/files/${encodeURIComponent(id)}`, schema: Deleted })
      .pipe(Effect.map((response) => ({ id: response.body.id ?? id, deleted: response.body.deleted ?? true })))
  )
