/**
 * The tour's steps. Each prints a few lines as it goes and returns checks stating what it was meant to show.
 * Simulated answers are authored scenarios served by the providers' own mocks; live answers are whatever the
 * providers say, checked against the same expectations.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  OpenAiCompatLanguageModel,
  ProviderError,
  ProviderRegistry,
  RequestContext,
  ResponseSummary
} from "@conduitkit/core"
import { GlmLanguageModel, GlmModels, GlmWebSearch } from "@conduitkit/provider-glm"
import { GlmMock } from "@conduitkit/provider-glm/testing"
import { KimiConfig, KimiFiles, KimiLanguageModel, KimiModels } from "@conduitkit/provider-kimi"
import { KimiScenarios } from "@conduitkit/provider-kimi/testing"
import { type SessionEvents, SessionManager } from "@conduitkit/session"
import { Clock, Duration, Effect, Layer, PubSub, Stream } from "effect"
import { LanguageModel, Prompt, type Response, Toolkit } from "effect/ai"
import { budgetStep } from "./BudgetStep.js"
import * as DemoTools from "./DemoTools.js"
import { type Environment, paced } from "./Environment.js"
import { check, type Outcome, type Step } from "./Tour.js"
import * as Ui from "./Ui.js"

const kimiModel = (env: Environment, model: string, config?: KimiConfig.ModelConfig) =>
  KimiLanguageModel.layer(model, config).pipe(Layer.provide(env.kimiClient))
const glmModel = (env: Environment, model: string, config?: Parameters<typeof GlmLanguageModel.layer>[1]) =>
  GlmLanguageModel.layer(model, config).pipe(Layer.provide(env.glmClient))

const tokensOf = (summary: ResponseSummary.Summary) => summary.usage.inputTokens + summary.usage.outputTokens
const attemptsOf = (summary: ResponseSummary.Summary) =>
  typeof summary.metadata.attempts === "number" ? summary.metadata.attempts : undefined
const chatBodies = (env: Environment, host?: string) =>
  env.sent().filter((s) => s.url.endsWith("/chat/completions") && (host === undefined || s.url.includes(host)))

/** Streams parts to the terminal (reasoning dimmed) and returns them with the time to first token. */
const printStream = <E, R>(stream: Stream.Stream<Response.AnyPart, E, R>) =>
  Effect.gen(function* () {
    const started = performance.now()
    let firstAt: number | undefined
    let column = 0
    let inReasoning = false
    const spinner = Ui.spinner("waiting for the first token")
    // word-wrapped at 100 columns, whatever the size of the deltas
    const write = (text: string, style: (s: string) => string) => {
      for (const token of text.split(/(\s+)/)) {
        if (token === "") continue
        if (token.includes("\n")) {
          Ui.write("\n   ")
          column = 0
          continue
        }
        if (/^\s+$/.test(token)) {
          if (column > 0) {
            Ui.write(" ")
            column++
          }
          continue
        }
        if (column + Ui.width(token) > 100) {
          Ui.write("\n   ")
          column = 0
        }
        Ui.write(style(token))
        column += Ui.width(token)
      }
    }
    const parts = yield* Stream.runFold(
      stream,
      () => [] as Array<Response.AnyPart>,
      (acc, part) => {
        if ((part.type === "text-delta" || part.type === "reasoning-delta") && firstAt === undefined) {
          firstAt = performance.now()
          spinner.stop()
          Ui.write("   ")
        }
        if (part.type === "reasoning-delta") {
          if (!inReasoning) {
            write("[thinking] ", Ui.magenta)
            inReasoning = true
          }
          write(part.delta, Ui.dim)
        } else if (part.type === "text-delta") {
          if (inReasoning) {
            Ui.write("\n   ")
            column = 0
            inReasoning = false
          }
          write(part.delta, (s) => s)
        }
        acc.push(part)
        return acc
      }
    ).pipe(Effect.ensuring(Effect.sync(() => spinner.stop())))
    Ui.line()
    return {
      parts,
      ttftMs: firstAt === undefined ? undefined : firstAt - started,
      durationMs: performance.now() - started
    }
  })

// =============================================================================
// 1. Kimi thinking stream
// =============================================================================

