/**
 * Moonshot's files API (`/v1/files`, OpenAI-compatible paths): upload with client-side checks, list, retrieve,
 * extracted content, delete; and helpers to use files in prompts.
 *
 * - Purposes: `file-extract` (text extraction / OCR; its content is a JSON string to put in a system message),
 *   `image` and `video` (native visual understanding, referenced as `ms://<file_id>`; no content endpoint).
 * - Limits: 100 MB per file (checked before uploading; {@link defaultMaxBytes}, configurable), at most 1,000 files
 *   and 10 GB per user (enforced by Moonshot: 400 `invalid_request_error`); empty files are refused.
 * - Extracted files are used as extra `system` messages ({@link toSystemMessages}); referencing extracted text by
 *   file id in chat is not supported (use context caching instead).
 *
 * Every function requires a {@link KimiClient} and fails with an `AiError`: `InvalidRequestError`
 * (`conduit.kind = "preflight"`) for a path that is not a regular file, an empty file or one above the limit, the
 * error table's reasons for Moonshot's answers (a 500 `extract task failed` is not retried), and
 * `InvalidResponseError` for a body that does not decode.
 *
 * Sources: docs/providers/kimi.md#files ([DOC-EN-25] "Files", "Use the Kimi API for File-Based Q&A"; [DOC-CN-26] §4
 * 文件接口); fixtures `other-repos/files-content-file-extract.json`, `other-repos/files-object-and-extract-error.txt`.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { ProviderError } from "@conduitkit/core"
import { Effect, Schema } from "effect"
import { AiError, Prompt } from "effect/ai"
import { KimiClient } from "./KimiClient.js"

const Rest = [Schema.Record(Schema.String, Schema.Unknown)] as const
const opt = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * Upload purposes (docs/providers/kimi.md#files). Moonshot may accept others (e.g. `batch`); any string is passed
 * through.
 *
 * @since 0.1.0
 */
export type Purpose = "file-extract" | "image" | "video" | (string & {})

/**
 * A file object: `{ id, object: "file", bytes, created_at (unix s), filename, purpose, status: "ok" | "error",
 * status_details }` (`status: "error"` means extraction failed).
 *
 * @since 0.1.0
 */
