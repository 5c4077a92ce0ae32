import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpRouter } from "effect/http"
import { BackendPool } from "./backend/BackendPool.ts"
import { EraCache } from "./backend/EraCache.ts"
import { Watchdog } from "./backend/Watchdog.ts"
import type { Config } from "./config/ConfigSchema.ts"
import { GatewayConfig } from "./config/GatewayConfig.ts"
import { HealthRoute } from "./http/HealthRoute.ts"

/** Every route the gateway serves. */
export const Routes = HealthRoute

/** The backend fleet for a config: the pool and what it needs (watchdog, era cache). */
export const backendsLayer = (config: Config) =>
  BackendPool.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(GatewayConfig.layer(config), Watchdog.layer, EraCache.layer()))
  )

/**
 * The whole gateway as one layer: the fleet and the HTTP server on `listen.host:listen.port`. Closing it
 * stops the server, then every backend (children and their process groups included).
 */
export const layer = (config: Config) =>
  HttpRouter.serve(Routes).pipe(
    Layer.provide(backendsLayer(config)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: config.listen.host,
      port: config.listen.port,
      gracefulShutdownTimeout: "5 seconds"
    }))
  )

