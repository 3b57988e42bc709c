/**
 * The gateway driven by the real `openai` SDK: stream and non-stream, reasoning, usage details, tools and tool
 * results, reasoning replay, wire parameters, models.yaml names with fallbacks and defaults, headers, idempotency,
 * sessions and stored conversations. Upstreams are reference providers simulated with MSW.
 */
import { MockUpstream } from "@conduitkit/core/testing"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import {
  chunk,
  client,
  completionBody,
  errorBody,
  type Json,
  model,
  mswServer,
  realFetch,
  referenceEntry,
  respond,
  type Started,
  startGateway,
  usageChunk
} from "./support.js"

const server = mswServer()
let gateway: Started

const models = {
  models: {
    smart: { target: "ref/ref-chat-1", fallbacks: ["backup/ref-chat-1"] },
    tuned: { target: "ref/ref-chat-1", defaults: { temperature: 0.3, max_tokens: 100 } }
  }
}

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({ providers: [referenceEntry("ref"), referenceEntry("backup")], models })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  server.close()
})

const user = (content: string) => ({ role: "user" as const, content })
const detailedUsage = {
  prompt_tokens: 1200,
  completion_tokens: 300,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 1024 },
  completion_tokens_details: { reasoning_tokens: 250 }
}

describe("non-stream", () => {
  it("answers with content, reasoning_content, detailed usage and the gateway headers", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.json(
        completionBody({ content: "Paris.", reasoning_content: "The capital of France." }, "stop", detailedUsage)
      )
    )
    const { data, response } = await client(gateway)
      .chat.completions.create({ model: "ref/ref-chat-1", messages: [user("Capital of France?")] })
      .withResponse()
    expect(data.object).toBe("chat.completion")
    // OpenAI reports the model that answered; the name the client sent is in a header
    expect(data.model).toBe(model)
    expect(response.headers.get("x-conduit-requested-model")).toBe("ref/ref-chat-1")
    expect(data.choices[0]?.message.content).toBe("Paris.")
    expect(data.choices[0]?.message.refusal).toBeNull()
    expect(data.choices[0]?.logprobs).toBeNull()
    expect((data.choices[0]?.message as unknown as { reasoning_content?: string } | undefined)?.reasoning_content).toBe(
      "The capital of France."
    )
    expect(data.choices[0]?.finish_reason).toBe("stop")
    expect(data.usage).toEqual(detailedUsage)
    expect(response.headers.get("x-request-id")).toMatch(/^req_/)
    expect(response.headers.get("x-conduit-provider")).toBe("ref")
    expect(response.headers.get("x-conduit-attempts")).toBe("1")
    // the upstream got the provider's model id, the message, and no stream flag
    expect(recorder.last().body).toMatchObject({ model, messages: [{ role: "user", content: "Capital of France?" }] })
    expect((recorder.last().body as { stream?: boolean }).stream ?? false).toBe(false)
  })

  it("keeps a client's x-request-id and reports retried attempts", async () => {
    respond(server, "ref", ({ index }) =>
      index === 0
        ? MockUpstream.error(500, errorBody("try again", "server_error", null))
        : MockUpstream.json(completionBody({ content: "ok" }))
    )
    const { response } = await client(gateway)
      .chat.completions.create(
        { model: "ref/ref-chat-1", messages: [user("hi")] },
        { headers: { "x-request-id": "trace-42" } }
      )
      .withResponse()
    expect(response.headers.get("x-request-id")).toBe("trace-42")
    expect(response.headers.get("x-conduit-attempts")).toBe("2")
  })

  it("passes wire parameters through (response_format, sampling, provider extras)", async () => {
    const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: '{"a":1}' })))
    await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [user("json please")],
      response_format: { type: "json_object" },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ["END"],
      seed: 7,
      // a provider extra the SDK does not know
      ...({ thinking: { type: "disabled" } } as object)
    })
    expect(recorder.last().body).toMatchObject({
      response_format: { type: "json_object" },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ["END"],
      seed: 7,
      thinking: { type: "disabled" }
    })
  })
})

