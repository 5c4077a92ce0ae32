import { assert, layer } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { answeringUntil, events, gatewayLayer, send } from "../support/GatewayHttp.ts"

const token = "modern-token-0123456789"
const config: ConfigFile = {
  mcpServers: { modern: { command: Fixtures.nodeBinary, args: [Fixtures.modernServer, "--modern-only"] } },
  clients: { tester: { token, servers: "*" } }
}

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("a modern-era backend asking for input", (it) => {
  it.effect("its input_required becomes a request event; the client's answer retries the call with requestState untouched", () =>
    Effect.gen(function*() {
      const created = yield* send("POST", "/gateway/stream", { token })
      const session = created.body as { stream_url: string; request_url: string }
      const stream = yield* events(session.stream_url, token)
      const reading = yield* answeringUntil(session, stream.events, token, { action: "accept", content: { ok: true } })
      yield* send("POST", session.request_url, {
        token,
        body: { jsonrpc: "2.0", id: "c1", method: "tools/call", params: { name: "modern__confirm", arguments: {} } }
      })
      const seen = yield* Fiber.join(reading)
      const asked = seen.find((e) => e.event === "request")
      assert.strictEqual(asked?.data.server_id, "modern")
      assert.strictEqual(asked?.data.request.method, "elicitation/create")
      assert.strictEqual(asked?.data.request.params.message, "Proceed?")
      const done = seen.at(-1)
      assert.strictEqual(done?.data.response.id, "c1")
      assert.strictEqual(done?.data.response.result.content[0].text, "answer accept ok=true state=round-1")
    }))
})
