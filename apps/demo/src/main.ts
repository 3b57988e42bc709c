/**
 * The Conduit demo.
 *
 * `npx -y pnpm@10.34.8 demo` runs the guided tour (simulated upstreams unless MOONSHOT_API_KEY / ZAI_API_KEY are
 * set). Subcommands: `chat [prompt]` (one prompt, or an interactive session without one), `models` (the catalog),
 * `probe [prompt]` (the raw chunks of one call as JSONL traces). `--json` prints machine-readable output.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as readline from "node:readline/promises"
import { type ModelCatalog, ModelsConfig, ProviderError, ProviderRegistry, ResponseSummary } from "@conduitkit/core"
import { GlmLanguageModel, GlmModels } from "@conduitkit/provider-glm"
import { KimiLanguageModel, KimiModels } from "@conduitkit/provider-kimi"
import { SessionManager } from "@conduitkit/session"
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Effect, Exit, Layer, Option, Stream } from "effect"
import { AiError, Chat, LanguageModel, type Response } from "effect/ai"
import { Argument, Command, Flag } from "effect/cli"
import * as DemoTools from "./DemoTools.js"
import * as Environment from "./Environment.js"
import * as Steps from "./Steps.js"
import * as Tour from "./Tour.js"
import * as Ui from "./Ui.js"

const json = Flag.Boolean("json").pipe(Flag.withDescription("Print machine-readable JSON"), Flag.withDefault(false))
const modelsFile = Flag.String("models").pipe(
  Flag.withDescription("A models.yaml adding names, fallbacks and OpenAI-compatible backends"),
  Flag.optional
)

/** Starts the environment for the lifetime of the command and prints the mode line first. */
const withEnvironment = <A, E, R>(quiet: boolean, f: (env: Environment.Environment) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const env = Environment.start()
      if (!quiet) Ui.line(Ui.bold(Environment.describe(env)))
      return env
    }),
    f,
    (env) => Effect.sync(() => env.close())
  )

const registryOf = (env: Environment.Environment, file: Option.Option<string>) =>
  Effect.gen(function* () {
    const config = Option.isSome(file) ? yield* ModelsConfig.load(file.value) : {}
    // through the recording fetch, so `probe` records a models.yaml backend's traffic like Kimi's or GLM's
    const backends = yield* ProviderRegistry.backendEntries(config.providers ?? {}, { fetch: env.fetch })
    const entries: Array<ProviderRegistry.ProviderEntry> = [
      {
        name: "kimi",
        catalog: KimiModels.catalog,
        mode: env.kimi,
        layer: (model, modelConfig) => KimiLanguageModel.layer(model, modelConfig).pipe(Layer.provide(env.kimiClient))
      },
      {
        name: "glm",
        catalog: GlmModels.catalog,
        mode: env.glm,
        layer: (model, modelConfig) => GlmLanguageModel.layer(model, modelConfig).pipe(Layer.provide(env.glmClient))
      },
      ...backends
    ]
    return ProviderRegistry.make(entries, config)
  })

// =============================================================================
// tour (the default command)
// =============================================================================

const tour = (asJson: boolean) =>
  withEnvironment(asJson, (env) =>
    Effect.gen(function* () {
      Ui.setColour(!asJson)
      Ui.setQuiet(asJson)
      if (!asJson) {
        Ui.line(Ui.dim("A tour of Conduit: eleven steps, each checked. Reasoning is dimmed; timings are wall clock."))
      }
      const reports = yield* Tour.run(Steps.all(env, { json: asJson }), { json: asJson })
      const ok = reports.every((r) => r.ok)
      if (asJson) {
        Ui.print(JSON.stringify({ mode: { kimi: env.kimi, glm: env.glm }, ok, steps: reports }, null, 2))
      } else {
        Ui.line()
        Ui.line(Ui.bold("Summary"))
        Ui.line(Tour.summary(reports))
        Ui.line()
        Ui.line(ok ? Ui.green("Every step behaved as described.") : Ui.red("Some steps did not behave as described."))
      }
      if (!ok) process.exitCode = 1
    })
  )

// =============================================================================
// models
// =============================================================================

