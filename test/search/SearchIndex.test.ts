import { assert, describe, it } from "@effect/vitest"
import { SearchIndex } from "../../src/search/SearchIndex.ts"

const tools = {
  github: [
    { name: "create_issue", description: "Create a new issue in a GitHub repository", inputSchema: { properties: { title: { type: "string" }, body: { type: "string" } }, required: ["title"] } },
    { name: "list_pull_requests", description: "List pull requests of a repository" }
  ],
  slack: [
    { name: "postMessage", description: "Send a message to a Slack channel", inputSchema: { properties: { channel: { type: "string", description: "Channel name" }, text: { type: "string" } } } },
    { name: "deleteMessage", description: "Remove a message from a channel" }
  ]
}

const make = () => {
  const index = new SearchIndex()
  for (const [serverId, list] of Object.entries(tools)) index.setServer(serverId, list)
  return index
}

describe("SearchIndex", () => {
  it("ranks by relevance across names, descriptions and parameters, with namespaced names and a compact input", () => {
    const index = make()
    const [first] = index.search("open a ticket on github")
    assert.strictEqual(first?.name, "github__create_issue")
    assert.strictEqual(first?.serverId, "github")
    assert.deepStrictEqual(first?.parameters, ["title: string", "body?: string"])
    assert.strictEqual(index.search("send a chat message to a channel")[0]?.name, "slack__postMessage")
    assert.strictEqual(index.search("delete a slack message")[0]?.name, "slack__deleteMessage")
  })

  it("limits to the servers asked for and to `limit` hits", () => {
    const index = make()
    assert.deepStrictEqual(index.search("message", { servers: new Set(["github"]) }), [])
    assert.lengthOf(index.search("message", { limit: 1 }), 1)
  })

  it("re-indexes one server without touching the others, and drops a server that goes away", () => {
    const index = make()
    index.setServer("github", [{ name: "merge_pull_request", description: "Merge a pull request" }])
    assert.isEmpty(index.search("create issue").filter((hit) => hit.serverId === "github"))
    assert.strictEqual(index.search("merge a pull request")[0]?.name, "github__merge_pull_request")
    assert.strictEqual(index.search("send message")[0]?.serverId, "slack")
    index.removeServer("slack")
    assert.isEmpty(index.search("send message"))
    assert.strictEqual(index.size, 1)
  })

  it("ranks a query the same however often it was asked and its servers re-indexed", () => {
    const index = make()
    const queries = ["open a ticket on github", "send a chat message to a channel", "delete a message", "pull requests"]
    const first = queries.map((query) => index.search(query))
    // Re-indexing frees documents and reuses their places: nothing of the old ones may linger in a ranking.
    for (let i = 0; i < 3; i++) index.setServer("github", tools.github)
    index.setServer("slack", [])
    index.setServer("slack", tools.slack)
    assert.deepStrictEqual(queries.map((query) => index.search(query)), first)
    assert.deepStrictEqual(queries.map((query) => index.search(query)), first)
    assert.strictEqual(index.size, 4)
  })

  it("ranks ties by indexing order, and fills `limit` from the servers asked for only", () => {
    const index = new SearchIndex()
    for (const serverId of ["one", "two", "three"]) index.setServer(serverId, tools.slack)
    const servers = index.search("post a message", { limit: 3 }).map((hit) => hit.serverId)
    assert.deepStrictEqual(servers, ["one", "two", "three"])
    const hits = index.search("post a message", { limit: 2, servers: new Set(["three"]) })
    assert.deepStrictEqual(hits.map((hit) => hit.name), ["three__postMessage", "three__deleteMessage"])
  })
})
