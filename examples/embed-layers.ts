/**
 * Example: the gateway inside your own Effect app. Its layers are ordinary layers:
 *
 * - `Gateway.servicesLayer(config)`: the backend fleet and the session manager, no HTTP at all. Your code opens
 *   sessions and talks to every MCP server through them.
 * - `Gateway.serve(config)`: the same plus the gateway's routes, on an `HttpServer` you provide, next to your own
 *   routes (`Gateway.layer(config)` adds a Node HTTP server on the config's `listen`).
 *
 *   npx node examples/embed-layers.ts
 *
 * Everything the layers start (backend processes, sessions, fibers) stops when the program's scope closes.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Effect, Fiber, Option, Stream } from "effect"
import * as ConfigLoader from "../src/config/ConfigLoader.ts"
import * as Gateway from "../src/Gateway.ts"
import { SessionManager } from "../src/session/SessionManager.ts"

/** A config as the gateway reads it from a file: here, server-everything run through npx-free `node`. */
export const configFile = (everything: { readonly command: string; readonly args: ReadonlyArray<string> }) => ({
  mcpServers: { everything: { command: everything.command, args: [...everything.args] } },
  clients: { app: { token: "not-used-without-http", servers: "*" } }
})

/** Opens a session as the client `app`, calls a tool, and returns what the backend answered. */
export const echoThroughSession = Effect.gen(function*() {
  const sessions = yield* SessionManager
  const { session, servers } = yield* sessions.create({ id: "app", servers: ["everything"], namespacing: "on" }, undefined)
  // Answers arrive on the session's event stream, matched by the JSON-RPC id.
  const answer = yield* session.stream(undefined).pipe(
    Stream.filter((event) => event.event === "response"),
    Stream.runHead,
    Effect.forkChild({ startImmediately: true })
  )
  yield* session.submit({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name: "everything__echo", arguments: { message: "hello from an embedding app" } }
  })
  const event = yield* Fiber.join(answer)
  yield* session.close("client")
  return {
    servers: servers.map((server) => `${server.id}: ${server.status}`),
    response: Option.getOrUndefined(event)?.data.response
  }
})

/** The whole example: decode a config, run the gateway's services for as long as the effect needs them. */
export const program = (file: unknown) =>
  Effect.gen(function*() {
    const config = yield* ConfigLoader.decode(file, { source: "example", env: process.env })
    return yield* echoThroughSession.pipe(Effect.provide(Gateway.servicesLayer(config)))
  })

/** server-everything from node_modules, run on this Node. */
export const everythingServer = () => {
  const require = createRequire(import.meta.url)
  const manifest = require.resolve("@modelcontextprotocol/server-everything/package.json")
  const bin = (require(manifest) as { bin: Record<string, string> }).bin["mcp-server-everything"] ?? "dist/index.js"
  return { command: process.execPath, args: [join(dirname(manifest), bin), "stdio"] }
}

if (import.meta.main) {
  NodeRuntime.runMain(program(configFile(everythingServer())).pipe(Effect.tap((result) => Effect.log(JSON.stringify(result)))))
}
