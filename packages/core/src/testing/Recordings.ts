/**
 * Read access to the recorded provider traffic (the "recordings"): the one helper through which every test reads
 * the fixtures.
 *
 * The recordings are third-party data (real captures, documentation examples, other projects' test fixtures; see
 * `kimi/INDEX.md` and `glm/INDEX.md` inside the directory for provenance). They are read in place and never copied
 * into this repository. Where they are:
 * - `CONDUIT_RECORDINGS_DIR` when that variable is set (absolute, or relative to the working directory);
 * - otherwise `<repo root>/../shared/fixtures`, the repo root being the nearest directory holding
 *   `pnpm-workspace.yaml` above this module (or, failing that, above `process.cwd()`).
 *
 * Formats understood:
 * - `*.json`: one JSON document ({@link readJson});
 * - `*.chunks.txt` (vercel/ai's fixtures): one JSON chunk per line, the SSE framing stripped ({@link readChunks});
 * - `*.sse`, `*.sse.txt`: raw Server-Sent Events framing, decoded with core's own decoder ({@link readSse});
 * - `*.yaml` go-vcr cassettes (v1 and v2 layouts): request/response pairs ({@link readCassette}).
 *
 * Every reader takes a path relative to the recordings directory, with `/` separators (`"glm/fantasy/x.yaml"`), and
 * throws an `Error` naming the absolute path and `CONDUIT_RECORDINGS_DIR` when something is missing or malformed.
 * Reads are synchronous: these are small files read while tests are being collected.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as NodePath from "node:path"
import { fileURLToPath } from "node:url"
import * as Yaml from "yaml"
import * as Sse from "../Sse.js"
import { vitest } from "./internal/vitest.js"

/**
 * The environment variable that overrides where the recordings are.
 *
 * @since 0.1.0
 */
export const ENV_VAR = "CONDUIT_RECORDINGS_DIR"

const isDirectory = (path: string): boolean => {
  try {
    return Fs.statSync(path).isDirectory()
  } catch {
    return false
  }
}

const isFile = (path: string): boolean => {
  try {
    return Fs.statSync(path).isFile()
  } catch {
    return false
  }
}

const findWorkspaceRoot = (start: string): string | undefined => {
  let current = NodePath.resolve(start)
  for (;;) {
    if (isFile(NodePath.join(current, "pnpm-workspace.yaml"))) return current
    const parent = NodePath.dirname(current)
    if (parent === current) return undefined
    current = parent
  }
}

const moduleDirectory = (): string | undefined => {
  try {
    return NodePath.dirname(Fs.realpathSync(fileURLToPath(import.meta.url)))
  } catch {
    return undefined
  }
}

/** The directory that would be used, whether or not it exists, and how it was chosen (for error messages). */
const candidate = (): { readonly path: string | undefined; readonly how: string } => {
  const fromEnv = process.env[ENV_VAR]
  if (fromEnv !== undefined && fromEnv !== "") {
    return { path: NodePath.resolve(fromEnv), how: `${ENV_VAR}=${fromEnv}` }
  }
  const fromModule = moduleDirectory()
  const root =
    (fromModule === undefined ? undefined : findWorkspaceRoot(fromModule)) ?? findWorkspaceRoot(process.cwd())
  if (root === undefined) {
    return {
      path: undefined,
      how: `${ENV_VAR} is not set and no pnpm-workspace.yaml was found above ${fromModule ?? "this module"} or ${process.cwd()}`
    }
  }
  return {
    path: NodePath.resolve(root, "..", "shared", "fixtures"),
    how: `${ENV_VAR} is not set; default <repo root>/../shared/fixtures`
  }
}

/**
 * The absolute path of the recordings directory, or `undefined` when it does not exist.
 *
 * Recomputed on every call (a test may change `CONDUIT_RECORDINGS_DIR`); it costs a few `stat` calls.
 *
 * @since 0.1.0
 */
