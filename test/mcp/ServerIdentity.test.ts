import { assert, describe, it } from "@effect/vitest"
import * as ServerIdentity from "../../src/mcp/ServerIdentity.ts"
import type { ServerSummary } from "../../src/session/Session.ts"

const files: ServerSummary = { id: "files", status: "ready", capabilities: { tools: { listChanged: true }, resources: { listChanged: true } } }
const servers: ReadonlyArray<ServerSummary> = [
  {
    id: "everything",
    status: "ready",
    capabilities: { tools: {}, prompts: { listChanged: true }, resources: { subscribe: true }, logging: {}, completions: {} },
    instructions: "Try the echo tool."
  },
  files,
  { id: "down", status: "failed", error: "spawn failed" }
]
const on = { namespacing: "on", deferredLoading: false } as const

describe("ServerIdentity", () => {
  it("the capabilities are the union of the ready servers' (a failed server adds nothing)", () => {
    assert.deepStrictEqual(ServerIdentity.capabilities(servers, on), {
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { subscribe: true, listChanged: true },
      logging: {},
      completions: {}
    })
  })

  it("a deferred client always has tools whose list changes (the gateway's own search tools)", () => {
    const deferred = ServerIdentity.capabilities([{ id: "bare", status: "ready", capabilities: {} }], { namespacing: "on", deferredLoading: true })
    assert.deepStrictEqual(deferred, { tools: { listChanged: true } })
  })

  it("with namespacing off, the one server's own capabilities", () => {
    assert.deepStrictEqual(ServerIdentity.capabilities([files], { namespacing: "off", deferredLoading: false }), files.capabilities)
  })

  it("the instructions name the servers and how names are written, then what each server says, and who is down", () => {
    const lines = ServerIdentity.instructions(servers, on).split("\n")
    assert.strictEqual(
      lines[0],
      `This MCP gateway serves 3 server(s): everything, files, down. Their tools and prompts are named <server>__<name> (for example "everything__<tool>").`
    )
    assert.deepStrictEqual(lines.slice(1), ["everything: Try the echo tool.", "down: unavailable right now."])
    const off = ServerIdentity.instructions([files], { namespacing: "off", deferredLoading: false })
    assert.strictEqual(off, `This MCP gateway serves the server "files" under its own names.`)
    assert.include(ServerIdentity.instructions(servers, { namespacing: "on", deferredLoading: true }), "gateway__search_tools")
  })
})
