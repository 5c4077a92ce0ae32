/**
 * The gateway's own tools for a client with deferred loading on (DESIGN.md, "Deferred loading"): instead of
 * every tool of every server, its `tools/list` shows these three plus what the session has activated.
 *
 * Pure code over a session's activations and the catalog: the session turns what a call returns into events.
 */
import { Result, Schema, SchemaParser } from "effect"
import { InvalidRequest } from "../http/HttpErrors.ts"
import * as Namespacing from "../protocol/Namespacing.ts"
import type { Hit } from "./SearchIndex.ts"
import type { CatalogTool, SearchOptions } from "./ToolCatalog.ts"

const ServerId = Namespacing.GatewayServerId

export const SearchTools = Namespacing.join(ServerId, "search_tools")
export const ActivateTools = Namespacing.join(ServerId, "activate_tools")
export const DeactivateTools = Namespacing.join(ServerId, "deactivate_tools")

const names = {
  type: "array",
  items: { type: "string" },
  minItems: 1,
  description: "namespaced tool names, as gateway__search_tools returns them (e.g. \"everything__echo\")"
}

/** The definitions `tools/list` shows. */
export const definitions: ReadonlyArray<Readonly<Record<string, unknown>>> = [
  {
    name: SearchTools,
    title: "Search tools",
    description: "Finds tools among every server you can use, by what you want to do (\"read a file\", " +
      "\"create a github issue\"). Returns the best matches, best first, with their parameters. A tool must " +
      "be activated with gateway__activate_tools before it can be called.",
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", description: "what the tool should do, in plain words" },
        limit: { type: "integer", minimum: 1, maximum: 50, description: "how many tools to return (default 10)" },
        servers: { type: "array", items: { type: "string" }, description: "only tools of these servers" }
      },
      required: ["query"]
    },
    annotations: { readOnlyHint: true, openWorldHint: false }
  },
  {
    name: ActivateTools,
    title: "Activate tools",
    description: "Adds tools to your tool list so you can call them. The list changes at once " +
      "(notifications/tools/list_changed).",
    inputSchema: { type: "object", properties: { names }, required: ["names"] },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false }
  },
  {
    name: DeactivateTools,
    title: "Deactivate tools",
    description: "Removes activated tools from your tool list, to keep it short.",
    inputSchema: { type: "object", properties: { names }, required: ["names"] },
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false }
  }
]

export const isGatewayTool = (name: unknown): name is string =>
  typeof name === "string" && Namespacing.split(name)?.serverId === ServerId

/** What a session lends a gateway tool: its servers, its activations, and the catalog. */
export interface Context {
  readonly servers: ReadonlySet<string>
  /** exposed names this session activated (the call may change it) */
  readonly activated: Set<string>
  readonly search: (query: string, options: SearchOptions) => ReadonlyArray<Hit>
  readonly lookup: (exposed: string) => CatalogTool | undefined
}

/** A `tools/call` result, or a JSON-RPC error for a call that names no gateway tool. */
export type Answer =
  | { readonly _tag: "Result"; readonly result: Readonly<Record<string, unknown>>; readonly listChanged: boolean }
  | { readonly _tag: "Error"; readonly error: { readonly code: number; readonly message: string } }

const result = (structured: Readonly<Record<string, unknown>>, listChanged = false): Answer => ({
  _tag: "Result",
  // Text for clients that read only `content`, the same data structured for those that read it.
  result: { content: [{ type: "text", text: JSON.stringify(structured) }], structuredContent: structured },
  listChanged
})

/** A tool error (not a JSON-RPC error): the model reads it and can correct itself. */
export const toolError = (text: string): Readonly<Record<string, unknown>> => ({
  content: [{ type: "text", text }],
  isError: true
})

const SearchArguments = Schema.Struct({
  query: Schema.String,
  limit: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 50 }))),
  servers: Schema.optional(Schema.Array(Schema.String))
})
const NamesArguments = Schema.Struct({ names: Schema.Array(Schema.String) })

const decode = <A>(schema: Schema.Codec<A, unknown>, input: unknown): Result.Result<A, string> =>
  Result.mapError(
    SchemaParser.decodeUnknownResult(schema)(input ?? {}),
    (issue) => InvalidRequest.fromIssue(issue).message.replace(/^invalid request/, "invalid arguments")
  )

/** The client's `tools/call` of a gateway tool. */
export const call = (name: string, args: unknown, context: Context): Answer => {
  if (name === SearchTools) {
    const decoded = decode(SearchArguments, args)
    if (Result.isFailure(decoded)) return { _tag: "Result", result: toolError(decoded.failure), listChanged: false }
    const { query, limit, servers } = decoded.success
    const allowed = servers === undefined
      ? context.servers
      : new Set(servers.filter((server) => context.servers.has(server)))
    const tools = context.search(query, { limit: limit ?? 10, servers: allowed }).map((hit) => ({
      ...hit,
      activated: context.activated.has(hit.name)
    }))
    return result({ tools })
  }
  if (name === ActivateTools || name === DeactivateTools) {
    const decoded = decode(NamesArguments, args)
    if (Result.isFailure(decoded)) return { _tag: "Result", result: toolError(decoded.failure), listChanged: false }
    const done: Array<string> = []
    const unknown: Array<string> = []
    const requested = new Set(decoded.success.names)
    for (const exposed of requested) {
      const tool = context.lookup(exposed)
      // A tool of a server this session may not use is as unknown as one that does not exist.
      if (tool === undefined || !context.servers.has(tool.serverId)) unknown.push(exposed)
      else if (name === ActivateTools ? !context.activated.has(exposed) : context.activated.has(exposed)) {
        if (name === ActivateTools) context.activated.add(exposed)
        else context.activated.delete(exposed)
        done.push(exposed)
      }
    }
    const key = name === ActivateTools ? "activated" : "deactivated"
    if (unknown.length > 0 && unknown.length === requested.size) {
      return {
        _tag: "Result",
        result: toolError(
          `no such tools: ${unknown.join(", ")} (or their servers are down right now); use gateway__search_tools to find tool names`
        ),
        listChanged: false
      }
    }
    return result({ [key]: done, unknown, active: [...context.activated] }, done.length > 0)
  }
  return { _tag: "Error", error: { code: -32602, message: `Unknown tool: ${name}` } }
}

/** The `tools/list` result of a deferred session: the gateway's tools, then the activated ones that still exist. */
export const list = (context: Pick<Context, "activated" | "lookup" | "servers">): Readonly<Record<string, unknown>> => {
  const tools: Array<unknown> = [...definitions]
  for (const exposed of context.activated) {
    const tool = context.lookup(exposed)
    if (tool !== undefined && context.servers.has(tool.serverId)) tools.push(tool.definition)
  }
  return { tools }
}

/**
 * What calling a tool that cannot be called answers: one that exists but is not activated, one activated whose
 * server no longer offers it, or a name no server of the session offers (as far as the catalog knows now).
 */
export const notActivated = (name: string, status: "inactive" | "unavailable" | "unknown"): Readonly<Record<string, unknown>> =>
  toolError(
    status === "unavailable"
      ? `tool "${name}" is activated but not available now: its server is down or no longer offers it.`
      : status === "unknown"
      ? `no tool "${name}" among this session's servers (or its server is down right now). Find tools with ` +
        `gateway__search_tools, then activate them with gateway__activate_tools.`
      : `tool "${name}" is not activated. Find tools with gateway__search_tools, then activate them with ` +
        `gateway__activate_tools; activated tools appear in tools/list.`
  )
