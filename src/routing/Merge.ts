/**
 * Broadcast results: one backend's list result with its names namespaced ({@link namespacePart}), the merge of all
 * of them into the one result the client sees ({@link merge}), and the way back from a shortened tool or prompt name
 * to the backend's own ({@link NameMap}). DESIGN.md, "Routing rules": a server that fails is reported in the merged
 * result's `errors`, never fatal.
 *
 * Pure code: nothing here runs an effect.
 */
import * as McpMethods from "../protocol/McpMethods.ts"
import * as Namespacing from "../protocol/Namespacing.ts"

// =============================================================================
// List keys
// =============================================================================

const listKeys = {
  [McpMethods.ToolsList]: "tools",
  [McpMethods.ResourcesList]: "resources",
  [McpMethods.ResourcesTemplatesList]: "resourceTemplates",
  [McpMethods.PromptsList]: "prompts"
} as const satisfies Record<McpMethods.BroadcastMethod, string>

export type ListKey = typeof listKeys[McpMethods.BroadcastMethod]

/** The key under which a broadcast method's result holds its list (`tools/list` → `tools`, ...). */
export const listKey = <M extends McpMethods.BroadcastMethod>(method: M): typeof listKeys[M] => listKeys[method]

// =============================================================================
// NameMap
// =============================================================================

/**
 * Exposed (shortened) tool or prompt name → the server and the backend's own name. Only names that
 * {@link Namespacing.joinBounded} had to shorten are entries: a name that fits splits back exactly
 * ({@link Namespacing.split}), a shortened one does not (its tail is a hash).
 */
export type NameMap = ReadonlyMap<string, Namespacing.Target>

export const emptyNames: NameMap = new Map()

/** `names` plus the entries of `more` (a later entry under the same exposed name wins); `names` is not changed. */
export const extendNames = (names: NameMap, more: NameMap): NameMap => new Map([...names, ...more])

/** The NameMap of a set of namespaced parts (e.g. every part of a `tools/list` and a `prompts/list` broadcast). */
export const namesFromParts = (parts: Iterable<{ readonly names: NameMap }>): NameMap => {
  const names = new Map<string, Namespacing.Target>()
  for (const part of parts) {
    for (const [exposed, target] of part.names) names.set(exposed, target)
  }
  return names
}

// =============================================================================
// One server's part
// =============================================================================

/** Why an item of a backend's list is left out of what the client sees. */
export type DropReason =
  /** its shortened name is already taken by another of the server's names (a hash collision): never misroute */
  | "collision"
  /** the server id leaves no room for a bounded name (config keeps ids short enough to rule this out) */
  | "no_room"
  /** not an object, or a tool or prompt without a non-empty string `name` */
  | "invalid"

export interface Dropped {
  readonly serverId: string
  readonly method: McpMethods.BroadcastMethod
  /** the backend's own name, when it had one */
  readonly name: string | undefined
  readonly reason: DropReason
}

type JsonObject = { readonly [key: string]: unknown }

/** One backend's list result, rewritten for the client: what {@link merge} takes as a part. */
export interface NamespacedPart {
  readonly serverId: string
  readonly result: JsonObject
  /** entries for the shortened names this part created */
  readonly names: NameMap
  /** items left out, with the reason */
  readonly dropped: ReadonlyArray<Dropped>
}

const isObject = (u: unknown): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const nameOf = (item: JsonObject): string | undefined => {
  const name = item["name"]
  return typeof name === "string" && name.length > 0 ? name : undefined
}

/**
 * One server's `tools/list`, `prompts/list`, `resources/list` or `resources/templates/list` result, with names
 * namespaced. Tools and prompts get `joinBounded(serverId, name)` (LLM APIs refuse names over 64 characters), and a
 * shortened one becomes a {@link NameMap} entry. Resources and templates get `join(serverId, name)`: they route by
 * `uri`, which is kept, so their names need no bound. Every other field of each item and of the result (including
 * `nextCursor`, for the caller's paging) is kept.
 */
