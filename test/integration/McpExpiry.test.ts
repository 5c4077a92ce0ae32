import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, legacySessionHeaders, postMcp, serverUrl } from "../support/GatewayHttp.ts"

const token = "mcp-expiry-token-0123456789"
const config: ConfigFile = {
  mcpServers: { fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
  clients: { tester: { token, servers: "*" } },
  streaming: { sessionTimeoutSeconds: 1 }
}

const mcpUrl = serverUrl("/mcp")

const post = (body: unknown, sessionId?: string) => postMcp(body, legacySessionHeaders(token, sessionId))

const open = Effect.map(
  post({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "expiry", version: "1" } }
  }),
  (reply) => reply.sessionId!
)

const ping = (sessionId: string) => Effect.map(post({ jsonrpc: "2.0", id: 2, method: "ping" }, sessionId), (r) => r.status)

// Real time, short: the expiry sweep runs on the gateway's clock, across real sockets.
layer(gatewayLayer(config), { timeout: 30_000, excludeTestServices: true })("/mcp idle expiry", (it) => {
  it.effect("a legacy MCP session with no request and no stream for sessionTimeoutSeconds is gone (404)", () =>
    Effect.gen(function*() {
      const sessionId = yield* open
      assert.strictEqual(yield* ping(sessionId), 200)
      yield* Effect.sleep("2500 millis")
      assert.strictEqual(yield* ping(sessionId), 404)
    }))

  it.effect("an open GET stream keeps it alive", () =>
    Effect.gen(function*() {
      const sessionId = yield* open
      const url = yield* mcpUrl
      const controller = new AbortController()
      const stream = yield* Effect.promise(() =>
        fetch(url, { headers: { ...legacySessionHeaders(token, sessionId), accept: "text/event-stream" }, signal: controller.signal })
      )
      assert.strictEqual(stream.status, 200)
      yield* Effect.sleep("2500 millis")
      assert.strictEqual(yield* ping(sessionId), 200)
      controller.abort()
    }))
})
