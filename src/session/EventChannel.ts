import { type Cause, Clock, Deferred, Duration, Effect, Exit, Queue, Stream } from "effect"
import { encode, type EncodedEvent, sseFrame } from "./EventEncoding.ts"
import { ReplayBuffer } from "./ReplayBuffer.ts"
import type { CloseReason, SessionEvent, Unnumbered } from "./SessionEvent.ts"

/**
 * One session's events on their way to its client: numbered, kept for replay, queued for the open stream (the
 * latest GET), bounded, with heartbeats while a stream is open and `closed` always last. The session actor decides
 * what happens; this is how it reaches the client.
 */
export interface EventChannel {
  /**
   * Numbers an event, keeps it for replay and hands it to the open stream; returns what went out (the event, or
   * the error that replaced it if it could not be encoded), or undefined once closed. More than
   * `maxPendingEvents` waiting (in the stream's queue, or with no stream at all) close the channel: `overflow`.
   */
  readonly push: (event: Unnumbered) => SessionEvent | undefined
  /** Sends `closed { reason }` as the last event and ends the open stream (once; later calls do nothing). */
  readonly close: (reason: CloseReason) => void
  readonly isClosed: () => boolean
  /** Whether a GET is open on the session. */
  readonly hasStream: () => boolean
  /** Completes with the reason once closed. */
  readonly closed: Effect.Effect<CloseReason>
  /**
   * The events for one GET: first what the client missed after `lastEventId` (if given, else after what a stream
   * last took), then live. A later call takes over: this stream then ends. It ends after `closed`.
   */
  readonly stream: (lastEventId: number | undefined) => Stream.Stream<SessionEvent>
  /** The same events as SSE frames, each encoded once, when it happened, not per stream. */
  readonly frames: (lastEventId: number | undefined) => Stream.Stream<string>
}

export interface Options {
  readonly maxPendingEvents: number
  readonly heartbeatInterval: Duration.Input
  /** Run when a stream opens and when it ends (the session's idle clock starts again). */
  readonly onStreamChange: Effect.Effect<void>
}

/**
 * What a stream takes from its queue: an event encoded (at push, once, for replay and SSE alike) and, when it is at
 * hand, the event itself (a replayed one is parsed back only for a stream of events).
 */
interface Delivery extends EncodedEvent {
  readonly live?: SessionEvent
}

/** One GET's end of the channel: its own queue (a replaced stream can never take an event meant for the next). */
interface Outlet {
  readonly outbox: Queue.Queue<Delivery, Cause.Done>
  /**
   * Whether it sends events rather than frames: a stream of frames is given only the JSON, so a backlog of a client
   * that stopped reading holds each event once, as text, not also as the object it was made from.
   */
  readonly wantsEvents: boolean
  /** The id of the last heartbeat put in `outbox`: it waits there until the stream takes past it. */
  heartbeatId: number
}

const withoutEvent = ({ id, event, json }: Delivery): Delivery => ({ id, event, json })

