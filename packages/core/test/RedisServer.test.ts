import * as net from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as RedisServer from "../src/testing/RedisServer.js"

const command = (port: number, line: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.write(`${line}\r\n`))
    socket.once("data", (data) => {
      socket.destroy()
      resolve(data.toString())
    })
    socket.once("error", reject)
  })

describe("RedisServer", () => {
  let server: RedisServer.RedisServer
  beforeAll(async () => {
    server = await RedisServer.startRedisServer()
  })
  afterAll(() => server.stop())

  it("answers on its port, forgets everything on restart, and is gone after stop", async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`)
    expect(await command(server.port, "SET k v")).toBe("+OK\r\n")
    await server.restart()
    expect(await command(server.port, "GET k")).toBe("$-1\r\n")
    await server.stop()
    await expect(command(server.port, "PING")).rejects.toThrow()
  })
})
