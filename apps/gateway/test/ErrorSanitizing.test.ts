/**
 * Client-facing errors carry no upstream URL, credential, or upstream text that could hold one (issue 17): a loopback
 * upstream that echoes the request's headers (the provider key among them) and its own address into its error bodies,
 * behind the real Kimi and GLM provider modules, and a base URL with userinfo (`user:pass@`). Every front door is
 * checked: chat (non-stream and stream), the Anthropic Messages route and embeddings. The client keeps the provider's
 * error type and code; the gateway's log keeps the detail, with URLs but without credentials.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Errors from "../src/Errors.js"
import * as Providers from "../src/Providers.js"
import { realFetch, type Started, startGateway } from "./support.js"

const kimiKey = `sk-${"Kx7q".repeat(12)}`
const glmKey = "0f1e2d3c4b5a69780f1e2d3c4b5a6978.Secr3tPartOfKey9"
const gatewayKey = "sk-gateway-sanitize"
const password = "hunter2pass"

/** How the echo upstream answers, chosen by a word in the request body. */
const answer = (
  body: string,
  headers: http.IncomingHttpHeaders,
  self: string
): { status: number; text: string; later?: string } => {
  const echoed = JSON.stringify(headers)
  if (body.includes("mid-stream")) {
    // a 200 stream that fails after its first chunk (sent apart), with an error frame echoing the key and the address
    const chunk = { id: "x", object: "chat.completion.chunk", created: 1, model: "kimi-k2.6" }
    const first = {
      ...chunk,
      choices: [{ index: 0, delta: { role: "assistant", content: "Once" }, finish_reason: null }]
    }
    const error = { error: { message: `stream broke; headers ${echoed}; at ${self}/v1`, type: "server_error" } }
    return { status: 200, text: `data: ${JSON.stringify(first)}\n\n`, later: `data: ${JSON.stringify(error)}\n\n` }
  }
  if (body.includes("no-message")) {
    // no `message`: effect/ai appends the raw body to its description
    return { status: 500, text: `upstream exploded; request headers were ${echoed}; see ${self}/debug` }
  }
  if (body.includes("raw-key")) {
    return {
      status: 401,
      text: JSON.stringify({
        error: {
          message: `Incorrect API key provided: ${headers.authorization?.replace(/^Bearer /, "")}`,
          type: "invalid_authentication_error"
        }
      })
    }
  }
  return {
    status: 400,
    text: JSON.stringify({
      error: {
        message: `Invalid request. Headers: authorization: ${headers.authorization}; x-api-key=${headers.authorization}; called ${self}/v1/chat/completions`,
        type: "invalid_request_error",
        code: "echo_test"
      }
    })
  }
}

let upstream: http.Server
let upstreamURL: string
let gateway: Started
let withUserinfo: Started

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const { status, text, later } = answer(Buffer.concat(chunks).toString("utf8"), request.headers, upstreamURL)
      const type = text.startsWith("{")
        ? "application/json"
        : text.startsWith("data:")
          ? "text/event-stream"
          : "text/plain"
      response.writeHead(status, { "content-type": type })
      if (later === undefined) return response.end(text)
      response.write(text)
      setTimeout(() => response.end(later), 200)
    })
  })
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve))
  upstreamURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
  const connect = (module: Providers.ProviderModule, apiKey: string, baseURL: string) =>
    Providers.entry(module, module.connect({ apiKey: Redacted.make(apiKey), baseURL }), "live")
  const models = {
    models: {
      chat: { target: "kimi/kimi-k2.6", retry: { maxRetries: 0 } },
      vectors: { target: "glm/embedding-3", retry: { maxRetries: 0 } }
    }
  }
  gateway = await startGateway({
    config: { apiKeys: [Redacted.make(gatewayKey)] },
    providers: [
      connect(Providers.kimi, kimiKey, `${upstreamURL}/v1`),
      connect(Providers.glm, glmKey, `${upstreamURL}/api/paas/v4`)
    ],
    models
  })
  const credentialed = upstreamURL.replace("http://", `http://conduit:${password}@`)
  withUserinfo = await startGateway({
    config: { apiKeys: [Redacted.make(gatewayKey)] },
    providers: [
      connect(Providers.kimi, kimiKey, `${credentialed}/v1`),
      connect(Providers.glm, glmKey, `${credentialed}/api/paas/v4`)
    ],
    models
  })
})
afterAll(async () => {
  await gateway.close()
  await withUserinfo.close()
  await new Promise((resolve) => upstream.close(resolve))
})

const post = async (target: Started, path: string, body: unknown) => {
  const response = await realFetch(`${target.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${gatewayKey}`, "content-type": "application/json" },
    body: JSON.stringify(body)
  })
  return { status: response.status, text: await response.text() }
}

