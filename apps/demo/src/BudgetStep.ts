/**
 * The tour's budget step: a caller's key has a daily spend budget (session `RateLimits` with `budgets`, as the
 * gateway's models.yaml `keys:` section configures it). Each answer's cost (its usage at the catalog's published
 * price, `ResponseSummary.cost`) is charged to the key; once the spend reaches the budget the next request is refused
 * before it is sent, with the limit, the spend and the time to the UTC day's reset.
 */
import { type Cost, ResponseSummary } from "@conduitkit/core"
import { GlmLanguageModel } from "@conduitkit/provider-glm"
import { Budget, RateLimits, SessionManager } from "@conduitkit/session"
import { Clock, Context, Effect, Layer } from "effect"
import { LanguageModel } from "effect/ai"
import type { Environment } from "./Environment.js"
import { check, type Outcome, type Step } from "./Tour.js"
import * as Ui from "./Ui.js"

/** The caller, as the gateway names one (`key_` + 12 hex of a hash of the API key). */
const keyId = "key_0d3e1a5c9b27"
const model = "glm-4.6"
/** The budget, in answers' worth: the third answer is admitted under it and takes the spend past it. */
const answersWorth = 2.5
/** Requests tried at most (the refusal is expected at the fourth). */
const maxRequests = 6

const ask = (env: Environment, turn: number) =>
  LanguageModel.generateText({ prompt: `Budget turn ${turn}: answer in one short sentence.` }).pipe(
    Effect.map((response) => ResponseSummary.fromParts(response.content)),
    Effect.provide(GlmLanguageModel.layer(model).pipe(Layer.provide(env.glmClient)))
  )

const money = (cost: Pick<Cost.Cost, "amount" | "currency">) => `${Number(cost.amount.toPrecision(4))} ${cost.currency}`

/** The budget step. */
export const budgetStep = (env: Environment): Step<never> => ({
  title: "A key's daily budget, reached",
  explain:
    "Each answer's cost (usage at the published price) is charged to the caller's key; past its daily budget the key is refused until 00:00 UTC.",
  run: Effect.gen(function* () {
    // one answer tells what an answer costs here (live answers vary a little); the budget is 2.5 of them
    const probe = yield* ask(env, 0)
    const unit = probe.cost
    if (unit === undefined || !(unit.amount > 0)) {
      return {
        provider: "glm",
        model,
        checks: [check("an answer has a cost (its model has a published price)", false, "no cost on the answer")]
      } satisfies Outcome
    }
    const budget: Budget.Budget = { amount: unit.amount * answersWorth, currency: unit.currency, period: "day" }
    Ui.line(`   one answer costs ${money(unit)}; key ${keyId}'s budget: ${money(budget)} per UTC day`)
    const limits = RateLimits.layer({ budgets: { [keyId]: budget } })
    const manager = Context.get(
      yield* Layer.build(SessionManager.layer().pipe(Layer.provide(limits))),
      SessionManager.SessionManager
    )
    let spent = 0
    let tokens = 0
    let answered = 0
    let underWhenAdmitted = true
    let refusal: Budget.BudgetExceededError | undefined
    let sentBefore = 0
    for (let turn = 1; turn <= maxRequests && refusal === undefined; turn++) {
      sentBefore = env.sent().length
      const before = spent
      const exit = yield* Effect.result(
        manager.run(ask(env, turn), { rateLimit: { key: keyId, actualCost: (summary) => summary.cost } })
      )
      if (exit._tag === "Success") {
        const cost = exit.success.value.cost
        answered++
        spent += cost?.amount ?? 0
        tokens += exit.success.value.usage.inputTokens + exit.success.value.usage.outputTokens
        if (before >= budget.amount) underWhenAdmitted = false
        Ui.line(
          `   ${Ui.green("✓")} answer ${turn}: ${cost === undefined ? "no cost" : money(cost)}, spent ${money({ amount: spent, currency: budget.currency })}`
        )
      } else if (exit.failure instanceof Budget.BudgetExceededError) {
        refusal = exit.failure
        Ui.line(`   ${Ui.red("✗")} request ${turn}: ${refusal.message}`)
      } else {
        return yield* Effect.fail(exit.failure)
      }
    }
    const now = yield* Clock.currentTimeMillis
    const window = Budget.windowAt("day", now)
    const retryAfter = refusal === undefined ? undefined : Math.ceil(refusal.retryAfterMs / 1000)
    if (refusal !== undefined) {
      Ui.line(Ui.dim(`   the gateway answers this as 429 budget_exceeded, Retry-After: ${retryAfter}`))
    }
    return {
      provider: "glm",
      model,
      tokens,
      checks: [
        check("every answer was charged its cost", answered > 0 && spent > 0, `${answered} answers`),
        check("requests were admitted while the spend was under the budget", answered >= 2 && underWhenAdmitted),
        check(
          "then the key was refused with the limit and the spend",
          refusal !== undefined && refusal.limit === budget.amount && refusal.spent >= budget.amount,
          refusal === undefined
            ? `no refusal in ${maxRequests} requests`
            : `${money({ amount: refusal.spent, currency: refusal.currency })} spent`
        ),
        check(
          "until the UTC day resets (Retry-After to 00:00 UTC)",
          refusal !== undefined &&
            refusal.resetAt === new Date(window.resetAt).toISOString() &&
            Math.abs(refusal.retryAfterMs - (window.resetAt - now)) < 5_000,
          refusal?.resetAt
        ),
        check(
          "the refused request never reached the provider",
          refusal !== undefined && env.sent().length === sentBefore
        )
      ]
    } satisfies Outcome
  }).pipe(Effect.scoped)
})
