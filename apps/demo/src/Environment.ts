/**
 * Where the demo's requests go.
 *
 * - Kimi and GLM are each `live` (their key is set: `MOONSHOT_API_KEY` / `KIMI_API_KEY`, `ZAI_API_KEY` /
 *   `ZHIPUAI_API_KEY`) or `simulated` (the providers' own MSW mocks, the providers' `testing` entry points, run
 *   in-process; the demo adds authored scenarios per step, e.g. a paced thinking stream).
 * - Faults (a 429 with Retry-After, a quota error, an outage) are always simulated, on a host of their own
 *   (`https://faults.conduit.test`), so step 5 and 6 show the same thing with or without keys.
 * - Every client goes through a recording `fetch` (`env.fetch`, also given to the OpenAI-compatible backends a
 *   `--models` file declares), so a step can check what was sent (the replayed reasoning, the partial-mode prefix)
 *   in live mode too, and `probe` can write any provider's wire traffic. Keys are never printed.
 */

import { MockUpstream } from "@conduitkit/core/testing"
import { GlmClient } from "@conduitkit/provider-glm"
import { GlmMock } from "@conduitkit/provider-glm/testing"
import { KimiClient } from "@conduitkit/provider-kimi"
import { KimiMock } from "@conduitkit/provider-kimi/testing"
import { type Layer, Redacted } from "effect"
import { setupServer } from "msw/node"

export type Mode = "live" | "simulated"

/** One request the demo sent, as the recording fetch saw it. */
export interface Sent {
  readonly url: string
  readonly body: Record<string, unknown> | undefined
  readonly at: number
}

/** A per-step responder for the simulated Kimi upstream (`undefined`: the mock's default answer). */
export type KimiResponder = NonNullable<KimiMock.Options["respond"]>
/** A per-step responder for the simulated Z.ai upstream. */
export type GlmResponder = NonNullable<GlmMock.Options["chat"]>

export interface Environment {
  readonly kimi: Mode
  readonly glm: Mode
  /** Kimi's client layer (live key or the simulated one). */
  readonly kimiClient: Layer.Layer<KimiClient.KimiClient>
  /** GLM's client layer. */
  readonly glmClient: ReturnType<typeof GlmClient.layer>
  /** A Kimi client pointed at the fault host (always simulated). */
  readonly faultyKimiClient: Layer.Layer<KimiClient.KimiClient>
  /** The recording fetch every client uses (give it to any other client whose traffic `sent`/`tap` should see). */
  readonly fetch: typeof globalThis.fetch
  /** Requests sent since the last `clearSent`. */
  readonly sent: () => ReadonlyArray<Sent>
  readonly clearSent: () => void
  /** Sets the simulated Kimi answer for the next calls (ignored in live mode). */
  readonly onKimi: (responder: KimiResponder | undefined) => void
  readonly onGlm: (responder: GlmResponder | undefined) => void
  /** Sets what the fault host answers. */
  readonly onFaults: (responder: KimiResponder) => void
  /** Receives a clone of every response, or the error of a fetch that got none (for `probe`); off when `undefined`. */
  readonly tap: (listener: ((sent: Sent, response: Response | Error) => void) | undefined) => void
  readonly close: () => void
}

const SIMULATED_KEY = "sk-simulated-demo-key"
export const faultsBaseURL = "https://faults.conduit.test/v1"

const keyOf = (...names: ReadonlyArray<string>): string | undefined => {
  for (const name of names) {
    const value = process.env[name]
    if (value !== undefined && value.trim() !== "") return value
  }
  return undefined
}

