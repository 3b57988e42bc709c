/**
 * Reasoning sent inline in `content` (docs/providers/glm.md#inline-thinking): the glm-z1 models (and the GLM-4.1V
 * thinking models) answer `<think>…</think>` followed by the answer in `content` instead of `reasoning_content`;
 * GLM-4.5V "may contain `<think></think>` and `<|begin_of_box|>…<|end_of_box|>` tags in content" (ZAI-OAS
 * `ChatCompletionResponseMessage.content`). Which model does what is a catalog feature (`GlmFeatures.inlineThinking`,
 * `GlmFeatures.boxMarkers`).
 *
 * The transform wraps the model's transport (the declarations' `transport` hook, applied by core's
 * `OpenAiCompatLanguageModel.make`), below the Chat Completions shapes: the text inside `<think>` moves to
 * `reasoning_content` (so core emits `reasoning` parts, replays it, caches it), the tags are dropped, and the box
 * markers are removed with the boxed text kept. A stream is split with a small state machine ({@link push},
 * {@link end}) that holds back a possible partial tag at the end of a delta, so a tag split across chunks is
 * recognised and any chunking gives the same parts.
 */
import type { ChatCompletions, OpenAiCompatClient } from "@conduitkit/core"
import { Effect, Stream } from "effect"

/** Which inline markup to undo. */
export interface InlineOptions {
  /** `<think>…</think>` in content is reasoning. */
  readonly think: boolean
  /** `<|begin_of_box|>` / `<|end_of_box|>` markers are removed (the boxed text is kept). */
  readonly box: boolean
}

/** A piece of content: answer text or reasoning. */
export interface Piece {
  readonly kind: "text" | "reasoning"
  readonly text: string
}

/** The splitter's state: inside `<think>`, and a held-back suffix that may be the start of a tag. */
export interface State {
  readonly inThink: boolean
  readonly pending: string
}

/** The initial state. */
export const initial: State = { inThink: false, pending: "" }

const THINK_OPEN = "<think>"
const THINK_CLOSE = "</think>"
const BOX_OPEN = "<|begin_of_box|>"
const BOX_CLOSE = "<|end_of_box|>"

// the tag lists of the four option combinations, built once (push runs per streamed delta)
const tagLists: ReadonlyArray<ReadonlyArray<string>> = [
  [],
  [THINK_OPEN, THINK_CLOSE],
  [BOX_OPEN, BOX_CLOSE],
  [THINK_OPEN, THINK_CLOSE, BOX_OPEN, BOX_CLOSE]
]
const tagsOf = (options: InlineOptions): ReadonlyArray<string> =>
  tagLists[(options.think ? 1 : 0) + (options.box ? 2 : 0)]!

/** The options a model's GLM catalog features call for (`inlineThinking`, `boxMarkers`; none when unknown). */
export const optionsOf = (
  features: { readonly inlineThinking?: boolean | undefined; readonly boxMarkers?: boolean | undefined } | undefined
): InlineOptions => ({ think: features?.inlineThinking === true, box: features?.boxMarkers === true })

/** The length of the longest suffix of `text` that is a proper prefix of one of the tags. */
const partialTagLength = (text: string, tags: ReadonlyArray<string>): number => {
  let best = 0
  for (const tag of tags) {
    for (let length = Math.min(tag.length - 1, text.length); length > best; length--) {
      if (text.endsWith(tag.slice(0, length))) {
        best = length
        break
      }
    }
  }
  return best
}

const appendPiece = (out: Array<Piece>, kind: Piece["kind"], text: string) => {
  if (text === "") return
  const last = out[out.length - 1]
  if (last !== undefined && last.kind === kind) out[out.length - 1] = { kind, text: last.text + text }
  else out.push({ kind, text })
}

/**
 * Feeds one content delta: the pieces that are certain now, and the next state (pure).
 */
export const push = (state: State, delta: string, options: InlineOptions): [State, Array<Piece>] => {
  const tags = tagsOf(options)
  const out: Array<Piece> = []
  let inThink = state.inThink
  let rest = state.pending + delta
  while (rest !== "") {
    let at = -1
    let found = ""
    for (const tag of tags) {
      const index = rest.indexOf(tag)
      if (index !== -1 && (at === -1 || index < at)) {
        at = index
        found = tag
      }
    }
    if (at === -1) break
    appendPiece(out, inThink ? "reasoning" : "text", rest.slice(0, at))
    if (found === THINK_OPEN) inThink = true
    else if (found === THINK_CLOSE) inThink = false
    rest = rest.slice(at + found.length)
  }
  const hold = partialTagLength(rest, tags)
  appendPiece(out, inThink ? "reasoning" : "text", rest.slice(0, rest.length - hold))
  return [{ inThink, pending: rest.slice(rest.length - hold) }, out]
}

/** Flushes the held-back text at the end of the content (pure). */
export const end = (state: State): Array<Piece> =>
  state.pending === "" ? [] : [{ kind: state.inThink ? "reasoning" : "text", text: state.pending }]

