/**
 * `/mcp` for legacy-era clients (2024-11-05 .. 2025-11-25): each MCP session is one gateway session (the same
 * actor, routing, limits and auth as `/gateway/stream`), spoken over the SDK's sessionful
 * `WebStandardStreamableHTTPServerTransport`. The transport owns the wire (POST and GET streams, DELETE,
 * `Last-Event-ID`); this module translates between its messages and the session's events.
 */
import {
  type EventId,
  type JSONRPCMessage,
  type JSONRPCRequest,
  type RequestId,
  WebStandardStreamableHTTPServerTransport
} from "@modelcontextprotocol/server"
import { type Cause, Clock, Context, Deferred, Duration, Effect, FiberSet, Layer, Queue, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import type { Client } from "../http/Auth.ts"
import type { Session } from "../session/Session.ts"
import type { SessionEvent } from "../session/SessionEvent.ts"
import { SessionManager } from "../session/SessionManager.ts"
import { BoundedEventStore } from "./BoundedEventStore.ts"
import * as JsonRpcErrors from "./JsonRpcErrors.ts"
import { serverNamed } from "./RequestServer.ts"
import * as ServerIdentity from "./ServerIdentity.ts"

/** One MCP session: its transport, its gateway session, and what the translation needs to remember. */
interface McpSession {
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly session: Session
  readonly client: Client
  /** The client's requests not answered yet: their server (when the name tells it), by client id. */
  readonly inFlight: Map<RequestId, string | undefined>
  /** The session's request ids (`request_id` of its events) back to the client's JSON-RPC ids. */
  readonly clientIds: Map<string, RequestId>
  /** Progress tokens the client gave, to the request that gave them (progress goes on that request's stream). */
  readonly progressTokens: Map<string | number, RequestId>
  /**
   * Requests served on the lean path, by client id: what belongs on their answer is stored (with an event id) and
   * queued for the answer stream, not sent through the transport.
   */
  readonly leanAnswers: Map<RequestId, LeanAnswer>
  /** The same, by stream id, for a client resuming a dropped answer stream with `Last-Event-ID`. */
  readonly leanStreams: Map<string, LeanAnswer>
  /** What resumption replays, for the SDK transport's streams and the lean path's alike. */
  readonly eventStore: BoundedEventStore
  lastActivity: number
  openStreams: number
  /**
   * The session's GET stream, served here rather than by the transport so that it is bounded: what concerns
   * the session as a whole (list changes, resource updates, questions no call is waiting on). Undefined while no
   * GET is open; its messages are stored all the same, for a GET that resumes.
   */
  getStream: Queue.Queue<readonly [EventId, JSONRPCMessage], Cause.Done> | undefined
}

/** The stream id, in the event store, of a session's GET stream. */
const getStreamId = "get"

const encoder = new TextEncoder()

// Node sends the status line only with the first body write: a comment first, so the client sees the stream open.
const streamOpening = encoder.encode(": stream open\n\n")
const keepAlive = encoder.encode(": keep-alive\n\n")
const keepAliveInterval = "15 seconds"

const sseMessage = ([id, message]: readonly [EventId, JSONRPCMessage]) =>
  encoder.encode(`id: ${id}\nevent: message\ndata: ${JSON.stringify(message)}\n\n`)

/** One lean request's answer: its stream id, its stored-and-queued messages, and the stream now writing them. */
interface LeanAnswer {
  readonly requestId: RequestId
  readonly streamId: string
  readonly messages: Queue.Queue<readonly [EventId, JSONRPCMessage], Cause.Done>
  /** Completed to stop the stream writing the answer: a resumed stream takes over from it. */
  reader: Deferred.Deferred<void> | undefined
  /**
   * Whether anything will read `messages`: the POST waiting for its first message, a stream, or a resume being
   * replayed. With none (the client dropped its stream), messages are only stored, for a resume to replay.
   */
  read: boolean
}

const isAnswer = (message: JSONRPCMessage): boolean => !("method" in message)

/** The newest in-flight request to `serverId` (or any, when none names it): where its server's traffic goes. */
const relatedTo = (mcp: McpSession, serverId: string | null | undefined): RequestId | undefined => {
  let found: RequestId | undefined
  for (const [id, server] of mcp.inFlight) if (server === serverId || server === undefined) found = id
  return found
}

export class LegacySessions extends Context.Service<LegacySessions, {
  /** A POST carrying `initialize` with no session yet: a new MCP session (and gateway session). */
  readonly initialize: (
    client: Client,
    request: Request,
    body: unknown,
    initialize: JSONRPCRequest
  ) => Effect.Effect<Response>
  /** Any other legacy request of the session `sessionId`; undefined when it is not this client's open session. */
  readonly handle: (client: Client, sessionId: string, request: Request, body: unknown) => Effect.Effect<Response | undefined>
  /**
   * The hot path: a POST carrying one request of an open session, served without the SDK transport. Its answer
   * is JSON when nothing comes before it, else an SSE stream of what does (progress, log messages, the backend's
   * questions) ending with it. Undefined when it is not this client's open session.
   */
  readonly lean: (client: Client, sessionId: string, request: JSONRPCRequest) => Effect.Effect<HttpServerResponse.HttpServerResponse | undefined>
  /** A GET resuming a lean answer stream from `Last-Event-ID`; undefined when there is no such stream of this client. */
  readonly resumeLean: (client: Client, sessionId: string, lastEventId: string) => Effect.Effect<HttpServerResponse.HttpServerResponse | undefined>
  /** The session's GET stream (resuming after `lastEventId` if given); undefined when it is not this client's open session. */
  readonly openGet: (client: Client, sessionId: string, lastEventId: string | undefined) => Effect.Effect<HttpServerResponse.HttpServerResponse | undefined>
  /** A GET stream of the session opened (true) or closed (false): an open one keeps the session alive. */
  readonly streamOpen: (sessionId: string, open: boolean) => Effect.Effect<void>
}>()("mcp-gateway/mcp/LegacySessions") {
  static readonly layer = Layer.effect(
    LegacySessions,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const manager = yield* SessionManager
      const run = yield* FiberSet.makeRuntime<never>()
      const sessions = new Map<string, McpSession>()
      let leanCounter = 0
      const idleMillis = config.streaming.sessionTimeoutSeconds * 1000

      const send = (mcp: McpSession, message: JSONRPCMessage, relatedRequestId?: RequestId): Effect.Effect<void> => {
        const lean = relatedRequestId === undefined ? undefined : mcp.leanAnswers.get(relatedRequestId)
        if (lean !== undefined) {
          // A client that dropped its answer stream may resume it: the store keeps what it missed, answer included,
          // and nothing is held for it beyond that (its answer ends the request here).
          if (!lean.read) {
            mcp.eventStore.store(lean.streamId, message)
            if (isAnswer(message)) forgetLean(mcp, lean)
            return Effect.void
          }
          // A client that stops reading an answer stream is closed like a slow session stream: `overflow`, never
          // an unbounded buffer.
          if (Queue.sizeUnsafe(lean.messages) >= config.streaming.maxPendingEvents) return mcp.session.close("overflow")
          // Stored first: whatever becomes of the stream, a resumed one finds it.
          return Effect.sync(() => void Queue.offerUnsafe(lean.messages, [mcp.eventStore.store(lean.streamId, message), message]))
        }
        if (relatedRequestId === undefined) return toGetStream(mcp, message)
        return Effect.tryPromise(() => mcp.transport.send(message, { relatedRequestId })).pipe(
          // The stream it belonged to is gone (the client left): a request's stream ends with its answer, and
          // its late notifications go to the session's GET stream instead.
          Effect.catch(() => "id" in message && !("method" in message) ? Effect.void : toGetStream(mcp, message))
        )
      }

      const forgetLean = (mcp: McpSession, answer: LeanAnswer) => {
        mcp.leanAnswers.delete(answer.requestId)
        mcp.leanStreams.delete(answer.streamId)
      }

      /** Stores a message of the GET stream and hands it to the open GET, if any; a GET not read overflows. */
      const toGetStream = (mcp: McpSession, message: JSONRPCMessage): Effect.Effect<void> => {
        const id = mcp.eventStore.store(getStreamId, message)
        const stream = mcp.getStream
        if (stream === undefined) return Effect.void
        if (Queue.sizeUnsafe(stream) >= config.streaming.maxPendingEvents) return mcp.session.close("overflow")
        return Effect.sync(() => void Queue.offerUnsafe(stream, [id, message]))
      }

      const answered = (mcp: McpSession, id: RequestId) => {
        mcp.inFlight.delete(id)
        for (const [token, owner] of mcp.progressTokens) if (owner === id) mcp.progressTokens.delete(token)
      }

      /** A session event, as MCP messages on the transport. */
      const deliver = (mcp: McpSession, event: SessionEvent): Effect.Effect<void> => {
        switch (event.event) {
          case "response": {
            const id = event.data.response.id
            mcp.clientIds.delete(event.data.request_id)
            if (id !== undefined) answered(mcp, id)
            const response = event.data.server_id === null ? ServerIdentity.standardResult(event.data.response) : event.data.response
            return send(mcp, response, id)
          }
          case "error": {
            // An error event ends a request that got no response (a timeout, a dead backend): a JSON-RPC error.
            const requestId = event.data.request_id
            const id = requestId === undefined ? undefined : mcp.clientIds.get(requestId)
            if (requestId === undefined || id === undefined) return Effect.void
            mcp.clientIds.delete(requestId)
            answered(mcp, id)
            // A backend that refused the request over HTTP said why in its own JSON-RPC error: the client gets that.
            const refused = JsonRpcErrors.refusalOf(event.data.error)?.error
            const { code, message } = event.data.error
            const error = refused !== undefined
              ? JsonRpcErrors.errorMessage(id, refused.code, refused.message, refused.data)
              : JsonRpcErrors.errorMessage(id, JsonRpcErrors.InternalError, `${code}: ${message}`)
            return send(mcp, error, id)
          }
          case "notification": {
            // Progress goes with the request it is about, and a server's log messages with its request in
            // flight; what concerns the session (list changes, resource updates) goes on the GET stream.
            const notification = event.data.notification
            const token = notification.params?.["progressToken"]
            const related = notification.method === "notifications/progress"
              ? (typeof token === "string" || typeof token === "number" ? mcp.progressTokens.get(token) : undefined)
              : notification.method === "notifications/message"
              ? relatedTo(mcp, event.data.server_id)
              : undefined
            return send(mcp, notification, related)
          }
          case "request":
            return send(mcp, event.data.request, relatedTo(mcp, event.data.server_id))
          case "closed":
            // The session is over: its streams end (the SDK's and the lean path's alike) and it is forgotten.
            return Effect.promise(() => mcp.transport.close()).pipe(
              Effect.andThen(Effect.sync(() => {
                for (const answer of mcp.leanAnswers.values()) Queue.endUnsafe(answer.messages)
                if (mcp.getStream !== undefined) Queue.endUnsafe(mcp.getStream)
                mcp.leanAnswers.clear()
                mcp.leanStreams.clear()
                sessions.delete(mcp.session.id)
              }))
            )
          default:
            // chunks (the merged answer follows) and heartbeats (the transport keeps streams alive itself)
            return Effect.void
        }
      }

      const initializeResult = (mcp: McpSession, request: JSONRPCRequest, servers: Parameters<typeof ServerIdentity.capabilities>[0]) => ({
        jsonrpc: "2.0" as const,
        id: request.id,
        result: {
          protocolVersion: ServerIdentity.negotiate(request.params?.["protocolVersion"]),
          capabilities: ServerIdentity.capabilities(servers, mcp.client),
          serverInfo: ServerIdentity.serverInfo,
          instructions: ServerIdentity.instructions(servers, mcp.client)
        }
      })

      /**
       * A client's request into its session. Its answer (or a JSON-RPC error now, if the session refuses it) comes
       * through `send`, related to the request.
       */
      const submitRequest = (mcp: McpSession, message: JSONRPCRequest) =>
        Effect.gen(function*() {
          mcp.inFlight.set(message.id, serverNamed(message, mcp.client))
          const token = message.params?._meta?.progressToken
          if (typeof token === "string" || typeof token === "number") mcp.progressTokens.set(token, message.id)
          // Mapped as soon as the session names it: an error event for it can come before submit returns.
          let accepted: string | undefined
          const onAccepted = (requestId: string) => void mcp.clientIds.set(accepted = requestId, message.id)
          const submitted = yield* Effect.result(mcp.session.submit(message, { onAccepted }))
          if (submitted._tag === "Failure") {
            if (accepted !== undefined) mcp.clientIds.delete(accepted)
            answered(mcp, message.id)
            const error = submitted.failure
            return yield* send(mcp, JsonRpcErrors.submitRefusal("legacy", message, error), message.id)
          }
        })

      /** A message from the client: the handshake and pings are answered here, the rest goes to the session. */
      const receive = (mcp: McpSession, message: JSONRPCMessage, servers: Parameters<typeof ServerIdentity.capabilities>[0]) =>
        Effect.gen(function*() {
          if ("method" in message && message.method === "initialize" && "id" in message) {
            return yield* send(mcp, initializeResult(mcp, message, servers), message.id)
          }
          if ("method" in message && message.method === "ping" && "id" in message) {
            return yield* send(mcp, { jsonrpc: "2.0", id: message.id, result: {} }, message.id)
          }
          if ("method" in message && message.method === "notifications/initialized") return
          if ("method" in message && "id" in message) return yield* submitRequest(mcp, message)
          // A request the client cancels will get no answer: forget it here too, or later traffic would be
          // related to it.
          if ("method" in message && message.method === "notifications/cancelled") {
            const id = message.params?.["requestId"]
            if (typeof id === "string" || typeof id === "number") {
              answered(mcp, id)
              for (const [requestId, clientId] of mcp.clientIds) if (clientId === id) mcp.clientIds.delete(requestId)
            }
          }
          // Notifications (cancellation, roots changed) and answers to a backend's requests.
          yield* Effect.ignore(mcp.session.submit(message))
        })

      const touch = (mcp: McpSession) =>
        Effect.map(Clock.currentTimeMillis, (now) => void (mcp.lastActivity = now))

      const initialize = Effect.fn("LegacySessions.initialize")(function*(
        client: Client,
        request: Request,
        body: unknown,
        initializeRequest: JSONRPCRequest
      ) {
        const params = initializeRequest.params as { capabilities?: Record<string, unknown> } | undefined
        const created = yield* Effect.result(manager.create(client, undefined, params?.capabilities ?? {}, { edge: "mcp" }))
        if (created._tag === "Failure") {
          const error = created.failure
          const status = error._tag === "TooManySessions" ? 429 : 403
          return Response.json(
            JsonRpcErrors.errorMessage(initializeRequest.id, JsonRpcErrors.ServerError, error.message),
            { status }
          )
        }
        const { session, servers } = created.success
        const eventStore = new BoundedEventStore(config.streaming.maxPendingEvents)
        const transport = new WebStandardStreamableHTTPServerTransport({
          sessionIdGenerator: () => session.id,
          eventStore,
          // A DELETE from the client ends the gateway session too.
          onsessionclosed: () => void run(session.close("client"))
        })
        transport.setSupportedProtocolVersions([...ServerIdentity.legacyVersions])
        const mcp: McpSession = {
          transport,
          session,
          client,
          inFlight: new Map(),
          clientIds: new Map(),
          progressTokens: new Map(),
          leanAnswers: new Map(),
          leanStreams: new Map(),
          eventStore,
          lastActivity: yield* Clock.currentTimeMillis,
          openStreams: 0,
          getStream: undefined
        }
        // Messages are handled one at a time, in the order they arrive.
        let queue: Promise<unknown> = Promise.resolve()
        transport.onmessage = (message) => {
          queue = queue.then(() => new Promise((resolve) => run(receive(mcp, message, servers)).addObserver(resolve)))
        }
        yield* Effect.promise(() => transport.start())
        sessions.set(session.id, mcp)
        // The session's events, for its whole life, become MCP messages (the stream ends after `closed`).
        run(session.stream(undefined).pipe(Stream.runForEach((event) => deliver(mcp, event))))
        const response = yield* Effect.promise(() => transport.handleRequest(request, { parsedBody: body }))
        // The transport refused the handshake (a wrong Accept, a bad version): no MCP session exists, so neither
        // may the gateway session (it would hold one of the client's slots until it expired).
        if (response.headers.get("mcp-session-id") === null) yield* session.close("client")
        return response
      })

      const handle = Effect.fnUntraced(function*(
        client: Client,
        sessionId: string,
        request: Request,
        body: unknown
      ) {
        const mcp = sessions.get(sessionId)
        // Someone else's session is as unknown as one that never existed.
        if (mcp === undefined || mcp.client.id !== client.id) return undefined
        yield* touch(mcp)
        return yield* Effect.promise(() => mcp.transport.handleRequest(request, { parsedBody: body }))
      })

      const lean = Effect.fnUntraced(function*(client: Client, sessionId: string, request: JSONRPCRequest) {
        const mcp = sessions.get(sessionId)
        if (mcp === undefined || mcp.client.id !== client.id) return undefined
        yield* touch(mcp)
        if (request.method === "ping") return HttpServerResponse.jsonUnsafe({ jsonrpc: "2.0", id: request.id, result: {} })
        if (mcp.inFlight.has(request.id)) {
          const duplicate = JsonRpcErrors.errorMessage(request.id, JsonRpcErrors.InvalidRequest, `request id ${String(request.id)} is already in flight`)
          return HttpServerResponse.jsonUnsafe(duplicate)
        }
        const answer: LeanAnswer = {
          requestId: request.id,
          streamId: `lean-${++leanCounter}`,
          messages: yield* Queue.unbounded<readonly [EventId, JSONRPCMessage], Cause.Done>(),
          reader: undefined,
          read: true
        }
        mcp.leanAnswers.set(request.id, answer)
        mcp.leanStreams.set(answer.streamId, answer)
        const forget = Effect.sync(() => forgetLean(mcp, answer))
        yield* submitRequest(mcp, request)
        const taken = yield* Queue.take(answer.messages).pipe(Effect.onInterrupt(() => forget), Effect.option)
        // The session closed (expired, overflowed, the gateway stopping) before the answer came.
        if (taken._tag === "None") {
          return HttpServerResponse.jsonUnsafe(
            JsonRpcErrors.errorMessage(request.id, JsonRpcErrors.InternalError, "the session closed before the answer came"),
            { status: 404 }
          )
        }
        const first = taken.value
        if (isAnswer(first[1])) {
          yield* forget
          return HttpServerResponse.jsonUnsafe(first[1])
        }
        // Something comes before the answer: the answer becomes a stream of it all, resumable like the SDK's.
        return yield* leanResponse(mcp, answer, [first])
      })

      /**
       * A lean answer stream: `before` (taken already, or replayed), then the request's queued messages (past
       * what `before` held) until its answer. Every message was stored when it came, so a client that loses the
       * stream gets the rest by resuming from the last id it saw; a resumed stream stops the one before it. Only
       * a stream that wrote the answer ends the request.
       */
      const leanResponse = (mcp: McpSession, answer: LeanAnswer, before: ReadonlyArray<readonly [EventId, JSONRPCMessage]>) =>
        Effect.gen(function*() {
          if (answer.reader !== undefined) yield* Deferred.succeed(answer.reader, undefined)
          const reader = Deferred.makeUnsafe<void>()
          answer.reader = reader
          answer.read = true
          const seen = before.length === 0 ? 0 : BoundedEventStore.sequence(before[before.length - 1]![0])
          const body = Stream.fromIterable(before).pipe(
            Stream.concat(Stream.fromQueue(answer.messages).pipe(
              Stream.filter(([id]) => BoundedEventStore.sequence(id) > seen)
            )),
            Stream.takeUntil(([, message]) => isAnswer(message)),
            Stream.map(sseMessage),
            Stream.concat(Stream.fromEffect(Effect.sync(() => forgetLean(mcp, answer))).pipe(Stream.drain)),
            Stream.interruptWhen(Deferred.await(reader)),
            // Dropped by its client (not taken over by a resumed stream): what it held is in the store.
            Stream.ensuring(Effect.suspend(() => {
              if (answer.reader !== reader) return Effect.void
              answer.reader = undefined
              answer.read = false
              return Effect.ignore(Queue.clear(answer.messages))
            }))
          )
          return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } })
        })

      const resumeLean = Effect.fn("LegacySessions.resumeLean")(function*(client: Client, sessionId: string, lastEventId: string) {
        const mcp = sessions.get(sessionId)
        if (mcp === undefined || mcp.client.id !== client.id) return undefined
        yield* touch(mcp)
        // A dropped stream's messages are queued again from before its replay: none falls between the two.
        const dropped = mcp.leanStreams.get(lastEventId.slice(0, lastEventId.lastIndexOf("/")))
        if (dropped !== undefined) dropped.read = true
        const replayed: Array<readonly [EventId, JSONRPCMessage]> = []
        const streamId = yield* Effect.promise(() =>
          mcp.eventStore.replayEventsAfter(lastEventId, { send: async (id, message) => void replayed.push([id, message]) })
            .catch(() => undefined)
        )
        if (streamId === undefined) {
          if (dropped !== undefined && dropped.reader === undefined) dropped.read = false
          return undefined
        }
        const answer = mcp.leanStreams.get(streamId)
        // The answer was written already (and the client missed it): what was stored is all there is.
        if (answer === undefined) {
          const body = Stream.fromIterable(replayed).pipe(Stream.map(sseMessage))
          return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: { "cache-control": "no-cache" } })
        }
        return yield* leanResponse(mcp, answer, replayed)
      })

      /**
       * The session's GET stream: what was stored after `lastEventId` (when resuming), then live. A newer GET
       * takes over (this one ends). An open GET keeps the session from expiring.
       */
      const openGet = Effect.fnUntraced(function*(client: Client, sessionId: string, lastEventId: string | undefined) {
        const mcp = sessions.get(sessionId)
        if (mcp === undefined || mcp.client.id !== client.id) return undefined
        yield* touch(mcp)
        const replayed: Array<readonly [EventId, JSONRPCMessage]> = []
        if (lastEventId !== undefined) {
          const found = yield* Effect.promise(() =>
            mcp.eventStore.replayEventsAfter(lastEventId, { send: async (id, message) => void replayed.push([id, message]) })
              .catch(() => undefined)
          )
          // An id no longer kept (or not of this stream): the client gets what comes from now on.
          if (found !== getStreamId) replayed.length = 0
        }
        const queue = yield* Queue.unbounded<readonly [EventId, JSONRPCMessage], Cause.Done>()
        if (mcp.getStream !== undefined) Queue.endUnsafe(mcp.getStream)
        mcp.getStream = queue
        const seen = replayed.length === 0 ? 0 : BoundedEventStore.sequence(replayed[replayed.length - 1]![0])
        const messages = Stream.fromIterable(replayed).pipe(
          Stream.concat(Stream.fromQueue(queue).pipe(Stream.filter(([id]) => BoundedEventStore.sequence(id) > seen))),
          Stream.map(sseMessage)
        )
        const body = Stream.succeed(streamOpening).pipe(
          Stream.concat(Stream.merge(messages, Stream.tick(keepAliveInterval).pipe(Stream.drop(1), Stream.as(keepAlive)), {
            haltStrategy: "left"
          })),
          Stream.onStart(Effect.sync(() => void mcp.openStreams++)),
          Stream.ensuring(Effect.sync(() => {
            mcp.openStreams--
            if (mcp.getStream === queue) mcp.getStream = undefined
          }))
        )
        return HttpServerResponse.stream(body, {
          contentType: "text/event-stream",
          headers: { "cache-control": "no-cache, no-store, no-transform", "x-accel-buffering": "no" }
        })
      })

      const streamOpen = (sessionId: string, open: boolean) =>
        Effect.gen(function*() {
          const mcp = sessions.get(sessionId)
          if (mcp === undefined) return
          mcp.openStreams += open ? 1 : -1
          yield* touch(mcp)
        })

      // Idle expiry: no request and no open GET stream for `sessionTimeoutSeconds`.
      yield* Effect.gen(function*() {
        for (;;) {
          yield* Effect.sleep(Duration.millis(Math.min(idleMillis, 30_000)))
          const now = yield* Clock.currentTimeMillis
          for (const mcp of sessions.values()) {
            if (mcp.openStreams === 0 && now - mcp.lastActivity >= idleMillis) yield* mcp.session.close("expired")
          }
        }
      }).pipe(Effect.forkScoped)

      // On shutdown each transport closes (its streams end); the sessions themselves close with their manager.
      yield* Effect.addFinalizer(() =>
        Effect.forEach([...sessions.values()], (mcp) => Effect.promise(() => mcp.transport.close()), { discard: true })
      )

      return LegacySessions.of({ initialize, handle, lean, resumeLean, openGet, streamOpen })
    })
  )
}
