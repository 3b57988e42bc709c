import type { ChatCompletions } from "@conduitkit/core"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import * as Messages from "../../src/internal/messages.js"

type Message = ChatCompletions.RequestMessage

const toolTurn = (reasoning?: string): Message => ({
  role: "assistant",
  ...(reasoning !== undefined ? { reasoning_content: reasoning } : {}),
  tool_calls: [{ id: "get_weather_0", type: "function", function: { name: "get_weather", arguments: "{}" } }]
})

describe("roles", () => {
  it("developer is sent as system", () => {
    expect(Messages.normalizeRoles([{ role: "developer", content: "Be brief." }])).toEqual([
      { role: "system", content: "Be brief." }
    ])
  })

  it("every other role is sent as is (the API judges it)", () => {
    const messages: Array<Message> = [
      { role: "cache", content: "cache_id=x" },
      { role: "system", content: "s" },
      { role: "user", content: "u" },
      { role: "assistant", content: "a" },
      { role: "tool", tool_call_id: "t", content: "r" },
      { role: "function", content: "y" }
    ]
    expect(Messages.normalizeRoles(messages)).toEqual(messages)
  })
})

describe("reasoning replay adjustments", () => {
  const cases: ReadonlyArray<readonly [string, Message, boolean | undefined, Message]> = [
    ["thinking on: lost reasoning on a tool-call turn gets the placeholder", toolTurn(), true, toolTurn(" ")],
    ["thinking on: an empty string counts as lost", toolTurn(""), true, toolTurn(" ")],
    ["thinking on: whitespace-only reasoning gets the placeholder", toolTurn("\n"), true, toolTurn(" ")],
    ["thinking on: real reasoning is kept", toolTurn("I need the weather."), true, toolTurn("I need the weather.")],
    ["thinking unknown: the placeholder too", toolTurn(), undefined, toolTurn(" ")],
    ["thinking off: replayed reasoning is removed", toolTurn("I need the weather."), false, toolTurn()],
    [
      "thinking on: a text turn keeps its reasoning",
      { role: "assistant", content: "Hi", reasoning_content: "greet" },
      true,
      { role: "assistant", content: "Hi", reasoning_content: "greet" }
    ],
    [
      "thinking on: a text turn without reasoning is left alone",
      { role: "assistant", content: "Hi" },
      true,
      { role: "assistant", content: "Hi" }
    ]
  ]
  for (const [name, message, thinking, expected] of cases) {
    it(name, () => {
      expect(Messages.replayReasoning([{ role: "user", content: "q" }, message], thinking)).toEqual([
        { role: "user", content: "q" },
        expected
      ])
    })
  }
})

describe("partial mode", () => {
  const base: Array<Message> = [{ role: "user", content: "Write a haiku." }]

  it("appends the prefix as the last assistant message with partial: true", () => {
    expect(Messages.applyPartial(base, { content: "Autumn", name: "Poet" })).toEqual([
      ...base,
      { role: "assistant", content: "Autumn", partial: true, name: "Poet" }
    ])
  })

  it("an empty prefix with a name is kept (role-play)", () => {
    expect(Messages.applyPartial(base, { content: "", name: "Dr. Kelsier" }).at(-1)).toEqual({
      role: "assistant",
      content: "",
      partial: true,
      name: "Dr. Kelsier"
    })
  })

  it("messages the caller marked partial are sent as they are (documented limits only)", () => {
    const messages: Array<Message> = [
      { role: "assistant", content: "x", partial: true },
      { role: "user", content: "y" }
    ]
    expect(Messages.applyPartial(messages, undefined)).toEqual(messages)
  })
})

describe("context-cache references", () => {
  const cases: ReadonlyArray<readonly [string, Messages.CacheReference, string, Record<string, string>]> = [
    ["by id", { cacheId: "cache-abc" }, "cache_id=cache-abc", { "X-Msh-Context-Cache": "cache-abc" }],
    [
      "by id with reset_ttl and dry run",
      { cacheId: "cache-abc", resetTtl: 3600, dryRun: true },
      "cache_id=cache-abc;reset_ttl=3600;dry_run=1",
      { "X-Msh-Context-Cache": "cache-abc", "X-Msh-Context-Cache-Reset-TTL": "3600", "X-Msh-Context-Cache-DryRun": "1" }
    ],
    ["by tag", { tag: "my-tag", resetTtl: 60.7 }, "tag=my-tag;reset_ttl=60", { "X-Msh-Context-Cache-Reset-TTL": "60" }]
  ]
  for (const [name, reference, content, headers] of cases) {
    it(`message content and headers ${name}`, () => {
      expect(Messages.cacheMessageContent(reference)).toBe(content)
      expect(content.endsWith(";")).toBe(false)
      expect(Messages.cacheHeaders(reference)).toEqual(headers)
    })
  }

  it("the cache message goes first, the cached prefix and tools are not sent", () => {
    const body: ChatCompletions.WireRequest = {
      model: "moonshot-v1-8k",
      messages: [
        { role: "system", content: "long document" },
        { role: "user", content: "question" }
      ],
      tools: [{ type: "function", function: { name: "get_weather" } }],
      tool_choice: "auto"
    }
    expect(Messages.withCacheMessage(body, { cacheId: "cache-1" }, 1)).toEqual(
      Result.succeed({
        model: "moonshot-v1-8k",
        messages: [
          { role: "cache", content: "cache_id=cache-1" },
          { role: "user", content: "question" }
        ]
      })
    )
  })

  it("a reference needs an id or a tag", () => {
    const result = Messages.withCacheMessage({ model: "m", messages: [] }, {})
    expect(Result.isFailure(result)).toBe(true)
  })
})
