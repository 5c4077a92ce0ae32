/**
 * How the gateway presents itself at `/mcp`: one MCP server whose capabilities are the union of what the
 * client's servers offer, whose instructions name those servers, and whose name is the gateway's. Pure.
 */
import type { Implementation, JSONRPCResponse, ServerCapabilities } from "@modelcontextprotocol/server"
import type { ServerSummary } from "../session/Session.ts"

export const serverInfo: Implementation = { name: "mcp-streaming-gateway", version: "0.1.0" }

/** The protocol revisions `/mcp` speaks with legacy-era clients, newest first. */
export const legacyVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] as const

/** What a legacy client asked for if the gateway speaks it, else the newest the gateway speaks. */
export const negotiate = (requested: unknown): string =>
  typeof requested === "string" && (legacyVersions as ReadonlyArray<string>).includes(requested) ? requested : legacyVersions[0]

const has = (servers: ReadonlyArray<ServerSummary>, key: keyof ServerCapabilities) =>
  servers.some((server) => server.capabilities?.[key] !== undefined)

const flag = (servers: ReadonlyArray<ServerSummary>, key: "tools" | "prompts" | "resources", name: string) =>
  servers.some((server) => (server.capabilities?.[key] as Record<string, unknown> | undefined)?.[name] === true)

/**
 * The union of the servers' capabilities. With namespacing off (one server), that server's own. A deferred
 * client always has tools (the gateway's search tools) whose list changes on activation.
 */
export const capabilities = (
  servers: ReadonlyArray<ServerSummary>,
  options: { readonly namespacing: "on" | "off"; readonly deferredLoading: boolean }
): ServerCapabilities => {
  const ready = servers.filter((server) => server.status === "ready")
  if (options.namespacing === "off" && ready.length === 1 && !options.deferredLoading) return ready[0]?.capabilities ?? {}
  const union: Record<string, unknown> = {}
  if (options.deferredLoading || has(ready, "tools")) {
    union["tools"] = { listChanged: options.deferredLoading || flag(ready, "tools", "listChanged") }
  }
  if (has(ready, "prompts")) union["prompts"] = { listChanged: flag(ready, "prompts", "listChanged") }
  if (has(ready, "resources")) {
    union["resources"] = { subscribe: flag(ready, "resources", "subscribe"), listChanged: flag(ready, "resources", "listChanged") }
  }
  // The gateway answers `logging/setLevel` (to every server that logs) and merges `tasks/list` itself.
  if (has(ready, "logging")) union["logging"] = {}
  if (has(ready, "completions")) union["completions"] = {}
  if (has(ready, "tasks")) union["tasks"] = { list: {}, cancel: {}, requests: { tools: { call: {} } } }
  return union as ServerCapabilities
}

/** Instructions that name the servers behind the gateway and how their names are written, then their own. */
export const instructions = (
  servers: ReadonlyArray<ServerSummary>,
  options: { readonly namespacing: "on" | "off"; readonly deferredLoading: boolean }
): string => {
  const lines = [
    options.namespacing === "on"
      ? `This MCP gateway serves ${servers.length} server(s): ${servers.map((s) => s.id).join(", ")}. ` +
        `Their tools and prompts are named <server>__<name> (for example "${servers[0]?.id ?? "server"}__<tool>").`
      : `This MCP gateway serves the server "${servers[0]?.id ?? ""}" under its own names.`
  ]
  if (options.deferredLoading) {
    lines.push(
      "Tools are loaded on demand: find them with gateway__search_tools, add them with gateway__activate_tools."
    )
  }
  for (const server of servers) {
    if (server.status !== "ready") lines.push(`${server.id}: unavailable right now.`)
    else if (server.instructions !== undefined) lines.push(`${server.id}: ${server.instructions}`)
  }
  return lines.join("\n")
}

/** Where a merged answer's per-server failures go at `/mcp`: a `_meta` key, since MCP results have no `errors`. */
export const ErrorsMetaKey = "mcp-streaming-gateway/errors"

/**
 * A response the gateway merged itself (a broadcast list, `logging/setLevel`, `tasks/list`), as a standard
 * MCP result: the session API's top-level `errors` moves under `_meta` (strict clients refuse unknown keys),
 * and only when there were any.
 */
export const standardResult = (response: JSONRPCResponse): JSONRPCResponse => {
  if (!("result" in response)) return response
  const result = response.result as Record<string, unknown>
  if (!Array.isArray(result["errors"])) return response
  const { errors, ...rest } = result
  if ((errors as ReadonlyArray<unknown>).length === 0) return { ...response, result: rest }
  return { ...response, result: { ...rest, _meta: { ...(rest["_meta"] as object | undefined), [ErrorsMetaKey]: errors } } }
}