const modelRow = (info: ModelCatalog.ModelInfo) => ({
  model: `${info.provider}/${info.id}`,
  contextWindow: info.contextWindow,
  maxOutputTokens: info.maxOutputTokens,
  thinking: info.capabilities.thinking,
  vision: info.capabilities.vision,
  tools: info.capabilities.tools,
  status: info.lifecycle.status + (info.lifecycle.date ? ` ${info.lifecycle.date}` : "")
})

const models = Command.make(
  "models",
  { json, all: Flag.Boolean("all").pipe(Flag.withDescription("Include retired models"), Flag.withDefault(false)) },
  ({ json: asJson, all }) =>
    Effect.sync(() => {
      const rows = [...KimiModels.catalog.list, ...GlmModels.catalog.list]
        .filter((info) => all || info.lifecycle.status !== "retired")
        .map(modelRow)
      if (asJson) {
        Ui.print(JSON.stringify(rows, null, 2))
        return
      }
      Ui.line(
        Ui.table(
          ["model", ">context", ">max output", "thinking", "vision", "tools", "status"],
          rows.map((r) => [
            r.model,
            String(r.contextWindow),
            String(r.maxOutputTokens),
            r.thinking,
            r.vision ? "yes" : "–",
            r.tools ? "yes" : "–",
            r.status
          ])
        )
      )
    })
).pipe(Command.withDescription("The model catalog of both providers"))

// =============================================================================
// chat
// =============================================================================

const modelFlag = Flag.String("model").pipe(
  Flag.withDescription("provider/model or a models.yaml name"),
  Flag.withDefault("kimi/kimi-k3")
)

const streamAnswer = (
  stream: Stream.Stream<Response.AnyPart, unknown, never>,
  asJson: boolean,
  session?: () => SessionManager.RunMetadata | undefined
) =>
  Effect.gen(function* () {
    const spinner = asJson ? { stop: () => {} } : Ui.spinner("waiting for the first token")
    let started = false
    let reasoning = false
    let midLine = false
    const parts: Array<Response.AnyPart> = []
    yield* Stream.runForEach(stream, (part) =>
      Effect.sync(() => {
        parts.push(part)
        if (asJson) return
        if ((part.type === "tool-call" || part.type === "tool-result") && !part.providerExecuted) {
          spinner.stop()
          if (midLine) Ui.write("\n")
          midLine = false
          reasoning = false
          Ui.line(
            part.type === "tool-call"
              ? `${Ui.yellow("→ tool")} ${part.name}(${JSON.stringify(part.params)})`
              : `${Ui.yellow("← result")} ${JSON.stringify(part.encodedResult)}`
          )
        }
        if (part.type === "reasoning-delta" || part.type === "text-delta") {
          if (!started) {
            spinner.stop()
            started = true
          }
          midLine = true
          if (part.type === "reasoning-delta") {
            reasoning = true
            Ui.write(Ui.dim(part.delta))
          } else {
            if (reasoning) {
              Ui.write("\n")
              reasoning = false
            }
            Ui.write(part.delta)
          }
        }
      })
    ).pipe(Effect.ensuring(Effect.sync(() => spinner.stop())))
    const summary = ResponseSummary.fromParts(parts)
    const run = session?.()
    if (asJson) Ui.print(JSON.stringify(run === undefined ? summary : { ...summary, session: run }, null, 2))
    else
      Ui.line(
        Ui.dim(
          `\n[${summary.usage.inputTokens} in (${summary.usage.cachedInputTokens} cached), ${summary.usage.outputTokens} out, ${Ui.ms(Number(summary.metadata.durationMs))}${
            run === undefined
              ? ""
              : `; session ${run.sessionId}, request ${run.requestId}, queued ${Ui.ms(run.queuedMs)}, ${run.attempts} attempt${run.attempts === 1 ? "" : "s"}`
          }]`
        )
      )
    return parts
  })

