import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer } from "effect"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import * as Gateway from "../../src/Gateway.ts"
import { postMcp, serverUrl } from "../support/GatewayHttp.ts"

// The embedded default stack (everything, memory, filesystem: what `npm start` runs), behind /mcp, reached by SDK
// v2 clients of both eras: one in `auto` mode (which must end up modern), one pinned to legacy.
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

type Era = "auto" | "legacy"

/**
 * A client of `era` that can answer sampling requests, connected to `/mcp`, closed with the scope. `fetch` stands
 * between it and the network (a test that drops a stream); its reconnections are quick.
 */
const connect = (era: Era, fetch: typeof globalThis.fetch = globalThis.fetch) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const client = new Client(
        { name: "default-stack-test", version: "1.0.0" },
        { capabilities: { sampling: {} }, ...(era === "auto" ? { versionNegotiation: { mode: "auto" as const } } : {}) }
      )
      client.setRequestHandler("sampling/createMessage", async () => ({
        role: "assistant" as const,
        content: { type: "text" as const, text: `sampled by the ${era} client` },
        model: "test-model"
      }))
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
        fetch,
        reconnectionOptions: { initialReconnectionDelay: 50, maxReconnectionDelay: 500, reconnectionDelayGrowFactor: 1.5, maxRetries: 3 }
      })
      yield* Effect.promise(() => client.connect(transport))
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close().catch(() => undefined))
  )

const text = (result: { content?: unknown }) => JSON.stringify(result.content)

const longRunning = (client: Client, onProgress: (progress: number) => void) =>
  Effect.promise(() =>
    client.callTool(
      { name: "everything__trigger-long-running-operation", arguments: { duration: 0.9, steps: 3 } },
      { onprogress: (update) => onProgress(update.progress) }
    )
  )

layer(defaultStack, { timeout: 60_000, excludeTestServices: true })("/mcp over the default embedded stack", (it) => {
  for (const era of ["auto", "legacy"] as const) {
    it.effect(`an SDK client (${era}) negotiates its era, lists every embedded server's tools, calls one on each, reads a resource, gets a prompt`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { client, transport } = yield* connect(era)
        // `auto` probes with server/discover and must land on 2026-07-28 (stateless, no session); legacy initializes.
        assert.strictEqual(client.getProtocolEra(), era === "auto" ? "modern" : "legacy")
        assert.strictEqual(client.getNegotiatedProtocolVersion(), era === "auto" ? "2026-07-28" : "2025-11-25")
        assert.strictEqual(transport.sessionId === undefined, era === "auto")

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
        const read = yield* Effect.promise(() => client.readResource({ uri: resource?.uri ?? "" }))
        assert.isAbove(read.contents.length, 0)
        const prompt = yield* Effect.promise(() => client.getPrompt({ name: "everything__simple-prompt" }))
        assert.isAbove(prompt.messages.length, 0)
      })))

    it.effect(`an SDK client (${era}) gets the progress of its own calls only, and answers a sampling request`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { client } = yield* connect(era)
        const progress = { a: [] as Array<number>, b: [] as Array<number> }
        yield* Effect.all([
          longRunning(client, (value) => void progress.a.push(value)),
          longRunning(client, (value) => void progress.b.push(value))
        ], { concurrency: 2 })
        assert.deepStrictEqual(progress, { a: [1, 2, 3], b: [1, 2, 3] })
        // A modern client gets the question as input_required (the SDK answers and retries); a legacy one as a request.
        const sampled = yield* Effect.promise(() =>
          client.callTool({ name: "everything__trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 5 } })
        )
        assert.include(text(sampled), `sampled by the ${era} client`)
      })))

    it.effect(`an SDK client (${era}) terminates its session with terminateSession()`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { client, transport } = yield* connect(era)
        const sessionId = transport.sessionId
        yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: "before" } }))
        yield* Effect.promise(() => transport.terminateSession())
        assert.isUndefined(transport.sessionId)
        if (era === "legacy") {
          // The gateway forgot the session: its id gets 404, so a client knows to initialize again.
          assert.isDefined(sessionId)
          const after = yield* postMcp({ jsonrpc: "2.0", id: 9, method: "tools/list" }, {
            authorization: `Bearer ${token}`,
            "mcp-session-id": sessionId ?? "",
            "mcp-protocol-version": "2025-11-25"
          })
          assert.strictEqual(after.status, 404)
        } else {
          // 2026-07-28 has no session: there is nothing to end, and the client goes on working.
          assert.isUndefined(sessionId)
          const echo = yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: "after" } }))
          assert.include(text(echo), "Echo: after")
        }
      })))
  }

  it.effect("a legacy client whose answer stream drops resumes it by itself (Last-Event-ID) and loses nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const resumedFrom: Array<string> = []
      let dropped = false
      // Between the client and the gateway: the first long call's answer stream ends right after its first event,
      // as a dropped connection would; every GET carrying Last-Event-ID is noted.
      const dropping: typeof fetch = async (input, init) => {
        const lastEventId = new Headers(init?.headers).get("last-event-id")
        if (init?.method === "GET" && lastEventId !== null) resumedFrom.push(lastEventId)
        const response = await fetch(input, init)
        const isLongCall = typeof init?.body === "string" && init.body.includes("trigger-long-running-operation")
        if (dropped || !isLongCall || response.body === null || !response.headers.get("content-type")?.includes("text/event-stream")) {
          return response
        }
        dropped = true
        const reader = response.body.getReader()
        const decoder = new TextDecoder()
        let seen = ""
        const cut = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { value, done } = await reader.read()
            if (done) return controller.close()
            controller.enqueue(value)
            seen += decoder.decode(value, { stream: true })
            if (seen.includes("\n\n")) {
              await reader.cancel()
              controller.close()
            }
          }
        })
        return new Response(cut, { status: response.status, headers: response.headers })
      }
      const { client } = yield* connect("legacy", dropping)
      const progress: Array<number> = []
      const result = yield* longRunning(client, (value) => void progress.push(value))
      assert.isTrue(dropped)
      assert.strictEqual(resumedFrom.length, 1, "the SDK client resumed the stream once")
      assert.include(text(result), "Long running operation completed")
      assert.deepStrictEqual(progress, [1, 2, 3], "what came while the stream was down was replayed")
    })))

  it.effect("a modern client listens: a resource list change reaches it on its listen stream", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* connect("auto")
      const changed = yield* Deferred.make<void>()
      client.setNotificationHandler("notifications/resources/list_changed", () => void Deferred.doneUnsafe(changed, Exit.void))
      const subscription = yield* Effect.promise(() => client.listen({ resourcesListChanged: true }))
      assert.isTrue(subscription.honoredFilter.resourcesListChanged)
      // server-everything registers a resource for each file it compresses, and says its resource list changed.
      yield* Effect.promise(() =>
        client.callTool({ name: "everything__gzip-file-as-resource", arguments: { name: "listened.txt.gz", data: "data:text/plain,listened" } })
      )
      yield* Deferred.await(changed).pipe(Effect.timeout("10 seconds"))
      yield* Effect.promise(() => subscription.close())
    })))
})
