import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
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

/** Any other method and path: the same JSON error body as every other failure, never an empty 404. */
export const NotFoundRoute = HttpRouter.add(
  "*",
  "/*",
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return toErrorResponse(new RouteNotFound({ method: request.method, path: request.url.split("?")[0] ?? "" }))
  })
)