/** Its state is touched only in synchronous steps, never across a `yield*`. */
export const make = (options: Options): EventChannel => {
  const max = options.maxPendingEvents
  // Every event is kept here for replay, and `closed` always fits beside `max` undelivered ones.
  const replay = new ReplayBuffer(max + 1)
  const closedReason = Deferred.makeUnsafe<CloseReason>()
  let lastId = 0
  /** The highest id a stream has taken for sending: a GET without Last-Event-ID resumes after it. */
  let lastTaken = 0
  /** Events pushed while no stream was open, not yet taken by any. */
  let undelivered = 0
  let isClosed = false
  /** The stream that receives live events: the latest GET. */
  let current: Outlet | undefined

  const close = (reason: CloseReason) => {
    if (isClosed) return
    isClosed = true
    const event = encode({ id: ++lastId, event: "closed", data: { reason } })
    replay.push(event)
    if (current !== undefined) {
      // Room is certain: push never fills a queue past `max` events and one heartbeat, its capacity is `max + 2`.
      Queue.offerUnsafe(current.outbox, event)
      Queue.endUnsafe(current.outbox)
    }
    Deferred.doneUnsafe(closedReason, Exit.succeed(reason))
  }

  // A heartbeat waiting among the pending events does not count: heartbeats give way first.
  const push = (event: Unnumbered): SessionEvent | undefined => {
    if (isClosed) return
    const pending = current === undefined
      ? undelivered
      : Queue.sizeUnsafe(current.outbox) - (current.heartbeatId > lastTaken ? 1 : 0)
    if (pending >= max) {
      close("overflow")
      return
    }
    const encoded = encode({ id: ++lastId, ...event } as SessionEvent)
    replay.push(encoded)
    if (current === undefined) undelivered++
    else Queue.offerUnsafe(current.outbox, current.wantsEvents ? encoded : withoutEvent(encoded))
    return encoded.live
  }

  // Heartbeats belong to an open stream (an idle session holds no timer for them). One is only sent into an empty
  // queue: a stream with events waiting needs none, so at most one heartbeat is ever queued (it can take one slot
  // of the bound, never more), and none is replayed.
  const heartbeats = (stream: Outlet) =>
    Effect.gen(function*() {
      yield* Effect.sleep(options.heartbeatInterval)
      const timestamp = yield* Clock.currentTimeMillis
      if (isClosed || current !== stream || Queue.sizeUnsafe(stream.outbox) > 0) return
      stream.heartbeatId = ++lastId
      Queue.offerUnsafe(stream.outbox, encode({ id: stream.heartbeatId, event: "heartbeat", data: { timestamp } }))
    }).pipe(Effect.forever)

  const deliveries = (lastEventId: number | undefined, wantsEvents: boolean): Stream.Stream<Delivery> =>
    Stream.unwrap(Effect.gen(function*() {
      const outbox = yield* Queue.bounded<Delivery, Cause.Done>(max + 2)
      const mine: Outlet = { outbox, wantsEvents, heartbeatId: 0 }
      // From here to the return nothing yields: the switch to the new stream is one step.
      const from = lastEventId ?? lastTaken
      const missed = replay.since(from, lastId)
      if (isClosed) Queue.endUnsafe(outbox)
      else {
        // A second GET takes over: the stream before it ends after what it already holds.
        if (current !== undefined) Queue.endUnsafe(current.outbox)
        current = mine
        undelivered = 0
      }
      yield* Effect.addFinalizer(() =>
        Effect.andThen(Effect.sync(() => void (current === mine && (current = undefined))), options.onStreamChange)
      )
      yield* Effect.forkScoped(heartbeats(mine))
      yield* options.onStreamChange
      // The gap is said first. Its id is that of the last event lost for good: above what the client has,
      // below everything it gets next, so ids still increase along the stream and a later resume from it
      // replays exactly what follows.
      const gap: ReadonlyArray<Delivery> = missed.lostUpTo === undefined ? [] : [encode({
        id: missed.lostUpTo,
        event: "error",
        data: {
          error: {
            code: "events_lost",
            message: `events after ${from} up to ${missed.lostUpTo} are no longer kept and cannot be replayed`
          }
        }
      })]
      // Chunk by chunk (ids increase along a stream, so the last one is the highest): per event it cost a flood.
      const taken = <Events extends ReadonlyArray<Delivery>>(events: Events): Events => {
        const last = events.at(-1)
        if (last !== undefined && last.id > lastTaken) lastTaken = last.id
        return events
      }
      return Stream.fromIterable([...gap, ...missed.events]).pipe(
        Stream.concat(Stream.fromQueue(outbox)),
        Stream.mapArray(taken)
      )
    }))

  return {
    push,
    close,
    isClosed: () => isClosed,
    hasStream: () => current !== undefined,
    closed: Deferred.await(closedReason),
    stream: (lastEventId) =>
      Stream.map(deliveries(lastEventId, true), (d) => d.live ?? ({ id: d.id, event: d.event, data: JSON.parse(d.json) } as SessionEvent)),
    frames: (lastEventId) => Stream.map(deliveries(lastEventId, false), sseFrame)
  }
}
