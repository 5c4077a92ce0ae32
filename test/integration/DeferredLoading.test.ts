import { assert, layer } from "@effect/vitest"
import { Effect, Queue, Stream } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { type Event, events, gatewayLayer, send } from "../support/GatewayHttp.ts"

const deferredToken = "deferred-token-0123456789"
const narrowToken = "narrow-token-0123456789"
const fullToken = "full-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] },
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] }
  },
  clients: {
    agent: { token: deferredToken, servers: "*", deferredLoading: true },
    narrow: { token: narrowToken, servers: ["fixture"], deferredLoading: true },
    full: { token: fullToken, servers: "*" }
  }
}

const gatewayToolNames = ["gateway__search_tools", "gateway__activate_tools", "gateway__deactivate_tools"]

/** A session with its stream read into a queue: `request` posts and waits for the answer with that id. */
const openSession = (token: string) =>
  Effect.gen(function*() {
    const created = yield* send("POST", "/gateway/stream", { token })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    const session = created.body as { stream_url: string; request_url: string }
    const stream = yield* events(session.stream_url, token)
    const seen = yield* Queue.unbounded<Event>()
    yield* stream.events.pipe(Stream.runForEach((event) => Queue.offer(seen, event)), Effect.forkScoped)
    const next = Queue.take(seen).pipe(Effect.timeout("20 seconds"), Effect.orDie)
    const request = (id: string, method: string, params: Record<string, unknown> = {}) =>
      Effect.gen(function*() {
        const accepted = yield* send("POST", session.request_url, { token, body: { jsonrpc: "2.0", id, method, params } })
        assert.strictEqual(accepted.status, 202, JSON.stringify(accepted.body))
        const before: Array<Event> = []
        for (;;) {
          const event = yield* next
          if (event.event === "response" && event.data.response.id === id) return { response: event.data.response, before }
          before.push(event)
        }
      })
    return { request, next }
  })

