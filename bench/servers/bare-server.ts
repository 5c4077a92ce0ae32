/**
 * The HTTP-edge limit for the session API numbers: a minimal Effect HttpRouter server whose one route answers
 * at once with no backend (`POST /bare` → 202 `{"ok":true}`), served like the gateway (`NodeHttpServer.layer`,
 * `HttpRouter.serve`) but without the per-request logger. Run as its own process by bench/run.ts:
 * `node bench/servers/bare-server.ts` (port from PORT, default 0 = free); prints `bare server listening on <url>`.
 */
import { createServer } from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer, Runtime } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"

const app = HttpRouter.add("POST", "/bare", Effect.succeed(HttpServerResponse.jsonUnsafe({ ok: true }, { status: 202 })))

const banner = Layer.effectDiscard(HttpServer.addressFormattedWith((url) => Console.log(`bare server listening on ${url}`)))

const main = Layer.merge(HttpRouter.serve(app, { disableLogger: true, disableListenLog: true }), banner).pipe(
  Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: Number(process.env.PORT ?? 0) }))
)

// SIGTERM (how the bench stops it) interrupts the server: a normal stop, exit code 0.
NodeRuntime.runMain(Layer.launch(main), {
  teardown: (exit, onExit) => Runtime.defaultTeardown(exit, (code) => onExit(code === 130 ? 0 : code))
})
