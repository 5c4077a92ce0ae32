import type { JSONRPCNotification, JSONRPCRequest, JSONRPCResponse, ServerCapabilities } from "@modelcontextprotocol/client"
import { type Cause, Clock, Deferred, Duration, Effect, Exit, Fiber, FiberSet, Queue, Stream } from "effect"
import type { Backend } from "../backend/Backend.ts"
import type { BackendError } from "../backend/BackendErrors.ts"
import type * as McpMethods from "../protocol/McpMethods.ts"
import * as Merge from "../routing/Merge.ts"
import * as Router from "../routing/Router.ts"
import type { AmbiguousMethod, Forbidden } from "../routing/RoutingErrors.ts"
import { ReplayBuffer } from "./ReplayBuffer.ts"
import type { CloseReason, SessionEvent, Unnumbered } from "./SessionEvent.ts"

/** What a session may use and how long it may wait. */
export interface Options {
  readonly id: string
  readonly client: { readonly id: string; readonly servers: ReadonlyArray<string>; readonly namespacing: "on" | "off" }
  /** The backends of this session's servers (shared ones, or its own for `isolation: "session"`). */
  readonly backends: ReadonlyMap<string, Backend>
  readonly maxPendingEvents: number
  readonly heartbeatInterval: Duration.Input
  readonly idleTimeout: Duration.Input
  readonly requestTimeout: (serverId: string) => Duration.Duration
}

/** One server of the session, as `POST /gateway/stream` reports it. */
export interface ServerSummary {
  readonly id: string
  readonly status: "ready" | "failed"
  readonly error?: string
  readonly capabilities?: ServerCapabilities
}

export interface Session {
  readonly id: string
  readonly clientId: string
  readonly servers: Effect.Effect<ReadonlyArray<ServerSummary>>
  /**
   * The events for one GET: first what the client missed after `lastEventId` (if given), then live. A later
   * call takes over: this stream then ends. The stream ends after `closed` when the session closes.
   */
  readonly stream: (lastEventId: number | undefined) => Stream.Stream<SessionEvent>
  /** Takes one JSON-RPC message from the client; a request's answer arrives on the stream. */
  readonly submit: (
    message: JSONRPCRequest | JSONRPCNotification
  ) => Effect.Effect<{ readonly request_id: string | null }, AmbiguousMethod | Forbidden>
  /** Ends the session: `closed { reason }` is the last event its stream gets. */
  readonly close: (reason: CloseReason) => Effect.Effect<void>
  /** Completes with the reason once the session has closed. */
  readonly closed: Effect.Effect<CloseReason>
}

/** The `error` event code for each way a backend request can fail. */
const errorCode = (error: BackendError): string => {
  switch (error._tag) {
    case "RequestTimedOut":
      return "request_timeout"
    case "BackendClosed":
      return "backend_closed"
    case "BackendUnavailable":
      return "backend_unavailable"
    case "BackendSendFailed":
      return "backend_send_failed"
  }
}

/** How many pages of one backend's list a broadcast follows before it stops. */
const maxPages = 50

