import { Effect } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { BackendPool } from "../backend/BackendPool.ts"

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
