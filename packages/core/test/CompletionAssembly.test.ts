/**
 * `CompletionAssembly`: the evidence that Kimi's and GLM's streams carry everything their non-stream answers do
 * (every field path of each recorded non-stream answer is in the answer assembled from the recorded stream of the
 * same test case; the finish reason, model and tool names agree; usage converts to the same non-zero counts), and
 * the assembly rules table-driven.
 */
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as ChatCompletions from "../src/ChatCompletions.js"
import * as CompletionAssembly from "../src/CompletionAssembly.js"
import * as Recordings from "../src/testing/Recordings.js"
import * as Usage from "../src/Usage.js"

type Json = Record<string, unknown>

/** Every key path of a JSON value (array elements merged under `[]`). */
const paths = (value: unknown, prefix = ""): Set<string> => {
  const out = new Set<string>()
  if (Array.isArray(value)) {
    for (const item of value) for (const path of paths(item, `${prefix}[]`)) out.add(path)
  } else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue
      const path = prefix === "" ? key : `${prefix}.${key}`
      out.add(path)
      for (const inner of paths(item, path)) out.add(inner)
    }
  }
  return out
}

const chunksOf = (data: ReadonlyArray<unknown>): Array<ChatCompletions.ChatCompletionChunk> =>
  data
    .filter((item) => item !== "[DONE]")
    .map((item) => (typeof item === "string" ? JSON.parse(item) : item) as ChatCompletions.ChatCompletionChunk)

const usageCounts = (body: ChatCompletions.ChatCompletion) => {
  const usage = Usage.fromCompletion(body)
  return {
    input: (usage?.inputTokens ?? 0) > 0,
    output: (usage?.outputTokens ?? 0) > 0,
    cached: (usage?.cachedInputTokens ?? 0) > 0,
    reasoning: (usage?.reasoningTokens ?? 0) > 0
  }
}

const toolNames = (body: ChatCompletions.ChatCompletion) =>
  (body.choices[0]?.message?.tool_calls ?? []).map((call) => call.function?.name)

interface Pair {
  readonly name: string
  readonly nonStream: () => ChatCompletions.ChatCompletion
  readonly stream: () => Array<ChatCompletions.ChatCompletionChunk>
  /** Field paths of the non-stream answer a stream does not carry, and why that loses nothing. */
  readonly allowedMissing?: ReadonlyArray<string>
  /** Whether cached tokens are expected in both (a cache hit in one call and a miss in the other is not evidence). */
  readonly compareCached?: boolean
}

const cassette = (file: string, index = 0) => Recordings.readCassette(`glm/fantasy/${file}`).interactions[index]!

// GLM's non-stream answer repeats its id as `request_id`; its chunks carry only `id` (the same value, which the
// client reads as the request id: `responseIdIsRequestId`), so nothing is lost.
const glmRequestId = ["request_id"]

const glmPairs: ReadonlyArray<readonly [string, string]> = [
  ["TestZAICommon__zai-glm-4.6__simple.yaml", "TestZAICommon__zai-glm-4.6__simple_streaming.yaml"],
  ["TestZAICommon__zai-glm-4.6__tool.yaml", "TestZAICommon__zai-glm-4.6__tool_streaming.yaml"],
  ["TestZAICommon__zai-glm-4.6__multi_tool.yaml", "TestZAICommon__zai-glm-4.6__multi_tool_streaming.yaml"],
  [
    "TestOpenAICompatibleCommon__zai-glm-4.5__simple.yaml",
    "TestOpenAICompatibleCommon__zai-glm-4.5__simple_streaming.yaml"
  ],
  [
    "TestOpenAICompatibleCommon__zai-glm-4.5__tool.yaml",
    "TestOpenAICompatibleCommon__zai-glm-4.5__tool_streaming.yaml"
  ],
  [
    "TestOpenAICompatibleCommon__zai-glm-4.5__multi_tool.yaml",
    "TestOpenAICompatibleCommon__zai-glm-4.5__multi_tool_streaming.yaml"
  ],
  [
    "TestOpenAICompatibleThinking__zai-glm-4.5__thinking.yaml",
    "TestOpenAICompatibleThinking__zai-glm-4.5__thinking-streaming.yaml"
  ],
  [
    "TestOpenAICompatObjectGeneration__zai-glm-4.5__simple_object.yaml",
    "TestOpenAICompatObjectGeneration__zai-glm-4.5__simple_object_streaming.yaml"
  ],
  [
    "TestOpenAICompatObjectGeneration__zai-glm-4.5__complex_object.yaml",
    "TestOpenAICompatObjectGeneration__zai-glm-4.5__complex_object_streaming.yaml"
  ]
]

