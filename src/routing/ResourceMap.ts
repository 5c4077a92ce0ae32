import { UriTemplate } from "@modelcontextprotocol/client"

/**
 * Which server offers which resource, learnt from a session's `resources/list` and `resources/templates/list`
 * broadcasts: `resources/read`, `resources/subscribe` and `resources/unsubscribe` name a URI, not a server.
 * Immutable: each broadcast makes a new map.
 */
export interface ResourceMap {
  readonly uris: ReadonlyMap<string, string>
  readonly templates: ReadonlyArray<{ readonly serverId: string; readonly template: UriTemplate }>
}

export const empty: ResourceMap = { uris: new Map(), templates: [] }

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
  const answering = new Set(parts.map((part) => part.serverId))
  const uris = new Map([...map.uris].filter(([, serverId]) => !answering.has(serverId)))
  const conflicts: Array<Conflict> = []
  for (const { serverId, result } of parts) {
    for (const uri of itemsOf(result, "resources", "uri")) {
      const kept = uris.get(uri)
      if (kept === undefined) uris.set(uri, serverId)
      else if (kept !== serverId) conflicts.push({ uri, kept, serverId })
    }
  }
  return { map: { ...map, uris }, conflicts }
}

/** The map after a `resources/templates/list` broadcast. Templates that do not parse are left out. */
export const withTemplates = (
  map: ResourceMap,
  parts: ReadonlyArray<{ readonly serverId: string; readonly result: Record<string, unknown> }>
): ResourceMap => {
  const answering = new Set(parts.map((part) => part.serverId))
  const templates = map.templates.filter((entry) => !answering.has(entry.serverId))
  for (const { serverId, result } of parts) {
    for (const text of itemsOf(result, "resourceTemplates", "uriTemplate")) {
      try {
        templates.push({ serverId, template: new UriTemplate(text) })
      } catch {
        // a template the SDK cannot parse cannot be matched either
      }
    }
  }
  return { ...map, templates }
}

/** The server of a URI: an exact resource first, then the first template that matches it. */
export const serverOf = (map: ResourceMap, uri: string): string | undefined =>
  map.uris.get(uri) ?? map.templates.find((entry) => entry.template.match(uri) !== null)?.serverId
