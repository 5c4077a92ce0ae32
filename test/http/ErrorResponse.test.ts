import { assert, describe, it, layer } from "@effect/vitest"
import { Cause, Effect, Logger } from "effect"
import { HttpClient, HttpServerResponse } from "effect/http"
import { defectResponse, toErrorResponse } from "../../src/http/ErrorResponse.ts"
import type { ApiError } from "../../src/http/ErrorResponse.ts"
import { BodyTooLarge, InvalidJson, InvalidRequest, Unauthorized } from "../../src/http/HttpErrors.ts"
import { AmbiguousMethod, Forbidden } from "../../src/routing/RoutingErrors.ts"
import { SessionNotFound, TooManySessions } from "../../src/session/SessionErrors.ts"
import { testServer } from "./HttpTestServer.ts"

const bodyOf = (response: HttpServerResponse.HttpServerResponse) =>
  HttpServerResponse.toClientResponse(response).json

const cases: ReadonlyArray<readonly [ApiError, number, string]> = [
  [new Unauthorized(), 401, "unauthorized"],
  [new Forbidden({ serverId: "filesystem" }), 403, "forbidden"],
  [new SessionNotFound({ sessionId: "s-1" }), 404, "session_not_found"],
  [new InvalidJson({ detail: "Unexpected end of JSON input" }), 400, "invalid_json"],
  [new InvalidRequest({ problems: [{ path: "servers[0]", message: "Expected string" }] }), 400, "invalid_request"],
  [new AmbiguousMethod({ method: "ping" }), 400, "ambiguous_method"],
  [new BodyTooLarge({ limit: 1024 }), 413, "body_too_large"],
  [new TooManySessions({ limit: 5 }), 429, "too_many_sessions"]
]

describe("toErrorResponse", () => {
  it.effect("gives each error its status, code and message", () =>
    Effect.gen(function*() {
      for (const [error, status, code] of cases) {
        const response = toErrorResponse(error)
        assert.strictEqual(response.status, status, error._tag)
        assert.deepStrictEqual(yield* bodyOf(response), { error: { code, message: error.message } })
        assert.notStrictEqual(error.message, "", `${error._tag} has a message`)
      }
    }))

  it.effect("only a 401 carries WWW-Authenticate: Bearer", () =>
    Effect.gen(function*() {
      for (const [error] of cases) {
        const header = toErrorResponse(error).headers["www-authenticate"]
        assert.strictEqual(header, error._tag === "Unauthorized" ? "Bearer" : undefined, error._tag)
      }
    }))

  it.effect("an InvalidRequest message names the field", () =>
    Effect.gen(function*() {
      const response = toErrorResponse(
        new InvalidRequest({ problems: [{ path: "servers[0]", message: "Expected string, got 1" }] })
      )
      assert.deepStrictEqual(yield* bodyOf(response), {
        error: { code: "invalid_request", message: "invalid request: servers[0]: Expected string, got 1" }
      })
    }))
})

describe("defectResponse", () => {
  it.effect("logs the cause and answers 500 internal_error without the defect's details", () => {
    const logged: Array<{ message: unknown; cause: Cause.Cause<unknown> }> = []
    const capture = Logger.layer([Logger.make(({ message, cause }) => logged.push({ message, cause }))])
    return Effect.gen(function*() {
      const response = yield* defectResponse(Cause.die(new Error("cannot open /etc/secret")))
      assert.strictEqual(response.status, 500)
      assert.deepStrictEqual(yield* bodyOf(response), {
        error: { code: "internal_error", message: "internal error" }
      })
      assert.strictEqual(logged.length, 1)
      assert.include(Cause.pretty(logged[0]!.cause), "cannot open /etc/secret")
    }).pipe(Effect.provide(capture))
  })
})

layer(testServer({ anonymous: false }))("withErrorResponses", (it) => {
  it.effect("a route that dies answers 500 internal_error, and nothing of the defect", () =>
    Effect.gen(function*() {
      const response = yield* HttpClient.get("/defect")
      assert.strictEqual(response.status, 500)
      const text = yield* response.text
      assert.deepStrictEqual(JSON.parse(text), { error: { code: "internal_error", message: "internal error" } })
      assert.notInclude(text, "secret")
    }).pipe(Effect.provide(Logger.layer([]))))
})
