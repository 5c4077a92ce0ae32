import { UriTemplate } from "@modelcontextprotocol/client"

/**
 * Which server offers which resource, learnt from a session's `resources/list` and `resources/templates/list`
 * broadcasts: `resources/read`, `resources/subscribe` and `resources/unsubscribe` name a URI, not a server.
 * Each server's last lists are kept apart, in the session's server order, so a URI two servers offer belongs to
 * the first of them whichever listed last, and goes to the other once the first drops it. Immutable: each broadcast
 * makes a new map.
 */
export interface ResourceMap {
  readonly servers: ReadonlyMap<string, Offered>
}

/** What one server offers, as its last lists said. */
interface Offered {
  readonly uris: ReadonlySet<string>
  readonly templates: ReadonlyArray<{ readonly text: string; readonly template: UriTemplate }>
}

const nothing: Offered = { uris: new Set(), templates: [] }

/** No server has listed anything yet; servers rank in the order they first list. */
export const empty: ResourceMap = { servers: new Map() }

/** No server has listed anything yet; they rank in `serverIds`' order (the session's), whatever order they list in. */
export const ordered = (serverIds: ReadonlyArray<string>): ResourceMap => ({
  servers: new Map(serverIds.map((serverId) => [serverId, nothing]))
})

/** A server's entry replaced: a Map keeps the place of a key it already has, so the server keeps its rank. */
const withServer = (map: ResourceMap, serverId: string, update: (offered: Offered) => Offered): ResourceMap => {
  const servers = new Map(map.servers)
  servers.set(serverId, update(servers.get(serverId) ?? nothing))
  return { servers }
}

/** Two servers offering one URI: the first (in the session's server order) keeps it. */
export interface Conflict {
  readonly uri: string
  readonly kept: string
  readonly serverId: string
}

const itemsOf = (result: Record<string, unknown>, key: string, field: string) => {
  const list = result[key]
  if (!Array.isArray(list)) return []
  return list.flatMap((item: unknown) => {
    const value = typeof item === "object" && item !== null ? (item as Record<string, unknown>)[field] : undefined
    return typeof value === "string" ? [value] : []
  })
}

/** The map after a `resources/list` broadcast: the answering servers' URIs replace what they offered before. */
export const withResources = (
  map: ResourceMap,
  parts: ReadonlyArray<{ readonly serverId: string; readonly result: Record<string, unknown> }>
): { readonly map: ResourceMap; readonly conflicts: ReadonlyArray<Conflict> } => {
  const next = parts.reduce(
    (current, { serverId, result }) => withServer(current, serverId, (offered) => ({ ...offered, uris: new Set(itemsOf(result, "resources", "uri")) })),
    map
  )
  const conflicts: Array<Conflict> = []
  for (const { serverId, result } of parts) {
    for (const uri of new Set(itemsOf(result, "resources", "uri"))) {
      const kept = serverOfUri(next, uri)
      if (kept !== undefined && kept !== serverId) conflicts.push({ uri, kept, serverId })
    }
  }
  return { map: next, conflicts }
}

/** The map after a `resources/templates/list` broadcast. Templates that do not parse are left out. */
export const withTemplates = (
  map: ResourceMap,
  parts: ReadonlyArray<{ readonly serverId: string; readonly result: Record<string, unknown> }>
): ResourceMap =>
  parts.reduce(
    (current, { serverId, result }) =>
      withServer(current, serverId, (offered) => ({
        ...offered,
        templates: itemsOf(result, "resourceTemplates", "uriTemplate").flatMap((text) => {
          try {
            return [{ text, template: new UriTemplate(text) }]
          } catch {
            // a template the SDK cannot parse cannot be matched either
            return []
          }
        })
      })),
    map
  )

const serverOfUri = (map: ResourceMap, uri: string): string | undefined => {
  for (const [serverId, offered] of map.servers) if (offered.uris.has(uri)) return serverId
  return undefined
}

/** The server of a URI: an exact resource first (of the first server offering it), then the first template that matches it. */
export const serverOf = (map: ResourceMap, uri: string): string | undefined => {
  const exact = serverOfUri(map, uri)
  if (exact !== undefined) return exact
  for (const [serverId, offered] of map.servers) {
    if (offered.templates.some((entry) => entry.template.match(uri) !== null)) return serverId
  }
  return undefined
}

/**
 * The server of a resource template named by its own text (a `completion/complete` ref): the first server that lists
 * exactly that template. A template's text is no URI: matching it against templates may miss it, or hit another's.
 */
export const serverOfTemplate = (map: ResourceMap, text: string): string | undefined => {
  for (const [serverId, offered] of map.servers) if (offered.templates.some((entry) => entry.text === text)) return serverId
  return undefined
}