export const directory = (): string | undefined => {
  const { path } = candidate()
  return path !== undefined && isDirectory(path) ? path : undefined
}

/**
 * Whether the recordings directory exists.
 *
 * @since 0.1.0
 */
export const available = (): boolean => directory() !== undefined

/**
 * Why the recordings cannot be used (the path tried and how to point `CONDUIT_RECORDINGS_DIR` elsewhere), or
 * `undefined` when they are available. This is the text of every "recordings missing" error, warning and failure.
 *
 * @since 0.1.0
 */
export const missingReason = (): string | undefined => {
  const { how, path } = candidate()
  if (path !== undefined && isDirectory(path)) return undefined
  return path === undefined
    ? `Recordings not found: ${how}. Set ${ENV_VAR} to the directory holding kimi/ and glm/.`
    : `Recordings not found: ${path} is not a directory (${how}). Set ${ENV_VAR} to the directory holding kimi/ and glm/.`
}

/**
 * The recordings directory.
 *
 * @throws Error naming `CONDUIT_RECORDINGS_DIR` and the path tried, when the directory does not exist.
 * @since 0.1.0
 */
const requireDirectory = (): string => {
  const dir = directory()
  if (dir === undefined) throw new Error(missingReason())
  return dir
}

export { requireDirectory as require }

const isCi = (): boolean => {
  const ci = process.env.CI
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false"
}

/**
 * A vitest `describe` for suites that read the recordings.
 *
 * - Recordings present: `describe(name, body)`.
 * - Missing under CI (`CI` set to anything but `""`, `"0"` or `"false"`): the suite holds one failing test whose
 *   error says what is missing and how to point `CONDUIT_RECORDINGS_DIR` at it. CI never goes green without them.
 * - Missing elsewhere: `console.warn` naming what is missing, and the suite is registered skipped
 *   (`describe.skipIf(true)`, the one sanctioned skip in this repository) with a single placeholder test; `body` is
 *   not run, so it may read recordings while collecting tests.
 *
 * @since 0.1.0
 */
export const describeRecordings = (name: string, body: () => void): void => {
  const { describe, it } = vitest("Recordings.describeRecordings")
  const message = missingReason()
  if (message === undefined) {
    describe(name, body)
    return
  }
  if (isCi()) {
    describe(name, () => {
      it("has the recorded fixtures it needs", () => {
        throw new Error(`${message} (CI is set: a missing recording is a failure, not a skip)`)
      })
    })
    return
  }
  console.warn(`[conduit] skipping "${name}": ${message}`)
  describe.skipIf(true)(name, () => {
    it(`needs the recordings (${message})`, () => undefined)
  })
}

/**
 * The absolute path of a recorded file.
 *
 * @param relative path inside the recordings directory, `/`-separated (`"kimi/INDEX.md"`).
 * @throws Error when the recordings directory is missing, when `relative` leaves it, or when the file is missing.
 * @since 0.1.0
 */
export const path = (relative: string): string => {
  const dir = requireDirectory()
  const absolute = NodePath.resolve(dir, relative)
  const inside = NodePath.relative(dir, absolute)
  if (inside === "" || inside.startsWith("..") || NodePath.isAbsolute(inside)) {
    throw new Error(`Recording path "${relative}" is outside the recordings directory ${dir}`)
  }
  if (!isFile(absolute)) {
    throw new Error(`Recording not found: ${absolute} (relative "${relative}" in ${dir}; set ${ENV_VAR} to change)`)
  }
  return absolute
}

/**
 * The text of a recorded file (UTF-8).
 *
 * @throws Error as {@link path}.
 * @since 0.1.0
 */
export const readText = (relative: string): string => Fs.readFileSync(path(relative), "utf8")

/**
 * A recorded JSON document, parsed.
 *
 * @throws Error as {@link path}, or naming the file when it is not valid JSON.
 * @since 0.1.0
 */
