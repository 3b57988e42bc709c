/**
 * Every live go-vcr cassette in ../shared/fixtures/glm/fantasy replayed through GLM models, read in place with
 * core's `Recordings` helper (never copied): the request Conduit sends is checked against the recorded request body
 * (model, messages, tools, tool_choice, stream flags, max_tokens, reasoning_effort; the follow-up turn is rebuilt
 * from Conduit's own parts of the first answer), and the parts Conduit returns are checked against the recorded
 * response (text, reasoning, tool calls with their odd ids, finish reason, usage with cached and reasoning tokens,
 * request id). Also the octollm and docs.z.ai response and stream examples.
 */
import { type ChatCompletions, ResponseSummary, WireInput } from "@conduitkit/core"
import { MockUpstream, Recordings } from "@conduitkit/core/testing"
import { Effect, Layer, Result, Stream } from "effect"
import { type AiError, LanguageModel, Prompt, type Response, Toolkit } from "effect/ai"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, expect, it } from "vitest"
import * as GlmClient from "../src/GlmClient.js"
import type * as GlmConfig from "../src/GlmConfig.js"
import * as GlmLanguageModel from "../src/GlmLanguageModel.js"
import * as GlmModels from "../src/GlmModels.js"

type Json = Record<string, unknown>

interface Expected {
  readonly text: string
  readonly reasoning: string
  readonly toolCalls: ReadonlyArray<{ readonly id: string; readonly name: string; readonly params: unknown }>
  readonly finishReason: string
  readonly usage: {
    readonly input: number
    readonly output: number
    readonly cached: number
    readonly reasoning: number
  }
  readonly responseId: string | undefined
}

const finishOf = (raw: string, hasToolCalls: boolean) =>
  raw === "tool_calls" || (raw === "stop" && hasToolCalls) ? "tool-calls" : raw === "stop" ? "stop" : raw

const usageOf = (usage: Json | undefined) => ({
  input: Number(usage?.prompt_tokens ?? 0),
  output: Number(usage?.completion_tokens ?? 0),
  cached: Number((usage?.prompt_tokens_details as Json | undefined)?.cached_tokens ?? 0),
  reasoning: Number((usage?.completion_tokens_details as Json | undefined)?.reasoning_tokens ?? 0)
})

/** The expected summary of a recorded non-streaming body, derived independently of Conduit's converters. */
const expectedFromBody = (body: Json): Expected => {
  const choice = (body.choices as Array<Json>)[0] as Json
  const message = choice.message as Json
  const toolCalls = ((message.tool_calls as Array<Json> | undefined) ?? []).map((call) => {
    const fn = call.function as Json
    return { id: String(call.id), name: String(fn.name), params: JSON.parse(String(fn.arguments)) }
  })
  return {
    text: typeof message.content === "string" ? message.content : "",
    reasoning: typeof message.reasoning_content === "string" ? message.reasoning_content : "",
    toolCalls,
    finishReason: finishOf(String(choice.finish_reason), toolCalls.length > 0),
    usage: usageOf(body.usage as Json | undefined),
    responseId: typeof body.request_id === "string" ? body.request_id : (body.id as string | undefined)
  }
}

/** The expected summary of recorded SSE payloads: deltas concatenated, tool calls merged by index. */
const expectedFromSse = (payloads: ReadonlyArray<string>): Expected => {
  let text = ""
  let reasoning = ""
  let finish = ""
  let usage: Json | undefined
  let responseId: string | undefined
  const calls = new Map<number, { id: string; name: string; args: string }>()
  for (const payload of payloads) {
    if (payload.trim() === "[DONE]") continue
    const chunk = JSON.parse(payload) as Json
    responseId ??= typeof chunk.request_id === "string" ? chunk.request_id : (chunk.id as string | undefined)
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage as Json
    for (const choice of (chunk.choices as Array<Json> | undefined) ?? []) {
      const delta = (choice.delta ?? {}) as Json
      if (typeof delta.content === "string") text += delta.content
      if (typeof delta.reasoning_content === "string") reasoning += delta.reasoning_content
      for (const call of (delta.tool_calls as Array<Json> | undefined) ?? []) {
        const index = Number(call.index ?? 0)
        const fn = (call.function ?? {}) as Json
        const current = calls.get(index) ?? { id: "", name: "", args: "" }
        if (typeof call.id === "string" && current.id === "") current.id = call.id
        if (typeof fn.name === "string" && current.name === "") current.name = fn.name
        if (typeof fn.arguments === "string") current.args += fn.arguments
        calls.set(index, current)
      }
      if (typeof choice.finish_reason === "string" && choice.finish_reason !== "") finish = choice.finish_reason
    }
  }
  const toolCalls = [...calls.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, call]) => ({ id: call.id, name: call.name, params: JSON.parse(call.args === "" ? "{}" : call.args) }))
  return {
    text,
    reasoning,
    toolCalls,
    finishReason: finishOf(finish, toolCalls.length > 0),
    usage: usageOf(usage),
    responseId
  }
}