/**
 * The actor for one client session. Everything it forks lives in the scope it is made in (the manager
 * closes that scope once the session has closed). Its state (the event counter, the replay buffer, the
 * bookkeeping of streams and requests) is touched only in synchronous steps, never across a `yield*`.
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const max = options.maxPendingEvents
  const idleMillis = Duration.toMillis(Duration.fromInputUnsafe(options.idleTimeout))
  // One slot beyond the bound is kept for `closed`, so the last event always fits.
  const queue = yield* Queue.bounded<SessionEvent, Cause.Done>(max + 1)
  const replay = new ReplayBuffer(max)
  const closedReason = Deferred.makeUnsafe<CloseReason>()
  const requests = yield* FiberSet.make()

  let lastId = 0
  let lastTaken = 0
  let isClosed = false
  let activeStreams = 0
  let lastActivity = yield* Clock.currentTimeMillis
  let takeover: Deferred.Deferred<void> | undefined
  let requestCounter = 0
  let names: Merge.NameMap = new Map()
  /** Progress tokens of this session's requests in flight: their progress notifications are this session's. */
  const progressTokens = new Set<string | number>()
  /** In-flight requests by the client's own JSON-RPC id, so `notifications/cancelled` can stop them. */
  const byClientId = new Map<string | number, Effect.Effect<void>>()

  const touch = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void (lastActivity = now)))

  const closeNow = (reason: CloseReason) => {
    if (isClosed) return
    isClosed = true
    const event: SessionEvent = { id: ++lastId, event: "closed", data: { reason } }
    replay.push(event)
    Queue.offerUnsafe(queue, event)
    Queue.endUnsafe(queue)
    Deferred.doneUnsafe(closedReason, Exit.succeed(reason))
  }

  /** Numbers an event, keeps it for replay, and queues it; a full queue ends the session (overflow). */
  const emit = (event: Unnumbered) =>
    Effect.sync(() => {
      if (isClosed) return
      if (Queue.sizeUnsafe(queue) >= max) return closeNow("overflow")
      const numbered = { id: ++lastId, ...event } as SessionEvent
      replay.push(numbered)
      Queue.offerUnsafe(queue, numbered)
    })

  // Heartbeats only while a stream listens, never into the replay buffer, and dropped first under pressure.
  yield* Effect.gen(function*() {
    yield* Effect.sleep(options.heartbeatInterval)
    const timestamp = yield* Clock.currentTimeMillis
    if (isClosed || activeStreams === 0 || Queue.sizeUnsafe(queue) >= max) return
    Queue.offerUnsafe(queue, { id: ++lastId, event: "heartbeat", data: { timestamp } })
  }).pipe(Effect.forever, Effect.forkScoped)

  // Idle expiry: no stream and no request for `idleTimeout`. One fiber sleeps until the next possible moment.
  yield* Effect.gen(function*() {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const due = lastActivity + idleMillis
      if (activeStreams === 0 && now >= due) return closeNow("expired")
      yield* Effect.sleep(activeStreams > 0 ? idleMillis : due - now)
    }
  }).pipe(Effect.forkScoped)

  // Backend notifications: subscribed now, for the life of the session.
  for (const [serverId, backend] of options.backends) {
    const notifications = yield* backend.subscribeNotifications
    yield* notifications.pipe(
      Stream.runForEach((notification) => {
        // Progress belongs to the request that asked for it; another session's progress is not ours.
        const token = notification.params?.progressToken
        if (
          notification.method === "notifications/progress" &&
          (typeof token !== "string" && typeof token !== "number" || !progressTokens.has(token))
        ) return Effect.void
        return emit({ event: "notification", data: { server_id: serverId, notification } })
      }),
      Effect.forkScoped
    )
  }

  const failed = (requestId: string, serverId: string, error: BackendError) =>
    emit({ event: "error", data: { request_id: requestId, server_id: serverId, error: { code: errorCode(error), message: error.message } } })

  const single = (requestId: string, serverId: string, backend: Backend, message: JSONRPCRequest) =>
    backend.request(message, { timeout: options.requestTimeout(serverId) }).pipe(
      Effect.matchEffect({
        onSuccess: (response) => emit({ event: "response", data: { request_id: requestId, server_id: serverId, response } }),
        onFailure: (error) => failed(requestId, serverId, error)
      })
    )

  /** Every page of one backend's list. */
  const listAll = (serverId: string, backend: Backend, method: McpMethods.BroadcastMethod, request: JSONRPCRequest) =>
    Effect.gen(function*() {
      const items: Array<unknown> = []
      let result: Record<string, unknown> = {}
      let cursor: unknown = request.params?.cursor
      const key = Merge.listKey(method)
      for (let page = 0; page < maxPages; page++) {
        const params = cursor === undefined ? { ...request.params } : { ...request.params, cursor }
        const response: JSONRPCResponse = yield* backend.request(
          { ...request, params },
          { timeout: options.requestTimeout(serverId) }
        )
        if ("error" in response) return yield* Effect.fail(response.error)
        result = response.result
        const list = result[key]
        if (Array.isArray(list)) items.push(...list)
        cursor = result["nextCursor"]
        if (typeof cursor !== "string") break
      }
      const { nextCursor: _, ...rest } = result
      return { ...rest, [key]: items }
    })

  const broadcast = (
    requestId: string,
    method: McpMethods.BroadcastMethod,
    serverIds: ReadonlyArray<string>,
    message: JSONRPCRequest
  ) =>
    Effect.gen(function*() {
      const parts: Array<{ readonly serverId: string; readonly result: Record<string, unknown> }> = []
      const errors: Array<{ readonly serverId: string; readonly error: { readonly code: number | string; readonly message: string } }> = []
      let nextNames: Merge.NameMap = new Map()
      yield* Effect.forEach(serverIds, (serverId) => {
        const backend = options.backends.get(serverId)
        if (backend === undefined) return Effect.void
        return listAll(serverId, backend, method, message).pipe(
          Effect.flatMap((result) => {
            const part = Merge.namespacePart(method, serverId, result)
            parts.push({ serverId, result: part.result })
            nextNames = Merge.extendNames(nextNames, part.names)
            return emit({ event: "chunk", data: { request_id: requestId, server_id: serverId, result: part.result } })
          }),
          Effect.catch((error) => {
            const reported = "_tag" in error
              ? { code: errorCode(error), message: error.message }
              : { code: error.code, message: error.message }
            errors.push({ serverId, error: reported })
            return Effect.void
          })
        )
      }, { concurrency: "unbounded", discard: true })
      // Servers in the order the client may use them, whatever order they answered in.
      parts.sort((a, b) => serverIds.indexOf(a.serverId) - serverIds.indexOf(b.serverId))
      if (method === "tools/list" || method === "prompts/list") names = new Map([...names, ...nextNames])
      const result = Merge.merge(method, parts, errors)
      yield* emit({
        event: "response",
        data: { request_id: requestId, server_id: null, response: { jsonrpc: "2.0", id: message.id, result } }
      })
    })

  const submit = (message: JSONRPCRequest | JSONRPCNotification) =>
    Effect.gen(function*() {
      yield* touch
      const route = Router.resolve(message, { servers: [...options.backends.keys()], namespacing: options.client.namespacing }, names)
      if (route._tag === "Failure") return yield* Effect.fail(route.failure)
      const target = route.success
      if (!("id" in message)) {
        if (target._tag === "Single") {
          const backend = options.backends.get(target.serverId)
          if (backend !== undefined) yield* FiberSet.run(requests, backend.notify(target.message as JSONRPCNotification).pipe(Effect.ignore))
        } else if (message.method === "notifications/cancelled") {
          const id = message.params?.requestId
          const cancel = typeof id === "string" || typeof id === "number" ? byClientId.get(id) : undefined
          if (cancel !== undefined) yield* cancel
        }
        return { request_id: null }
      }
      const requestId = String(++requestCounter)
      const token = message.params?._meta?.progressToken
      const work = target._tag === "Broadcast"
        ? broadcast(requestId, target.method, target.serverIds, message)
        : target._tag === "Single" && options.backends.has(target.serverId)
        ? single(requestId, target.serverId, options.backends.get(target.serverId) as Backend, target.message as JSONRPCRequest)
        : Effect.void
      const fiber = yield* FiberSet.run(
        requests,
        work.pipe(Effect.ensuring(Effect.sync(() => {
          byClientId.delete(message.id)
          if (typeof token === "string" || typeof token === "number") progressTokens.delete(token)
        })))
      )
      // Registered after the fork: a request that already finished must not leave its entries behind.
      if (fiber.pollUnsafe() === undefined) {
        if (typeof token === "string" || typeof token === "number") progressTokens.add(token)
        byClientId.set(message.id, Fiber.interrupt(fiber))
      }
      return { request_id: requestId }
    })

  const stream = (lastEventId: number | undefined): Stream.Stream<SessionEvent> =>
    Stream.unwrap(Effect.gen(function*() {
      // A second GET takes over: the stream before it ends.
      if (takeover !== undefined) yield* Deferred.succeed(takeover, undefined)
      const mine = Deferred.makeUnsafe<void>()
      takeover = mine
      activeStreams++
      yield* Effect.addFinalizer(() =>
        Effect.andThen(Effect.sync(() => void activeStreams--), touch)
      )
      const missed = lastEventId === undefined ? { events: [] } : replay.since(lastEventId, lastTaken)
      // The gap is said first. Its id is that of the last event lost for good: above what the client has,
      // below everything it gets next, so ids still increase along the stream and a later resume from it
      // replays exactly what follows.
      const gap: ReadonlyArray<SessionEvent> = missed.lostUpTo === undefined ? [] : [{
        id: missed.lostUpTo,
        event: "error",
        data: {
          error: {
            code: "events_lost",
            message: `events after ${lastEventId} up to ${missed.lostUpTo} are no longer kept and cannot be replayed`
          }
        }
      }]
      const live = Stream.fromQueue(queue).pipe(Stream.tap((event) => Effect.sync(() => void (lastTaken = event.id))))
      return Stream.fromIterable([...gap, ...missed.events]).pipe(
        Stream.concat(live),
        Stream.interruptWhen(Deferred.await(mine))
      )
    }))

  // A backend still starting (the gateway just started, or it is coming back) gets a moment to settle, so
  // that a new session reports what it can use rather than a transient state.
  const servers = Effect.forEach([...options.backends], ([id, backend]) =>
    Effect.gen(function*() {
      const health = yield* backend.settled(options.requestTimeout(id))
      const info = yield* backend.info
      if (info !== undefined) return { id, status: "ready", capabilities: info.capabilities } satisfies ServerSummary
      return { id, status: "failed", error: health.lastError ?? health.state } satisfies ServerSummary
    }), { concurrency: "unbounded" })

  return {
    id: options.id,
    clientId: options.client.id,
    servers,
    stream,
    submit,
    close: (reason) => Effect.sync(() => closeNow(reason)),
    closed: Deferred.await(closedReason)
  } satisfies Session as Session
})
