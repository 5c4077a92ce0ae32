import * as crypto from "node:crypto"
import * as net from "node:net"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Schema } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import { GatewayConfig } from "../../src/config/GatewayConfig.ts"
import { Auth, Authenticator, CurrentClient } from "../../src/http/Auth.ts"
import { withErrorResponses } from "../../src/http/ErrorResponse.ts"
import { readJson } from "../../src/http/JsonBody.ts"

export const aliceToken = "alice-token-0123456789"
export const ciToken = "ci-token-9876543210"
export const sha256Hex = (text: string) => crypto.createHash("sha256").update(text).digest("hex")

/** Two servers, a plain-token client, a hashed-token client and (optionally) an anonymous one. */
export const configFile = (options: { readonly anonymous: boolean }): ConfigFile => ({
  mcpServers: {
    everything: { command: "npx", args: ["-y", "@modelcontextprotocol/server-everything"] },
    remote: { url: "https://example.test/mcp" }
  },
  clients: {
    alice: { token: aliceToken, servers: ["everything"], deferredLoading: true },
    // Upper-case hex: the config decoder lowercases it, and it must still match.
    ci: { tokenSha256: sha256Hex(ciToken).toUpperCase(), servers: "*" },
    ...(options.anonymous ? { local: { anonymous: true, servers: ["everything"], namespacing: "off" as const } } : {})
  }
})

/** GatewayConfig decoded by the config module itself (shape, cross-field rules, defaults). */
export const configLayer = (file: ConfigFile) =>
  Layer.effect(GatewayConfig, ConfigLoader.decode(file, { source: "test config", env: {} }).pipe(Effect.orDie))

export const EchoBody = Schema.Struct({ servers: Schema.Array(Schema.String), note: Schema.optional(Schema.String) })

/** The limit of `POST /echo`, small so tests can pass it cheaply. */
export const echoLimit = 64

// `POST /echo`: optional body of at most `echoLimit` bytes. `POST /strict`: required body, default limit.
// Both answer with the authenticated client and what they decoded.
const EchoRoutes = Layer.mergeAll(
  HttpRouter.add(
    "POST",
    "/echo",
    Effect.gen(function*() {
      const client = yield* CurrentClient
      const body = yield* readJson(EchoBody, { maxBytes: echoLimit, optional: true })
      return HttpServerResponse.jsonUnsafe({ client, body: body ?? null })
    }).pipe(withErrorResponses)
  ),
  HttpRouter.add(
    "POST",
    "/strict",
    Effect.gen(function*() {
      const client = yield* CurrentClient
      const body = yield* readJson(EchoBody)
      return HttpServerResponse.jsonUnsafe({ client, body })
    }).pipe(withErrorResponses)
  ),
  HttpRouter.add(
    "GET",
    "/whoami",
    Effect.gen(function*() {
      return HttpServerResponse.jsonUnsafe({ client: yield* CurrentClient })
    })
  )
).pipe(Layer.provide(Auth.layer))

// Without Auth: a handler with a bug, to see what a defect answers.
const DefectRoute = HttpRouter.add(
  "GET",
  "/defect",
  Effect.die(new Error("secret internals at /etc/gateway/config.json")).pipe(withErrorResponses)
)

/** A real server on a free port, with an HttpClient pointed at it. */
export const testServer = (options: { readonly anonymous: boolean }) =>
  HttpRouter.serve(Layer.mergeAll(EchoRoutes, DefectRoute), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provide(Authenticator.layer),
    Layer.provide(configLayer(configFile(options))),
    Layer.provideMerge(NodeHttpServer.layerTest)
  )

export interface RawResponse {
  readonly status: number
  readonly head: string
  readonly body: string
}

/**
 * Sends raw bytes to the test server and reads one response, so a test can send what fetch will not: a
 * content-length the body never reaches, or chunks of its own choosing. Each of `parts` is written in turn.
 */
export const rawRequest = (parts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    if (!("port" in address)) return yield* Effect.die(new Error("the test server has no TCP port"))
    return yield* Effect.callback<RawResponse, Error>((resume) => {
      const socket = net.connect(address.port, "127.0.0.1")
      let received = Buffer.alloc(0)
      const finish = (effect: Effect.Effect<RawResponse, Error>) => {
        socket.destroy()
        resume(effect)
      }
      socket.on("connect", () => {
        for (const part of parts) socket.write(part)
      })
      socket.on("data", (chunk: Buffer) => {
        received = Buffer.concat([received, chunk])
        const text = received.toString("utf8")
        const end = text.indexOf("\r\n\r\n")
        if (end === -1) return
        const head = text.slice(0, end)
        const length = /^content-length: *(\d+)$/im.exec(head)?.[1]
        const body = text.slice(end + 4)
        if (length !== undefined && Buffer.byteLength(body) < Number(length)) return
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
        finish(Effect.succeed({ status, head, body }))
      })
      socket.on("error", (error) => finish(Effect.fail(error)))
      return Effect.sync(() => socket.destroy())
    })
  })
