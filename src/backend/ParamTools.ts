import type { JSONRPCResponse } from "@modelcontextprotocol/client"
import { Exit } from "effect"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as ParamHeaders from "../protocol/ParamHeaders.ts"

/**
 * The `Mcp-Param-*` headers a `tools/call` to a modern-era HTTP server must carry (SEP-2243: the server rejects
 * the call without them), whichever era the gateway's client speaks: the values come from the call's arguments,
 * as the tool's schema declares them. The declarations are the server's own, learnt by listing its tools once
 * (again after it says they changed, or when a call names a tool the last listing lacked) while calls wait.
 */
export interface ParamTools {
  /** Calls `send` with the headers for a call of tool `name` with `args`, once its declarations are known. */
  readonly withHeaders: (name: string, args: unknown, send: (headers: Record<string, string> | undefined) => void) => void
  /** The server's tools changed: they are listed again at the next call. */
  readonly forget: () => void
}

/** One page of the server's `tools/list`, sent on the connection whose calls need the headers. */
export type ListPage = (cursor: string | undefined, done: (exit: Exit.Exit<JSONRPCResponse, unknown>) => void) => void

/** Nothing known yet (or the tools changed since), a listing in progress (with the calls waiting for it), or each tool's scan. */
type State =
  | { readonly _tag: "Unknown" }
  | { readonly _tag: "Learning"; readonly waiting: Array<(tools: ReadonlyMap<string, ParamHeaders.Scan>) => void> }
  | {
    readonly _tag: "Known"
    readonly tools: ReadonlyMap<string, ParamHeaders.Scan>
    /** Names called that were not listed: each made the tools be listed again once (added without list_changed). */
    readonly missed: ReadonlySet<string>
  }

export const make = (listPage: ListPage): ParamTools => {
  let state: State = { _tag: "Unknown" }

  /** Lists the tools, page after page (as many as a list broadcast follows), gathering their header declarations. */
  const learn = (
    cursor: string | undefined,
    page: number,
    tools: Map<string, ParamHeaders.Scan>,
    done: (tools: ReadonlyMap<string, ParamHeaders.Scan>, complete: boolean) => void
  ): void =>
    listPage(cursor, (exit) => {
      if (Exit.isFailure(exit) || !("result" in exit.value)) return done(tools, false)
      for (const [name, scan] of ParamHeaders.ofTools(exit.value.result["tools"])) tools.set(name, scan)
      const next = exit.value.result["nextCursor"]
      if (typeof next === "string" && page + 1 < McpMethods.maxListPages) learn(next, page + 1, tools, done)
      else done(tools, true)
    })

  const withHeaders: ParamTools["withHeaders"] = (name, args, send) => {
    // As the SDK's Client does: a tool whose declarations break the spec's rules gets no header.
    const sendFor = (tools: ReadonlyMap<string, ParamHeaders.Scan>) => {
      const found = tools.get(name)
      send(found?.valid === true ? ParamHeaders.headersFor(found.declarations, args) : undefined)
    }
    const known = state
    if (known._tag === "Learning") return void known.waiting.push(sendFor)
    if (known._tag === "Known" && (known.tools.has(name) || known.missed.has(name))) return sendFor(known.tools)
    // Not listed yet, or a tool the last listing lacked: a server may add one without saying so (no list_changed).
    const missed = known._tag === "Known" ? new Set([...known.missed, name]) : new Set<string>()
    const learning = { _tag: "Learning" as const, waiting: [sendFor] }
    state = learning
    learn(undefined, 0, new Map(), (tools, complete) => {
      // A failed listing is tried again by the next call; one overtaken by a list change is not kept.
      if (state === learning) state = complete ? { _tag: "Known", tools, missed } : { _tag: "Unknown" }
      for (const waiting of learning.waiting) waiting(tools)
    })
  }

  return { withHeaders, forget: () => void (state = { _tag: "Unknown" }) }
}
