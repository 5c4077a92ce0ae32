import type { EventId, EventStore, JSONRPCMessage, StreamId } from "@modelcontextprotocol/server"

/**
 * The resumability store of one MCP session (`Last-Event-ID` on its GET and POST streams): the last `capacity`
 * messages in memory, oldest dropped first, so a session's memory stays bounded like its replay buffer. An id is
 * `<stream>/<n>`, n increasing across the session.
 */
export class BoundedEventStore implements EventStore {
  readonly #events = new Map<EventId, { readonly streamId: StreamId; readonly message: JSONRPCMessage }>()
  readonly #capacity: number
  #counter = 0

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return this.store(streamId, message)
  }

  /** `storeEvent`, synchronously (the lean path stores as it hands a message on). */
  store(streamId: StreamId, message: JSONRPCMessage): EventId {
    const id = `${streamId}/${++this.#counter}`
    this.#events.set(id, { streamId, message })
    // A Map iterates in insertion order: the first key is the oldest.
    if (this.#events.size > this.#capacity) this.#events.delete(this.#events.keys().next().value as EventId)
    return id
  }

  /** The order of an id among all this store gave (ids of one stream increase with it). */
  static sequence(id: EventId): number {
    return Number(id.slice(id.lastIndexOf("/") + 1))
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }
  ): Promise<StreamId> {
    const from = this.#events.get(lastEventId)
    if (from === undefined) throw new Error("the event to resume after is no longer kept")
    let after = false
    for (const [id, event] of [...this.#events]) {
      if (id === lastEventId) after = true
      // The priming event of a stream is stored as an empty message: nothing to replay.
      else if (after && event.streamId === from.streamId && Object.keys(event.message).length > 0) {
        await send(id, event.message)
      }
    }
    return from.streamId
  }
}
