/**
 * `subscriptions/listen` (2026-07-28): which notifications a listen stream asked for, and how each is stamped
 * with the stream's subscription id (the listen request's JSON-RPC id). Pure.
 */
import type { JSONRPCNotification, RequestId, ServerCapabilities } from "@modelcontextprotocol/server"

export const SubscriptionIdKey = "io.modelcontextprotocol/subscriptionId"

/** The `notifications` filter of a listen request, as the spec names its fields. */
export interface Filter {
  readonly toolsListChanged?: boolean
  readonly promptsListChanged?: boolean
  readonly resourcesListChanged?: boolean
  readonly resourceSubscriptions?: ReadonlyArray<string>
}

/** The filter in a listen request's params; anything malformed asks for nothing. */
export const filterOf = (params: Readonly<Record<string, unknown>> | undefined): Filter => {
  const raw = params?.["notifications"]
  if (typeof raw !== "object" || raw === null) return {}
  const { toolsListChanged, promptsListChanged, resourcesListChanged, resourceSubscriptions } = raw as Record<string, unknown>
  return {
    ...(toolsListChanged === true ? { toolsListChanged } : {}),
    ...(promptsListChanged === true ? { promptsListChanged } : {}),
    ...(resourcesListChanged === true ? { resourcesListChanged } : {}),
    ...(Array.isArray(resourceSubscriptions)
      ? { resourceSubscriptions: resourceSubscriptions.filter((uri): uri is string => typeof uri === "string") }
      : {})
  }
}

/** The part of a filter the gateway can honour, given the capabilities it announced for the client. */
export const honoured = (filter: Filter, capabilities: ServerCapabilities): Filter => ({
  ...(filter.toolsListChanged === true && capabilities.tools?.listChanged === true ? { toolsListChanged: true } : {}),
  ...(filter.promptsListChanged === true && capabilities.prompts?.listChanged === true ? { promptsListChanged: true } : {}),
  ...(filter.resourcesListChanged === true && capabilities.resources?.listChanged === true ? { resourcesListChanged: true } : {}),
  ...(filter.resourceSubscriptions === undefined ? {} : { resourceSubscriptions: filter.resourceSubscriptions })
})

/** Whether a notification is one the filter asked for. */
export const wants = (filter: Filter, notification: JSONRPCNotification): boolean => {
  switch (notification.method) {
    case "notifications/tools/list_changed":
      return filter.toolsListChanged === true
    case "notifications/prompts/list_changed":
      return filter.promptsListChanged === true
    case "notifications/resources/list_changed":
      return filter.resourcesListChanged === true
    case "notifications/resources/updated": {
      const uri = notification.params?.["uri"]
      return typeof uri === "string" && (filter.resourceSubscriptions ?? []).includes(uri)
    }
    default:
      return false
  }
}

/** The notification as the listen stream sends it: its `_meta` names the subscription. */
export const stamp = (notification: JSONRPCNotification, subscriptionId: RequestId): JSONRPCNotification => ({
  ...notification,
  params: { ...notification.params, _meta: { ...notification.params?._meta, [SubscriptionIdKey]: subscriptionId } }
})

/** The first message of every listen stream: what it will receive. */
export const acknowledged = (filter: Filter, subscriptionId: RequestId): JSONRPCNotification => ({
  jsonrpc: "2.0",
  method: "notifications/subscriptions/acknowledged",
  params: { notifications: filter, _meta: { [SubscriptionIdKey]: subscriptionId } }
})
