// Runs every benchmark under bench/<name>/index.mjs (or only the names given as arguments), one after the other in
// fresh Node processes, then prints one combined table from the JSON files they write to bench/results/<name>.json.
//
// A benchmark writes { name, date, node, cpus, results: [{ metric, value, unit, baseline?, ratio?, target?, met? }] }.
// Every figure that has a target is a ratio against a baseline measured in the same run (these machines are noisy).
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const only = process.argv.slice(2)
const names = fs
  .readdirSync(here)
  .filter((name) => fs.existsSync(path.join(here, name, "index.mjs")))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort()

let failed = false
for (const name of names) {
  console.log(`\n=== bench/${name}`)
  const result = spawnSync(process.execPath, ["--expose-gc", path.join(here, name, "index.mjs")], { stdio: "inherit" })
  if (result.status !== 0) {
    failed = true
    console.error(`bench/${name} exited with ${result.status}`)
  }
}

const rows = []
for (const name of names) {
  const file = path.join(here, "results", `${name}.json`)
  if (!fs.existsSync(file)) continue
  const report = JSON.parse(fs.readFileSync(file, "utf8"))
  for (const r of report.results) rows.push({ bench: name, ...r })
}
const fmt = (v) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(3)) : (v ?? ""))
console.log("\n=== summary")
console.log(["bench", "metric", "value", "unit", "ratio", "target", "met"].join(" | "))
for (const r of rows) {
  console.log(
    [
      r.bench,
      r.metric,
      fmt(r.value),
      r.unit ?? "",
      fmt(r.ratio),
      r.target ?? "",
      r.met === undefined ? "" : r.met ? "yes" : "NO"
    ].join(" | ")
  )
}
fs.writeFileSync(
  path.join(here, "results", "summary.json"),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 2)
)
process.exit(failed ? 1 : 0)
