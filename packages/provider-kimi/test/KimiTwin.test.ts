/**
 * The Kimi twin held against the live recordings (`kimi/vercel-ai/*`): a request of the recorded shape sent to
 * `KimiMock` must be answered in the recording's shape (fields, types, placement of usage, reasoning, cached tokens
 * and tool calls; streams: the same set of chunk shapes), table-driven. Then the behaviours no live recording
 * covers: streamed tool calls (ids, index, argument fragments), structured output for a schema, the tool loop.
 */
import { Sse } from "@conduitkit/core"
import { Recordings, Twin } from "@conduitkit/core/testing"
import { Ajv } from "ajv"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { KimiMock } from "../src/testing/index.js"
import { testKey } from "./helpers.js"

const base = "https://api.moonshot.ai/v1"
const server = setupServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

// biome-ignore lint/suspicious/noExplicitAny: raw wire JSON in assertions
type Wire = any

const post = (body: unknown) =>
  fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${testKey}` },
    body: JSON.stringify(body)
  })

const chunksOf = async (response: Response): Promise<Array<Wire>> =>
  Sse.decodeAll(await response.text())
    .map((event) => event.data)
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data))

const distinctShapes = (chunks: ReadonlyArray<unknown>) =>
  [...new Set(chunks.map((chunk) => JSON.stringify(Twin.shapeOf(chunk))))].sort()

const user = (content: string) => ({ role: "user", content })
const ping = { type: "function", function: { name: "ping", description: "Ping", parameters: { type: "object" } } }
const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather of a city",
    parameters: {
      type: "object",
      properties: { city: { type: "string" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } },
      required: ["city", "unit"]
    }
  }
}

Recordings.describeRecordings("the twin answers in the recorded shape", () => {
  it.each([
    {
      name: "a forced tool call on kimi-k3: moonshotai-k3-required-tool-choice.json",
      recording: "kimi/vercel-ai/moonshotai-k3-required-tool-choice.json",
      request: { model: "kimi-k3", messages: [user("Call the ping tool.")], tools: [ping], tool_choice: "required" },
      repeat: false
    },
    {
      name: "text on moonshot-v1-8k: moonshotai-max-completion-tokens.json",
      recording: "kimi/vercel-ai/moonshotai-max-completion-tokens.json",
      request: { model: "moonshot-v1-8k", messages: [user("Reply with OK")] },
      repeat: false
    },
    {
      name: "json_object on moonshot-v1-8k: moonshotai-v1-structured-output.json",
      recording: "kimi/vercel-ai/moonshotai-v1-structured-output.json",
      request: {
        model: "moonshot-v1-8k",
        messages: [user("Answer ok as JSON")],
        response_format: { type: "json_object" }
      },
      repeat: false
    },
    {
      name: "json_object on kimi-k3, prefix cached: moonshotai-issue-19544-json-object.json",
      recording: "kimi/vercel-ai/moonshotai-issue-19544-json-object.json",
      request: {
        model: "kimi-k3",
        messages: [user("Reply with an empty JSON object")],
        response_format: { type: "json_object" }
      },
      repeat: true
    },
    {
      name: "thinking text on kimi-k3, prefix cached: moonshotai-usage-live.json",
      recording: "kimi/vercel-ai/moonshotai-usage-live.json",
      request: { model: "kimi-k3", messages: [user("Reply with exactly OK")] },
      repeat: true
    }
  ])("$name", async ({ recording, request, repeat }) => {
    // the recordings predate the retirement of moonshot-v1 and kimi-k2.5
    server.use(...KimiMock.make({ serveRetired: true }).handlers)
    if (repeat) await post(request)
    const body: Wire = await (await post(request)).json()
    const recorded = Recordings.readJson(recording) as Wire
    expect(Twin.shapeOf(body)).toEqual(Twin.shapeOf(recorded))
    expect(body.choices[0].finish_reason).toBe(recorded.choices[0].finish_reason)
    const calls = body.choices[0].message.tool_calls ?? []
    expect(calls.map((call: Wire) => call.id)).toEqual(
      (recorded.choices[0].message.tool_calls ?? []).map((call: Wire) => call.id)
    )
    if (request.response_format !== undefined) {
      expect(typeof JSON.parse(body.choices[0].message.content)).toBe("object")
    }
    const usage = body.usage
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens)
    if (repeat) expect(usage.cached_tokens).toBe(usage.prompt_tokens)
  })

  it.each([
    {
      name: "kimi-k3 with include_usage, prefix cached: moonshotai-usage-live.chunks.txt",
      recording: "kimi/vercel-ai/moonshotai-usage-live.chunks.txt",
      request: {
        model: "kimi-k3",
        messages: [user("Reply with exactly OK")],
        stream: true,
        stream_options: { include_usage: true }
      },
      repeat: true
    },
    {
      name: "kimi-k2.5 without include_usage (usage only in choices[0]): moonshotai-stream-choice-usage.chunks.txt",
      recording: "kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt",
      request: { model: "kimi-k2.5", messages: [user("Reply with OK.")], stream: true },
      repeat: false
    },
    {
      name: "moonshot-v1-8k with include_usage: moonshotai-max-completion-tokens.chunks.txt",
      recording: "kimi/vercel-ai/moonshotai-max-completion-tokens.chunks.txt",
      request: {
        model: "moonshot-v1-8k",
        messages: [user("Reply with OK")],
        stream: true,
        stream_options: { include_usage: true }
      },
      repeat: false
    }
  ])("$name", async ({ recording, request, repeat }) => {
    // the recordings predate the retirement of moonshot-v1 and kimi-k2.5
    server.use(...KimiMock.make({ serveRetired: true }).handlers)
    if (repeat) await (await post(request)).text()
    const chunks = await chunksOf(await post(request))
    expect(distinctShapes(chunks)).toEqual(distinctShapes(Recordings.readChunks(recording)))
  })
})

describe("the twin's tool calls", () => {
  const ajv = new Ajv({ strict: false })

  it("streamed: the first fragment carries index, id, type, name and empty arguments; the rest index and pieces", async () => {
    server.use(...KimiMock.make().handlers)
    const request = {
      model: "kimi-k2.6",
      messages: [user("What's the weather in Paris and in Tokyo?")],
      tools: [weather],
      stream: true
    }
    const chunks = await chunksOf(await post(request))
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? [])
    const heads = deltas.filter((delta: Wire) => delta.id !== undefined)
    expect(heads).toEqual([
      { index: 0, id: "get_weather_0", type: "function", function: { name: "get_weather", arguments: "" } },
      { index: 1, id: "get_weather_1", type: "function", function: { name: "get_weather", arguments: "" } }
    ])
    const pieces = deltas.filter((delta: Wire) => delta.id === undefined)
    expect(pieces.every((delta: Wire) => Object.keys(delta).sort().join() === "function,index")).toBe(true)
    const args = [0, 1].map((index) =>
      JSON.parse(
        pieces
          .filter((delta: Wire) => delta.index === index)
          .map((delta: Wire) => delta.function.arguments)
          .join("")
      )
    )
    expect(args.map((value) => value.city)).toEqual(["Paris", "Tokyo"])
    for (const value of args) expect(ajv.validate(weather.function.parameters, value)).toBe(true)
    // kimi-k2.6 thinks by default: reasoning first, quoting the request
    const reasoning = chunks.map((chunk) => chunk.choices[0]?.delta.reasoning_content ?? "").join("")
    expect(reasoning).toContain("What's the weather in Paris and in Tokyo?")
    expect(chunks.at(-1)?.choices[0].finish_reason).toBe("tool_calls")
    // the non-stream answer carries the same calls
    const body: Wire = await (await post({ ...request, stream: false })).json()
    expect(body.choices[0].message.tool_calls.map((call: Wire) => JSON.parse(call.function.arguments))).toEqual(args)
  })

  it("after the tool results: an answer that uses them, saying it is simulated", async () => {
    server.use(...KimiMock.make().handlers)
    const body: Wire = await (
      await post({
        model: "kimi-k2.6",
        thinking: { type: "disabled" },
        tools: [weather],
        messages: [
          user("Weather in Paris?"),
          {
            role: "assistant",
            content: "",
            tool_calls: [
              {
                id: "get_weather_0",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' }
              }
            ]
          },
          { role: "tool", tool_call_id: "get_weather_0", content: "22 C and sunny" }
        ]
      })
    ).json()
    expect(body.choices[0].message.content).toBe("Simulated Kimi: get_weather returned: 22 C and sunny.")
    expect(body.choices[0].finish_reason).toBe("stop")
  })

  it("json_schema: content valid for the schema, indented as moonshot-v1 answers", async () => {
    server.use(...KimiMock.make().handlers)
    const schema = {
      type: "object",
      properties: { title: { type: "string" }, year: { type: "integer", minimum: 1900 } },
      required: ["title", "year"],
      additionalProperties: false
    }
    const body: Wire = await (
      await post({
        model: "kimi-k3",
        messages: [user('Describe the film "Alien" from 1979')],
        response_format: { type: "json_schema", json_schema: { name: "film", schema, strict: true } }
      })
    ).json()
    const content = body.choices[0].message.content
    expect(JSON.parse(content)).toEqual({ title: "Alien", year: 1979 })
    expect(content).toBe(JSON.stringify({ title: "Alien", year: 1979 }, null, 2))
  })
})

Recordings.describeRecordings("refusals as the live API answers them", () => {
  const quoted = Recordings.readText("kimi/other-repos/error-messages-from-issues.txt")
  it.each([
    {
      name: "a thinking model's tool-call turn without reasoning_content (error-messages-from-issues.txt)",
      request: {
        model: "kimi-k2.6",
        messages: [
          { role: "system", content: "You are helpful." },
          user("Weather in Paris?"),
          {
            role: "assistant",
            content: "",
            tool_calls: [{ id: "get_weather_0", type: "function", function: { name: "get_weather", arguments: "{}" } }]
          },
          { role: "tool", tool_call_id: "get_weather_0", content: "sunny" }
        ],
        tools: [weather]
      },
      body: {
        error: {
          message: "thinking is enabled but reasoning_content is missing in assistant tool call message at index 2",
          type: "invalid_request_error"
        }
      }
    },
    {
      name: "a pinned temperature (errors/moonshotai-kimi-k3-temperature-rejection.json)",
      request: { model: "kimi-k3", messages: [user("hi")], temperature: 0.5 },
      body: Recordings.readJson("kimi/vercel-ai/errors/moonshotai-kimi-k3-temperature-rejection.json")
    },
    {
      name: "thinking disabled on a model that always thinks (errors/moonshotai-k2.7-disabled-thinking-error.json)",
      request: { model: "kimi-k2.7-code", messages: [user("hi")], thinking: { type: "disabled" } },
      body: Recordings.readJson("kimi/vercel-ai/errors/moonshotai-k2.7-disabled-thinking-error.json")
    },
    {
      name: "tool_choice required with thinking on (errors/moonshotai-required-tool-choice-error.json)",
      request: {
        model: "kimi-k2.6",
        messages: [user("hi")],
        tools: [ping],
        tool_choice: "required",
        thinking: { type: "enabled" }
      },
      body: Recordings.readJson("kimi/vercel-ai/errors/moonshotai-required-tool-choice-error.json")
    }
  ])("$name", async ({ request, body }) => {
    server.use(...KimiMock.make().handlers)
    const response = await post(request)
    expect(response.status).toBe(400)
    const answer: Wire = await response.json()
    expect(answer).toEqual(body)
    if (request.model === "kimi-k2.6" && request.tool_choice === undefined) {
      expect(quoted).toContain(answer.error.message)
    }
  })
})
