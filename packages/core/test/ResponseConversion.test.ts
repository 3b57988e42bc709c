/**
 * The converters over every recorded response and stream in ../shared/fixtures (read in place through
 * `Recordings`). Expectations are derived from the recordings themselves by a deliberately naive reference fold
 * (concatenate every delta, merge tool fragments by index or position, take the last usage seen anywhere), so the
 * assembler is checked against the data rather than against hand-typed numbers; a few literal spot checks pin
 * values read from the files.
 */
import { Result, Schema } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as ResponseConversion from "../src/ResponseConversion.js"
import * as Sse from "../src/Sse.js"
import * as Recordings from "../src/testing/Recordings.js"
import * as Usage from "../src/Usage.js"

const decodeChunk = Schema.decodeUnknownSync(ChatCompletions.ChatCompletionChunk)
const decodeCompletion = Schema.decodeUnknownSync(ChatCompletions.ChatCompletion)

// biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
type Raw = Record<string, any>

/** The naive reference fold over raw chunk JSON. */
const reference = (chunks: ReadonlyArray<Raw>) => {
  let text = ""
  let reasoning = ""
  let usage: Raw | undefined
  let finish: string | undefined
  const calls: Array<{ id?: string; name: string; args: string }> = []
  const slots = new Map<number, number>()
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue
      if (choice.usage && !chunk.usage) usage = choice.usage
      if (choice.finish_reason) finish = choice.finish_reason
      const delta = choice.delta ?? {}
      text += delta.content ?? ""
      reasoning += delta.reasoning_content ?? delta.reasoning ?? ""
      ;(delta.tool_calls ?? []).forEach((fragment: Raw, position: number) => {
        const slot = fragment.index ?? position
        const existing = slots.get(slot)
        const at = existing === undefined || (fragment.id && calls[existing]!.id !== fragment.id) ? undefined : existing
        if (at === undefined) {
          calls.push({ id: fragment.id, name: fragment.function?.name ?? "", args: fragment.function?.arguments ?? "" })
          slots.set(slot, calls.length - 1)
        } else {
          const call = calls[at]!
          call.args += fragment.function?.arguments ?? ""
          if (!call.name && fragment.function?.name) call.name = fragment.function.name
        }
      })
    }
  }
  return { text, reasoning, usage, finish, calls }
}

const assemble = (chunks: ReadonlyArray<unknown>) => {
  const assembler = ResponseConversion.makeAssembler()
  const parts = chunks.flatMap((chunk) => assembler.push(decodeChunk(chunk)))
  const finished = assembler.finish()
  if (Result.isFailure(finished)) throw finished.failure
  return [...parts, ...finished.success]
}

// biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
const summarize = (parts: ReadonlyArray<any>) => ({
  text: parts
    .filter((p) => p.type === "text-delta")
    .map((p) => p.delta)
    .join(""),
  reasoning: parts
    .filter((p) => p.type === "reasoning-delta")
    .map((p) => p.delta)
    .join(""),
  calls: parts.filter((p) => p.type === "tool-call").map((p) => [p.name, p.params]),
  finish: parts.find((p) => p.type === "finish")
})

interface StreamRecording {
  readonly name: string
  readonly chunks: ReadonlyArray<Raw>
}

/**
 * Not replayed: glm/docs/zai_docs_streaming_example.sse is a documentation illustration, not a stream: its events
 * are not separated by blank lines and it contains a literal "..." line (glm/INDEX.md: "Illustrative").
 */
const illustrative = new Set(["glm/docs/zai_docs_streaming_example.sse"])

const streamRecordings = (): Array<StreamRecording> => {
  const out: Array<StreamRecording> = []
  for (const file of [...Recordings.list("kimi", /\.chunks\.txt$/), ...Recordings.list("", /\.sse(\.txt)?$/)]) {
    if (illustrative.has(file)) continue
    const chunks = file.endsWith(".chunks.txt")
      ? Recordings.readChunks(file)
      : Recordings.readSse(file)
          .filter((data) => data !== "[DONE]")
          .map((data) => JSON.parse(data))
    out.push({ name: file, chunks: chunks as Array<Raw> })
  }
  for (const file of Recordings.list("glm/fantasy", /\.yaml$/)) {
    for (const [index, interaction] of Recordings.readCassette(file).interactions.entries()) {
      if (interaction.response.sse === undefined) continue
      const chunks = interaction.response.sse.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data))
      out.push({ name: `${file}#${index}`, chunks })
    }
  }
  return out
}

