/**
 * Test support: the shipped providers in simulated mode (each provider's own MSW mock, as `main` runs them), a
 * runner over them, and the MCP SDK's own client.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ModelsConfig, OpenAiCompatProvider, ProviderRegistry } from "@conduitkit/core"
import { GatewayConfig, Providers } from "@conduitkit/gateway"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { Redacted } from "effect"
import * as McpServer from "../src/McpServer.js"
import * as Tools from "../src/Tools.js"

/** The real fetch, captured before any MSW server patches the global one. */
export const realFetch: typeof globalThis.fetch = globalThis.fetch.bind(globalThis)

/** A provider module connected to its simulation's address, with its client. */
export const simulated = (module: Providers.ProviderModule) => {
  const simulation = module.simulation!
  const connection = module.connect({ apiKey: Redacted.make(simulation.apiKey), baseURL: simulation.baseURL })
  return { simulation, client: connection.client, entry: Providers.entry(module, connection, "simulated") }
}

/** A directory for `extract_file` with one text file in it; removed by `cleanup`. */
export const fileRoot = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conduit-mcp-"))
  const file = path.join(dir, "notes.txt")
  fs.writeFileSync(file, "Conduit routes Kimi and GLM.\n")
  return { dir, file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/** A runner over the given entries (default: both shipped providers, simulated), logging into `logs`. */
export const runner = (options: {
  readonly entries: ReadonlyArray<ProviderRegistry.ProviderEntry>
  readonly clients: ReadonlyMap<string, OpenAiCompatProvider.ProviderClient>
  readonly roots: ReadonlyArray<string>
  readonly config?: Partial<GatewayConfig.GatewayConfig>
  readonly models?: ModelsConfig.ModelsConfig
  readonly logs?: Array<string>
}) =>
  McpServer.makeRunner({
    config: GatewayConfig.make({ port: 0, ...options.config }),
    models: options.models,
    providers: options.entries,
    clients: options.clients,
    tools: Tools.all(options.roots),
    log: (line) => options.logs?.push(line)
  })

/** The SDK client. */
export const newClient = () => new Client({ name: "conduit-test", version: "0.0.0" })

/** The text of a tool result's first content block. */
export const textOf = (result: object): string => {
  const first = (
    (result as { content?: unknown }).content as ReadonlyArray<{ type: string; text?: string }> | undefined
  )?.[0]
  return first?.type === "text" ? (first.text ?? "") : ""
}

/** The parsed error of a tool error result. */
export const errorOf = (result: object) => {
  if ((result as { isError?: unknown }).isError !== true)
    throw new Error(`expected a tool error, got ${textOf(result)}`)
  return (JSON.parse(textOf(result)) as { error: Record<string, unknown> }).error
}

/**
 * Polls `check` every 20 ms until it holds or `timeoutMs` passes (by default 30 s, for a loaded 2-core machine running
 * every suite at once: the deadline only costs time when the check never holds, i.e. when the test fails).
 */
export const eventually = async (check: () => boolean, timeoutMs = 30_000): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return check()
}
