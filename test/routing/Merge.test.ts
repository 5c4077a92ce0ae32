import { assert, describe, it } from "@effect/vitest"
import * as Namespacing from "../../src/protocol/Namespacing.ts"
import * as Merge from "../../src/routing/Merge.ts"

const itemsOf = (result: { readonly [key: string]: unknown }, key: string): ReadonlyArray<Record<string, unknown>> => {
  const list = result[key]
  return Array.isArray(list) ? list : assert.fail(`no list under ${key}`)
}
const namesOf = (result: { readonly [key: string]: unknown }, key: string) =>
  itemsOf(result, key).map((item) => item["name"])

const long = (tag: string) => `${tag}_${"a_rather_long_descriptive_tool_name_".repeat(3)}`

describe("Merge.listKey", () => {
  it("names each broadcast method's MCP result key", () => {
    assert.strictEqual(Merge.listKey("tools/list"), "tools")
    assert.strictEqual(Merge.listKey("resources/list"), "resources")
    assert.strictEqual(Merge.listKey("resources/templates/list"), "resourceTemplates")
    assert.strictEqual(Merge.listKey("prompts/list"), "prompts")
  })
})

describe("Merge.namespacePart", () => {
  it("namespaces tool names and keeps every other field of the items and of the result", () => {
    const tool = {
      name: "read_file",
      title: "Read",
      description: "reads",
      inputSchema: { type: "object" },
      annotations: { readOnlyHint: true },
      _meta: { x: 1 }
    }
    const part = Merge.namespacePart("tools/list", "filesystem", { tools: [tool], nextCursor: "n", _meta: { m: 2 } })
    assert.deepStrictEqual(part, {
      serverId: "filesystem",
      result: { tools: [{ ...tool, name: "filesystem__read_file" }], nextCursor: "n", _meta: { m: 2 } },
      names: new Map(),
      dropped: []
    })
  })

  it("bounds tool and prompt names to 64 characters and maps the shortened ones back", () => {
    for (const [method, key] of [["tools/list", "tools"], ["prompts/list", "prompts"]] as const) {
      const part = Merge.namespacePart(method, "memory", { [key]: [{ name: "short" }, { name: long("x") }] })
      const [plain, shortened] = namesOf(part.result, key)
      assert.strictEqual(plain, "memory__short")
      assert.strictEqual(shortened, Namespacing.joinBounded("memory", long("x")))
      assert.isAtMost(String(shortened).length, 64)
      // Only the shortened name needs an entry: the plain one splits back exactly.
      assert.deepStrictEqual([...part.names], [[shortened, { serverId: "memory", name: long("x") }]])
    }
  })

  it("namespaces resource and template names with a plain join, keeping uri and uriTemplate", () => {
    const name = "n".repeat(80)
    const resources = Merge.namespacePart("resources/list", "fs", {
      resources: [{ uri: "file:///a", name, mimeType: "text/plain" }, { uri: "file:///nameless" }]
    })
    assert.deepStrictEqual(resources.result, {
      resources: [{ uri: "file:///a", name: `fs__${name}`, mimeType: "text/plain" }, { uri: "file:///nameless" }]
    })
    assert.strictEqual(resources.names.size, 0)
    const templates = Merge.namespacePart("resources/templates/list", "fs", {
      resourceTemplates: [{ uriTemplate: "file:///{path}", name: "files" }]
    })
    assert.deepStrictEqual(templates.result, {
      resourceTemplates: [{ uriTemplate: "file:///{path}", name: "fs__files" }]
    })
  })

  it("drops the shortened name that collides with a real one, whatever the order, and says so", () => {
    const longName = "z".repeat(80)
    const real = Namespacing.split(Namespacing.joinBounded("fs", longName) ?? "")?.name
    if (real === undefined) return assert.fail("no short form")
    for (const order of [[longName, real], [real, longName]]) {
      const part = Merge.namespacePart("tools/list", "fs", { tools: order.map((name) => ({ name })) })
      assert.deepStrictEqual(namesOf(part.result, "tools"), [Namespacing.join("fs", real)])
      assert.deepStrictEqual(part.dropped, [
        { serverId: "fs", method: "tools/list", name: longName, reason: "collision" }
      ])
      // The real tool keeps its name: no entry sends it elsewhere.
      assert.strictEqual(part.names.size, 0)
    }
  })

  it("drops tools without a name, and names a server id leaves no room for", () => {
    const serverId = "s".repeat(60)
    const part = Merge.namespacePart("tools/list", serverId, {
      tools: [{ name: "ok" }, { name: "x".repeat(10) }, { description: "nameless" }, { name: "" }, "junk", null]
    })
    assert.deepStrictEqual(namesOf(part.result, "tools"), [`${serverId}__ok`])
    assert.deepStrictEqual(part.dropped.map(({ name, reason }) => [name, reason]), [
      [undefined, "invalid"],
      [undefined, "invalid"],
      [undefined, "invalid"],
      [undefined, "invalid"],
      ["x".repeat(10), "no_room"]
    ])
  })

  it("treats a missing list as empty and a malformed one as dropped", () => {
    assert.deepStrictEqual(Merge.namespacePart("prompts/list", "p", {}).result, { prompts: [] })
    const malformed = Merge.namespacePart("prompts/list", "p", { prompts: "nope" })
    assert.deepStrictEqual(malformed.result, { prompts: [] })
    assert.strictEqual(malformed.dropped[0]?.reason, "invalid")
  })

  it("does not change the result it was given", () => {
    const result = { tools: [{ name: long("y") }, { name: "t" }] }
    const copy = structuredClone(result)
    Merge.namespacePart("tools/list", "fs", result)
    assert.deepStrictEqual(result, copy)
  })
})

