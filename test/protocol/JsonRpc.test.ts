import { assert, describe, it } from "@effect/vitest"
import {
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage
} from "@modelcontextprotocol/client"
import { Effect, Result, Schema } from "effect"
import * as JsonRpc from "../../src/protocol/JsonRpc.ts"

const decode = Schema.decodeUnknownSync(JsonRpc.Message)

const failureOf = (schema: Schema.Decoder<unknown>, input: unknown): string => {
  const result = Schema.decodeUnknownResult(schema)(input)
  if (Result.isSuccess(result)) return assert.fail(`expected ${JSON.stringify(input)} to be refused`)
  return result.failure.message
}

// As they arrive off the wire: JSON text parsed, so nothing but JSON values.
const wire = (text: string): unknown => JSON.parse(text)

describe("JsonRpc.Message", () => {
  it("decodes a request, keeping unknown fields at every level", () => {
    const input = wire(`{"jsonrpc":"2.0","id":7,"method":"tools/call",
      "params":{"name":"fs__read","arguments":{"path":"/x"},"_meta":{"progressToken":"p1"}},"x-extra":[1]}`)
    const message = decode(input)
    assert.deepStrictEqual(message, input)
    assert.isTrue(JsonRpc.isRequest(message))
    assert.isFalse(JsonRpc.isNotification(message))
    assert.isFalse(JsonRpc.isResponse(message))
  })

  it("decodes a request with a string id and no params", () => {
    const message = decode({ jsonrpc: "2.0", id: "abc", method: "tools/list" })
    assert.isTrue(JsonRpc.isRequest(message))
    if (JsonRpc.isRequest(message)) assert.strictEqual(message.id, "abc")
  })

  it("decodes a notification", () => {
    const input = wire(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":2}}`)
    const message = decode(input)
    assert.deepStrictEqual(message, input)
    assert.isTrue(JsonRpc.isNotification(message))
    assert.isFalse(JsonRpc.isRequest(message))
    assert.isFalse(JsonRpc.isResponse(message))
  })

  it("decodes a success response, keeping the whole result (2026 fields included)", () => {
    const input = wire(`{"jsonrpc":"2.0","id":1,"result":{"resultType":"input_required",
      "inputRequests":{"a":{"method":"elicitation/create"}},"requestState":"opaque","ttlMs":5}}`)
    const message = decode(input)
    assert.deepStrictEqual(message, input)
    assert.isTrue(JsonRpc.isResponse(message))
    assert.isTrue(JsonRpc.isSuccessResponse(message))
    assert.isFalse(JsonRpc.isErrorResponse(message))
  })

  it("decodes error responses with an id, a null id, or no id (as SDK v2 sends them)", () => {
    for (const id of [3, "x", null, undefined]) {
      const input = {
        jsonrpc: "2.0" as const,
        ...(id === undefined ? {} : { id }),
        error: { code: -32601, message: "Method not found", data: { method: "nope" }, extra: true }
      }
      const message = decode(input)
      assert.deepStrictEqual(message, input)
      assert.isTrue(JsonRpc.isErrorResponse(message))
      assert.isFalse(JsonRpc.isSuccessResponse(message))
    }
  })

  it("keeps an own __proto__ key as data, without touching the prototype", () => {
    const message = decode(wire(`{"jsonrpc":"2.0","method":"m","params":{"__proto__":{"polluted":true}}}`))
    assert.isTrue(JsonRpc.isNotification(message))
    if (!JsonRpc.isNotification(message) || message.params === undefined) return assert.fail("no params")
    assert.deepStrictEqual(Object.keys(message.params), ["__proto__"])
    assert.strictEqual(Object.getPrototypeOf(message.params), Object.prototype)
  })

  it.effect("refuses each wrong shape with a message naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ jsonrpc: "2.0", id: true, method: "m" }, `at ["id"]`],
        [{ jsonrpc: "2.0", id: null, method: "m" }, `at ["id"]`],
        [{ jsonrpc: "2.0", id: 1, method: 5 }, `at ["method"]`],
        [{ jsonrpc: "2.0", method: 5 }, `at ["method"]`],
        [{ jsonrpc: "2.0", id: 1, method: "m", params: [1, 2] }, `at ["params"]`],
        [{ jsonrpc: "1.0", id: 1, method: "m" }, `at ["jsonrpc"]`],
        [{ id: 1, method: "m" }, `at ["jsonrpc"]`],
        [{ jsonrpc: "2.0", id: 1, result: 5 }, `at ["result"]`],
        [{ jsonrpc: "2.0", id: 1, result: [] }, `at ["result"]`],
        [{ jsonrpc: "2.0", result: {} }, `at ["id"]`],
        [{ jsonrpc: "2.0", id: 1, error: "boom" }, `at ["error"]`],
        [{ jsonrpc: "2.0", id: 1, error: { code: 1.5, message: "x" } }, `at ["error"]["code"]`],
        [{ jsonrpc: "2.0", id: 1, error: { code: 1 } }, `at ["error"]["message"]`],
        [{ jsonrpc: "2.0", id: {}, error: { code: 1, message: "x" } }, `at ["id"]`]
      ]
      for (const [input, path] of cases) {
        const error = yield* Effect.flip(Schema.decodeUnknownEffect(JsonRpc.Message)(input))
        assert.include(error.message, path, `for ${JSON.stringify(input)}`)
      }
    }))

  it("says what a message needs when it is no kind of message", () => {
    assert.include(failureOf(JsonRpc.Message, { jsonrpc: "2.0", id: 1 }), `"method"`)
    assert.include(failureOf(JsonRpc.Message, { jsonrpc: "2.0", id: 1, result: {}, error: {} }), "not both")
    assert.include(failureOf(JsonRpc.Message, [{ jsonrpc: "2.0", method: "m" }]), "JSON-RPC 2.0 message object")
    assert.include(failureOf(JsonRpc.Message, "hello"), "JSON-RPC 2.0 message object")
    assert.include(failureOf(JsonRpc.Message, null), "JSON-RPC 2.0 message object")
  })

  it("works under fromJsonString, as a body schema does", () => {
    const FromJson = Schema.fromJsonString(JsonRpc.Message)
    const message = Schema.decodeUnknownSync(FromJson)(`{"jsonrpc":"2.0","id":"r1","result":{"ok":true},"z":1}`)
    assert.deepStrictEqual(message, { jsonrpc: "2.0", id: "r1", result: { ok: true }, z: 1 })
    assert.strictEqual(Schema.encodeSync(FromJson)(message), `{"jsonrpc":"2.0","id":"r1","result":{"ok":true},"z":1}`)
    assert.include(failureOf(FromJson, `{"jsonrpc":`), "JSON")
  })

  it.prop("decodes every request unchanged after a JSON round trip", [JsonRpc.Request], ([request]) => {
    const input = wire(JSON.stringify(request))
    assert.deepStrictEqual(decode(input), input)
  })

  it.prop("decodes every success response unchanged after a JSON round trip", [JsonRpc.SuccessResponse], ([ok]) => {
    // A generated unknown key named "method" or "error" would make it another kind of message.
    if (ok["method"] !== undefined || ok["error"] !== undefined) return
    const input = wire(JSON.stringify(ok))
    const message = decode(input)
    assert.deepStrictEqual(message, input)
    assert.isTrue(JsonRpc.isSuccessResponse(message))
  })
})

