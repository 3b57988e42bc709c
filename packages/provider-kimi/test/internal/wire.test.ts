import { describe, expect, it } from "vitest"
import * as Wire from "../../src/internal/wire.js"

describe("last-mile instructions", () => {
  it("leaves bodies without instructions untouched", () => {
    expect(Wire.applyInstructions(JSON.stringify({ model: "kimi-k3", messages: [] }))).toBeUndefined()
    expect(Wire.applyInstructions("not json __conduit_kimi")).toBeUndefined()
  })

  it("moves headers out of the body and strips the field", () => {
    const applied = Wire.applyInstructions(
      JSON.stringify({ model: "m", messages: [], [Wire.field]: { headers: { "X-Msh-Context-Cache": "cache-1" } } })
    )
    expect(applied).toEqual({
      body: JSON.stringify({ model: "m", messages: [] }),
      headers: { "X-Msh-Context-Cache": "cache-1" }
    })
  })

  it("replay: assistant tool-call turns appended without reasoning get the placeholder (core's server-tool rounds)", () => {
    const messages = [
      { role: "user", content: "search" },
      {
        role: "assistant",
        tool_calls: [{ id: "$web_search_0", type: "function", function: { name: "$web_search", arguments: "{}" } }]
      },
      { role: "tool", tool_call_id: "$web_search_0", content: "{}" },
      {
        role: "assistant",
        reasoning_content: "kept",
        tool_calls: [{ id: "x", type: "function", function: { name: "f", arguments: "{}" } }]
      }
    ]
    const applied = Wire.applyInstructions(JSON.stringify({ model: "m", messages, [Wire.field]: { replay: true } }))
    const sent = JSON.parse(applied?.body ?? "{}") as { messages: Array<Record<string, unknown>> }
    expect(sent.messages[1]?.reasoning_content).toBe(" ")
    expect(sent.messages[3]?.reasoning_content).toBe("kept")
    expect(sent).not.toHaveProperty(Wire.field)
  })

  it("the fetch wrapper sends the headers and the clean body", async () => {
    const seen: Array<{ body: unknown; headers: Headers }> = []
    const inner: typeof fetch = async (_input, init) => {
      seen.push({ body: init?.body, headers: new Headers(init?.headers) })
      return new Response("{}")
    }
    const wrapped = Wire.wrapFetch(inner)
    await wrapped("https://x.test", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "999" },
      body: JSON.stringify({ a: 1, [Wire.field]: { headers: { "X-Msh-Context-Cache-DryRun": "1" } } })
    })
    await wrapped("https://x.test", { method: "GET" })
    expect(seen[0]?.body).toBe(JSON.stringify({ a: 1 }))
    expect(seen[0]?.headers.get("x-msh-context-cache-dryrun")).toBe("1")
    expect(seen[0]?.headers.get("content-length")).toBeNull()
    expect(seen[1]?.body).toBeUndefined()
  })
})