const expectSummary = (summary: ResponseSummary.Summary, expected: Expected) => {
  expect(summary.text).toBe(expected.text)
  expect(summary.reasoning).toBe(expected.reasoning)
  expect(summary.toolCalls.map(({ id, name, params }) => ({ id, name, params }))).toEqual(expected.toolCalls)
  expect(summary.finishReason).toBe(expected.finishReason)
  expect({
    input: summary.usage.inputTokens,
    output: summary.usage.outputTokens,
    cached: summary.usage.cachedInputTokens,
    reasoning: summary.usage.reasoningTokens
  }).toEqual(expected.usage)
  expect(summary.metadata.requestId).toBe(expected.responseId)
}

const codingBase = "https://api.z.ai/api/coding/paas/v4"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const clientLayer = GlmClient.layer({ apiKey: "test-key", plan: "coding" })

/** Runs one call the way the recorded client made it, answering with the recorded response. */
const replay = async (params: {
  readonly cassette: string
  readonly index: number
  readonly prompt: Prompt.Prompt
  readonly recorded: Json
}) => {
  const recorder = new MockUpstream.Recorder()
  server.use(
    MockUpstream.chatCompletions(
      codingBase,
      () => MockUpstream.recordedInteraction(params.cassette, params.index),
      recorder
    )
  )
  const { recorded } = params
  const { tools } = Result.getOrThrow(WireInput.toTools(recorded.tools as never))
  const toolkit = Toolkit.make(...tools)
  const toolChoice = WireInput.toToolChoice(recorded.tool_choice as never)
  const request = WireInput.passThroughParameters(recorded as ChatCompletions.ChatCompletionRequest)
  const layer = GlmLanguageModel.layer(String(recorded.model), { request }).pipe(Layer.provide(clientLayer))
  const options = { prompt: params.prompt, toolkit, toolChoice, disableToolCallResolution: true } as const
  // Dynamic tools (raw JSON Schema) have no handlers; resolution is disabled, so nothing else is required.
  const program = (
    recorded.stream === true
      ? Stream.runCollect(LanguageModel.streamText(options))
      : LanguageModel.generateText(options).pipe(Effect.map((response) => response.content))
  ) as Effect.Effect<ReadonlyArray<Response.AnyPart>, AiError.AiError, LanguageModel.LanguageModel>
  const parts = await Effect.runPromise(program.pipe(Effect.provide(layer)))
  expect(recorder.count).toBe(1)
  return { parts, sent: recorder.last().body as Json }
}

/**
 * What Conduit adds on purpose to a recorded request: `tool_stream` when streaming with tools on GLM-4.6+, and
 * `stream: true` with `stream_options.include_usage` on non-streaming calls, which GLM's spec sends in streaming mode
 * and assembles (`assembleNonStream`; the recorded JSON answer is read as the stream's one chunk).
 */
const withConduitAdditions = (recorded: Json): Json => {
  const info = GlmModels.get(String(recorded.model))
  const tools = (recorded.tools as Array<Json> | undefined) ?? []
  if (recorded.stream !== true) return { ...recorded, stream: true, stream_options: { include_usage: true } }
  return tools.length > 0 && info?.glm.toolStream === true ? { ...recorded, tool_stream: true } : recorded
}