export const readJson = (relative: string): unknown => {
  const text = readText(relative)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Error(`Recording ${relative} is not valid JSON: ${(error as Error).message}`)
  }
}

/**
 * The files under a directory of the recordings, recursively: paths relative to the recordings directory
 * (`/`-separated, ready for the readers), sorted by code unit.
 *
 * @param relativeDir a directory inside the recordings (`"glm/fantasy"`; `"."` for all).
 * @param filter when given, keeps the paths it matches (tested against the returned relative path).
 * @throws Error when the recordings or `relativeDir` are missing.
 * @since 0.1.0
 */
export const list = (relativeDir: string, filter?: RegExp): Array<string> => {
  const dir = requireDirectory()
  const start = NodePath.resolve(dir, relativeDir)
  const inside = NodePath.relative(dir, start)
  if (inside.startsWith("..") || NodePath.isAbsolute(inside)) {
    throw new Error(`Recording directory "${relativeDir}" is outside the recordings directory ${dir}`)
  }
  if (!isDirectory(start)) {
    throw new Error(`Recording directory not found: ${start} (relative "${relativeDir}" in ${dir})`)
  }
  const out: Array<string> = []
  const walk = (absolute: string): void => {
    for (const entry of Fs.readdirSync(absolute, { withFileTypes: true })) {
      const child = NodePath.join(absolute, entry.name)
      if (entry.isDirectory()) walk(child)
      else if (entry.isFile()) {
        const relative = NodePath.relative(dir, child).split(NodePath.sep).join("/")
        if (filter === undefined || filter.test(relative)) out.push(relative)
      }
    }
  }
  walk(start)
  return out.sort()
}

/**
 * A vercel/ai `*.chunks.txt` stream: one JSON chunk per line, parsed in order; blank lines are ignored.
 *
 * @throws Error as {@link path}, or naming the file and line of a chunk that is not valid JSON.
 * @since 0.1.0
 */
export const readChunks = (relative: string): Array<unknown> => {
  const out: Array<unknown> = []
  readText(relative)
    .split(/\r?\n/)
    .forEach((line, index) => {
      if (line.trim() === "") return
      try {
        out.push(JSON.parse(line))
      } catch (error) {
        throw new Error(`Recording ${relative}, line ${index + 1}, is not a JSON chunk: ${(error as Error).message}`)
      }
    })
  return out
}

/**
 * A raw SSE recording (`*.sse`, `*.sse.txt`): the `data` payload of each event, in order, `[DONE]` included when
 * present. Decoded by {@link Sse.decodeAll} with the SSE rules, so consecutive `data:` lines without a blank line
 * between them form ONE event whose payload joins them with `\n`.
 *
 * @throws Error as {@link path}.
 * @since 0.1.0
 */
export const readSse = (relative: string): Array<string> => Sse.decodeAll(readText(relative)).map((event) => event.data)

/**
 * One recorded HTTP request of a cassette.
 *
 * @since 0.1.0
 */
export interface CassetteRequest {
  readonly method: string
  readonly url: string
  /** Header name as recorded to value; several recorded values are joined with `", "`. */
  readonly headers: Record<string, string>
  /** The raw body (`""` when none was recorded). */
  readonly body: string
  /** The body parsed, when it is JSON. */
  readonly json: unknown | undefined
}

/**
 * One recorded HTTP response of a cassette.
 *
 * @since 0.1.0
 */
export interface CassetteResponse {
  /** HTTP status code (from go-vcr's `code`, else the number at the start of `status`). */
  readonly status: number
  /** Header name as recorded to value; several recorded values are joined with `", "`. */
  readonly headers: Record<string, string>
  /** The raw body (`""` when none was recorded). */
  readonly body: string
  /** The body parsed, when it is JSON (and not an event stream). */
  readonly json: unknown | undefined
  /** The `data` payloads of the events, in order (`[DONE]` included), when the body is an event stream. */
  readonly sse: Array<string> | undefined
}

