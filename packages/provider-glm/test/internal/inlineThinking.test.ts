/**
 * Reasoning inline in `content` (docs/providers/glm.md#inline-thinking): `<think>…</think>` on the glm-z1 models (and
 * GLM-4.5V), GLM-4.5V's `<|begin_of_box|>…<|end_of_box|>` markers. The splitter is pure and chunking-independent; the
 * models whose catalog entry says so get reasoning parts, streamed or not; other models' content is left alone.
 */
import { RetryPolicy } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect, Exit, Layer, Stream } from "effect"
import { LanguageModel, type Response } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as GlmClient from "../../src/GlmClient.js"
import * as GlmLanguageModel from "../../src/GlmLanguageModel.js"
import * as GlmModels from "../../src/GlmModels.js"
import * as GlmProvider from "../../src/GlmProvider.js"
import * as InlineThinking from "../../src/internal/inlineThinking.js"
import * as GlmScenarios from "../../src/testing/GlmScenarios.js"

const baseURL = "https://api.z.ai/api/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const think = { think: true, box: false }
const thinkAndBox = { think: true, box: true }

const reasoning = "The user asks for 2+2. <b>Simple</b> arithmetic: 4."
const answer = "\n\n2 + 2 = 4. a < b, and <thin is not a tag."
const z1Content = `<think>${reasoning}</think>${answer}`
const visionContent = `<think>I see a cat.</think>\n<|begin_of_box|>A cat<|end_of_box|>`

/** The pieces a sequence of deltas gives, merged by kind. */
const viaPush = (deltas: ReadonlyArray<string>, options: InlineThinking.InlineOptions) => {
  let state = InlineThinking.initial
  const all: Array<InlineThinking.Piece> = []
  for (const delta of deltas) {
    const [next, pieces] = InlineThinking.push(state, delta, options)
    state = next
    all.push(...pieces)
  }
  all.push(...InlineThinking.end(state))
  return merge(all)
}

const merge = (pieces: ReadonlyArray<InlineThinking.Piece>) => {
  const out: Array<InlineThinking.Piece> = []
  for (const piece of pieces) {
    const last = out[out.length - 1]
    if (last !== undefined && last.kind === piece.kind)
      out[out.length - 1] = { kind: piece.kind, text: last.text + piece.text }
    else if (piece.text !== "") out.push(piece)
  }
  return out
}

