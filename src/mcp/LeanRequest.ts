/**
 * Which `/mcp` POSTs the legacy lean path may take without asking the SDK's `classifyInboundRequest`: one
 * JSON-RPC request of an open legacy session, in exactly the shape that the SDK would classify as legacy with no
 * envelope claim. The SDK's answer is the same for these; it costs three Zod parses per POST (about a twentieth
 * of the gateway's CPU per call, bench/), this costs a few property reads. Anything else takes the full path.
 */
import { type JSONRPCRequest, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/server"
import * as ServerIdentity from "./ServerIdentity.ts"

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isRequestId = (value: unknown) => typeof value === "string" || Number.isSafeInteger(value)

/** The keys a JSON-RPC request may have: the SDK's schema for one is strict. */
const requestKeys = new Set(["jsonrpc", "id", "method", "params"])

/** `_meta` as the SDK's request schema takes it, without the 2026-07-28 envelope's protocol-version claim. */
const isLegacyMeta = (meta: unknown): boolean => {
  if (meta === undefined) return true
  if (!isPlainObject(meta) || PROTOCOL_VERSION_META_KEY in meta) return false
  const token = meta["progressToken"]
  const related = meta["io.modelcontextprotocol/related-task"]
  return (token === undefined || isRequestId(token)) &&
    (related === undefined || (isPlainObject(related) && typeof related["taskId"] === "string"))
}

/** What a request without `MCP-Protocol-Version` speaks: the spec has servers assume the first revision with it. */
const assumedVersion = "2025-03-26"

/**
 * Whether `body`, POSTed with `MCP-Protocol-Version: version` (or without it, as 2025-03-26 clients do), is a request
 * (not `initialize`) that the SDK would route to the legacy era as it is.
 */
export const isLegacyRequest = (body: unknown, version: string | undefined): body is JSONRPCRequest => {
  if (!isPlainObject(body)) return false
  if (!(ServerIdentity.legacyVersions as ReadonlyArray<string>).includes(version ?? assumedVersion)) return false
  for (const key in body) if (!requestKeys.has(key)) return false
  if (body["jsonrpc"] !== "2.0" || typeof body["method"] !== "string" || body["method"] === "initialize") return false
  if (!isRequestId(body["id"])) return false
  const params = body["params"]
  return params === undefined || (isPlainObject(params) && isLegacyMeta(params["_meta"]))
}