/** What a client must never see: keys (or a tell-tale piece of one), the password, the upstream's address. */
const assertClean = (text: string) => {
  for (const secret of [kimiKey, kimiKey.slice(0, 16), glmKey, glmKey.split(".")[1]!, password, "127.0.0.1"]) {
    expect(text).not.toContain(secret)
  }
  expect(text).not.toMatch(/https?:\/\//)
  expect(text.toLowerCase()).not.toContain("authorization: bearer")
}

const user = (content: string) => ({ role: "user", content })

const requests = [
  { door: "chat", path: "/v1/chat/completions", body: (word: string) => ({ model: "chat", messages: [user(word)] }) },
  {
    door: "chat stream",
    path: "/v1/chat/completions",
    body: (word: string) => ({ model: "chat", messages: [user(word)], stream: true })
  },
  {
    door: "messages",
    path: "/v1/messages",
    body: (word: string) => ({ model: "chat", max_tokens: 16, messages: [user(word)] })
  },
  { door: "embeddings", path: "/v1/embeddings", body: (word: string) => ({ model: "vectors", input: word }) }
]

describe.each(requests)("$door", ({ path, body }) => {
  it("an upstream error echoing the key and its address: type and code kept, no key, URL or address", async () => {
    const { status, text } = await post(gateway, path, body("echo"))
    expect(status).toBeGreaterThanOrEqual(400)
    assertClean(text)
    expect(text).toContain("echo_test")
    expect(text).toContain("Invalid request.")
  })

  it("an upstream error without a message (raw body echoing the headers): none of the body reaches the client", async () => {
    const { status, text } = await post(gateway, path, body("no-message"))
    expect(status).toBeGreaterThanOrEqual(500)
    assertClean(text)
    expect(text).not.toContain("upstream exploded")
  })

  it("an upstream message quoting the key: the key is redacted", async () => {
    const { text } = await post(gateway, path, body("raw-key"))
    assertClean(text)
    expect(text).toContain("[redacted]")
  })

  it("a base URL with userinfo: neither the password nor the address reaches the client", async () => {
    const { status, text } = await post(withUserinfo, path, body("echo"))
    expect(status).toBeGreaterThanOrEqual(400)
    assertClean(text)
  })
})

describe("chat stream", () => {
  it("an error frame after the stream started, echoing the key and the address: a clean final error frame", async () => {
    const { status, text } = await post(gateway, "/v1/chat/completions", {
      model: "chat",
      messages: [user("mid-stream")],
      stream: true
    })
    expect(status).toBe(200)
    expect(text).toContain("Once")
    const last = text.trim().split("\n\n").at(-1) ?? ""
    expect(last.startsWith('data: {"error":')).toBe(true)
    expect(last).toContain("stream broke")
    assertClean(text)
  })
})

describe("the logs", () => {
  it("keep the detail (the upstream's URL) without credentials", () => {
    const lines = [...gateway.logs, ...withUserinfo.logs].map((line) => JSON.stringify(line))
    const details = lines.filter((line) => line.includes("errorDetail"))
    expect(details.length).toBeGreaterThan(0)
    expect(details.some((line) => line.includes(upstreamURL))).toBe(true)
    for (const line of lines) {
      for (const secret of [kimiKey, glmKey, password]) expect(line).not.toContain(secret)
    }
  })
})

describe("clientMessage and logDetail", () => {
  it.each([
    {
      message: "Service Unavailable (POST http://10.0.0.7:8000/v1/chat/completions) [code: overloaded]",
      client: "Service Unavailable [code: overloaded]",
      log: "Service Unavailable (POST http://10.0.0.7:8000/v1/chat/completions) [code: overloaded]"
    },
    {
      message: 'HTTP 500 (POST https://u:p4ss@up.internal/v1/x) [type: server_error] Response: {"authorization":"k"}',
      client: "HTTP 500 [type: server_error]",
      log: 'HTTP 500 (POST https://up.internal/v1/x) [type: server_error] Response: {"authorization":"[redacted]"}'
    },
    {
      message: "bad key Bearer abc, Authorization: Basic dXNlcjpwYXNz, api_key=xyz see https://docs.example.com/errors",
      client: "bad key Bearer [redacted], Authorization: [redacted], api_key=[redacted] see [url]",
      log: "bad key Bearer [redacted], Authorization: [redacted], api_key=[redacted] see https://docs.example.com/errors"
    },
    {
      message: 'echo {"host":"10.1.2.3:8000","x-api-key":"abc"} from 192.168.0.9 (model glm-4.5, v1.2)',
      client: 'echo {"host":"[address]","x-api-key":"[redacted]"} from [address] (model glm-4.5, v1.2)',
      log: 'echo {"host":"10.1.2.3:8000","x-api-key":"[redacted]"} from 192.168.0.9 (model glm-4.5, v1.2)'
    },
    {
      message: `Incorrect API key provided: ${kimiKey}. Model kimi-k2-thinking-turbo-preview is fine.`,
      client: "Incorrect API key provided: [redacted]. Model kimi-k2-thinking-turbo-preview is fine.",
      log: "Incorrect API key provided: [redacted]. Model kimi-k2-thinking-turbo-preview is fine."
    }
  ])("$client", ({ message, client, log }) => {
    expect(Errors.clientMessage(message)).toBe(client)
    expect(Errors.logDetail(message)).toBe(log)
  })
})
