import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Result, Schema } from "effect"
import type * as JsonRpc from "../../src/protocol/JsonRpc.ts"
import * as Namespacing from "../../src/protocol/Namespacing.ts"
import * as Merge from "../../src/routing/Merge.ts"
import * as Router from "../../src/routing/Router.ts"
import { AmbiguousMethod, Forbidden } from "../../src/routing/RoutingErrors.ts"

const client: Router.Client = { servers: ["filesystem", "memory"], namespacing: "on" }
const solo: Router.Client = { servers: ["everything"], namespacing: "off" }

const request = (method: string, params?: Record<string, unknown>): JsonRpc.Request =>
  params === undefined ? { jsonrpc: "2.0", id: 7, method } : { jsonrpc: "2.0", id: 7, method, params }

const notification = (method: string, params?: Record<string, unknown>): JsonRpc.Notification =>
  params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params }

const route = <M extends Router.ClientMessage>(
  message: M,
  who: Router.Client = client,
  names: Merge.NameMap = Merge.emptyNames
): Router.Route<M> => {
  const result = Router.resolve(message, who, names)
  if (Result.isFailure(result)) return assert.fail(`expected a route, got ${result.failure.message}`)
  return result.success
}

const failure = (
  message: Router.ClientMessage,
  who: Router.Client = client,
  names: Merge.NameMap = Merge.emptyNames
): Router.RoutingError => {
  const result = Router.resolve(message, who, names)
  if (Result.isSuccess(result)) return assert.fail(`expected an error, got ${JSON.stringify(result.success)}`)
  return result.failure
}

/** The exposed names in a namespaced tools/list part. */
const exposedNames = (part: Merge.NamespacedPart): ReadonlyArray<string> => {
  const tools = part.result["tools"]
  if (!Array.isArray(tools)) return assert.fail("no tools")
  return tools.map((tool: { readonly name?: unknown }) => String(tool.name))
}

const single = <M extends Router.ClientMessage>(routed: Router.Route<M>): Router.Single<M> => {
  if (routed._tag !== "Single") return assert.fail(`expected Single, got ${routed._tag}`)
  return routed
}

describe("Router.resolve: method-namespaced", () => {
  it("sends <server>__<method> to that server as <method>, params and other fields untouched", () => {
    const message = { ...request("filesystem__tools/call", { name: "memory__x", arguments: { a: 1 } }), extra: true }
    const routed = single(route(message))
    assert.strictEqual(routed.serverId, "filesystem")
    assert.deepStrictEqual(routed.message, {
      jsonrpc: "2.0",
      id: 7,
      method: "tools/call",
      params: { name: "memory__x", arguments: { a: 1 } },
      extra: true
    })
  })

  it("works for any method, list methods included (no broadcast, no namespacing)", () => {
    for (const method of ["tools/list", "resources/read", "ping", "completion/complete", "logging/setLevel"]) {
      const routed = single(route(request(`memory__${method}`)))
      assert.strictEqual(routed.serverId, "memory")
      assert.strictEqual(routed.message.method, method)
    }
  })

  it("routes namespaced notifications", () => {
    const routed = single(route(notification("filesystem__notifications/roots/list_changed")))
    assert.deepStrictEqual(routed, {
      _tag: "Single",
      serverId: "filesystem",
      message: { jsonrpc: "2.0", method: "notifications/roots/list_changed" }
    })
  })

  it("splits at the first __ only", () => {
    const routed = single(route(request("memory__x__y/z")))
    assert.strictEqual(routed.serverId, "memory")
    assert.strictEqual(routed.message.method, "x__y/z")
  })

  it("does not change the message it was given", () => {
    const message = request("filesystem__tools/call", { name: "read_file" })
    const copy = structuredClone(message)
    route(message)
    assert.deepStrictEqual(message, copy)
  })

  it("refuses a server the client may not use, and an unknown one, with the same error", () => {
    const notAllowed = failure(request("secret__tools/call"), client)
    const unknown = failure(request("nosuchserver__tools/call"), client)
    assert.instanceOf(notAllowed, Forbidden)
    assert.instanceOf(unknown, Forbidden)
    // Only the id the client itself sent differs: nothing says whether either server exists.
    assert.strictEqual(notAllowed.message.replace("secret", "X"), unknown.message.replace("nosuchserver", "X"))
    assert.deepStrictEqual(failure(request("secret__tools/call")), new Forbidden({ serverId: "secret" }))
    assert.instanceOf(failure(notification("secret__notifications/x")), Forbidden)
  })

  it("does not take a prefix that is not a valid server id for a server", () => {
    for (const method of ["bad.id__tools/call", "a/b__c", "__tools/call", "filesystem__", "a b__ping"]) {
      assert.deepStrictEqual(failure(request(method)), new AmbiguousMethod({ method }), method)
    }
  })
})

