#!/usr/bin/env node
/**
 * The root test command (`npx -y pnpm@10.34.8 test [turbo options]`): makes sure the tests have a `redis-server`,
 * then runs turbo's test task with the options given.
 *
 * The cache, session and gateway suites start their own `redis-server` on a free loopback port. This finds one
 * (`CONDUIT_REDIS_SERVER`, else the PATH); when there is none it installs Debian's
 * `redis-server` package with apt-get as root (or through passwordless sudo), and otherwise stops with the one
 * command to run. It never lets the tests run without one: they would fail one by one, far from the cause.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { runAndExit } from "./build-then-run.mjs"

const isExecutable = (file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK)
    return fs.statSync(file).isFile()
  } catch {
    return false
  }
}

const searchPath = () => (process.env.PATH ?? "").split(path.delimiter).filter(Boolean)

/** The redis-server to use: CONDUIT_REDIS_SERVER when set (it must be executable), else the first on the path. */
const findRedis = () => {
  const configured = process.env.CONDUIT_REDIS_SERVER
  if (configured !== undefined && configured !== "") {
    const resolved = configured.includes("/")
      ? configured
      : searchPath()
          .map((dir) => path.join(dir, configured))
          .find(isExecutable)
    if (resolved !== undefined && isExecutable(resolved)) return { found: path.resolve(resolved) }
    return { misconfigured: `CONDUIT_REDIS_SERVER=${configured} is not an executable redis-server` }
  }
  const found = searchPath()
    .map((dir) => path.join(dir, "redis-server"))
    .find(isExecutable)
  return found === undefined ? {} : { found }
}

const succeeds = (command, args) => spawnSync(command, args, { stdio: "ignore" }).status === 0

/** Installs Debian's redis-server package when this user may; returns false when it cannot. */
const installRedis = () => {
  if (!succeeds("apt-get", ["--version"])) return false
  const asRoot = process.getuid?.() === 0
  if (!asRoot && !succeeds("sudo", ["-n", "true"])) return false
  const prefix = asRoot ? [] : ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive"]
  console.error("redis-server not found: installing Debian's redis-server package (apt-get, about 10 s)")
  const apt = (...args) => {
    const [command, ...rest] = [...prefix, "apt-get", ...args]
    const options = {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    }
    return spawnSync(command, rest, options).status === 0
  }
  apt("update", "-qq") // a failed refresh may still leave usable package lists
  return apt("install", "-y", "-qq", "--no-install-recommends", "redis-server")
}

let redis = findRedis()
if (redis.misconfigured !== undefined) {
  console.error(`${redis.misconfigured}: point it at one, or unset it to use redis-server from the PATH.`)
  process.exit(1)
}
if (redis.found === undefined && installRedis()) {
  redis = findRedis()
  if (redis.found === undefined && isExecutable("/usr/bin/redis-server")) redis = { found: "/usr/bin/redis-server" }
}
if (redis.found === undefined) {
  console.error(
    "The tests need redis-server (the cache, session and gateway suites start their own on a free port) and it is " +
      "not installed. Install it with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or your system's " +
      "package manager, or set CONDUIT_REDIS_SERVER to a redis-server binary; then run the tests again."
  )
  process.exit(1)
}

runAndExit("turbo", ["run", "test", ...process.argv.slice(2)], { CONDUIT_REDIS_SERVER: redis.found })
