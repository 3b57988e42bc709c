/**
 * Moonshot wire data authored for tests and simulations: chat completion bodies, stream chunks and error bodies in
 * the exact shapes the recordings show (docs/providers/kimi.md#streaming, #usage, #errors;
 * `../shared/fixtures/kimi/INDEX.md`). The recordings themselves are third-party data and stay where they are; these
 * builders produce our own data with their shapes:
 *
 * - ids `chatcmpl-<24 hex>` (kimi-k2.x, moonshot-v1 live captures, whose stream chunks carry
 *   `system_fingerprint: "fpv0_<8 hex>"` and whose non-stream bodies carry none) or `chatcmpl-<uuid>` without a
 *   fingerprint (kimi-k3 live captures);
 * - non-stream `message.reasoning_content` beside `content` on thinking models (`""` when the model did not reason,
 *   as in `moonshotai-file-reference-live.json`); tool-call ids `<name>_<index>` (`get_weather_0`);
 * - usage with top-level `cached_tokens` AND `prompt_tokens_details.cached_tokens` on cache hits, and
 *   `completion_tokens_details.reasoning_tokens` on thinking models (`moonshotai-usage-live.json`);
 * - streams: a first `{ role: "assistant", content: "" }` delta, reasoning deltas, an empty `reasoning_content`
 *   delta at the switch to the answer, content or tool-call deltas (the first fragment of a call with `index`, `id`,
 *   `type`, `name` and empty `arguments`), a finish chunk with an empty delta and the usage INSIDE `choices[0]`
 *   (always sent), and, with `stream_options.include_usage`, a trailing `choices: []` chunk with top-level usage
 *   (`moonshotai-usage-live.chunks.txt`, `moonshotai-stream-choice-usage.chunks.txt`);
 * - error bodies `{"error":{"message","type"}}` with the messages Moonshot sends (quoted in the recordings), and
 *   the 429 headers `retry-after` / `x-retry-after` / `x-msh-trace-id`.
 *
 * @since 0.1.0
 */

/**
 * A tool call of a scenario: `name`, JSON `arguments` (a string, or an object that is JSON-encoded), and an id
 * (default `<name>_<index>`).
 *
 * @since 0.1.0
 */
export interface ScenarioToolCall {
  readonly name: string
  readonly arguments: string | Readonly<Record<string, unknown>>
  readonly id?: string | undefined
}

/**
 * Usage of a scenario, in tokens. `cached` and `reasoning` default to 0 (omitted from the wire when 0, except
 * that thinking models always report `reasoning_tokens`).
 *
 * @since 0.1.0
 */
export interface ScenarioUsage {
  readonly prompt: number
  readonly completion: number
  readonly cached?: number | undefined
  readonly reasoning?: number | undefined
}

/**
 * One answer: the model, reasoning and text (each a list of stream fragments, joined for non-stream bodies), tool
 * calls, the finish reason (default `tool_calls` with tool calls, else `stop`) and usage (default: derived from the
 * text lengths).
 *
 * @since 0.1.0
 */
export interface Scenario {
  readonly model: string
  readonly reasoning?: ReadonlyArray<string> | undefined
  readonly text?: ReadonlyArray<string> | undefined
  readonly toolCalls?: ReadonlyArray<ScenarioToolCall> | undefined
  readonly finishReason?: string | undefined
  readonly usage?: ScenarioUsage | undefined
  /** Override of the response id. */
  readonly id?: string | undefined
  /** Unix seconds (default 1787771120, the time of the kimi-k3 live capture). */
  readonly created?: number | undefined
}

let counter = 0

const hex = (value: number, length: number) => value.toString(16).padStart(length, "0").slice(-length)

const isK3 = (model: string) => model.startsWith("kimi-k3")

/**
 * A fresh response id in the model's live format (deterministic: a process-wide counter).
 *
 * @since 0.1.0
 */
export const responseId = (model: string): string => {
  counter++
  return isK3(model)
    ? `chatcmpl-${hex(counter, 8)}-c0de-9a7b-a9f3-${hex(counter * 7919, 12)}`
    : `chatcmpl-6a8f${hex(counter, 20)}`
}

/**
 * The `system_fingerprint` live k2.x / moonshot-v1 chunks carry (`undefined` for kimi-k3, whose captures have none).
 *
 * @since 0.1.0
 */
export const fingerprint = (model: string): string | undefined => (isK3(model) ? undefined : "fpv0_c0de1234")

/**
 * Whether a model id answers with `reasoning_content` (the K2 thinking and later models).
 *
 * @since 0.1.0
 */
export const reasons = (model: string): boolean =>
  /^kimi-(k3|k2\.[5-9]|k2-thinking|thinking-preview|for-coding)/.test(model)

const argumentsText = (call: ScenarioToolCall) =>
  typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)

const toolCallId = (call: ScenarioToolCall, index: number) => call.id ?? `${call.name}_${index}`

