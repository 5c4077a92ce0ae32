import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { HttpServer } from "effect/http"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer } from "../support/GatewayHttp.ts"

const token = "mcp-endpoint-token-0123456789"
const narrowToken = "mcp-narrow-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] },
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] },
    modern: { command: Fixtures.nodeBinary, args: [Fixtures.modernServer] }
  },
  clients: {
    tester: { token, servers: "*" },
    narrow: { token: narrowToken, servers: ["fixture"] }
  }
}

/** The gateway's `/mcp` URL on the test server. */
const mcpUrl = Effect.gen(function*() {
  const address = (yield* HttpServer.HttpServer).address
  return new URL(`http://127.0.0.1:${"port" in address ? address.port : 0}/mcp`)
})

/** An SDK v2 client connected to `/mcp`, closed with the scope. */
const connect = (options: { readonly token: string; readonly era: "legacy" | "auto" }) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const url = yield* mcpUrl
      const client = new Client(
        { name: "gateway-test", version: "1.0.0" },
        {
          capabilities: { sampling: {} },
          ...(options.era === "auto" ? { versionNegotiation: { mode: "auto" as const } } : {})
        }
      )
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${options.token}` } }
      })
      yield* Effect.promise(() => client.connect(transport))
      return client
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("/mcp", (it) => {
  for (const era of ["legacy", "auto"] as const) {
    it.effect(`an SDK client (${era}) lists the merged tools and calls a namespaced tool on each server`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect({ token, era })
        const tools = (yield* Effect.promise(() => client.listTools())).tools.map((tool) => tool.name)
        assert.include(tools, "everything__echo")
        assert.include(tools, "fixture__echo")
        assert.include(tools, "modern__echo")
        const echo = yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: "hi" } }))
        assert.deepStrictEqual(echo.content, [{ type: "text", text: "Echo: hi" }])
        const fixture = yield* Effect.promise(() => client.callTool({ name: "fixture__echo", arguments: { text: "there" } }))
        assert.include(JSON.stringify(fixture.content), "there")
        const modern = yield* Effect.promise(() => client.callTool({ name: "modern__echo", arguments: { text: "now" } }))
        assert.include(JSON.stringify(modern.content), "now")
      })))
  }
})
