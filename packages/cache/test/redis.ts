/**
 * A raw `redis` client for tests: reads and writes behind the store's back (TTL checks, garbage values, pauses).
 */
import { createClient } from "redis"

const create = (url: string) => createClient({ url, socket: { reconnectStrategy: false } })

export type RawClient = ReturnType<typeof create>

export const rawClient = async (url: string): Promise<RawClient> => {
  const client = create(url)
  client.on("error", () => {})
  await client.connect()
  return client
}

export const connectedClients = async (url: string): Promise<number> => {
  const client = await rawClient(url)
  try {
    const info = await client.info("clients")
    const match = /connected_clients:(\d+)/.exec(info)
    // minus this one
    return Number(match?.[1] ?? "0") - 1
  } finally {
    client.destroy()
  }
}
