import type { JSONRPCRequest } from "@modelcontextprotocol/server"
import type { Client } from "../http/Auth.ts"
import * as Namespacing from "../protocol/Namespacing.ts"

/**
 * The server a client's request names, if its method or name says (`everything__echo`,
 * `everything__tools/call`), or the only server of a client with namespacing off. What a backend then sends
 * about a request in flight (its log messages, its questions to the client) belongs with that request.
 */
export const serverNamed = (request: JSONRPCRequest, client: Pick<Client, "namespacing" | "servers">): string | undefined => {
  if (client.namespacing === "off") return client.servers[0]
  const byMethod = Namespacing.split(request.method)
  if (byMethod !== undefined) return byMethod.serverId
  const name = request.params?.["name"]
  return typeof name === "string" ? Namespacing.split(name)?.serverId : undefined
}
