/**
 * The gateway exactly as src/main.ts starts it (same config loading, same `Gateway.layer`), but with the
 * minimum log level at Warning: no "Sent HTTP response" line per request. Only for the bench row that shows
 * what the per-request log costs; every other gateway row runs src/main.ts itself.
 * Usage: node bench/servers/quiet-gateway.ts --config FILE (PORT overrides the port); prints
 * `MCP gateway listening on <url>`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, References, Runtime } from "effect"
import { HttpServer } from "effect/http"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import * as Gateway from "../../src/Gateway.ts"

const program = Effect.gen(function*() {
  const loaded = yield* ConfigLoader.load(process.argv.slice(2), process.env)
  const banner = Layer.effectDiscard(HttpServer.addressFormattedWith((url) => Console.log(`MCP gateway listening on ${url} (info logs off)`)))
  return yield* Layer.launch(banner.pipe(Layer.provideMerge(Gateway.layer(loaded.config))))
}).pipe(Effect.provideService(References.MinimumLogLevel, "Warn"))

NodeRuntime.runMain(program, {
  teardown: (exit, onExit) => Runtime.defaultTeardown(exit, (code) => onExit(code === 130 ? 0 : code))
})
