import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import * as Gateway from "../../src/Gateway.ts"
import { serverUrl } from "../support/GatewayHttp.ts"

// The embedded default stack (everything, memory, filesystem: what `npm start` runs), behind /mcp, reached by SDK
// v2 clients of both eras.
const token = "default-stack-token-0123456789"
const defaultStack = Layer.unwrap(Effect.gen(function*() {
  // A scratch directory of its own (the memory graph, the filesystem root), removed afterwards.
  const scratch = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "mcp-default-stack-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const { config } = yield* ConfigLoader.fromDefault({ MCP_GATEWAY_TOKEN: token, MCP_GATEWAY_SCRATCH_DIR: scratch }).pipe(Effect.orDie)
  return Gateway.serve(config)
})).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

const connect = (era: "auto" | "legacy") =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const client = new Client({ name: "default-stack-test", version: "1.0.0" }, era === "auto" ? { versionNegotiation: { mode: "auto" } } : {})
      yield* Effect.promise(() =>
        client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }))
      )
      return client
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

const text = (result: { content?: unknown }) => JSON.stringify(result.content)

layer(defaultStack, { timeout: 60_000, excludeTestServices: true })("/mcp over the default embedded stack", (it) => {
  for (const era of ["auto", "legacy"] as const) {
    it.effect(`an SDK client (${era}): every embedded server's tools, a call on each, a resource, a prompt`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect(era)
        const names = (yield* Effect.promise(() => client.listTools())).tools.map((tool) => tool.name)
        for (const name of ["everything__echo", "memory__read_graph", "filesystem__list_allowed_directories"]) {
          assert.include(names, name)
        }
        const echo = yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: era } }))
        assert.include(text(echo), `Echo: ${era}`)
        const graph = yield* Effect.promise(() => client.callTool({ name: "memory__read_graph", arguments: {} }))
        assert.include(text(graph), "entities")
        const allowed = yield* Effect.promise(() => client.callTool({ name: "filesystem__list_allowed_directories", arguments: {} }))
        assert.include(text(allowed), "files")
        const resource = (yield* Effect.promise(() => client.listResources())).resources[0]
        assert.isDefined(resource)
        const read = yield* Effect.promise(() => client.readResource({ uri: resource!.uri }))
        assert.isAbove(read.contents.length, 0)
        const prompt = yield* Effect.promise(() => client.getPrompt({ name: "everything__simple-prompt" }))
        assert.isAbove(prompt.messages.length, 0)
      })))
  }
})
