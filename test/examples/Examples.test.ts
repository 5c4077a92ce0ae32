import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as EmbedLayers from "../../examples/embed-layers.ts"
import * as McpSdkClient from "../../examples/mcp-sdk-client.ts"
import * as NodeClient from "../../examples/node-client.ts"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, serverUrl } from "../support/GatewayHttp.ts"

// Each example runs as its user would run it, against a real gateway with a real server behind it, so none can
// rot unnoticed.
const token = "examples-token-0123456789"
const config: ConfigFile = {
  mcpServers: { everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] } },
  clients: { examples: { token, servers: "*" } }
}

const baseUrl = Effect.map(serverUrl(), (url) => url.origin)

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("examples/", (it) => {
  it.effect("node-client.ts: a session over every server, its tools, a call, close", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const result = yield* Effect.promise(() => NodeClient.run(url, token))
      assert.deepStrictEqual(result.servers, ["everything: ready"])
      assert.isAbove(result.tools, 10)
      assert.strictEqual(result.echo, "Echo: hello from the example")
    }))

  for (const era of ["auto", "legacy"] as const) {
    it.effect(`mcp-sdk-client.ts (${era}): the SDK client through /mcp`, () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const result = yield* Effect.promise(() => McpSdkClient.run(`${url}/mcp`, token, era))
        assert.isAbove(result.tools, 10)
        assert.include(result.echo, "Echo: hello through /mcp")
        assert.isAbove(result.resources, 0)
      }))
  }
})

describe("examples/embed-layers.ts", () => {
  it.live("the gateway's services inside another Effect program: a session and a call through them", () =>
    Effect.gen(function*() {
      const result = yield* EmbedLayers.program(EmbedLayers.configFile(EmbedLayers.everythingServer()))
      assert.deepStrictEqual(result.servers, ["everything: ready"])
      assert.deepStrictEqual(result.response, {
        jsonrpc: "2.0",
        id: 1,
        result: { content: [{ type: "text", text: "Echo: hello from an embedding app" }] }
      })
    }), { timeout: 60_000 })
})
