import type { EncodedEvent } from "./EventEncoding.ts"
import type { EventName } from "./SessionEvent.ts"

const eventNames: ReadonlyArray<EventName> = ["response", "chunk", "notification", "error", "request", "heartbeat", "closed"]
const nameIndex = new Map(eventNames.map((name, i) => [name, i]))

/** Kept events' bytes live in chunks that double from 1 KiB to 64 KiB; a larger event gets a chunk of its own. */
const minChunkBytes = 1024
const maxChunkBytes = 64 * 1024

/**
 * The last `capacity` events a session sent, for a client that reconnects with `Last-Event-ID`.
 *
 * Kept as their data's JSON, in bytes outside the V8 heap indexed by typed arrays, rather than as the events
 * themselves: under a flood every kept event outlives young-generation collections, and copying thousands of
 * event objects at each one held a stream for 15-30 ms (bench/, `--trace-gc`). Here a kept event costs the heap
 * nothing.
 *
 * Owned by its session's actor; every method is synchronous, so no caller ever sees it half-updated.
 * Ids only increase but may have gaps (heartbeats are numbered but not kept: replaying them is noise),
 * so "was anything lost?" compares with the id of the last event pushed out of the buffer.
 */
export class ReplayBuffer {
  readonly #capacity: number
  // A ring of the kept events, oldest at `#start`: each one's id, name and where its bytes are (chunk number,
  // offset, length). It grows by doubling up to `capacity`, so an idle session holds almost nothing.
  #ids: Float64Array = new Float64Array(0)
  #names: Uint8Array = new Uint8Array(0)
  #chunkOf: Float64Array = new Float64Array(0)
  #offsets: Uint32Array = new Uint32Array(0)
  #lengths: Uint32Array = new Uint32Array(0)
  #start = 0
  #size = 0
  #evictedUpTo = 0
  /** Chunks in order; `#chunks[0]` is chunk number `#firstChunk`, and the last one is being filled. */
  #chunks: Array<Buffer> = []
  #firstChunk = 0
  #used = 0
  /**
   * A full-size chunk no kept event uses, for the next one: a full ring under a flood then writes into the same
   * memory over and over. Each new buffer would count as external memory until a full collection freed the old
   * ones, and that growth is what made V8 run them (10-20 ms pauses). One is enough: a full ring frees a chunk
   * for each one it fills.
   */
  #spare: Buffer | undefined

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  push(event: EncodedEvent): void {
    const length = Buffer.byteLength(event.json)
    let chunk = this.#chunks.at(-1)
    if (chunk === undefined || chunk.length - this.#used < length) {
      const next = chunk === undefined ? minChunkBytes : Math.min(maxChunkBytes, chunk.length * 2)
      chunk = next === maxChunkBytes && length <= next ? this.#spare : undefined
      if (chunk === undefined) chunk = Buffer.allocUnsafeSlow(Math.max(next, length))
      else this.#spare = undefined
      this.#chunks.push(chunk)
      this.#used = 0
    }
    chunk.write(event.json, this.#used, length, "utf8")

    let slot: number
    if (this.#size === this.#capacity) {
      slot = this.#start
      this.#evictedUpTo = this.#ids[slot]!
      this.#start = (this.#start + 1) % this.#ids.length
    } else {
      if (this.#size === this.#ids.length) this.#grow()
      slot = (this.#start + this.#size) % this.#ids.length
      this.#size++
    }
    this.#ids[slot] = event.id
    this.#names[slot] = nameIndex.get(event.event)!
    this.#chunkOf[slot] = this.#firstChunk + this.#chunks.length - 1
    this.#offsets[slot] = this.#used
    this.#lengths[slot] = length
    this.#used += length
    // Chunks older than the oldest kept event's hold nothing kept any more.
    const oldest = this.#chunkOf[this.#start]!
    while (this.#firstChunk < oldest) {
      const released = this.#chunks.shift()!
      if (released.length === maxChunkBytes && this.#spare === undefined) this.#spare = released
      this.#firstChunk++
    }
  }

  /**
   * The kept events with `after < id <= upTo`, oldest first, and, if some event after `after` is no longer
   * kept (the client missed it for good), the id of the last such event.
   */
  since(after: number, upTo: number): { readonly events: ReadonlyArray<EncodedEvent>; readonly lostUpTo?: number } {
    const events: Array<EncodedEvent> = []
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#start + i) % this.#ids.length
      const id = this.#ids[slot]!
      if (id <= after || id > upTo) continue
      const chunk = this.#chunks[this.#chunkOf[slot]! - this.#firstChunk]!
      const offset = this.#offsets[slot]!
      events.push({ id, event: eventNames[this.#names[slot]!]!, json: chunk.toString("utf8", offset, offset + this.#lengths[slot]!) })
    }
    return after < this.#evictedUpTo ? { events, lostUpTo: this.#evictedUpTo } : { events }
  }

  /** Bytes held outside the heap: every chunk, the spare included. */
  get heldBytes(): number {
    return this.#chunks.reduce((sum, chunk) => sum + chunk.length, this.#spare?.length ?? 0)
  }

  /** Doubles the ring (up to capacity), oldest event first. */
  #grow(): void {
    const length = Math.min(this.#capacity, Math.max(8, this.#ids.length * 2))
    this.#ids = inOrder(this.#ids, new Float64Array(length), this.#start, this.#size)
    this.#names = inOrder(this.#names, new Uint8Array(length), this.#start, this.#size)
    this.#chunkOf = inOrder(this.#chunkOf, new Float64Array(length), this.#start, this.#size)
    this.#offsets = inOrder(this.#offsets, new Uint32Array(length), this.#start, this.#size)
    this.#lengths = inOrder(this.#lengths, new Uint32Array(length), this.#start, this.#size)
    this.#start = 0
  }
}

/** Copies `size` entries of the ring `from`, starting at `start`, to the start of `to`. */
const inOrder = <A extends Float64Array | Uint32Array | Uint8Array>(from: A, to: A, start: number, size: number): A => {
  for (let i = 0; i < size; i++) to[i] = from[(start + i) % from.length]!
  return to
}
