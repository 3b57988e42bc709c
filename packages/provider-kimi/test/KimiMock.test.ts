/**
 * The testing entry point: the MSW handlers answer like Moonshot (their error bodies equal the recorded ones), and
 * the authored scenario data has exactly the recorded wire shapes.
 */
import { Recordings } from "@conduitkit/core/testing"
import { Result } from "effect"
import { setupServer } from "msw/node"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Sampling from "../src/internal/sampling.js"
import * as KimiModels from "../src/KimiModels.js"
import { KimiMock, KimiScenarios } from "../src/testing/index.js"
import { testKey } from "./helpers.js"

const info = (id: string) => KimiModels.catalog.get(id) as KimiModels.KimiModelInfo

/** The shape of a JSON value: leaves replaced by their type, arrays by the shape of their first element. */
const shapeOf = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])]
  if (value === null) return "null"
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, child]) => [key, shapeOf(child)])
    )
  }
  return typeof value
}

type Chunk = { choices?: Array<{ delta?: Record<string, unknown>; finish_reason?: unknown }>; usage?: unknown }
/** The role each chunk of a stream plays, to compare streams chunk kind by chunk kind. */
const kindOf = (chunk: Chunk): string => {
  const choice = chunk.choices?.[0]
  if (choice === undefined) return "trailing-usage"
  if (typeof choice.finish_reason === "string") return "finish"
  const delta = choice.delta ?? {}
  if ("role" in delta) return "first"
  if (delta.reasoning_content === "") return "reasoning-switch"
  if (typeof delta.reasoning_content === "string") return "reasoning"
  if (delta.tool_calls !== undefined) return "tool-call"
  return "content"
}
const shapesByKind = (chunks: ReadonlyArray<unknown>) => {
  const out: Record<string, unknown> = {}
  for (const chunk of chunks) out[kindOf(chunk as Chunk)] ??= shapeOf(chunk)
  return out
}

Recordings.describeRecordings("authored scenarios have the recorded wire shapes", () => {
  it("a kimi-k3 stream with include_usage: as moonshotai-usage-live.chunks.txt", () => {
    const recorded = Recordings.readChunks("kimi/vercel-ai/moonshotai-usage-live.chunks.txt")
    const authored = KimiScenarios.chunks(
      {
        model: "kimi-k3",
        reasoning: ["The", " user"],
        text: ["OK"],
        usage: { prompt: 90, completion: 50, cached: 90, reasoning: 33 }
      },
      { includeUsage: true }
    )
    expect(shapesByKind(authored)).toEqual(shapesByKind(recorded))
    expect(authored.map((chunk) => kindOf(chunk as Chunk)).filter((kind, i, all) => all.indexOf(kind) === i)).toEqual(
      recorded.map((chunk) => kindOf(chunk as Chunk)).filter((kind, i, all) => all.indexOf(kind) === i)
    )
  })

  it("a kimi-k2.5 stream without include_usage: as moonshotai-stream-choice-usage.chunks.txt", () => {
    const recorded = Recordings.readChunks("kimi/vercel-ai/moonshotai-stream-choice-usage.chunks.txt")
    const authored = KimiScenarios.chunks({
      model: "kimi-k2.5",
      reasoning: [],
      text: ["OK", "."],
      usage: { prompt: 12, completion: 5, reasoning: 1 }
    })
    const recordedShapes = shapesByKind(recorded)
    const authoredShapes = shapesByKind(authored)
    for (const kind of ["first", "content", "finish"]) expect(authoredShapes[kind], kind).toEqual(recordedShapes[kind])
  })

  it("a moonshot-v1 stream with include_usage: as moonshotai-max-completion-tokens.chunks.txt", () => {
    const recorded = Recordings.readChunks("kimi/vercel-ai/moonshotai-max-completion-tokens.chunks.txt")
    const authored = KimiScenarios.chunks(
      { model: "moonshot-v1-8k", text: ["OK"], usage: { prompt: 11, completion: 2 } },
      { includeUsage: true }
    )
    expect(shapesByKind(authored)).toEqual(shapesByKind(recorded))
  })

  it("a kimi-k3 completion with cached and reasoning tokens: as moonshotai-usage-live.json", () => {
    const recorded = Recordings.readJson("kimi/vercel-ai/moonshotai-usage-live.json")
    const authored = KimiScenarios.completion({
      model: "kimi-k3",
      reasoning: ["We need"],
      text: ["OK"],
      usage: { prompt: 90, completion: 34, cached: 90, reasoning: 17 }
    })
    expect(shapeOf(authored)).toEqual(shapeOf(recorded))
  })

  it("a kimi-k3 tool call: as moonshotai-k3-required-tool-choice.json (ids <name>_<index>)", () => {
    const recorded = Recordings.readJson("kimi/vercel-ai/moonshotai-k3-required-tool-choice.json") as {
      choices: Array<{ message: { tool_calls: Array<{ id: string }> } }>
    }
    const authored = KimiScenarios.completion({
      model: "kimi-k3",
      reasoning: ["I'll call it."],
      toolCalls: [{ name: "ping", arguments: "{}" }],
      usage: { prompt: 189, completion: 51, reasoning: 15 }
    })
    expect(shapeOf(authored)).toEqual(shapeOf(recorded))
    const authoredId = (authored.choices as typeof recorded.choices)[0]?.message.tool_calls[0]?.id
    expect(authoredId).toBe(recorded.choices[0]?.message.tool_calls[0]?.id)
  })

  it("a moonshot-v1 completion: as moonshotai-max-completion-tokens.json", () => {
    const recorded = Recordings.readJson("kimi/vercel-ai/moonshotai-max-completion-tokens.json") as Record<
      string,
      unknown
    >
    const authored = KimiScenarios.completion({
      model: "moonshot-v1-8k",
      text: ["OK"],
      usage: { prompt: 11, completion: 2 }
    })
    expect(shapeOf(authored)).toEqual(shapeOf(recorded))
  })
})

