/**
 * Where a client's JSON-RPC request or notification goes (DESIGN.md, "Routing rules"): to one backend, rewritten
 * ({@link Single}); to every server the client may use ({@link Broadcast}); or back to the session, for
 * notifications that name no server ({@link Local}).
 *
 * Pure code: `resolve` returns a `Result`, and the caller runs whatever it implies.
 */
import { Result } from "effect"
import type * as JsonRpc from "../protocol/JsonRpc.ts"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as Namespacing from "../protocol/Namespacing.ts"
import type { NameMap } from "./Merge.ts"
import * as ResourceMap from "./ResourceMap.ts"
import { AmbiguousMethod, Forbidden } from "./RoutingErrors.ts"

/** A message a client sends to a server: a request or a notification. */
export type ClientMessage = JsonRpc.Request | JsonRpc.Notification

/** What routing needs to know about the client. */
export interface Client {
  /** the server ids this client (or this session) may use, already resolved from config */
  readonly servers: ReadonlyArray<string>
  /** `"off"` only for a client allowed exactly one server: names pass through unchanged */
  readonly namespacing: "on" | "off"
}

/** Send `message` (already rewritten for the backend: bare method, the backend's own name) to `serverId`. */
export interface Single<M extends ClientMessage = ClientMessage> {
  readonly _tag: "Single"
  readonly serverId: string
  readonly message: M
}

/** Send the request to every server in `serverIds` and merge the results (Merge.ts). */
export interface Broadcast<M extends ClientMessage = ClientMessage> {
  readonly _tag: "Broadcast"
  readonly method: McpMethods.BroadcastMethod
  readonly serverIds: ReadonlyArray<string>
  /** the client's request, unchanged (its `params` may carry `_meta`, e.g. a progress token) */
  readonly message: M
}

/**
 * A notification that names no server (`notifications/initialized`, `notifications/cancelled`, ...): the session
 * handles it, since only it knows which backend request a cancellation is about.
 */
export interface Local<M extends ClientMessage = ClientMessage> {
  readonly _tag: "Local"
  readonly message: M
}

export type Route<M extends ClientMessage = ClientMessage> = Single<M> | Broadcast<M> | Local<M>

export type RoutingError = AmbiguousMethod | Forbidden

const isNotification = (message: ClientMessage): boolean => message["id"] === undefined

/** Unknown and not-allowed servers get the same error: the answer never reveals which servers exist. */
const single = <M extends ClientMessage>(
  client: Client,
  serverId: string,
  message: M
): Result.Result<Route<M>, RoutingError> =>
  client.servers.includes(serverId)
    ? Result.succeed({ _tag: "Single", serverId, message })
    : Result.fail(new Forbidden({ serverId }))

/**
 * The server and backend name a namespaced tool or prompt name stands for: a shortened name through `names`
 * first (its tail is a hash, so splitting it would give a name the backend does not have), else split at the
 * first `__`.
 */
const targetOfName = (name: string, names: NameMap): Namespacing.Target | undefined =>
  names.get(name) ?? Namespacing.split(name)

/**
 * The route of one client message, or why there is none:
 * - namespacing off (and exactly one allowed server): requests go to that server unchanged, list methods included;
 * - `<server>__<method>`: to that server as `<method>`, params untouched; notifications too;
 * - `tools/call`, `prompts/get` with `params.name` = `<server>__<name>` (or a shortened name in `names`): to that
 *   server with the backend's own name;
 * - `tools/list`, `resources/list`, `resources/templates/list`, `prompts/list`: broadcast to every allowed server;
 * - `resources/read`, `resources/subscribe`, `resources/unsubscribe`: by `params.uri`, through `resources` (what
 *   the session's list broadcasts found); `completion/complete`: by its ref (a prompt name or a resource URI);
 * - a notification that names no server: {@link Local};
 * - anything else: {@link AmbiguousMethod}. A named server the client may not use: {@link Forbidden}.
 */
export const resolve = <M extends ClientMessage>(
  message: M,
  client: Client,
  names: NameMap,
  resources: ResourceMap.ResourceMap = ResourceMap.empty
): Result.Result<Route<M>, RoutingError> => {
  // Config allows "off" only with exactly one server; should a session narrow that to none, the explicit rules
  // below still apply (and every named server is Forbidden).
  const only = client.namespacing === "off" && client.servers.length === 1 ? client.servers[0] : undefined
  if (only !== undefined) {
    // Off means nothing is interpreted: a `__` in a method or name is the backend's own. Notifications still go
    // back to the session, which owns ids and the handshake (forwarding `cancelled` unchanged would name the
    // client's request id, not the backend's).
    return isNotification(message)
      ? Result.succeed({ _tag: "Local", message })
      : Result.succeed({ _tag: "Single", serverId: only, message })
  }

  const byMethod = Namespacing.split(message.method)
  if (byMethod !== undefined) {
    return single(client, byMethod.serverId, { ...message, method: byMethod.name })
  }

  if (isNotification(message)) return Result.succeed({ _tag: "Local", message })

  if (McpMethods.isBroadcast(message.method)) {
    return Result.succeed({ _tag: "Broadcast", method: message.method, serverIds: client.servers, message })
  }

  if (McpMethods.isNameRouted(message.method)) {
    const name = message.params?.["name"]
    const target = typeof name === "string" ? targetOfName(name, names) : undefined
    if (target !== undefined) {
      return single(client, target.serverId, { ...message, params: { ...message.params, name: target.name } })
    }
  }

  // resources/read, subscribe, unsubscribe: by the URI, through what the session's lists taught it.
  if (McpMethods.isUriRouted(message.method)) {
    const uri = message.params?.["uri"]
    const serverId = typeof uri === "string" ? ResourceMap.serverOf(resources, uri) : undefined
    if (serverId !== undefined) return single(client, serverId, message)
  }

  // completion/complete: by the prompt's namespaced name, or the resource template's URI.
  if (message.method === "completion/complete") {
    const ref = message.params?.["ref"]
    if (typeof ref === "object" && ref !== null) {
      const { type, name, uri } = ref as { type?: unknown; name?: unknown; uri?: unknown }
      const target = type === "ref/prompt" && typeof name === "string" ? targetOfName(name, names) : undefined
      if (target !== undefined) {
        return single(client, target.serverId, {
          ...message,
          params: { ...message.params, ref: { ...ref, name: target.name } }
        })
      }
      // A resource ref names a template by its text: the server listing exactly it, else one whose template matches.
      const serverId = type === "ref/resource" && typeof uri === "string"
        ? ResourceMap.serverOfTemplate(resources, uri) ?? ResourceMap.serverOf(resources, uri)
        : undefined
      if (serverId !== undefined) return single(client, serverId, message)
    }
  }

  return Result.fail(new AmbiguousMethod({ method: message.method }))
}
