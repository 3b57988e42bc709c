/**
 * Reliability properties of the library stack (a provider's LanguageModel over core's transport), checked over real
 * loopback sockets against the node:http mock upstream speaking Moonshot's wire format. Each test fails when its
 * property breaks. Background: ../shared/reference/perf.md §3–5.
 */

import { ProviderError, ResponseSummary, TimeoutPolicy } from "@conduitkit/core"
import * as MockUpstream from "@conduitkit/mock-upstream"
import { KimiClient, KimiLanguageModel } from "@conduitkit/provider-kimi"
import { Effect, Exit, Layer, ManagedRuntime, Stream } from "effect"
import { LanguageModel } from "effect/ai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let mock: MockUpstream.MockUpstream
beforeAll(async () => {
  mock = await MockUpstream.start()
})
afterAll(() => mock.close())

const runtimeOf = (config: Parameters<typeof KimiLanguageModel.layer>[1] = {}) =>
  ManagedRuntime.make(
    KimiLanguageModel.layer("kimi-k2.6", {
      preflight: false,
      providerOptions: { thinking: "disabled" },
      ...config
    }).pipe(Layer.provide(KimiClient.layer({ apiKey: "sk-reliability", baseURL: mock.baseURL("moonshot") })))
  )

const quantile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

const generate = (runtime: ReturnType<typeof runtimeOf>, key: string) =>
  runtime.runPromiseExit(LanguageModel.generateText({ prompt: key }))
const stream = (runtime: ReturnType<typeof runtimeOf>, key: string) =>
  runtime.runPromiseExit(Stream.runCollect(LanguageModel.streamText({ prompt: key })))
const failureOf = (exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const reason = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (reason?._tag !== "Fail") throw new Error(String(exit.cause))
  return reason.error as Parameters<typeof ProviderError.describe>[0]
}

/**
 * A control timer of `ms`, armed now: `lateness()` waits for it and answers how late it fired (ms, at least 0), what a
 * loaded machine adds to any timer at that moment. Timing tests allow it on top of their bound: a wait the library
 * adds itself is not in the control (the Retry-After test's controls do the same for its gaps).
 */
const controlTimer = (ms: number) => {
  const armedAt = performance.now()
  const fired = new Promise<number>((resolve) => setTimeout(() => resolve(performance.now()), ms))
  return { lateness: async () => Math.max(0, (await fired) - armedAt - ms) }
}

/** Runs `tasks` with at most `n` in flight. */
const pool = async <A>(n: number, tasks: ReadonlyArray<() => Promise<A>>): Promise<Array<A>> => {
  const out: Array<A> = new Array(tasks.length)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) {
        const i = next++
        out[i] = await tasks[i]!()
      }
    })
  )
  return out
}

describe("Retry-After", () => {
  // Measured again (at most twice) when one run misses: a p99 over 200 trials rests on its 2 slowest gaps, and on a
  // shared machine one stall can land on a gap and not on its control (a CI run: p99 71.2 ms against 70.8 allowed,
  // then 56.6 and 57.6 ms in two reruns). A wait added on top of the advice misses every run.
  it("retry-after-ms: 50 puts the next attempt 50 to 65 ms later (p99 over 200 trials)", {
    timeout: 120_000,
    retry: 2
  }, async () => {
    mock.reset()
    const runtime = runtimeOf({ retry: { maxRetries: 1 } })
    const gapOf = async (key: string, retryAfterMs: number) => {
      mock.configure({ first429: 1, retryAfterMs })
      const exit = await generate(runtime, key)
      expect(Exit.isSuccess(exit)).toBe(true)
      const times = mock.records.get(key)!.attemptTimes
      return times[1]! - times[0]!
    }
    // One at a time, after 20 uncounted warm-up trials, each 50 ms trial paired with a control trial advising 0 ms:
    // the control measures, in the same run, what the machine adds to any retry (the 429's round trip, the event
    // loop's queueing on a loaded machine), so that noise is not blamed on the wait.
    const gaps: Array<number> = []
    const controls: Array<number> = []
    for (let i = -20; i < 200; i++) {
      const gap = await gapOf(`ra-${i}`, 50)
      const control = await gapOf(`ra-control-${i}`, 0)
      if (i >= 0) {
        gaps.push(gap)
        controls.push(control)
      }
    }
    await runtime.dispose()
    mock.configure({})
    // never before the advice, and no wait added on top of it: a retry advised 0 ms goes at once
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(49)
    expect(quantile(controls, 0.5)).toBeLessThan(10)
    // p99 within 65 ms; on a loaded machine, within 50 ms plus 15 ms plus the control's own p99 excess
    const allowance = Math.max(0, quantile(controls, 0.99) - quantile(controls, 0.5))
    console.info(
      `retry-after 50 ms: gap min ${Math.min(...gaps).toFixed(1)}, p50 ${quantile(gaps, 0.5).toFixed(1)}, p99 ${quantile(gaps, 0.99).toFixed(1)} ms; control p50 ${quantile(controls, 0.5).toFixed(1)}, p99 ${quantile(controls, 0.99).toFixed(1)} ms`
    )
    expect(quantile(gaps, 0.99)).toBeLessThanOrEqual(65 + allowance)
  })

  it("a Retry-After above the cap is not slept on: the call fails at once after one attempt", async () => {
    mock.reset()
    mock.configure({ rate429: 1, retryAfterMs: 120_000 })
    const runtime = runtimeOf()
    const started = performance.now()
    const exit = await generate(runtime, "cap")
    const elapsed = performance.now() - started
    await runtime.dispose()
    mock.configure({})
    expect(ProviderError.describe(failureOf(exit))).toMatchObject({ reason: "RateLimitError", retryAfterMs: 120_000 })
    expect(mock.records.get("cap")?.attempts).toBe(1)
    expect(elapsed).toBeLessThan(2_000)
  })
})

