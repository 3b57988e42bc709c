// The mock upstream (tooling/mock-upstream) in its own process, driven over IPC by bench/gateway/index.mjs:
// { configure: Behaviour } and { reset: true } are acknowledged with { ok: true }, { totals: true } with the totals.
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const { start } = await import(path.join(root, "tooling/mock-upstream/dist/index.js"))
const mock = await start()
process.on("message", (message) => {
  if (message.configure !== undefined) mock.configure(message.configure)
  if (message.reset === true) mock.reset()
  process.send(message.totals === true ? { totals: mock.totals() } : { ok: true })
})
process.on("disconnect", () => void mock.close().then(() => process.exit(0)))
process.send({ port: mock.port })
