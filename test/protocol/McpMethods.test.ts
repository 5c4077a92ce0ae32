import { assert, describe, it } from "@effect/vitest"
import * as McpMethods from "../../src/protocol/McpMethods.ts"

describe("McpMethods", () => {
  it("classifies the routed methods", () => {
    for (const method of ["tools/list", "resources/list", "resources/templates/list", "prompts/list"]) {
      assert.isTrue(McpMethods.isBroadcast(method), method)
      assert.strictEqual(McpMethods.routingOf(method), "broadcast")
    }
    for (const method of ["tools/call", "prompts/get"]) {
      assert.isTrue(McpMethods.isNameRouted(method), method)
      assert.strictEqual(McpMethods.routingOf(method), "name")
    }
    for (const method of ["resources/read", "resources/subscribe", "resources/unsubscribe"]) {
      assert.isTrue(McpMethods.isUriRouted(method), method)
      assert.strictEqual(McpMethods.routingOf(method), "uri")
    }
    for (const method of ["initialize", "notifications/initialized", "server/discover", "ping"]) {
      assert.isTrue(McpMethods.isLifecycle(method), method)
      assert.strictEqual(McpMethods.routingOf(method), "lifecycle")
    }
  })

  it("leaves everything else unrouted, including namespaced methods (Namespacing handles those)", () => {
    for (const method of ["completion/complete", "logging/setLevel", "filesystem__tools/call", "", "TOOLS/LIST"]) {
      assert.strictEqual(McpMethods.routingOf(method), "none", method)
    }
  })

  it("knows the requests a backend may send to the client; ping goes both ways", () => {
    for (const method of ["sampling/createMessage", "elicitation/create", "roots/list", "ping"]) {
      assert.isTrue(McpMethods.isBackendRequest(method), method)
    }
    assert.isFalse(McpMethods.isBackendRequest("tools/call"))
    assert.isTrue(McpMethods.isLifecycle(McpMethods.Ping))
  })

  it("groups the list_changed notifications", () => {
    assert.deepStrictEqual([...McpMethods.listChangedNotifications].sort(), [
      "notifications/prompts/list_changed",
      "notifications/resources/list_changed",
      "notifications/tools/list_changed"
    ])
    assert.isTrue(McpMethods.isListChanged("notifications/tools/list_changed"))
    assert.isFalse(McpMethods.isListChanged(McpMethods.NotificationsResourcesUpdated))
    assert.isFalse(McpMethods.isListChanged(McpMethods.NotificationsProgress))
  })

  it("spells the notification names as MCP does", () => {
    assert.deepStrictEqual(
      [
        McpMethods.NotificationsProgress,
        McpMethods.NotificationsCancelled,
        McpMethods.NotificationsMessage,
        McpMethods.NotificationsResourcesUpdated,
        McpMethods.NotificationsInitialized
      ],
      [
        "notifications/progress",
        "notifications/cancelled",
        "notifications/message",
        "notifications/resources/updated",
        "notifications/initialized"
      ]
    )
  })

  it("narrows the method type", () => {
    const method: string = "tools/call"
    if (McpMethods.isNameRouted(method)) {
      const narrowed: "tools/call" | "prompts/get" = method
      assert.strictEqual(narrowed, "tools/call")
    } else {
      assert.fail("tools/call is name-routed")
    }
  })
})
