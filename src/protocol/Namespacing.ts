/**
 * Namespaced names: `<server>__<name>` (DESIGN.md, "Routing rules").
 *
 * The same form names a tool or prompt (`filesystem__read_file`) and, in the streaming API, a method
 * (`filesystem__tools/call`). A name is split at its FIRST `__`, so names may contain `__` themselves, and server
 * ids may not. Pure code.
 */
import { Schema } from "effect"

export const Separator = "__"

/** The server id the gateway names its own tools under (`gateway__search_tools`): no backend may have it. */
export const GatewayServerId = "gateway"

/** Many LLM APIs refuse tool names longer than this. */
export const MaxToolNameLength = 64

// =============================================================================
// Server ids
// =============================================================================

/**
 * Letters, digits, `_` and `-`; no `__`; and no trailing `_`. DESIGN.md states the first two. The third is what
 * makes splitting at the first `__` exact: `a_` + `__` + `b` is `a___b`, whose first `__` would make it server
 * `a` with name `_b`.
 */
const serverIdPattern = /^(?!.*__)[a-zA-Z0-9_-]*[a-zA-Z0-9-]$/

export const isServerId = (s: string): boolean => serverIdPattern.test(s)

/** Schema for a server id (config keys, `{ servers: [...] }` bodies), with the rule in its error message. */
export const ServerId = Schema.String.check(
  Schema.isPattern(serverIdPattern, {
    message: "Expected a server id: letters, digits, \"_\" and \"-\", without \"__\" and not ending in \"_\""
  })
)

// =============================================================================
// Join and split
// =============================================================================

export interface Target {
  readonly serverId: string
  readonly name: string
}

/** `server__name`. `serverId` is assumed valid ({@link isServerId}); `name` is anything non-empty. */
export const join = (serverId: string, name: string): string => `${serverId}${Separator}${name}`

/**
 * `{ serverId, name }` from `server__name` or `server__tools/call`, split at the first `__`; `undefined` unless the
 * server part is a valid server id and the name part is non-empty.
 */
export const split = (namespaced: string): Target | undefined => {
  const at = namespaced.indexOf(Separator)
  if (at <= 0) return undefined
  const serverId = namespaced.slice(0, at)
  const name = namespaced.slice(at + Separator.length)
  return name.length > 0 && isServerId(serverId) ? { serverId, name } : undefined
}

// =============================================================================
// Bounded names (tool names an LLM API accepts)
// =============================================================================

const utf8 = new TextEncoder()

/**
 * FNV-1a, 32 bits, over the UTF-8 bytes of `text` (of its JSON form if it holds a lone surrogate): offset basis 0x811c9dc5, prime 0x01000193
 * (http://www.isthe.com/chongo/tech/comp/fnv/). Pure and deterministic, so the same name gives the same short
 * form in every process and after every restart; not cryptographic (nothing here needs it to be).
 */
export const fnv1a32 = (text: string): number => {
  let hash = 0x811c9dc5
  // UTF-8 would turn every lone surrogate into the same U+FFFD, so two different ill-formed names would
  // collide; their JSON form (which spells each lone surrogate out as an escape) keeps them apart.
  const wellFormed = !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text)
  for (const byte of utf8.encode(wellFormed ? text : JSON.stringify(text))) {
    hash = Math.imul(hash ^ byte, 0x01000193)
  }
  return hash >>> 0
}

const hashHex = (text: string): string => fnv1a32(text).toString(16).padStart(8, "0")

// `_` + 8 hex digits.
const hashSuffixLength = 9

/**
 * `join(serverId, name)` when it is at most `max` characters (UTF-16 code units, i.e. characters for the ASCII
 * names LLM APIs accept); otherwise `server__<prefix of name>_<FNV-1a 32 of name, 8 hex>`, as long as `max`
 * allows. Deterministic: the gateway rebuilds the map back from a server's tool list ({@link boundedNames})
 * instead of storing it.
 *
 * `undefined` only when even an empty prefix does not fit (`serverId.length > max - 11`): validate server id
 * lengths in config to rule that out.
 */
export const joinBounded = (serverId: string, name: string, max: number = MaxToolNameLength): string | undefined => {
  const plain = join(serverId, name)
  if (plain.length <= max) return plain
  const room = max - serverId.length - Separator.length - hashSuffixLength
  if (room < 0) return undefined
  let prefix = name.slice(0, room)
  // Never end on half of a surrogate pair: that would not be valid UTF-16 (nor encodable as UTF-8).
  const last = prefix.charCodeAt(prefix.length - 1)
  if (last >= 0xd800 && last <= 0xdbff) prefix = prefix.slice(0, -1)
  return `${join(serverId, prefix)}_${hashHex(name)}`
}

export interface BoundedNames {
  /** exposed name (`joinBounded(serverId, name)`) → the backend's own name */
  readonly toOriginal: ReadonlyMap<string, string>
  /** names that got no exposed name: no room (see {@link joinBounded}), or their short form is already taken */
  readonly dropped: ReadonlyArray<string>
}

/**
 * The exposed names of one server's tools, and the way back. Names that fit as they are claim their exposed
 * name first, so a shortened name can never shadow a real one; a later shortened name that collides with an
 * earlier one (a 32-bit hash collision on the same prefix) is dropped rather than misrouted.
 */
export const boundedNames = (
  serverId: string,
  names: Iterable<string>,
  max: number = MaxToolNameLength
): BoundedNames => {
  const toOriginal = new Map<string, string>()
  const dropped: Array<string> = []
  const shortened: Array<readonly [exposed: string, name: string]> = []
  for (const name of names) {
    const exposed = joinBounded(serverId, name, max)
    if (exposed === undefined) dropped.push(name)
    else if (exposed === join(serverId, name)) toOriginal.set(exposed, name)
    else shortened.push([exposed, name])
  }
  for (const [exposed, name] of shortened) {
    const taken = toOriginal.get(exposed)
    if (taken === undefined) toOriginal.set(exposed, name)
    else if (taken !== name) dropped.push(name)
  }
  return { toOriginal, dropped }
}
