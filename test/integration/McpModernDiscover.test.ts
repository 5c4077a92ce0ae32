import { CLIENT_CAPABILITIES_META_KEY, CLIENT_INFO_META_KEY, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/client"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, postMcp } from "../support/GatewayHttp.ts"
import { freePort, serve } from "../support/Processes.ts"

// A server that is down when a modern client first comes, and up later: the client's hub outlives that moment.
const port = await Effect.runPromise(freePort)
const token = "modern-discover-token-0123456789"
const config: ConfigFile = {
  mcpServers: { later: { url: `http://127.0.0.1:${port}/mcp` } },
  clients: { tester: { token, servers: "*" } },
  streaming: { requestTimeoutSeconds: 2 }
}

const discover = postMcp({
  jsonrpc: "2.0",
  id: 1,
  method: "server/discover",
  params: {
    _meta: {
      [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
      [CLIENT_INFO_META_KEY]: { name: "raw", version: "1" },
      [CLIENT_CAPABILITIES_META_KEY]: {}
    }
  }
}, { authorization: `Bearer ${token}`, "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover" }).pipe(
  Effect.map((reply) => JSON.parse(reply.text).result as { capabilities: Record<string, unknown>; instructions: string })
)

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("server/discover over time", (it) => {
  it.effect("says what the client's servers offer now, not what they offered when its first request came", () =>
    Effect.gen(function*() {
      const first = yield* discover
      assert.include(first.instructions, "later: unavailable right now")
      assert.isUndefined(first.capabilities["tools"])
      // The server comes up; the backend reconnects on its own schedule.
      yield* serve(Fixtures.nodeBinary, [Fixtures.everythingServer, "streamableHttp"], { PORT: String(port) }, /listening|running/i)
      let now = first
      for (let attempt = 0; attempt < 60 && now.capabilities["tools"] === undefined; attempt++) {
        yield* Effect.sleep("250 millis")
        now = yield* discover
      }
      assert.isDefined(now.capabilities["tools"], JSON.stringify(now))
      assert.notInclude(now.instructions, "unavailable right now")
    }).pipe(Effect.scoped))
})
