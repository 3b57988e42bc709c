#!/usr/bin/env node
// `npx pnpm gateway` from a clone: builds the gateway, then runs it (see build-then-run.mjs).
import { buildThenRun } from "./build-then-run.mjs"

buildThenRun("@conduitkit/gateway", "apps/gateway/dist/main.js")
