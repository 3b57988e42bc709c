/**
 * Starts the built gateway (`apps/gateway/dist/main.js`, as operators run it) once for the whole suite: simulated
 * mode (no provider keys, `CONDUIT_SIMULATE=1`), an ephemeral loopback port, the response cache off (so that every
 * request reaches the simulation), and hands its URL to the test files (`inject("gatewayURL")`).
 *
 * A simulated provider costs nothing (its host is no billing host), so a models.yaml `pricing:` gives the targets
 * their published prices (`publishedPrices`): every answer then carries its cost (`x-conduit-cost`, and the
 * `conduit.cost` extension of a stream's final usage chunk) through every client of the suite.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { TestProject } from "vitest/node"
import * as Gateway from "./gateway.js"
import { publishedPrices } from "./targets.js"

const modelsYaml = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "client-compat-"))
  const file = path.join(dir, "models.yaml")
  const lines = Object.entries(publishedPrices).map(
    ([model, price]) =>
      `  ${model}: { currency: USD, inputPerMillion: ${price.input}, cachedInputPerMillion: ${price.cached}, outputPerMillion: ${price.output} }`
  )
  fs.writeFileSync(file, `pricing:\n${lines.join("\n")}\n`)
  return file
}

declare module "vitest" {
  export interface ProvidedContext {
    gatewayURL: string
  }
}

export default async function setup(project: TestProject) {
  // exactly this environment: never the runner's provider keys, so both providers are simulated
  const gateway = await Gateway.start({
    CONDUIT_SIMULATE: "1",
    CONDUIT_RESPONSE_CACHE: "0",
    CONDUIT_MODELS: modelsYaml()
  })
  project.provide("gatewayURL", gateway.url)
  return gateway.stop
}