describe("JsonRpc member schemas", () => {
  it("Notification alone refuses an id, naming it", () => {
    const message = failureOf(JsonRpc.Notification, { jsonrpc: "2.0", id: 1, method: "m" })
    assert.include(message, `at ["id"]`)
    assert.include(message, "notification")
  })

  it("Response refuses requests and notifications, accepts both kinds of response", () => {
    assert.include(failureOf(JsonRpc.Response, { jsonrpc: "2.0", id: 1, method: "m" }), "response")
    assert.include(failureOf(JsonRpc.Response, { jsonrpc: "2.0", method: "m" }), "response")
    const ok = { jsonrpc: "2.0", id: 1, result: {} } as const
    const error = { jsonrpc: "2.0", id: 1, error: { code: 1, message: "x" } } as const
    assert.deepStrictEqual(Schema.decodeUnknownSync(JsonRpc.Response)(ok), ok)
    assert.deepStrictEqual(Schema.decodeUnknownSync(JsonRpc.Response)(error), error)
  })
})

describe("JsonRpc helpers", () => {
  it("names the standard codes", () => {
    assert.strictEqual(JsonRpc.ParseError, -32700)
    assert.strictEqual(JsonRpc.InvalidRequest, -32600)
    assert.strictEqual(JsonRpc.MethodNotFound, -32601)
    assert.strictEqual(JsonRpc.InvalidParams, -32602)
    assert.strictEqual(JsonRpc.InternalError, -32603)
    assert.strictEqual(JsonRpc.RequestTimeout, -32001)
    assert.strictEqual(JsonRpc.ResourceNotFound, -32002)
    assert.strictEqual(JsonRpc.HeaderMismatch, -32020)
    assert.strictEqual(JsonRpc.UnsupportedProtocolVersion, -32022)
  })

  it("errorResponse builds a valid error response, with data only when given", () => {
    const bare = JsonRpc.errorResponse(4, JsonRpc.MethodNotFound, "no such method")
    assert.deepStrictEqual(bare, { jsonrpc: "2.0", id: 4, error: { code: -32601, message: "no such method" } })
    assert.isFalse("data" in bare.error)
    const withData = JsonRpc.errorResponse(null, JsonRpc.ParseError, "bad json", { at: 3 })
    assert.deepStrictEqual(withData.error.data, { at: 3 })
    assert.strictEqual(withData.id, null)
    assert.deepStrictEqual(decode(wire(JSON.stringify(withData))), withData)
  })

  it("withId copies a message under another id and leaves the original alone", () => {
    const request: JsonRpc.Request = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x" }, extra: 1 }
    const rewritten = JsonRpc.withId(request, "gw-1")
    assert.deepStrictEqual(rewritten, { ...request, id: "gw-1" })
    assert.strictEqual(request.id, 1)
    const error = JsonRpc.errorResponse("gw-1", JsonRpc.InternalError, "x")
    assert.strictEqual(JsonRpc.withId(error, 1).id, 1)
  })
})

describe("JsonRpc and the SDK's message types", () => {
  it("decoded messages pass the SDK's own guards and go to Transport.send as they are", () => {
    const request = decode({ jsonrpc: "2.0", id: 1, method: "ping" })
    const notification = decode({ jsonrpc: "2.0", method: "notifications/initialized" })
    const ok = decode({ jsonrpc: "2.0", id: 1, result: {} })
    const error = decode({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } })
    assert.isTrue(isJSONRPCRequest(JsonRpc.toSdkMessage(request)))
    assert.isTrue(isJSONRPCNotification(JsonRpc.toSdkMessage(notification)))
    assert.isTrue(isJSONRPCResultResponse(JsonRpc.toSdkMessage(ok)))
    const sdkError = JsonRpc.toSdkMessage(error)
    assert.isTrue(isJSONRPCErrorResponse(sdkError))
    assert.isFalse("id" in sdkError)
  })

  it("an SDK message is a Message without conversion (checked by the compiler)", () => {
    const fromSdk: JSONRPCMessage = { jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }
    const message: JsonRpc.Message = fromSdk
    assert.isTrue(JsonRpc.isRequest(message))
  })
})
