/**
 * Simulation never mixes with live traffic (`dist/main.js` as operators run it): with one provider live (Kimi, a
 * loopback mock upstream that fails every call), the other (GLM, no key) is disabled unless `CONDUIT_SIMULATE=1`
 * asks for its simulation; then its answers carry `x-conduit-simulated: true`, `/healthz` and the log name it, and
 * no route falls back from the failing live provider onto it.
 */
import { start as startUpstream, type MockUpstream as Upstream } from "@conduitkit/mock-upstream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { listening, run } from "./child.js"
import type { Json } from "./support.js"

let failing: Upstream
let healthy: Upstream
beforeAll(async () => {
  failing = await startUpstream({ rate5xx: 1 })
  healthy = await startUpstream({ chunks: 2, chunkText: "live{i} " })
})
afterAll(async () => {
  await failing.close()
  await healthy.close()
})

const chat = async (url: string, model: string, content: string) => {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] })
  })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

const withGateway = async (env: Record<string, string>, body: (url: string, lines: Array<Json>) => Promise<void>) => {
  const child = run({ PORT: "0", ...env })
  try {
    await body(await listening(child), child.lines)
  } finally {
    child.process.kill("SIGTERM")
  }
  expect(await child.exited).toBe(0)
}

describe("a live provider next to one without a key", () => {
  it("by default the keyless provider is disabled: a failing live call is an error, never a simulated 200", async () => {
    await withGateway(
      { MOONSHOT_API_KEY: "sk-live", MOONSHOT_BASE_URL: failing.baseURL("moonshot") },
      async (url, lines) => {
        expect(lines[0]).toMatchObject({
          msg: "conduit gateway: kimi live, glm disabled",
          providers: { kimi: { mode: "live" }, glm: { mode: "disabled" } }
        })
        expect(lines[0].providers.glm.detail).toContain("CONDUIT_SIMULATE=1")
        const health: Json = await (await fetch(`${url}/healthz`)).json()
        expect(health).toMatchObject({ status: "ok", simulated: [] })
        for (const model of ["default", "fast"]) {
          const answer = await chat(url, model, `capital of France via ${model}`)
          expect(answer.status, model).toBeGreaterThanOrEqual(500)
          expect(answer.headers.get("x-conduit-simulated")).toBeNull()
          expect(answer.body).not.toContain("GLM")
        }
        const disabled = await chat(url, "glm/glm-4.6", "x")
        expect(disabled.status).toBe(503)
        expect(disabled.body).toContain("provider_disabled")
        expect(disabled.body).toContain("CONDUIT_SIMULATE=1")
      }
    )
  }, 240_000) // a gateway process starts in each (up to 150 s for its "listening" line on a loaded machine)

  it("CONDUIT_SIMULATE=1: simulated answers say so, and no fallback lands on the simulation", async () => {
    await withGateway(
      { MOONSHOT_API_KEY: "sk-live", MOONSHOT_BASE_URL: failing.baseURL("moonshot"), CONDUIT_SIMULATE: "1" },
      async (url, lines) => {
        expect(lines[0]).toMatchObject({ providers: { kimi: { mode: "live" }, glm: { mode: "simulated" } } })
        expect(lines.find((line) => line.level === "warn" && String(line.msg).includes("simulated"))?.msg).toContain(
          "x-conduit-simulated"
        )
        const health: Json = await (await fetch(`${url}/healthz`)).json()
        expect(health.simulated).toEqual(["glm"])
        const asked = await chat(url, "glm/glm-4.6", "asked for the simulation")
        expect(asked.status).toBe(200)
        expect(asked.headers.get("x-conduit-provider")).toBe("glm")
        expect(asked.headers.get("x-conduit-simulated")).toBe("true")
        const listed: Json = await (await fetch(`${url}/v1/models/default`)).json()
        expect(listed.fallbacks).toEqual([])
        const live = await chat(url, "default", "capital of France")
        expect(live.status).toBeGreaterThanOrEqual(500)
        expect(live.headers.get("x-conduit-simulated")).toBeNull()
        expect(live.body).not.toContain("GLM")
        expect(failing.records.get("capital of France")?.attempts).toBeGreaterThan(0)
      }
    )
  }, 240_000)

  it("a live answer carries no simulation header", async () => {
    await withGateway(
      { MOONSHOT_API_KEY: "sk-live", MOONSHOT_BASE_URL: healthy.baseURL("moonshot"), CONDUIT_SIMULATE: "1" },
      async (url) => {
        const answer = await chat(url, "default", "a live answer")
        expect(answer.status).toBe(200)
        expect(answer.headers.get("x-conduit-provider")).toBe("kimi")
        expect(answer.headers.get("x-conduit-simulated")).toBeNull()
        expect(JSON.parse(answer.body).choices[0].message.content).toBe("live0 live1 ")
      }
    )
  }, 240_000)
})
