import { PromptConversion } from "@conduitkit/core"
import { RedisServer } from "@conduitkit/core/testing"
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Cause, Context, Effect, Exit, Layer, Schema, Stream } from "effect"
import { LanguageModel, Prompt, Response, Tool, Toolkit } from "effect/ai"
import { Persistence } from "effect/persistence"
import { afterAll, beforeAll } from "vitest"
import * as Conversation from "../src/Conversation.js"

const GetWeather = Tool.make("GetWeather", {
  description: "Current temperature of a city",
  parameters: Schema.Struct({ city: Schema.String }),
  success: Schema.Struct({ celsius: Schema.Number })
})
const Tools = Toolkit.make(GetWeather)
const ToolsLayer = Tools.toLayer({ GetWeather: ({ city }) => Effect.succeed({ celsius: city === "Beijing" ? 21 : 0 }) })

/** Reasoning with provider metadata, as a thinking model returns it (the provider needs it back on replay). */
const reasoning = (text: string): Response.ReasoningPartEncoded => ({
  type: "reasoning",
  text,
  metadata: { moonshot: { reasoning_content: text, signature: `sig-${text.length}` } }
})

const usage = { inputTokens: { total: 10 }, outputTokens: { total: 5 } }

/**
 * A model that asks for the weather tool on a fresh question, and answers once the tool result is in the prompt.
 * Every prompt it receives is recorded, encoded, so tests can check exactly what a provider would be sent.
 */
const fakeModel = (received: Array<Prompt.PromptEncoded>) =>
  Layer.effect(
    LanguageModel.LanguageModel,
    LanguageModel.make({
      generateText: (options) =>
        Effect.gen(function* () {
          received.push(yield* Schema.encodeEffect(Prompt.Prompt)(options.prompt).pipe(Effect.orDie))
          const last = options.prompt.content.at(-1)
          if (last?.role === "tool") {
            return [
              reasoning("The tool says 21."),
              { type: "text", text: "It is 21°C in Beijing." },
              { type: "finish", reason: "stop", usage }
            ] satisfies Array<Response.PartEncoded>
          }
          return [
            reasoning("I should call the weather tool."),
            { type: "tool-call", id: "get_weather_0", name: "GetWeather", params: { city: "Beijing" } },
            { type: "finish", reason: "tool-calls", usage }
          ] satisfies Array<Response.PartEncoded>
        }),
      streamText: () =>
        Stream.fromIterable<Response.StreamPartEncoded>([
          { type: "reasoning-start", id: "r1" },
          { type: "reasoning-delta", id: "r1", delta: "Streaming " },
          { type: "reasoning-delta", id: "r1", delta: "thoughts." },
          { type: "reasoning-end", id: "r1", metadata: { moonshot: { signature: "sig-stream" } } },
          { type: "text-start", id: "t1" },
          { type: "text-delta", id: "t1", delta: "Streamed " },
          { type: "text-delta", id: "t1", delta: "answer." },
          { type: "text-end", id: "t1" },
          { type: "finish", reason: "stop", usage }
        ])
    })
  )

const encode = Schema.encodeSync(Prompt.Prompt)

/** What the stored history must hold after the tool turn, encoded (the replay form). */
const assertToolTurnStored = (history: Prompt.Prompt) => {
  const messages = encode(history).content
  assert.deepStrictEqual(
    messages.map((message) => message.role),
    ["user", "assistant", "tool"]
  )
  const assistant = messages[1]
  assert.isTrue(assistant?.role === "assistant" && Array.isArray(assistant.content))
  if (assistant?.role !== "assistant" || typeof assistant.content === "string") return
  const [thinking, call] = assistant.content
  assert.deepStrictEqual(
    thinking && {
      type: thinking.type,
      text: "text" in thinking ? thinking.text : undefined,
      moonshot: thinking.options?.moonshot
    },
    {
      type: "reasoning",
      text: "I should call the weather tool.",
      moonshot: { reasoning_content: "I should call the weather tool.", signature: "sig-31" }
    }
  )
  assert.deepStrictEqual(call && call.type === "tool-call" ? [call.id, call.name, call.params] : undefined, [
    "get_weather_0",
    "GetWeather",
    { city: "Beijing" }
  ])
  const tool = messages[2]
  assert.isTrue(tool?.role === "tool")
  if (tool?.role !== "tool") return
  const [result] = tool.content
  assert.deepStrictEqual(
    result && result.type === "tool-result" ? [result.id, result.name, result.isFailure, result.result] : undefined,
    ["get_weather_0", "GetWeather", false, { celsius: 21 }]
  )
}