const withoutReasoning = (messages: ReadonlyArray<Json>) =>
  messages.map(({ reasoning_content: _drop, ...rest }) => rest)

/**
 * Tool-call arguments compared as JSON values: the 2025-09 recordings re-serialized them with spaces
 * (`{"a": 2, "b": 3}`) where the model sent `{"a":2,"b":3}`.
 */
const parsedArguments = (body: Json): Json => ({
  ...body,
  messages: (body.messages as Array<Json>).map((message) =>
    Array.isArray(message.tool_calls)
      ? {
          ...message,
          tool_calls: (message.tool_calls as Array<Json>).map((call) => {
            const fn = call.function as Json
            return { ...call, function: { ...fn, arguments: JSON.parse(String(fn.arguments)) } }
          })
        }
      : message
  )
})

const cassettes = Recordings.available() ? Recordings.list("glm/fantasy", /\.yaml$/) : []

Recordings.describeRecordings("glm/fantasy cassettes replayed through GlmLanguageModel", () => {
  it("finds the cassettes", () => {
    expect(cassettes.length).toBeGreaterThanOrEqual(26)
  })

  for (const cassette of cassettes) {
    it(cassette.replace("glm/fantasy/", ""), async () => {
      const { interactions } = Recordings.readCassette(cassette)
      const first = interactions[0]
      if (first === undefined) throw new Error(`${cassette} has no interaction`)
      expect(first.request.url).toBe(`${codingBase}/chat/completions`)
      const recorded0 = first.request.json as Json
      const prompt0 = Result.getOrThrow(WireInput.toPrompt(recorded0.messages as never))

      // Turn 1: the request matches the recording (plus tool_stream where Conduit sends it), the parts match the
      // recorded response.
      const turn0 = await replay({ cassette, index: 0, prompt: prompt0, recorded: recorded0 })
      expect(turn0.sent).toEqual(withConduitAdditions(recorded0))
      const expected0 =
        first.response.sse !== undefined
          ? expectedFromSse(first.response.sse)
          : expectedFromBody(first.response.json as Json)
      expectSummary(ResponseSummary.fromParts(turn0.parts), expected0)

      const second = interactions[1]
      if (second === undefined) return
      // Turn 2: Conduit's own parts of the first answer plus the recorded tool results give the recorded request.
      const recorded1 = second.request.json as Json
      const results = (recorded1.messages as Array<Json>).filter((message) => message.role === "tool")
      const toolCalls = turn0.parts.filter((part) => part.type === "tool-call")
      const prompt1 = Prompt.concat(
        Prompt.concat(prompt0, Prompt.fromResponseParts(turn0.parts)),
        Prompt.fromMessages([
          Prompt.toolMessage({
            content: toolCalls.map((call) =>
              Prompt.toolResultPart({
                id: call.id,
                name: call.name,
                isFailure: false,
                result: String(results.find((result) => result.tool_call_id === call.id)?.content),
                providerExecuted: false
              })
            )
          })
        ])
      )
      const turn1 = await replay({ cassette, index: 1, prompt: prompt1, recorded: recorded1 })
      const sentMessages = turn1.sent.messages as Array<Json>
      const recordedMessages = recorded1.messages as Array<Json>
      const recordedAssistant = recordedMessages.find((message) => message.role === "assistant") as Json
      const sentAssistant = sentMessages.find((message) => message.role === "assistant") as Json
      if (typeof recordedAssistant.reasoning_content === "string") {
        // The recorded client replayed the reasoning (interleaved thinking): Conduit sends exactly the same body.
        expect(parsedArguments(turn1.sent)).toEqual(parsedArguments(withConduitAdditions(recorded1)))
      } else {
        // The older recorded client dropped the reasoning; Conduit replays it on the tool-call turn (interleaved
        // thinking, docs.z.ai thinking-mode), and the body is otherwise the same.
        expect(sentAssistant.reasoning_content).toBe(expected0.reasoning === "" ? undefined : expected0.reasoning)
        expect(parsedArguments({ ...turn1.sent, messages: withoutReasoning(sentMessages) })).toEqual(
          parsedArguments(withConduitAdditions({ ...recorded1, messages: withoutReasoning(recordedMessages) }))
        )
      }
      const expected1 =
        second.response.sse !== undefined
          ? expectedFromSse(second.response.sse)
          : expectedFromBody(second.response.json as Json)
      expectSummary(ResponseSummary.fromParts(turn1.parts), expected1)
    })
  }
})

