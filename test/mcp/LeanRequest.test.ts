import { classifyInboundRequest } from "@modelcontextprotocol/server"
import { assert, describe, it } from "@effect/vitest"
import { isLegacyRequest } from "../../src/mcp/LeanRequest.ts"

const call = { jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "everything__echo", arguments: { message: "x" } } }
const claim = "io.modelcontextprotocol/protocolVersion"

// Requests the lean path takes, and near misses that must go to the SDK's classification instead.
const bodies: ReadonlyArray<unknown> = [
  call,
  { ...call, id: "a" },
  { jsonrpc: "2.0", id: 1, method: "tools/list" },
  { ...call, params: { ...call.params, _meta: { progressToken: 3 } } },
  { ...call, params: { ...call.params, _meta: { progressToken: "p", other: { any: 1 } } } },
  { ...call, params: { _meta: { "io.modelcontextprotocol/related-task": { taskId: "t" } } } },
  // near misses
  { ...call, id: 1.5 },
  { ...call, id: null },
  { ...call, id: 2 ** 60 },
  { ...call, jsonrpc: "1.0" },
  { ...call, extra: true },
  { ...call, result: {} },
  { ...call, method: "initialize" },
  { ...call, method: 3 },
  { ...call, params: [1, 2] },
  { ...call, params: null },
  { ...call, params: { _meta: { progressToken: 1.5 } } },
  { ...call, params: { _meta: [] } },
  { ...call, params: { _meta: { "io.modelcontextprotocol/related-task": { taskId: 1 } } } },
  { ...call, params: { _meta: { [claim]: "2026-07-28" } } },
  { ...call, params: { _meta: { [claim]: 5 } } },
  { jsonrpc: "2.0", method: "notifications/initialized" },
  { jsonrpc: "2.0", id: 1, result: {} },
  [call],
  "text",
  null
]
const versions = ["2025-11-25", "2024-11-05", "2026-07-28", " 2025-11-25", "1999-01-01", undefined]

describe("the lean path's own recognition of a legacy request", () => {
  it("takes only what the SDK's classification routes to the legacy era as it is", () => {
    let taken = 0
    for (const body of bodies) {
      for (const version of versions) {
        if (!isLegacyRequest(body, version)) continue
        taken++
        const route = classifyInboundRequest({ httpMethod: "POST", body, ...(version === undefined ? {} : { protocolVersionHeader: version }) })
        assert.deepStrictEqual(
          { kind: route.kind, reason: route.kind === "legacy" ? route.reason : undefined },
          { kind: "legacy", reason: "no-claim" },
          `${JSON.stringify(body)} with ${version}`
        )
      }
    }
    // The six well-formed requests, each with the two legacy versions named exactly and with none (2025-03-26).
    assert.strictEqual(taken, 18)
  })

  it("leaves every near miss to the full path", () => {
    for (const body of bodies.slice(6)) assert.isFalse(isLegacyRequest(body, "2025-11-25"), JSON.stringify(body))
  })
})
