import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import { BackendPool } from "./backend/BackendPool.ts"
import { EraCache } from "./backend/EraCache.ts"
import { Watchdog } from "./backend/Watchdog.ts"
import type { Config } from "./config/ConfigSchema.ts"
import { GatewayConfig } from "./config/GatewayConfig.ts"
import { DemoRoutes } from "./demo/DemoRoutes.ts"
import { Authenticator } from "./http/Auth.ts"
import { isLoopback } from "./http/Guards.ts"
import { HealthRoute, NotFoundRoute } from "./http/HealthRoute.ts"
import { OpenApiRoute } from "./http/OpenApi.ts"
import { SessionRoutes } from "./http/SessionRoutes.ts"
import { LegacySessions } from "./mcp/LegacySessions.ts"
import { McpRoute } from "./mcp/McpRoute.ts"
import { ModernRequests } from "./mcp/ModernRequests.ts"
import { ToolCatalog } from "./search/ToolCatalog.ts"
import { SessionManager } from "./session/SessionManager.ts"

/** Every route the gateway serves. */
export const Routes = Layer.mergeAll(HealthRoute, OpenApiRoute, SessionRoutes, McpRoute, DemoRoutes, NotFoundRoute)

/** The backend fleet for a config: the pool and what it needs (watchdog, era cache). */
export const backendsLayer = (config: Config) =>
  BackendPool.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(GatewayConfig.layer(config), Watchdog.layer, EraCache.layer()))
  )

/** What the routes use: sessions over the fleet (and its tool catalog), and the authenticator. */
export const servicesLayer = (config: Config) =>
  Layer.mergeAll(LegacySessions.layer, ModernRequests.layer).pipe(
    Layer.provideMerge(Layer.mergeAll(SessionManager.layer, Authenticator.layer)),
    Layer.provideMerge(ToolCatalog.layer),
    Layer.provideMerge(backendsLayer(config))
  )

/**
 * Stopping: sessions end first (each stream gets `closed { reason: "shutdown" }` and finishes), then the HTTP
 * server closes with no stream left to wait for, then the backends. Needing the server makes this layer
 * start after it, so it stops before it.
 */
const CloseSessionsFirst = Layer.effectDiscard(Effect.gen(function*() {
  yield* HttpServer.HttpServer
  const sessions = yield* SessionManager
  yield* Effect.addFinalizer(() => sessions.closeAll("shutdown"))
}))

/**
 * Off loopback with no `listen.allowedOrigins`, every request from a browser page is refused (DNS-rebinding guard):
 * said once at start, since `/demo` on such a bind is the first to find out.
 */
const WarnOfNoOrigins = Layer.effectDiscard(Effect.gen(function*() {
  const { listen } = yield* GatewayConfig
  if (isLoopback(listen.host) || listen.allowedOrigins !== undefined) return
  yield* Effect.logWarning(
    `listening on ${listen.host} with no listen.allowedOrigins: requests from browser pages (/demo included) are refused; ` +
      "list the origins that may call the gateway"
  )
}))

/** The routes on an `HttpServer` the caller provides (a Node server, a test server); its services stay reachable. */
export const serve = (config: Config) =>
  // No access log line per request: at thousands of calls a second it cost a tenth of the CPU (bench/), and
  // errors are logged where they happen.
  Layer.mergeAll(HttpRouter.serve(Routes, { disableLogger: true }), CloseSessionsFirst, WarnOfNoOrigins).pipe(
    Layer.provideMerge(servicesLayer(config))
  )

/** The whole gateway as one layer on `listen.host:listen.port`. */
export const layer = (config: Config) =>
  serve(config).pipe(
    Layer.provideMerge(NodeHttpServer.layer(createServer, {
      host: config.listen.host,
      port: config.listen.port,
      gracefulShutdownTimeout: "5 seconds"
    }))
  )
