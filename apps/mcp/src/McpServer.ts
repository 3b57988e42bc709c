/**
 * The MCP server: the official SDK's `Server` (`@modelcontextprotocol/sdk`) with the tools of `Tools`.
 *
 * - `tools/list`: each tool with its `inputSchema` and `outputSchema` (JSON Schema from the tool's Effect Schema).
 * - `tools/call`: the arguments are decoded with the tool's schema (a mismatch is a tool error naming the field), the
 *   tool runs on the engine, the result carries `structuredContent` (encoded with the output schema) and a text
 *   block. Failures are tool errors (`isError: true`) whose text is `{"error":{reason, code, message, status,
 *   retryable, ...}}` (see `Engine.failureOf`); an unknown tool name is a protocol error (`InvalidParams`).
 * - Progress: when the client sends a `progressToken`, streamed chat deltas arrive as `notifications/progress`
 *   (`progress` counts the deltas, `message` is the delta).
 * - Cancellation: `notifications/cancelled` aborts the request's signal, which interrupts the tool's fiber, which
 *   aborts the upstream HTTP request.
 *
 * A `Server` serves one client connection; {@link make} builds one per connection over one shared {@link Runner}.
 */

import { Gateway, GatewayConfig, Log } from "@conduitkit/gateway"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type Tool
} from "@modelcontextprotocol/sdk/types.js"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Schema } from "effect"
import * as Engine from "./Engine.js"
import * as Tools from "./Tools.js"

const { failureOf, ToolError } = Engine

/** Where tool calls run: the engine, and a runtime that has the engine's services. */
export interface Runner {
  readonly engine: Engine.Engine
  readonly tools: ReadonlyArray<Tools.ToolDefinition>
  readonly runtime: ManagedRuntime.ManagedRuntime<never, unknown>
}

/**
 * Builds a runner: the gateway's services for `config` (sessions, rate limits, caches; memory or Redis) and its
 * JSON-lines logger writing to `log` (default stdout; over stdio use stderr, stdout is the protocol), the engine, and
 * the tools (default `Tools.all()`). `dispose` releases the services. As in the gateway, `config`'s rate limits are
 * joined by the limits of models.yaml's `keys:` section (budgets, rpm, tpm per key id; `GatewayConfig.withKeys`).
 */
export const makeRunner = async (
  options: Engine.Options & {
    readonly tools?: ReadonlyArray<Tools.ToolDefinition> | undefined
    readonly log?: ((line: string) => void) | undefined
  }
): Promise<Runner & { readonly dispose: () => Promise<void> }> => {
  const config = GatewayConfig.withKeys(options.config, options.models?.keys)
  const runtime = ManagedRuntime.make(Layer.merge(Gateway.services(config), Log.layer(config.logLevel, options.log)))
  const engine = await runtime.runPromise(Engine.make({ ...options, config }))
  return {
    engine,
    tools: options.tools ?? Tools.all(),
    runtime: runtime as unknown as ManagedRuntime.ManagedRuntime<never, unknown>,
    dispose: () => runtime.dispose()
  }
}

/** The server's name and version in the `initialize` answer. */
export const serverInfo = { name: "conduit", title: "Conduit (Kimi and GLM)", version: "0.1.0" } as const

const jsonSchema = (schema: Schema.Top): Tool["inputSchema"] => {
  const document = Schema.toJsonSchemaDocument(schema)
  const definitions = document.definitions as Record<string, unknown>
  return {
    ...(document.schema as Tool["inputSchema"]),
    ...(Object.keys(definitions).length > 0 ? { $defs: definitions } : {})
  } as Tool["inputSchema"]
}

/** The `tools/list` entries (pure). */
export const listing = (tools: ReadonlyArray<Tools.ToolDefinition>): Array<Tool> =>
  tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.input),
    outputSchema: jsonSchema(tool.output) as Tool["outputSchema"]
  }))

/** A tool error result (pure). */
export const errorResult = (failure: Engine.ToolFailure): CallToolResult => ({
  isError: true,
  content: [{ type: "text", text: JSON.stringify({ error: failure }) }]
})

/** What a connection knows about its caller. */
export interface Caller {
  /** The caller's key id (`anonymous` without authentication). */
  readonly keyId: string
}

/**
 * A server for one connection. `caller` names the client in sessions and rate limits.
 */
export const make = (runner: Runner, caller: Caller = { keyId: "anonymous" }): Server => {
  const server = new Server(serverInfo, {
    capabilities: { tools: { listChanged: false } },
    instructions:
      "Conduit's tools call Moonshot Kimi and Zhipu GLM through one engine (retries, timeouts, fallbacks, sessions). Use 'models' to see the routable names."
  })
  const byName = new Map(runner.tools.map((tool) => [tool.name, tool] as const))
  const tools = listing(runner.tools)
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const tool = byName.get(request.params.name)
    if (tool === undefined) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `Unknown tool '${request.params.name}'. Tools: ${[...byName.keys()].join(", ")}.`
      )
    }
    const token = request.params._meta?.progressToken
    let progress = 0
    const notify =
      token === undefined
        ? undefined
        : (message: string) =>
            Effect.promise(() =>
              extra.sendNotification({
                method: "notifications/progress",
                params: { progressToken: token, progress: ++progress, message }
              })
            ).pipe(Effect.ignore)
    const program = Effect.gen(function* () {
      const input = yield* Schema.decodeUnknownEffect(tool.input)(request.params.arguments ?? {}).pipe(
        Effect.mapError(
          (error) =>
            new ToolError(
              "InvalidRequestError",
              `Invalid arguments for ${tool.name}: ${error.message}`,
              "invalid_arguments"
            )
        )
      )
      const output = yield* tool.run(input, {
        engine: runner.engine,
        keyId: caller.keyId,
        requestId: `mcp_${crypto.randomUUID()}`,
        progress: notify
      })
      const structured = (yield* Schema.encodeUnknownEffect(tool.output)(output)) as Record<string, unknown>
      return {
        content: [{ type: "text", text: tool.render(output) }],
        structuredContent: structured
      } satisfies CallToolResult
    })
    const exit = await runner.runtime.runPromiseExit(program, { signal: extra.signal })
    if (Exit.isSuccess(exit)) return exit.value
    if (Cause.hasInterruptsOnly(exit.cause)) {
      return errorResult({
        reason: "Cancelled",
        code: "cancelled",
        message: "The call was cancelled; the upstream request was aborted.",
        status: 499,
        retryable: false
      })
    }
    const failure = failureOf(exit.cause)
    if (failure.status >= 500 && failure.reason === "server_error") {
      await runner.runtime.runPromise(Effect.logError("tool call failed unexpectedly", exit.cause))
    }
    return errorResult(failure)
  })
  return server
}