/** A deterministic PRNG (mulberry32), so a failing chunking can be reproduced. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const randomChunking = (text: string, random: () => number): Array<string> => {
  const out: Array<string> = []
  let at = 0
  while (at < text.length) {
    const size = 1 + Math.floor(random() * 12)
    out.push(text.slice(at, at + size))
    at += size
  }
  return out
}

describe("inline <think> splitter (pure)", () => {
  it("inline <think> reasoning: <think>…</think> becomes reasoning, the rest text, tags dropped", () => {
    expect(InlineThinking.split(z1Content, think)).toEqual([
      { kind: "reasoning", text: reasoning },
      { kind: "text", text: answer }
    ])
  })

  it("inline <think> reasoning: box markers are kept verbatim unless the model has them", () => {
    expect(InlineThinking.split("<|begin_of_box|>x<|end_of_box|>", think)).toEqual([
      { kind: "text", text: "<|begin_of_box|>x<|end_of_box|>" }
    ])
  })

  it("glm-4.5v box markers: removed, the boxed text kept", () => {
    expect(InlineThinking.split(visionContent, thinkAndBox)).toEqual([
      { kind: "reasoning", text: "I see a cat." },
      { kind: "text", text: "\nA cat" }
    ])
  })

  it("inline <think> reasoning: a tag split across chunks is recognised", () => {
    expect(viaPush(["<th", "ink>why", "</th", "ink>", "so"], think)).toEqual([
      { kind: "reasoning", text: "why" },
      { kind: "text", text: "so" }
    ])
    expect(viaPush(["<", "t", "h", "i", "n", "k", ">", "r", "<", "/", "think", ">", "t"], think)).toEqual([
      { kind: "reasoning", text: "r" },
      { kind: "text", text: "t" }
    ])
  })

  it("inline <think> reasoning: a text ending in a tag prefix is flushed at the end", () => {
    expect(viaPush(["a <thi"], think)).toEqual([{ kind: "text", text: "a <thi" }])
  })

  it("inline <think> reasoning (property): any chunking gives the same parts", () => {
    for (const [content, options] of [
      [z1Content, think],
      [visionContent, thinkAndBox],
      [`${z1Content}<think>second</think> end <`, think]
    ] as const) {
      const expected = InlineThinking.split(content, options)
      // every split into two and three pieces
      for (let i = 0; i <= content.length; i++) {
        expect(viaPush([content.slice(0, i), content.slice(i)], options)).toEqual(expected)
        for (let j = i; j <= content.length; j += 3) {
          expect(viaPush([content.slice(0, i), content.slice(i, j), content.slice(j)], options)).toEqual(expected)
        }
      }
      // and random chunkings, through the chunk transform as well
      const random = prng(20_260_101)
      for (let run = 0; run < 300; run++) {
        const deltas = randomChunking(content, random)
        expect(viaPush(deltas, options)).toEqual(expected)
        let state = InlineThinking.initial
        const chunks = [
          ...deltas.map((delta) => GlmScenarios.chunk("id", "glm-z1-air", { content: delta })),
          GlmScenarios.finishChunk("id", "glm-z1-air", "stop", GlmScenarios.usage(3, 4))
        ].flatMap((chunk) => {
          const [next, out] = InlineThinking.transformChunk(state, chunk, options)
          state = next
          return out
        })
        const pieces = chunks.flatMap((chunk) => {
          const delta = chunk.choices?.[0]?.delta
          return [
            ...(delta?.reasoning_content ? [{ kind: "reasoning" as const, text: delta.reasoning_content }] : []),
            ...(delta?.content ? [{ kind: "text" as const, text: delta.content }] : [])
          ]
        })
        expect(merge(pieces)).toEqual(expected)
        expect(chunks[chunks.length - 1]?.choices?.[0]?.finish_reason).toBe("stop")
        expect(chunks.filter((chunk) => chunk.choices?.[0]?.finish_reason !== undefined)).toHaveLength(1)
      }
    }
  })
})

describe("inline <think> reasoning end to end", () => {
  const layer = (model: string) =>
    GlmLanguageModel.layer(model).pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key" })))

  const run = <A, E>(effect: Effect.Effect<A, E, LanguageModel.LanguageModel>, model: string) =>
    Effect.runPromiseExit(
      effect.pipe(
        Effect.provideService(RetryPolicy.CallRetryPolicy, { baseDelayMs: 1, maxDelayMs: 2, maxRetries: 0 }),
        Effect.provide(layer(model))
      )
    )

  const value = <A, E>(exit: Exit.Exit<A, E>): A => {
    if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
    return exit.value
  }

  const reply = (response: () => globalThis.Response) =>
    server.use(MockUpstream.chatCompletions(baseURL, response, new MockUpstream.Recorder()))

  const streamParts = (model: string) =>
    run(Stream.runCollect(LanguageModel.streamText({ prompt: "2+2?" })), model).then(value)

  const textOf = (parts: ReadonlyArray<Response.AnyPart>, type: "text-delta" | "reasoning-delta") =>
    parts
      .filter((part) => part.type === type)
      .map((part) => (part as { delta: string }).delta)
      .join("")

  const z1Chunks = (model: string) => [
    ...["<th", "ink>", ...GlmScenarios.pieces(reasoning, 5), "</thi", "nk>", ...GlmScenarios.pieces(answer, 7)].map(
      (piece) => GlmScenarios.chunk(GlmScenarios.responseId(0x7a1), model, { content: piece })
    ),
    GlmScenarios.finishChunk(GlmScenarios.responseId(0x7a1), model, "stop", GlmScenarios.usage(11, 37))
  ]

  it("the catalog marks the inline-reasoning models", () => {
    for (const id of ["glm-z1-air", "glm-z1-airx", "glm-z1-flash", "glm-4.5v"]) {
      expect(GlmModels.get(id)?.glm.inlineThinking, id).toBe(true)
    }
    expect(GlmModels.get("glm-4.5v")?.glm.boxMarkers).toBe(true)
    expect(GlmModels.get("glm-4.6")?.glm.inlineThinking).toBeUndefined()
  })

  it("inline <think> reasoning (glm-z1-air, non-stream): reasoning part, clean text", async () => {
    reply(() =>
      MockUpstream.json(
        GlmScenarios.completion(
          GlmScenarios.responseId(0x7a0),
          "glm-z1-air",
          { content: z1Content },
          "stop",
          GlmScenarios.usage(11, 37)
        )
      )
    )
    const response = value(await run(LanguageModel.generateText({ prompt: "2+2?" }), "glm-z1-air"))
    expect(response.reasoningText).toBe(reasoning)
    expect(response.text).toBe(answer)
  })

  it("inline <think> reasoning (glm-z1-flash, stream, tags split across chunks): reasoning parts, clean text", async () => {
    reply(() => MockUpstream.sse(z1Chunks("glm-z1-flash")))
    const parts = await streamParts("glm-z1-flash")
    expect(textOf(parts, "reasoning-delta")).toBe(reasoning)
    expect(textOf(parts, "text-delta")).toBe(answer)
    const kinds = parts.map((part) => part.type).filter((type) => type === "reasoning-delta" || type === "text-delta")
    expect(kinds.indexOf("text-delta")).toBeGreaterThan(kinds.lastIndexOf("reasoning-delta"))
    expect(parts.find((part) => part.type === "finish")).toMatchObject({ reason: "stop" })
  })

  it("glm-4.5v box markers: stripped (stream and non-stream), the inline <think> becomes reasoning", async () => {
    reply(() =>
      MockUpstream.json(
        GlmScenarios.completion(
          GlmScenarios.responseId(0x7a2),
          "glm-4.5v",
          { content: visionContent },
          "stop",
          GlmScenarios.usage(9, 9)
        )
      )
    )
    const response = value(await run(LanguageModel.generateText({ prompt: "What is it?" }), "glm-4.5v"))
    expect(response.text).toBe("\nA cat")
    expect(response.reasoningText).toBe("I see a cat.")

    reply(() =>
      MockUpstream.sse([
        ...GlmScenarios.pieces(visionContent, 3).map((piece) =>
          GlmScenarios.chunk(GlmScenarios.responseId(0x7a3), "glm-4.5v", { content: piece })
        ),
        GlmScenarios.finishChunk(GlmScenarios.responseId(0x7a3), "glm-4.5v", "stop", GlmScenarios.usage(9, 9))
      ])
    )
    const parts = await streamParts("glm-4.5v")
    expect(textOf(parts, "text-delta")).toBe("\nA cat")
    expect(textOf(parts, "reasoning-delta")).toBe("I see a cat.")
  })

  it("inline <think> reasoning: a model without the catalog flag keeps its content as is", async () => {
    reply(() =>
      MockUpstream.json(
        GlmScenarios.completion(
          GlmScenarios.responseId(0x7a4),
          "glm-4.6",
          { content: z1Content },
          "stop",
          GlmScenarios.usage(11, 37)
        )
      )
    )
    const response = value(await run(LanguageModel.generateText({ prompt: "2+2?" }), "glm-4.6"))
    expect(response.text).toBe(z1Content)
  })

  it("inline <think> reasoning: the generic provider (registry, gateway) splits it too", async () => {
    reply(() => MockUpstream.sse(z1Chunks("glm-z1-air")))
    const parts = value(
      await Effect.runPromiseExit(
        Stream.runCollect(LanguageModel.streamText({ prompt: "2+2?" })).pipe(
          Effect.provide(
            GlmProvider.provider.layer("glm-z1-air").pipe(Layer.provide(GlmClient.layer({ apiKey: "test-key" })))
          )
        )
      )
    )
    expect(textOf(parts, "reasoning-delta")).toBe(reasoning)
    expect(textOf(parts, "text-delta")).toBe(answer)
  })
})
