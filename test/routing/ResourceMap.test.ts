import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"
import * as ResourceMap from "../../src/routing/ResourceMap.ts"
import * as Router from "../../src/routing/Router.ts"

const part = (serverId: string, uris: ReadonlyArray<string>) => ({
  serverId,
  result: { resources: uris.map((uri) => ({ uri, name: uri })) }
})

describe("ResourceMap", () => {
  it("maps each URI to the first server offering it and reports the others as conflicts", () => {
    const { map, conflicts } = ResourceMap.withResources(ResourceMap.empty, [
      part("a", ["file:///x", "file:///y"]),
      part("b", ["file:///y", "mem://z"])
    ])
    assert.strictEqual(ResourceMap.serverOf(map, "file:///x"), "a")
    assert.strictEqual(ResourceMap.serverOf(map, "file:///y"), "a")
    assert.strictEqual(ResourceMap.serverOf(map, "mem://z"), "b")
    assert.deepStrictEqual(conflicts, [{ uri: "file:///y", kept: "a", serverId: "b" }])
  })

  it("a server's new list replaces what it offered before; templates match URIs", () => {
    const first = ResourceMap.withResources(ResourceMap.empty, [part("a", ["file:///old"])]).map
    const second = ResourceMap.withResources(first, [part("a", ["file:///new"])]).map
    assert.isUndefined(ResourceMap.serverOf(second, "file:///old"))
    assert.strictEqual(ResourceMap.serverOf(second, "file:///new"), "a")
    const templated = ResourceMap.withTemplates(second, [
      { serverId: "b", result: { resourceTemplates: [{ uriTemplate: "notes://{id}/text", name: "note" }] } }
    ])
    assert.strictEqual(ResourceMap.serverOf(templated, "notes://42/text"), "b")
    assert.isUndefined(ResourceMap.serverOf(templated, "other://42"))
  })

  it("the session's server order decides who keeps a URI or a template, whichever server listed last", () => {
    const templates = (serverId: string) => ({ serverId, result: { resourceTemplates: [{ uriTemplate: "gh://{owner}/{repo}", name: "repo" }] } })
    let map = ResourceMap.withTemplates(ResourceMap.ordered(["a", "b"]), [templates("b"), templates("a")])
    assert.strictEqual(ResourceMap.serverOf(map, "gh://x/y"), "a", "a comes first in the session, though b answered first")
    // a lists again (its list changed): it keeps its rank.
    map = ResourceMap.withTemplates(map, [templates("a")])
    assert.strictEqual(ResourceMap.serverOf(map, "gh://x/y"), "a")
    // A URI both offer: a's, until a no longer offers it; then b's, with no listing of b's needed.
    map = ResourceMap.withResources(map, [part("b", ["file:///shared"]), part("a", ["file:///shared"])]).map
    assert.strictEqual(ResourceMap.serverOf(map, "file:///shared"), "a")
    map = ResourceMap.withResources(map, [part("a", [])]).map
    assert.strictEqual(ResourceMap.serverOf(map, "file:///shared"), "b")
  })

  it("a completion ref names a template by its text: the server that lists exactly it, not one whose template matches the text", () => {
    const resources = ResourceMap.withTemplates(ResourceMap.ordered(["any", "search"]), [
      { serverId: "any", result: { resourceTemplates: [{ uriTemplate: "{+anything}", name: "anything" }] } },
      { serverId: "search", result: { resourceTemplates: [{ uriTemplate: "search://items{?q}", name: "search" }] } }
    ])
    const client = { servers: ["any", "search"], namespacing: "on" } as const
    const route = Router.resolve({
      jsonrpc: "2.0",
      id: 1,
      method: "completion/complete",
      params: { ref: { type: "ref/resource", uri: "search://items{?q}" }, argument: { name: "q", value: "x" } }
    }, client, new Map(), resources)
    assert.isTrue(Result.isSuccess(route) && route.success._tag === "Single" && route.success.serverId === "search")
  })

  it("routes resources/read, subscribe and completion by URI or prompt name; an unknown URI is ambiguous", () => {
    const resources = ResourceMap.withResources(ResourceMap.empty, [part("fs", ["file:///a"])]).map
    const client = { servers: ["fs", "notes"], namespacing: "on" } as const
    for (const method of ["resources/read", "resources/subscribe", "resources/unsubscribe"]) {
      const route = Router.resolve({ jsonrpc: "2.0", id: 1, method, params: { uri: "file:///a" } }, client, new Map(), resources)
      assert.isTrue(Result.isSuccess(route) && route.success._tag === "Single" && route.success.serverId === "fs")
    }
    const unknown = Router.resolve({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "file:///b" } }, client, new Map(), resources)
    assert.isTrue(Result.isFailure(unknown) && unknown.failure._tag === "AmbiguousMethod")

    const prompt = Router.resolve({
      jsonrpc: "2.0",
      id: 2,
      method: "completion/complete",
      params: { ref: { type: "ref/prompt", name: "notes__summary" }, argument: { name: "x", value: "y" } }
    }, client, new Map(), resources)
    assert.isTrue(Result.isSuccess(prompt))
    if (Result.isSuccess(prompt) && prompt.success._tag === "Single") {
      assert.strictEqual(prompt.success.serverId, "notes")
      assert.deepStrictEqual(prompt.success.message.params?.["ref"], { type: "ref/prompt", name: "summary" })
    }
    const byUri = Router.resolve({
      jsonrpc: "2.0",
      id: 3,
      method: "completion/complete",
      params: { ref: { type: "ref/resource", uri: "file:///a" }, argument: { name: "x", value: "y" } }
    }, client, new Map(), resources)
    assert.isTrue(Result.isSuccess(byUri) && byUri.success._tag === "Single" && byUri.success.serverId === "fs")
  })
})
