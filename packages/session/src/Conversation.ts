/**
 * Conversation sessions: the history of a conversation stored under its session id, on `effect/ai`'s `Chat` and
 * its persistence, so a caller (or the gateway, from an `x-session-id` header) sends only the new turn.
 *
 * ```ts
 * const answer = Effect.gen(function* () {
 *   const conversations = yield* Conversation.Conversation
 *   const chat = yield* conversations.chat("conversation-42")
 *   // history + this turn go to the model; history + turn + response are saved
 *   return yield* chat.generateText({ prompt: "And in Celsius?" })
 * })
 * ```
 *
 * The history is an `effect/ai` `Prompt` encoded with its own Schema: reasoning parts (with their provider options,
 * such as signatures), assistant tool calls, tool results and provider-executed tool turns are stored exactly as the
 * model produced them, so a provider that must replay reasoning on tool-call turns (Kimi's `reasoning_content`) gets
 * it back. Streaming turns keep what the stream completed (unended reasoning is dropped by `Prompt.fromResponseParts`,
 * since a provider could not replay it).
 *
 * Concurrency: two turns of the same conversation must not run at once (each would save its own history). Run them
 * through the `SessionManager` with the conversation id as `sessionId` (default per-session limit 1). Across
 * instances sharing Redis, route a conversation to one instance or accept last-writer-wins.
 *
 * Storage: `layerMemory` (one process) or `layerRedis` (shared; needs effect's `Redis` service), or `layer` on any
 * `BackingPersistence`. Each save refreshes the conversation's time to live (`timeToLive`, default 24 hours).
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, Ref, Schema, type Scope } from "effect"
import { Chat, Prompt, type Response } from "effect/ai"
import { Persistence, type Redis } from "effect/persistence"

/**
 * Where and for how long conversations are kept.
 *
 * @since 0.1.0
 */
export interface Config {
  /** The persistence store id (default `"conduit-conversations"`); separate apps should use separate ids. */
  readonly storeId?: string | undefined
  /** Time to live of a conversation after its last save (default 24 hours). */
  readonly timeToLive?: Duration.Input | undefined
}

/**
 * Reading or writing a conversation failed (store unreachable, stored history unreadable, history not encodable).
 *
 * @since 0.1.0
 */
export class ConversationError extends Schema.TaggedError<ConversationError>()("ConversationError", {
  sessionId: Schema.String,
  operation: Schema.Literals(["load", "save", "clear"]),
  cause: Schema.Defect()
}) {
  override get message(): string {
    return `Could not ${this.operation} conversation ${this.sessionId}`
  }
}

/**
 * One turn to add to a stored history: the new input (`prompt`) and/or the model's response parts (`response`,
 * turned into assistant and tool messages by `Prompt.fromResponseParts`).
 *
 * @since 0.1.0
 */
export interface Turn {
  readonly prompt?: Prompt.RawInput | undefined
  readonly response?: ReadonlyArray<Response.AnyPart> | undefined
}

/**
 * The conversation service. Every operation fails with `ConversationError` when the store fails.
 *
 * @since 0.1.0
 */
export class Conversation extends Context.Service<
  Conversation,
  {
    /**
     * The conversation as a persisted `Chat` (created empty when missing): its `generateText`, `streamText` and
     * `generateObject` send the stored history plus the new turn and save history, turn and response.
     */
    readonly chat: (sessionId: string) => Effect.Effect<Chat.Persisted, ConversationError>
    /** The stored history (empty when there is none). */
    readonly history: (sessionId: string) => Effect.Effect<Prompt.Prompt, ConversationError>
    /**
     * Appends a turn to the stored history and returns the new history. For callers that run the model themselves
     * (the gateway: `prompt = concat(history, newTurn)`, call the model, then `append(id, { prompt: newTurn, response })`).
     */
    readonly append: (sessionId: string, turn: Turn) => Effect.Effect<Prompt.Prompt, ConversationError>
    /** Forgets the conversation. */
    readonly clear: (sessionId: string) => Effect.Effect<void, ConversationError>
  }
>()("@conduitkit/session/Conversation") {}

/**
 * Builds the service on the `BackingPersistence` in the context.
 *
 * @since 0.1.0
 */
export const make = (
  config: Config = {}
): Effect.Effect<Conversation["Service"], never, Persistence.BackingPersistence | Scope.Scope> =>
  Effect.gen(function* () {
    const storeId = config.storeId ?? "conduit-conversations"
    const timeToLive = Duration.fromInputUnsafe(config.timeToLive ?? Duration.hours(24))
    const persistence = yield* Chat.makePersisted({ storeId })
    const backing = yield* Persistence.BackingPersistence
    const store = yield* backing.make(storeId)

    const chat = (sessionId: string) =>
      Effect.mapError(
        persistence.getOrCreate(sessionId, { timeToLive }),
        (cause) => new ConversationError({ sessionId, operation: "load", cause })
      )

    const history = (sessionId: string): Effect.Effect<Prompt.Prompt, ConversationError> =>
      persistence.get(sessionId, { timeToLive }).pipe(
        Effect.flatMap((persisted) => Ref.get(persisted.history)),
        Effect.catchTag("ChatNotFoundError", () => Effect.succeed(Prompt.empty)),
        Effect.mapError((cause) => new ConversationError({ sessionId, operation: "load", cause }))
      )

    const append = (sessionId: string, turn: Turn) =>
      Effect.gen(function* () {
        const persisted = yield* chat(sessionId)
        let next = yield* Ref.get(persisted.history)
        if (turn.prompt !== undefined) next = Prompt.concat(next, Prompt.make(turn.prompt))
        if (turn.response !== undefined && turn.response.length > 0) {
          next = Prompt.concat(next, Prompt.fromResponseParts(turn.response))
        }
        yield* Ref.set(persisted.history, next)
        yield* Effect.mapError(
          persisted.save,
          (cause) => new ConversationError({ sessionId, operation: "save", cause })
        )
        return yield* Ref.get(persisted.history)
      })

    const clear = (sessionId: string) =>
      Effect.mapError(
        store.remove(sessionId),
        (cause) => new ConversationError({ sessionId, operation: "clear", cause })
      )

    return Conversation.of({ chat, history, append, clear })
  })

/**
 * Conversations on the `BackingPersistence` in the context.
 *
 * @since 0.1.0
 */
export const layer = (config: Config = {}): Layer.Layer<Conversation, never, Persistence.BackingPersistence> =>
  Layer.effect(Conversation, make(config))

/**
 * Conversations kept in this process's memory.
 *
 * @since 0.1.0
 */
export const layerMemory = (config: Config = {}): Layer.Layer<Conversation> =>
  layer(config).pipe(Layer.provide(Persistence.layerBackingMemory))

/**
 * Conversations kept in Redis (shared by every instance using the same Redis and `storeId`). Requires effect's
 * `Redis` service (for example `NodeRedis.layer({ url })` from `@effect/platform-node`).
 *
 * @since 0.1.0
 */
export const layerRedis = (config: Config = {}): Layer.Layer<Conversation, never, Redis.Redis> =>
  layer(config).pipe(Layer.provide(Persistence.layerBackingRedis))
