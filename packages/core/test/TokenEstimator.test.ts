import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as TokenEstimator from "../src/TokenEstimator.js"
import * as Recordings from "../src/testing/Recordings.js"

const { ERROR_BOUND, Rates, estimateMessages, estimateRequest, estimateText } = TokenEstimator

/** The band an estimate must fall in for a true count known to lie in [low, high], with `slack` tokens of rounding. */
const withinBound = (estimate: number, low: number, high: number, slack = 0): boolean =>
  estimate >= low * (1 - ERROR_BOUND.maxUnderestimate) - slack &&
  estimate <= high * (1 + ERROR_BOUND.maxOverestimate) + slack

/**
 * Exact token counts of public tokenizers, [text, Kimi K2, GLM-4.5]: the reference fixtures of ml-rust/splintr,
 * `tests/fixtures/pretrained/kimi_k2.json` @ d057dc4895fc0492ed8e3e3cd17529d6ce7bae69 (ids from a tiktoken Encoding
 * built from Moonshot's own `tiktoken.model` and the `pat_str` of its `tokenization_kimi.py`) and
 * `tests/fixtures/pretrained/glm4.json` @ a2813effefbaa55805d2ded94bcd457afea51653 (ids from GLM-4.5's
 * `tokenizer.json` through HF `tokenizers` 0.22.1). Counts are the lengths of the pinned id lists.
 */
const REFERENCE: ReadonlyArray<readonly [text: string, kimi: number, glm: number]> = [
  // English words: one token per common word, the leading space merged into it.
  ["hello world", 2, 2],
  ["Hello World!", 3, 3],
  ["the quick brown fox jumps over the lazy dog", 9, 9],
  ["I've got it, don't worry.", 7, 9],
  ["it's a test — isn't it?", 7, 9],
  ["hyphenated-word and em—dash", 8, 8],
  ["café résumé naïve", 8, 7],
  ["Zürich Ångström Curaçao", 11, 11],
  ["Löwe löwe Léopard 狮子", 9, 12],
  ["русский текст с числами 123", 10, 8],
  // Whitespace and punctuation.
  [" a ", 2, 2],
  ["\tindented\twith\ttabs", 6, 6],
  ["line one\nline two\nline three", 8, 8],
  ["\n\n\n", 1, 1],
  ["trailing whitespace   ", 4, 4],
  ["   leading whitespace", 3, 3],
  ["multiple   internal    spaces", 5, 5],
  ["a\tb\nc d", 5, 5],
  ["   \t\n   ", 3, 3],
  ["punctuation: ,.!?;:'\"()[]{}", 11, 12],
  // Code and identifiers.
  ["def add(a, b):\n    return a + b\n", 12, 12],
  ['if (x == 42) { print("hi"); }', 13, 13],
  ["getUserName", 3, 2],
  ["myVariableName", 3, 3],
  ["HTTPRequestHandler", 3, 2],
  ["XMLHttpRequest", 3, 2],
  ["isFooBarBaz123", 6, 6],
  ["aB1cD2eF3", 9, 9],
  ["camelCaseVariable_with_snake", 6, 6],
  ["toString", 2, 1],
  [".isValidEmail", 3, 2],
  ["config.getValue()", 4, 3],
  ["self.assertEqual(x, 42)", 8, 7],
  ["user_id.toString()", 5, 4],
  ["(parenthesizedWord)", 5, 4],
  ["#hashtagWord", 4, 4],
  ["@mentionUser", 3, 3],
  // Digits: groups of up to three (Kimi: one token each; GLM: one or two).
  ["0123456789", 4, 7],
  ["the year 2024 had 365 days", 9, 9],
  ["price: $19.99, quantity: 42", 11, 11],
  ["12345678901234567890", 7, 12],
  ["9999999999", 4, 4],
  ["3.14159265358979", 7, 10],
  ["phone: 1234567890123", 8, 11],
  ["id_000111222333444", 7, 8],
  ["binary 1010101010101010", 8, 8],
  // Chinese (simplified and traditional), Japanese, Korean, mixed.
  ["你好，世界！", 4, 4],
  ["北京市海淀区", 2, 2],
  ["台北101大樓", 5, 5],
  ["こんにちは世界", 6, 2],
  ["日本語のテキストです。", 8, 8],
  ["こんにちはカタカナ", 9, 5],
  ["東京タワーは高い", 7, 5],
  ["ひらがなカタカナ漢字", 11, 11],
  ["안녕하세요 세계", 7, 6],
  ["한국어와中文混合", 6, 6],
  ["Mixed 混合 текст with 日本語 and English.", 11, 12],
  ["Mixed混合Text文字", 4, 4],
  ["user123名前test", 4, 5],
  ["GitHub仓库clone", 4, 3],
  ["日本語123English", 4, 4],
  ["PascalCase北京市camelCase", 6, 6],
  // Emoji: three to four byte-level tokens each unless the pair is a merged token.
  ["emoji test 😀🎉🚀", 9, 9],
  ["family: 👨👩👧👦", 13, 16],
  ["emoji😀letterRun日本語", 7, 7]
]

