#!/usr/bin/env node
// `npx pnpm demo [...]` from a clone: builds the demo, then runs it (see build-then-run.mjs).
import { buildThenRun } from "./build-then-run.mjs"

buildThenRun("@conduitkit/demo", "apps/demo/dist/main.js")
