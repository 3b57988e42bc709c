/**
 * The schema check every gateway test file runs (OpenApiShapes.ts, test/setup.ts) catches what OpenAI's schema
 * requires: these documents must fail it, and the gateway's own encodings must pass.
 */
import { ResponseSummary } from "@conduitkit/core"
import type { Response } from "effect/ai"
import { describe, expect, it } from "vitest"
import * as ChatCompletionEncoder from "../src/ChatCompletionEncoder.js"
import * as Engine from "../src/Engine.js"
import * as Errors from "../src/Errors.js"
import { documentsOf, problems } from "./OpenApiShapes.js"

const finish = {
  type: "finish",
  reason: "stop",
  usage: { inputTokens: { total: 3 }, outputTokens: { total: 2 } },
  metadata: { conduit: { model: "kimi-k3", rawFinishReason: "stop" } }
}
const parts = [
  { type: "response-metadata", id: "up", modelId: "kimi-k3-0901", timestamp: undefined },
  { type: "text", text: "Hi." },
  finish
] as unknown as ReadonlyArray<Response.AnyPartEncoded>

const completion = () =>
  ChatCompletionEncoder.completion({
    id: "chatcmpl-1",
    created: 1,
    model: Engine.answeringModel(parts, "fast"),
    summary: ResponseSummary.fromParts(parts as never)
  })

describe("OpenAI schema check", () => {
  it("a gateway completion validates, and names the model that answered", () => {
    const body = completion()
    expect(body.model).toBe("kimi-k3-0901")
    expect(problems("CreateChatCompletionResponse", body)).toEqual([])
  })

  it("a completion without logprobs or message.refusal fails (both required, nullable)", () => {
    const body = JSON.parse(JSON.stringify(completion()))
    delete body.choices[0].logprobs
    expect(problems("CreateChatCompletionResponse", body).join("\n")).toContain("logprobs")
    const noRefusal = JSON.parse(JSON.stringify(completion()))
    delete noRefusal.choices[0].message.refusal
    expect(problems("CreateChatCompletionResponse", noRefusal).join("\n")).toContain("refusal")
  })

  it("stream frames: chunks and the error frame validate; a chunk without finish_reason does not", () => {
    const encoder = ChatCompletionEncoder.makeStreamEncoder({ id: "chatcmpl-2", created: 2, model: "fast" })
    let sse = ""
    for (const part of [
      { type: "response-metadata", id: "up", modelId: "glm-4.6" },
      { type: "text-delta", id: "t", delta: "Hel" },
      { type: "text-delta", id: "t", delta: "lo" },
      finish
    ]) {
      sse += encoder.push(part as never)
    }
    sse += encoder.end(true).replace("data: [DONE]\n\n", "")
    sse += ChatCompletionEncoder.errorEvent(Errors.httpError(502, "gone", "upstream_error", "upstream_error"))
    const documents = documentsOf({
      method: "POST",
      path: "/v1/chat/completions",
      status: 200,
      contentType: "text/event-stream; charset=utf-8",
      body: sse
    })
    expect(documents.map((document) => document.schema)).toEqual([
      "CreateChatCompletionStreamResponse",
      "CreateChatCompletionStreamResponse",
      "CreateChatCompletionStreamResponse",
      "CreateChatCompletionStreamResponse",
      "ErrorResponse"
    ])
    for (const document of documents) expect(problems(document.schema, document.value)).toEqual([])
    expect((documents[0]?.value as { model?: string } | undefined)?.model).toBe("glm-4.6")
    expect(
      problems("CreateChatCompletionStreamResponse", {
        id: "x",
        object: "chat.completion.chunk",
        created: 1,
        model: "m",
        choices: [{ index: 0, delta: {} }]
      }).join("\n")
    ).toContain("finish_reason")
  })

  it("an error body without param or code fails ErrorResponse", () => {
    expect(problems("ErrorResponse", { error: { message: "x", type: "y" } })).not.toEqual([])
  })
})
