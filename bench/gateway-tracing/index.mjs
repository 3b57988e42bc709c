// bench/gateway-tracing: what tracing costs the gateway, off and on, in one run (see bench/gateway/tracing.mjs for
// the arms and rows). A directory of its own so that `npx pnpm bench` (bench/run.mjs) runs it and puts its rows, from
// bench/results/gateway-tracing.json, in the summary; `npx pnpm bench gateway-tracing` runs it alone.
await import("../gateway/tracing.mjs")