const generalBase = "https://api.z.ai/api/paas/v4"

/** Answers one call with `respond` and returns Conduit's parts and the sent body. */
const answerWith = async (params: {
  readonly respond: () => globalThis.Response
  readonly model: string
  readonly stream: boolean
  readonly providerOptions?: GlmConfig.ModelConfig["providerOptions"]
}) => {
  const recorder = new MockUpstream.Recorder()
  server.use(MockUpstream.chatCompletions(generalBase, params.respond, recorder))
  const layer = GlmLanguageModel.layer(params.model, { providerOptions: params.providerOptions }).pipe(
    Layer.provide(GlmClient.layer({ apiKey: "test-key" }))
  )
  const parts: ReadonlyArray<Response.AnyPart> = params.stream
    ? await Effect.runPromise(
        Stream.runCollect(LanguageModel.streamText({ prompt: "你好，你是谁" })).pipe(Effect.provide(layer))
      )
    : await Effect.runPromise(
        LanguageModel.generateText({ prompt: "你好，你是谁" }).pipe(
          Effect.map((response) => response.content as ReadonlyArray<Response.AnyPart>),
          Effect.provide(layer)
        )
      )
  return { parts, sent: recorder.last().body as Json }
}

Recordings.describeRecordings("glm/octollm and glm/docs examples replayed through GlmLanguageModel", () => {
  it("octollm/glm-4.6_nonstream_reasoning.json: reasoning, cached and reasoning tokens", async () => {
    const body = Recordings.readJson("glm/octollm/glm-4.6_nonstream_reasoning.json") as Json
    const { parts } = await answerWith({ respond: () => MockUpstream.json(body), model: "glm-4.6", stream: false })
    expectSummary(ResponseSummary.fromParts(parts), expectedFromBody(body))
    expect(ResponseSummary.fromParts(parts).usage).toMatchObject({ cachedInputTokens: 4, reasoningTokens: 253 })
  })

  it("octollm/glm-4.6_stream_reasoning_chunks.sse: reasoning stream with a trailing choices: [] usage chunk", async () => {
    const file = "glm/octollm/glm-4.6_stream_reasoning_chunks.sse"
    const { parts } = await answerWith({
      respond: () => MockUpstream.recordedSse(file),
      model: "glm-4.6",
      stream: true
    })
    const expected = expectedFromSse(Recordings.readSse(file))
    expectSummary(ResponseSummary.fromParts(parts), expected)
    expect(expected.usage).toEqual({ input: 9, output: 1024, cached: 7, reasoning: 0 })
  })

  it("docs/zai_docs_streaming_example.sse: the documented stream (one chunk per data line)", async () => {
    // The docs print the chunks on consecutive `data:` lines (one SSE event by the SSE rules) with an ellipsis
    // line in between; each line is one chunk as the API sends it.
    const lines = Recordings.readSse("glm/docs/zai_docs_streaming_example.sse").flatMap((data) => data.split("\n"))
    const chunks = lines.filter((line) => line.trim() !== "[DONE]").map((line) => JSON.parse(line) as unknown)
    const { parts } = await answerWith({ respond: () => MockUpstream.sse(chunks), model: "glm-4.6", stream: true })
    expectSummary(ResponseSummary.fromParts(parts), expectedFromSse(lines))
    expect(ResponseSummary.fromParts(parts).text).toBe("Spring comes with")
  })

  it("docs/zai_docs_thinking_response_example.json: the documented thinking response", async () => {
    const body = Recordings.readJson("glm/docs/zai_docs_thinking_response_example.json") as Json
    const { parts } = await answerWith({ respond: () => MockUpstream.json(body), model: "glm-4.6", stream: false })
    expectSummary(ResponseSummary.fromParts(parts), expectedFromBody(body))
  })

  it("docs/zai_docs_web_search_in_chat_*: the documented tool object is sent, the results become source parts", async () => {
    // The request example is Python; its `tools` literal is JSON with booleans and numbers written as strings.
    const script = Recordings.readText("glm/docs/zai_docs_web_search_in_chat_request_example.py")
    const literal = /tools = (\[[\s\S]*?\n\}\])/.exec(script)?.[1]
    if (literal === undefined) throw new Error("no tools literal in the request example")
    const documented = (JSON.parse(literal) as Array<{ web_search: Record<string, string> }>)[0]?.web_search ?? {}
    const typed = Object.fromEntries(
      Object.entries(documented).map(([key, value]) => [
        key,
        value === "True" ? true : value === "False" ? false : /^\d+$/.test(value) ? Number(value) : value
      ])
    ) as NonNullable<NonNullable<GlmConfig.ModelConfig["providerOptions"]>["web_search"]>
    const body = Recordings.readJson("glm/docs/zai_docs_web_search_in_chat_response_example.json") as Json
    const { parts, sent } = await answerWith({
      respond: () => MockUpstream.json(body),
      model: "glm-4-air",
      stream: false,
      providerOptions: { web_search: typed }
    })
    expect(sent.tools).toEqual([{ type: "web_search", web_search: typed }])
    expect(sent.tool_choice).toBe("auto")
    const summary = ResponseSummary.fromParts(parts)
    expectSummary(summary, expectedFromBody(body))
    const results = body.web_search as Array<Json>
    expect(summary.sources).toEqual(
      results.map((result) => ({
        id: result.refer,
        url: result.link,
        title: result.title,
        metadata: {
          glm: {
            refer: result.refer,
            media: result.media,
            icon: result.icon,
            content: result.content,
            ...(result.publish_date ? { publishDate: result.publish_date } : {})
          }
        }
      }))
    )
  })
})