describe("Router.resolve: name-namespaced", () => {
  it("sends tools/call and prompts/get to the named server with the backend's own name", () => {
    for (const method of ["tools/call", "prompts/get"]) {
      const params = { name: "filesystem__read_file", arguments: { path: "/x" }, _meta: { progressToken: 3 } }
      const routed = single(route(request(method, params)))
      assert.strictEqual(routed.serverId, "filesystem")
      assert.deepStrictEqual(routed.message, {
        jsonrpc: "2.0",
        id: 7,
        method,
        params: { name: "read_file", arguments: { path: "/x" }, _meta: { progressToken: 3 } }
      })
    }
  })

  it("keeps a __ inside the backend's own name", () => {
    const routed = single(route(request("tools/call", { name: "memory__create__entities" })))
    assert.strictEqual(routed.serverId, "memory")
    assert.strictEqual(routed.message.params?.["name"], "create__entities")
  })

  it("refuses a forbidden or unknown server in the name with the same error", () => {
    assert.deepStrictEqual(
      failure(request("tools/call", { name: "secret__read_file" })),
      new Forbidden({ serverId: "secret" })
    )
    assert.deepStrictEqual(
      failure(request("prompts/get", { name: "nosuchserver__p" })),
      new Forbidden({ serverId: "nosuchserver" })
    )
  })

  it("is ambiguous when the name names no server", () => {
    for (const params of [{ name: "read_file" }, { name: "bad.id__x" }, { name: "filesystem__" }, { name: 3 }, {}]) {
      assert.deepStrictEqual(failure(request("tools/call", params)), new AmbiguousMethod({ method: "tools/call" }))
    }
    assert.deepStrictEqual(failure(request("prompts/get")), new AmbiguousMethod({ method: "prompts/get" }))
  })

  it("maps a shortened name back through the NameMap, and only to an allowed server", () => {
    const long = "create_a_very_long_named_entity_in_the_knowledge_graph_with_relations"
    const part = Merge.namespacePart("tools/list", "memory", { tools: [{ name: long, inputSchema: {} }] })
    const exposed = exposedNames(part)[0] ?? ""
    assert.isAtMost(exposed.length, 64)
    const names = Merge.namesFromParts([part])

    const routed = single(route(request("tools/call", { name: exposed, arguments: {} }), client, names))
    assert.strictEqual(routed.serverId, "memory")
    assert.strictEqual(routed.message.params?.["name"], long)

    assert.deepStrictEqual(
      failure(request("tools/call", { name: exposed }), { servers: ["filesystem"], namespacing: "on" }, names),
      new Forbidden({ serverId: "memory" })
    )
    // Without the map the name still goes to its server, but as the shortened tail the backend does not have.
    assert.notStrictEqual(single(route(request("tools/call", { name: exposed }))).message.params?.["name"], long)
  })
})

describe("Router.resolve: broadcast", () => {
  it("sends the four list methods to every allowed server, the request unchanged", () => {
    for (const method of ["tools/list", "resources/list", "resources/templates/list", "prompts/list"] as const) {
      const message = request(method, { cursor: "c1" })
      assert.deepStrictEqual(route(message), { _tag: "Broadcast", method, serverIds: client.servers, message })
    }
  })

  it("broadcasts to no server at all when the client may use none", () => {
    const routed = route(request("tools/list"), { servers: [], namespacing: "on" })
    assert.deepStrictEqual(routed._tag === "Broadcast" ? routed.serverIds : undefined, [])
  })
})

describe("Router.resolve: notifications that name no server", () => {
  it("are Local, for the session to handle", () => {
    for (
      const message of [
        notification("notifications/cancelled", { requestId: 7, reason: "user" }),
        notification("notifications/initialized"),
        notification("notifications/roots/list_changed"),
        notification("notifications/progress", { progressToken: 1, progress: 1 }),
        notification("tools/list")
      ]
    ) {
      assert.deepStrictEqual(route(message), { _tag: "Local", message })
    }
  })
})

describe("Router.resolve: ambiguous", () => {
  it("refuses requests that name no server, with a message naming the forms that work", () => {
    for (const method of ["ping", "initialize", "resources/read", "completion/complete", "tools/call/extra"]) {
      const error = failure(request(method, { uri: "file:///x" }))
      assert.deepStrictEqual(error, new AmbiguousMethod({ method }))
      assert.include(error.message, `<server>__${method}`)
      assert.include(error.message, "tools/list")
    }
  })
})

