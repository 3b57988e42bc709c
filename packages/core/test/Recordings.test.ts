import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { afterEach, beforeEach, describe, expect, it } from "vitest"
import * as Recordings from "../src/testing/Recordings.js"

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

Recordings.describeRecordings("Recordings over the shared fixtures", () => {
  const cassettes = Recordings.list("glm/fantasy", /\.yaml$/)
  // glm/INDEX.md lists one table row per cassette: the directory must hold exactly those, all parseable.
  const indexed = Recordings.readText("glm/INDEX.md")
    .split("\n")
    .filter((line) => /^\| `[^`]+\.yaml` \|/.test(line))
    .map((line) => `glm/fantasy/${/`([^`]+\.yaml)`/.exec(line)?.[1]}`)
    .sort()

  it("lists exactly the cassettes glm/INDEX.md describes, as sorted relative paths", () => {
    expect(cassettes.length).toBeGreaterThan(0)
    expect(cassettes).toEqual(indexed)
  })

  it.each(cassettes)("parses %s", (file) => {
    const cassette = Recordings.readCassette(file)
    expect(cassette.interactions.length).toBeGreaterThanOrEqual(1)
    for (const { request, response } of cassette.interactions) {
      expect(request.method).toBe("POST")
      expect(request.url).toMatch(/^https:\/\/api\.z\.ai\/api\/.*\/chat\/completions$/)
      expect(request.headers["Content-Type"]).toBe("application/json")
      expect(isObject(request.json) && typeof request.json.model === "string").toBe(true)
      expect(response.status).toBe(200)
      if (response.sse !== undefined) {
        expect(response.json).toBeUndefined()
        expect(response.headers["Content-Type"]).toContain("text/event-stream")
        expect(response.sse.at(-1)).toBe("[DONE]")
        for (const data of response.sse.slice(0, -1)) expect(isObject(JSON.parse(data))).toBe(true)
      } else {
        expect(isObject(response.json) && Array.isArray(response.json.choices)).toBe(true)
      }
    }
  })

  it("reads both halves of a multi-turn cassette in recorded order", () => {
    const { interactions } = Recordings.readCassette("glm/fantasy/TestZAICommon__zai-glm-4.6__tool.yaml")
    expect(interactions).toHaveLength(2)
    const first = interactions[0]?.response.json as { choices: Array<{ finish_reason: string }> } | undefined
    expect(first?.choices[0]?.finish_reason).toBe("tool_calls")
    const second = interactions[1]?.request.json as { messages: Array<{ role: string }> } | undefined
    const messages = second?.messages ?? []
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"])
  })

  const chunkFiles = [...Recordings.list("kimi", /\.chunks\.txt$/), ...Recordings.list("glm", /\.chunks\.txt$/)]
  it.each(chunkFiles)("reads the JSON chunks of %s", (file) => {
    const chunks = Recordings.readChunks(file)
    expect(chunks.length).toBeGreaterThan(0)
    for (const chunk of chunks) expect(isObject(chunk)).toBe(true)
    // One chunk per non-blank line: nothing dropped, nothing merged.
    expect(chunks).toHaveLength(
      Recordings.readText(file)
        .split("\n")
        .filter((line) => line.trim() !== "").length
    )
  })

  // The z.ai docs printout lost its blank lines (and has a literal "..." line): by the SSE rules that is one event.
  const docPrintout = "glm/docs/zai_docs_streaming_example.sse"
  const sseFiles = [...Recordings.list("kimi", /\.sse(\.txt)?$/), ...Recordings.list("glm", /\.sse(\.txt)?$/)].filter(
    (file) => file !== docPrintout
  )
  it.each(sseFiles)("decodes the SSE events of %s", (file) => {
    const events = Recordings.readSse(file)
    expect(events.length).toBeGreaterThan(1)
    expect(events.at(-1)).toBe("[DONE]")
    for (const data of events.slice(0, -1)) expect(isJson(data)).toBe(true)
    expect(events.filter((data) => data === "[DONE]")).toHaveLength(1)
  })

  it("decodes a printout without blank lines as ONE multi-line event, as the SSE rules say", () => {
    const events = Recordings.readSse(docPrintout)
    expect(events).toHaveLength(1)
    const lines = events[0]?.split("\n") ?? []
    expect(lines.at(-1)).toBe("[DONE]")
    expect(lines.slice(0, -1).every(isJson)).toBe(true)
  })

  it("reads JSON documents and the absolute path of a recording", () => {
    const doc = Recordings.readJson("kimi/official-doc-examples/estimate-token-count-response-doc.json")
    expect(doc).toEqual({ data: { total_tokens: expect.any(Number) } })
    const absolute = Recordings.path("kimi/INDEX.md")
    expect(NodePath.isAbsolute(absolute)).toBe(true)
    expect(Fs.readFileSync(absolute, "utf8")).toBe(Recordings.readText("kimi/INDEX.md"))
  })

  it("fails clearly on a missing file, a path outside the recordings and a malformed document", () => {
    const dir = Recordings.require()
    expect(() => Recordings.readText("kimi/no-such-file.json")).toThrow(
      `Recording not found: ${NodePath.join(dir, "kimi", "no-such-file.json")}`
    )
    expect(() => Recordings.readText("kimi/no-such-file.json")).toThrow("CONDUIT_RECORDINGS_DIR")
    expect(() => Recordings.path("../main/package.json")).toThrow("outside the recordings directory")
    expect(() => Recordings.list("kimi/no-such-dir")).toThrow("Recording directory not found")
    expect(() => Recordings.readJson("kimi/INDEX.md")).toThrow("Recording kimi/INDEX.md is not valid JSON")
    expect(() => Recordings.readChunks("kimi/INDEX.md")).toThrow(
      /Recording kimi\/INDEX\.md, line 1, is not a JSON chunk/
    )
    expect(() => Recordings.readCassette("kimi/vercel-ai/moonshotai-usage-live.json")).toThrow(
      'is not a go-vcr cassette (no "interactions" list)'
    )
  })
})

