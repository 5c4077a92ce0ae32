import type { ClientCapabilities, Implementation } from "@modelcontextprotocol/client"

/** How the gateway introduces itself to every backend. */
export const clientInfo: Implementation = { name: "mcp-streaming-gateway", version: "0.1.0" }

/**
 * Everything the gateway can relay to its own clients. Backends may register tools only when the client
 * declares a capability (server-everything adds its sampling, elicitation, roots and task tools), so the
 * gateway declares them all and routes the backend's requests to the session that caused them.
 */
export const clientCapabilities: ClientCapabilities = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
  tasks: {
    list: {},
    cancel: {},
    requests: { sampling: { createMessage: {} }, elicitation: { create: {} } }
  }
}