const thinkingScenario: KimiScenarios.Scenario = {
  model: "kimi-k3",
  reasoning: [
    "The question is why",
    " the sky looks blue.",
    " Sunlight contains all visible wavelengths;",
    " air molecules scatter short wavelengths far more",
    " (Rayleigh scattering goes as 1/λ⁴).",
    " So blue light reaches us from every direction.",
    " Answer in two sentences."
  ],
  text: [
    "Sunlight is scattered by the molecules of the air,",
    " and short wavelengths scatter much more strongly than long ones",
    " (Rayleigh scattering, proportional to 1/λ⁴).",
    " That scattered blue light reaches your eyes from every part of the sky,",
    " so the whole sky looks blue."
  ],
  usage: { prompt: 24, completion: 96, reasoning: 41 }
}

const step1 = (env: Environment): Step<never> => ({
  title: "Kimi thinking model, streamed",
  explain: "kimi-k3 thinks before answering; reasoning arrives as its own parts (dimmed) before the answer.",
  run: Effect.gen(function* () {
    env.onKimi((call) =>
      call.streaming
        ? paced(KimiScenarios.chunks(thinkingScenario, { includeUsage: true }), 350, 35, {
            "msh-request-id": "sim-thinking"
          })
        : thinkingScenario
    )
    const { parts, ttftMs, durationMs } = yield* printStream(
      LanguageModel.streamText({ prompt: "Why is the sky blue? Two sentences." }).pipe(
        Stream.provide(kimiModel(env, "kimi-k3"))
      )
    )
    const summary = ResponseSummary.fromParts(parts)
    const streamSeconds = (durationMs - (ttftMs ?? 0)) / 1000
    const tps = streamSeconds > 0 ? summary.usage.outputTokens / streamSeconds : undefined
    Ui.line(
      Ui.dim(
        `   time to first token ${Ui.ms(ttftMs)}, ${summary.usage.outputTokens} output tokens (${summary.usage.reasoningTokens} reasoning)` +
          (tps !== undefined ? `, ${tps.toFixed(0)} tokens/s` : "")
      )
    )
    return {
      provider: "kimi",
      model: "kimi-k3",
      tokens: tokensOf(summary),
      cachedTokens: summary.usage.cachedInputTokens,
      attempts: attemptsOf(summary),
      checks: [
        check("reasoning streamed before the answer", summary.reasoning.length > 0 && summary.text.length > 0),
        check("time to first token measured", ttftMs !== undefined, Ui.ms(ttftMs)),
        check("usage reports reasoning tokens", summary.usage.reasoningTokens > 0, `${summary.usage.reasoningTokens}`)
      ]
    } satisfies Outcome
  }).pipe(Effect.ensuring(Effect.sync(() => env.onKimi(undefined))))
})

// =============================================================================
// 2. GLM web search with sources
// =============================================================================

const step2 = (env: Environment): Step<never> => ({
  title: "GLM with web search, sources listed",
  explain: "Zhipu runs the search itself; its results come back as source parts with title and link.",
  run: Effect.gen(function* () {
    const toolkit = Toolkit.make(
      GlmWebSearch.tool({ enable: true, search_result: true, search_engine: "search-prime", count: 3 })
    )
    const response = yield* LanguageModel.generateText({
      prompt: "What is the weather in Florence today? One sentence, with sources.",
      toolkit,
      disableToolCallResolution: true
    }).pipe(Effect.provide(glmModel(env, "glm-4.6")))
    const summary = ResponseSummary.fromParts(response.content)
    Ui.line(`   ${summary.text.trim().replace(/\s+/g, " ")}`)
    for (const source of summary.sources.slice(0, 5)) {
      Ui.line(`   ${Ui.blue("•")} ${source.title} ${Ui.dim(source.url ?? "")}`)
    }
    return {
      provider: "glm",
      model: "glm-4.6",
      tokens: tokensOf(summary),
      cachedTokens: summary.usage.cachedInputTokens,
      attempts: attemptsOf(summary),
      checks: [
        check("sources listed", summary.sources.length > 0, `${summary.sources.length}`),
        check(
          "sources have titles and links",
          summary.sources.every((s) => s.title !== "" && (s.url ?? "") !== "")
        ),
        check("an answer", summary.text.trim().length > 0)
      ]
    } satisfies Outcome
  })
})

// =============================================================================
// 3. Tool call round trip with reasoning replay
// =============================================================================

