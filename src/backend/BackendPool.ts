import { Context, Duration, Effect, Layer, Ref, Scope } from "effect"
import type { ServerConfig } from "../config/ConfigSchema.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import * as Backend from "./Backend.ts"
import { UnknownServer } from "./BackendErrors.ts"
import type { Endpoint } from "./Connection.ts"
import { EraCache } from "./EraCache.ts"
import { Watchdog } from "./Watchdog.ts"

/** One entry of `/healthz`: a shared backend's health, or how many sessions hold a per-session one. */
export type ServerHealth =
  | (Backend.Health & { readonly isolation: "shared" })
  | { readonly serverId: string; readonly isolation: "session"; readonly instances: number }

export const endpointOf = (server: ServerConfig): Endpoint =>
  server.kind === "stdio"
    ? { kind: "stdio", command: server.command, args: server.args, env: server.env, cwd: server.cwd }
    : { kind: server.transport, url: server.url, headers: server.headers }

/**
 * Owns every backend of the configured fleet. A `shared` server has one connection (or process) for the
 * whole gateway, started with the pool and stopped with it; a `session` server gets a fresh instance per
 * caller, living in the caller's scope (a session's), for stateful servers that must not mix clients.
 */
export class BackendPool extends Context.Service<BackendPool, {
  readonly serverIds: ReadonlyArray<string>
  /** The shared backends, by server id (started with the pool; `isolation: "session"` servers are not here). */
  readonly shared: ReadonlyMap<string, Backend.Backend>
  /** The backend a session should use for `serverId`: the shared one, or a new one in the caller's scope. */
  readonly acquire: (serverId: string) => Effect.Effect<Backend.Backend, UnknownServer, Scope.Scope>
  readonly health: Effect.Effect<ReadonlyArray<ServerHealth>>
}>()("mcp-gateway/backend/BackendPool") {
  static readonly layer = Layer.effect(
    BackendPool,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const tracker = yield* Watchdog
      const eras = yield* EraCache
      const make = (serverId: string, server: ServerConfig) =>
        Backend.make({
          serverId,
          endpoint: endpointOf(server),
          requestTimeout: Duration.seconds(server.requestTimeoutSeconds ?? config.streaming.requestTimeoutSeconds),
          tracker,
          exclusive: server.isolation === "session"
        }).pipe(Effect.provideService(EraCache, eras), Effect.annotateLogs({ serverId }))

      const servers = Object.entries(config.mcpServers)
      // Every shared backend starts now, side by side: `make` only forks its supervisor.
      const shared = new Map<string, Backend.Backend>()
      for (const [serverId, server] of servers) {
        if (server.isolation === "shared") shared.set(serverId, yield* make(serverId, server))
      }
      const instances = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
      const count = (serverId: string, delta: number) =>
        Ref.update(instances, (map) => new Map(map).set(serverId, (map.get(serverId) ?? 0) + delta))

      const acquire = Effect.fnUntraced(function*(serverId: string) {
        const backend = shared.get(serverId)
        if (backend !== undefined) return backend
        const server = Object.hasOwn(config.mcpServers, serverId) ? config.mcpServers[serverId] : undefined
        if (server === undefined) return yield* new UnknownServer({ serverId })
        yield* Effect.acquireRelease(count(serverId, 1), () => count(serverId, -1))
        return yield* make(serverId, server)
      })

      const health = Effect.gen(function*() {
        const counts = yield* Ref.get(instances)
        const out: Array<ServerHealth> = []
        for (const [serverId, server] of servers) {
          const backend = shared.get(serverId)
          if (server.isolation === "session" || backend === undefined) {
            out.push({ serverId, isolation: "session", instances: counts.get(serverId) ?? 0 })
          } else {
            out.push({ ...(yield* backend.health), isolation: "shared" })
          }
        }
        return out
      })

      return BackendPool.of({ serverIds: servers.map(([id]) => id), shared, acquire, health })
    })
  )
}