const chat = Command.make(
  "chat",
  {
    prompt: Argument.String("prompt").pipe(
      Argument.withDescription("The prompt (omit it for an interactive session)"),
      Argument.optional
    ),
    model: modelFlag,
    session: Flag.String("session").pipe(
      Flag.withDescription("Run the turns in this session (ordered, metadata shown)"),
      Flag.optional
    ),
    tools: Flag.Boolean("tools").pipe(
      Flag.withDescription(
        "Offer get_weather and get_time (answered locally); the model's calls and results are shown"
      ),
      Flag.withDefault(false)
    ),
    structured: Flag.Boolean("structured").pipe(
      Flag.withDescription("Answer as a weather report object {city, celsius, sky} (generateObject), printed as JSON"),
      Flag.withDefault(false)
    ),
    models: modelsFile,
    json
  },
  ({ prompt, model, session, models: file, json: asJson, tools, structured }) =>
    withEnvironment(asJson, (env) =>
      Effect.gen(function* () {
        Ui.setColour(!asJson)
        Ui.setQuiet(asJson)
        const registry = yield* registryOf(env, file)
        const route = yield* registry.resolve(model)
        const manager = yield* SessionManager.SessionManager
        const chatSession = yield* Chat.empty
        const answerObject = (text: string) =>
          chatSession
            .generateObject({ prompt: text, schema: DemoTools.WeatherReport, objectName: "weather_report" })
            .pipe(
              ProviderRegistry.provideRoute(registry, route),
              Effect.map((response) =>
                Ui.print(JSON.stringify(asJson ? ResponseSummary.fromParts(response.content) : response.value, null, 2))
              )
            )
        // with --tools, the tools run locally and the model is asked again until it answers without calling one
        const rounds = (text: string) =>
          Effect.gen(function* () {
            let parts = yield* streamTurn(text)
            for (let round = 1; round < 4 && parts.some((part) => part.type === "tool-result"); round++) {
              parts = yield* streamTurn([])
            }
          })
        const turn = (text: string) =>
          structured ? answerObject(text) : tools ? rounds(text) : streamTurn(text).pipe(Effect.asVoid)
        const streamTurn = (text: string | ReadonlyArray<never>) => {
          // with --session, the request's metadata (session, request id, queue time, attempts) follows the answer
          let ended: SessionManager.RunMetadata | undefined
          const stream = tools
            ? chatSession
                .streamText({ prompt: text, toolkit: DemoTools.ChatTools })
                .pipe(Stream.provide(DemoTools.ChatHandlers))
            : chatSession.streamText({ prompt: text })
          return manager
            .runStream(
              stream.pipe(ProviderRegistry.provideRouteStream(registry, route)) as Stream.Stream<
                Response.AnyPart,
                unknown,
                never
              >,
              Option.isSome(session)
                ? {
                    sessionId: session.value,
                    onEnd: (end) =>
                      Effect.sync(() => {
                        ended = end.metadata
                      })
                  }
                : {}
            )
            .pipe((stream) =>
              streamAnswer(
                stream as Stream.Stream<Response.AnyPart, unknown, never>,
                asJson,
                Option.isSome(session) ? () => ended : undefined
              )
            )
        }
        if (Option.isSome(prompt)) {
          yield* turn(prompt.value)
          return
        }
        // Lines are read through readline's async iterator, which buffers them: piped input (several lines at once)
        // gives every turn, and the end of the input (Ctrl-D, a closed pipe) ends the session.
        const tty = process.stdin.isTTY === true
        const rl = readline.createInterface(
          tty ? { input: process.stdin, output: process.stdout } : { input: process.stdin }
        )
        rl.setPrompt(Ui.cyan("> "))
        const lines = rl[Symbol.asyncIterator]()
        Ui.line(Ui.dim(`Chatting with ${model}. An empty line or Ctrl-D ends the session.`))
        try {
          while (true) {
            if (tty) rl.prompt()
            else if (!asJson) Ui.write(Ui.cyan("> "))
            const next = yield* Effect.promise(() => lines.next())
            if (next.done === true || next.value.trim() === "") break
            yield* turn(next.value)
          }
        } finally {
          rl.close()
        }
      }).pipe(Effect.provide(SessionManager.layer()))
    )
).pipe(Command.withDescription("Chat with a model: one prompt, or interactively"))

// =============================================================================
// probe
// =============================================================================

/** A response body as far as it goes: the text read until it ended, failed (an aborted or dropped stream) or stalled. */
const readBody = async (response: globalThis.Response): Promise<{ readonly text: string; readonly error?: string }> => {
  if (response.body === null) return { text: "" }
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
  let text = ""
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text: text + decoder.decode() }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error: error instanceof Error ? error.message : String(error) }
  }
}

