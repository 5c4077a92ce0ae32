/**
 * The gateway as a Node service: `npm start [-- --config FILE]`.
 * Loads the config, starts every backend and the HTTP server, and stops them all on SIGINT/SIGTERM.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Redacted, Runtime } from "effect"
import { HttpServer } from "effect/http"
import * as ConfigLoader from "./config/ConfigLoader.ts"
import * as Gateway from "./Gateway.ts"

/**
 * What a developer needs to start: where the gateway is, its token (only when generated: it exists nowhere
 * else), and three commands that open a session, watch its stream and send it a request.
 */
const welcome = (url: string, source: string, generatedToken: Redacted.Redacted<string> | undefined) => {
  const token = generatedToken === undefined ? "$MCP_GATEWAY_TOKEN" : Redacted.value(generatedToken)
  const auth = `-H "authorization: Bearer ${token}"`
  return [
    `MCP gateway listening on ${url} (config: ${source})`,
    generatedToken === undefined ? "" : `  token for client "dev": ${token}   (set MCP_GATEWAY_TOKEN to choose it)`,
    `  health:  ${url}/healthz    API: ${url}/openapi.json`,
    "  try it:",
    `    S=$(curl -s -X POST ${url}/gateway/stream ${auth} | sed -E 's/.*"session_id":"([^"]+)".*/\\1/')`,
    `    curl -sN ${url}/gateway/stream/$S ${auth} &`,
    `    curl -s ${url}/gateway/stream/$S/request ${auth} -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'`
  ].filter((line) => line !== "").join("\n")
}

const program = Effect.gen(function*() {
  const loaded = yield* ConfigLoader.load(process.argv.slice(2), process.env)
  const banner = Layer.effectDiscard(HttpServer.addressFormattedWith((url) =>
    Console.log(welcome(url, loaded.source, loaded.generatedToken))
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
