/**
 * A models.yaml `continuation` setting reaches requests through the gateway: when the upstream stops with
 * `finish_reason: "length"`, a route with continuation asks again with the partial answer and the client receives one
 * merged answer; the bare `provider/model` name (no continuation) returns the truncated answer as the upstream sent it.
 */
import { ModelsConfig } from "@conduitkit/core"
import { MockUpstream } from "@conduitkit/core/testing"
import { Effect } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { chunk, client, completionBody, mswServer, respond, type Started, startGateway, usageChunk } from "./support.js"

const server = mswServer()
let gateway: Started

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  const models = await Effect.runPromise(
    ModelsConfig.parse(
      [
        "models:",
        "  long-answers:",
        "    target: ref/ref-chat-1",
        "    continuation: { maxContinuations: 2, maxTotalTokens: 1000 }",
        ""
      ].join("\n")
    )
  )
  gateway = await startGateway({ models })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway?.close()
  server.close()
})

/** The first call stops at the length limit; a call that carries the partial answer gets the rest. */
const truncatingUpstream = () =>
  respond(server, "ref", ({ body }) => {
    const request = body as { stream?: boolean; messages: Array<{ role: string; content: string }> }
    const continued = request.messages.some((m) => m.role === "assistant" && m.content.includes("The first half,"))
    const [content, finish, usage] = continued
      ? [" and the second half.", "stop", { prompt_tokens: 30, completion_tokens: 6, total_tokens: 36 }]
      : ["The first half,", "length", { prompt_tokens: 20, completion_tokens: 4, total_tokens: 24 }]
    return request.stream === true
      ? MockUpstream.sse([chunk({ role: "assistant", content }), chunk({}, finish), usageChunk(usage)])
      : MockUpstream.json(completionBody({ content }, finish, usage))
  })

describe("models.yaml continuation through the gateway", () => {
  it("a route with continuation answers once, merged, after finish_reason length", async () => {
    const recorder = truncatingUpstream()
    const answer = await client(gateway).chat.completions.create({
      model: "long-answers",
      messages: [{ role: "user", content: "Write two halves." }]
    })
    expect(answer.choices[0]?.message.content).toBe("The first half, and the second half.")
    expect(answer.choices[0]?.finish_reason).toBe("stop")
    expect(answer.usage?.completion_tokens).toBe(10)
    expect(recorder.count).toBe(2)
    // the second upstream call carried the partial answer
    const second = recorder.calls[1]?.body as { messages: Array<{ role: string; content: string }> }
    expect(second.messages.some((m) => m.role === "assistant" && m.content === "The first half,")).toBe(true)
  })

  it("streams the continued answer too", async () => {
    truncatingUpstream()
    const stream = await client(gateway).chat.completions.create({
      model: "long-answers",
      messages: [{ role: "user", content: "Write two halves, streamed." }],
      stream: true
    })
    let text = ""
    let finish: string | null | undefined
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ""
      finish = chunk.choices[0]?.finish_reason ?? finish
    }
    expect(text).toBe("The first half, and the second half.")
    expect(finish).toBe("stop")
  })

  it("the bare provider/model name has no continuation: the truncated answer comes back as sent", async () => {
    const recorder = truncatingUpstream()
    const answer = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [{ role: "user", content: "Write two halves." }]
    })
    expect(answer.choices[0]?.message.content).toBe("The first half,")
    expect(answer.choices[0]?.finish_reason).toBe("length")
    expect(recorder.count).toBe(1)
  })
})
