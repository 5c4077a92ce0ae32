import { assert, describe, it } from "@effect/vitest"
import type { JSONRPCResponse } from "@modelcontextprotocol/client"
import { Exit } from "effect"
import * as McpMethods from "../../src/protocol/McpMethods.ts"
import * as ParamTools from "../../src/backend/ParamTools.ts"

// The state machine alone, with the server's `tools/list` pages answered by the test when it chooses (the real
// modern fixture covers the same path end to end in test/integration/McpModernHttp.test.ts).

const tool = (name: string, header = "Region") => ({
  name,
  inputSchema: { type: "object", properties: { region: { type: "string", "x-mcp-header": header } } }
})

const page = (tools: ReadonlyArray<unknown>, nextCursor?: string): Exit.Exit<JSONRPCResponse, unknown> =>
  Exit.succeed({ jsonrpc: "2.0", id: "param-headers", result: { tools, ...(nextCursor === undefined ? {} : { nextCursor }) } })

/** A server whose listings wait for the test: `answer` answers the oldest one. */
const server = () => {
  const pending: Array<{ cursor: string | undefined; done: (exit: Exit.Exit<JSONRPCResponse, unknown>) => void }> = []
  const listPage: ParamTools.ListPage = (cursor, done) => void pending.push({ cursor, done })
  return {
    listPage,
    pending,
    answer: (exit: Exit.Exit<JSONRPCResponse, unknown>) => pending.shift()!.done(exit)
  }
}

const call = (tools: ParamTools.ParamTools, name: string) => {
  const sent: Array<Record<string, string> | undefined> = []
  tools.withHeaders(name, { region: "eu" }, (headers) => void sent.push(headers))
  return sent
}

describe("ParamTools", () => {
  it("calls wait for the first listing, then all go with their headers; later calls need no listing", () => {
    const backend = server()
    const tools = ParamTools.make(backend.listPage)
    const first = call(tools, "weather")
    const second = call(tools, "weather")
    assert.strictEqual(backend.pending.length, 1)
    assert.deepStrictEqual([first, second], [[], []])
    backend.answer(page([tool("weather")]))
    assert.deepStrictEqual([first, second], [[{ "Mcp-Param-Region": "eu" }], [{ "Mcp-Param-Region": "eu" }]])
    assert.deepStrictEqual(call(tools, "weather"), [{ "Mcp-Param-Region": "eu" }])
    assert.strictEqual(backend.pending.length, 0)
  })

  it("a tool the last listing lacked is listed again once; still missing, it goes without headers from then on", () => {
    const backend = server()
    const tools = ParamTools.make(backend.listPage)
    call(tools, "weather")
    backend.answer(page([tool("weather")]))
    const added = call(tools, "added")
    assert.strictEqual(backend.pending.length, 1)
    backend.answer(page([tool("weather")]))
    assert.deepStrictEqual(added, [undefined])
    assert.deepStrictEqual(call(tools, "added"), [undefined])
    assert.strictEqual(backend.pending.length, 0)
  })

  it("forget during a listing: the waiting calls are served by it, but the next call lists again", () => {
    const backend = server()
    const tools = ParamTools.make(backend.listPage)
    const waiting = call(tools, "weather")
    tools.forget()
    backend.answer(page([tool("weather", "Old")]))
    assert.deepStrictEqual(waiting, [{ "Mcp-Param-Old": "eu" }])
    const next = call(tools, "weather")
    assert.strictEqual(backend.pending.length, 1)
    backend.answer(page([tool("weather", "New")]))
    assert.deepStrictEqual(next, [{ "Mcp-Param-New": "eu" }])
  })

  it("a failed listing sends its calls without headers and is tried again by the next call", () => {
    const backend = server()
    const tools = ParamTools.make(backend.listPage)
    const failed = call(tools, "weather")
    backend.answer(Exit.fail("down"))
    assert.deepStrictEqual(failed, [undefined])
    const retried = call(tools, "weather")
    backend.answer(page([tool("weather")]))
    assert.deepStrictEqual(retried, [{ "Mcp-Param-Region": "eu" }])
  })

  it("follows the listing's pages, up to the pages a list broadcast follows", () => {
    const backend = server()
    const tools = ParamTools.make(backend.listPage)
    const sent = call(tools, "last")
    for (let n = 0; n < McpMethods.maxListPages - 1; n++) {
      assert.strictEqual(backend.pending[0]?.cursor, n === 0 ? undefined : `p${n}`)
      backend.answer(page([tool(`t${n}`)], `p${n + 1}`))
    }
    // The last page followed still names a next one: it is not fetched.
    backend.answer(page([tool("last")], "beyond"))
    assert.strictEqual(backend.pending.length, 0)
    assert.deepStrictEqual(sent, [{ "Mcp-Param-Region": "eu" }])
  })
})