describe("stream", () => {
  const reasoningStream = [
    chunk({ role: "assistant", reasoning_content: "The user" }),
    chunk({ reasoning_content: " greets." }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo!" }),
    chunk({}, "stop"),
    usageChunk(detailedUsage)
  ]

  it("streams content and reasoning_content deltas, then the usage chunk, with headers before the first byte", async () => {
    const recorder = respond(server, "ref", () => MockUpstream.sse(reasoningStream))
    const { data: stream, response } = await client(gateway)
      .chat.completions.create({
        model: "ref/ref-chat-1",
        messages: [user("hi")],
        stream: true,
        stream_options: { include_usage: true }
      })
      .withResponse()
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    expect(response.headers.get("x-conduit-provider")).toBe("ref")
    expect(response.headers.get("x-conduit-attempts")).toBe("1")
    expect(response.headers.get("x-conduit-requested-model")).toBe("ref/ref-chat-1")
    let text = ""
    let reasoning = ""
    const roles: Array<string> = []
    const finishes: Array<string> = []
    let usage: unknown
    for await (const c of stream) {
      const delta = c.choices[0]?.delta as { content?: string; reasoning_content?: string; role?: string } | undefined
      text += delta?.content ?? ""
      reasoning += delta?.reasoning_content ?? ""
      if (delta?.role) roles.push(delta.role)
      if (c.choices[0]?.finish_reason) finishes.push(c.choices[0].finish_reason)
      if (c.usage) usage = c.usage
      expect(c.model).toBe(model)
    }
    expect(text).toBe("Hello!")
    expect(reasoning).toBe("The user greets.")
    expect(roles).toEqual(["assistant"])
    expect(finishes).toEqual(["stop"])
    expect(usage).toEqual(detailedUsage)
    expect(recorder.last().body).toMatchObject({ stream: true })
  })

  it("streams tool calls by index", async () => {
    respond(server, "ref", () =>
      MockUpstream.sse([
        chunk({
          role: "assistant",
          tool_calls: [{ index: 0, id: "call_9", type: "function", function: { name: "get_weather", arguments: "" } }]
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"loca' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: 'tion":"Oslo"}' } }] }),
        chunk({}, "tool_calls")
      ])
    )
    const stream = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [user("weather in Oslo?")],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] }
          }
        }
      ],
      stream: true
    })
    let args = ""
    const ids: Array<string> = []
    let finish: string | null = null
    for await (const c of stream) {
      for (const call of c.choices[0]?.delta.tool_calls ?? []) {
        expect(call.index).toBe(0)
        if (call.id) ids.push(call.id)
        args += call.function?.arguments ?? ""
      }
      finish = c.choices[0]?.finish_reason ?? finish
    }
    expect(ids).toEqual(["call_9"])
    expect(JSON.parse(args)).toEqual({ location: "Oslo" })
    expect(finish).toBe("tool_calls")
  })
})

describe("tools", () => {
  const weatherTool = {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather by city",
      parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] }
    }
  }

  it("declares the client's tools upstream and returns the model's calls (never runs them)", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.json(
        completionBody(
          {
            content: null,
            tool_calls: [
              { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
            ]
          },
          "tool_calls"
        )
      )
    )
    const response = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [user("weather in Paris?")],
      tools: [weatherTool],
      tool_choice: "required"
    })
    expect(response.choices[0]?.finish_reason).toBe("tool_calls")
    expect(response.choices[0]?.message.content).toBeNull()
    expect(response.choices[0]?.message.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
    ])
    expect(recorder.count).toBe(1)
    const sent = recorder.last().body as { tools: Array<{ function: { name: string } }>; tool_choice: unknown }
    expect(sent.tools.map((tool) => tool.function.name)).toEqual(["get_weather"])
    expect(sent.tool_choice).toBe("required")
  })

  it("sends tool results back with their call ids, and replays the reasoning of the tool-call turn", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.json(completionBody({ content: "It is 18 °C in Paris." }))
    )
    const response = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      tools: [weatherTool],
      messages: [
        user("weather in Paris?"),
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }
          ],
          // what a thinking model returned; the client sends it back
          ...({ reasoning_content: "I should look up the weather." } as object)
        },
        { role: "tool", tool_call_id: "call_1", content: '{"celsius":18}' }
      ]
    })
    expect(response.choices[0]?.message.content).toBe("It is 18 °C in Paris.")
    const sent = recorder.last().body as { messages: Array<Record<string, unknown>> }
    expect(sent.messages[1]).toMatchObject({
      role: "assistant",
      reasoning_content: "I should look up the weather.",
      tool_calls: [{ id: "call_1", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }]
    })
    expect(sent.messages[2]).toMatchObject({ role: "tool", tool_call_id: "call_1", content: '{"celsius":18}' })
  })
})

