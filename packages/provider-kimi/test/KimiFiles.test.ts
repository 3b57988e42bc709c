import * as Fs from "node:fs"
import * as Os from "node:os"
import * as NodePath from "node:path"
import { ProviderError } from "@conduitkit/core"
import { Recordings } from "@conduitkit/core/testing"
import { Effect, Exit, Schema } from "effect"
import { LanguageModel, Prompt } from "effect/ai"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiClient from "../src/KimiClient.js"
import * as KimiError from "../src/KimiError.js"
import * as KimiFiles from "../src/KimiFiles.js"
import { KimiMock } from "../src/testing/index.js"
import { describe as describeError, failureOf, modelLayer, runExit, successOf, testKey } from "./helpers.js"

const server = setupServer()
const dir = Fs.mkdtempSync(NodePath.join(Os.tmpdir(), "kimi-files-"))
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => {
  server.close()
  Fs.rmSync(dir, { recursive: true, force: true })
})

const write = (name: string, content: string) => {
  const path = NodePath.join(dir, name)
  Fs.writeFileSync(path, content)
  return path
}

const run = <A>(effect: Effect.Effect<A, unknown, KimiClient.KimiClient>) =>
  Effect.runPromiseExit(effect.pipe(Effect.provide(KimiClient.layer({ apiKey: testKey }))))

const mockWith = (options: KimiMock.Options = {}) => {
  const mock = KimiMock.make(options)
  server.use(...mock.handlers)
  return mock
}

describe("client-side checks before uploading", () => {
  it("resolves a relative path and accepts a regular file", async () => {
    const path = write("notes.txt", "hello")
    const relative = NodePath.relative(process.cwd(), path)
    const checked = successOf(await Effect.runPromiseExit(KimiFiles.checkPath(relative)))
    expect(checked).toEqual({ path, bytes: 5 })
  })

  const refusals: ReadonlyArray<readonly [string, () => string, number | undefined, RegExp]> = [
    ["a directory", () => dir, undefined, /is not a regular file/],
    ["a missing file", () => NodePath.join(dir, "missing.pdf"), undefined, /cannot read .*missing\.pdf/],
    ["an empty file", () => write("empty.txt", ""), undefined, /is empty/],
    [
      "a file above a configured limit",
      () => write("big.txt", "x".repeat(11)),
      10,
      /11 bytes, above the upload limit of 10 bytes/
    ],
    [
      "a file above the 100 MB default",
      () => {
        const path = NodePath.join(dir, "huge.bin")
        Fs.writeFileSync(path, "")
        Fs.truncateSync(path, KimiFiles.defaultMaxBytes + 1)
        return path
      },
      undefined,
      /104857601 bytes, above the upload limit of 104857600 bytes/
    ]
  ]
  for (const [name, path, maxBytes, refused] of refusals) {
    it(`refuses ${name}`, async () => {
      const error = failureOf(await Effect.runPromiseExit(KimiFiles.checkPath(path(), maxBytes)))
      expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", kind: "preflight" })
      expect(describeError(error).message).toMatch(refused)
    })
  }

  it("a file exactly at the limit is accepted", async () => {
    const path = write("ten.txt", "x".repeat(10))
    expect(Exit.isSuccess(await Effect.runPromiseExit(KimiFiles.checkPath(path, 10)))).toBe(true)
  })

  it("an upload refused client-side never reaches Moonshot", async () => {
    const mock = mockWith()
    const exit = await run(KimiFiles.upload({ path: write("too-big.txt", "12345"), maxBytes: 4 }))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(mock.recorder.count).toBe(0)
    const bytes = await run(KimiFiles.upload({ data: new Uint8Array(0), filename: "zero.txt" }))
    expect(describeError(failureOf(bytes)).message).toMatch(/zero\.txt is empty/)
  })
})