describe("attempt budget and storms", () => {
  it("at most maxRetries + 1 upstream attempts per request", async () => {
    mock.reset()
    mock.configure({ rate5xx: 1 })
    const runtime = runtimeOf({ retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 4 } })
    await Promise.all(Array.from({ length: 50 }, (_, i) => generate(runtime, `budget-${i}`)))
    await runtime.dispose()
    mock.configure({})
    for (let i = 0; i < 50; i++) expect(mock.records.get(`budget-${i}`)?.attempts).toBe(3)
  })

  const storm = async (behaviour: MockUpstream.Behaviour, n: number, perAttemptFailure: number) => {
    mock.reset()
    mock.configure(behaviour)
    const runtime = runtimeOf({ retry: { maxRetries: 2, baseDelayMs: 2, maxDelayMs: 10, maxRetryAfterMs: 60_000 } })
    const exits = await pool(
      50,
      Array.from({ length: n }, (_, i) => () => generate(runtime, `storm-${i}`))
    )
    await runtime.dispose()
    mock.configure({})
    const ok = exits.filter(Exit.isSuccess).length
    const failed = exits.filter(Exit.isFailure)
    // zero lost: every request resolved, as a success or a typed AiError
    expect(ok + failed.length).toBe(n)
    for (const exit of failed) expect(ProviderError.describe(failureOf(exit)).retryable).toBe(true)
    // zero answered twice, and the retry budget respected
    for (let i = 0; i < n; i++) {
      const record = mock.records.get(`storm-${i}`)!
      expect(record.successes).toBeLessThanOrEqual(1)
      expect(record.attempts).toBeLessThanOrEqual(3)
    }
    // success rate within 4 standard deviations of the binomial expectation for 3 attempts
    const p = 1 - perAttemptFailure ** 3
    const sd = Math.sqrt(n * p * (1 - p))
    expect(Math.abs(ok - n * p)).toBeLessThanOrEqual(4 * sd)
    return { ok, attempts: [...mock.records.values()].reduce((a, r) => a + r.attempts, 0) }
  }

  it("429 storm: 1,000 requests, 50% transient 429s: none lost, none answered twice, success rate as expected", async () => {
    const { ok, attempts } = await storm({ rate429: 0.5, retryAfterMs: 5 }, 1_000, 0.5)
    expect(ok).toBeGreaterThan(800)
    expect(attempts).toBeLessThanOrEqual(3_000)
  })

  it("5xx storm: 1,000 requests, 75% 5xx: same accounting, retry budget respected", async () => {
    await storm({ rate5xx: 0.75 }, 1_000, 0.75)
  })

  it("quota 429s get exactly one attempt each", async () => {
    mock.reset()
    mock.configure({ rateQuota429: 1 })
    const runtime = runtimeOf({ retry: { maxRetries: 2, baseDelayMs: 1 } })
    const exits = await Promise.all(Array.from({ length: 100 }, (_, i) => generate(runtime, `quota-${i}`)))
    await runtime.dispose()
    mock.configure({})
    for (const exit of exits) expect(ProviderError.describe(failureOf(exit)).reason).toBe("QuotaExhaustedError")
    for (let i = 0; i < 100; i++) expect(mock.records.get(`quota-${i}`)?.attempts).toBe(1)
  })
})

