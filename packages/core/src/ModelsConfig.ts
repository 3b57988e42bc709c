/**
 * `models.yaml`: names clients use, mapped to `provider/model` targets with fallbacks, retry, timeouts,
 * continuation and default wire parameters.
 *
 * ```yaml
 * models:
 *   fast:                          # name clients use
 *     target: kimi/kimi-k2.6       # provider/model
 *     fallbacks: [glm/glm-4.6]     # tried in order after the target fails with a retryable reason
 *     retry: { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000 }
 *     timeouts: { firstTokenMs: 60000, idleMs: 30000, totalMs: 600000 }
 *     continuation: { maxContinuations: 3, maxTotalTokens: 32000 }
 *     assembleNonStream: false     # non-stream calls as plain requests (default: the provider decides, see CallConfig)
 *     defaults: { temperature: 0.6, max_tokens: 4096 }
 *     providerOptions:             # each provider's own options, for the steps on that provider
 *       kimi: { contextCache: { auto: true } }
 *       glm: { thinking: disabled }
 * pricing:                         # prices per million tokens, over the catalogs' (see core's `Cost`)
 *   kimi/kimi-k3: { currency: USD, inputPerMillion: 3, cachedInputPerMillion: 0.3, outputPerMillion: 15 }
 *   deepseek/deepseek-chat: { currency: USD, inputPerMillion: 0.28, outputPerMillion: 0.42 }   # a `providers:` backend
 * keys:                            # limits per caller, by the key id the gateway derives from an API key
 *   key_3f2a9c0d1b4e:
 *     budget: { amount: 25, currency: USD, period: month }   # spend per calendar month (UTC), or per UTC day
 *     rpm: 60                      # requests per minute
 *     tpm: 200000                  # tokens per minute
 * ```
 *
 * `pricing` is keyed by `provider/model` (a catalog model, an alias, or a model of a backend declared under
 * `providers:`); an entry replaces the catalog's price for that model, whatever the host (its currency should be the
 * one the host bills in: a cost is never converted).
 *
 * `providerOptions` are keyed by provider name and hold that provider's typed options (`KimiConfig` / `GlmConfig`
 * in the provider packages); the provider validates them on each call and refuses bad values with an
 * `InvalidRequestError` naming the option.
 *
 * Parsed with the `yaml` package and decoded with Schema; every error names the file, the line and the field
 * (`models.yaml:4: models.fast.retry.maxRetries: Expected a number, got "two"`). Unknown keys are refused (a typo
 * should not silently do nothing).
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import { Effect, Schema, SchemaIssue } from "effect"
import * as YAML from "yaml"
import * as Cost from "./Cost.js"

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const Target = Schema.String.check(
  Schema.makeFilter((s: string) => /^[A-Za-z0-9_.-]+\/.+$/.test(s) || 'expected "provider/model"')
)

/**
 * One routable name.
 *
 * @since 0.1.0
 */
export const ModelRoute = Schema.Struct({
  target: Target,
  fallbacks: Schema.optional(Schema.Array(Target)),
  retry: Schema.optional(
    Schema.Struct({
      maxRetries: Schema.optional(NonNegativeInt),
      baseDelayMs: Schema.optional(NonNegativeInt),
      maxDelayMs: Schema.optional(NonNegativeInt),
      maxRetryAfterMs: Schema.optional(NonNegativeInt)
    })
  ),
  timeouts: Schema.optional(
    Schema.Struct({
      firstTokenMs: Schema.optional(PositiveInt),
      idleMs: Schema.optional(PositiveInt),
      totalMs: Schema.optional(PositiveInt)
    })
  ),
  continuation: Schema.optional(
    Schema.Struct({
      enabled: Schema.optional(Schema.Boolean),
      maxContinuations: Schema.optional(NonNegativeInt),
      maxTotalTokens: Schema.optional(PositiveInt)
    })
  ),
  defaults: Schema.optional(Schema.Record(Schema.String, Schema.Unknown)),
  assembleNonStream: Schema.optional(Schema.Boolean),
  providerOptions: Schema.optional(Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Unknown)))
})

/** @since 0.1.0 */
export type ModelRoute = typeof ModelRoute.Type

/**
 * An extra OpenAI-compatible backend declared by configuration alone (see the extension guide).
 *
 * - `baseURL`: the endpoint. `apiKeyEnv`: the environment variable holding its key (never the key itself).
 * - `headers`: extra headers. `models`: optional catalog hints (context window, output cap) per model id.
 *
 * @since 0.1.0
 */
export const BackendConfig = Schema.Struct({
  baseURL: Schema.String,
  apiKeyEnv: Schema.optional(Schema.String),
  headers: Schema.optional(Schema.Record(Schema.String, Schema.String)),
  models: Schema.optional(
    Schema.Record(
      Schema.String,
      Schema.Struct({
        contextWindow: Schema.optional(PositiveInt),
        maxOutputTokens: Schema.optional(PositiveInt),
        thinking: Schema.optional(Schema.Literals(["none", "optional", "always"])),
        vision: Schema.optional(Schema.Boolean),
        tools: Schema.optional(Schema.Boolean)
      })
    )
  )
})

/** @since 0.1.0 */
export type BackendConfig = typeof BackendConfig.Type

const keyIdPattern = /^key_[0-9a-f]{12}$/