/** A tool turn through one layer instance, then the reply turn through another one reading the same store. */
const roundTrip = <E>(
  first: Layer.Layer<Conversation.Conversation, E>,
  second: Layer.Layer<Conversation.Conversation, E>
) =>
  Effect.gen(function* () {
    const received: Array<Prompt.PromptEncoded> = []
    const model = Layer.merge(fakeModel(received), ToolsLayer)
    const id = `conversation-${Math.random().toString(36).slice(2)}`

    const afterTool = yield* Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      const chat = yield* conversations.chat(id)
      const response = yield* chat.generateText({ prompt: "What is the weather in Beijing?", toolkit: yield* Tools })
      assert.deepStrictEqual(
        response.toolResults.map((r) => r.result),
        [{ celsius: 21 }]
      )
      return yield* conversations.history(id)
    }).pipe(Effect.provide(Layer.merge(first, model)))
    assertToolTurnStored(afterTool)

    const reply = yield* Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      const stored = yield* conversations.history(id)
      assertToolTurnStored(stored)
      // Only the new turn is sent by the caller (here: nothing, the tool result is already in the history).
      const chat = yield* conversations.chat(id)
      const response = yield* chat.generateText({ prompt: [], toolkit: yield* Tools })
      return { text: response.text, history: yield* conversations.history(id) }
    }).pipe(Effect.provide(Layer.merge(second, model)))

    assert.strictEqual(reply.text, "It is 21°C in Beijing.")
    // The provider got the stored reasoning and tool turns back exactly as they were produced.
    const replayed = received[1]
    assert.isDefined(replayed)
    assert.deepStrictEqual(replayed, encode(afterTool))
    assert.deepStrictEqual(
      encode(reply.history).content.map((message) => message.role),
      ["user", "assistant", "tool", "assistant"]
    )
    return { id, history: reply.history }
  })

/** The stored history as a provider puts it on the wire (core's conversion, Kimi's replay policy by default). */
const wire = (history: Prompt.Prompt, mode: PromptConversion.ReasoningReplay["mode"] = "tool-calls") =>
  Effect.fromResult(PromptConversion.toMessages(history, { reasoning: { mode }, providerName: "kimi" }))

/** What a thinking provider must receive for the stored tool-call turn: its reasoning and its tool call. */
const assertWireReplay = (history: Prompt.Prompt) =>
  Effect.gen(function* () {
    const messages = yield* wire(history)
    assert.deepStrictEqual(messages, [
      { role: "user", content: "What is the weather in Beijing?" },
      {
        role: "assistant",
        reasoning_content: "I should call the weather tool.",
        tool_calls: [
          { id: "get_weather_0", type: "function", function: { name: "GetWeather", arguments: '{"city":"Beijing"}' } }
        ]
      },
      { role: "tool", tool_call_id: "get_weather_0", name: "GetWeather", content: '{"celsius":21}' },
      // no tool call on the final answer: "tool-calls" replay sends no reasoning there
      { role: "assistant", content: "It is 21°C in Beijing." }
    ])
    // a provider that keeps all reasoning ("always") gets the final turn's reasoning too
    const always = yield* wire(history, "always")
    assert.deepStrictEqual(always.at(-1), {
      role: "assistant",
      content: "It is 21°C in Beijing.",
      reasoning_content: "The tool says 21."
    })
    assert.strictEqual(always[1]?.reasoning_content, "I should call the weather tool.")
  })

