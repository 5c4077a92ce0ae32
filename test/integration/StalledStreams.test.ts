import { request as httpRequest } from "node:http"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, send, serverUrl } from "../support/GatewayHttp.ts"

const token = "stalled-streams-token-0123456789"
const config: ConfigFile = {
  mcpServers: { fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
  clients: { tester: { token, servers: "*" } },
  // Heartbeats each second: a stream that accepts nothing for 3 s has a client that stopped reading. The session
  // holds up to 5,000 events of 4 KB: 20 MB, more than loopback's socket buffers take, so the stream's bytes
  // still wait on the client when the session ends (with less, its end can fit in the buffers and the response
  // finish, which would leave nothing stalled to close).
  streaming: { heartbeatIntervalSeconds: 1, maxPendingEvents: 5_000 }
}

// Real time: what is measured is a socket's inactivity.
layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("a stream whose client stopped reading", (it) => {
  it.effect("has its connection closed a few heartbeats after it stalled, rather than held until the client goes", () =>
    Effect.gen(function*() {
      const created = yield* send("POST", "/gateway/stream", { token })
      const session = created.body as { stream_url: string; request_url: string }
      const url = yield* serverUrl(session.stream_url)
      const stream = yield* Effect.callback<import("node:http").IncomingMessage>((resume) => {
        const req = httpRequest(url, { headers: { authorization: `Bearer ${token}` } }, (res) => resume(Effect.succeed(res)))
        req.on("error", () => {})
        req.end()
      })
      // The client reads the head of its stream, then nothing, while far more than the socket buffers hold comes:
      // the session overflows (its queue is bounded) and its stream ends, with its last bytes waiting on the client.
      stream.pause()
      yield* send("POST", session.request_url, {
        token,
        body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture__flood", arguments: { count: 20000, size: 4000 } } }
      })
      yield* Effect.sleep("12 seconds")
      // Reading again: a connection the gateway kept would now deliver everything up to `closed` and end cleanly;
      // one it closed ends short, without the `closed` event.
      const text = yield* Effect.callback<string>((resume) => {
        let received = ""
        let tail = ""
        stream.on("data", (chunk: Buffer) => {
          received = "x"
          tail = (tail + chunk.toString()).slice(-200)
        })
        const done = () => resume(Effect.succeed(received + tail))
        stream.once("close", done)
        stream.once("error", done)
        stream.resume()
      }).pipe(Effect.timeout("20 seconds"))
      assert.notInclude(text, "event: closed", "the gateway closed the stalled connection")
    }), 60_000)
})
