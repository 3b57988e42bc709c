#!/usr/bin/env node
// `npx pnpm mcp [...]` from a clone: builds the MCP server, then runs it (see build-then-run.mjs); over stdio, stdout
// carries only the protocol.
import { buildThenRun } from "./build-then-run.mjs"

buildThenRun("@conduitkit/mcp", "apps/mcp/dist/main.js")
