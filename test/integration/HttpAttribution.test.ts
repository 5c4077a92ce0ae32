import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { answeringUntil, events, gatewayLayer, sampled, send } from "../support/GatewayHttp.ts"
import { freePort, serve } from "../support/Processes.ts"

const token = "http-attribution-token-0123"

// server-everything over Streamable HTTP on a free port, for as long as the gateway in front of it.
const withHttpBackend = Layer.unwrap(Effect.gen(function*() {
  const port = yield* freePort
  yield* serve(Fixtures.nodeBinary, [Fixtures.everythingServer, "streamableHttp"], { PORT: String(port) }, /listening|running/i)
  return gatewayLayer({
    mcpServers: { remote: { url: `http://127.0.0.1:${port}/mcp` } },
    clients: { tester: { token, servers: "*" } }
  })
}))

layer(withHttpBackend, { timeout: 60_000, excludeTestServices: true })("an HTTP backend's requests", (it) => {
  it.effect("two busy sessions each get the sampling request of their own call, from its own stream", () =>
    Effect.gen(function*() {
      const open = () =>
        Effect.map(send("POST", "/gateway/stream", { token }), (r) => r.body as { stream_url: string; request_url: string })
      const [a, b] = [yield* open(), yield* open()]
      const run = (session: { stream_url: string; request_url: string }, text: string) =>
        Effect.gen(function*() {
          const stream = yield* events(session.stream_url, token)
          const reading = yield* answeringUntil(session, stream.events, token, sampled(text), (e) =>
            e.event === "response" && e.data.response.id === text)
          yield* send("POST", session.request_url, {
            token,
            body: { jsonrpc: "2.0", id: text, method: "tools/call", params: { name: "remote__trigger-sampling-request", arguments: { prompt: text } } }
          })
          return reading
        })
      // Both sessions are busy (a long call each), and the sampling calls carry no progress token: only the
      // request streams can tell whose question is whose.
      for (const session of [a, b]) {
        yield* send("POST", session.request_url, {
          token,
          body: { jsonrpc: "2.0", id: "busy", method: "tools/call", params: { name: "remote__trigger-long-running-operation", arguments: { duration: 4, steps: 1 } } }
        })
      }
      yield* Effect.sleep("300 millis")
      const [readingA, readingB] = [yield* run(a, "reply for a"), yield* run(b, "reply for b")]
      const [seenA, seenB] = [yield* Fiber.join(readingA), yield* Fiber.join(readingB)]
      assert.lengthOf(seenA.filter((e) => e.event === "request"), 1)
      assert.lengthOf(seenB.filter((e) => e.event === "request"), 1)
      assert.include(JSON.stringify(seenA.at(-1)?.data.response.result), "reply for a")
      assert.include(JSON.stringify(seenB.at(-1)?.data.response.result), "reply for b")
      for (const session of [a, b]) yield* send("DELETE", session.stream_url, { token })
    }))
})
