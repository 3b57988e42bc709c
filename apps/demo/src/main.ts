import { createRequire } from "node:module"

const require = createRequire(import.meta.url)
const packages = [
  "@conduit-llm/core",
  "@conduit-llm/provider-kimi",
  "@conduit-llm/provider-glm",
  "@conduit-llm/cache",
  "@conduit-llm/session"
]
console.log("Conduit demo: wired packages")
for (const name of packages) {
  const manifest = require(`${name}/package.json`) as { version: string }
  console.log(`  ${name.padEnd(28)} ${manifest.version}`)
}
