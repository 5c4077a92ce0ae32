import { Cause, Effect } from "effect"
import { HttpRouter, HttpServerError, HttpServerResponse } from "effect/http"
import { BackendPool } from "../backend/BackendPool.ts"
import { toErrorResponse } from "./ErrorResponse.ts"
import { RouteNotFound } from "./HttpErrors.ts"

/**
 * `GET /healthz`: the gateway answers, and says how each backend is doing. Always 200 while the gateway
 * runs (one failed backend does not make the others unusable); `status` is "ok" only when every shared
 * backend is ready, "degraded" otherwise. No config values appear (they may hold secrets).
 */
export const HealthRoute = HttpRouter.add(
  "GET",
  "/healthz",
  Effect.gen(function*() {
    const backends = yield* (yield* BackendPool).health
    const ready = backends.every((backend) => backend.isolation === "session" || backend.state === "ready")
    return HttpServerResponse.jsonUnsafe(
      { status: ready ? "ok" : "degraded", backends },
      { headers: { "cache-control": "no-store" } }
    )
  })
)

/**
 * Any other method and path, including a path that cannot be decoded (`/%ZZ`, which the router finds no route
 * for): the same JSON error body as every other failure, never an empty 404.
 */
export const NotFoundRoute = HttpRouter.middleware(
  (httpEffect) =>
    Effect.catchCause(httpEffect, (cause) => {
      const error = Cause.squash(cause)
      if (!HttpServerError.isHttpServerError(error) || error.reason._tag !== "RouteNotFound") return Effect.failCause(cause)
      const request = error.reason.request
      return Effect.succeed(toErrorResponse(new RouteNotFound({ method: request.method, path: request.url.split("?")[0] ?? "" })))
    }),
  { global: true }
)
