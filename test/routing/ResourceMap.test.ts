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