export const namespacePart = (
  method: McpMethods.BroadcastMethod,
  serverId: string,
  result: JsonObject
): NamespacedPart => {
  const key = listKey(method)
  const raw = result[key]
  const dropped: Array<Dropped> = []
  const drop = (name: string | undefined, reason: DropReason) => dropped.push({ serverId, method, name, reason })
  if (raw !== undefined && !Array.isArray(raw)) drop(undefined, "invalid")
  const items: ReadonlyArray<unknown> = Array.isArray(raw) ? raw : []

  if (method === McpMethods.ResourcesList || method === McpMethods.ResourcesTemplatesList) {
    const rewritten: Array<JsonObject> = []
    for (const item of items) {
      if (!isObject(item)) {
        drop(undefined, "invalid")
        continue
      }
      const name = nameOf(item)
      // A resource routes by its uri, so one without a name is still reachable: keep it as it is.
      rewritten.push(name === undefined ? item : { ...item, name: Namespacing.join(serverId, name) })
    }
    return { serverId, result: { ...result, [key]: rewritten }, names: emptyNames, dropped }
  }

  const named: Array<readonly [item: JsonObject, name: string]> = []
  for (const item of items) {
    const name = isObject(item) ? nameOf(item) : undefined
    if (name === undefined || !isObject(item)) drop(name, "invalid")
    else named.push([item, name])
  }
  // boundedNames settles collisions over the whole list (a name that fits beats a shortened one, whatever the
  // order), so each item only asks whether its exposed name still leads back to it.
  const { toOriginal } = Namespacing.boundedNames(serverId, named.map(([, name]) => name))
  const names = new Map<string, Namespacing.Target>()
  const rewritten: Array<JsonObject> = []
  for (const [item, name] of named) {
    const exposed = Namespacing.joinBounded(serverId, name)
    if (exposed === undefined) {
      drop(name, "no_room")
    } else if (toOriginal.get(exposed) !== name) {
      drop(name, "collision")
    } else {
      if (exposed !== Namespacing.join(serverId, name)) names.set(exposed, { serverId, name })
      rewritten.push({ ...item, name: exposed })
    }
  }
  return { serverId, result: { ...result, [key]: rewritten }, names, dropped }
}

// =============================================================================
// Merge
// =============================================================================

/** A server whose part is missing from the merge: it failed or timed out. */
export interface PartError {
  readonly serverId: string
  readonly error: { readonly code: number | string; readonly message: string }
}

/** How a failed server appears in the merged result (snake_case, as on the wire). */
export interface MergedError {
  readonly server_id: string
  readonly code: number | string
  readonly message: string
}

export type MergedResult<M extends McpMethods.BroadcastMethod> =
  & { readonly [K in typeof listKeys[M]]: ReadonlyArray<unknown> }
  & { readonly errors: ReadonlyArray<MergedError> }

/**
 * The one result the client gets for a broadcast: every part's list under the method's key, in the order of
 * `parts` (pass them in the client's server order) and then each backend's own order, plus `errors`, always
 * present. `parts` are results that went through {@link namespacePart}; merge does not namespace again. No
 * `nextCursor`: the caller pages through each backend itself, so the merged list is complete.
 */
export const merge = <M extends McpMethods.BroadcastMethod>(
  method: M,
  parts: ReadonlyArray<{ readonly serverId: string; readonly result: JsonObject }>,
  errors: ReadonlyArray<PartError>
): MergedResult<M> => {
  const key = listKey(method)
  const items: Array<unknown> = []
  for (const part of parts) {
    const list = part.result[key]
    if (Array.isArray(list)) items.push(...list)
  }
  const merged: { [key: string]: unknown } = {
    [key]: items,
    errors: errors.map(({ serverId, error }) => ({ server_id: serverId, code: error.code, message: error.message }))
  }
  // The object is built with exactly the keys MergedResult<M> names; TS cannot follow a computed key to the type.
  return merged as MergedResult<M>
}
