/**
 * Every chat response and stream recorded in ../shared/fixtures/kimi, replayed through the Kimi provider (MSW serves
 * the recording in place, read through core's `Recordings` helper), with the expected text, reasoning, tool calls,
 * finish reason and usage computed from the recording itself by the small reference fold below
 * (docs/providers/kimi.md#streaming, #usage: deltas concatenated in order, tool-call fragments joined by `index` or
 * position, usage from whichever placement the recording uses, the last one seen winning; cached = `cached_tokens` else
 * `prompt_tokens_details.cached_tokens`; parts clamped to their whole).
 *
 * A manifest at the end accounts for every other recording (error bodies, cache objects, ...) and the test that
 * reads it, so a new chat recording cannot go unreplayed.
 */
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Exit, Schema } from "effect"
import { LanguageModel, Tool, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as KimiModels from "../src/KimiModels.js"
import * as KimiProvider from "../src/KimiProvider.js"
import { collectExit, failureOf, modelLayer, runExit, successOf, summarize } from "./helpers.js"

const baseURL = "https://replay.kimi.test/v1"

// Every catalogued model served (the recordings predate the retirements), so each replay names its own model.
const provider = KimiProvider.make({
  catalog: KimiModels.make(
    Object.fromEntries(KimiModels.models.map((model) => [model.id, { lifecycle: { status: "active" } }]))
  )
})

// biome-ignore lint/suspicious/noExplicitAny: recorded JSON is read loosely, the assertions check it
type Json = Record<string, any>

interface Expected {
  readonly model: string
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly params: unknown }>
  readonly finishReason: string | undefined
  readonly usage:
    | { readonly input: number; readonly output: number; readonly cached: number; readonly reasoning: number }
    | undefined
  readonly error: string | undefined
}

const usageOf = (usage: Json | null | undefined): Expected["usage"] => {
  if (usage === null || usage === undefined) return undefined
  const input = usage.prompt_tokens ?? 0
  const output = usage.completion_tokens ?? 0
  const cached = usage.cached_tokens ?? usage.prompt_tokens_details?.cached_tokens ?? 0
  const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? 0
  return { input, output, cached: Math.min(cached, input), reasoning: Math.min(reasoning, output) }
}

/** The reference fold of a non-stream body (or a bare choice, as in the moonshot-v1 tool-call doc example). */
const expectFromBody = (body: Json): Expected => {
  const choice = body.choices?.[0] ?? body
  const message = choice.message ?? {}
  return {
    model: body.model ?? "moonshot-v1-8k",
    text: message.content ?? "",
    reasoning: message.reasoning_content ?? "",
    toolCalls: (message.tool_calls ?? []).map((call: Json) => ({
      id: call.id,
      name: call.function.name,
      params: JSON.parse(call.function.arguments || "{}")
    })),
    finishReason: choice.finish_reason ?? undefined,
    usage: usageOf(body.usage ?? choice.usage),
    error: undefined
  }
}

/** The reference fold of a stream's chunks. */
const expectFromChunks = (chunks: ReadonlyArray<Json>): Expected => {
  let text = ""
  let reasoning = ""
  let finishReason: string | undefined
  let usage: Expected["usage"]
  let model = "moonshot-v1-8k"
  const calls: Array<{ key: number; id: string; name: string; args: string }> = []
  for (const chunk of chunks) {
    if (chunk.error !== undefined) {
      return { model, text, reasoning, toolCalls: [], finishReason, usage, error: chunk.error.message }
    }
    if (typeof chunk.model === "string") model = chunk.model
    const choice = (chunk.choices ?? []).find((c: Json) => (c.index ?? 0) === 0)
    usage = usageOf(chunk.usage) ?? usageOf(choice?.usage) ?? usage
    const delta = choice?.delta ?? {}
    reasoning += delta.reasoning_content ?? ""
    text += delta.content ?? ""
    for (const [position, fragment] of (delta.tool_calls ?? []).entries()) {
      const key = fragment.index ?? position
      const open = calls.find((call) => call.key === key && (fragment.id === undefined || fragment.id === call.id))
      if (open === undefined)
        calls.push({
          key,
          id: fragment.id,
          name: fragment.function?.name ?? "",
          args: fragment.function?.arguments ?? ""
        })
      else open.args += fragment.function?.arguments ?? ""
    }
    if (choice?.finish_reason) finishReason = choice.finish_reason
  }
  return {
    model,
    text,
    reasoning,
    toolCalls: calls.map((call) => ({ id: call.id, name: call.name, params: JSON.parse(call.args || "{}") })),
    finishReason,
    usage,
    error: undefined
  }
}

