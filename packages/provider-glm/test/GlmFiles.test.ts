/**
 * Files: the pure upload checks (purposes, extensions, sizes) and the API round trip against the mock.
 */
import { ProviderError } from "@conduitkit/core"
import { Effect, Exit, Layer } from "effect"
import type { AiError } from "effect/ai"
import { HttpResponse, http } from "msw"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import * as GlmFiles from "../src/GlmFiles.js"
import * as GlmMock from "../src/testing/GlmMock.js"

const MB = 1_024 * 1_024
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

describe("checkUpload", () => {
  it.each([
    ["a 10 MB PDF for file-extract", "report.pdf", 10 * MB, "file-extract", "global", undefined],
    ["a 51 MB PDF for file-extract", "report.pdf", 51 * MB, "file-extract", "global", "at most 52428800 bytes"],
    ["a 6 MB PNG for file-extract (5 MB image limit)", "scan.PNG", 6 * MB, "file-extract", "global", "at most 5242880"],
    ["a .txt for file-extract", "notes.txt", 100, "file-extract", "global", "accepts .pdf"],
    ["a 99 MB JSONL batch", "jobs.jsonl", 99 * MB, "batch", "global", undefined],
    ["a CSV batch", "jobs.csv", 10, "batch", "global", "accepts .jsonl"],
    ["a 50 MB agent file on Z.ai", "a.bin", 50 * MB, "agent", "global", undefined],
    ["a 50 MB agent file on BigModel", "a.bin", 50 * MB, "agent", "cn", "at most 20971520"],
    ["an empty file", "empty.pdf", 0, "file-extract", "global", "is empty"],
    ["an unknown purpose", "a.pdf", 10, "vision", "global", "unknown file purpose"]
  ] as const)("%s", (_name, filename, bytes, purpose, region, refusal) => {
    const result = GlmFiles.checkUpload({ filename, bytes, purpose, region })
    if (refusal === undefined) expect(result).toBeUndefined()
    else expect(result).toContain(refusal)
  })
})

describe("the files API", () => {
  const layer = GlmClient.layer({ apiKey: "test-key" })

  it("uploads (multipart), lists, reads and deletes a file", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const text = "这是一份测试文档。"
    const program = Effect.gen(function* () {
      const uploaded = yield* GlmFiles.upload({
        file: new TextEncoder().encode(text),
        filename: "doc.pdf",
        purpose: "file-extract"
      })
      const listed = yield* GlmFiles.list({ purpose: "file-extract" })
      const content = yield* GlmFiles.content(uploaded.id)
      const removed = yield* GlmFiles.remove(uploaded.id)
      const after = yield* GlmFiles.list()
      return { uploaded, listed, content, removed, after }
    })
    const result = await Effect.runPromise(program.pipe(Effect.provide(layer)))
    expect(result.uploaded).toMatchObject({ filename: "doc.pdf", purpose: "file-extract", object: "file" })
    expect(result.uploaded.bytes).toBe(new TextEncoder().encode(text).byteLength)
    expect(result.listed.data.map((file) => file.id)).toEqual([result.uploaded.id])
    expect(new TextDecoder().decode(result.content)).toBe(text)
    expect(result.removed).toEqual({ id: result.uploaded.id, deleted: true })
    expect(result.after.data).toEqual([])
    const upload = zai.recorder.calls.find((call) => call.method === "POST")
    expect(upload?.headers["content-type"]).toMatch(/^multipart\/form-data/)
    expect(zai.recorder.calls.find((call) => call.url.includes("?"))?.url).toContain("purpose=file-extract")
  })

  it("a failed upload names POST /files in the error", async () => {
    server.use(
      http.post("https://api.z.ai/api/paas/v4/files", () =>
        HttpResponse.json({ error: { code: "1214", message: "bad file" } }, { status: 400 })
      )
    )
    const exit = await Effect.runPromiseExit(
      GlmFiles.upload({ file: new Uint8Array([1]), filename: "doc.pdf", purpose: "file-extract" }).pipe(
        Effect.provide(layer)
      )
    )
    if (Exit.isSuccess(exit)) throw new Error("expected a failure")
    const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
    const error = reason?._tag === "Fail" ? (reason.error as AiError.AiError) : undefined
    expect(error && ProviderError.describe(error)).toMatchObject({ reason: "InvalidRequestError", status: 400 })
    expect(error && ProviderError.describe(error).message).toContain("https://api.z.ai/api/paas/v4/files")
    expect(error && ProviderError.describe(error).message).not.toContain("files.create")
  })

  it("refuses an oversized upload before sending", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const exit = await Effect.runPromiseExit(
      GlmFiles.upload({ file: new Uint8Array(21 * MB), filename: "big.bin", purpose: "code-interpreter" }).pipe(
        Effect.provide(layer)
      )
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/at most 20971520 bytes/)
    expect(zai.recorder.count).toBe(0)
  })

  it("uses BigModel's limits for a cn client", async () => {
    const zai = GlmMock.make({ baseURL: "https://open.bigmodel.cn/api/paas/v4" })
    server.use(...zai.handlers)
    const exit = await Effect.runPromiseExit(
      GlmFiles.upload({ file: new Uint8Array(21 * MB), filename: "a.bin", purpose: "agent" }).pipe(
        Effect.provide(Layer.fresh(GlmClient.layer({ apiKey: "test-key", region: "cn" })))
      )
    )
    expect(Exit.isFailure(exit)).toBe(true)
    expect(zai.recorder.count).toBe(0)
  })

  it("maps a missing file to the error table (no retry)", async () => {
    const zai = GlmMock.make()
    server.use(...zai.handlers)
    const exit = await Effect.runPromiseExit(GlmFiles.remove("file-404").pipe(Effect.provide(layer)))
    expect(Exit.isFailure(exit) && String(exit.cause)).toMatch(/InvalidRequestError/)
    expect(zai.recorder.count).toBe(1)
  })
})