describe("TokenEstimator.estimateText", () => {
  // Each text is only a handful of tokens, so two tokens of slack absorb the rounding of a single run.
  it.each(REFERENCE)("%j is within ERROR_BOUND of Kimi K2 (%i) and GLM-4.5 (%i) token counts", (text, kimi, glm) => {
    const estimate = estimateText(text)
    expect(withinBound(estimate, Math.min(kimi, glm), Math.max(kimi, glm), 2)).toBe(true)
  })

  it("is within ERROR_BOUND, and not below, both tokenizers over the whole reference table", () => {
    const estimated = REFERENCE.reduce((sum, [text]) => sum + estimateText(text), 0)
    for (const column of [1, 2] as const) {
      const actual = REFERENCE.reduce((sum, row) => sum + row[column], 0)
      expect(estimated / actual).toBeGreaterThanOrEqual(1)
      expect(withinBound(estimated, actual, actual)).toBe(true)
    }
  })

  it("prices ordinary Chinese prose at Moonshot's 1.5 to 2 characters per token", () => {
    // "For a typical Chinese text, 1 Token is roughly equivalent to 1.5-2 Chinese characters"
    // (https://platform.moonshot.cn/docs). Every full-width punctuation mark is its own token in both vocabularies
    // above ("你好，世界！" is 你好 / ， / 世界 / ！ in Kimi's), so the true count lies in
    // [han / 2, han / 1.5 + marks].
    const prose =
      "春天来了，公园里的花都开了。孩子们在草地上放风筝，老人们坐在长椅上聊天。远处的湖面上，几只小船慢慢地划过，" +
      "水面泛起一圈一圈的波纹。我们沿着小路一直走到山脚下，看见一座古老的寺庙，庙前有两棵很高的银杏树。"
    const han = [...prose].filter((c) => /\p{Script=Han}/u.test(c)).length
    const marks = [...prose].filter((c) => /\p{P}/u.test(c)).length
    expect(han + marks).toBe([...prose].length)
    expect(withinBound(estimateText(prose), han / 2, han / 1.5 + marks)).toBe(true)
  })

  it("counts nothing for the empty string and whole tokens otherwise", () => {
    expect(estimateText("")).toBe(0)
    expect(estimateText("a")).toBe(1)
    expect(estimateText("中")).toBe(1)
  })
})

/** A request as recorded, with the prompt tokens the provider reported for it. */
interface RecordedPair {
  readonly name: string
  readonly request: TokenEstimator.EstimatedRequest
  readonly promptTokens: number
}

const promptTokensOf = (body: unknown): number | undefined => {
  const usage = (body as { usage?: { prompt_tokens?: unknown } } | undefined)?.usage
  return typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : undefined
}

const glmPairs = (): Array<RecordedPair> =>
  Recordings.list("glm/fantasy", /\.yaml$/).flatMap((file) =>
    Recordings.readCassette(file).interactions.map(({ request, response }, index) => {
      const reported =
        promptTokensOf(response.json) ??
        (response.sse ?? [])
          .filter((data) => data !== "[DONE]")
          .map((data) => promptTokensOf(JSON.parse(data)))
          .findLast((tokens) => tokens !== undefined)
      if (reported === undefined) throw new Error(`${file}#${index}: no usage.prompt_tokens recorded`)
      return {
        name: `${file.replace("glm/fantasy/", "")}#${index}`,
        request: request.json as TokenEstimator.EstimatedRequest,
        promptTokens: reported
      }
    })
  )

