import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as CacheKey from "../src/CacheKey.js"

describe("CacheKey.canonicalJson", () => {
  const cases: ReadonlyArray<readonly [string, unknown, string]> = [
    ["sorts object keys", { b: 1, a: 2 }, `{"a":2,"b":1}`],
    ["sorts nested keys", { z: { y: 1, x: [{ d: 1, c: 2 }] } }, `{"z":{"x":[{"c":2,"d":1}],"y":1}}`],
    ["keeps array order", [3, 1, 2], "[3,1,2]"],
    ["omits undefined entries", { a: undefined, b: null }, `{"b":null}`],
    ["writes undefined in arrays as null", [undefined, 1], "[null,1]"],
    ["normalizes -0", { t: -0 }, `{"t":0}`],
    ["keeps string content exactly", { s: "  a\n b  " }, `{"s":"  a\\n b  "}`],
    ["escapes keys", { 'k"1': true }, `{"k\\"1":true}`],
    ["sorts by code unit", { b: 1, B: 2, a: 3 }, `{"B":2,"a":3,"b":1}`],
    ["writes scalars", "x", `"x"`]
  ]
  for (const [name, input, expected] of cases) {
    it(name, () => assert.strictEqual(CacheKey.canonicalJson(input), expected))
  }

  const invalid: ReadonlyArray<readonly [string, unknown]> = [
    ["NaN", { t: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["a bigint", { n: 1n }],
    ["a function", { f: () => 1 }]
  ]
  for (const [name, input] of invalid) {
    it(`rejects ${name}`, () => assert.throws(() => CacheKey.canonicalJson(input), TypeError))
  }

  it("rejects a cycle but accepts a shared (acyclic) reference", () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    assert.throws(() => CacheKey.canonicalJson(cyclic), TypeError)
    const shared = { x: 1 }
    assert.strictEqual(CacheKey.canonicalJson({ a: shared, b: shared }), `{"a":{"x":1},"b":{"x":1}}`)
  })

  it("agrees with JSON.parse(JSON.stringify(...)) round trips (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const canonical = CacheKey.canonicalJson(value)
        assert.deepStrictEqual(JSON.parse(canonical), JSON.parse(JSON.stringify(value)))
        assert.strictEqual(CacheKey.canonicalJson(JSON.parse(canonical)), canonical)
      })
    )
  })
})

describe("CacheKey.requestHash", () => {
  const base = {
    model: "kimi-k2",
    messages: [{ role: "user", content: "Hi" }],
    temperature: 0,
    tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }]
  }
  const hash = CacheKey.requestHash("kimi", base)

  it("is 64 hex characters", () => assert.match(hash, /^[0-9a-f]{64}$/))

  const same: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
    ["reordered keys", Object.fromEntries(Object.entries(base).reverse())],
    ["stream and stream_options added", { ...base, stream: true, stream_options: { include_usage: true } }],
    ["an undefined field added", { ...base, seed: undefined }]
  ]
  for (const [name, request] of same) {
    it(`does not change with ${name}`, () => assert.strictEqual(CacheKey.requestHash("kimi", request), hash))
  }

  const different: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
    ["another provider", "glm", base],
    ["another model", "kimi", { ...base, model: "kimi-k3" }],
    ["another message", "kimi", { ...base, messages: [{ role: "user", content: "Hi " }] }],
    [
      "reordered messages",
      "kimi",
      {
        ...base,
        messages: [
          { role: "user", content: "Hi" },
          { role: "user", content: "Hi" }
        ]
      }
    ],
    ["another sampling", "kimi", { ...base, temperature: 0.1 }],
    ["no tools", "kimi", { ...base, tools: [] }],
    ["a provider option", "kimi", { ...base, thinking: { type: "disabled" } }]
  ]
  for (const [name, provider, request] of different) {
    it(`changes with ${name}`, () => assert.notStrictEqual(CacheKey.requestHash(provider, request), hash))
  }

  it("ignores JSON whitespace and key order in JSON text", () => {
    const compact = JSON.stringify(base)
    const pretty = `{\n  "temperature" : 0,\n\t"model": "kimi-k2" ,"tools":${JSON.stringify(base.tools, null, 4)},
      "messages": [ { "content": "Hi", "role": "user" } ] }`
    assert.strictEqual(CacheKey.requestHashFromJson("kimi", compact), hash)
    assert.strictEqual(CacheKey.requestHashFromJson("kimi", pretty), hash)
    assert.throws(() => CacheKey.requestHashFromJson("kimi", "[1]"), TypeError)
    assert.throws(() => CacheKey.requestHashFromJson("kimi", "{"), SyntaxError)
  })

  it("does not depend on key order (property)", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (request) => {
        const reversed = Object.fromEntries(Object.entries(request).reverse())
        assert.strictEqual(CacheKey.requestHash("p", reversed), CacheKey.requestHash("p", request))
      })
    )
  })
})

describe("CacheKey.isDeterministic", () => {
  const cases: ReadonlyArray<readonly [Record<string, unknown>, boolean]> = [
    [{ temperature: 0 }, true],
    [{ temperature: 0.0 }, true],
    [{ temperature: 0.2 }, false],
    [{ temperature: 1, seed: 7 }, true],
    [{ seed: 0 }, true],
    [{ seed: "7" }, false],
    [{ seed: null }, false],
    [{ temperature: "0" }, false],
    [{}, false]
  ]
  for (const [request, expected] of cases) {
    it(`${JSON.stringify(request)} -> ${expected}`, () =>
      assert.strictEqual(CacheKey.isDeterministic(request), expected))
  }
})
