import type { JSONRPCRequest, JSONRPCResponse } from "@modelcontextprotocol/client"
import { type Duration, Effect } from "effect"
import type { Backend } from "../backend/Backend.ts"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as Merge from "../routing/Merge.ts"

/**
 * Every page of one backend's list (up to `McpMethods.maxListPages`), as one result without `nextCursor`. A JSON-RPC
 * error from the backend fails it, like a transport error. `onTruncated` is told when pages were left at the cap.
 */
export const listAll = (
  backend: Backend,
  method: McpMethods.BroadcastMethod | "tasks/list",
  request: JSONRPCRequest,
  timeout: Duration.Duration,
  onTruncated?: () => void
) =>
  Effect.gen(function*() {
    const items: Array<unknown> = []
    let result: Record<string, unknown> = {}
    let cursor: unknown = request.params?.cursor
    const key = method === "tasks/list" ? "tasks" : Merge.listKey(method)
    for (let page = 0; page < McpMethods.maxListPages; page++) {
      const params = cursor === undefined ? { ...request.params } : { ...request.params, cursor }
      const response: JSONRPCResponse = yield* backend.request({ ...request, params }, { timeout })
      if ("error" in response) return yield* Effect.fail(response.error)
      result = response.result
      const list = result[key]
      if (Array.isArray(list)) items.push(...list)
      cursor = result["nextCursor"]
      if (typeof cursor !== "string") break
      if (page === McpMethods.maxListPages - 1) onTruncated?.()
    }
    const { nextCursor: _, ...rest } = result
    return { ...rest, [key]: items }
  })
