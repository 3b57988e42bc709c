/**
 * A real `redis-server` for tests: started on a free loopback port with persistence off, stopped after.
 *
 * The binary comes from Debian's `redis-server` package (the repository's root test command installs it); set
 * `CONDUIT_REDIS_SERVER` to use another path. A missing binary is a loud failure naming the fix, never a silently skipped test.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as net from "node:net"

/**
 * A running server: `url` is `redis://127.0.0.1:<port>`; `stop()` terminates it (idempotent); `restart()` starts
 * it again on the same port (for "Redis came back" tests).
 *
 * @since 0.1.0
 */
export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly stop: () => Promise<void>
  readonly restart: () => Promise<void>
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject()))
    })
  })

const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" })
    socket.setTimeout(200)
    socket.once("connect", () => socket.write("PING\r\n"))
    socket.once("data", (data) => {
      socket.destroy()
      resolve(data.toString().startsWith("+PONG"))
    })
    socket.once("timeout", () => {
      socket.destroy()
      resolve(false)
    })
    socket.once("error", () => resolve(false))
  })

const launch = async (binary: string, port: number): Promise<ChildProcess> => {
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: "ignore" }
  )
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error) =>
      reject(
        new Error(
          `cannot start ${binary} (${error.message}). Install it with \`apt-get install -y redis-server\` or set CONDUIT_REDIS_SERVER.`
        )
      )
    )
  })
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const ready = await Promise.race([ping(port), failed])
    if (ready) return child
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  child.kill("SIGKILL")
  throw new Error(`${binary} did not answer PING on port ${port} within 10 s`)
}

const terminate = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

/**
 * Starts a fresh server. Use from `beforeAll`, and call `stop` in `afterAll`.
 *
 * @since 0.1.0
 */
export const startRedisServer = async (): Promise<RedisServer> => {
  const binary = process.env.CONDUIT_REDIS_SERVER ?? "redis-server"
  const port = await freePort()
  let child: ChildProcess | undefined = await launch(binary, port)
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child !== undefined) await terminate(child)
      child = undefined
    },
    restart: async () => {
      if (child !== undefined) await terminate(child)
      child = await launch(binary, port)
    }
  }
}