const kimiPairs = (): Array<RecordedPair> => {
  // The estimate-token-count doc: the plain-text request printed on https://platform.kimi.com/docs/api/estimate.md
  // (also https://platform.moonshot.cn/docs/api/misc) and the response the recordings hold for it.
  const estimateDoc = Recordings.readJson("kimi/official-doc-examples/estimate-token-count-response-doc.json") as {
    data: { total_tokens: number }
  }
  // The kimi-thinking-preview doc response: its own reasoning says the user "just greeted me with a simple "Hi.""
  // and no system prompt is mentioned, so the request is reconstructed as one user message "Hi".
  const thinkingDoc = Recordings.readJson("kimi/official-doc-examples/kimi-thinking-preview-nonstream-doc.json") as {
    choices: Array<{ message: { reasoning_content: string } }>
    usage: { prompt_tokens: number }
  }
  if (!thinkingDoc.choices[0]?.message.reasoning_content.includes('a simple "Hi."')) {
    throw new Error("kimi-thinking-preview doc example changed: the reconstructed request no longer matches it")
  }
  return [
    {
      name: "kimi estimate-token-count doc (Chinese system + user)",
      request: {
        messages: [
          {
            role: "system",
            content:
              "你是 Kimi，由 Moonshot AI 提供的人工智能助手，你更擅长中文和英文的对话。你会为用户提供安全，有帮助，准确的回答。同时，你会拒绝一切涉及恐怖主义，种族歧视，黄色暴力等问题的回答。Moonshot AI 为专有名词，不可翻译成其他语言。"
          },
          { role: "user", content: "你好，我叫李雷，1+1等于多少？" }
        ]
      },
      promptTokens: estimateDoc.data.total_tokens
    },
    {
      name: "kimi-thinking-preview doc (user 'Hi')",
      request: { messages: [{ role: "user", content: "Hi" }] },
      promptTokens: thinkingDoc.usage.prompt_tokens
    }
  ]
}

Recordings.describeRecordings("TokenEstimator against recorded prompt_tokens", () => {
  const pairs = [...glmPairs(), ...kimiPairs()]
  const interactions = Recordings.list("glm/fantasy", /\.yaml$/).reduce(
    (sum, file) => sum + Recordings.readCassette(file).interactions.length,
    0
  )

  it("reads a (request, prompt_tokens) pair from every recorded GLM interaction", () => {
    expect(interactions).toBeGreaterThan(0)
    expect(pairs.length).toBe(interactions + 2)
  })

  it.each(pairs)("$name: estimate within ERROR_BOUND of $promptTokens", ({ request, promptTokens }) => {
    expect(withinBound(estimateRequest(request), promptTokens, promptTokens)).toBe(true)
  })

  it("errs on the safe side for the typical recorded request (median ratio at least 1)", () => {
    const ratios = pairs
      .map(({ request, promptTokens }) => estimateRequest(request) / promptTokens)
      .sort((a, b) => a - b)
    expect(ratios[Math.floor(ratios.length / 2)]).toBeGreaterThanOrEqual(1)
  })
})