Recordings.describeRecordings("scenario data is ours, not the recordings'", () => {
  // The recordings are third-party data: the scenarios and the mock reproduce their shapes with values we authored.
  it("no tool-call id or usage of src/testing appears in a recording", async () => {
    const GlmScenarios = await import("../src/testing/GlmScenarios.js")
    const GlmMock = await import("../src/testing/GlmMock.js")
    const authored = JSON.stringify(GlmScenarios)
    const mockBody = await GlmMock.defaultChat({
      model: "glm-4.6",
      messages: [{ role: "user", content: "add" }],
      tools: [{ type: "function", function: { name: "add", parameters: { properties: { a: { type: "number" } } } } }]
    }).text()
    const files = [
      ...Recordings.list("glm/fantasy", /\.yaml$/),
      ...Recordings.list("glm/octollm"),
      ...Recordings.list("glm/docs")
    ]
    const recorded = files.map((file) => Recordings.readText(file)).join("\n")
    const ids = new Set([...`${authored}${mockBody}`.matchAll(/call_-?[0-9a-f]{6,}/g)].map((match) => match[0]))
    expect(ids.size).toBeGreaterThan(3)
    for (const id of ids) expect(recorded.includes(id), id).toBe(false)
    const recordedUsages = new Set([
      ...[...recorded.matchAll(/\\?"prompt_tokens\\?":\s*(\d+),\s*\\?"completion_tokens\\?":\s*(\d+)/g)].map(
        (m) => `${m[1]}/${m[2]}`
      ),
      ...[...recorded.matchAll(/\\?"completion_tokens\\?":\s*(\d+),\s*\\?"prompt_tokens\\?":\s*(\d+)/g)].map(
        (m) => `${m[2]}/${m[1]}`
      )
    ])
    expect(recordedUsages.size).toBeGreaterThan(20) // the reader does see the recordings' usage
    const ours = [...`${authored}${mockBody}`.matchAll(/"prompt_tokens":(\d+),"completion_tokens":(\d+)/g)]
      .map((m) => `${m[1]}/${m[2]}`)
      // tiny pairs (a 5-token prompt) can coincide by chance; the tool scenarios' usages are the ones to keep apart
      .filter((pair) => Number(pair.split("/")[0]) > 100)
    expect(ours.length).toBeGreaterThan(0)
    for (const pair of ours) expect(recordedUsages.has(pair), pair).toBe(false)
  })
})
