/**
 * Shared test material: response parts as core's LanguageModel hands them to the hook, and a counting upstream.
 */
import type { ResponseCacheHook } from "@conduitkit/core"
import { Deferred, Effect, Stream } from "effect"
import { AiError, type Response } from "effect/ai"

export const usage = {
  inputTokens: { total: 120, uncached: 100, cacheRead: 20 },
  outputTokens: { total: 30, text: 30 }
}

export const generateParts: Array<Response.PartEncoded> = [
  { type: "response-metadata", id: "chatcmpl-1", modelId: "kimi-k2", timestamp: "2025-01-01T00:00:00.000Z" },
  { type: "text", text: "Paris." },
  { type: "finish", reason: "stop", usage, metadata: { kimi: { requestId: "req-1" } } }
]

export const streamParts: Array<Response.StreamPartEncoded> = [
  { type: "response-metadata", id: "chatcmpl-2", modelId: "kimi-k2", timestamp: "2025-01-01T00:00:00.000Z" },
  { type: "reasoning-start", id: "r0" },
  { type: "reasoning-delta", id: "r0", delta: "The capital" },
  { type: "reasoning-end", id: "r0" },
  { type: "text-start", id: "t0" },
  { type: "text-delta", id: "t0", delta: "Par" },
  { type: "text-delta", id: "t0", delta: "is." },
  { type: "text-end", id: "t0" },
  { type: "finish", reason: "stop", usage }
]

export const request = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: "kimi-k2",
  messages: [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: "Capital of France?" }
  ],
  temperature: 0,
  max_tokens: 64,
  ...overrides
})

export const call = (
  overrides: Record<string, unknown> = {},
  options: ResponseCacheHook.CallOptionsShape = {}
): ResponseCacheHook.CacheableCall => ({ provider: "kimi", request: request(overrides), options })

/** Strips `metadata.conduit` so replays can be compared with what upstream produced. */
export const unmarked = <P extends { readonly metadata?: unknown }>(parts: ReadonlyArray<P>): Array<P> =>
  parts.map((part) => {
    const metadata = part.metadata as Record<string, unknown> | undefined
    if (metadata === undefined || !("conduit" in metadata)) return part
    const { conduit: _, ...rest } = metadata
    return Object.keys(rest).length === 0
      ? (Object.fromEntries(Object.entries(part).filter(([key]) => key !== "metadata")) as P)
      : { ...part, metadata: rest }
  })

export const conduitMark = (parts: ReadonlyArray<{ readonly type: string; readonly metadata?: unknown }>) => {
  const finish = parts.find((part) => part.type === "finish")
  return (finish?.metadata as { conduit?: Record<string, unknown> } | undefined)?.conduit
}

export const upstreamError = () =>
  AiError.make({
    module: "Test",
    method: "upstream",
    reason: new AiError.InternalProviderError({ description: "upstream exploded" })
  })

/**
 * An upstream that counts its runs; when `gate` is given, each run waits for it before answering (so concurrent
 * callers are really concurrent).
 */
export const makeUpstream = (gate?: Deferred.Deferred<void>) => {
  const counter = { calls: 0, interrupted: 0 }
  const wait = gate === undefined ? Effect.void : Deferred.await(gate)
  const generate = (parts: ReadonlyArray<Response.PartEncoded> = generateParts) =>
    Effect.sync(() => counter.calls++).pipe(
      Effect.andThen(wait),
      Effect.as(Array.from(parts)),
      Effect.onInterrupt(() => Effect.sync(() => counter.interrupted++))
    )
  const stream = (parts: ReadonlyArray<Response.StreamPartEncoded> = streamParts) =>
    Stream.fromEffect(Effect.sync(() => counter.calls++)).pipe(
      Stream.drain,
      Stream.concat(Stream.fromIterable(parts.slice(0, 2))),
      Stream.concat(Stream.fromEffect(wait).pipe(Stream.drain)),
      Stream.concat(Stream.fromIterable(parts.slice(2))),
      Stream.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(() => counter.interrupted++) : Effect.void))
    ) as Stream.Stream<Response.StreamPartEncoded, AiError.AiError>
  return { counter, generate, stream }
}

/** Yields to other fibers until `condition` holds (at most `attempts` times), for tests on the TestClock. */
export const yieldUntil = (condition: () => boolean, attempts = 1_000): Effect.Effect<void> =>
  Effect.gen(function* () {
    for (let i = 0; i < attempts && !condition(); i++) yield* Effect.yieldNow
    if (!condition()) return yield* Effect.die(new Error("condition not reached"))
  })
