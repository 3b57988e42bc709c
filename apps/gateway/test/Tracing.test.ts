/**
 * Traces as exported: the gateway with `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at a loopback OTLP/HTTP receiver
 * (OTLP/JSON here; the protobuf default is checked in Main.test.ts with the built entry point), the payload decoded,
 * and span names, parent/child structure, GenAI attributes and the propagated `traceparent` (from the client, and
 * to the upstream) asserted for non-stream, stream, retried and fallback requests. Each test sends its own trace id,
 * so its spans are told apart from the others' in the one receiver.
 */
import { randomBytes } from "node:crypto"
import { MockUpstream } from "@conduitkit/core/testing"
import { ConfigProvider, Context, Effect, Layer, ManagedRuntime, Option, Tracer } from "effect"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Gateway from "../src/Gateway.js"
import * as GatewayConfig from "../src/GatewayConfig.js"
import * as Observability from "../src/Observability.js"
import * as Receiver from "./otlpReceiver.js"
import {
  chunk,
  completionBody,
  errorBody,
  eventually,
  mswServer,
  realFetch,
  referenceEntry,
  respond,
  usageChunk
} from "./support.js"

const server = mswServer()
let receiver: Receiver.Receiver
let gateway: { readonly url: string; readonly close: () => Promise<void> }

const models = {
  models: { smart: { target: "ref/ref-chat-1", fallbacks: ["backup/ref-chat-1"] } },
  // USD per million tokens: input 2, cached input 0.5, output 8
  pricing: {
    "ref/ref-chat-1": { currency: "USD", inputPerMillion: 2, cachedInputPerMillion: 0.5, outputPerMillion: 8 }
  }
}

/**
 * A gateway whose configuration comes from `env` (the `OTEL_*` variables among them) as `main` reads it from the
 * process environment: `GatewayConfig.load` decides whether tracing is on, Effect's `OtlpTracer` reads the rest.
 */
const startWithEnv = async (env: Record<string, string>) => {
  const provider = ConfigProvider.fromEnvRecord(env)
  const loaded = await ManagedRuntime.make(ConfigProvider.layer(provider)).runPromise(GatewayConfig.load)
  const config = { ...loaded, shutdownGraceMs: 1_000 }
  const runtime = ManagedRuntime.make(
    Gateway.layer({
      config,
      providers: [referenceEntry("ref"), referenceEntry("backup")],
      models,
      log: () => undefined
    }).pipe(Layer.provide(ConfigProvider.layer(provider))) as Layer.Layer<Gateway.Running>
  )
  const running = Context.get(await runtime.context(), Gateway.Running)
  return { url: running.url, config, close: () => runtime.dispose() }
}

beforeAll(async () => {
  server.listen({ onUnhandledFrame: "error" })
  receiver = await Receiver.start()
  gateway = await startWithEnv({
    PORT: "0",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "conduit-under-test",
    OTEL_BSP_SCHEDULE_DELAY: "50"
  })
})
afterEach(() => server.resetHandlers())
afterAll(async () => {
  await gateway.close()
  await receiver.close()
  server.close()
})

