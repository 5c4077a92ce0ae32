import { assert, describe, it } from "@effect/vitest"
import type { JSONRPCRequest } from "@modelcontextprotocol/client"
import { Duration, Effect } from "effect"
import type { Backend } from "../../src/backend/Backend.ts"
import * as McpMethods from "../../src/protocol/McpMethods.ts"
import * as ListPages from "../../src/session/ListPages.ts"

// Only the pages matter here: a server that lists `pages` pages of one tool each (no process needed for that).
const paging = (pages: number) =>
  ({
    request: (request: JSONRPCRequest) => {
      const page = Number(request.params?.["cursor"] ?? 0)
      return Effect.succeed({
        jsonrpc: "2.0" as const,
        id: request.id,
        result: { tools: [{ name: `t${page}` }], ...(page + 1 < pages ? { nextCursor: String(page + 1) } : {}) }
      })
    }
  }) as unknown as Backend

const list = (pages: number) =>
  Effect.gen(function*() {
    let truncated = false
    const result = yield* ListPages.listAll(
      paging(pages),
      "tools/list",
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      Duration.seconds(1),
      () => void (truncated = true)
    )
    return { tools: (result["tools"] as Array<unknown>).length, truncated, nextCursor: result["nextCursor"] }
  })

describe("ListPages.listAll", () => {
  it.effect("gathers every page into one list without nextCursor", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* list(3), { tools: 3, truncated: false, nextCursor: undefined })
      assert.deepStrictEqual(yield* list(McpMethods.maxListPages), { tools: McpMethods.maxListPages, truncated: false, nextCursor: undefined })
    }))

  it.effect("stops at the page cap and says the list was cut", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* list(McpMethods.maxListPages + 1), { tools: McpMethods.maxListPages, truncated: true, nextCursor: undefined })
    }))
})