const step3 = (env: Environment): Step<never> => ({
  title: "Tool call round trip on a thinking model",
  explain:
    "kimi-k3 calls get_weather (simulated: the twin picks the tool and its arguments from the prompt); Conduit replays its reasoning on the second turn, as Moonshot requires.",
  run: Effect.gen(function* () {
    env.clearSent()
    const prompt: Array<Prompt.Message> = [
      Prompt.userMessage({ content: [Prompt.textPart({ text: "What's the weather in Beijing right now?" })] })
    ]
    const model = kimiModel(env, "kimi-k3")
    const first = yield* LanguageModel.generateText({
      prompt: Prompt.fromMessages(prompt),
      toolkit: DemoTools.WeatherTools
    }).pipe(Effect.provide(model), Effect.provide(DemoTools.WeatherHandlers))
    const call = first.toolCalls[0]
    Ui.line(`   ${Ui.yellow("→ tool")} ${call?.name}(${JSON.stringify(call?.params)})`)
    const history = Prompt.concat(Prompt.fromMessages(prompt), Prompt.fromResponseParts(first.content))
    const second = yield* LanguageModel.generateText({ prompt: history, toolkit: DemoTools.WeatherTools }).pipe(
      Effect.provide(model),
      Effect.provide(DemoTools.WeatherHandlers)
    )
    Ui.line(`   ${Ui.yellow("← result")} ${JSON.stringify(first.toolResults[0]?.result)}`)
    Ui.line(`   ${second.text.trim()}`)
    const bodies = chatBodies(env)
    const replayed = (bodies.at(-1)?.body?.messages as Array<Record<string, unknown>> | undefined)?.find(
      (m) => m.role === "assistant" && Array.isArray(m.tool_calls)
    )
    const firstSummary = ResponseSummary.fromParts(first.content)
    const firstReasoning = firstSummary.reasoning
    Ui.line(Ui.dim(`   replayed reasoning: "${String(replayed?.reasoning_content ?? "").slice(0, 70)}"`))
    const summary = ResponseSummary.fromParts(second.content)
    return {
      provider: "kimi",
      model: "kimi-k3",
      tokens: tokensOf(firstSummary) + tokensOf(summary),
      cachedTokens: summary.usage.cachedInputTokens,
      attempts: (attemptsOf(firstSummary) ?? 0) + (attemptsOf(summary) ?? 0),
      checks: [
        check("the model called get_weather", call?.name === "get_weather"),
        check(
          "the reasoning of the tool-call turn was sent back",
          typeof replayed?.reasoning_content === "string" && replayed.reasoning_content === firstReasoning
        ),
        check("the model asked for Beijing", JSON.stringify(call?.params ?? {}).includes("Beijing")),
        check("the second turn answered from the tool result", second.text.includes("23"))
      ]
    } satisfies Outcome
  })
})

// =============================================================================
// 4. Context caching
// =============================================================================

const manual = Array.from(
  { length: 60 },
  (_, i) =>
    `Rule ${i + 1}: support agents answer in the customer's language, quote the order number, never promise refunds before checking the ledger, and escalate anything about safety.`
).join("\n")

const step4 = (env: Environment): Step<never> => ({
  title: "Context caching: the same long prefix twice",
  explain:
    "Moonshot caches repeated prompt prefixes (so does its twin); the second call reports the cached tokens it did not pay for.",
  run: Effect.gen(function* () {
    const ask = (question: string) =>
      LanguageModel.generateText({
        prompt: [
          { role: "system", content: `You are a support assistant. Follow the manual.\n${manual}` },
          { role: "user", content: question }
        ]
      }).pipe(
        KimiConfig.withProviderOptions({ promptCacheKey: "conduit-demo-manual", thinking: "disabled" }),
        Effect.provide(kimiModel(env, "kimi-k2.6"))
      )
    const first = ResponseSummary.fromParts((yield* ask("A customer reports a burning smell. What do I do?")).content)
    const second = ResponseSummary.fromParts(
      (yield* ask("A customer reports sparks from the charger. What do I do?")).content
    )
    Ui.line(
      `   first call: ${first.usage.inputTokens} prompt tokens, ${first.usage.cachedInputTokens} cached; second: ${second.usage.inputTokens} prompt tokens, ${Ui.green(String(second.usage.cachedInputTokens))} cached`
    )
    return {
      provider: "kimi",
      model: "kimi-k2.6",
      tokens: tokensOf(first) + tokensOf(second),
      cachedTokens: second.usage.cachedInputTokens,
      attempts: (attemptsOf(first) ?? 0) + (attemptsOf(second) ?? 0),
      checks: [
        check(
          "the second call reports cached input tokens",
          second.usage.cachedInputTokens > 0,
          `${second.usage.cachedInputTokens}`
        ),
        check("cached tokens are counted within the prompt", second.usage.cachedInputTokens <= second.usage.inputTokens)
      ]
    } satisfies Outcome
  })
})

