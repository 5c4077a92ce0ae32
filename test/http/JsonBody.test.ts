import { assert, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { HttpClient, HttpClientRequest } from "effect/http"
import { aliceToken, echoLimit, rawRequest, testServer } from "./HttpTestServer.ts"

const post = (path: string, body: HttpClientRequest.HttpClientRequest["body"] | undefined) =>
  Effect.gen(function*() {
    let request = HttpClientRequest.post(path).pipe(HttpClientRequest.bearerToken(aliceToken))
    if (body !== undefined) request = HttpClientRequest.setBody(request, body)
    const response = yield* HttpClient.execute(request)
    const json: unknown = yield* response.json
    return { status: response.status, body: json }
  })

const text = (body: string) => HttpClientRequest.bodyText(HttpClientRequest.post("/"), body, "application/json").body

const errorOf = (body: unknown) => {
  assert.isObject(body)
  return (body as { error: { code: string; message: string } }).error
}

const rawHead = (path: string, headers: ReadonlyArray<string>) =>
  [`POST ${path} HTTP/1.1`, "host: localhost", `authorization: Bearer ${aliceToken}`, ...headers, "", ""].join("\r\n")

layer(testServer({ anonymous: false }))("readJson", (it) => {
  it.effect("decodes a body of the right shape", () =>
    Effect.gen(function*() {
      const { status, body } = yield* post("/echo", text(`{"servers":["everything"]}`))
      assert.strictEqual(status, 200)
      assert.deepStrictEqual((body as { body: unknown }).body, { servers: ["everything"] })
    }))

  it.effect("an empty body is undefined when the route says the body is optional", () =>
    Effect.gen(function*() {
      const { status, body } = yield* post("/echo", undefined)
      assert.strictEqual(status, 200)
      assert.deepStrictEqual(body, {
        client: { id: "alice", servers: ["everything"], namespacing: "on", deferredLoading: true },
        body: null
      })
    }))

  it.effect("an empty body is invalid_json when the body is required", () =>
    Effect.gen(function*() {
      const { status, body } = yield* post("/strict", undefined)
      assert.strictEqual(status, 400)
      assert.deepStrictEqual(errorOf(body), {
        code: "invalid_json",
        message: "the request body is not valid JSON: the body is empty"
      })
    }))

  it.effect("text that is not JSON is 400 invalid_json, without the body quoted back", () =>
    Effect.gen(function*() {
      // V8 quotes the text around the error at the end of the body, or at its start (a long body).
      for (const bad of [`{"servers": [secret-ish`, `secret-ish-${"x".repeat(40)}`, `{"a": 1,,}`]) {
        const { status, body } = yield* post("/strict", text(bad))
        assert.strictEqual(status, 400)
        const error = errorOf(body)
        assert.strictEqual(error.code, "invalid_json")
        assert.match(error.message, /^the request body is not valid JSON: \S/)
        assert.notInclude(error.message, "secret-ish")
        assert.notMatch(error.message, /JSON: .*is not valid JSON/)
      }
    }))

  it.effect("JSON of the wrong shape is 400 invalid_request naming each wrong field", () =>
    Effect.gen(function*() {
      const wrongItem = yield* post("/echo", text(`{"servers":["a",7]}`))
      assert.strictEqual(wrongItem.status, 400)
      assert.deepStrictEqual(errorOf(wrongItem.body), {
        code: "invalid_request",
        message: "invalid request: servers[1]: Expected string"
      })
      const several = yield* post("/echo", text(`{"note":1}`))
      assert.strictEqual(several.status, 400)
      const message = errorOf(several.body).message
      assert.include(message, "servers: Missing key")
      assert.include(message, "note: Expected string")
      const notAnObject = yield* post("/echo", text(`[1]`))
      assert.strictEqual(notAnObject.status, 400)
      assert.strictEqual(errorOf(notAnObject.body).code, "invalid_request")
    }))

  it.effect("a large body of many wrong items: its first problem named, not every one (which took seconds and megabytes)", () =>
    Effect.gen(function*() {
      const many = yield* post("/strict", text(`{"servers":[${Array(400_000).fill(1).join(",")}]}`))
      assert.strictEqual(many.status, 400)
      assert.deepStrictEqual(errorOf(many.body), { code: "invalid_request", message: "invalid request: servers[0]: Expected string" })
      // A small body still has every problem named, up to twenty.
      const several = yield* post("/strict", text(`{"servers":[${Array(30).fill(1).join(",")}]}`))
      assert.match(errorOf(several.body).message, /servers\[19\]: Expected string; and 10 more$/)
    }))

  it.effect("a content-length over the limit is 413 body_too_large", () =>
    Effect.gen(function*() {
      const { status, body } = yield* post("/echo", text(JSON.stringify({ servers: ["x".repeat(echoLimit)] })))
      assert.strictEqual(status, 413)
      assert.deepStrictEqual(errorOf(body), {
        code: "body_too_large",
        message: `the request body is larger than the limit of ${echoLimit} bytes`
      })
    }))

  it.effect("a content-length over the limit is answered before any of the body arrives", () =>
    Effect.gen(function*() {
      // The body never comes: only a check of the header can answer this request.
      const response = yield* rawRequest([rawHead("/echo", ["content-length: 100000000", "connection: close"])])
      assert.strictEqual(response.status, 413)
      assert.strictEqual(errorOf(JSON.parse(response.body)).code, "body_too_large")
    }))

  it.effect("the default limit is 1 MiB", () =>
    Effect.gen(function*() {
      const response = yield* rawRequest([rawHead("/strict", [`content-length: ${1024 * 1024 + 1}`])])
      assert.strictEqual(response.status, 413)
      assert.deepStrictEqual(errorOf(JSON.parse(response.body)), {
        code: "body_too_large",
        message: "the request body is larger than the limit of 1048576 bytes"
      })
    }))

  it.effect("a chunked body stops with 413 once it passes the limit", () =>
    Effect.gen(function*() {
      const chunk = (data: string) => `${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`
      const response = yield* rawRequest([
        rawHead("/echo", ["transfer-encoding: chunked", "content-type: application/json"]),
        chunk(`{"servers":["`),
        chunk("a".repeat(40)),
        chunk("b".repeat(40)),
        chunk(`"]}`),
        "0\r\n\r\n"
      ])
      assert.strictEqual(response.status, 413)
      assert.notMatch(response.head, /content-length: 0/i)
      assert.strictEqual(errorOf(JSON.parse(response.body)).code, "body_too_large")
    }))

  it.effect("a chunked body within the limit is read whole", () =>
    Effect.gen(function*() {
      const encoder = new TextEncoder()
      const stream = Stream.make(`{"servers":`, `["a",`, `"b"]}`).pipe(Stream.map((part) => encoder.encode(part)))
      const { status, body } = yield* post(
        "/echo",
        HttpClientRequest.bodyStream(HttpClientRequest.post("/"), stream, { contentType: "application/json" }).body
      )
      assert.strictEqual(status, 200)
      assert.deepStrictEqual((body as { body: unknown }).body, { servers: ["a", "b"] })
    }))

  it.effect("a chunked body over the limit sent by the client is 413", () =>
    Effect.gen(function*() {
      const encoder = new TextEncoder()
      const parts = [`{"servers":["`, "a".repeat(50), "b".repeat(50), `"]}`]
      const stream = Stream.fromIterable(parts).pipe(Stream.map((part) => encoder.encode(part)))
      const { status, body } = yield* post(
        "/echo",
        HttpClientRequest.bodyStream(HttpClientRequest.post("/"), stream, { contentType: "application/json" }).body
      )
      assert.strictEqual(status, 413)
      assert.strictEqual(errorOf(body).code, "body_too_large")
    }))
})