describe("warnings", () => {
  it("what core adapted or flags (a retired model) reaches the client in x-conduit-warnings and the log line", async () => {
    respond(server, "ref", ({ body }) =>
      body.stream === true
        ? MockUpstream.sse([chunk({ role: "assistant", content: "still here" }), chunk({}, "stop")])
        : MockUpstream.json(completionBody({ content: "still here" }))
    )
    const { data, response } = await client(gateway)
      .chat.completions.create({ model: "ref/ref-old", messages: [user("hi")] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe("still here")
    const header = response.headers.get("x-conduit-warnings") ?? ""
    expect(header).toContain("ref-old")
    expect(header).toContain("retired")
    const requestId = response.headers.get("x-request-id")
    const line = gateway.logs.find((entry) => JSON.stringify(entry).includes(String(requestId)) && "warnings" in entry)
    expect(line?.warnings).toEqual([expect.stringContaining("retired")])

    const { data: stream, response: streamed } = await client(gateway)
      .chat.completions.create({ model: "ref/ref-old", messages: [user("hi")], stream: true })
      .withResponse()
    for await (const _ of stream) {
      // drain
    }
    expect(streamed.headers.get("x-conduit-warnings")).toBe(header)

    // a model without anything to say: no header
    const { response: plain } = await client(gateway)
      .chat.completions.create({ model: "ref/ref-chat-1", messages: [user("hi")] })
      .withResponse()
    expect(plain.headers.get("x-conduit-warnings")).toBeNull()
  })
})

describe("models.yaml names", () => {
  it("falls back to the next provider when the target is overloaded (non-stream and stream)", async () => {
    const primary = respond(server, "ref", () => MockUpstream.error(503, errorBody("overloaded", "server_error", null)))
    respond(server, "backup", () => MockUpstream.json(completionBody({ content: "from backup" })))
    const { data, response } = await client(gateway)
      .chat.completions.create({ model: "smart", messages: [user("hi")] })
      .withResponse()
    expect(data.choices[0]?.message.content).toBe("from backup")
    expect(data.model).toBe(model)
    expect(response.headers.get("x-conduit-requested-model")).toBe("smart")
    expect(response.headers.get("x-conduit-provider")).toBe("backup")
    expect(Number(response.headers.get("x-conduit-attempts"))).toBe(primary.count + 1)

    respond(server, "backup", () =>
      MockUpstream.sse([chunk({ role: "assistant", content: "streamed backup" }), chunk({}, "stop")])
    )
    const { data: stream, response: streamResponse } = await client(gateway)
      .chat.completions.create({ model: "smart", messages: [user("hi")], stream: true })
      .withResponse()
    let text = ""
    for await (const c of stream) text += c.choices[0]?.delta.content ?? ""
    expect(text).toBe("streamed backup")
    expect(streamResponse.headers.get("x-conduit-provider")).toBe("backup")
  })

  it("applies the name's defaults, which the client's own values override", async () => {
    const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: "ok" })))
    await client(gateway).chat.completions.create({ model: "tuned", messages: [user("hi")] })
    expect(recorder.last().body).toMatchObject({ temperature: 0.3, max_tokens: 100 })
    await client(gateway).chat.completions.create({ model: "tuned", messages: [user("hi")], temperature: 0.9 })
    expect(recorder.last().body).toMatchObject({ temperature: 0.9, max_tokens: 100 })
  })

  it("lists every routable name with target, fallbacks, context window and capabilities", async () => {
    const list = await client(gateway).models.list()
    const byId = new Map(list.data.map((entry) => [entry.id, entry as unknown as Record<string, unknown>]))
    expect(byId.get("smart")).toMatchObject({
      object: "model",
      owned_by: "ref",
      target: "ref/ref-chat-1",
      fallbacks: ["backup/ref-chat-1"],
      context_window: 128_000,
      capabilities: { tools: true, thinking: "optional" }
    })
    expect(byId.get("backup/ref-chat-1")).toMatchObject({ owned_by: "backup", context_window: 128_000 })
    // a retired model is listed and routed: its lifecycle is information, not a gate
    expect(byId.get("ref/ref-old")).toMatchObject({ lifecycle: "retired" })
    const one = await client(gateway).models.retrieve("tuned")
    expect(one.id).toBe("tuned")
  })
})

