import { assert, describe, it } from "@effect/vitest"
import { encode, sseFrame } from "../../src/session/EventEncoding.ts"

describe("event encoding", () => {
  it("encodes an event's data once, and frames it as one SSE event", () => {
    const encoded = encode({ id: 7, event: "notification", data: { server_id: "s", notification: { jsonrpc: "2.0", method: "m", params: { text: "a\nb" } } } })
    assert.strictEqual(encoded.id, 7)
    assert.strictEqual(encoded.event, "notification")
    assert.strictEqual(encoded.json, `{"server_id":"s","notification":{"jsonrpc":"2.0","method":"m","params":{"text":"a\\nb"}}}`)
    assert.strictEqual(sseFrame(encoded), `id: 7\nevent: notification\ndata: ${encoded.json}\n\n`)
  })

  it("a result too deeply nested to print becomes an error event for the same request, not a crash", () => {
    let deep: unknown = "bottom"
    for (let i = 0; i < 200_000; i++) deep = [deep]
    const encoded = encode({ id: 3, event: "chunk", data: { request_id: "r1", server_id: "s", result: deep } })
    assert.strictEqual(encoded.id, 3, "it keeps its place in the stream")
    assert.strictEqual(encoded.live.id, 3)
    assert.strictEqual(encoded.event, "error")
    assert.deepStrictEqual(JSON.parse(encoded.json), {
      request_id: "r1",
      server_id: "s",
      error: { code: "internal_error", message: "a chunk event could not be encoded as JSON (nested too deeply)" }
    })
    assert.strictEqual(encoded.live.event, "error")
  })
})