Recordings.describeRecordings("ResponseConversion over the recorded streams", () => {
  const recordings = streamRecordings()

  it("finds the recorded streams", () => {
    expect(recordings.length).toBeGreaterThanOrEqual(25)
  })

  for (const recording of recordings) {
    it(`assembles ${recording.name} like the reference fold`, () => {
      const expected = reference(recording.chunks)
      const actual = summarize(assemble(recording.chunks))
      expect(actual.text).toBe(expected.text)
      expect(actual.reasoning).toBe(expected.reasoning)
      expect(actual.calls).toEqual(
        expected.calls.map((call) => [call.name, call.args.trim() === "" ? {} : JSON.parse(call.args)])
      )
      const usage = Usage.normalize(expected.usage)
      expect(actual.finish.usage).toEqual(Usage.toResponseUsage(usage))
      if (expected.finish !== undefined) expect(actual.finish.metadata.conduit.rawFinishReason).toBe(expected.finish)
    })
  }

  it("the same stream split into random pieces (down to 1 byte) gives identical parts", () => {
    const recording = recordings.find((r) => r.name.includes("moonshotai-usage-live"))!
    const framed = `${recording.chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join("")}data: [DONE]\n\n`
    const bytes = new TextEncoder().encode(framed)
    const expected = assemble(recording.chunks)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 400 }), (sizes) => {
        const decoder = Sse.makeDecoder()
        const events: Array<Sse.SseEvent> = []
        let offset = 0
        let i = 0
        while (offset < bytes.length) {
          const size = sizes[i++ % sizes.length]!
          events.push(...decoder.push(bytes.subarray(offset, offset + size)))
          offset += size
        }
        events.push(...decoder.end().events)
        const chunks = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data))
        expect(assemble(chunks)).toEqual(expected)
      }),
      { numRuns: 60 }
    )
  })

  it("byte-by-byte delivery of every recorded stream gives identical parts", () => {
    for (const recording of recordings) {
      const framed = `${recording.chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join("")}data: [DONE]\r\n\r\n`
      const bytes = new TextEncoder().encode(framed)
      const decoder = Sse.makeDecoder()
      const events: Array<Sse.SseEvent> = []
      for (let offset = 0; offset < bytes.length; offset++)
        events.push(...decoder.push(bytes.subarray(offset, offset + 1)))
      events.push(...decoder.end().events)
      const chunks = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data))
      expect(assemble(chunks)).toEqual(assemble(recording.chunks))
    }
  })

  it("spot check: kimi-k3 live usage (90 prompt, 90 cached, 50 completion, 33 reasoning)", () => {
    const parts = assemble(Recordings.readChunks("kimi/vercel-ai/moonshotai-usage-live.chunks.txt"))
    expect(summarize(parts).finish.usage).toEqual({
      inputTokens: { total: 90, uncached: 0, cacheRead: 90 },
      outputTokens: { total: 50, text: 17, reasoning: 33 }
    })
  })

  it("regression: usage only inside choices[0] of the finish chunk is read (kimi-k2.5 live)", () => {
    const parts = assemble(Recordings.readChunks("kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt"))
    expect(summarize(parts).finish.usage.inputTokens.total).toBe(12)
    expect(summarize(parts).finish.usage.outputTokens.reasoning).toBe(1)
  })

  it("regression: parallel tool calls without index keep their arguments apart", () => {
    const parts = assemble(
      Recordings.readChunks("kimi/vercel-ai/synthetic/moonshotai-stream-indexless-tool-calls.chunks.txt")
    )
    expect(summarize(parts).calls).toEqual([
      ["weather", { location: "San Francisco" }],
      ["time", { zone: "UTC" }]
    ])
  })
})