const finishReasons: Record<string, string> = { stop: "stop", length: "length", tool_calls: "tool-calls" }

const toolkitFor = (expected: Expected) =>
  Toolkit.make(
    ...[...new Set(expected.toolCalls.map((call) => call.name))].map((name) =>
      Tool.dynamic(name, { parameters: { type: "object", properties: {} } as never, success: Schema.Unknown })
    )
  )

const isStream = (path: string) => path.endsWith(".chunks.txt") || path.endsWith(".sse.txt")

const isChatBody = (value: unknown): value is Json =>
  typeof value === "object" &&
  value !== null &&
  (Array.isArray((value as Json).choices) ||
    ((value as Json).message !== undefined && "finish_reason" in (value as Json)))

/** The recordings that are chat responses or streams (by content, not by name). */
const chatRecordings = (): Array<string> =>
  Recordings.list("kimi").filter(
    (path) => isStream(path) || (path.endsWith(".json") && isChatBody(Recordings.readJson(path)))
  )

/** Stream recordings as chunk objects (`[DONE]` dropped; the replay re-frames them). */
const streamChunks = (path: string): Array<Json> =>
  path.endsWith(".chunks.txt")
    ? (Recordings.readChunks(path) as Array<Json>)
    : Recordings.readSse(path)
        .filter((data) => data !== "[DONE]")
        .map((data) => JSON.parse(data) as Json)

/**
 * Non-chat recordings and the test file that reads them.
 */
const otherRecordings: Record<string, string> = {
  "kimi/INDEX.md": "provenance only",
  "kimi/official-doc-examples/balance-response-doc.json": "KimiTokenizer.test.ts",
  "kimi/official-doc-examples/caching-create-response-doc.json": "KimiContextCache.test.ts",
  "kimi/official-doc-examples/caching-delete-response-doc.json": "KimiContextCache.test.ts",
  "kimi/official-doc-examples/caching-tag-delete-response-doc.json": "KimiContextCache.test.ts",
  "kimi/official-doc-examples/caching-tag-object-doc.json": "KimiContextCache.test.ts",
  "kimi/official-doc-examples/error-content-filter-doc.json": "KimiError.test.ts",
  "kimi/official-doc-examples/estimate-token-count-response-doc.json": "KimiTokenizer.test.ts",
  "kimi/official-doc-examples/legacy-error-404-url-not-found.json": "KimiError.test.ts",
  "kimi/official-doc-examples/models-list-legacy-shape.json": "KimiModels.test.ts",
  "kimi/other-repos/error-messages-from-issues.txt": "KimiError.test.ts",
  "kimi/other-repos/files-content-file-extract.json": "KimiFiles.test.ts",
  "kimi/other-repos/files-object-and-extract-error.txt": "KimiFiles.test.ts",
  "kimi/other-repos/live-errors-and-headers-2026-09.txt": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-error-live-message-only.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-error-without-code-live.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-issue-19544-rejected.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-k2.7-disabled-thinking-error.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-kimi-k3-temperature-rejection.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-required-tool-choice-error.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-unsupported-sampling-error.json": "KimiError.test.ts",
  "kimi/vercel-ai/errors/moonshotai-unsupported-svg-error.json": "KimiError.test.ts"
}