export const FileObject = Schema.StructWithRest(
  Schema.Struct({
    id: Schema.String,
    object: opt(Schema.String),
    bytes: opt(Schema.Number),
    created_at: opt(Schema.Number),
    filename: opt(Schema.String),
    purpose: opt(Schema.String),
    status: opt(Schema.String),
    status_details: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type FileObject = typeof FileObject.Type

/**
 * `GET /v1/files`: `{ object?: "list", data: [FileObject] }`.
 *
 * @since 0.1.0
 */
export const FileList = Schema.StructWithRest(
  Schema.Struct({ object: opt(Schema.String), data: Schema.Array(FileObject) }),
  Rest
)

/** @since 0.1.0 */
export type FileList = typeof FileList.Type

/**
 * `DELETE /v1/files/{id}`: `{ id?, object?, deleted }`.
 *
 * @since 0.1.0
 */
export const Deleted = Schema.StructWithRest(
  Schema.Struct({ id: opt(Schema.String), object: opt(Schema.String), deleted: Schema.Boolean }),
  Rest
)

/** @since 0.1.0 */
export type Deleted = typeof Deleted.Type

/**
 * The extracted content of a `file-extract` file, as Moonshot returns it: a JSON document
 * `{ content, file_type, filename, title, type: "file" }` (fixture `other-repos/files-content-file-extract.json`).
 *
 * @since 0.1.0
 */
export const ExtractedContent = Schema.StructWithRest(
  Schema.Struct({
    content: Schema.String,
    file_type: opt(Schema.String),
    filename: opt(Schema.String),
    title: opt(Schema.String),
    type: opt(Schema.String)
  }),
  Rest
)

/** @since 0.1.0 */
export type ExtractedContent = typeof ExtractedContent.Type

/**
 * An extracted file: `raw` is the body exactly as returned (the text to place in a system message, per Moonshot's
 * docs), `content` the parsed document when it is one.
 *
 * @since 0.1.0
 */
export interface ExtractedFile {
  readonly fileId: string
  readonly raw: string
  readonly content: ExtractedContent | undefined
}

/**
 * The per-file limit, in bytes: 100 MB (Moonshot: "≤100 MB per file").
 *
 * @since 0.1.0
 */
export const defaultMaxBytes = 100 * 1024 * 1024

// refusal-helper
const refused = (description: string, parameter = "file") =>
  ProviderError.invalidRequest({ provider: "kimi", description, parameter, module: "KimiFiles", method: "upload" })

/**
 * What to upload: a file on disk (`path`, resolved against the working directory) or bytes / a `Blob` with a
 * `filename`.
 *
 * @since 0.1.0
 */
export type UploadSource =
  | { readonly path: string; readonly filename?: string | undefined }
  | { readonly data: Uint8Array | Blob; readonly filename: string }

/**
 * Options of {@link upload}: `purpose` (default `file-extract`) and `maxBytes` (default {@link defaultMaxBytes}).
 *
 * @since 0.1.0
 */
export type UploadOptions = UploadSource & {
  readonly purpose?: Purpose | undefined
  readonly maxBytes?: number | undefined
}

/**
 * Checks a path before uploading (resolved to an absolute path; must be a regular file of 1 to `maxBytes` bytes).
 * Returns the absolute path and the size in bytes.
 *
 * @since 0.1.0
 */
export const checkPath = (
  path: string,
  maxBytes: number = defaultMaxBytes
): Effect.Effect<{ readonly path: string; readonly bytes: number }, AiError.AiError> =>
  Effect.gen(function* () {
    const absolute = NodePath.resolve(path)
    const stat = yield* Effect.tryPromise({
      try: () => Fs.promises.stat(absolute),
      // refusal: kimi/files-local-read
      catch: (error) => refused(`cannot read ${absolute}: ${error instanceof Error ? error.message : String(error)}`)
    })
    // refusal: kimi/files-local-read
    if (!stat.isFile()) return yield* refused(`${absolute} is not a regular file`)
    return yield* checkSize(stat.size, maxBytes, absolute).pipe(Effect.as({ path: absolute, bytes: stat.size }))
  })

const checkSize = (bytes: number, maxBytes: number, what: string): Effect.Effect<void, AiError.AiError> =>
  bytes === 0
    ? // refusal: kimi/files-upload-limits
      Effect.fail(refused(`${what} is empty (Moonshot refuses files of size zero)`))
    : bytes > maxBytes
      ? // refusal: kimi/files-upload-limits
        Effect.fail(refused(`${what} is ${bytes} bytes, above the upload limit of ${maxBytes} bytes`))
      : Effect.void

const decodeWith =
  <A>(schema: Schema.Decoder<A>, method: string) =>
  (value: unknown): Effect.Effect<A, AiError.AiError> =>
    Schema.decodeUnknownEffect(schema)(value).pipe(
      Effect.mapError((error) =>
        AiError.make({
          module: "KimiFiles",
          method,
          reason: new AiError.InvalidResponseError({
            description: `the files API answered an unexpected body: ${error.message}`,
            metadata: { conduit: { kind: "invalid-response", provider: "kimi" } }
          })
        })
      )
    )

/**
 * Uploads a file (`POST /v1/files`, multipart), after the client-side checks. Files on disk are streamed from disk
 * (`fs.openAsBlob`), not read into memory first.
 *
 * @since 0.1.0
 */
export const upload = (options: UploadOptions): Effect.Effect<FileObject, AiError.AiError, KimiClient> =>
  Effect.gen(function* () {
    const client = yield* KimiClient
    const maxBytes = options.maxBytes ?? defaultMaxBytes
    let file: File
    if ("path" in options) {
      const checked = yield* checkPath(options.path, maxBytes)
      const blob = yield* Effect.tryPromise({
        try: () => Fs.openAsBlob(checked.path),
        catch: (error) =>
          // refusal: kimi/files-local-read
          refused(`cannot open ${checked.path}: ${error instanceof Error ? error.message : String(error)}`)
      })
      file = new File([blob], options.filename ?? NodePath.basename(checked.path))
    } else {
      const size = options.data instanceof Blob ? options.data.size : options.data.byteLength
      yield* checkSize(size, maxBytes, options.filename)
      file = new File([options.data], options.filename)
    }
    const purpose = options.purpose ?? "file-extract"
    const created = yield* client.use(
      "files",
      (sdk, { signal }) => sdk.files.create({ file, purpose: purpose as never }, { signal }),
      "/files"
    )
    return yield* decodeWith(FileObject, "upload")(created)
  })

/**
 * Lists the uploaded files (`GET /v1/files`).
 *
 * @since 0.1.0
 */
export const list = (): Effect.Effect<ReadonlyArray<FileObject>, AiError.AiError, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) =>
    Effect.map(client.request({ method: "get", path: "/files", schema: FileList }), ({ body }) => body.data)
  )

/**
 * One file's object (`GET /v1/files/{id}`).
 *
 * @since 0.1.0
 */
export const retrieve = (fileId: string): Effect.Effect<FileObject, AiError.AiError, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) =>
    Effect.map(
      client.request({ method: "get", path: `/files/${encodeURIComponent(fileId)}`, schema: FileObject }),
      ({ body }) => body
    )
  )