// =============================================================================
// 5. Retry-After and quota
// =============================================================================

const step5 = (env: Environment): Step<never> => ({
  title: "A 429 with Retry-After, then a quota error",
  explain: "A rate limit is retried after the advertised delay; an exhausted balance sent as 429 fails at once.",
  run: Effect.gen(function* () {
    const modelLayer = KimiLanguageModel.layer("kimi-k2.6").pipe(Layer.provide(env.faultyKimiClient))
    env.onFaults((call) =>
      call.index === 0
        ? KimiScenarios.errors.rateLimited(1)
        : { model: "kimi-k2.6", text: ["Recovered after the advised wait."] }
    )
    env.clearSent()
    let attempts = 0
    const ok = yield* LanguageModel.generateText({ prompt: "Hello" }).pipe(
      Effect.provide(modelLayer),
      Effect.provideService(RequestContext.RequestContext, {
        onAttempt: (n) => {
          attempts = n
        }
      })
    )
    const times = chatBodies(env, "faults").map((s) => s.at)
    const waited = times.length >= 2 ? (times[1] ?? 0) - (times[0] ?? 0) : 0
    Ui.line(`   429 rate_limit_reached_error (retry-after: 1) → waited ${Ui.ms(waited)} → ${Ui.green(ok.text)}`)

    // the fault mock numbers calls from its creation, so a fresh responder answers the quota error every time
    env.onFaults(() => KimiScenarios.errors.quotaExhausted())
    env.clearSent()
    const failed = yield* Effect.flip(
      LanguageModel.generateText({ prompt: "Hello again" }).pipe(Effect.provide(modelLayer))
    )
    const quotaCalls = chatBodies(env, "faults").length
    const described = ProviderError.describe(failed)
    Ui.line(
      `   429 exceeded_current_quota_error → ${Ui.red(described.reason)} after ${quotaCalls} attempt (not retryable)`
    )
    return {
      provider: "kimi (faults)",
      model: "kimi-k2.6",
      attempts: attempts + quotaCalls,
      checks: [
        check(
          "the rate limit was retried after at least the advertised 1 s",
          attempts === 2 && waited >= 1000,
          Ui.ms(waited)
        ),
        check(
          "the quota error is typed and not retried",
          described.reason === "QuotaExhaustedError" && quotaCalls === 1
        )
      ]
    } satisfies Outcome
  }).pipe(Effect.ensuring(Effect.sync(() => env.onFaults(() => undefined))))
})

// =============================================================================
// 6. Fallback from Kimi to GLM
// =============================================================================

const step6 = (env: Environment): Step<never> => ({
  title: "Fallback from Kimi to GLM during an outage",
  explain: "Kimi answers 500 until retries are spent; the route's fallback, GLM, answers instead.",
  run: Effect.gen(function* () {
    env.onFaults(() => KimiScenarios.errors.serverError())
    env.clearSent()
    const kimiEntry: ProviderRegistry.ProviderEntry = {
      name: "kimi",
      catalog: KimiModels.catalog,
      layer: (model, config) => KimiLanguageModel.layer(model, config).pipe(Layer.provide(env.faultyKimiClient))
    }
    const glmEntry: ProviderRegistry.ProviderEntry = {
      name: "glm",
      catalog: GlmModels.catalog,
      layer: (model, config) => GlmLanguageModel.layer(model, config).pipe(Layer.provide(env.glmClient))
    }
    const registry = ProviderRegistry.make([kimiEntry, glmEntry], {
      models: {
        resilient: { target: "kimi/kimi-k2.6", fallbacks: ["glm/glm-4.6"], retry: { maxRetries: 1, baseDelayMs: 100 } }
      }
    })
    const route = yield* registry.resolve("resilient")
    const response = yield* LanguageModel.generateText({ prompt: "Say hello in five words." }).pipe(
      ProviderRegistry.provideRoute(registry, route)
    )
    const summary = ResponseSummary.fromParts(response.content)
    const kimiAttempts = chatBodies(env, "faults").length
    Ui.line(`   kimi: ${kimiAttempts} attempts, all 500 → glm answered: ${summary.text.trim().replace(/\s+/g, " ")}`)
    return {
      provider: String(summary.metadata.provider ?? "?"),
      model: String(summary.metadata.model ?? "?"),
      tokens: tokensOf(summary),
      attempts: kimiAttempts + (attemptsOf(summary) ?? 0),
      checks: [
        check("Kimi was tried with its retries", kimiAttempts === 2, `${kimiAttempts}`),
        check("GLM answered", summary.metadata.provider === "glm" && summary.text.trim().length > 0)
      ]
    } satisfies Outcome
  }).pipe(Effect.ensuring(Effect.sync(() => env.onFaults(() => undefined))))
})

