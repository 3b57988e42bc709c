// Loaded into the benchmarked gateway with `node --expose-gc --import bench/gateway/heap-probe.mjs`: on SIGUSR2 it
// runs a full GC and writes process.memoryUsage() as JSON to HEAP_PROBE_FILE. It does nothing else, so the gateway
// runs as operators run it; the benchmark reads the file to check that the heap stays flat across waves.
import * as fs from "node:fs"

process.on("SIGUSR2", () => {
  globalThis.gc?.()
  fs.writeFileSync(process.env.HEAP_PROBE_FILE, JSON.stringify(process.memoryUsage()))
})
