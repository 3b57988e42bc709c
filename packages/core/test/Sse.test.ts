import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Sse from "../src/Sse.js"

describe("Sse.makeDecoder", () => {
  const cases: ReadonlyArray<[string, string, Array<string>, boolean]> = [
    ["LF framing", "data: a\n\ndata: b\n\n", ["a", "b"], false],
    ["CRLF framing", "data: a\r\n\r\ndata: b\r\n\r\n", ["a", "b"], false],
    ["CR framing", "data: a\r\rdata: b\r\r", ["a", "b"], false],
    ["comments (keep-alives) are ignored", ": ping\n\ndata: a\n\n", ["a"], false],
    ["multi-line data is joined with \\n", "data: a\ndata: b\n\n", ["a\nb"], false],
    ["a last event missing its blank line is still dispatched", "data: a\n\ndata: [DONE]\n", ["a", "[DONE]"], false],
    ["a line cut mid-way is reported, not guessed at", 'data: a\n\ndata: {"par', ["a"], true],
    ["no space after the colon", "data:a\n\n", ["a"], false]
  ]
  for (const [name, input, expected, truncated] of cases) {
    it(name, () => {
      const decoder = Sse.makeDecoder()
      const events = decoder.push(input)
      const tail = decoder.end()
      expect([...events, ...tail.events].map((event) => event.data)).toEqual(expected)
      expect(tail.truncatedLine).toBe(truncated)
    })
  }

  it("a multi-byte character split across reads is decoded once", () => {
    const bytes = new TextEncoder().encode("data: 你好\n\n")
    const decoder = Sse.makeDecoder()
    const events = [...decoder.push(bytes.subarray(0, 8)), ...decoder.push(bytes.subarray(8)), ...decoder.end().events]
    expect(events.map((e) => e.data)).toEqual(["你好"])
  })

  it("property: any split of any event list gives the same events", () => {
    const payload = fc.string({
      unit: fc.constantFrom("a", "é", "你", "😀", "{", "}", '"', " ", ":"),
      minLength: 1,
      maxLength: 20
    })
    fc.assert(
      fc.property(
        fc.array(payload, { minLength: 1, maxLength: 20 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 30 }),
        (payloads, eol, sizes) => {
          const bytes = new TextEncoder().encode(payloads.map((p) => `data: ${p}${eol}${eol}`).join(""))
          const decoder = Sse.makeDecoder()
          const events: Array<string> = []
          let offset = 0
          let i = 0
          while (offset < bytes.length) {
            const size = sizes[i++ % sizes.length]!
            for (const event of decoder.push(bytes.subarray(offset, offset + size))) events.push(event.data)
            offset += size
          }
          for (const event of decoder.end().events) events.push(event.data)
          expect(events).toEqual(payloads)
        }
      ),
      { numRuns: 300 }
    )
  })

  it("property: arbitrary bytes never throw (except the documented event-size bound) and end() always answers", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const decoder = Sse.makeDecoder()
        decoder.push(bytes)
        const tail = decoder.end()
        expect(Array.isArray(tail.events)).toBe(true)
      }),
      { numRuns: 300 }
    )
  })

  it("an event larger than maxEventSize is refused", () => {
    const decoder = Sse.makeDecoder({ maxEventSize: 16 })
    expect(() => decoder.push(`data: ${"x".repeat(64)}`)).toThrow()
  })
})