// =============================================================================
// 7. Continuation
// =============================================================================

const story = [
  "Once upon a time, a small router in a data centre dreamed of seeing the sea.",
  " Every night it forwarded packets from coastal towns and imagined the waves behind them.",
  " One day a technician carried it to a lighthouse, where it finally heard the surf."
]

const step7 = (env: Environment): Step<never> => ({
  title: "Continuation after finish_reason: length",
  explain: "The answer is cut by max_tokens; Conduit continues it with Moonshot's partial mode and merges one answer.",
  run: Effect.gen(function* () {
    env.onKimi((call) => {
      const messages = (call.body.messages ?? []) as Array<{ role?: string; content?: unknown; partial?: boolean }>
      const prefix = messages.at(-1)?.partial === true ? String(messages.at(-1)?.content ?? "") : ""
      const told = story.findIndex((_, i) => story.slice(0, i + 1).join("") === prefix) + 1
      const next = story[told]
      return next === undefined
        ? { model: "kimi-k2.6", text: [""], finishReason: "stop" }
        : {
            model: "kimi-k2.6",
            text: [next],
            finishReason: told + 1 < story.length ? "length" : "stop",
            usage: { prompt: 30, completion: 20 }
          }
    })
    env.clearSent()
    const response = yield* LanguageModel.generateText({
      prompt: "Tell a three-sentence story about a router that dreams of the sea."
    }).pipe(
      KimiConfig.withProviderOptions({ thinking: "disabled" }),
      OpenAiCompatLanguageModel.withCallConfig({
        request: { max_tokens: 30 },
        continuation: { maxContinuations: 4, maxTotalTokens: 400 }
      }),
      Effect.provide(kimiModel(env, "kimi-k2.6"))
    )
    const summary = ResponseSummary.fromParts(response.content)
    Ui.line(`   ${summary.text.trim()}`)
    const partials = chatBodies(env).filter((s) =>
      ((s.body?.messages ?? []) as Array<{ partial?: unknown }>).some((m) => m.partial === true)
    ).length
    Ui.line(
      Ui.dim(
        `   ${summary.metadata.continuations} continuation(s), ${partials} with a partial assistant prefix, finish: ${summary.finishReason}`
      )
    )
    return {
      provider: "kimi",
      model: "kimi-k2.6",
      tokens: tokensOf(summary),
      attempts: attemptsOf(summary),
      checks: [
        check(
          "at least one continuation ran",
          Number(summary.metadata.continuations ?? 0) >= 1,
          `${summary.metadata.continuations}`
        ),
        check("continued with partial mode", partials >= 1),
        check("one merged answer that finished", summary.finishReason === "stop" && summary.text.length > 0)
      ]
    } satisfies Outcome
  }).pipe(Effect.ensuring(Effect.sync(() => env.onKimi(undefined))))
})

// =============================================================================
// 8. Sessions
// =============================================================================

