/**
 * The gateway as a Node service: `npm start [-- --config FILE]`.
 * Loads the config, starts every backend and the HTTP server, and stops them all on SIGINT/SIGTERM.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Redacted, Runtime } from "effect"
import { HttpServer } from "effect/http"
import * as ConfigLoader from "./config/ConfigLoader.ts"
import * as Gateway from "./Gateway.ts"

const program = Effect.gen(function*() {
  const loaded = yield* ConfigLoader.load(process.argv.slice(2), process.env)
  const banner = Layer.effectDiscard(HttpServer.addressFormattedWith((url) =>
    Effect.gen(function*() {
      yield* Console.log(`MCP gateway listening on ${url} (config: ${loaded.source})`)
      yield* Console.log(`  health:  ${url}/healthz`)
      if (loaded.generatedToken !== undefined) {
        // Shown once, on purpose: the development client's token exists nowhere else.
        yield* Console.log(`  token for client "dev": ${Redacted.value(loaded.generatedToken)}`)
        yield* Console.log(`  (set MCP_GATEWAY_TOKEN to choose it)`)
      }
    })
  ))
  return yield* Layer.launch(banner.pipe(Layer.provideMerge(Gateway.layer(loaded.config))))
}).pipe(
  // A bad config is the user's to fix: list the problems, no stack trace, exit code 1.
  Effect.catchTag("ConfigError", (error) =>
    Console.error(error.message).pipe(Effect.andThen(Effect.sync(() => process.exit(1)))))
)

NodeRuntime.runMain(program, {
  // SIGINT/SIGTERM interrupt the program: that is the normal way to stop a service, so it exits 0.
  teardown: (exit, onExit) => Runtime.defaultTeardown(exit, (code) => onExit(code === 130 ? 0 : code))
})
