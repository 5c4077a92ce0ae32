import type { SessionEvent } from "./SessionEvent.ts"

/**
 * The last `capacity` events a session sent, for a client that reconnects with `Last-Event-ID`.
 *
 * Owned by its session's actor; every method is synchronous, so no caller ever sees it half-updated.
 * Ids only increase but may have gaps (heartbeats are numbered but not kept: replaying them is noise),
 * so "was anything lost?" compares with the id of the last event pushed out of the buffer.
 */
export class ReplayBuffer {
  readonly #capacity: number
  readonly #events: Array<SessionEvent | undefined>
  #start = 0
  #size = 0
  #evictedUpTo = 0

  constructor(capacity: number) {
    this.#capacity = capacity
    // Grows as events come: an idle session holds no preallocated slots.
    this.#events = []
  }

  push(event: SessionEvent): void {
    if (this.#size === this.#capacity) {
      this.#evictedUpTo = this.#events[this.#start]?.id ?? this.#evictedUpTo
      this.#events[this.#start] = event
      this.#start = (this.#start + 1) % this.#capacity
    } else {
      this.#events[(this.#start + this.#size) % this.#capacity] = event
      this.#size++
    }
  }

  /**
   * The kept events with `after < id <= upTo`, oldest first, and, if some event after `after` is no longer
   * kept (the client missed it for good), the id of the last such event.
   */
  since(after: number, upTo: number): { readonly events: ReadonlyArray<SessionEvent>; readonly lostUpTo?: number } {
    const events: Array<SessionEvent> = []
    for (let i = 0; i < this.#size; i++) {
      const event = this.#events[(this.#start + i) % this.#capacity]
      if (event !== undefined && event.id > after && event.id <= upTo) events.push(event)
    }
    return after < this.#evictedUpTo ? { events, lostUpTo: this.#evictedUpTo } : { events }
  }
}