/** Splits a whole content string (pure): the merged pieces in order. */
export const split = (content: string, options: InlineOptions): Array<Piece> => {
  const [state, pieces] = push(initial, content, options)
  const out: Array<Piece> = []
  for (const piece of [...pieces, ...end(state)]) appendPiece(out, piece.kind, piece.text)
  return out
}

/** Whether any transform applies. */
export const isActive = (options: InlineOptions): boolean => options.think || options.box

// =============================================================================
// Wire bodies
// =============================================================================

const joinKind = (pieces: ReadonlyArray<Piece>, kind: Piece["kind"]) =>
  pieces
    .filter((piece) => piece.kind === kind)
    .map((piece) => piece.text)
    .join("")

/**
 * A non-streaming body with each choice's inline reasoning moved to `reasoning_content` (after any reasoning the
 * server already sent there) and the markers removed (pure).
 */
export const transformCompletion = (
  body: ChatCompletions.ChatCompletion,
  options: InlineOptions
): ChatCompletions.ChatCompletion => ({
  ...body,
  choices: body.choices.map((choice) => {
    const message = choice.message
    if (message === undefined || message === null || typeof message.content !== "string") return choice
    const pieces = split(message.content, options)
    const reasoning = joinKind(pieces, "reasoning")
    const existing = typeof message.reasoning_content === "string" ? message.reasoning_content : ""
    return {
      ...choice,
      message: {
        ...message,
        content: joinKind(pieces, "text"),
        ...(reasoning !== "" || existing !== "" ? { reasoning_content: existing + reasoning } : {})
      }
    }
  })
})

type Chunk = ChatCompletions.ChatCompletionChunk
type ChunkChoice = NonNullable<Chunk["choices"]>[number]

const withDelta = (chunk: Chunk, choice: ChunkChoice, delta: NonNullable<ChunkChoice["delta"]>, last: boolean) => {
  const { finish_reason: _finish, usage: _usage, ...bare } = choice
  const { usage: _chunkUsage, ...bareChunk } = chunk as Chunk & { usage?: unknown }
  return (
    last ? { ...chunk, choices: [{ ...choice, delta }] } : { ...bareChunk, choices: [{ ...bare, delta }] }
  ) as Chunk
}

/**
 * One streamed chunk through the splitter (pure): the chunks to emit in its place (one per run of text or reasoning,
 * the last keeping its tool calls, finish reason and usage), and the next state. A chunk with a finish reason flushes
 * the held-back text. Only choice 0 is rewritten (core reads only that one).
 */
export const transformChunk = (state: State, chunk: Chunk, options: InlineOptions): [State, Array<Chunk>] => {
  const choices = chunk.choices ?? []
  const index = choices.findIndex((c) => (c.index ?? 0) === 0)
  const choice = index === -1 ? undefined : choices[index]
  if (choice === undefined || choices.length !== 1) return [state, [chunk]]
  const delta = choice.delta ?? {}
  const finished = typeof choice.finish_reason === "string" && choice.finish_reason !== ""
  const [next, pieces] = typeof delta.content === "string" ? push(state, delta.content, options) : [state, []]
  const flushed = finished ? [...pieces, ...end(next)] : pieces
  const after: State = finished ? initial : next
  const { content: _content, reasoning_content: serverReasoning, ...rest } = delta
  const runs: Array<Piece> = []
  if (typeof serverReasoning === "string" && serverReasoning !== "")
    runs.push({ kind: "reasoning", text: serverReasoning })
  for (const piece of flushed) appendPiece(runs, piece.kind, piece.text)
  if (runs.length === 0) return [after, [withDelta(chunk, choice, rest, true)]]
  const out = runs.map((run, position) => {
    const last = position === runs.length - 1
    const base = last ? rest : { ...(rest.role !== undefined ? { role: rest.role } : {}) }
    return withDelta(
      chunk,
      choice,
      run.kind === "text" ? { ...base, content: run.text } : { ...base, reasoning_content: run.text },
      last
    )
  })
  return [after, out]
}

/**
 * The transport with inline reasoning split out of every chat response (non-streaming and streamed); the other
 * methods (`request`, `use`) and any extra fields (the client's `options`) are kept as they are.
 */
export const wrapClient = <C extends OpenAiCompatClient.OpenAiCompatClientShape>(
  client: C,
  options: InlineOptions
): C =>
  isActive(options)
    ? {
        ...client,
        createChatCompletion: (request, headers) =>
          Effect.map(client.createChatCompletion(request, headers), (response) => ({
            ...response,
            body: transformCompletion(response.body, options)
          })),
        // an answer assembled from a stream is a non-stream answer: split as one (as `createChatCompletion`'s)
        assembleChatCompletion: (request, limits, headers) =>
          Effect.map(client.assembleChatCompletion(request, limits, headers), (response) => ({
            ...response,
            body: transformCompletion(response.body, options)
          })),
        streamChatCompletion: (request, limits, headers) =>
          Effect.map(client.streamChatCompletion(request, limits, headers), (chat) => ({
            ...chat,
            chunks: chat.chunks.pipe(
              Stream.mapAccum(
                () => initial,
                (state: State, chunk: Chunk) => transformChunk(state, chunk, options)
              )
            )
          }))
      }
    : client
