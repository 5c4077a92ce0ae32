import { Context, Layer } from "effect"
import type { Config } from "./ConfigSchema.ts"

/** The decoded, validated config of the running gateway. */
export class GatewayConfig extends Context.Service<GatewayConfig, Config>()("mcp-gateway/config/GatewayConfig") {
  static layer(config: Config): Layer.Layer<GatewayConfig> {
    return Layer.succeed(GatewayConfig, config)
  }
}

/**
 * The server ids a client may use, "*" resolved to every configured server. An unknown client gets none,
 * so callers can answer "forbidden" without first asking whether the client exists.
 */
export const allowedServers = (config: Config, clientId: string): ReadonlyArray<string> => {
  const client = Object.hasOwn(config.clients, clientId) ? config.clients[clientId] : undefined
  if (client === undefined) return []
  if (client.servers === "*") return Object.keys(config.mcpServers)
  return [...new Set(client.servers)]
}
