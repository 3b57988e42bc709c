#!/usr/bin/env node
/**
 * The `conduit-gateway` command (`npx @conduitkit/gateway`): stops at once on a Node older than the one this package needs
 * (22.12: its dependencies use what older versions lack), naming the version, then runs `main.js`.
 *
 * Only a dynamic import follows the check, so nothing else is loaded on an older Node.
 */
const required = [22, 12] as const
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
if (major < required[0] || (major === required[0] && minor < required[1])) {
  process.stderr.write(
    `@conduitkit/gateway needs Node >= ${required.join(".")}; this is Node ${process.versions.node}. ` +
      "Install a current Node (https://nodejs.org/) and run it again.\n"
  )
  process.exit(1)
}
await import("./main.js")

export {}
