/**
 * `dist/main.js` as operators run it: a child process (Node 24, the built entry point), configured by environment
 * variables only. Its first log line says each provider's mode; without keys it serves both providers from their
 * simulations; with a key it calls the configured base URL (here the node:http mock upstream); a public HOST without
 * keys and a broken models.yaml refuse to start with a clear message; SIGTERM drains and exits 0.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import OpenAI from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { listening, run } from "./child.js"
import * as Receiver from "./otlpReceiver.js"

const sdk = (url: string, apiKey = "unused") => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 })

let upstream: Upstream
let scratch: string
beforeAll(async () => {
  upstream = await startUpstream({ chunks: 3, chunkText: "live{i} " })
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-main-"))
})
afterAll(async () => {
  await upstream.close()
  fs.rmSync(scratch, { recursive: true, force: true })
})

/** A models.yaml with `lines`, in this suite's temporary directory (removed after the suite). */
const modelsFile = (name: string, lines: ReadonlyArray<string>): string => {
  const file = path.join(scratch, `${name}.yaml`)
  fs.writeFileSync(file, `${lines.join("\n")}\n`)
  return file
}

describe("dist/main.js", () => {
  it("without keys: says both providers are simulated, serves both in stream and non-stream, exits 0 on SIGTERM", async () => {
    const child = run({ PORT: "0" })
    try {
      const url = await listening(child)
      expect(child.lines[0]).toMatchObject({
        level: "info",
        msg: "conduit gateway: kimi simulated, glm simulated",
        providers: { kimi: { mode: "simulated" }, glm: { mode: "simulated" } }
      })
      expect(child.lines[1]).toMatchObject({ level: "warn" })
      expect(child.lines[1].msg).toContain("loopback")
      for (const model of ["kimi/kimi-k2.6", "glm/glm-4.6", "default"]) {
        const answer = await sdk(url).chat.completions.create({ model, messages: [{ role: "user", content: "Hello" }] })
        expect(answer.choices[0]?.message.content?.length).toBeGreaterThan(0)
        const stream = await sdk(url).chat.completions.create({
          model,
          messages: [{ role: "user", content: "Hello" }],
          stream: true,
          stream_options: { include_usage: true }
        })
        let text = ""
        let usage: unknown
        for await (const chunk of stream) {
          text += chunk.choices[0]?.delta.content ?? ""
          usage ??= chunk.usage ?? undefined
        }
        expect(text.length).toBeGreaterThan(0)
        expect(usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number) })
      }
      const models = await sdk(url).models.list()
      expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(["default", "kimi/kimi-k3", "glm/glm-4.6"]))
      // request logs carry no message content
      const logged = JSON.stringify(child.lines)
      expect(logged).not.toContain("Hello")
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
  }, 240_000)

  it("with a key: calls the configured base URL and says the provider is live (never printing the key)", async () => {
    const child = run({
      PORT: "0",
      MOONSHOT_API_KEY: "sk-live-secret-123",
      MOONSHOT_BASE_URL: upstream.baseURL("moonshot"),
      CONDUIT_SIMULATE: "0",
      CONDUIT_API_KEYS: "sk-client-1,sk-client-2"
    })
    try {
      const url = await listening(child)
      expect(child.lines[0]).toMatchObject({
        msg: "conduit gateway: kimi live, glm disabled",
        providers: { kimi: { mode: "live" }, glm: { mode: "disabled" } }
      })
      expect(child.lines[0].providers.kimi.detail).toContain(upstream.baseURL("moonshot"))
      const answer = await sdk(url, "sk-client-2").chat.completions.create({
        model: "kimi/kimi-k2.6",
        messages: [{ role: "user", content: "through the live path" }]
      })
      expect(answer.choices[0]?.message.content).toBe("live0 live1 live2 ")
      expect(upstream.records.get("through the live path")?.attempts).toBe(1)
      await expect(
        sdk(url, "sk-client-2").chat.completions.create({
          model: "glm/glm-4.6",
          messages: [{ role: "user", content: "x" }]
        })
      ).rejects.toMatchObject({ status: 503, code: "provider_disabled" })
      await expect(
        sdk(url, "sk-wrong").chat.completions.create({
          model: "kimi/kimi-k2.6",
          messages: [{ role: "user", content: "x" }]
        })
      ).rejects.toMatchObject({ status: 401 })
      const logged = JSON.stringify(child.lines)
      expect(logged).not.toContain("sk-live-secret-123")
      expect(logged).not.toContain("sk-client-2")
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
  }, 240_000)

  it("with a Z.ai key: calls ZAI_BASE_URL (Z.ai's wire flavour) in stream and non-stream mode", async () => {
    const child = run({
      PORT: "0",
      ZAI_API_KEY: "zai-live-secret.456",
      ZAI_BASE_URL: upstream.baseURL("zai"),
      CONDUIT_SIMULATE: "0"
    })
    try {
      const url = await listening(child)
      expect(child.lines[0]).toMatchObject({
        msg: "conduit gateway: kimi disabled, glm live",
        providers: { kimi: { mode: "disabled" }, glm: { mode: "live" } }
      })
      expect(child.lines[0].providers.glm.detail).toContain(upstream.baseURL("zai"))
      const answer = await sdk(url).chat.completions.create({
        model: "glm/glm-4.6",
        messages: [{ role: "user", content: "through ZAI_BASE_URL" }]
      })
      expect(answer.choices[0]?.message.content).toBe("live0 live1 live2 ")
      expect(upstream.records.get("through ZAI_BASE_URL")?.attempts).toBe(1)
      const stream = await sdk(url).chat.completions.create({
        model: "glm/glm-4.6",
        messages: [{ role: "user", content: "streamed through ZAI_BASE_URL" }],
        stream: true
      })
      let text = ""
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? ""
      expect(text).toBe("live0 live1 live2 ")
      expect(upstream.records.get("streamed through ZAI_BASE_URL")?.attempts).toBe(1)
      expect(JSON.stringify(child.lines)).not.toContain("zai-live-secret")
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
  }, 240_000)

  it("refuses a public HOST without keys", async () => {
    const child = run({ HOST: "0.0.0.0", PORT: "0" })
    expect(await child.exited).toBe(1)
    expect(child.lines.at(-1)).toMatchObject({ level: "error" })
    expect(child.lines.at(-1).msg).toContain("CONDUIT_API_KEYS")
  }, 240_000)

  it("refuses a broken models.yaml, naming file, line and field", async () => {
    const file = modelsFile("broken", [
      "models:",
      "  fast:",
      "    target: kimi/kimi-k2.6",
      "    retry: { maxRetries: two }"
    ])
    const child = run({ PORT: "0", CONDUIT_MODELS: file })
    expect(await child.exited).toBe(1)
    const message = String(child.lines.at(-1)?.msg)
    expect(message).toContain(`${file}:4`)
    expect(message).toContain("models.fast.retry.maxRetries")
  }, 240_000)

  it("disables a models.yaml backend whose key variable is unset (a warning names it; requests to it answer 503)", async () => {
    const file = modelsFile("unset-key", [
      "providers:",
      "  vllm:",
      `    baseURL: ${upstream.baseURL("moonshot")}`,
      "    apiKeyEnv: CONDUIT_TEST_UNSET_KEY",
      "models:",
      "  local:",
      "    target: vllm/mock-model",
      "  backed:",
      "    target: vllm/mock-model",
      "    fallbacks: [kimi/kimi-k2.6]"
    ])
    const child = run({
      PORT: "0",
      CONDUIT_MODELS: file,
      MOONSHOT_API_KEY: "sk-live",
      MOONSHOT_BASE_URL: upstream.baseURL("moonshot")
    })
    try {
      const url = await listening(child)
      expect(child.lines[0]).toMatchObject({
        providers: {
          kimi: { mode: "live" },
          vllm: { mode: "disabled", detail: "its key variable CONDUIT_TEST_UNSET_KEY is not set" }
        }
      })
      const warning = child.lines.find((line) => line.level === "warn" && String(line.msg).includes("vllm"))
      expect(warning?.msg).toContain("CONDUIT_TEST_UNSET_KEY is not set")
      for (const model of ["vllm/mock-model", "local"]) {
        const response = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "Hello" }] })
        })
        expect(response.status).toBe(503)
        const { error } = (await response.json()) as { error: { message: string } }
        expect(error).toMatchObject({ type: "server_error", code: "provider_disabled", param: "model" })
        expect(error.message).toContain('The provider "vllm" is disabled on this gateway')
        expect(error.message).toContain("CONDUIT_TEST_UNSET_KEY is not set")
      }
      // a name with a step on an enabled provider is served by that step
      const answer = await sdk(url).chat.completions.create({
        model: "backed",
        messages: [{ role: "user", content: "served by the fallback" }]
      })
      expect(answer.choices[0]?.message.content).toBe("live0 live1 live2 ")
      expect(upstream.records.get("served by the fallback")?.attempts).toBe(1)
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
  }, 240_000)

  it("serves the names of a models.yaml, with backends declared in it", async () => {
    const file = modelsFile("backends", [
      "providers:",
      "  local:",
      `    baseURL: ${upstream.baseURL("moonshot")}`,
      "    models:",
      "      mock-model: { contextWindow: 8192 }",
      "models:",
      "  house:",
      "    target: local/mock-model",
      "    defaults: { temperature: 0.5 }"
    ])
    const child = run({ PORT: "0", CONDUIT_MODELS: file, CONDUIT_SIMULATE: "0" })
    try {
      const url = await listening(child)
      expect(child.lines[0]).toMatchObject({
        providers: { kimi: { mode: "disabled" }, glm: { mode: "disabled" }, local: { mode: "config" } },
        models: file
      })
      const answer = await sdk(url).chat.completions.create({
        model: "house",
        messages: [{ role: "user", content: "from models.yaml" }]
      })
      expect(answer.choices[0]?.message.content).toBe("live0 live1 live2 ")
      const listed = await sdk(url).models.list()
      expect(listed.data.find((m) => m.id === "house")).toMatchObject({
        target: "local/mock-model",
        context_window: 8192
      })
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
  }, 240_000)

  it("with OTEL_EXPORTER_OTLP_ENDPOINT: exports its spans as OTLP/HTTP protobuf (the default), with the headers and service name asked for", async () => {
    const receiver = await Receiver.start()
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736"
    const child = run({
      PORT: "0",
      MOONSHOT_API_KEY: "sk-live-secret-123",
      MOONSHOT_BASE_URL: upstream.baseURL("moonshot"),
      CONDUIT_SIMULATE: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_HEADERS: "x-otlp-token=tok%20en",
      OTEL_SERVICE_NAME: "conduit-main-test",
      OTEL_BSP_SCHEDULE_DELAY: "50"
    })
    try {
      const url = await listening(child)
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
        body: JSON.stringify({ model: "kimi/kimi-k2.6", messages: [{ role: "user", content: "traced" }] })
      })
      expect(response.status).toBe(200)
      await response.text()
    } finally {
      child.process.kill("SIGTERM")
    }
    expect(await child.exited).toBe(0)
    try {
      // flushed at the latest when the gateway shut down
      const exports = receiver.exports.filter((e) => e.path === "/v1/traces")
      expect(exports.length).toBeGreaterThan(0)
      expect(exports.every((e) => e.headers["content-type"] === "application/x-protobuf")).toBe(true)
      expect(exports.every((e) => e.headers["x-otlp-token"] === "tok en")).toBe(true)
      const body = Buffer.concat(exports.map((e) => e.body))
      // protobuf carries ids as raw bytes and strings as UTF-8
      expect(body.includes(Buffer.from(traceId, "hex"))).toBe(true)
      for (const text of ["conduit-main-test", "POST /v1/chat/completions", "chat kimi-k2.6", "gen_ai.provider.name"]) {
        expect(body.includes(Buffer.from(text, "utf8")), text).toBe(true)
      }
      expect(body.includes(Buffer.from("traced", "utf8"))).toBe(false)
    } finally {
      await receiver.close()
    }
  }, 240_000)
})
