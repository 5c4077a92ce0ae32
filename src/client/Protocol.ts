/**
 * The wire shapes the client needs (optional fields also admit `undefined`, so the MCP SDK's types are readable as
 * these): JSON-RPC 2.0 messages, the session API's bodies and its SSE events
 * (docs/session-api.md). Declared here rather than imported so the client has no dependencies.
 */

export type JsonRpcId = string | number

export interface JsonRpcErrorObject {
  readonly code: number
  readonly message: string
  readonly data?: unknown
}

export interface JsonRpcRequest {
  readonly jsonrpc: "2.0"
  readonly id: JsonRpcId
  readonly method: string
  readonly params?: { readonly [key: string]: unknown } | undefined
}

export interface JsonRpcNotification {
  readonly jsonrpc: "2.0"
  readonly method: string
  readonly params?: { readonly [key: string]: unknown } | undefined
}

export interface JsonRpcSuccess {
  readonly jsonrpc: "2.0"
  readonly id: JsonRpcId
  readonly result: unknown
}

export interface JsonRpcFailure {
  readonly jsonrpc: "2.0"
  /** null or absent when the request could not be read (JSON-RPC 2.0, §5). */
  readonly id?: JsonRpcId | null | undefined
  readonly error: JsonRpcErrorObject
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure

// =============================================================================
// Routes
// =============================================================================

/** One server of a new session. */
export interface ServerSummary {
  readonly id: string
  readonly status: "ready" | "failed"
  readonly error?: string
  readonly capabilities?: { readonly [key: string]: unknown }
  readonly instructions?: string
}

/** `201` answer to `POST /gateway/stream`. */
export interface SessionCreated {
  readonly session_id: string
  readonly stream_url: string
  readonly request_url: string
  readonly servers: ReadonlyArray<ServerSummary>
}

/** `202` answer to a posted message: the id its answer carries on the stream (null for a notification). */
export interface Accepted {
  readonly request_id: string | null
}

/** Every error answer of the gateway's routes. */
export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string }
}

// =============================================================================
// Stream events
// =============================================================================

export type CloseReason = "client" | "expired" | "overflow" | "shutdown"

/** The `data` of each SSE event of a session's stream, by event name. */
export interface EventData {
  readonly response: {
    readonly request_id: string
    /** null for the merged answer to a broadcast. */
    readonly server_id: string | null
    readonly response: JsonRpcResponse
  }
  /** One server's part of a broadcast, as it arrives. */
  readonly chunk: { readonly request_id: string; readonly server_id: string; readonly result: unknown }
  readonly notification: { readonly server_id: string | null; readonly notification: JsonRpcNotification }
  /** `request_timeout`, `backend_closed`, `backend_unavailable`, `backend_send_failed`, `events_lost`, ... */
  readonly error: {
    readonly request_id?: string
    readonly server_id?: string
    readonly error: { readonly code: string; readonly message: string; readonly data?: unknown }
  }
  /** A backend asks the client something; answer with `GatewaySession.respond(request.id, ...)`. */
  readonly request: { readonly server_id: string; readonly request: JsonRpcRequest }
  readonly heartbeat: { readonly timestamp: number }
  /** Always the last event of a session. */
  readonly closed: { readonly reason: CloseReason }
}

export type EventName = keyof EventData

// =============================================================================
// MCP results the convenience methods return (only the fields the gateway guarantees; the rest pass through)
// =============================================================================

export interface Tool {
  readonly name: string
  readonly description?: string
  readonly inputSchema?: { readonly [key: string]: unknown }
  readonly [key: string]: unknown
}

/** A server that failed its part of a broadcast: the merged result is partial. */
export interface BroadcastError {
  readonly server_id: string
  readonly code: string
  readonly message: string
}

export interface ListToolsResult {
  readonly tools: ReadonlyArray<Tool>
  readonly errors?: ReadonlyArray<BroadcastError>
  readonly [key: string]: unknown
}

export interface CallToolResult {
  readonly content: ReadonlyArray<{ readonly type: string; readonly [key: string]: unknown }>
  readonly isError?: boolean
  readonly structuredContent?: unknown
  readonly [key: string]: unknown
}
