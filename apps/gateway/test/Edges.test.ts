/**
 * Edges: a body nested deeper than `RequestBody.maxDepth` is refused before anything else (no upstream attempt, no
 * stack overflow); a request still running at the shutdown deadline answers with the error envelope, its
 * `x-request-id` and an access log line; a client that leaves before the response starts is logged (499) and the
 * in-flight gauge comes back down.
 */
import * as http from "node:http"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as RequestBody from "../src/RequestBody.js"
import { completionBody, eventually, mswServer, realFetch, respond, startGateway } from "./support.js"

const server = mswServer()
beforeAll(() => server.listen({ onUnhandledFrame: "error" }))
afterEach(() => server.resetHandlers())
afterAll(() => server.close())

const body = (extra: string) =>
  `{"model":"ref/ref-chat-1","messages":[{"role":"user","content":"hi"}],"metadata":${extra}}`

/** An upstream that reads the request and never answers (until the gateway aborts it). */
const hang = () => respond(server, "ref", () => new Promise<Response>(() => undefined))

const inFlight = async (url: string) => {
  const text = await (await realFetch(`${url}/metrics`)).text()
  // the /metrics request itself is in flight while it renders
  return Number(/^conduit_gateway_in_flight_requests (\d+)/m.exec(text)?.[1]) - 1
}

describe("RequestBody.nestedDeeperThan", () => {
  it.each([
    ["[]", 1, false],
    ["[[]]", 1, true],
    ['{"a":{"b":[1,2,{"c":3}]}}', 4, false],
    ['{"a":{"b":[1,2,{"c":3}]}}', 3, true],
    ['"[[[[[[["', 1, false],
    ['{"a":"\\"[[[[["}', 1, false],
    ['["\\\\",[[]]]', 2, true],
    ["[".repeat(100_000) + "]".repeat(100_000), 128, true]
  ])("%s deeper than %i: %s", (text, limit, deeper) => {
    expect(RequestBody.nestedDeeperThan(text, limit)).toBe(deeper)
  })
})

describe("edges", () => {
  it("a body nested 100,000 deep answers 400 before any upstream attempt; 128 deep is accepted", async () => {
    const gateway = await startGateway({})
    try {
      const recorder = respond(server, "ref", () => Response.json(completionBody({ content: "ok" })))
      const deep = await realFetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)
      })
      expect(deep.status).toBe(400)
      expect(((await deep.json()) as { error: unknown }).error).toMatchObject({
        code: "invalid_json",
        type: "invalid_request_error"
      })
      expect(recorder.count).toBe(0)
      const fine = await realFetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        // the body object and metadata take two levels
        body: body(`${"[".repeat(RequestBody.maxDepth - 2)}${"]".repeat(RequestBody.maxDepth - 2)}`)
      })
      expect(fine.status).not.toBe(400)
    } finally {
      await gateway.close()
    }
  })

  it("a request still running at the shutdown deadline answers 503 with the envelope, its request id and a log line", async () => {
    const gateway = await startGateway({ config: { shutdownGraceMs: 1_000 } })
    const recorder = hang()
    const pending = realFetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-deadline-1" },
      body: body("{}")
    })
    await eventually(() => recorder.count === 1) // running (upstream called) before the shutdown starts
    const closing = gateway.close()
    const response = await pending
    expect(response.status).toBe(503)
    expect(response.headers.get("x-request-id")).toBe("req-deadline-1")
    expect(((await response.json()) as { error: unknown }).error).toMatchObject({
      code: "server_shutting_down",
      type: "server_error"
    })
    await closing
    expect(gateway.logs.find((line) => line.requestId === "req-deadline-1")).toMatchObject({
      msg: "request",
      status: 503,
      error: "server_shutting_down"
    })
  })

  it("a client that leaves before the response starts is logged (499) and the in-flight gauge comes back down", async () => {
    const gateway = await startGateway({})
    try {
      const recorder = hang()
      const req = http.request(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-request-id": "req-gone-1" }
      })
      req.on("error", () => undefined)
      req.end(body("{}"))
      await eventually(() => recorder.count === 1)
      expect(await inFlight(gateway.url)).toBe(1)
      req.destroy()
      await eventually(() => gateway.logs.some((line) => line.requestId === "req-gone-1"))
      expect(gateway.logs.find((line) => line.requestId === "req-gone-1")).toMatchObject({
        msg: "request",
        status: 499,
        error: "client_closed_request"
      })
      expect(await inFlight(gateway.url)).toBe(0)
    } finally {
      await gateway.close()
    }
  })
})