/**
 * The limits of one key: a spend `budget` (`amount` in `currency`, an ISO 4217 code, per UTC `day` or calendar
 * `month`), requests per minute (`rpm`) and tokens per minute (`tpm`). Spend is counted from each response's cost.
 *
 * @since 0.1.0
 */
export const KeyLimits = Schema.Struct({
  budget: Schema.optional(
    Schema.Struct({
      amount: Schema.Finite.check(Schema.makeFilter((n: number) => n > 0 || `expected an amount > 0, got ${n}`)),
      currency: Schema.String.check(
        Schema.makeFilter(
          (s: string) => /^[A-Z]{3}$/.test(s) || `expected an ISO 4217 currency code such as "USD", got "${s}"`
        )
      ),
      period: Schema.Literals(["day", "month"])
    })
  ),
  rpm: Schema.optional(PositiveInt),
  tpm: Schema.optional(PositiveInt)
})

/** @since 0.1.0 */
export type KeyLimits = typeof KeyLimits.Type

/**
 * The `keys` section: limits per key id, as the gateway names a caller: `key_` and 12 lowercase hex characters
 * (derived from the API key, never the key itself), or `anonymous` (every request when the gateway has no API keys).
 *
 * @since 0.1.0
 */
export const KeysConfig = Schema.Record(Schema.String, KeyLimits).check(
  Schema.makeFilter((keys: Readonly<Record<string, KeyLimits>>) => {
    const bad = Object.keys(keys).find((id) => !keyIdPattern.test(id) && id !== "anonymous")
    return bad === undefined
      ? true
      : {
          path: [bad],
          issue: `expected a key id ("key_" and 12 lowercase hex characters, as the gateway logs it) or "anonymous", got "${bad}"`
        }
  })
)

/**
 * The whole file.
 *
 * @since 0.1.0
 */
export const ModelsConfig = Schema.Struct({
  models: Schema.optional(Schema.Record(Schema.String, ModelRoute)),
  providers: Schema.optional(Schema.Record(Schema.String, BackendConfig)),
  pricing: Schema.optional(Schema.Record(Target, Cost.Pricing)),
  keys: Schema.optional(KeysConfig)
})

/** @since 0.1.0 */
export type ModelsConfig = typeof ModelsConfig.Type

/**
 * The file could not be read, parsed or decoded. `line` is 1-based when known; `path` is the field
 * (`models.fast.retry.maxRetries`).
 *
 * @since 0.1.0
 */
export class ModelsConfigError extends Schema.TaggedError<ModelsConfigError>()("ModelsConfigError", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  path: Schema.optional(Schema.String),
  detail: Schema.String
}) {
  override get message(): string {
    return `${this.file}${this.line !== undefined ? `:${this.line}` : ""}: ${this.path ? `${this.path}: ` : ""}${this.detail}`
  }
}

const issueMessage = (issue: SchemaIssue.Issue): string => {
  const formatted = SchemaIssue.makeFormatterDefault()(issue)
  return typeof formatted === "string" ? formatted : String(formatted)
}

const firstPath = (issue: SchemaIssue.Issue): ReadonlyArray<PropertyKey> => {
  const leaves = SchemaIssue.makeFormatterStandardSchemaV1()(issue).issues
  const first = leaves[0]
  return (first?.path ?? []).map((segment) =>
    typeof segment === "object" && segment !== null && "key" in segment ? (segment.key as PropertyKey) : segment
  ) as ReadonlyArray<PropertyKey>
}

/**
 * Parses and decodes YAML text. `file` names it in errors.
 *
 * @since 0.1.0
 */
export const parse = (text: string, file = "models.yaml"): Effect.Effect<ModelsConfig, ModelsConfigError> =>
  Effect.suspend(() => {
    const lineCounter = new YAML.LineCounter()
    const document = YAML.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
    const firstError = document.errors[0]
    if (firstError !== undefined) {
      const line = firstError.linePos?.[0]?.line ?? lineCounter.linePos(firstError.pos[0]).line
      return Effect.fail(
        new ModelsConfigError({ file, ...(line !== undefined ? { line } : {}), detail: firstError.message })
      )
    }
    const json = document.toJS() ?? {}
    return Schema.decodeUnknownEffect(ModelsConfig)(json, { onExcessProperty: "error", errors: "first" }).pipe(
      Effect.mapError((error) => {
        const path = firstPath(error.issue)
        let node = path.length > 0 ? document.getIn(path as Array<unknown>, true) : undefined
        // an excess or missing key: point at the key's parent
        if (node === undefined && path.length > 0) node = document.getIn(path.slice(0, -1) as Array<unknown>, true)
        const range = (node as { range?: [number, number, number] } | undefined)?.range
        const line = range !== undefined ? lineCounter.linePos(range[0]).line : undefined
        return new ModelsConfigError({
          file,
          ...(line !== undefined ? { line } : {}),
          path: path.map(String).join("."),
          detail: issueMessage(error.issue)
        })
      })
    )
  })

/**
 * Reads and parses a file.
 *
 * @since 0.1.0
 */
export const load = (file: string): Effect.Effect<ModelsConfig, ModelsConfigError> =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (error) =>
      new ModelsConfigError({ file, detail: `cannot read: ${error instanceof Error ? error.message : String(error)}` })
  }).pipe(Effect.flatMap((text) => parse(text, file)))
