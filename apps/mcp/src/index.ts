/**
 * @conduitkit/mcp: an MCP server for Moonshot Kimi and Zhipu GLM on Conduit's engine. Run it with the bin
 * (`conduit-mcp`, stdio; `conduit-mcp --http`, Streamable HTTP), or embed it: `McpServer.makeRunner` builds the engine
 * over the gateway's configuration and providers, `McpServer.make` a server for one connection (connect it to any SDK
 * transport), `Http.serve` the HTTP front door.
 */

/** The `chat` tool's schemas and conversion. */
export * as ChatTool from "./ChatTool.js"
/** The engine tool calls run on, and how failures become tool errors. */
export * as Engine from "./Engine.js"
/** Streamable HTTP at `/mcp`, with bearer keys and sessions. */
export * as Http from "./Http.js"
/** The SDK server with Conduit's tools. */
export * as McpServer from "./McpServer.js"
/** The tools and their schemas. */
export * as Tools from "./Tools.js"