/**
 * The wire usage object of a scenario (the live shape; see the module documentation).
 *
 * @since 0.1.0
 */
export const wireUsage = (scenario: Scenario): Record<string, unknown> => {
  const usage = scenario.usage ?? {
    prompt: 12,
    completion: Math.max(
      1,
      Math.ceil(((scenario.text ?? []).join("").length + (scenario.reasoning ?? []).join("").length) / 4)
    )
  }
  const cached = usage.cached ?? 0
  const reasoning = usage.reasoning ?? 0
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    ...(cached > 0 ? { cached_tokens: cached } : {}),
    ...(reasons(scenario.model) || reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
    ...(cached > 0 ? { prompt_tokens_details: { cached_tokens: cached } } : {})
  }
}

const finishReasonOf = (scenario: Scenario) =>
  scenario.finishReason ?? ((scenario.toolCalls ?? []).length > 0 ? "tool_calls" : "stop")

/**
 * A non-streaming `chat.completion` body.
 *
 * @since 0.1.0
 */
export const completion = (scenario: Scenario): Record<string, unknown> => {
  const calls = scenario.toolCalls ?? []
  return {
    id: scenario.id ?? responseId(scenario.model),
    object: "chat.completion",
    created: scenario.created ?? 1_787_771_120,
    model: scenario.model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: (scenario.text ?? []).join(""),
          ...(reasons(scenario.model) ? { reasoning_content: (scenario.reasoning ?? []).join("") } : {}),
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((call, index) => ({
                  index,
                  id: toolCallId(call, index),
                  type: "function",
                  function: { name: call.name, arguments: argumentsText(call) }
                }))
              }
            : {})
        },
        finish_reason: finishReasonOf(scenario)
      }
    ],
    usage: wireUsage(scenario)
  }
}

/**
 * Stream options of {@link chunks}: `includeUsage` adds the trailing `choices: []` usage chunk (what
 * `stream_options.include_usage` asks for); `argumentPieces` splits each tool call's arguments in this many
 * fragments (default 2).
 *
 * @since 0.1.0
 */
export interface ChunkOptions {
  readonly includeUsage?: boolean | undefined
  readonly argumentPieces?: number | undefined
}

const split = (text: string, pieces: number): Array<string> => {
  if (pieces <= 1 || text.length <= 1) return [text]
  const size = Math.ceil(text.length / pieces)
  const out: Array<string> = []
  for (let offset = 0; offset < text.length; offset += size) out.push(text.slice(offset, offset + size))
  return out
}

/**
 * The `chat.completion.chunk` objects of a streamed answer (without `[DONE]`).
 *
 * @since 0.1.0
 */
export const chunks = (scenario: Scenario, options: ChunkOptions = {}): Array<Record<string, unknown>> => {
  const id = scenario.id ?? responseId(scenario.model)
  const print = fingerprint(scenario.model)
  const frame = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) => ({
    id,
    object: "chat.completion.chunk",
    created: scenario.created ?? 1_787_771_120,
    model: scenario.model,
    choices,
    ...extra,
    ...(print !== undefined ? { system_fingerprint: print } : {})
  })
  const delta = (value: Record<string, unknown>) => frame([{ index: 0, delta: value, finish_reason: null }])
  const out: Array<Record<string, unknown>> = [delta({ role: "assistant", content: "" })]
  const reasoning = scenario.reasoning ?? []
  for (const piece of reasoning) out.push(delta({ reasoning_content: piece }))
  if (reasoning.length > 0) out.push(delta({ reasoning_content: "" }))
  for (const piece of scenario.text ?? []) out.push(delta({ content: piece }))
  for (const [index, call] of (scenario.toolCalls ?? []).entries()) {
    out.push(
      delta({
        tool_calls: [
          { index, id: toolCallId(call, index), type: "function", function: { name: call.name, arguments: "" } }
        ]
      })
    )
    for (const piece of split(argumentsText(call), options.argumentPieces ?? 2)) {
      out.push(delta({ tool_calls: [{ index, function: { arguments: piece } }] }))
    }
  }
  const usage = wireUsage(scenario)
  out.push(frame([{ index: 0, delta: {}, finish_reason: finishReasonOf(scenario), usage }]))
  if (options.includeUsage) {
    const trailing = frame([], { usage })
    delete (trailing as Record<string, unknown>).system_fingerprint
    out.push(trailing)
  }
  return out
}

// =============================================================================
// Errors
// =============================================================================

/**
 * An HTTP error as Moonshot sends it: status, body (JSON, or a string such as an HTML page) and headers.
 *
 * @since 0.1.0
 */
export interface WireError {
  readonly status: number
  readonly body: unknown
  readonly headers?: Readonly<Record<string, string>> | undefined
}

const error = (status: number, type: string, message: string, headers?: Record<string, string>): WireError => ({
  status,
  body: { error: { message, type } },
  ...(headers !== undefined ? { headers } : {})
})