describe("Merge.merge", () => {
  it("lists items in server order then backend order, with errors and without nextCursor", () => {
    const parts = [
      Merge.namespacePart("tools/list", "b", { tools: [{ name: "b1" }, { name: "b2" }], nextCursor: "x" }),
      Merge.namespacePart("tools/list", "a", { tools: [{ name: "a1" }], _meta: { ignored: true } })
    ]
    const merged = Merge.merge("tools/list", parts, [
      { serverId: "c", error: { code: -32001, message: "timed out" } },
      { serverId: "d", error: { code: "backend_unavailable", message: "down" } }
    ])
    assert.deepStrictEqual(merged, {
      tools: [{ name: "b__b1" }, { name: "b__b2" }, { name: "a__a1" }],
      errors: [
        { server_id: "c", code: -32001, message: "timed out" },
        { server_id: "d", code: "backend_unavailable", message: "down" }
      ]
    })
  })

  it("always has errors, and the list under the method's key", () => {
    assert.deepStrictEqual(Merge.merge("resources/templates/list", [], []), { resourceTemplates: [], errors: [] })
    assert.deepStrictEqual(
      Merge.merge("prompts/list", [Merge.namespacePart("prompts/list", "p", { prompts: [{ name: "q" }] })], []),
      { prompts: [{ name: "p__q" }], errors: [] }
    )
    assert.deepStrictEqual(
      Merge.merge("resources/list", [], [{ serverId: "r", error: { code: 1, message: "m" } }]),
      { resources: [], errors: [{ server_id: "r", code: 1, message: "m" }] }
    )
  })
})

describe("Merge names", () => {
  it("builds and extends a NameMap from parts without changing the one it was given", () => {
    const tools = Merge.namespacePart("tools/list", "a", { tools: [{ name: long("t") }] })
    const prompts = Merge.namespacePart("prompts/list", "b", { prompts: [{ name: long("p") }] })
    const first = Merge.namesFromParts([tools])
    const both = Merge.extendNames(first, prompts.names)
    assert.strictEqual(first.size, 1)
    assert.strictEqual(both.size, 2)
    assert.deepStrictEqual([...both.values()], [{ serverId: "a", name: long("t") }, { serverId: "b", name: long("p") }])
    assert.deepStrictEqual(Merge.namesFromParts([tools, prompts]), both)
    assert.strictEqual(Merge.emptyNames.size, 0)
  })
})