/**
 * Parses the body of `GET /v1/files/{id}/content` (pure): the JSON document when it is one.
 *
 * @since 0.1.0
 */
export const parseContent = (fileId: string, raw: string): ExtractedFile => {
  let content: ExtractedContent | undefined
  try {
    const exit = Schema.decodeUnknownExit(ExtractedContent)(JSON.parse(raw))
    content = exit._tag === "Success" ? exit.value : undefined
  } catch {
    content = undefined
  }
  return { fileId, raw, content }
}

/**
 * The extracted content of a `file-extract` file (`GET /v1/files/{id}/content`). Unavailable for `image` / `video`
 * files (Moonshot answers an error).
 *
 * @since 0.1.0
 */
export const content = (fileId: string): Effect.Effect<ExtractedFile, AiError.AiError, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) =>
    Effect.map(
      client.request<string>({
        method: "get",
        path: `/files/${encodeURIComponent(fileId)}/content`,
        responseType: "text"
      }),
      ({ body }) => parseContent(fileId, body)
    )
  )

/**
 * Deletes a file (`DELETE /v1/files/{id}`).
 *
 * @since 0.1.0
 */
export const remove = (fileId: string): Effect.Effect<Deleted, AiError.AiError, KimiClient> =>
  Effect.flatMap(Effect.service(KimiClient), (client) =>
    Effect.map(
      client.request({ method: "delete", path: `/files/${encodeURIComponent(fileId)}`, schema: Deleted }),
      ({ body }) => body
    )
  )

export {
  /**
   * Alias of {@link remove} (`delete` is a reserved word for a binding).
   *
   * @since 0.1.0
   */
  remove as delete
}

/**
 * Extracted files as `effect/ai` system messages, one per file, in order (put them before your own system prompt).
 * Each holds the raw extracted text as Moonshot's docs recommend.
 *
 * @since 0.1.0
 */
export const toSystemMessages = (files: ReadonlyArray<ExtractedFile | string>): Array<Prompt.SystemMessage> =>
  files.map((file) => Prompt.systemMessage({ content: typeof file === "string" ? file : file.raw }))

/**
 * Extracted files as wire (OpenAI-shaped) system messages, for the Promise face.
 *
 * @since 0.1.0
 */
export const toWireSystemMessages = (
  files: ReadonlyArray<ExtractedFile | string>
): Array<{ readonly role: "system"; readonly content: string }> =>
  files.map((file) => ({ role: "system", content: typeof file === "string" ? file : file.raw }))

/**
 * The `ms://<file_id>` reference of an uploaded `image` / `video` file.
 *
 * @since 0.1.0
 */
export const reference = (fileId: string): string => `ms://${fileId}`

/**
 * An uploaded image or video as an `effect/ai` file part (sent as `image_url` / `video_url` with the `ms://`
 * reference). `mediaType` decides which (`image/*` or `video/*`).
 *
 * @since 0.1.0
 */
export const mediaPart = (fileId: string, mediaType: string = "image/*"): Prompt.FilePart =>
  Prompt.filePart({ mediaType, data: new URL(reference(fileId)) })

/**
 * An uploaded image or video as a wire content part (`{ type: "image_url", image_url: { url: "ms://…" } }` or
 * `video_url`), for the Promise face.
 *
 * @since 0.1.0
 */
export const wirePart = (fileId: string, kind: "image" | "video" = "image"): Record<string, unknown> =>
  kind === "image"
    ? { type: "image_url", image_url: { url: reference(fileId) } }
    : { type: "video_url", video_url: { url: reference(fileId) } }