describe("idempotency keys", () => {
  it("runs a request once per key: a retry with the same key replays the answer", async () => {
    const recorder = respond(server, "ref", ({ index }) =>
      MockUpstream.json(completionBody({ content: `answer ${index}` }))
    )
    const send = () =>
      client(gateway)
        .chat.completions.create(
          { model: "ref/ref-chat-1", messages: [user("charge the card")] },
          { headers: { "Idempotency-Key": "order-1234" } }
        )
        .withResponse()
    const first = await send()
    const second = await send()
    expect(first.data.choices[0]?.message.content).toBe("answer 0")
    expect(second.data.choices[0]?.message.content).toBe("answer 0")
    expect(second.response.headers.get("x-conduit-attempts")).toBe("0")
    expect(recorder.count).toBe(1)
  })
})

describe("sessions", () => {
  it("runs the turns of one x-session-id one at a time; other sessions run alongside", async () => {
    let active = 0
    let peak = 0
    // each upstream call lasts until a second one runs beside it, at most `holdMs`: turns run one at a time wait it
    // out, turns that run alongside meet however late a loaded machine starts the second
    let holdMs = 60
    respond(server, "ref", async () => {
      active++
      peak = Math.max(peak, active)
      const until = Date.now() + holdMs
      while (active < 2 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5))
      active--
      return MockUpstream.json(completionBody({ content: "ok" }))
    })
    const send = (session: string) =>
      client(gateway).chat.completions.create(
        { model: "ref/ref-chat-1", messages: [user("hi")] },
        { headers: { "x-session-id": session } }
      )
    await Promise.all([send("conversation-a"), send("conversation-a"), send("conversation-a")])
    expect(peak).toBe(1)
    peak = 0
    holdMs = 20_000
    await Promise.all([send("conversation-b"), send("conversation-c")])
    expect(peak).toBe(2)
  })

  it("refuses a malformed session id", async () => {
    const response = await realFetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-session-id": "no spaces allowed" },
      body: JSON.stringify({ model: "ref/ref-chat-1", messages: [user("hi")] })
    })
    expect(response.status).toBe(400)
    expect(((await response.json()) as Json).error.param).toBe("x-session-id")
  })
})

describe("stored conversations (CONDUIT_CONVERSATIONS=1)", () => {
  let withHistory: Started
  beforeAll(async () => {
    withHistory = await startGateway({ config: { conversations: true } })
  })
  afterAll(() => withHistory.close())

  it("prepends the session's history, so the client sends only the new turn (stream and non-stream)", async () => {
    const recorder = respond(server, "ref", ({ index, body }) =>
      body.stream === true
        ? MockUpstream.sse([chunk({ role: "assistant", content: `answer ${index}` }), chunk({}, "stop")])
        : MockUpstream.json(completionBody({ content: `answer ${index}` }))
    )
    const headers = { "x-session-id": "chat-77" }
    await client(withHistory).chat.completions.create(
      { model: "ref/ref-chat-1", messages: [user("first")] },
      { headers }
    )
    const stream = await client(withHistory).chat.completions.create(
      { model: "ref/ref-chat-1", messages: [user("second")], stream: true },
      { headers }
    )
    for await (const _ of stream) {
      // drain
    }
    await client(withHistory).chat.completions.create(
      { model: "ref/ref-chat-1", messages: [user("third")] },
      { headers }
    )
    const sent = recorder.last().body as { messages: Array<{ role: string; content: unknown }> }
    expect(sent.messages.map((m) => [m.role, m.content])).toEqual([
      ["user", "first"],
      ["assistant", "answer 0"],
      ["user", "second"],
      ["assistant", "answer 1"],
      ["user", "third"]
    ])
    // another session starts empty
    await client(withHistory).chat.completions.create(
      { model: "ref/ref-chat-1", messages: [user("alone")] },
      { headers: { "x-session-id": "chat-78" } }
    )
    expect((recorder.last().body as { messages: Array<unknown> }).messages).toHaveLength(1)
  })
})
