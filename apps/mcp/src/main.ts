/**
 * Entry point (`npx @conduitkit/mcp`, `conduit-mcp`; in the repository `npx pnpm mcp`).
 *
 * `conduit-mcp` serves MCP over stdio (what desktop clients launch); `conduit-mcp --http` serves Streamable HTTP at
 * `http://HOST:PORT/mcp` (`--host`, `--port` override `HOST`, `PORT`). Everything else is configured like the gateway,
 * with the same variables: provider keys (live), none (simulated while none is live, see `CONDUIT_SIMULATE`),
 * `CONDUIT_MODELS` (models.yaml), `CONDUIT_API_KEYS` (HTTP bearer keys), session limits, rate limits, `REDIS_URL`,
 * and `CONDUIT_MCP_FILE_ROOTS` for `extract_file`. Logs are JSON lines on stderr (stdout carries the protocol over stdio).
 * A startup failure is logged and exits 1; SIGTERM / SIGINT, or the client closing stdin, exit 0.
 */
import { GatewayConfig, Providers } from "@conduitkit/gateway"
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Cause, Effect, Exit, Scope } from "effect"
import * as Http from "./Http.js"
import * as McpServer from "./McpServer.js"

/** The command line: transport and listen address overrides. */
export interface Args {
  readonly http: boolean
  readonly host: string | undefined
  readonly port: number | undefined
}

/** Parses `--http`, `--stdio`, `--host H`, `--port N` (pure); throws a message for anything else. */
export const parseArgs = (argv: ReadonlyArray<string>): Args => {
  let http = false
  let host: string | undefined
  let port: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--http") http = true
    else if (arg === "--stdio") http = false
    else if (arg === "--host" && argv[i + 1] !== undefined) host = argv[++i]
    else if (arg === "--port" && argv[i + 1] !== undefined) {
      port = Number(argv[++i])
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port: expected 0 to 65535`)
    } else throw new Error(`unknown argument ${arg}; usage: conduit-mcp [--stdio | --http [--host H] [--port N]]`)
  }
  return { http, host, port }
}

const stderr = (line: string) => process.stderr.write(`${line}\n`)

const main = async () => {
  const args = parseArgs(process.argv.slice(2))
  const loaded = await Effect.runPromise(
    Effect.gen(function* () {
      const base = yield* GatewayConfig.load
      const config = yield* GatewayConfig.validate({
        ...base,
        ...(args.host !== undefined ? { host: args.host } : {}),
        ...(args.port !== undefined ? { port: args.port } : {})
      })
      return { config, ...(yield* Providers.fromConfig(config)) }
    })
  )
  const { config } = loaded
  const log = args.http ? undefined : stderr
  const scope = await Effect.runPromise(Scope.make())
  await Effect.runPromise(Scope.provide(Providers.startSimulation(loaded.handlers), scope))
  const runner = await McpServer.makeRunner({
    config,
    providers: loaded.entries,
    models: loaded.models,
    status: loaded.status,
    clients: loaded.clients,
    log
  })
  const say = (message: string, fields: Record<string, unknown>) =>
    runner.runtime.runPromise(Effect.logInfo(message).pipe(Effect.annotateLogs(fields)))
  await say(`conduit mcp: ${loaded.status.map((s) => `${s.name} ${s.mode}`).join(", ") || "no providers"}`, {
    providers: Object.fromEntries(loaded.status.map((s) => [s.name, { mode: s.mode, detail: s.detail }]))
  })
  let stop: () => Promise<void>
  if (args.http) {
    const running = await Http.serve(runner, config)
    await say(`listening on ${running.url}`, { url: running.url, auth: config.apiKeys.length > 0 })
    stop = running.close
  } else {
    const server = McpServer.make(runner)
    const transport = new StdioServerTransport()
    transport.onclose = () => void shutdown()
    process.stdin.on("end", () => void shutdown())
    await server.connect(transport)
    stop = () => server.close()
  }
  let stopping = false
  const shutdown = async () => {
    if (stopping) return
    stopping = true
    await stop().catch(() => undefined)
    await runner.dispose().catch(() => undefined)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    process.exit(0)
  }
  process.on("SIGTERM", () => void shutdown())
  process.on("SIGINT", () => void shutdown())
}

main().catch((error: unknown) => {
  const message = Cause.isCause(error)
    ? Cause.pretty(error)
    : typeof error === "object" && error !== null && "message" in error
      ? String(error.message)
      : String(error)
  stderr(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "error",
      msg: `the MCP server could not start: ${message}`
    })
  )
  process.exit(1)
})