describe("TokenEstimator.estimateMessages and estimateRequest", () => {
  const user = (content: unknown): TokenEstimator.EstimatedMessage => ({ role: "user", content })

  it("reads string content, text parts and null content alike", () => {
    const text = "What's the weather in Florence, Italy?"
    expect(estimateMessages([user([{ type: "text", text }])])).toBe(estimateMessages([user(text)]))
    expect(estimateMessages([user(null)])).toBe(estimateMessages([user("")]))
    expect(estimateMessages([user([{ type: "text", text: "a" }, "b"])])).toBe(estimateMessages([user("a b")]))
  })

  it("counts each image part as Rates.perImage whatever its data URL, and each video part as Rates.perVideo", () => {
    const text = estimateMessages([user([{ type: "text", text: "Describe" }])])
    const image = { type: "image_url", image_url: { url: `data:image/png;base64,${"A".repeat(100_000)}` } }
    expect(estimateMessages([user([{ type: "text", text: "Describe" }, image, image])])).toBe(text + 2 * Rates.perImage)
    const video = { type: "video_url", video_url: { url: "ms://file-id" } }
    expect(estimateMessages([user([{ type: "text", text: "Describe" }, video])])).toBe(text + Rates.perVideo)
  })

  it("counts names, reasoning, tool calls and tool results", () => {
    const base = estimateMessages([{ role: "assistant", content: "ok" }])
    const call = { id: "call_0", type: "function", function: { name: "weather", arguments: '{"location":"Florence"}' } }
    expect(estimateMessages([{ role: "assistant", content: "ok", name: "bot" }])).toBeGreaterThan(base)
    expect(estimateMessages([{ role: "assistant", content: "ok", reasoning_content: "Let me think." }])).toBe(
      base + estimateText("Let me think.")
    )
    expect(estimateMessages([{ role: "assistant", content: "ok", tool_calls: [call] }])).toBeGreaterThanOrEqual(
      base + Rates.perToolCall + estimateText('{"location":"Florence"}')
    )
    expect(estimateMessages([{ role: "tool", content: "40 C", tool_call_id: "call_0" }])).toBeGreaterThan(
      estimateMessages([{ role: "tool", content: "40 C" }])
    )
  })

  it("adds the tools preamble and each tool's JSON only when tools are declared", () => {
    const messages = [user("What's the weather?")]
    const tool = {
      type: "function",
      function: { name: "weather", parameters: { type: "object", properties: { location: { type: "string" } } } }
    }
    expect(estimateRequest({ messages })).toBe(estimateMessages(messages))
    expect(estimateRequest({ messages, tools: [] })).toBe(estimateMessages(messages))
    expect(estimateRequest({ messages, tools: null })).toBe(estimateMessages(messages))
    expect(estimateRequest({ messages, tools: [tool] })).toBeGreaterThanOrEqual(
      estimateMessages(messages) + Rates.toolsPreamble + Rates.perTool + estimateText(JSON.stringify(tool)) - 1
    )
  })
})

describe("TokenEstimator properties", () => {
  // Strings mixing every class the estimator tells apart, so that concatenation joins runs of each kind.
  const mixedUnit = fc.oneof(
    fc.constantFrom(" ", "  ", "\n", "\t", "a", "Z", "é", "'", "1", "9", ".", '"', "{", "中", "國", "か", "カ", "ー"),
    fc.constantFrom("한", "я", "😀", "\u200d", "\ufe0f", "\u0301", "\ud83d", "\ude00", "\u0000")
  )
  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 60 }),
    fc.string({ unit: mixedUnit, maxLength: 60 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)), maxLength: 60 })
  )

  it("never returns a negative, fractional or NaN count", () => {
    fc.assert(
      fc.property(anyString, (text) => {
        const estimate = estimateText(text)
        return Number.isInteger(estimate) && estimate >= 0 && (text === "" || estimate > 0)
      }),
      { numRuns: 2000 }
    )
  })

  // Text in the scripts the rates are for (Latin, digits, punctuation, whitespace, Han, Kana, Hangul, Cyrillic,
  // emoji). Stray combining marks between scripts can move a segment boundary and are left out: the estimate stays
  // defined for them (property above) but is not promised to be monotonic.
  const realisticString = fc.string({
    unit: fc.constantFrom(
      " ",
      "\n",
      "a",
      "Z",
      "é",
      "'",
      "1",
      "9",
      ".",
      '"',
      "{",
      "中",
      "國",
      "か",
      "カ",
      "ー",
      "한",
      "я",
      "😀",
      "！",
      "。"
    ),
    maxLength: 60
  })

  it("is monotonic under concatenation (up to one token of rounding)", () => {
    fc.assert(
      fc.property(realisticString, realisticString, (a, b) => {
        return estimateText(a + b) >= Math.max(estimateText(a), estimateText(b)) - 1
      }),
      { numRuns: 5000 }
    )
  })

  it("never throws nor returns a non-integer on arbitrary message shapes, and grows with every message", () => {
    const message = fc.record(
      {
        role: fc.string(),
        content: fc.oneof(anyString, fc.constant(null), fc.anything(), fc.array(fc.anything())),
        name: fc.anything(),
        tool_calls: fc.anything(),
        reasoning_content: fc.anything(),
        tool_call_id: fc.anything()
      },
      { requiredKeys: ["role"] }
    )
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 5 }),
        message,
        fc.array(fc.anything(), { maxLength: 3 }),
        (ms, m, tools) => {
          const before = estimateMessages(ms)
          const after = estimateMessages([...ms, m])
          const request = estimateRequest({ messages: ms, tools })
          return (
            Number.isInteger(before) &&
            Number.isInteger(request) &&
            after >= before + Rates.perMessage &&
            request >= before
          )
        }
      ),
      { numRuns: 500 }
    )
  })
})