Recordings.describeRecordings("the handlers answer Moonshot's recorded error bodies", () => {
  const bodyOf = (error: KimiScenarios.WireError | undefined) => error?.body
  const chat = (model: string, extra: Record<string, unknown>) => ({
    model,
    messages: [{ role: "user", content: "Hi" }],
    ...extra
  })

  it("kimi-k3 with temperature 0.5: errors/moonshotai-kimi-k3-temperature-rejection.json", () => {
    expect(bodyOf(KimiMock.validateChat(chat("kimi-k3", { temperature: 0.5 }), info("kimi-k3")))).toEqual(
      Recordings.readJson("kimi/vercel-ai/errors/moonshotai-kimi-k3-temperature-rejection.json")
    )
  })

  it("kimi-k2.6 non-thinking with temperature 1: errors/moonshotai-unsupported-sampling-error.json", () => {
    expect(
      bodyOf(
        KimiMock.validateChat(chat("kimi-k2.6", { temperature: 1, thinking: { type: "disabled" } }), info("kimi-k2.6"))
      )
    ).toEqual(Recordings.readJson("kimi/vercel-ai/errors/moonshotai-unsupported-sampling-error.json"))
  })

  it("tool_choice required with thinking on: errors/moonshotai-required-tool-choice-error.json", () => {
    expect(bodyOf(KimiMock.validateChat(chat("kimi-k2.6", { tool_choice: "required" }), info("kimi-k2.6")))).toEqual(
      Recordings.readJson("kimi/vercel-ai/errors/moonshotai-required-tool-choice-error.json")
    )
  })

  it("kimi-k2.7-code with thinking disabled: errors/moonshotai-k2.7-disabled-thinking-error.json", () => {
    expect(
      bodyOf(KimiMock.validateChat(chat("kimi-k2.7-code", { thinking: { type: "disabled" } }), info("kimi-k2.7-code")))
    ).toEqual(Recordings.readJson("kimi/vercel-ai/errors/moonshotai-k2.7-disabled-thinking-error.json"))
  })

  it("reasoning lost at index 2, or sent as an empty string: the quoted 400", () => {
    const quoted = Recordings.readText("kimi/other-repos/error-messages-from-issues.txt")
      .split("\n")
      .find((line) => line.includes("reasoning_content is missing"))
    const expected = /'message': '([^']*)'/.exec(quoted ?? "")?.[1]
    for (const reasoning of [undefined, ""]) {
      const body = {
        model: "kimi-k2.6",
        messages: [
          { role: "system", content: "s" },
          { role: "user", content: "u" },
          {
            role: "assistant",
            ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
            tool_calls: [{ id: "a_0", type: "function", function: { name: "a", arguments: "{}" } }]
          },
          { role: "tool", tool_call_id: "a_0", content: "r" }
        ]
      }
      expect(bodyOf(KimiMock.validateChat(body, info("kimi-k2.6")))).toEqual({
        error: { message: expected, type: "invalid_request_error" }
      })
    }
    const withSpace = {
      model: "kimi-k2.6",
      messages: [{ role: "assistant", reasoning_content: " ", tool_calls: [{ id: "x" }] }]
    }
    expect(KimiMock.validateChat(withSpace, info("kimi-k2.6"))).toBeUndefined()
  })

  it("six stop strings: the live 400 text", () => {
    const live = Recordings.readText("kimi/other-repos/live-errors-and-headers-2026-09.txt")
    const message = /400 (stop array too long[^\n]*)/.exec(live)?.[1]?.trim()
    expect(
      bodyOf(KimiMock.validateChat(chat("kimi-k3", { stop: ["a", "b", "c", "d", "e", "f"] }), info("kimi-k3")))
    ).toEqual({
      error: { message, type: "invalid_request_error" }
    })
  })

  it("an empty assistant message: the quoted 400", () => {
    const body = {
      model: "kimi-k3",
      messages: [
        { role: "user", content: "u" },
        { role: "assistant", content: "" }
      ]
    }
    expect(bodyOf(KimiMock.validateChat(body, info("kimi-k3")))).toEqual({
      error: {
        message: "Invalid request: the message at position 1 with role 'assistant' must not be empty",
        type: "invalid_request_error"
      }
    })
  })

  it("the 401 without a key and the 429 headers match the live capture", () => {
    const live = Recordings.readText("kimi/other-repos/live-errors-and-headers-2026-09.txt")
    const unauthorized = JSON.parse(live.split("\n").find((line) => line.startsWith('{"error"')) ?? "{}")
    expect(KimiScenarios.errors.missingKey().body).toEqual(unauthorized)
    const headers = Object.keys(KimiScenarios.errors.rateLimited().headers ?? {}).sort()
    for (const name of headers) expect(live.toLowerCase()).toContain(`${name}:`)
    expect(live).toContain((KimiScenarios.errors.rateLimited(1).body as { error: { message: string } }).error.message)
  })

  it("a retired model: the live 404 shape", () => {
    const recorded = Recordings.readJson("kimi/vercel-ai/errors/moonshotai-error-without-code-live.json") as {
      error: { message: string }
    }
    const model = /Not found the model (\S+) or Permission denied/.exec(recorded.error.message)?.[1] ?? ""
    expect(KimiScenarios.errors.modelNotFound(model).body).toEqual(recorded)
  })
})