const pairs: ReadonlyArray<Pair> = [
  {
    name: "kimi-k3 (live): reasoning, cached and reasoning tokens",
    nonStream: () => Recordings.readJson("kimi/vercel-ai/moonshotai-usage-live.json") as ChatCompletions.ChatCompletion,
    stream: () => chunksOf(Recordings.readChunks("kimi/vercel-ai/moonshotai-usage-live.chunks.txt")),
    compareCached: true
  },
  {
    name: "moonshot-v1-8k (live): text, usage in the choice and at the top level",
    nonStream: () =>
      Recordings.readJson("kimi/vercel-ai/moonshotai-max-completion-tokens.json") as ChatCompletions.ChatCompletion,
    stream: () => chunksOf(Recordings.readChunks("kimi/vercel-ai/moonshotai-max-completion-tokens.chunks.txt")),
    compareCached: true
  },
  ...glmPairs.flatMap(([plain, streamed]) =>
    [0, 1]
      .filter((index) => Recordings.readCassette(`glm/fantasy/${plain}`).interactions[index] !== undefined)
      .map(
        (index): Pair => ({
          name: `${plain} (turn ${index + 1})`,
          nonStream: () => cassette(plain, index).response.json as ChatCompletions.ChatCompletion,
          stream: () => chunksOf(cassette(streamed, index).response.sse ?? []),
          allowedMissing: glmRequestId
        })
      )
  )
]

Recordings.describeRecordings("a stream assembled carries every field of the non-stream answer (recordings)", () => {
  it("covers both providers' live recordings", () => {
    expect(pairs.length).toBeGreaterThanOrEqual(2 + glmPairs.length)
  })

  for (const pair of pairs) {
    it(pair.name, () => {
      const plain = pair.nonStream()
      const assembled = CompletionAssembly.assemble(pair.stream())
      expect(Schema.is(ChatCompletions.ChatCompletion)(assembled)).toBe(true)
      const have = paths(assembled)
      const missing = [...paths(plain)].filter(
        (path) => !have.has(path) && !(pair.allowedMissing ?? []).some((allowed) => path.startsWith(allowed))
      )
      expect(missing).toEqual([])
      expect(assembled.model).toBe(plain.model)
      expect(assembled.choices[0]?.finish_reason).toBe(plain.choices[0]?.finish_reason)
      expect(toolNames(assembled)).toEqual(toolNames(plain))
      const counts = usageCounts(assembled)
      const expected = usageCounts(plain)
      expect(counts.input && counts.output).toBe(true)
      expect(counts.reasoning).toBe(expected.reasoning)
      if (pair.compareCached) expect(counts.cached).toBe(expected.cached)
      if (typeof plain.choices[0]?.message?.reasoning_content === "string") {
        expect(assembled.choices[0]?.message?.reasoning_content).not.toBe("")
      }
    })
  }
})

const chunk = (choices: Array<Json>, extra: Json = {}): ChatCompletions.ChatCompletionChunk =>
  ({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices, ...extra }) as never

