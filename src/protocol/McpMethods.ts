/**
 * MCP method names the gateway routes on, and how each one is routed (DESIGN.md, "Routing rules").
 *
 * Each name is checked against the SDK's own method unions (`ClientRequest["method"]` and friends), so a
 * rename in the SDK fails the build here instead of silently misrouting. Pure code.
 */
import type { ClientNotification, ClientRequest, ServerNotification, ServerRequest } from "@modelcontextprotocol/client"

/** Requests a client sends to a server (and so to the gateway). */
type ClientRequestMethod = ClientRequest["method"]
/** Requests a server sends to its client (a backend to the gateway, the gateway to a client). */
type ServerRequestMethod = ServerRequest["method"]
type NotificationMethod = ClientNotification["method"] | ServerNotification["method"]

// =============================================================================
// Client → server requests
// =============================================================================

export const Initialize = "initialize" satisfies ClientRequestMethod
/** The 2026-07-28 era's stateless stand-in for `initialize`. */
export const ServerDiscover = "server/discover" satisfies ClientRequestMethod
export const Ping = "ping" satisfies ClientRequestMethod & ServerRequestMethod

export const ToolsList = "tools/list" satisfies ClientRequestMethod
export const ToolsCall = "tools/call" satisfies ClientRequestMethod
export const ResourcesList = "resources/list" satisfies ClientRequestMethod
export const ResourcesTemplatesList = "resources/templates/list" satisfies ClientRequestMethod
export const ResourcesRead = "resources/read" satisfies ClientRequestMethod
export const ResourcesSubscribe = "resources/subscribe" satisfies ClientRequestMethod
export const ResourcesUnsubscribe = "resources/unsubscribe" satisfies ClientRequestMethod
export const PromptsList = "prompts/list" satisfies ClientRequestMethod
export const PromptsGet = "prompts/get" satisfies ClientRequestMethod

// =============================================================================
// Server → client requests
// =============================================================================

export const SamplingCreateMessage = "sampling/createMessage" satisfies ServerRequestMethod
export const ElicitationCreate = "elicitation/create" satisfies ServerRequestMethod
export const RootsList = "roots/list" satisfies ServerRequestMethod

// =============================================================================
// Notifications
// =============================================================================

export const NotificationsInitialized = "notifications/initialized" satisfies NotificationMethod
export const NotificationsProgress = "notifications/progress" satisfies NotificationMethod
export const NotificationsCancelled = "notifications/cancelled" satisfies NotificationMethod
/** A log message (`logging` capability). */
export const NotificationsMessage = "notifications/message" satisfies NotificationMethod
export const NotificationsResourcesUpdated = "notifications/resources/updated" satisfies NotificationMethod
export const NotificationsToolsListChanged = "notifications/tools/list_changed" satisfies NotificationMethod
export const NotificationsPromptsListChanged = "notifications/prompts/list_changed" satisfies NotificationMethod
export const NotificationsResourcesListChanged = "notifications/resources/list_changed" satisfies NotificationMethod

// =============================================================================
// Groups and classifiers
// =============================================================================

/** Sent to every server the client may use; results merged with names namespaced. */
export const broadcastMethods = [ToolsList, ResourcesList, ResourcesTemplatesList, PromptsList] as const
export type BroadcastMethod = typeof broadcastMethods[number]

/** Routed by `params.name` (`<server>__<name>`). */
export const nameRoutedMethods = [ToolsCall, PromptsGet] as const
export type NameRoutedMethod = typeof nameRoutedMethods[number]

/** Routed by `params.uri`, through the URI → server map learnt from the list methods. */
export const uriRoutedMethods = [ResourcesRead, ResourcesSubscribe, ResourcesUnsubscribe] as const
export type UriRoutedMethod = typeof uriRoutedMethods[number]

/** Answered by the gateway itself: it is the one server its clients see. */
export const lifecycleMethods = [Initialize, NotificationsInitialized, ServerDiscover, Ping] as const
export type LifecycleMethod = typeof lifecycleMethods[number]

/** Requests a backend may send to the client; they go to the session that caused them. */
export const backendRequestMethods = [SamplingCreateMessage, ElicitationCreate, RootsList, Ping] as const
export type BackendRequestMethod = typeof backendRequestMethods[number]

/** Sent to every session using the backend; the client re-lists. */
export const listChangedNotifications = [
  NotificationsToolsListChanged,
  NotificationsPromptsListChanged,
  NotificationsResourcesListChanged
] as const
export type ListChangedNotification = typeof listChangedNotifications[number]

const isOneOf = <const A extends string>(members: ReadonlyArray<A>) => {
  const set: ReadonlySet<string> = new Set(members)
  return (method: string): method is A => set.has(method)
}

export const isBroadcast = isOneOf(broadcastMethods)
export const isNameRouted = isOneOf(nameRoutedMethods)
export const isUriRouted = isOneOf(uriRoutedMethods)
export const isLifecycle = isOneOf(lifecycleMethods)
export const isBackendRequest = isOneOf(backendRequestMethods)
export const isListChanged = isOneOf(listChangedNotifications)

/**
 * How a client's request (or notification) with this bare method is routed:
 * - `"broadcast"`: to every allowed server;
 * - `"name"` / `"uri"`: to the server named by `params.name` / owning `params.uri` (the value is the params key);
 * - `"lifecycle"`: handled by the gateway;
 * - `"none"`: names no server: ambiguous unless the method itself is namespaced (`filesystem__tools/call`) or
 *   namespacing is off for the client.
 */
export type Routing = "broadcast" | "name" | "uri" | "lifecycle" | "none"

export const routingOf = (method: string): Routing =>
  isBroadcast(method)
    ? "broadcast"
    : isNameRouted(method)
    ? "name"
    : isUriRouted(method)
    ? "uri"
    : isLifecycle(method)
    ? "lifecycle"
    : "none"

/** How many pages of one server's list the gateway follows before it stops (a server could page forever). */
export const maxListPages = 50