describe("streams", () => {
  it("a stream that ends without [DONE] or a finish reason is a typed error in 100% of 500 trials, never retried after output", async () => {
    mock.reset()
    mock.configure({ chunks: 8, truncateAfter: 3 })
    const runtime = runtimeOf({ retry: { maxRetries: 2, baseDelayMs: 1 } })
    const exits = await pool(
      25,
      Array.from({ length: 500 }, (_, i) => () => stream(runtime, `trunc-${i}`))
    )
    await runtime.dispose()
    mock.configure({})
    for (const exit of exits) expect(ProviderError.conduitMetadata(failureOf(exit))?.kind).toBe("truncated-stream")
    for (let i = 0; i < 500; i++) expect(mock.records.get(`trunc-${i}`)?.attempts).toBe(1)
  }, 120_000)

  it("an idle timeout fires within 100 ms of its setting", async () => {
    mock.configure({ chunks: 8, stallAfter: 2 })
    const runtime = runtimeOf({ timeouts: { idleMs: 300 } })
    const started = performance.now()
    // the idle bound runs from the last chunk, so it is measured from the last part that chunk gave the consumer (the
    // request and the first chunks before it are no part of it: on a loaded machine they took 200 ms and more). A
    // control timer of the same 300 ms, armed with each part, measures what the machine itself adds to any timer at
    // that moment (a loaded machine fired one 640 ms late); a wait the library adds on top is not in the control.
    let lastPartAt = started
    let control = controlTimer(300)
    const exit = await runtime.runPromiseExit(
      Stream.runCollect(
        LanguageModel.streamText({ prompt: "idle" }).pipe(
          Stream.tap(() =>
            Effect.sync(() => {
              lastPartAt = performance.now()
              control = controlTimer(300)
            })
          )
        )
      )
    )
    const ended = performance.now()
    await runtime.dispose()
    mock.configure({})
    expect(ProviderError.describe(failureOf(exit))).toMatchObject({ kind: "timeout", timeout: "idle", limitMs: 300 })
    expect(ended - started).toBeGreaterThanOrEqual(300)
    expect(lastPartAt).toBeGreaterThan(started)
    const lateness = await control.lateness()
    console.info(
      `idle 300 ms: fired ${(ended - lastPartAt).toFixed(1)} ms after the last part; control late by ${lateness.toFixed(1)} ms`
    )
    expect(ended - lastPartAt).toBeLessThan(400 + lateness)
  })

  it("a first-token timeout fires within 100 ms of its setting", async () => {
    mock.configure({ latencyMs: 5_000 })
    const runtime = runtimeOf({ timeouts: { firstTokenMs: 300 }, retry: { maxRetries: 0 } })
    const started = performance.now()
    const control = controlTimer(300)
    const exit = await stream(runtime, "first-token")
    const elapsed = performance.now() - started
    await runtime.dispose()
    mock.configure({})
    expect(ProviderError.describe(failureOf(exit))).toMatchObject({
      kind: "timeout",
      timeout: "firstToken",
      limitMs: 300
    })
    expect(elapsed).toBeGreaterThanOrEqual(300)
    expect(elapsed).toBeLessThan(400 + (await control.lateness()))
  })

  it("a consumer that stops mid-stream aborts the upstream request within 100 ms", async () => {
    mock.reset()
    mock.configure({ chunks: 200, pacingMs: 20 })
    const runtime = runtimeOf()
    let stoppedAt = 0
    let control: ReturnType<typeof controlTimer> | undefined
    await runtime.runPromise(
      LanguageModel.streamText({ prompt: "abort" }).pipe(
        Stream.filter((part) => part.type === "text-delta"),
        Stream.take(3),
        Stream.runDrain,
        Effect.ensuring(
          Effect.sync(() => {
            stoppedAt = performance.now()
            control = controlTimer(0)
          })
        )
      )
    )
    const deadline = performance.now() + 1_000
    while (mock.records.get("abort")?.aborts !== 1 && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 2))
    await runtime.dispose()
    mock.configure({})
    const record = mock.records.get("abort")!
    expect(record.aborts).toBe(1)
    // within 100 ms, plus what the machine added to a timer armed when the consumer stopped
    expect(record.lastAbortAt! - stoppedAt).toBeLessThan(100 + (await control!.lateness()))
  })

  it("a slow reader holds at most 1 MB buffered per stream: backpressure reaches the upstream socket", async () => {
    mock.reset()
    // a 100 MB stream (100,000 chunks of 1,000 characters)
    mock.configure({ chunks: 100_000, chunkText: "x".repeat(1_000) })
    // count what the library pulls out of fetch's body: the buffering that is ours, above the platform's
    let pulled = 0
    const countingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (response.body === null) return response
      const counted = response.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            pulled += chunk.byteLength
            controller.enqueue(chunk)
          }
        })
      )
      return new Response(counted, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers
      })
    }
    const runtime = ManagedRuntime.make(
      KimiLanguageModel.layer("kimi-k2.6", {
        preflight: false,
        providerOptions: { thinking: "disabled" },
        timeouts: { idleMs: 60_000, totalMs: 120_000 }
      }).pipe(
        Layer.provide(
          KimiClient.layer({ apiKey: "sk-reliability", baseURL: mock.baseURL("moonshot"), fetch: countingFetch })
        )
      )
    )
    // each SSE event carries its 1,000 characters plus ~200 bytes of JSON framing; count the consumer's share by
    // the wire size of the events it has received
    const eventBytes = Buffer.byteLength(
      `data: ${JSON.stringify({ id: "chatcmpl-000000000000000000000001", object: "chat.completion.chunk", created: 1_760_000_000, model: "kimi-k2.6", choices: [{ index: 0, delta: { content: "x".repeat(1_000) }, finish_reason: null }], system_fingerprint: "fpv0_mock" })}\n\n`
    )
    let received = 0
    let maxAhead = 0
    await runtime.runPromise(
      LanguageModel.streamText({ prompt: "slow" }).pipe(
        Stream.filter((part) => part.type === "text-delta"),
        Stream.take(2_000),
        Stream.mapEffect(() =>
          Effect.promise(async () => {
            received++
            if (received % 50 === 0) await new Promise((r) => setTimeout(r, 10))
            maxAhead = Math.max(maxAhead, pulled - received * eventBytes)
          })
        ),
        Stream.runDrain
      )
    )
    const written = mock.totals().bytes
    await runtime.dispose()
    mock.configure({})
    // what the library pulled ahead of its consumer stays under 1 MB
    expect(maxAhead).toBeLessThan(1024 * 1024)
    // and the upstream was held back by the socket: it wrote well under the 100 MB it had to send
    expect(written).toBeLessThan(60 * 1024 * 1024)
  }, 60_000)

  it("the same stream delivered in 1-byte TCP writes gives identical parts, at most 2x slower", async () => {
    const runtime = runtimeOf()
    const behaviour: MockUpstream.Behaviour = { chunks: 24, reasoningChunks: 8 }
    const library = async (split: boolean) => {
      mock.configure({ ...behaviour, ...(split ? { splitBytes: 1 } : {}) })
      const started = performance.now()
      const parts = await runtime.runPromise(Stream.runCollect(LanguageModel.streamText({ prompt: "split" })))
      return { summary: ResponseSummary.fromParts(parts), ms: performance.now() - started }
    }
    // the baseline: the same 1-byte writes received by a bare fetch that only drains the bytes
    const raw = async () => {
      mock.configure({ ...behaviour, splitBytes: 1 })
      const started = performance.now()
      const response = await fetch(`${mock.baseURL("moonshot")}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "kimi-k2.6", stream: true, messages: [{ role: "user", content: "split-raw" }] })
      })
      await response.arrayBuffer()
      return performance.now() - started
    }
    // one uncounted warm-up of each, then the fastest of three (the least disturbed by the noisy machine)
    const whole = await library(false)
    await library(true)
    await raw()
    const splitRuns = [await library(true), await library(true), await library(true)]
    const rawRuns = [await raw(), await raw(), await raw()]
    await runtime.dispose()
    mock.configure({})
    for (const run of splitRuns) {
      expect({ ...run.summary, metadata: undefined }).toEqual({ ...whole.summary, metadata: undefined })
      expect(run.summary.metadata.chunkCount).toBe(whole.summary.metadata.chunkCount)
    }
    expect(whole.summary.reasoning.length).toBeGreaterThan(0)
    // receiving 1-byte writes costs what it costs (one event-loop turn per byte here); decoding them may add at
    // most as much again
    const fastest = Math.min(...splitRuns.map((r) => r.ms))
    console.info(
      `1-byte writes: library ${fastest.toFixed(0)} ms, bare fetch ${Math.min(...rawRuns).toFixed(0)} ms (ratio ${(fastest / Math.min(...rawRuns)).toFixed(2)}), whole writes ${whole.ms.toFixed(0)} ms`
    )
    expect(fastest).toBeLessThanOrEqual(2 * Math.min(...rawRuns))
  }, 60_000)
})

describe("timeouts compose with retries", () => {
  it("the total timeout spans retries and names itself", async () => {
    mock.configure({ rate5xx: 1 })
    const runtime = runtimeOf({ retry: { maxRetries: 10, baseDelayMs: 200, maxDelayMs: 200 } })
    const started = performance.now()
    const control = controlTimer(500)
    const exit = await runtime.runPromiseExit(
      LanguageModel.generateText({ prompt: "total" }).pipe(
        Effect.provideService(TimeoutPolicy.CallTimeoutPolicy, { totalMs: 500 })
      )
    )
    const elapsed = performance.now() - started
    await runtime.dispose()
    mock.configure({})
    expect(ProviderError.describe(failureOf(exit))).toMatchObject({ kind: "timeout", timeout: "total", limitMs: 500 })
    expect(elapsed).toBeLessThan(700 + (await control.lateness()))
  })
})
