/**
 * The guided tour: numbered steps, each printing a few lines and ending with checks that say whether the step
 * behaved as described. The tour ends with a summary table and succeeds only if every check of every step held.
 */
import { Cause, Clock, Effect, Exit } from "effect"
import * as Ui from "./Ui.js"

/** One check of a step: what was expected, whether it held, and what was seen. */
export interface Check {
  readonly label: string
  readonly ok: boolean
  readonly detail?: string | undefined
}

/** What a step reports for the summary table. Token counts in tokens. */
export interface Outcome {
  readonly provider: string
  readonly model: string
  readonly tokens?: number | undefined
  readonly cachedTokens?: number | undefined
  readonly attempts?: number | undefined
  readonly checks: ReadonlyArray<Check>
}

/** A step. `run` prints as it goes (through `Ui`) and returns its outcome. */
export interface Step<R> {
  readonly title: string
  readonly explain: string
  readonly run: Effect.Effect<Outcome, unknown, R>
}

/** A finished step, as in the summary table. */
export interface StepReport extends Outcome {
  readonly index: number
  readonly title: string
  readonly ok: boolean
  readonly ms: number
  readonly error?: string | undefined
}

/** Builds a check. */
export const check = (label: string, ok: boolean, detail?: string): Check => ({
  label,
  ok,
  ...(detail !== undefined ? { detail } : {})
})

/** Runs the steps in order (a failing step does not stop the tour) and returns their reports. */
export const run = <R>(
  steps: ReadonlyArray<Step<R>>,
  options: { readonly json: boolean }
): Effect.Effect<Array<StepReport>, never, R> =>
  Effect.gen(function* () {
    const reports: Array<StepReport> = []
    for (const [i, step] of steps.entries()) {
      const index = i + 1
      if (!options.json) {
        Ui.line()
        Ui.line(`${Ui.bold(Ui.cyan(`${index}.`))} ${Ui.bold(step.title)}`)
        Ui.line(`   ${Ui.dim(step.explain)}`)
      }
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(step.run)
      const elapsed = (yield* Clock.currentTimeMillis) - started
      if (Exit.isSuccess(exit)) {
        const ok = exit.value.checks.every((c) => c.ok)
        reports.push({ ...exit.value, index, title: step.title, ok, ms: elapsed })
        if (!options.json) {
          for (const c of exit.value.checks) {
            Ui.line(`   ${c.ok ? Ui.green("✓") : Ui.red("✗")} ${c.label}${c.detail ? Ui.dim(` (${c.detail})`) : ""}`)
          }
        }
      } else {
        const error = Cause.pretty(exit.cause).split("\n")[0] ?? "failed"
        reports.push({ index, title: step.title, provider: "–", model: "–", checks: [], ok: false, ms: elapsed, error })
        if (!options.json) Ui.line(`   ${Ui.red("✗ failed:")} ${error}`)
      }
    }
    return reports
  })

/** The summary table. */
export const summary = (reports: ReadonlyArray<StepReport>): string =>
  Ui.table(
    ["step", "provider", "model", "result", ">tokens", ">cached", ">attempts", ">ms"],
    reports.map((r) => [
      `${r.index}. ${r.title}`,
      r.provider,
      r.model,
      r.ok ? Ui.green("ok") : Ui.red("failed"),
      r.tokens === undefined ? "–" : String(r.tokens),
      r.cachedTokens === undefined ? "–" : String(r.cachedTokens),
      r.attempts === undefined ? "–" : String(r.attempts),
      String(Math.round(r.ms))
    ])
  )