describe("the handlers", () => {
  const server = setupServer()
  beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
  afterEach(() => server.resetHandlers())
  afterAll(() => server.close())

  it("check the bearer key on every endpoint and tag every answer with msh-request-id", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    for (const [method, path] of [
      ["GET", "/models"],
      ["GET", "/files"],
      ["GET", "/caching"],
      ["GET", "/users/me/balance"]
    ] as const) {
      const missing = await fetch(`${mock.baseURL}${path}`, { method })
      expect(missing.status).toBe(401)
      expect(await missing.json()).toEqual(KimiScenarios.errors.missingKey().body)
      const wrong = await fetch(`${mock.baseURL}${path}`, { method, headers: { authorization: "Bearer nope" } })
      expect(await wrong.json()).toEqual(KimiScenarios.errors.invalidKey().body)
      const ok = await fetch(`${mock.baseURL}${path}`, { method, headers: { authorization: `Bearer ${testKey}` } })
      expect(ok.status).toBe(200)
      expect(ok.headers.get("msh-request-id")).toMatch(/-4dae-11ef-/)
    }
  })

  it("stream with the usage inside the finish chunk, and the trailing usage chunk only with include_usage", async () => {
    const mock = KimiMock.make()
    server.use(...mock.handlers)
    const post = async (body: Record<string, unknown>) => {
      const response = await fetch(`${mock.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${testKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "kimi-k3", messages: [{ role: "user", content: "Hi" }], stream: true, ...body })
      })
      const text = await response.text()
      return text
        .split("\n\n")
        .filter((frame) => frame.startsWith("data: "))
        .map((frame) => frame.slice("data: ".length))
    }
    const plain = await post({})
    expect(plain.at(-1)).toBe("[DONE]")
    const finish = JSON.parse(plain.at(-2) ?? "{}") as Chunk & { choices: Array<{ usage?: unknown }> }
    expect(finish.choices[0]?.usage).toBeDefined()
    const withUsage = await post({ stream_options: { include_usage: true } })
    const trailing = JSON.parse(withUsage.at(-2) ?? "{}") as Chunk
    expect(trailing.choices).toEqual([])
    expect(trailing.usage).toEqual(
      (JSON.parse(withUsage.at(-3) ?? "{}") as { choices: Array<{ usage?: unknown }> }).choices[0]?.usage
    )
  })

  it("answer with a responder's wire error, Response or scenario", async () => {
    const mock = KimiMock.make({
      respond: ({ index }) =>
        index === 0
          ? KimiScenarios.errors.rateLimited(2)
          : index === 1
            ? new Response("teapot", { status: 418 })
            : { model: "kimi-k3", text: ["scripted"] }
    })
    server.use(...mock.handlers)
    const post = () =>
      fetch(`${mock.baseURL}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${testKey}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "kimi-k3", messages: [{ role: "user", content: "Hi" }] })
      })
    const limited = await post()
    expect([limited.status, limited.headers.get("retry-after"), limited.headers.get("x-retry-after")]).toEqual([
      429,
      "2",
      "2"
    ])
    expect((await post()).status).toBe(418)
    const scripted = (await (await post()).json()) as { choices: Array<{ message: { content: string } }> }
    expect(scripted.choices[0]?.message.content).toBe("scripted")
  })
})

describe("the mock's stop rule matches the provider's", () => {
  const cases: ReadonlyArray<readonly [string, unknown, boolean]> = [
    ["five short strings", ["a", "b", "c", "d", "e"], true],
    ["exactly 32 bytes", "x".repeat(32), true],
    ["33 bytes", "x".repeat(33), false],
    ["11 three-byte characters (33 bytes, 11 characters)", "终".repeat(11), false],
    ["a long string in a list", ["ok", "y".repeat(40)], false],
    ["six strings", ["1", "2", "3", "4", "5", "6"], false]
  ]
  for (const [name, stop, accepted] of cases) {
    it(`${name}: ${accepted ? "accepted" : "refused"} by the mock`, () => {
      const problem = KimiMock.validateChat(
        { model: "kimi-k3", messages: [{ role: "user", content: "Hi" }], stop },
        info("kimi-k3")
      )
      expect(problem === undefined).toBe(accepted)
      if (problem !== undefined) expect(problem.status).toBe(400)
      // the provider refuses only what the live API is recorded refusing (six strings); the mock also keeps the
      // documented 32-byte limit
      expect(Result.isSuccess(Sampling.checkStop(stop))).toBe(accepted || name !== "six strings")
    })
  }
})
