import type { JSONRPCNotification, JSONRPCRequest, JSONRPCResponse } from "@modelcontextprotocol/client"

/** The `data` of each SSE event of a session's stream, by event name (DESIGN.md, the streaming session API). */
export interface EventData {
  readonly response: {
    readonly request_id: string
    /** null for the merged answer to a broadcast. */
    readonly server_id: string | null
    readonly response: JSONRPCResponse
  }
  readonly chunk: { readonly request_id: string; readonly server_id: string; readonly result: unknown }
  readonly notification: { readonly server_id: string | null; readonly notification: JSONRPCNotification }
  readonly error: {
    readonly request_id?: string
    readonly server_id?: string
    readonly error: { readonly code: string; readonly message: string; readonly data?: unknown }
  }
  readonly request: { readonly server_id: string; readonly request: JSONRPCRequest }
  readonly heartbeat: { readonly timestamp: number }
  readonly closed: { readonly reason: CloseReason }
}

export type EventName = keyof EventData

export type CloseReason = "client" | "expired" | "overflow" | "shutdown"

/** An event as the stream sends it: a session-wide increasing id, a name, and its data. */
export type SessionEvent = {
  [K in EventName]: { readonly id: number; readonly event: K; readonly data: EventData[K] }
}[EventName]

/** An event before it is numbered. */
export type Unnumbered = {
  [K in EventName]: { readonly event: K; readonly data: EventData[K] }
}[EventName]
