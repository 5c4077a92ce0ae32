/**
 * The gateway's names: `<server>__<name>` for tools and prompts (`filesystem__read_file`) and for methods
 * (`filesystem__tools/call`). The same rules as the gateway's own `src/protocol/Namespacing.ts`, without its
 * dependencies.
 */

export const SEPARATOR = "__"

/** Sent to every server of the session; one merged answer with names namespaced. */
export const BROADCAST_METHODS = ["tools/list", "resources/list", "resources/templates/list", "prompts/list"] as const
export type BroadcastMethod = typeof BROADCAST_METHODS[number]

/** `server__name`. */
export const namespaced = (server: string, name: string): string => `${server}${SEPARATOR}${name}`

const serverIdPattern = /^[a-zA-Z0-9_-]+$/

/**
 * `{ server, name }` from `server__name`, split at the FIRST `__` (server ids never contain `__`, names may);
 * `undefined` when the name is not namespaced.
 */
export const parseNamespaced = (name: string): { readonly server: string; readonly name: string } | undefined => {
  const at = name.indexOf(SEPARATOR)
  if (at <= 0) return undefined
  const server = name.slice(0, at)
  const rest = name.slice(at + SEPARATOR.length)
  return rest.length > 0 && serverIdPattern.test(server) ? { server, name: rest } : undefined
}