describe("Recordings with CONDUIT_RECORDINGS_DIR", () => {
  const saved = process.env.CONDUIT_RECORDINGS_DIR
  let tmp: string

  beforeEach(() => {
    tmp = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "conduit-recordings-"))
  })
  afterEach(() => {
    if (saved === undefined) delete process.env.CONDUIT_RECORDINGS_DIR
    else process.env.CONDUIT_RECORDINGS_DIR = saved
    Fs.rmSync(tmp, { recursive: true, force: true })
  })

  const write = (relative: string, text: string): void => {
    Fs.mkdirSync(NodePath.dirname(NodePath.join(tmp, relative)), { recursive: true })
    Fs.writeFileSync(NodePath.join(tmp, relative), text)
  }

  it("reads every format from the directory the variable names", () => {
    write("a/doc.json", '{"ok":true}')
    write("a/b/stream.chunks.txt", '{"n":1}\n\n{"n":2}\n')
    write("a/stream.sse", 'data: {"n":1}\n\nevent: ping\ndata: {"n":2}\n\ndata: [DONE]\n')
    write(
      "a/v1.yaml",
      [
        "version: 1",
        "interactions:",
        "- request:",
        '    body: \'{"model":"m","messages":[]}\'',
        "    headers:",
        "      Content-Type:",
        "      - application/json",
        "      X-Many:",
        "      - one",
        "      - two",
        "    url: https://example.test/v1/chat/completions",
        "    method: POST",
        "  response:",
        '    body: \'{"error":{"code":"1211"}}\'',
        "    headers:",
        "      Content-Type:",
        "      - application/json",
        "    status: 404 Not Found",
        "- request:",
        '    body: ""',
        "    url: https://example.test/v1/models",
        "    method: GET",
        "  response:",
        "    body: |",
        '      data: {"n":1}',
        "",
        "      data: [DONE]",
        "    code: 200",
        ""
      ].join("\n")
    )
    process.env.CONDUIT_RECORDINGS_DIR = tmp

    expect(Recordings.directory()).toBe(NodePath.resolve(tmp))
    expect(Recordings.available()).toBe(true)
    expect(Recordings.missingReason()).toBeUndefined()
    expect(Recordings.require()).toBe(NodePath.resolve(tmp))
    expect(Recordings.list(".")).toEqual(["a/b/stream.chunks.txt", "a/doc.json", "a/stream.sse", "a/v1.yaml"])
    expect(Recordings.list("a", /\.json$/)).toEqual(["a/doc.json"])
    expect(Recordings.readJson("a/doc.json")).toEqual({ ok: true })
    expect(Recordings.readChunks("a/b/stream.chunks.txt")).toEqual([{ n: 1 }, { n: 2 }])
    expect(Recordings.readSse("a/stream.sse")).toEqual(['{"n":1}', '{"n":2}', "[DONE]"])

    const [notFound, stream] = Recordings.readCassette("a/v1.yaml").interactions
    expect(notFound?.request).toEqual({
      method: "POST",
      url: "https://example.test/v1/chat/completions",
      headers: { "Content-Type": "application/json", "X-Many": "one, two" },
      body: '{"model":"m","messages":[]}',
      json: { model: "m", messages: [] }
    })
    expect(notFound?.response).toEqual({
      status: 404,
      headers: { "Content-Type": "application/json" },
      body: '{"error":{"code":"1211"}}',
      json: { error: { code: "1211" } },
      sse: undefined
    })
    // No Content-Type recorded: an event stream is recognized by its body.
    expect(stream?.request.json).toBeUndefined()
    expect(stream?.response.status).toBe(200)
    expect(stream?.response.json).toBeUndefined()
    expect(stream?.response.sse).toEqual(['{"n":1}', "[DONE]"])
  })

  it("reports a missing directory with the variable and the path tried", () => {
    const missing = NodePath.join(tmp, "nowhere")
    process.env.CONDUIT_RECORDINGS_DIR = missing

    expect(Recordings.directory()).toBeUndefined()
    expect(Recordings.available()).toBe(false)
    expect(Recordings.missingReason()).toContain(missing)
    expect(() => Recordings.require()).toThrow(`Recordings not found: ${missing} is not a directory`)
    expect(() => Recordings.require()).toThrow("CONDUIT_RECORDINGS_DIR")
    expect(() => Recordings.readText("kimi/INDEX.md")).toThrow(missing)
  })
})