const toolNames = (response: any): Array<string> => response.result.tools.map((tool: { name: string }) => tool.name)
const textOf = (response: any): string => response.result.content[0].text

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("deferred tool loading", (it) => {
  it.effect("a deferred client lists the gateway's tools, searches, activates, and calls what it activated", () =>
    Effect.scoped(Effect.gen(function*() {
      const agent = yield* openSession(deferredToken)
      const initial = yield* agent.request("list-1", "tools/list")
      assert.deepStrictEqual(toolNames(initial.response), gatewayToolNames)

      const found = yield* agent.request("search", "tools/call", {
        name: "gateway__search_tools",
        arguments: { query: "echo back a message", limit: 5 }
      })
      const hits = found.response.result.structuredContent.tools as Array<any>
      assert.include(hits.map((hit) => hit.name), "everything__echo")
      const echo = hits.find((hit) => hit.name === "everything__echo")
      assert.strictEqual(echo.serverId, "everything")
      assert.deepStrictEqual(echo.parameters, ["message: string"])
      assert.isFalse(echo.activated)
      assert.isAbove(echo.score, 0)

      // Allowed, but not activated: a tool error that says what to do.
      const early = yield* agent.request("early", "tools/call", { name: "everything__echo", arguments: { message: "hi" } })
      assert.isTrue(early.response.result.isError)
      assert.match(textOf(early.response), /not activated.*gateway__search_tools.*gateway__activate_tools/)
      // A name no server offers is not called "not activated": that would say it exists.
      const missing = yield* agent.request("missing", "tools/call", { name: "everything__no_such_tool", arguments: {} })
      assert.isTrue(missing.response.result.isError)
      assert.match(textOf(missing.response), /no tool "everything__no_such_tool" among this session's servers/)
      const byMethod = yield* agent.request("by-method", "everything__tools/call", { name: "echo", arguments: { message: "hi" } })
      assert.isTrue(byMethod.response.result.isError)

      const activated = yield* agent.request("activate", "tools/call", {
        name: "gateway__activate_tools",
        arguments: { names: ["everything__echo", "everything__no_such_tool"] }
      })
      assert.deepStrictEqual(activated.response.result.structuredContent.activated, ["everything__echo"])
      assert.deepStrictEqual(activated.response.result.structuredContent.unknown, ["everything__no_such_tool"])
      const notice = yield* agent.next
      assert.strictEqual(notice.event, "notification")
      assert.strictEqual(notice.data.notification.method, "notifications/tools/list_changed")

      const listed = yield* agent.request("list-2", "tools/list")
      assert.deepStrictEqual(toolNames(listed.response), [...gatewayToolNames, "everything__echo"])
      assert.isObject(listed.response.result.tools[3].inputSchema, "the backend's own definition")
      const called = yield* agent.request("call", "tools/call", { name: "everything__echo", arguments: { message: "hi" } })
      assert.strictEqual(textOf(called.response), "Echo: hi")

      // Another session of the same client starts from the gateway's tools alone.
      const other = yield* openSession(deferredToken)
      assert.deepStrictEqual(toolNames((yield* other.request("list", "tools/list")).response), gatewayToolNames)
      const refused = yield* other.request("call", "tools/call", { name: "everything__echo", arguments: { message: "x" } })
      assert.isTrue(refused.response.result.isError)

      const deactivated = yield* agent.request("deactivate", "tools/call", {
        name: "gateway__deactivate_tools",
        arguments: { names: ["everything__echo"] }
      })
      assert.deepStrictEqual(deactivated.response.result.structuredContent.deactivated, ["everything__echo"])
      assert.strictEqual((yield* agent.next).data.notification.method, "notifications/tools/list_changed")
      assert.deepStrictEqual(toolNames((yield* agent.request("list-3", "tools/list")).response), gatewayToolNames)
    })))

  it.effect("a client without deferred loading on the same gateway sees every tool", () =>
    Effect.scoped(Effect.gen(function*() {
      const full = yield* openSession(fullToken)
      const names = toolNames((yield* full.request("list", "tools/list")).response)
      assert.include(names, "everything__echo")
      assert.include(names, "fixture__echo")
      assert.notInclude(names, "gateway__search_tools")
      const refused = yield* send("POST", "/gateway/stream", { token: fullToken }).pipe(
        Effect.flatMap((created) =>
          send("POST", (created.body as { request_url: string }).request_url, {
            token: fullToken,
            body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "gateway__search_tools", arguments: { query: "x" } } }
          })
        )
      )
      assert.strictEqual(refused.status, 403, "the gateway's tools are for deferred clients only")
    })))

  it.effect("search and activation stay within the client's servers", () =>
    Effect.scoped(Effect.gen(function*() {
      const narrow = yield* openSession(narrowToken)
      const found = yield* narrow.request("search", "tools/call", { name: "gateway__search_tools", arguments: { query: "echo" } })
      const servers = new Set((found.response.result.structuredContent.tools as Array<any>).map((hit) => hit.serverId))
      assert.deepStrictEqual([...servers], ["fixture"])
      const refused = yield* narrow.request("activate", "tools/call", {
        name: "gateway__activate_tools",
        arguments: { names: ["everything__echo"] }
      })
      assert.isTrue(refused.response.result.isError)
      assert.match(textOf(refused.response), /no such tools: everything__echo/)
      const invalid = yield* narrow.request("invalid", "tools/call", { name: "gateway__search_tools", arguments: { limit: 0 } })
      assert.isTrue(invalid.response.result.isError)
      assert.match(textOf(invalid.response), /invalid arguments/)
      const unknown = yield* narrow.request("unknown", "tools/call", { name: "gateway__nope", arguments: {} })
      assert.strictEqual(unknown.response.error.code, -32602)
    })))

  it.effect("the index follows a backend's tools/list_changed: a new tool is found and can be activated", () =>
    Effect.scoped(Effect.gen(function*() {
      const agent = yield* openSession(deferredToken)
      const search = (id: string) =>
        Effect.map(
          agent.request(id, "tools/call", { name: "gateway__search_tools", arguments: { query: "teleport cargo", limit: 3 } }),
          ({ response }) => (response.result.structuredContent.tools as Array<any>).map((hit) => hit.name)
        )
      assert.notInclude(yield* search("before"), "fixture__teleport_cargo")
      yield* agent.request("activate-adder", "tools/call", { name: "gateway__activate_tools", arguments: { names: ["fixture__add-tool"] } })
      yield* agent.request("add", "tools/call", {
        name: "fixture__add-tool",
        arguments: { name: "teleport_cargo", description: "Teleports cargo to a distant warehouse" }
      })
      // Re-indexing follows the backend's notification; a moment later the tool is found.
      let found: ReadonlyArray<string> = []
      for (let attempt = 0; attempt < 50 && !found.includes("fixture__teleport_cargo"); attempt++) {
        found = yield* search(`after-${attempt}`)
        if (!found.includes("fixture__teleport_cargo")) yield* Effect.sleep("50 millis")
      }
      assert.strictEqual(found[0], "fixture__teleport_cargo")
      yield* agent.request("activate", "tools/call", { name: "gateway__activate_tools", arguments: { names: ["fixture__teleport_cargo"] } })
      const called = yield* agent.request("call", "tools/call", { name: "fixture__teleport_cargo", arguments: {} })
      assert.strictEqual(textOf(called.response), "teleport_cargo called")
    })))
})