describe("ResponseConversion edge cases", () => {
  const chunk = (delta: Raw, finish: string | null = null) => ({
    id: "c1",
    choices: [{ index: 0, delta, finish_reason: finish }]
  })

  it("a whole tool call in one delta (Zhipu without tool_stream), then another in the next chunk", () => {
    const parts = assemble([
      chunk({
        tool_calls: [{ id: "call_a", index: 0, type: "function", function: { name: "add", arguments: '{"a":2}' } }]
      }),
      chunk({
        tool_calls: [{ id: "call_b", index: 1, type: "function", function: { name: "mul", arguments: '{"b":3}' } }]
      }),
      chunk({}, "tool_calls")
    ])
    expect(summarize(parts).calls).toEqual([
      ["add", { a: 2 }],
      ["mul", { b: 3 }]
    ])
    expect(summarize(parts).finish.reason).toBe("tool-calls")
  })

  it("ids missing on continuation fragments, arguments split mid-token, empty-argument start", () => {
    const parts = assemble([
      chunk({
        tool_calls: [{ index: 0, id: "call_-8223349338831929811", function: { name: "weather", arguments: "" } }]
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"loc' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ation":"Flo' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'rence"}' } }] }),
      chunk({}, "tool_calls")
    ])
    // biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
    const call = parts.find((p) => p.type === "tool-call") as any
    expect([call.id, call.params]).toEqual(["call_-8223349338831929811", { location: "Florence" }])
  })

  it("a missing or empty id gets a generated one", () => {
    const parts = assemble([
      chunk({ tool_calls: [{ index: 0, id: "", function: { name: "ping", arguments: "{}" } }] }),
      chunk({}, "tool_calls")
    ])
    // biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
    expect((parts.find((p) => p.type === "tool-call") as any).id).toMatch(/\S+/)
  })

  it("arguments that are not JSON are a typed ToolParameterValidationError carrying the raw text", () => {
    const assembler = ResponseConversion.makeAssembler()
    assembler.push(
      decodeChunk(chunk({ tool_calls: [{ index: 0, id: "x", function: { name: "f", arguments: '{"a":' } }] }))
    )
    assembler.push(decodeChunk(chunk({}, "length")))
    const finished = assembler.finish()
    expect(Result.isFailure(finished) && finished.failure.reason._tag).toBe("ToolParameterValidationError")
    expect(Result.isFailure(finished) && finished.failure.message).toContain('{"a":')
  })

  it("reasoning then text then reasoning gives separate blocks in order", () => {
    const parts = assemble([
      chunk({ reasoning_content: "think" }),
      chunk({ content: "say" }),
      chunk({ reasoning_content: "more" }),
      chunk({}, "stop")
    ])
    expect(parts.filter((p) => p.type.endsWith("-start")).map((p) => p.type)).toEqual([
      "reasoning-start",
      "text-start",
      "reasoning-start"
    ])
  })

  it("a length finish while still reasoning is reported as such", () => {
    const parts = assemble([chunk({ reasoning_content: "long thought" }), chunk({}, "length")])
    expect(summarize(parts).finish.metadata.conduit).toEqual({ rawFinishReason: "length", lengthInReasoning: true })
    expect(summarize(parts).finish.reason).toBe("length")
  })
})

Recordings.describeRecordings("ResponseConversion.fromCompletion over the recorded bodies", () => {
  const bodies = (): Array<[string, Raw]> => {
    const out: Array<[string, Raw]> = []
    for (const file of [...Recordings.list("kimi", /\.json$/), ...Recordings.list("glm", /\.json$/)]) {
      const json = Recordings.readJson(file) as Raw
      if (Array.isArray(json.choices) && json.choices[0]?.message) out.push([file, json])
    }
    for (const file of Recordings.list("glm/fantasy", /\.yaml$/)) {
      for (const [index, interaction] of Recordings.readCassette(file).interactions.entries()) {
        const json = interaction.response.json as Raw | undefined
        if (json && Array.isArray(json.choices)) out.push([`${file}#${index}`, json])
      }
    }
    return out
  }

  for (const [name, body] of bodies()) {
    it(`converts ${name}`, () => {
      const converted = ResponseConversion.fromCompletion(decodeCompletion(body))
      if (Result.isFailure(converted)) throw converted.failure
      // biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
      const parts = converted.success as Array<any>
      const message = body.choices[0].message
      expect(
        parts
          .filter((p) => p.type === "text")
          .map((p) => p.text)
          .join("")
      ).toBe(message.content ?? "")
      expect(
        parts
          .filter((p) => p.type === "reasoning")
          .map((p) => p.text)
          .join("")
      ).toBe(message.reasoning_content ?? message.reasoning ?? "")
      expect(parts.filter((p) => p.type === "tool-call").map((p) => [p.id, p.name, p.params])).toEqual(
        (message.tool_calls ?? []).map((call: Raw) => [
          call.id,
          call.function.name,
          typeof call.function.arguments === "string"
            ? JSON.parse(call.function.arguments || "{}")
            : call.function.arguments
        ])
      )
      const finish = parts.find((p) => p.type === "finish")
      expect(finish.usage).toEqual(Usage.toResponseUsage(Usage.normalize(body.usage ?? body.choices[0].usage)))
    })
  }

  it("regression (vercel/ai#19311): reasoning tokens above completion tokens are clamped", () => {
    const body = decodeCompletion(Recordings.readJson("kimi/vercel-ai/issue-19311-kimi-k3-negative-usage.json"))
    const usage = Usage.fromCompletion(body)!
    expect(usage.reasoningTokens).toBeLessThanOrEqual(usage.outputTokens)
    expect(Usage.toResponseUsage(usage).outputTokens.text).toBeGreaterThanOrEqual(0)
  })

  it("a length finish inside reasoning is reported as such (kimi-k2.6 live)", () => {
    const converted = ResponseConversion.fromCompletion(
      decodeCompletion(Recordings.readJson("kimi/vercel-ai/moonshotai-k2.6-tool-choice-omitted.json"))
    )
    if (Result.isFailure(converted)) throw converted.failure
    // biome-ignore lint/suspicious/noExplicitAny: recorded and converted JSON is read loosely; the assertions check it
    const finish = converted.success.find((p) => p.type === "finish") as any
    expect(finish.reason).toBe("length")
    expect(finish.metadata.conduit.lengthInReasoning).toBe(true)
  })
})