describe("the files API", () => {
  it("uploads, lists, retrieves, reads the extracted content and deletes", async () => {
    const mock = mockWith()
    const path = write("report.md", "# Q3\nRevenue grew.")
    const uploaded = successOf(await run(KimiFiles.upload({ path })))
    expect(uploaded).toMatchObject({
      object: "file",
      bytes: 18,
      filename: "report.md",
      purpose: "file-extract",
      status: "ok"
    })
    const upload = mock.recorder.calls[0]
    expect(upload?.headers["content-type"]).toMatch(/^multipart\/form-data/)
    expect(String(upload?.body)).toContain('name="purpose"')
    expect(upload?.headers.authorization).toBe(`Bearer ${testKey}`)

    expect(successOf(await run(KimiFiles.list())).map((file) => file.id)).toEqual([uploaded.id])
    expect(successOf(await run(KimiFiles.retrieve(uploaded.id))).filename).toBe("report.md")
    const extracted = successOf(await run(KimiFiles.content(uploaded.id)))
    expect(extracted.content?.content).toBe("# Q3\nRevenue grew.")
    expect(JSON.parse(extracted.raw)).toMatchObject({ filename: "report.md", type: "file" })
    expect(successOf(await run(KimiFiles.delete(uploaded.id)))).toMatchObject({ deleted: true, id: uploaded.id })
    const gone = failureOf(await run(KimiFiles.retrieve(uploaded.id)))
    expect(describeError(gone)).toMatchObject({ reason: "InvalidRequestError", status: 404 })
  })

  it("a failed upload names POST /files in the error and is not retried (the files rows of the table)", async () => {
    let calls = 0
    server.use(
      http.post("https://api.moonshot.ai/v1/files", () => {
        calls++
        return HttpResponse.json({ error: { type: "server_error", message: "extraction failed" } }, { status: 500 })
      })
    )
    const error = failureOf(await run(KimiFiles.upload({ data: new TextEncoder().encode("x"), filename: "x.txt" })))
    expect(describeError(error)).toMatchObject({ reason: "InternalProviderError", status: 500, retryable: false })
    expect(describeError(error).message).toContain("https://api.moonshot.ai/v1/files")
    expect(calls).toBe(1)
  })

  it("uploads images and videos by purpose, from bytes", async () => {
    mockWith()
    const image = successOf(
      await run(KimiFiles.upload({ data: new Uint8Array([137, 80, 78, 71]), filename: "pixel.png", purpose: "image" }))
    )
    expect(image).toMatchObject({ purpose: "image", bytes: 4, filename: "pixel.png" })
    const video = successOf(
      await run(KimiFiles.upload({ data: new Blob(["...."]), filename: "clip.mp4", purpose: "video" }))
    )
    expect(video.purpose).toBe("video")
  })

  it("a purpose Moonshot refuses comes back as an invalid request", async () => {
    mockWith()
    const error = failureOf(
      await run(KimiFiles.upload({ data: new Uint8Array([1]), filename: "a.bin", purpose: "fine-tune" }))
    )
    expect(describeError(error)).toMatchObject({ reason: "InvalidRequestError", status: 400 })
  })

  it("an extraction failure (500 extract task failed) is not retried", async () => {
    const mock = mockWith({ extractFailures: ["scan.pdf"] })
    const uploaded = successOf(await run(KimiFiles.upload({ data: new Uint8Array([1, 2, 3]), filename: "scan.pdf" })))
    const error = failureOf(await run(KimiFiles.content(uploaded.id)))
    expect(describeError(error)).toMatchObject({ reason: "InternalProviderError", status: 500, retryable: false })
    expect(mock.recorder.calls.filter((call) => call.url.endsWith("/content"))).toHaveLength(1)
  })

  it("extracted files become system messages; media are referenced as ms://<file_id>", async () => {
    const mock = mockWith()
    const uploaded = successOf(
      await run(KimiFiles.upload({ data: new TextEncoder().encode("Menu: noodles"), filename: "menu.txt" }))
    )
    const extracted = successOf(await run(KimiFiles.content(uploaded.id)))
    const prompt = Prompt.fromMessages([
      ...KimiFiles.toSystemMessages([extracted]),
      Prompt.systemMessage({ content: "Answer from the files." }),
      Prompt.userMessage({
        content: [
          Prompt.textPart({ text: "What is in the photo?" }),
          KimiFiles.mediaPart("cnhgqnucp7f5h7jfb3s0", "image/png")
        ]
      })
    ])
    successOf(await runExit(LanguageModel.generateText({ prompt }), modelLayer("kimi-k2.6")))
    const sent = mock.recorder.calls.at(-1)?.body as { messages: Array<{ role: string; content: unknown }> }
    expect(sent.messages[0]).toEqual({ role: "system", content: extracted.raw })
    expect(sent.messages[1]).toEqual({ role: "system", content: "Answer from the files." })
    expect(((sent.messages[2]?.content ?? []) as Array<unknown>)[1]).toEqual({
      type: "image_url",
      image_url: { url: "ms://cnhgqnucp7f5h7jfb3s0" }
    })
    expect(KimiFiles.toWireSystemMessages(["a", extracted])).toEqual([
      { role: "system", content: "a" },
      { role: "system", content: extracted.raw }
    ])
    expect(KimiFiles.wirePart("f1", "video")).toEqual({ type: "video_url", video_url: { url: "ms://f1" } })
  })
})

Recordings.describeRecordings("the recorded files data", () => {
  it("parses the recorded file-extract content", () => {
    const raw = Recordings.readText("kimi/other-repos/files-content-file-extract.json")
    const parsed = KimiFiles.parseContent("cnhgqnucp7f5h7jfb3s0", raw)
    const recorded = JSON.parse(raw) as { content: string; filename: string; file_type: string }
    expect(parsed.raw).toBe(raw)
    expect(parsed.content).toMatchObject({
      content: recorded.content,
      filename: recorded.filename,
      file_type: recorded.file_type
    })
    expect(KimiFiles.parseContent("x", "plain text").content).toBeUndefined()
  })

  it("decodes the recorded FileObject and classifies the recorded extraction failure", () => {
    const lines = Recordings.readText("kimi/other-repos/files-object-and-extract-error.txt").split("\n")
    const objectLine = lines.find((line) => line.startsWith("FileObject(")) ?? ""
    const fields = Object.fromEntries(
      [...objectLine.matchAll(/(\w+)=('([^']*)'|\d+)/g)].map((match) => [
        match[1],
        match[3] !== undefined ? match[3] : Number(match[2])
      ])
    )
    const decoded = Schema.decodeUnknownSync(KimiFiles.FileObject)(fields)
    expect(decoded).toMatchObject({ id: fields.id, bytes: fields.bytes, purpose: "file-extract", status: "ok" })
    const errorLine = lines.find((line) => line.includes("Error code: 500")) ?? ""
    const message = /'message': '([^']*)'/.exec(errorLine)?.[1]
    const type = /'type': '([^']*)'/.exec(errorLine)?.[1]
    const info = ProviderError.errorInfo({
      target: { provider: "kimi", method: "GET", url: "https://api.moonshot.cn/v1/files/x/content" },
      status: 500,
      headers: {},
      body: { error: { message, type } }
    })
    expect(KimiError.errorTable(info)).toEqual({ reason: "InternalProviderError", retryable: false })
  })
})