Recordings.describeRecordings("Kimi recordings replayed through the provider", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  const recordings = chatRecordings()

  it("accounts for every recording: chat ones are replayed below, the others are read by the named tests", () => {
    const all = Recordings.list("kimi")
    const others = all.filter((path) => !recordings.includes(path))
    expect(others.sort()).toEqual(Object.keys(otherRecordings).sort())
    expect(recordings.length).toBeGreaterThan(0)
  })

  describe.each(recordings.filter((path) => !isStream(path)))("non-stream %s", (path) => {
    it("gives the recorded text, reasoning, tool calls, finish reason and usage", async () => {
      const body = Recordings.readJson(path) as Json
      const expected = expectFromBody(body)
      const served = Array.isArray(body.choices) ? body : { id: "chatcmpl-doc", model: expected.model, choices: [body] }
      server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.json(served)))
      const exit = await runExit(
        LanguageModel.generateText({
          prompt: "Replay",
          toolkit: toolkitFor(expected),
          disableToolCallResolution: true
        }),
        modelLayer(expected.model, { baseURL, provider, config: { retry: { maxRetries: 0 } } })
      )
      const summary = summarize(successOf(exit).content)
      expect(summary.text).toBe(expected.text)
      expect(summary.reasoning).toBe(expected.reasoning)
      expect(summary.toolCalls.map(({ id, name, params }) => ({ id, name, params }))).toEqual(expected.toolCalls)
      expect(summary.metadata.rawFinishReason).toBe(expected.finishReason)
      if (expected.finishReason !== undefined) {
        const mapped = finishReasons[expected.finishReason]
        expect(summary.finishReason).toBe(mapped)
      }
      if (expected.usage !== undefined) {
        expect(summary.usage).toMatchObject({
          inputTokens: expected.usage.input,
          outputTokens: expected.usage.output,
          cachedInputTokens: expected.usage.cached,
          reasoningTokens: expected.usage.reasoning
        })
      }
      const lengthInReasoning = expected.finishReason === "length" && expected.text === "" && expected.reasoning !== ""
      expect(summary.metadata.lengthInReasoning === true).toBe(lengthInReasoning)
    })
  })

  describe.each(recordings.filter(isStream))("stream %s", (path) => {
    it("streams the recorded text, reasoning, tool calls, finish reason and usage (or fails with its error frame)", async () => {
      const chunks = streamChunks(path)
      const expected = expectFromChunks(chunks)
      server.use(MockUpstream.chatCompletions(baseURL, () => MockUpstream.sse(chunks)))
      const exit = await collectExit(
        LanguageModel.streamText({ prompt: "Replay", toolkit: toolkitFor(expected), disableToolCallResolution: true }),
        modelLayer(expected.model, { baseURL, provider }),
        { maxRetries: 0 }
      )
      if (expected.error !== undefined) {
        const error = failureOf(exit)
        expect(error.message).toContain(expected.error)
        return
      }
      expect(Exit.isSuccess(exit)).toBe(true)
      const summary = summarize(successOf(exit))
      expect(summary.text).toBe(expected.text)
      expect(summary.reasoning).toBe(expected.reasoning)
      expect(summary.toolCalls.map(({ id, name, params }) => ({ id, name, params }))).toEqual(expected.toolCalls)
      expect(summary.metadata.rawFinishReason).toBe(expected.finishReason)
      if (expected.finishReason !== undefined) expect(summary.finishReason).toBe(finishReasons[expected.finishReason])
      expect(summary.metadata.streamed).toBe(true)
      expect(summary.metadata.chunkCount).toBe(chunks.length)
      if (expected.usage !== undefined) {
        expect(summary.usage).toMatchObject({
          inputTokens: expected.usage.input,
          outputTokens: expected.usage.output,
          cachedInputTokens: expected.usage.cached,
          reasoningTokens: expected.usage.reasoning
        })
      }
    })
  })
})