/** The trace lines of a body: one `chunk` line per SSE event (its data), or the whole body (a JSON error body). */
const traceLines = (body: { readonly text: string; readonly error?: string }): Array<string> => {
  const lines: Array<string> = []
  for (const block of body.text.split(/\r?\n\r?\n/)) {
    if (block.trim() === "") continue
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(5).trimStart())
      .join("\n")
    lines.push(JSON.stringify({ kind: "chunk", data: data === "" ? block : data }))
  }
  if (body.error !== undefined) lines.push(JSON.stringify({ kind: "body-error", message: body.error }))
  return lines
}

/** Waits for the pending body reads, at most `ms` (a stalled body must not keep probe from writing its trace). */
const settle = (pending: ReadonlyArray<Promise<void>>, ms: number) =>
  Promise.race([
    Promise.allSettled(pending).then(() => undefined),
    new Promise<void>((resolve) => setTimeout(resolve, ms).unref())
  ])

const probe = Command.make(
  "probe",
  {
    prompt: Argument.String("prompt").pipe(Argument.withDefault("Say hello in one short sentence.")),
    model: modelFlag,
    out: Flag.String("out").pipe(Flag.withDescription("Directory for the JSONL traces"), Flag.withDefault("traces")),
    models: modelsFile,
    json
  },
  ({ prompt, model, out, models: file, json: asJson }) =>
    withEnvironment(asJson, (env) =>
      Effect.gen(function* () {
        const registry = yield* registryOf(env, file)
        const route = yield* registry.resolve(model)
        fs.mkdirSync(out, { recursive: true })
        const target = path.join(
          out,
          `${route.provider}-${route.model.replace(/[^A-Za-z0-9.-]+/g, "_")}-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`
        )
        const lines: Array<string> = []
        const pending: Array<Promise<void>> = []
        env.tap((sent, response) => {
          lines.push(JSON.stringify({ kind: "request", url: sent.url, body: sent.body }))
          if (response instanceof Error) {
            const cause = response.cause instanceof Error ? `: ${response.cause.message}` : ""
            lines.push(JSON.stringify({ kind: "fetch-error", message: `${response.message}${cause}` }))
            return
          }
          lines.push(
            JSON.stringify({
              kind: "response",
              status: response.status,
              headers: Object.fromEntries([...response.headers].filter(([name]) => !/authorization|cookie/i.test(name)))
            })
          )
          pending.push(readBody(response).then((body) => void lines.push(...traceLines(body))))
        })
        const exit = yield* Stream.runCollect(
          LanguageModel.streamText({ prompt }).pipe(ProviderRegistry.provideRouteStream(registry, route))
        ).pipe(Effect.ensuring(Effect.sync(() => env.tap(undefined))), Effect.exit)
        // the bodies of failed calls too: error bodies and truncated streams are what a recording is for
        yield* Effect.promise(() => settle(pending, 2_000))
        fs.writeFileSync(target, `${lines.join("\n")}\n`)
        if (Exit.isFailure(exit)) {
          const error = Cause.squash(exit.cause)
          const described = AiError.isAiError(error) ? ProviderError.describe(error) : undefined
          if (asJson) {
            Ui.print(JSON.stringify({ trace: target, lines: lines.length, error: described ?? String(error) }, null, 2))
          } else Ui.line(`wrote ${lines.length} lines to ${target} (the call failed)`)
          return yield* Effect.failCause(exit.cause)
        }
        const summary = ResponseSummary.fromParts(exit.value)
        if (asJson) Ui.print(JSON.stringify({ trace: target, lines: lines.length, summary }, null, 2))
        else Ui.line(`wrote ${lines.length} lines to ${target}\n${summary.text}`)
      })
    )
).pipe(
  Command.withDescription("Write the raw chunks of one streamed call as JSONL (for recording a provider's wire shapes)")
)

// =============================================================================
// root
// =============================================================================

const root = Command.make("conduit-demo", { json }, ({ json: asJson }) => tour(asJson)).pipe(
  Command.withDescription("A guided tour of Conduit, on simulated upstreams unless provider keys are set"),
  Command.withSubcommands([chat, models, probe])
)

root.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.catch((error) =>
    Console.error(Ui.red(`error: ${error instanceof Error ? error.message : String(error)}`)).pipe(
      Effect.andThen(
        Effect.sync(() => {
          process.exitCode = 1
        })
      )
    )
  ),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain
)