/** A fresh incoming trace context: its trace id, the caller's span id, and the header. */
const incoming = () => {
  const traceId = randomBytes(16).toString("hex")
  const spanId = randomBytes(8).toString("hex")
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` }
}

const post = (body: Record<string, unknown>, traceparent: string) =>
  realFetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent },
    body: JSON.stringify(body)
  })

const user = { role: "user", content: "Hello" }

/** The trace's spans once `expected` names have arrived (the exporter batches every 50 ms). */
const traceOf = async (traceId: string, expected: ReadonlyArray<string>) => {
  const spans = () => receiver.spans().filter((span) => span.traceId === traceId)
  await eventually(() => expected.every((name) => spans().some((span) => span.name === name)), 30_000)
  return spans()
}

const only = (spans: ReadonlyArray<Receiver.Span>, name: string) => {
  const found = spans.filter((span) => span.name === name)
  expect(found.map((span) => span.name)).toEqual([name])
  return found[0]!
}

describe("traces over OTLP/HTTP", () => {
  it("non-stream: server span under the incoming traceparent, admission, effect/ai's call span, one attempt span whose traceparent went upstream", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.json(
        completionBody({ content: "Hi" }, "stop", {
          prompt_tokens: 1200,
          completion_tokens: 300,
          total_tokens: 1500,
          prompt_tokens_details: { cached_tokens: 1024 },
          completion_tokens_details: { reasoning_tokens: 250 }
        })
      )
    )
    const context = incoming()
    const response = await post({ model: "ref/ref-chat-1", messages: [user], temperature: 0.2 }, context.traceparent)
    expect(response.status).toBe(200)
    const requestId = response.headers.get("x-request-id")
    await response.text()

    const spans = await traceOf(context.traceId, ["POST /v1/chat/completions", "chat ref-chat-1"])
    const request = only(spans, "POST /v1/chat/completions")
    const admission = only(spans, "conduit.session.admission")
    const call = only(spans, "LanguageModel.generateText")
    const attempt = only(spans, "chat ref-chat-1")
    expect(request.parentSpanId).toBe(context.spanId)
    expect(request.kind).toBe(2)
    expect(request.resource["service.name"]).toBe("conduit-under-test")
    expect(request.attributes).toMatchObject({
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "conduit.request.id": requestId,
      "conduit.model": "ref/ref-chat-1",
      "conduit.attempts": 1,
      "gen_ai.provider.name": "ref"
    })
    expect(admission.parentSpanId).toBe(request.spanId)
    expect(typeof admission.attributes["conduit.session.queued_ms"]).toBe("number")
    expect(call.parentSpanId).toBe(request.spanId)
    expect(attempt.parentSpanId).toBe(call.spanId)
    expect(attempt.kind).toBe(3)
    expect(attempt.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "ref",
      "gen_ai.request.model": "ref-chat-1",
      "gen_ai.request.temperature": 0.2,
      "gen_ai.response.id": "chatcmpl-up",
      "gen_ai.response.model": "ref-chat-1",
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 1200,
      "gen_ai.usage.output_tokens": 300,
      "gen_ai.usage.cache_read.input_tokens": 1024,
      "gen_ai.usage.reasoning.output_tokens": 250,
      "http.response.status_code": 200,
      "server.address": "ref.test",
      "conduit.attempt": 1
    })
    // content is not recorded unless the operator opts in
    expect(Object.keys(attempt.attributes).filter((key) => key.endsWith(".messages"))).toEqual([])
    // the call's totals and its cost on effect/ai's span: (1200 - 1024) × 2 + 1024 × 0.5 + 300 × 8 per million
    expect(call.attributes).toMatchObject({
      "gen_ai.usage.input_tokens": 1200,
      "gen_ai.usage.cache_read.input_tokens": 1024,
      "conduit.cost.currency": "USD",
      "conduit.cost.unconfirmed": false
    })
    expect(call.attributes["conduit.cost.amount"]).toBeCloseTo(0.003264, 10)
    expect(request.attributes).toMatchObject({ "conduit.cost.amount": 0.003264, "conduit.cost.currency": "USD" })
    expect(response.headers.get("x-conduit-cost")).toBe("0.003264 USD")
    expect(recorder.calls[0]!.headers.traceparent).toBe(`00-${context.traceId}-${attempt.spanId}-01`)
  })

  it("stream: the attempt span lasts the body, with the first token as an event and the final usage", async () => {
    const recorder = respond(server, "ref", () =>
      MockUpstream.sse([
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Hel" }),
        chunk({ content: "lo" }),
        chunk({}, "stop"),
        usageChunk({ prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 })
      ])
    )
    const context = incoming()
    const response = await post({ model: "ref/ref-chat-1", messages: [user], stream: true }, context.traceparent)
    expect(response.status).toBe(200)
    expect(await response.text()).toContain("[DONE]")

    const spans = await traceOf(context.traceId, ["POST /v1/chat/completions", "chat ref-chat-1"])
    const request = only(spans, "POST /v1/chat/completions")
    const call = only(spans, "LanguageModel.streamText")
    const attempt = only(spans, "chat ref-chat-1")
    // the request span lasts until the stream ended, and has the access log's fields of its end
    expect(request.attributes).toMatchObject({
      "conduit.streamed": true,
      "gen_ai.provider.name": "ref",
      "conduit.attempts": 1,
      "gen_ai.usage.output_tokens": 2
    })
    expect(call.parentSpanId).toBe(request.spanId)
    expect(attempt.parentSpanId).toBe(call.spanId)
    expect(attempt.attributes).toMatchObject({
      "conduit.streamed": true,
      "gen_ai.response.finish_reasons": ["stop"],
      "gen_ai.usage.input_tokens": 9,
      "gen_ai.usage.output_tokens": 2
    })
    expect(attempt.events.map((event) => event.name)).toEqual(["conduit.first_token"])
    expect(attempt.events[0]!.attributes["conduit.time_to_first_token_ms"]).toBeGreaterThanOrEqual(0)
    expect(recorder.calls[0]!.headers.traceparent).toBe(`00-${context.traceId}-${attempt.spanId}-01`)
  })

  it("retry: one span per attempt, the failed one with error.type and its status, the retry with its delay", async () => {
    const recorder = respond(server, "ref", ({ index }) =>
      index === 0
        ? MockUpstream.error(500, errorBody("upstream broke", "server_error", null))
        : MockUpstream.json(completionBody({ content: "ok" }))
    )
    const context = incoming()
    const response = await post({ model: "ref/ref-chat-1", messages: [user] }, context.traceparent)
    expect(response.status).toBe(200)
    await response.text()

    const spans = await traceOf(context.traceId, ["POST /v1/chat/completions", "chat ref-chat-1"])
    await eventually(() => receiver.spans().filter((s) => s.traceId === context.traceId).length >= 5, 30_000)
    const attempts = receiver
      .spans()
      .filter((span) => span.traceId === context.traceId && span.name === "chat ref-chat-1")
      .sort((a, b) => Number(a.attributes["conduit.attempt"]) - Number(b.attributes["conduit.attempt"]))
    const call = only(spans, "LanguageModel.generateText")
    expect(attempts.map((span) => span.parentSpanId)).toEqual([call.spanId, call.spanId])
    expect(attempts[0]!.attributes).toMatchObject({
      "conduit.attempt": 1,
      "error.type": "InternalProviderError",
      "http.response.status_code": 500,
      "conduit.error.kind": "http"
    })
    expect(attempts[0]!.status?.code).toBe(2)
    expect(attempts[1]!.attributes["conduit.attempt"]).toBe(2)
    expect(attempts[1]!.attributes["conduit.retry.delay_ms"]).toBeGreaterThanOrEqual(0)
    expect(attempts[1]!.attributes["error.type"]).toBeUndefined()
    expect(recorder.calls.map((c) => c.headers.traceparent)).toEqual(
      attempts.map((span) => `00-${context.traceId}-${span.spanId}-01`)
    )
    expect(only(spans, "POST /v1/chat/completions").attributes["conduit.attempts"]).toBe(2)
  })

  it("fallback: one span per route step, the target's failed attempts under step 0, the answer under step 1", async () => {
    respond(server, "ref", () => MockUpstream.error(503, errorBody("overloaded", "server_error", null)))
    const backup = respond(server, "backup", () => MockUpstream.json(completionBody({ content: "from backup" })))
    const context = incoming()
    const response = await post({ model: "smart", messages: [user] }, context.traceparent)
    expect(response.status).toBe(200)
    await response.text()

    const spans = await traceOf(context.traceId, ["POST /v1/chat/completions"])
    await eventually(
      () => receiver.spans().filter((s) => s.traceId === context.traceId && s.name === "chat ref-chat-1").length >= 4,
      10_000
    )
    const all = receiver.spans().filter((span) => span.traceId === context.traceId)
    const request = only(spans, "POST /v1/chat/completions")
    const steps = all
      .filter((span) => span.name === "conduit.route.step")
      .sort((a, b) => Number(a.attributes["conduit.route.step"]) - Number(b.attributes["conduit.route.step"]))
    expect(
      steps.map((step) => [step.attributes["conduit.route.step"], step.attributes["gen_ai.provider.name"]])
    ).toEqual([
      [0, "ref"],
      [1, "backup"]
    ])
    expect(steps.every((step) => step.parentSpanId === request.spanId)).toBe(true)
    expect(steps.map((step) => step.attributes["conduit.route.name"])).toEqual(["smart", "smart"])
    const calls = all.filter((span) => span.name === "LanguageModel.generateText")
    const underStep = (index: number) => {
      const call = calls.find((span) => span.parentSpanId === steps[index]!.spanId)!
      return all.filter((span) => span.name === "chat ref-chat-1" && span.parentSpanId === call.spanId)
    }
    const failed = underStep(0)
    const answered = underStep(1)
    expect(failed.map((span) => span.attributes["gen_ai.provider.name"])).toEqual(["ref", "ref", "ref"])
    expect(failed.every((span) => span.attributes["http.response.status_code"] === 503)).toBe(true)
    expect(answered.map((span) => [span.attributes["gen_ai.provider.name"], span.attributes["error.type"]])).toEqual([
      ["backup", undefined]
    ])
    expect(backup.calls[0]!.headers.traceparent).toBe(`00-${context.traceId}-${answered[0]!.spanId}-01`)
    expect(request.attributes).toMatchObject({ "conduit.fallbacks": 1, "gen_ai.provider.name": "backup" })
  })
})

describe("without an endpoint", () => {
  it("installs nothing: no tracer, no traceparent upstream, nothing exported", async () => {
    const plain = await startWithEnv({ PORT: "0" })
    try {
      expect(plain.config.tracing).toBeUndefined()
      const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: "Hi" })))
      const context = incoming()
      const response = await realFetch(`${plain.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: context.traceparent },
        body: JSON.stringify({ model: "ref/ref-chat-1", messages: [user] })
      })
      expect(response.status).toBe(200)
      await response.text()
      expect(recorder.calls[0]!.headers.traceparent).toBeUndefined()
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(receiver.spans().filter((span) => span.traceId === context.traceId)).toEqual([])
    } finally {
      await plain.close()
    }
  })
})

