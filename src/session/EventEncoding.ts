import type { EventName, SessionEvent } from "./SessionEvent.ts"

/** An event as a stream sends it: its id, its name, and its data as JSON. */
export interface EncodedEvent {
  readonly id: number
  readonly event: EventName
  readonly json: string
}

/** An event encoded when it happened, with the event itself at hand. */
export interface Encoded extends EncodedEvent {
  readonly live: SessionEvent
}

/**
 * Encodes a numbered event's data, once, for replay and every stream alike. Data that cannot be printed as JSON
 * (a backend's result nested deeper than JSON.stringify goes, though JSON.parse took it) becomes an `error` event
 * for the same request, so its client is told rather than left waiting.
 */
export const encode = (event: SessionEvent): Encoded => {
  try {
    return { id: event.id, event: event.event, json: JSON.stringify(event.data), live: event }
  } catch {
    const replacement = unprintable(event)
    return { id: event.id, event: replacement.event, json: JSON.stringify(replacement.data), live: replacement }
  }
}

const unprintable = (event: SessionEvent): SessionEvent => {
  const data: Record<string, unknown> = event.data
  const requestId = typeof data["request_id"] === "string" ? data["request_id"] : undefined
  const serverId = typeof data["server_id"] === "string" ? data["server_id"] : undefined
  return {
    id: event.id,
    event: "error",
    data: {
      ...(requestId === undefined ? {} : { request_id: requestId }),
      ...(serverId === undefined ? {} : { server_id: serverId }),
      error: { code: "internal_error", message: `a ${event.event} event could not be encoded as JSON (nested too deeply)` }
    }
  }
}

/**
 * An encoded event as one SSE frame (DESIGN.md, the streaming session API). One `data:` line is enough:
 * JSON.stringify never writes a raw line break (it escapes them), and the id and event names are the gateway's
 * own (digits, lower-case words).
 */
export const sseFrame = (event: EncodedEvent): string => `id: ${event.id}\nevent: ${event.event}\ndata: ${event.json}\n\n`