describe("Conversation (memory)", () => {
  it.effect("keeps reasoning, tool calls and tool results for replay across turns", () => {
    const shared = Conversation.layerMemory()
    return Effect.gen(function* () {
      const context = yield* Layer.build(shared)
      const layer = Layer.succeedContext(context)
      yield* roundTrip(layer, layer)
    }).pipe(Effect.scoped)
  })

  it.effect("a replayed history converts to wire messages with reasoning_content and the tool call", () => {
    const shared = Conversation.layerMemory()
    return Effect.gen(function* () {
      const context = yield* Layer.build(shared)
      const layer = Layer.succeedContext(context)
      yield* assertWireReplay((yield* roundTrip(layer, layer)).history)
    }).pipe(Effect.scoped)
  })

  it.effect("appends turns run elsewhere, reads and clears the history", () =>
    Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      assert.strictEqual((yield* conversations.history("s")).content.length, 0)
      yield* conversations.append("s", {
        prompt: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "Hi" }
        ],
        response: [Response.makePart("reasoning", { text: "greeting" })]
      })
      const next = yield* conversations.append("s", { prompt: "Again" })
      assert.deepStrictEqual(
        encode(next).content.map((message) => message.role),
        ["system", "user", "assistant", "user"]
      )
      assert.deepStrictEqual(encode(yield* conversations.history("s")), encode(next))
      yield* conversations.clear("s")
      assert.strictEqual((yield* conversations.history("s")).content.length, 0)
    }).pipe(Effect.provide(Conversation.layerMemory()))
  )

  it.effect("saves a streamed turn with its completed reasoning", () =>
    Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      const chat = yield* conversations.chat("streamed")
      yield* Stream.runDrain(chat.streamText({ prompt: "Stream please" }))
      const messages = encode(yield* conversations.history("streamed")).content
      const assistant = messages[1]
      assert.isTrue(assistant?.role === "assistant")
      if (assistant?.role !== "assistant" || typeof assistant.content === "string") return
      assert.deepStrictEqual(
        assistant.content.map((part) => [part.type, "text" in part ? part.text : undefined]),
        [
          ["reasoning", "Streaming thoughts."],
          ["text", "Streamed answer."]
        ]
      )
      assert.deepStrictEqual(assistant.content[0]?.options?.moonshot, { signature: "sig-stream" })
    }).pipe(Effect.provide(Layer.mergeAll(Conversation.layerMemory(), fakeModel([]))))
  )

  it.effect("keeps separate histories per store id", () =>
    Effect.gen(function* () {
      const context = yield* Layer.build(Persistence.layerBackingMemory)
      const a = yield* Conversation.make({ storeId: "a" }).pipe(Effect.provide(context))
      const b = yield* Conversation.make({ storeId: "b" }).pipe(Effect.provide(context))
      yield* a.append("same-id", { prompt: "for a" })
      assert.strictEqual((yield* b.history("same-id")).content.length, 0)
    }).pipe(Effect.scoped)
  )
})