/**
 * Moonshot's error answers (messages as quoted in the recordings and docs/providers/kimi.md#errors).
 *
 * @since 0.1.0
 */
export const errors = {
  /** 401 without a key (live, [HALRO] §1.3). */
  missingKey: (): WireError => error(401, "incorrect_api_key_error", "Incorrect API key provided"),
  /** 401 with a wrong key or a key of the other platform ([DOC-EN-25]). */
  invalidKey: (): WireError => error(401, "invalid_authentication_error", "Invalid Authentication"),
  /** 404 for an unknown or retired model (live fixtures `errors/moonshotai-error-*-live*.json`). */
  modelNotFound: (model: string): WireError =>
    error(404, "resource_not_found_error", `Not found the model ${model} or Permission denied`),
  /** 429 rate limit with the live headers (`other-repos/live-errors-and-headers-2026-09.txt`). */
  rateLimited: (seconds = 1): WireError =>
    error(
      429,
      "rate_limit_reached_error",
      `Organization Rate limit exceeded, please try again after ${seconds} seconds`,
      {
        "retry-after": String(seconds),
        "x-retry-after": String(seconds),
        "x-msh-trace-id": "c0de9f3afaa0c0de"
      }
    ),
  /** 429 engine overloaded ([DOC-EN-25]). */
  engineOverloaded: (): WireError =>
    error(429, "engine_overloaded_error", "The engine is currently overloaded, please try again later", {
      "retry-after": "1"
    }),
  /** 429 quota / balance exhaustion (`other-repos/error-messages-from-issues.txt`). */
  quotaExhausted: (): WireError =>
    error(
      429,
      "exceeded_current_quota_error",
      "Your account is suspended due to insufficient balance, please recharge your account or check your plan and billing details"
    ),
  /** 403 account not active (older docs). */
  accountInactive: (): WireError =>
    error(
      403,
      "exceeded_current_quota_error",
      "Your account is not active, current state: suspended, you may consider to check your account balance"
    ),
  /** 403 from the Kimi Code endpoint for a client it does not recognize (docs/providers/kimi.md#kimi-code). */
  accessTerminated: (): WireError =>
    error(
      403,
      "access_terminated_error",
      "Kimi For Coding is currently only available for Coding Agents such as Kimi CLI, Claude Code, Roo Code, Kilo Code, etc."
    ),
  /** 400 content moderation (`official-doc-examples/error-content-filter-doc.json`). */
  contentFilter: (): WireError =>
    error(400, "content_filter", "The request was rejected because it was considered high risk"),
  /** 500 internal error. */
  serverError: (): WireError => error(500, "server_error", "Internal server error"),
  /** 500 file extraction failure, with the empty type the live capture shows. */
  extractFailed: (): WireError => error(500, "", "extract task failed: failed"),
  /** 504 HTML gateway page ([HALRO] §1.8). */
  gatewayTimeout: (): WireError => ({
    status: 504,
    body: "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n<center><h1>504 Gateway Time-out</h1></center>\r\n</body>\r\n</html>\r\n",
    headers: { "content-type": "text/html" }
  }),
  /** 400 pinned temperature (fixtures `errors/moonshotai-kimi-k3-temperature-rejection.json`, `…-unsupported-sampling-error.json`). */
  pinned: (parameter: string, allowed: number): WireError =>
    error(400, "invalid_request_error", `invalid ${parameter}: only ${allowed} is allowed for this model`),
  /** 400 too many stop strings (live, [HALRO] §10.2 #12). */
  stopTooLong: (count: number): WireError =>
    error(
      400,
      "invalid_request_error",
      `stop array too long. Expected an array with maximum length 5, but got ${count}`
    ),
  /** 400 thinking disabled on a model that always thinks (fixture `errors/moonshotai-k2.7-disabled-thinking-error.json`). */
  thinkingOnlyEnabled: (): WireError =>
    error(400, "invalid_request_error", "invalid thinking: only type=enabled is allowed for this model"),
  /** 400 forced tool choice with thinking on (fixture `errors/moonshotai-required-tool-choice-error.json`). */
  toolChoiceWithThinking: (kind: "required" | "specified" = "required"): WireError =>
    error(400, "invalid_request_error", `tool_choice '${kind}' is incompatible with thinking enabled`),
  /** 400 reasoning lost on a tool-call turn (`other-repos/error-messages-from-issues.txt`). */
  reasoningMissing: (index: number): WireError =>
    error(
      400,
      "invalid_request_error",
      `thinking is enabled but reasoning_content is missing in assistant tool call message at index ${index}`
    ),
  /** 400 empty assistant message (`other-repos/error-messages-from-issues.txt`). */
  emptyAssistant: (position: number): WireError =>
    error(
      400,
      "invalid_request_error",
      `Invalid request: the message at position ${position} with role 'assistant' must not be empty`
    ),
  /** 400 generic invalid request. */
  invalidRequest: (detail: string): WireError => error(400, "invalid_request_error", `Invalid request: ${detail}`)
} as const