/**
 * A go-vcr cassette: its request/response pairs in recorded order.
 *
 * @since 0.1.0
 */
export interface Cassette {
  readonly interactions: Array<{ readonly request: CassetteRequest; readonly response: CassetteResponse }>
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const headersOf = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {}
  if (!isRecord(value)) return out
  for (const [name, raw] of Object.entries(value)) {
    if (Array.isArray(raw)) out[name] = raw.map(String).join(", ")
    else if (raw !== undefined && raw !== null) out[name] = String(raw)
  }
  return out
}

const headerValue = (headers: Record<string, string>, name: string): string | undefined => {
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value
  return undefined
}

const parseJsonBody = (body: string): unknown | undefined => {
  const trimmed = body.trim()
  if (!(trimmed.startsWith("{") || trimmed.startsWith("["))) return undefined
  try {
    return JSON.parse(trimmed)
  } catch {
    return undefined
  }
}

const statusOf = (response: Record<string, unknown>, where: string): number => {
  if (typeof response.code === "number") return response.code
  if (typeof response.status === "number") return response.status
  if (isRecord(response.status) && typeof response.status.code === "number") return response.status.code
  const text = typeof response.status === "string" ? response.status : undefined
  const match = text === undefined ? null : /^\s*(\d{3})\b/.exec(text)
  if (match?.[1] !== undefined) return Number(match[1])
  throw new Error(`${where}: no HTTP status (neither "code" nor a numeric "status")`)
}

const bodyOf = (value: unknown): string => (typeof value === "string" ? value : value == null ? "" : String(value))

/**
 * A go-vcr YAML cassette (v1 `code`/`status` text, v2+ `proto`/`content_length` fields alike), normalized.
 *
 * The response is treated as an event stream when its `Content-Type` is `text/event-stream`, or, without that
 * header, when its body starts with an SSE field (`data:`, `event:`, `id:`, or a `:` comment).
 *
 * @throws Error as {@link path}, or naming the file and interaction when the YAML or its shape is not a cassette.
 * @since 0.1.0
 */
export const readCassette = (relative: string): Cassette => {
  let doc: unknown
  try {
    doc = Yaml.parse(readText(relative))
  } catch (error) {
    throw new Error(`Recording ${relative} is not valid YAML: ${(error as Error).message}`)
  }
  if (!isRecord(doc) || !Array.isArray(doc.interactions)) {
    throw new Error(`Recording ${relative} is not a go-vcr cassette (no "interactions" list)`)
  }
  const interactions = doc.interactions.map((raw, index) => {
    const where = `Recording ${relative}, interaction ${index}`
    if (!isRecord(raw) || !isRecord(raw.request) || !isRecord(raw.response)) {
      throw new Error(`${where}: expected "request" and "response" mappings`)
    }
    const req = raw.request
    const res = raw.response
    const requestBody = bodyOf(req.body)
    const responseHeaders = headersOf(res.headers)
    const responseBody = bodyOf(res.body)
    const contentType = headerValue(responseHeaders, "content-type")?.toLowerCase()
    const isStream =
      contentType !== undefined
        ? contentType.includes("text/event-stream")
        : /^(data|event|id):|^:/.test(responseBody.trimStart())
    const request: CassetteRequest = {
      method: typeof req.method === "string" ? req.method : "GET",
      url: typeof req.url === "string" ? req.url : "",
      headers: headersOf(req.headers),
      body: requestBody,
      json: parseJsonBody(requestBody)
    }
    const response: CassetteResponse = {
      status: statusOf(res, where),
      headers: responseHeaders,
      body: responseBody,
      json: isStream ? undefined : parseJsonBody(responseBody),
      sse: isStream ? Sse.decodeAll(responseBody).map((event) => event.data) : undefined
    }
    return { request, response }
  })
  return { interactions }
}