describe("Conversation failures", () => {
  /** A memory backing store whose reads and/or writes fail while the flags say so. */
  const flaky = (failing: { reads: boolean; writes: boolean }) =>
    Layer.effect(
      Persistence.BackingPersistence,
      Effect.gen(function* () {
        const memory = yield* Persistence.BackingPersistence
        const down = new Persistence.PersistenceError({ message: "store down" })
        return Persistence.BackingPersistence.of({
          make: (storeId) =>
            Effect.map(memory.make(storeId), (store) => ({
              ...store,
              get: (key) => (failing.reads ? Effect.fail(down) : store.get(key)),
              getMany: (keys) => (failing.reads ? Effect.fail(down) : store.getMany(keys)),
              set: (key, value, ttl) => (failing.writes ? Effect.fail(down) : store.set(key, value, ttl)),
              setMany: (entries) => (failing.writes ? Effect.fail(down) : store.setMany(entries)),
              remove: (key) => (failing.writes ? Effect.fail(down) : store.remove(key))
            }))
        })
      })
    ).pipe(Layer.provide(Persistence.layerBackingMemory))

  it.effect("a failing store is a ConversationError with the session id and the operation", () => {
    const failing = { reads: false, writes: false }
    return Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      yield* conversations.append("c-1", { prompt: "Hi" })
      failing.writes = true
      const save = yield* Effect.flip(conversations.append("c-1", { prompt: "again" }))
      const clear = yield* Effect.flip(conversations.clear("c-1"))
      failing.reads = true
      const load = yield* Effect.flip(conversations.history("c-1"))
      const chat = yield* Effect.flip(conversations.chat("c-2"))
      assert.deepStrictEqual(
        [save, clear, load, chat].map((error) => [error._tag, error.sessionId, error.operation]),
        [
          ["ConversationError", "c-1", "save"],
          ["ConversationError", "c-1", "clear"],
          ["ConversationError", "c-1", "load"],
          ["ConversationError", "c-2", "load"]
        ]
      )
      assert.strictEqual(save.message, "Could not save conversation c-1")
    }).pipe(Effect.provide(Conversation.layer().pipe(Layer.provide(flaky(failing)))))
  })

  it.effect("a failed save inside Chat.Persisted.generateText is a defect (effect/ai), not a ConversationError", () => {
    const failing = { reads: false, writes: false }
    return Effect.gen(function* () {
      const conversations = yield* Conversation.Conversation
      const chat = yield* conversations.chat("c-3")
      failing.writes = true
      const exit = yield* Effect.exit(chat.generateText({ prompt: "What is the weather in Beijing?" }))
      assert.isTrue(Exit.isFailure(exit) && Cause.hasDies(exit.cause))
    }).pipe(Effect.provide(Layer.mergeAll(Conversation.layer().pipe(Layer.provide(flaky(failing))), fakeModel([]))))
  })
})

describe("Conversation (Redis)", () => {
  let server: RedisServer.RedisServer
  beforeAll(async () => {
    server = await RedisServer.startRedisServer()
  }, 30_000)
  afterAll(async () => {
    await server?.stop()
  })

  const instance = () => Conversation.layerRedis().pipe(Layer.provide(NodeRedis.layer({ url: server.url })))

  it.live("a reasoning part and a tool call/result survive a round trip through Redis to another instance", () =>
    roundTrip(instance(), instance())
  )

  it.live("a history read back from Redis converts to wire messages with reasoning_content and the tool call", () =>
    Effect.gen(function* () {
      const { id } = yield* roundTrip(instance(), instance())
      // a third instance reads the conversation from Redis only, then converts it as a provider would
      const history = yield* Conversation.Conversation.use((conversations) => conversations.history(id)).pipe(
        Effect.provide(instance())
      )
      yield* assertWireReplay(history)
    })
  )

  it.live("expires a conversation after its time to live", () =>
    Effect.gen(function* () {
      const conversations = Context.get(
        yield* Layer.build(
          Conversation.layerRedis({ timeToLive: "2 seconds" }).pipe(Layer.provide(NodeRedis.layer({ url: server.url })))
        ),
        Conversation.Conversation
      )
      yield* conversations.append("short-lived", { prompt: "Hi" })
      assert.strictEqual((yield* conversations.history("short-lived")).content.length, 1)
      // 2 s: the read right after the write must come before the expiry on a loaded machine (200 ms did not, at load ~20)
      yield* Effect.sleep("2500 millis")
      assert.strictEqual((yield* conversations.history("short-lived")).content.length, 0)
    }).pipe(Effect.scoped)
  )
})
