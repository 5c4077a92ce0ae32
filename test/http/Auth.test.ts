import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import { Authenticator } from "../../src/http/Auth.ts"
import { Unauthorized } from "../../src/http/HttpErrors.ts"
import { aliceToken, ciToken, configFile, configLayer, testServer } from "./HttpTestServer.ts"

const whoami = (authorization?: string) =>
  Effect.gen(function*() {
    const request = HttpClientRequest.get("/whoami").pipe(
      authorization === undefined ? (request) => request : HttpClientRequest.setHeader("authorization", authorization)
    )
    const response = yield* HttpClient.execute(request)
    const body: unknown = yield* response.json
    return { status: response.status, headers: response.headers, body }
  })

const clientId = (body: unknown) => {
  assert.isObject(body)
  const { client } = body as { client: { id: string } }
  return client.id
}

const unauthorizedBody = { error: { code: "unauthorized", message: "a valid bearer token is required" } }

layer(testServer({ anonymous: true }))("Auth, with an anonymous client configured", (it) => {
  it.effect("a request without a token acts as the anonymous client", () =>
    Effect.gen(function*() {
      const { status, body } = yield* whoami()
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, {
        client: { id: "local", servers: ["everything"], namespacing: "off", deferredLoading: false }
      })
    }))

  it.effect("the right plain token is its client, with its servers resolved", () =>
    Effect.gen(function*() {
      const { status, body } = yield* whoami(`Bearer ${aliceToken}`)
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, {
        client: { id: "alice", servers: ["everything"], namespacing: "on", deferredLoading: true }
      })
    }))

  it.effect("the right token of a tokenSha256 client is that client, \"*\" resolved to every server", () =>
    Effect.gen(function*() {
      const { status, body } = yield* whoami(`Bearer ${ciToken}`)
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, {
        client: { id: "ci", servers: ["everything", "remote"], namespacing: "on", deferredLoading: false }
      })
    }))

  it.effect("the scheme is case-insensitive", () =>
    Effect.gen(function*() {
      assert.strictEqual(clientId((yield* whoami(`bearer ${aliceToken}`)).body), "alice")
      assert.strictEqual(clientId((yield* whoami(`BEARER   ${ciToken}`)).body), "ci")
    }))

  it.effect("a wrong token is 401 and never falls back to the anonymous client", () =>
    Effect.gen(function*() {
      for (const header of [`Bearer ${aliceToken}x`, "Bearer wrong", `Bearer ${aliceToken.slice(0, -1)}`]) {
        const { status, headers, body } = yield* whoami(header)
        assert.strictEqual(status, 401, header)
        assert.strictEqual(headers["www-authenticate"], "Bearer")
        assert.deepStrictEqual(body, unauthorizedBody)
      }
    }))

  it.effect("a header that is not a bearer token is 401, not the anonymous client", () =>
    Effect.gen(function*() {
      for (const header of [`Basic ${Buffer.from("alice:x").toString("base64")}`, "Bearer", aliceToken, "Token x"]) {
        const { status, body } = yield* whoami(header)
        assert.strictEqual(status, 401, header)
        assert.deepStrictEqual(body, unauthorizedBody)
      }
    }))
})

layer(testServer({ anonymous: false }))("Auth, without an anonymous client", (it) => {
  it.effect("a request without a token is 401 with WWW-Authenticate: Bearer and the error body", () =>
    Effect.gen(function*() {
      const response = yield* HttpClient.get("/whoami")
      assert.strictEqual(response.status, 401)
      assert.strictEqual(response.headers["www-authenticate"], "Bearer")
      assert.include(response.headers["content-type"], "application/json")
      assert.deepStrictEqual(yield* response.json, unauthorizedBody)
    }))

  it.effect("a 401 does not run the route: its body is not read or decoded", () =>
    Effect.gen(function*() {
      const response = yield* HttpClientRequest.post("/echo").pipe(
        HttpClientRequest.bodyText("not json", "application/json"),
        HttpClient.execute
      )
      assert.strictEqual(response.status, 401)
      assert.deepStrictEqual(yield* response.json, unauthorizedBody)
    }))

  it.effect("the right token still works", () =>
    Effect.gen(function*() {
      const { status, body } = yield* whoami(`Bearer ${aliceToken}`)
      assert.strictEqual(status, 200)
      assert.strictEqual(clientId(body), "alice")
      const ci = yield* HttpClient.get("/whoami", { headers: { authorization: `Bearer ${ciToken}` } }).pipe(
        Effect.flatMap(HttpClientResponse.filterStatusOk),
        Effect.flatMap((response) => response.json)
      )
      assert.strictEqual(clientId(ci), "ci")
    }))
})

describe("Authenticator", () => {
  const authenticate = (anonymous: boolean, header: string | undefined) =>
    Authenticator.use((authenticator) => authenticator.authenticate(header)).pipe(
      Effect.provide(Authenticator.layer),
      Effect.provide(configLayer(configFile({ anonymous })))
    )

  it.effect("answers each case with the client or Unauthorized", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* authenticate(true, undefined)).id, "local")
      assert.strictEqual((yield* authenticate(false, `Bearer ${aliceToken}`)).id, "alice")
      assert.strictEqual((yield* authenticate(false, `Bearer ${ciToken}`)).id, "ci")
      assert.instanceOf(yield* Effect.flip(authenticate(false, undefined)), Unauthorized)
      assert.instanceOf(yield* Effect.flip(authenticate(true, "Bearer nope")), Unauthorized)
      assert.instanceOf(yield* Effect.flip(authenticate(true, "")), Unauthorized)
      assert.instanceOf(yield* Effect.flip(authenticate(true, "Bearer ")), Unauthorized)
    }))

  it.effect("a token that is only the hex digest of a tokenSha256 client is refused", () =>
    Effect.gen(function*() {
      // The config holds the digest; presenting the digest itself must not authenticate.
      const file = configFile({ anonymous: false })
      const digest = (file.clients.ci as { tokenSha256: string }).tokenSha256
      assert.instanceOf(yield* Effect.flip(authenticate(false, `Bearer ${digest}`)), Unauthorized)
      assert.instanceOf(yield* Effect.flip(authenticate(false, `Bearer ${digest.toLowerCase()}`)), Unauthorized)
    }))
})