describe("Router.resolve: namespacing off", () => {
  it("sends every request to the one server unchanged, list methods and __ names included", () => {
    for (
      const message of [
        request("tools/call", { name: "filesystem__read_file" }),
        request("tools/call", { name: "plain" }),
        request("tools/list"),
        request("resources/read", { uri: "file:///x" }),
        request("other__tools/call"),
        request("ping")
      ]
    ) {
      assert.deepStrictEqual(route(message, solo), { _tag: "Single", serverId: "everything", message })
    }
  })

  it("leaves notifications to the session", () => {
    const message = notification("notifications/cancelled", { requestId: 1 })
    assert.deepStrictEqual(route(message, solo), { _tag: "Local", message })
    const named = notification("everything__notifications/x")
    assert.deepStrictEqual(route(named, solo), { _tag: "Local", message: named })
  })

  it("falls back to the explicit rules unless exactly one server is allowed", () => {
    const two: Router.Client = { servers: ["a", "b"], namespacing: "off" }
    assert.strictEqual(route(request("tools/list"), two)._tag, "Broadcast")
    assert.strictEqual(single(route(request("tools/call", { name: "b__t" }), two)).serverId, "b")
    assert.instanceOf(failure(request("tools/call", { name: "t" }), two), AmbiguousMethod)
    assert.instanceOf(failure(request("x__ping"), { servers: [], namespacing: "off" }), Forbidden)
  })
})

// Any valid server id (see test/protocol/Namespacing.test.ts for why it is repaired rather than generated).
const anyServerId = Arbitrary.schema(Schema.String.check(Schema.isPattern(/^[a-zA-Z0-9_-]+$/))).pipe(
  Arbitrary.map((s) => s.replace(/_+/g, "_").replace(/_$/, "x"))
)

describe("Router.resolve: properties", () => {
  it.prop(
    "a namespaced method reaches its server as the method's own part",
    { serverId: anyServerId, method: Schema.NonEmptyString },
    ({ serverId, method }) => {
      const who: Router.Client = { servers: [serverId], namespacing: "on" }
      const routed = single(route(request(Namespacing.join(serverId, method)), who))
      assert.strictEqual(routed.serverId, serverId)
      assert.strictEqual(routed.message.method, method)
    }
  )

  it.prop(
    "a namespaced tool name reaches its server as the backend's own name",
    { serverId: anyServerId, name: Schema.NonEmptyString },
    ({ serverId, name }) => {
      const message = request("tools/call", { name: Namespacing.join(serverId, name) })
      const routed = single(route(message, { servers: [serverId], namespacing: "on" }))
      assert.strictEqual(routed.serverId, serverId)
      assert.strictEqual(routed.message.params?.["name"], name)
    }
  )

  it.prop(
    "a server the client may not use is Forbidden, whichever form names it",
    { serverId: anyServerId, name: Schema.NonEmptyString },
    ({ serverId, name }) => {
      if (serverId === "allowed") return
      const who: Router.Client = { servers: ["allowed"], namespacing: "on" }
      const namespaced = Namespacing.join(serverId, name)
      for (const message of [request(namespaced), request("prompts/get", { name: namespaced })]) {
        assert.deepStrictEqual(failure(message, who), new Forbidden({ serverId }))
      }
    }
  )

  it.prop(
    "every tool of a merged tools/list can be called back by its exposed name",
    {
      serverId: anyServerId.pipe(Arbitrary.map((s) => s.slice(0, 53).replace(/_$/, "x"))),
      names: Schema.Array(Schema.NonEmptyString)
    },
    ({ serverId, names }) => {
      const tools = names.map((name) => ({ name: `${name}${"_padding".repeat(8)}` }))
      const part = Merge.namespacePart("tools/list", serverId, { tools })
      const map = Merge.namesFromParts([part])
      const exposed = exposedNames(part)
      assert.strictEqual(exposed.length + part.dropped.length, tools.length)
      const who: Router.Client = { servers: [serverId], namespacing: "on" }
      exposed.forEach((name, i) => {
        assert.isAtMost(name.length, 64)
        const routed = single(route(request("tools/call", { name }), who, map))
        assert.strictEqual(routed.serverId, serverId)
        assert.include(tools.map((tool) => tool.name), routed.message.params?.["name"], String(i))
      })
    }
  )
})