const step8 = (env: Environment, json: boolean): Step<never> => ({
  title: "20 concurrent requests in 5 sessions",
  explain:
    "The session manager runs sessions in parallel and the turns of one session in order, with metadata per request.",
  run: Effect.gen(function* () {
    env.onGlm((call) => {
      const response = GlmMock.defaultChat(call.body as never)
      return new Promise((resolve) => setTimeout(() => resolve(response), 40 + (call.index % 5) * 15))
    })
    const manager = yield* SessionManager.SessionManager
    // subscribed before the first request, so every lifecycle event is seen
    const subscription = yield* manager.subscribe
    const model = glmModel(env, "glm-4.6")
    const requests = Array.from({ length: 20 }, (_, i) => ({
      session: `session-${(i % 5) + 1}`,
      turn: Math.floor(i / 5) + 1
    }))
    const results = yield* Effect.forEach(
      requests,
      ({ session, turn }) =>
        manager
          .run(
            Effect.gen(function* () {
              const started = yield* Clock.currentTimeMillis
              yield* LanguageModel.generateText({ prompt: `Turn ${turn} of ${session}: say ok.` }).pipe(
                Effect.provide(model)
              )
              return { started, ended: yield* Clock.currentTimeMillis }
            }),
            { sessionId: session, requestId: `${session}/turn-${turn}` }
          )
          .pipe(Effect.map((completed) => ({ session, turn, ...completed }))),
      { concurrency: "unbounded" }
    )
    // the lifecycle events of the 20 requests: each ends with `released`, published after its permits are back
    const events: Array<SessionEvents.SessionEvent> = []
    yield* Effect.gen(function* () {
      while (events.filter((e) => e.type === "released").length < requests.length) {
        events.push(yield* PubSub.take(subscription))
      }
    }).pipe(Effect.timeoutOption(Duration.seconds(2)))
    const kinds = ["created", "queued", "running", "completed", "failed", "timed-out", "cancelled", "released"] as const
    const counts = Object.fromEntries(kinds.map((k) => [k, events.filter((e) => e.type === k).length])) as Record<
      (typeof kinds)[number],
      number
    >
    if (!json) {
      Ui.line(
        Ui.table(
          ["request", ">queued ms", ">run ms", ">attempts"],
          [...results]
            .sort((a, b) => a.session.localeCompare(b.session) || a.turn - b.turn)
            .map((r) => [
              r.metadata.requestId,
              String(Math.round(r.metadata.queuedMs)),
              String(Math.round(r.metadata.durationMs)),
              String(r.metadata.attempts)
            ])
        ).replace(/^/gm, "   ")
      )
      Ui.line(
        `   lifecycle events: ${kinds
          .filter((k) => counts[k] > 0 || k === "failed")
          .map((k) => `${k} ${Ui.bold(String(counts[k]))}`)
          .join(Ui.dim(" · "))}`
      )
    }
    const inOrder = [1, 2, 3, 4, 5].every((s) => {
      const turns = results.filter((r) => r.session === `session-${s}`).sort((a, b) => a.turn - b.turn)
      return turns.every((r, i) => i === 0 || (turns[i - 1]?.value.ended ?? Infinity) <= r.value.started)
    })
    const parallel = results.some((a) =>
      results.some((b) => a.session !== b.session && a.value.started < b.value.ended && b.value.started < a.value.ended)
    )
    const stats = yield* manager.stats
    if (!json) {
      Ui.line(
        Ui.dim(
          `   stats: completed ${stats.completed}, failed ${stats.failed}, queue p50/p95 ${Math.round(stats.queueMs.p50)}/${Math.round(stats.queueMs.p95)} ms, run p50/p95 ${Math.round(stats.runMs.p50)}/${Math.round(stats.runMs.p95)} ms`
        )
      )
    }
    return {
      provider: "glm",
      model: "glm-4.6",
      attempts: results.reduce((n, r) => n + r.metadata.attempts, 0),
      checks: [
        check("all 20 requests completed", results.length === 20 && stats.completed >= 20),
        check("turns of each session ran in order", inOrder),
        check("different sessions ran in parallel", parallel),
        check("every permit was released", stats.active === 0 && stats.queued === 0),
        check(
          "each request was created, ran, completed and was released",
          counts.created === 20 && counts.running === 20 && counts.completed === 20 && counts.released === 20,
          `${events.length} lifecycle events`
        )
      ]
    } satisfies Outcome
  }).pipe(
    Effect.scoped,
    Effect.provide(SessionManager.layer({ maxConcurrent: 200, maxConcurrentPerSession: 1 })),
    Effect.ensuring(Effect.sync(() => env.onGlm(undefined)))
  )
})

// =============================================================================
// 9. Files
// =============================================================================