/** Starts the environment (MSW listens until `close`). */
export const start = (): Environment => {
  const log: Array<Sent> = []
  let listener: ((sent: Sent, response: Response | Error) => void) | undefined
  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url
    let body: Record<string, unknown> | undefined
    if (typeof init?.body === "string") {
      try {
        body = JSON.parse(init.body)
      } catch {
        body = undefined
      }
    }
    const sent = { url, body, at: performance.now() }
    log.push(sent)
    let response: Response
    try {
      response = await globalThis.fetch(input, init)
    } catch (error) {
      listener?.(sent, error instanceof Error ? error : new Error(String(error)))
      throw error
    }
    if (listener !== undefined) listener(sent, response.clone())
    return response
  }

  const kimiKey = keyOf("MOONSHOT_API_KEY", "KIMI_API_KEY")
  const glmKey = keyOf("ZAI_API_KEY", "ZHIPUAI_API_KEY")
  const kimi: Mode = kimiKey === undefined ? "simulated" : "live"
  const glm: Mode = glmKey === undefined ? "simulated" : "live"

  let kimiResponder: KimiResponder | undefined
  let glmResponder: GlmResponder | undefined
  let faultResponder: KimiResponder = () => undefined

  const handlers = [
    ...KimiMock.make({ baseURL: faultsBaseURL, apiKey: SIMULATED_KEY, respond: (call) => faultResponder(call) })
      .handlers,
    ...(kimi === "simulated"
      ? KimiMock.make({ apiKey: SIMULATED_KEY, respond: (call) => kimiResponder?.(call) }).handlers
      : []),
    ...(glm === "simulated"
      ? GlmMock.make({ apiKey: SIMULATED_KEY, chat: (call) => glmResponder?.(call) }).handlers
      : [])
  ]
  const server = setupServer(...handlers)
  // Only the simulated hosts are mocked; live traffic (and anything else) goes to the network as usual.
  server.listen({ onUnhandledFrame: "bypass" })

  const kimiOptions = {
    apiKey: Redacted.make(kimiKey ?? SIMULATED_KEY),
    fetch: recordingFetch,
    ...(process.env.MOONSHOT_BASE_URL ? { baseURL: process.env.MOONSHOT_BASE_URL } : {})
  }
  const glmOptions = {
    apiKey: Redacted.make(glmKey ?? SIMULATED_KEY),
    fetch: recordingFetch,
    ...(process.env.ZAI_BASE_URL ? { baseURL: process.env.ZAI_BASE_URL } : {})
  }
  return {
    kimi,
    glm,
    // simulated clients use the providers' default URLs, which the in-process mocks answer
    kimiClient: KimiClient.layer(kimi === "live" ? kimiOptions : { apiKey: kimiOptions.apiKey, fetch: recordingFetch }),
    glmClient: GlmClient.layer(glm === "live" ? glmOptions : { apiKey: glmOptions.apiKey, fetch: recordingFetch }),
    faultyKimiClient: KimiClient.layer({
      apiKey: Redacted.make(SIMULATED_KEY),
      baseURL: faultsBaseURL,
      fetch: recordingFetch
    }),
    fetch: recordingFetch,
    sent: () => log,
    clearSent: () => {
      log.length = 0
    },
    onKimi: (responder) => {
      kimiResponder = responder
    },
    onGlm: (responder) => {
      glmResponder = responder
    },
    onFaults: (responder) => {
      faultResponder = responder
    },
    tap: (next) => {
      listener = next
    },
    close: () => server.close()
  }
}

/** A paced SSE response (first-token delay and gap between chunks, in ms). */
export const paced = (
  chunks: ReadonlyArray<unknown>,
  firstDelayMs: number,
  delayMs: number,
  headers: Record<string, string> = {}
) => MockUpstream.sse(chunks, { firstDelayMs, delayMs, headers })

/** The first line of output: which mode each provider is in. */
export const describe = (env: Environment): string =>
  `Mode: Kimi ${env.kimi}${env.kimi === "simulated" ? " (no MOONSHOT_API_KEY)" : ""}, GLM ${env.glm}${
    env.glm === "simulated" ? " (no ZAI_API_KEY)" : ""
  }; faults are always simulated`
