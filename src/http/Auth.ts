import * as crypto from "node:crypto"
import { Context, Effect, Layer, Redacted } from "effect"
import { HttpRouter, HttpServerRequest } from "effect/http"
import { allowedServers, GatewayConfig } from "../config/GatewayConfig.ts"
import { toErrorResponse } from "./ErrorResponse.ts"
import { Unauthorized } from "./HttpErrors.ts"

/** Who is making the request, resolved from config once at authentication. */
export interface Client {
  readonly id: string
  /** The server ids this client may use, `"*"` already resolved to every configured server. */
  readonly servers: ReadonlyArray<string>
  readonly namespacing: "on" | "off"
  readonly deferredLoading: boolean
}

/** The authenticated client of the current request; provided to routes by the `Auth` middleware. */
export class CurrentClient extends Context.Service<CurrentClient, Client>()("mcp-gateway/http/CurrentClient") {}

interface Credential {
  readonly client: Client
  readonly digest: Buffer
}

const sha256 = (text: string): Buffer => crypto.hash("sha256", text, "buffer")

// RFC 6750 §2.1: `Bearer` (any case, RFC 9110 §11.1), spaces, then the token. The token is not held to
// token68's characters, because config accepts any non-empty token and such a token must still work.

const bearer = /^\s*Bearer[ \t]+(\S(?:.*\S)?)\s*$/i

/** Finds the client a request acts as, from its `Authorization` header. */
export class Authenticator extends Context.Service<Authenticator, {
  /**
   * No header: the anonymous client if one is configured, else Unauthorized. A header that is not a
   * well-formed bearer token, or a token no client has, is Unauthorized: never the anonymous client.
   */
  readonly authenticate: (authorization: string | undefined) => Effect.Effect<Client, Unauthorized>
}>()("mcp-gateway/http/Authenticator") {
  static readonly layer = Layer.effect(
    Authenticator,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const credentials: Array<Credential> = []
      let anonymous: Client | undefined
      for (const [id, entry] of Object.entries(config.clients)) {
        const client: Client = {
          id,
          servers: allowedServers(config, id),
          namespacing: entry.namespacing,
          deferredLoading: entry.deferredLoading
        }
        // Plain tokens are kept only as digests, so every comparison is between two 32-byte values
        // whatever the tokens' lengths, and timingSafeEqual never sees (or leaks) a length difference.
        if (entry.token !== undefined) credentials.push({ client, digest: sha256(Redacted.value(entry.token)) })
        else if (entry.tokenSha256 !== undefined) {
          credentials.push({ client, digest: Buffer.from(entry.tokenSha256, "hex") })
        } else if (entry.anonymous) anonymous = client
      }

      const authenticate = Effect.fnUntraced(function*(authorization: string | undefined) {
        if (authorization === undefined) {
          if (anonymous === undefined) return yield* new Unauthorized()
          return anonymous
        }
        // Every request's token is hashed and compared in constant time (about 2 µs): a cache of accepted headers
        // would be looked up by the token itself, in a time that depends on it.
        const token = bearer.exec(authorization)?.[1]
        if (token === undefined) return yield* new Unauthorized()
        const presented = sha256(token)
        // Compare with every client, without stopping at a match: the time taken says neither which
        // client matched nor whether any did.
        let found: Client | undefined
        for (const credential of credentials) {
          const equal = crypto.timingSafeEqual(credential.digest, presented)
          found = equal && found === undefined ? credential.client : found
        }
        if (found === undefined) return yield* new Unauthorized()
        return found
      })
      return Authenticator.of({ authenticate })
    })
  )
}

/**
 * Route middleware: authenticates the request's `Authorization` header and provides `CurrentClient` to
 * the routes it wraps, or answers 401 (through `toErrorResponse`) without running them. Apply it with
 * `Layer.provide(Auth.layer)` on a route layer; `Auth.layer` needs `Authenticator`.
 */
export const Auth = HttpRouter.middleware<{ provides: CurrentClient }>()(
  Effect.gen(function*() {
    const authenticator = yield* Authenticator
    return (httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const authorization: string | undefined = request.headers["authorization"]
        return yield* authenticator.authenticate(authorization).pipe(
          Effect.matchEffect({
            onFailure: (error) => Effect.succeed(toErrorResponse(error)),
            onSuccess: (client) => Effect.provideService(httpEffect, CurrentClient, client)
          })
        )
      })
  })
)