describe("Observability.config", () => {
  const read = (env: Record<string, string>) =>
    ManagedRuntime.make(ConfigProvider.layer(ConfigProvider.fromEnvRecord(env))).runPromise(
      Effect.gen(function* () {
        return yield* Observability.config
      })
    )

  it("is off without an endpoint, with OTEL_SDK_DISABLED, or with OTEL_TRACES_EXPORTER=none", async () => {
    expect(await read({})).toBeUndefined()
    expect(await read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined()
    expect(await read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined()
  })

  it("defaults to protobuf and conduit-gateway; the traces-specific endpoint and protocol count; content capture is opt-in", async () => {
    expect(await read({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toEqual({
      protocol: "http/protobuf",
      serviceName: "conduit-gateway",
      captureContent: false,
      sampler: { parentBased: true, ratio: 1 }
    })
    expect(
      await read({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "edge",
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "SPAN_ONLY"
      })
    ).toEqual({
      protocol: "http/json",
      serviceName: "edge",
      captureContent: true,
      sampler: { parentBased: true, ratio: 1 }
    })
    expect(Observability.capturesContent("true")).toBe(true)
    expect(Observability.capturesContent("NO_CONTENT")).toBe(false)
    expect(Observability.capturesContent(undefined)).toBe(false)
  })

  it("refuses gRPC (Effect's exporter speaks OTLP/HTTP)", async () => {
    await expect(
      read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })
    ).rejects.toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/)
  })

  it.each([
    [{}, { parentBased: true, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: "always_on" }, { parentBased: false, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: "always_off" }, { parentBased: false, ratio: 0 }],
    [
      { OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" },
      { parentBased: false, ratio: 0.25 }
    ],
    [{ OTEL_TRACES_SAMPLER: "traceidratio" }, { parentBased: false, ratio: 1 }],
    [{ OTEL_TRACES_SAMPLER: "parentbased_always_off" }, { parentBased: true, ratio: 0 }],
    [
      { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0" },
      { parentBased: true, ratio: 0 }
    ],
    // the argument counts only for the ratio samplers
    [
      { OTEL_TRACES_SAMPLER: "always_on", OTEL_TRACES_SAMPLER_ARG: "0.1" },
      { parentBased: false, ratio: 1 }
    ]
  ])("OTEL_TRACES_SAMPLER %j is the sampler %j", async (env, sampler) => {
    expect((await read({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", ...env }))?.sampler).toEqual(sampler)
  })

  it("refuses a sampler it does not implement and a ratio outside 0 to 1, naming the variable", async () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }
    await expect(read({ ...endpoint, OTEL_TRACES_SAMPLER: "jaeger_remote" })).rejects.toThrow(/OTEL_TRACES_SAMPLER/)
    await expect(
      read({ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "1.5" })
    ).rejects.toThrow(/OTEL_TRACES_SAMPLER_ARG/)
    await expect(
      read({ ...endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "half" })
    ).rejects.toThrow(/OTEL_TRACES_SAMPLER_ARG/)
  })
})

describe("Observability.sampled (the decision per new span)", () => {
  const remote = (traceId: string, sampled: boolean) =>
    Option.some(Tracer.externalSpan({ traceId, spanId: "00f067aa0ba902b7", sampled }))
  const low = `4bf92f3577b34da6a3${"0".repeat(14)}` // random part 0
  const high = `4bf92f3577b34da6a3${"f".repeat(14)}` // random part 2^56 - 1
  it.each([
    // parent-based: an incoming traceparent's flag decides
    ["parentbased_traceidratio 0, sampled parent", { parentBased: true, ratio: 0 }, remote(high, true), true],
    ["parentbased_always_on, unsampled parent", { parentBased: true, ratio: 1 }, remote(low, false), false],
    // not parent-based: the trace id's random part against the ratio, whatever the flag
    ["traceidratio 0.5, random part 0", { parentBased: false, ratio: 0.5 }, remote(low, false), true],
    ["traceidratio 0.5, random part 2^56 - 1", { parentBased: false, ratio: 0.5 }, remote(high, true), false],
    ["always_off, sampled parent", { parentBased: false, ratio: 0 }, remote(low, true), false]
  ])("%s", (_, sampler, parent, expected) => {
    expect(Observability.sampled(sampler, parent, () => 0.5)).toBe(expected)
  })

  it("a new trace: sampled when the draw falls under the ratio; always_on leaves it to Effect", () => {
    expect(Observability.sampled({ parentBased: true, ratio: 0.25 }, Option.none(), () => 0.2)).toBe(true)
    expect(Observability.sampled({ parentBased: true, ratio: 0.25 }, Option.none(), () => 0.3)).toBe(false)
    expect(Observability.sampled({ parentBased: false, ratio: 0 }, Option.none(), () => 0)).toBe(false)
    expect(Observability.sampled({ parentBased: false, ratio: 1 }, Option.none(), () => 0.99)).toBeUndefined()
  })

  it("a span whose parent is in this process follows its parent (Effect's own rule), so a trace is whole or absent", () => {
    const local = Effect.runSync(Effect.makeSpan("parent"))
    expect(Observability.sampled({ parentBased: false, ratio: 0 }, Option.some(local), () => 0)).toBeUndefined()
  })

  it("traceIdUnder reads the rightmost 56 bits", () => {
    expect(Observability.traceIdUnder(low, 0.000001)).toBe(true)
    expect(Observability.traceIdUnder(high, 0.999999)).toBe(false)
    expect(Observability.traceIdUnder(`${"0".repeat(18)}80000000000000`, 0.5)).toBe(false) // exactly one half
    expect(Observability.traceIdUnder(`${"0".repeat(18)}7fffffffffffff`, 0.5)).toBe(true)
  })
})

describe("OTEL_TRACES_SAMPLER, as exported", () => {
  it("parentbased_traceidratio at 0: a sampled incoming trace is exported whole; an unsampled one and a new one are not, and say so upstream", async () => {
    const sampling = await startWithEnv({
      PORT: "0",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0"
    })
    try {
      const recorder = respond(server, "ref", () => MockUpstream.json(completionBody({ content: "Hi" })))
      const ask = (headers: Record<string, string>) =>
        realFetch(`${sampling.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ model: "ref/ref-chat-1", messages: [user] })
        }).then((response) => response.text().then(() => response.status))
      const unsampled = incoming()
      expect(await ask({ traceparent: unsampled.traceparent.replace(/-01$/, "-00") })).toBe(200)
      expect(await ask({})).toBe(200)
      const newTrace = recorder.calls[1]!.headers.traceparent as string
      expect(newTrace).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/)
      expect(recorder.calls[0]!.headers.traceparent).toMatch(new RegExp(`^00-${unsampled.traceId}-[0-9a-f]{16}-00$`))
      const sampled = incoming()
      expect(await ask({ traceparent: sampled.traceparent })).toBe(200)
      expect(recorder.calls[2]!.headers.traceparent).toMatch(/-01$/)
      // the sampled trace arrives whole; the two before it ended earlier, so they would have been in its batch or before
      const spans = await traceOf(sampled.traceId, ["POST /v1/chat/completions", "chat ref-chat-1"])
      expect(spans.map((span) => span.name)).toEqual(
        expect.arrayContaining(["POST /v1/chat/completions", "conduit.session.admission", "chat ref-chat-1"])
      )
      const newTraceId = newTrace.split("-")[1]
      expect(
        receiver.spans().filter((span) => span.traceId === unsampled.traceId || span.traceId === newTraceId)
      ).toEqual([])
    } finally {
      await sampling.close()
    }
  })
})
