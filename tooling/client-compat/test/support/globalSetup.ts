/**
 * Starts the built gateway (`apps/gateway/dist/main.js`, as operators run it) once for the whole suite: simulated
 * mode (no provider keys, `CONDUIT_SIMULATE=1`), an ephemeral loopback port, the response cache off (so that every
 * request reaches the simulation), and hands its URL to the test files (`inject("gatewayURL")`).
 */
import type { TestProject } from "vitest/node"
import * as Gateway from "./gateway.js"

declare module "vitest" {
  export interface ProvidedContext {
    gatewayURL: string
  }
}

export default async function setup(project: TestProject) {
  // exactly this environment: never the runner's provider keys, so both providers are simulated
  const gateway = await Gateway.start({ CONDUIT_SIMULATE: "1", CONDUIT_RESPONSE_CACHE: "0" })
  project.provide("gatewayURL", gateway.url)
  return gateway.stop
}
