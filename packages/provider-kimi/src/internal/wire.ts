/**
 * The last mile between core's transport and `fetch`.
 *
 * Core's chat calls take only a JSON body (no per-request headers), and requests core builds by itself (server-tool
 * rounds such as the `$web_search` echo) never pass through the provider's request shaping again. So request
 * shaping leaves instructions in a private body field, {@link field}, and the Kimi client's `fetch` applies them to
 * the exact body about to be sent, then removes the field:
 * - `headers`: request headers (the context-cache headers `X-Msh-Context-Cache`, `-Reset-TTL`, `-DryRun`);
 * - `replay`: `true` when thinking is on, so every assistant tool-call message carries non-empty
 *   `reasoning_content` (core's server-tool round appends an assistant turn without the placeholder).
 *
 * The field never reaches Moonshot.
 */

/** The private body field. */
export const field = "__conduit_kimi"

/** What the field carries. */
export interface Instructions {
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly replay?: boolean | undefined
}

type Fetch = typeof globalThis.fetch

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Applies and strips the instructions of a JSON body (pure). Returns `undefined` when the body carries none.
 */
export const applyInstructions = (
  body: string
): { readonly body: string; readonly headers: Readonly<Record<string, string>> } | undefined => {
  if (!body.includes(field)) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch {
    return undefined
  }
  if (!isRecord(parsed) || !(field in parsed)) return undefined
  const { [field]: raw, ...rest } = parsed
  const instructions: Instructions = isRecord(raw) ? (raw as Instructions) : {}
  if (instructions.replay === true && Array.isArray(rest.messages)) {
    rest.messages = rest.messages.map((message: unknown) => {
      if (!isRecord(message) || message.role !== "assistant") return message
      const calls = message.tool_calls
      const reasoning = message.reasoning_content
      if (Array.isArray(calls) && calls.length > 0 && (typeof reasoning !== "string" || reasoning.trim() === "")) {
        return { ...message, reasoning_content: " " }
      }
      return message
    })
  }
  return { body: JSON.stringify(rest), headers: { ...(instructions.headers ?? {}) } }
}

/**
 * Wraps a `fetch` (resolved at call time, so MSW and instrumentation patches apply) to apply the instructions.
 */
export const wrapFetch =
  (inner?: Fetch | undefined): Fetch =>
  (input, init) => {
    const target = inner ?? globalThis.fetch
    const body = init?.body
    if (typeof body === "string") {
      const applied = applyInstructions(body)
      if (applied !== undefined) {
        const headers = new Headers(init?.headers)
        headers.delete("content-length")
        for (const [name, value] of Object.entries(applied.headers)) headers.set(name, value)
        return target(input, { ...init, body: applied.body, headers })
      }
    }
    return target(input, init)
  }
