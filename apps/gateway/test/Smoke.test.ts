import { MockUpstream } from "@conduit-llm/core/testing"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { chunk, client, completionBody, mswServer, respond, type Started, startGateway } from "./support.js"

const server = mswServer()
let gateway: Started
beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  gateway = await startGateway({})
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  server.close()
})

describe("smoke", () => {
  it("non-stream", async () => {
    respond(server, "ref", () => MockUpstream.json(completionBody({ content: "Hello!" })))
    const res = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [{ role: "user", content: "hi" }]
    })
    expect(res.choices[0]?.message.content).toBe("Hello!")
  })
  it("stream", async () => {
    respond(server, "ref", () =>
      MockUpstream.sse([chunk({ role: "assistant", content: "He" }), chunk({ content: "llo" }), chunk({}, "stop")])
    )
    const stream = await client(gateway).chat.completions.create({
      model: "ref/ref-chat-1",
      messages: [{ role: "user", content: "hi" }],
      stream: true
    })
    let text = ""
    for await (const c of stream) text += c.choices[0]?.delta.content ?? ""
    expect(text).toBe("Hello")
    console.log(gateway.logs)
  })
})