describe("CompletionAssembly.assemble", () => {
  const cases: ReadonlyArray<{
    readonly name: string
    readonly chunks: ReadonlyArray<ChatCompletions.ChatCompletionChunk>
    readonly expected: Json
  }> = [
    {
      name: "text and reasoning concatenated, the role from the first delta, the last finish reason",
      chunks: [
        chunk([{ index: 0, delta: { role: "assistant", reasoning_content: "Let " } }]),
        chunk([{ index: 0, delta: { reasoning_content: "me", content: "" } }]),
        chunk([{ index: 0, delta: { content: "Hi" }, finish_reason: null }]),
        chunk([{ index: 0, delta: {}, finish_reason: "stop" }])
      ],
      expected: {
        id: "c1",
        object: "chat.completion",
        created: 1,
        model: "m",
        choices: [
          {
            index: 0,
            message: { role: "assistant", content: "Hi", reasoning_content: "Let me" },
            finish_reason: "stop"
          }
        ]
      }
    },
    {
      name: "usage in the finish chunk's choice (Moonshot) moves to the top level",
      chunks: [
        chunk([{ index: 0, delta: { content: "x" } }]),
        chunk([{ index: 0, delta: {}, finish_reason: "stop", usage: { prompt_tokens: 3, completion_tokens: 1 } }])
      ],
      expected: {
        choices: [{ index: 0, message: { role: "assistant", content: "x" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 3, completion_tokens: 1 }
      }
    },
    {
      name: "the top-level usage chunk wins over the choice's",
      chunks: [
        chunk([{ index: 0, delta: { content: "x" }, finish_reason: "stop", usage: { prompt_tokens: 1 } }]),
        chunk([], { usage: { prompt_tokens: 9, cached_tokens: 4 } })
      ],
      expected: { usage: { prompt_tokens: 9, cached_tokens: 4 } }
    },
    {
      name: "tool calls merged by index, arguments concatenated, the name set once; no content is null",
      chunks: [
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 1, id: "b", type: "function", function: { name: "two", arguments: "" } }] }
          }
        ]),
        chunk([
          { index: 0, delta: { tool_calls: [{ index: 0, id: "a", function: { name: "one", arguments: '{"x"' } }] } }
        ]),
        chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: "one", arguments: ":1}" } }] } }]),
        chunk([
          {
            index: 0,
            delta: { tool_calls: [{ index: 1, function: { arguments: "{}" } }] },
            finish_reason: "tool_calls"
          }
        ])
      ],
      expected: {
        choices: [
          {
            index: 0,
            message: {
              role: "assistant",
              content: null,
              tool_calls: [
                { id: "a", type: "function", index: 0, function: { name: "one", arguments: '{"x":1}' } },
                { id: "b", type: "function", index: 1, function: { name: "two", arguments: "{}" } }
              ]
            },
            finish_reason: "tool_calls"
          }
        ]
      }
    },
    {
      name: "unknown top-level fields (GLM's web_search) and request_id kept from the first chunk with them; no object without one",
      chunks: [
        { id: "r", model: "glm", choices: [{ index: 0, delta: { content: "a" } }] } as never,
        {
          id: "r",
          model: "glm",
          web_search: [{ title: "t", refer: "ref_1" }],
          request_id: "r",
          choices: [{ index: 0, delta: {}, finish_reason: "stop" }]
        } as never
      ],
      expected: {
        id: "r",
        model: "glm",
        web_search: [{ title: "t", refer: "ref_1" }],
        request_id: "r",
        choices: [{ index: 0, message: { role: "assistant", content: "a" }, finish_reason: "stop" }]
      }
    },
    {
      name: "several choices by index, logprobs concatenated",
      chunks: [
        chunk([
          { index: 1, delta: { content: "b" }, logprobs: { content: [{ token: "b" }] } },
          { index: 0, delta: { content: "a" } }
        ]),
        chunk([{ index: 1, delta: { content: "c" }, finish_reason: "stop", logprobs: { content: [{ token: "c" }] } }])
      ],
      expected: {
        choices: [
          { index: 0, message: { role: "assistant", content: "a" }, finish_reason: null },
          {
            index: 1,
            message: { role: "assistant", content: "bc" },
            finish_reason: "stop",
            logprobs: { content: [{ token: "b" }, { token: "c" }] }
          }
        ]
      }
    },
    { name: "no chunks: no choices", chunks: [], expected: { choices: [] } }
  ]
  for (const row of cases) {
    it(row.name, () => {
      expect(CompletionAssembly.assemble(row.chunks)).toMatchObject(row.expected)
    })
  }

  it("index-less parallel tool calls are keyed by their position (recorded synthetic Kimi stream)", () => {
    if (!Recordings.available()) return
    const assembled = CompletionAssembly.assemble(
      chunksOf(Recordings.readChunks("kimi/vercel-ai/synthetic/moonshotai-stream-indexless-tool-calls.chunks.txt"))
    )
    expect(assembled.choices[0]?.message?.tool_calls?.map((call) => [call.id, call.function?.arguments])).toEqual([
      ["weather_0", '{"location":"San Francisco"}'],
      ["time_1", '{"zone":"UTC"}']
    ])
  })
})

describe("CompletionAssembly.onlyRecordedFeatures", () => {
  const base = { model: "m", messages: [] }
  it.each([
    ["a plain request", base, true],
    ["function tools", { ...base, tools: [{ type: "function", function: { name: "f" } }] }, true],
    ["GLM's web_search tool", { ...base, tools: [{ type: "web_search", web_search: {} }] }, false],
    [
      "Kimi's builtin_function",
      { ...base, tools: [{ type: "builtin_function", function: { name: "$web_search" } }] },
      false
    ],
    ["logprobs", { ...base, logprobs: true }, false],
    ["top_logprobs", { ...base, top_logprobs: 2 }, false]
  ])("%s: %s", (_name, request, expected) => {
    expect(CompletionAssembly.onlyRecordedFeatures(request as never)).toBe(expected)
  })
})