const step9 = (env: Environment): Step<never> => ({
  title: "A file uploaded and extracted by Kimi",
  explain: "The file is checked locally, uploaded with purpose file-extract, and its text is given to the model.",
  run: Effect.gen(function* () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-demo-"))
    const file = path.join(dir, "release-notes.md")
    fs.writeFileSync(
      file,
      "# Release 2.4\n\n- Streams now fail loudly when they end without [DONE].\n- Quota errors sent as HTTP 429 are never retried.\n- The gateway keeps reasoning_content in streamed deltas.\n"
    )
    env.onKimi((call) => {
      const system = ((call.body.messages ?? []) as Array<{ role?: string; content?: unknown }>).filter(
        (m) => m.role === "system"
      )
      const knows = system.some((m) => String(m.content).includes("429"))
      return {
        model: "kimi-k2.6",
        text: [knows ? "Quota errors sent as HTTP 429 are no longer retried." : "I cannot see the file."]
      }
    })
    const answer = yield* Effect.gen(function* () {
      const uploaded = yield* KimiFiles.upload({ path: file, purpose: "file-extract" })
      Ui.line(`   uploaded ${uploaded.filename} (${uploaded.bytes} bytes) → ${Ui.dim(uploaded.id)}`)
      const extracted = yield* KimiFiles.content(uploaded.id)
      const text = extracted.content?.content ?? extracted.raw
      Ui.line(Ui.dim(`   extracted ${text.length} characters`))
      const response = yield* LanguageModel.generateText({
        prompt: Prompt.fromMessages([
          ...KimiFiles.toSystemMessages([extracted]),
          Prompt.userMessage({ content: [Prompt.textPart({ text: "What changed about quota errors? One sentence." })] })
        ])
      }).pipe(KimiConfig.withProviderOptions({ thinking: "disabled" }), Effect.provide(kimiModel(env, "kimi-k2.6")))
      yield* KimiFiles.delete(uploaded.id).pipe(Effect.ignore)
      return { text, response }
    }).pipe(
      Effect.provide(env.kimiClient),
      Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    )
    const summary = ResponseSummary.fromParts(answer.response.content)
    Ui.line(`   ${summary.text.trim()}`)
    return {
      provider: "kimi",
      model: "kimi-k2.6",
      tokens: tokensOf(summary),
      attempts: attemptsOf(summary),
      checks: [
        check("the extracted text holds the file's content", answer.text.includes("429")),
        check("the model answered from the file", /429/.test(summary.text))
      ]
    } satisfies Outcome
  }).pipe(Effect.ensuring(Effect.sync(() => env.onKimi(undefined))))
})

// =============================================================================
// 10. Structured output
// =============================================================================

const step10 = (env: Environment): Step<never> => ({
  title: "Structured output from both providers",
  explain:
    "generateObject with one schema: Kimi gets a json_schema response format, GLM (json_object only) the schema as a system instruction; both answers decode.",
  run: Effect.gen(function* () {
    env.clearSent()
    const prompt = "Report the weather in Florence: 31 degrees and sunny."
    const ask = (model: Layer.Layer<LanguageModel.LanguageModel>) =>
      LanguageModel.generateObject({ prompt, schema: DemoTools.WeatherReport, objectName: "weather_report" }).pipe(
        Effect.provide(model)
      )
    const kimi = yield* ask(kimiModel(env, "kimi-k3"))
    Ui.line(`   ${Ui.yellow("kimi-k3")} ${JSON.stringify(kimi.value)}`)
    const glm = yield* ask(glmModel(env, "glm-4.6"))
    Ui.line(`   ${Ui.yellow("glm-4.6")} ${JSON.stringify(glm.value)}`)
    const formats = chatBodies(env).map((sent) => (sent.body?.response_format as { type?: string } | undefined)?.type)
    const kimiSummary = ResponseSummary.fromParts(kimi.content)
    const glmSummary = ResponseSummary.fromParts(glm.content)
    return {
      provider: "kimi, glm",
      model: "kimi-k3, glm-4.6",
      tokens: tokensOf(kimiSummary) + tokensOf(glmSummary),
      checks: [
        check("both answers decode with the schema", kimi.value.city !== "" && glm.value.city !== ""),
        check("Kimi was asked for json_schema, GLM for json_object", formats.join() === "json_schema,json_object"),
        check("the answers name Florence", kimi.value.city.includes("Florence") && glm.value.city.includes("Florence"))
      ]
    } satisfies Outcome
  })
})

/** The tour, in order. */
export const all = (env: Environment, options: { readonly json: boolean }): ReadonlyArray<Step<never>> => [
  step1(env),
  step2(env),
  step3(env),
  step4(env),
  step5(env),
  step6(env),
  step7(env),
  step8(env, options.json),
  step9(env),
  step10(env),
  budgetStep(env)
]
