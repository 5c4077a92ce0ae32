/**
 * The checks the MCP spec asks of a local server against DNS rebinding, before anything else runs: a `Host`
 * that is not this machine (when the gateway listens only on loopback), and an `Origin` that is not allowed. `/mcp`
 * and the session API both run them: a page in a browser can reach either.
 */
import {
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  validateHostHeader,
  validateOriginHeader
} from "@modelcontextprotocol/server"
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import type { ListenConfig } from "../config/ConfigSchema.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import { toErrorResponse } from "./ErrorResponse.ts"
import { RequestRefused } from "./HttpErrors.ts"

const loopback = new Set(["127.0.0.1", "::1", "localhost", "[::1]"])

/**
 * `Host` values already found local. A client sends the same one on every request, and judging it parses a URL
 * (a few µs a call, bench/); only allowed values are kept, at most a few dozen, so no client can grow the set.
 */
const localHosts = new Set<string>()
const maxLocalHosts = 64

export const isLoopback = (host: string): boolean => loopback.has(host) || host.startsWith("127.")

/** Why a request is refused, or undefined when it may go on. */
export const refusal = (
  listen: ListenConfig,
  headers: { readonly host?: string | undefined; readonly origin?: string | undefined }
): string | undefined => {
  if (isLoopback(listen.host) && (headers.host === undefined || !localHosts.has(headers.host))) {
    const host = validateHostHeader(headers.host, localhostAllowedHostnames())
    if (!host.ok) return `Host not allowed: ${host.message}`
    if (localHosts.size < maxLocalHosts) localHosts.add(headers.host!)
  }
  if (headers.origin === undefined) return undefined
  if (listen.allowedOrigins !== undefined) {
    return listen.allowedOrigins.includes(headers.origin) ? undefined : "Origin not allowed"
  }
  // No list: pages served from this machine may call a loopback gateway; no other page may.
  if (!isLoopback(listen.host)) return "Origin not allowed (no listen.allowedOrigins configured)"
  const origin = validateOriginHeader(headers.origin, localhostAllowedOrigins())
  return origin.ok ? undefined : "Origin not allowed"
}

/**
 * Route middleware: `refusal`, before anything else (authentication included) runs, answered as 403 `forbidden`.
 * Apply it with `Layer.provide(RebindingGuard.layer)` on a route layer.
 */
export const RebindingGuard = HttpRouter.middleware()(
  Effect.gen(function*() {
    const { listen } = yield* GatewayConfig
    return (httpEffect) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const refused = refusal(listen, { host: request.headers["host"], origin: request.headers["origin"] })
        return refused === undefined ? httpEffect : Effect.succeed(toErrorResponse(new RequestRefused({ reason: refused })))
      })
  })
)
