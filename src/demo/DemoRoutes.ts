import { Duration, Effect, Exit, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { toErrorResponse } from "../http/ErrorResponse.ts"
import * as DemoBundle from "./DemoBundle.ts"
import type { DemoBuildFailed } from "./DemoErrors.ts"
import * as DemoPage from "./DemoPage.ts"

const pageHeaders = {
  "content-security-policy": DemoPage.contentSecurityPolicy,
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff"
}

const scriptHeaders = { "cache-control": "no-cache", "x-content-type-options": "nosniff" }

/**
 * A script that could not be built is the gateway's fault but not a bug to hide behind a bare 500: the log gets
 * esbuild's report, the client a 503 (`toErrorResponse`) with the message alone.
 */
const unavailable = (error: DemoBuildFailed) =>
  Effect.logError("GET /demo/app.js: bundling the demo page's script failed", error.detail).pipe(
    Effect.as(HttpServerResponse.setHeader(toErrorResponse(error), "cache-control", "no-store"))
  )

/**
 * `GET /demo` (the page) and `GET /demo/app.js` (its script, bundled by `build`). Public: the page asks for the
 * token and sends it with the session API's requests, which check it.
 *
 * The script is built on its first request, not at start (a gateway that never serves the page never runs
 * esbuild), then served from memory; concurrent first requests share one build. A failed build is not kept:
 * the next request tries again.
 */
export const make = (build: Effect.Effect<string, DemoBuildFailed>) =>
  HttpRouter.use((router) =>
    Effect.gen(function*() {
      const script = yield* Effect.cachedWithTTL(
        build,
        (exit) => Exit.isSuccess(exit) ? Duration.infinity : Duration.zero
      )
      yield* router.add(
        "GET",
        "/demo",
        HttpServerResponse.text(DemoPage.page, { contentType: "text/html; charset=utf-8", headers: pageHeaders })
      )
      yield* router.add(
        "GET",
        "/demo/app.js",
        script.pipe(
          Effect.map((code) =>
            HttpServerResponse.text(code, { contentType: "text/javascript; charset=utf-8", headers: scriptHeaders })
          ),
          Effect.catchTag("DemoBuildFailed", unavailable)
        )
      )
    })
  )

/** The demo's routes with the real bundle; esbuild's service process ends with them. */
export const DemoRoutes = make(DemoBundle.build).pipe(
  Layer.merge(Layer.effectDiscard(Effect.addFinalizer(() => DemoBundle.stop)))
)
