import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SdkHttpError,
  type ServerCapabilities,
  SUBSCRIPTION_ID_META_KEY,
  StreamableHTTPClientTransport
} from "@modelcontextprotocol/client"
import {
  Cause,
  Clock,
  Data,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberSet,
  Queue,
  Schedule,
  Scope,
  Stream,
  SubscriptionRef
} from "effect"
import {
  BackendClosed,
  type BackendError,
  BackendSendFailed,
  type BackendStartFailed,
  BackendUnavailable,
  RequestTimedOut
} from "./BackendErrors.ts"
import * as Connection from "./Connection.ts"
import { EraCache } from "./EraCache.ts"
import { clientCapabilities, clientInfo } from "./GatewayIdentity.ts"
import * as JsonRpc from "../protocol/JsonRpc.ts"
import * as LogLevels from "../protocol/LogLevels.ts"
import * as InFlight from "./InFlight.ts"
import * as ParamTools from "./ParamTools.ts"
import { ProcessNotRunning } from "./ProcessGroupStdioTransport.ts"
import { redactor, secretsOf } from "./Redaction.ts"
import { httpRefusalOf } from "./HttpRefusal.ts"
import * as ResourceHolders from "./ResourceHolders.ts"
import type { GroupTracker } from "./Watchdog.ts"

export type HealthState = "starting" | "ready" | "failed" | "restarting"

/** What `/healthz` shows for one backend. Never holds config values (they may be secrets). */
export interface Health {
  readonly serverId: string
  readonly state: HealthState
  readonly era?: Connection.Era
  readonly protocolVersion?: string
  readonly server?: { readonly name: string; readonly version: string }
  readonly pid?: number
  /** Times the connection died after being ready. */
  readonly restarts: number
  /** Start attempts that failed in a row (reset when the backend gets ready). */
  readonly failedStarts: number
  /** Redacted. */
  readonly lastError?: string
  /** Epoch millis of the last change of `state`. */
  readonly since: number
}

/**
 * Hears one notification. `owner` is the session a log message (`notifications/message`) belongs to, when the
 * gateway can tell: it came on the stream of that session's call, or that session is the only one with calls in
 * flight (or the one owner of an exclusive backend). A shared server's other log messages belong to no session: they are never
 * shown to another client.
 */
export type NotificationListener = (notification: JSONRPCNotification, owner: string | undefined) => void

/** A request the backend sends to the client side (sampling, elicitation, roots). */
export interface BackendRequest {
  readonly serverId: string
  readonly request: JSONRPCRequest
  /** Answers it on the connection it came from (the response carries the backend's own request id). */
  readonly respond: (response: JSONRPCResponse) => Effect.Effect<void, BackendError>
}

export interface RestartPolicy {
  /** First delay after a failure; doubles on each consecutive failure. */
  readonly baseDelay: Duration.Input
  /** The delay never grows past this. */
  readonly maxDelay: Duration.Input
  /** A connection that stayed up this long counts as healthy: its death restarts the backoff from the start. */
  readonly healthyAfter: Duration.Input
}

export interface Options {
  readonly serverId: string
  readonly endpoint: Connection.Endpoint
  readonly requestTimeout: Duration.Input
  readonly handshakeTimeout?: Duration.Input
  readonly restart?: RestartPolicy
  readonly tracker: GroupTracker
  /**
   * One session uses this backend (`isolation: "session"`): whatever it sends that names no session (a log
   * message, a question to the client) is that session's. A shared backend's such messages belong to the one
   * session with calls in flight, or to none: never to whichever session happens to be attached.
   */
  readonly exclusive?: boolean | undefined
}

export interface Backend {
  readonly serverId: string
  /** One session uses it (`isolation: "session"`): see `Options.exclusive`. */
  readonly exclusive: boolean
  readonly health: Effect.Effect<Health>
  /** The current health, then every change. */
  readonly healthChanges: Stream.Stream<Health>
  /** The handshake's result for the current connection, if any. */
  readonly info: Effect.Effect<Connection.ServerInfo | undefined>
  /** Waits (up to `timeout`) while the backend is starting or restarting; then its health. */
  readonly settled: (timeout: Duration.Input) => Effect.Effect<Health>
  /**
   * Sends a request under a gateway-owned id and answers with the caller's id restored. `owner` is the session
   * making it: what the backend asks or logs while it runs is put to that session.
   */
  readonly request: (
    request: JSONRPCRequest,
    options?: { readonly timeout?: Duration.Input; readonly owner?: string }
  ) => Effect.Effect<JSONRPCResponse, BackendError>
  /**
   * `request` for callers that must not spend a fiber per request (a session's calls): sends now, calls
   * `onDone` once with the outcome, and answers with an effect that cancels it at the backend.
   */
  readonly start: (
    request: JSONRPCRequest,
    options: { readonly timeout?: Duration.Input; readonly owner?: string } | undefined,
    onDone: (exit: Exit.Exit<JSONRPCResponse, BackendError>) => void
  ) => Effect.Effect<Effect.Effect<void>>
  readonly notify: (notification: JSONRPCNotification) => Effect.Effect<void, BackendError>
  /**
   * Calls `listener` with every notification of the backend, synchronously as it arrives (no queue, no fiber:
   * the path of a notification flood), for as long as the caller's scope lasts. A listener must not block.
   */
  readonly onNotification: (listener: NotificationListener) => Effect.Effect<void, never, Scope.Scope>
  /**
   * The same as a stream: subscribed now (so nothing sent after this returns is missed), for as long as the
   * caller's scope lasts.
   */
  readonly subscribeNotifications: Effect.Effect<Stream.Stream<JSONRPCNotification>, never, Scope.Scope>
  /**
   * The `list_changed` notifications alone: what follows a server's lists (the tool catalog) without paying for
   * every other notification (a log flood).
   */
  readonly subscribeListChanges: Effect.Effect<Stream.Stream<JSONRPCNotification>, never, Scope.Scope>
  /**
   * Takes the backend's requests to the client side (sampling, elicitation, roots) for `owner` (a session)
   * while the caller's scope lasts. A request goes to the owner whose requests are in flight when it arrives
   * (the one that caused it), or, on an exclusive backend, to its one owner; when that cannot be told, or no owner
   * is attached, the backend gets a JSON-RPC error at once instead of waiting.
   */
  readonly attachRequests: (
    owner: string,
    /** False: the owner cannot take it (it is closing); the backend is answered with an error at once. */
    handler: (request: BackendRequest) => boolean
  ) => Effect.Effect<void, never, Scope.Scope>
  /**
   * Who holds a resource subscription on this backend. Sessions share one backend subscription per URI: the
   * first holder sends `resources/subscribe`, the last one to let go sends `resources/unsubscribe` (each call
   * answers whether this caller must send it).
   */
  readonly resourceHolders: ResourceHolders.ResourceHolders
  /** Subscriptions open right now (sessions hold them): a leak shows here. */
  readonly subscribers: Effect.Effect<{ readonly notifications: number; readonly requests: number }>
}

export const defaultRestartPolicy: RestartPolicy = {
  baseDelay: "250 millis",
  maxDelay: "30 seconds",
  healthyAfter: "30 seconds"
}

/**
 * The request never reached the server on this connection, and may be sent on the next: an HTTP backend forgot our
 * session (it restarted or expired it), or a stdio server's process had already stopped (it is being restarted).
 */
class SessionLost extends Data.TaggedError("SessionLost")<{ readonly reason: string }> {}

/** The connection ended; the supervisor restarts it. */
class ConnectionEnded extends Data.TaggedError("ConnectionEnded")<{ readonly healthy: boolean }> {}

type RequestFailure = BackendClosed | BackendSendFailed | SessionLost

/** One live connection and the requests in flight on it. */
interface Live {
  readonly connection: Connection.Connection
  readonly inFlight: InFlight.InFlight<RequestFailure>
  /** Sends without waiting; a failure is reported to `onFailure`. */
  readonly post: (message: JSONRPCMessage, onFailure?: (error: unknown) => void) => void
  /** A modern-era server's open `subscriptions/listen` stream: how to end it. */
  stopListening: (() => void) | undefined
  /** A modern-era HTTP server's tools that mirror arguments into `Mcp-Param-*` headers. */
  readonly paramTools: ParamTools.ParamTools
  /** Set once the connection has ended. */
  closed: boolean
}

interface State {
  readonly health: Health
  readonly live: Live | undefined
}

/**
 * The spec answers a request for an unknown session with 404. Servers built on the v1 SDK's examples
 * (server-everything among them) answer 400 "No valid session ID provided" instead; both mean the same.
 */
const isSessionLost = (error: unknown, live: Live) =>
  error instanceof SdkHttpError &&
  live.connection.transport.sessionId !== undefined &&
  (error.data.status === 404 || (error.data.status === 400 && /session/i.test(String(error.data.text ?? error.message))))

/** The list changes a modern-era server can tell of (from its capabilities), as a listen filter. */
const listenFilter = (capabilities: ServerCapabilities) => ({
  ...(capabilities.tools?.listChanged === true ? { toolsListChanged: true } : {}),
  ...(capabilities.prompts?.listChanged === true ? { promptsListChanged: true } : {}),
  ...(capabilities.resources?.listChanged === true ? { resourcesListChanged: true } : {})
})

/** How long a dropped listen stream waits before it is opened again. */
const relistenDelayMillis = 1_000

/** A listen stream lasts as long as its connection (the deadline only has to be beyond any connection's life). */
const listenLifetime = Duration.days(365)

/** The gateway's own listen subscription id means nothing to its clients (an edge stamps its own). */
const withoutSubscriptionId = (notification: JSONRPCNotification): JSONRPCNotification => {
  const meta = notification.params?._meta
  if (meta === undefined || !(SUBSCRIPTION_ID_META_KEY in meta)) return notification
  const { [SUBSCRIPTION_ID_META_KEY]: _, ...rest } = meta
  return { ...notification, params: { ...notification.params, _meta: rest } }
}

const cancellation = (requestId: number, reason: string): JSONRPCNotification => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId, reason }
})

/** A notification stream's buffer: the bound only guards memory against a reader that is starved. */
const streamCapacity = 16_384

/**
 * The actor for one backend MCP server: it owns the connection, restarts it with capped exponential backoff
 * when it dies, multiplexes requests from many sessions over it by rewriting JSON-RPC ids, and publishes the
 * backend's notifications and requests. Everything it starts (fibers, the child process, sockets) belongs to
 * the scope it is made in.
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const { serverId, endpoint } = options
  const policy = options.restart ?? defaultRestartPolicy
  const healthyAfterMillis = Duration.toMillis(Duration.fromInputUnsafe(policy.healthyAfter))
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout)
  const handshakeTimeoutMillis = Duration.toMillis(Duration.fromInputUnsafe(options.handshakeTimeout ?? "30 seconds"))
  const redact = redactor(secretsOf(endpoint))
  const eras = yield* EraCache
  const clock = yield* Clock.Clock

  const state = yield* SubscriptionRef.make<State>({
    health: { serverId, state: "starting", restarts: 0, failedStarts: 0, since: yield* Clock.currentTimeMillis },
    live: undefined
  })
  /** Touched only synchronously (add, remove, dispatch). */
  const listeners = new Set<NotificationListener>()
  const resourceHolders = ResourceHolders.make()

  /** Owners taking the backend's requests: touched only synchronously (attach, detach, dispatch). */
  const requestHandlers = new Map<string, (request: BackendRequest) => boolean>()
  // Stderr lines and transport errors come from Node callbacks; a bounded queue hands them to the logger.
  const logs = yield* Effect.acquireRelease(Queue.sliding<Effect.Effect<void>>(1_000), Queue.shutdown)
  yield* Queue.take(logs).pipe(Effect.flatten, Effect.forever, Effect.annotateLogs({ serverId }), Effect.forkScoped)

  let nextId = 1
  const setHealth = (update: (health: Health) => Health) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      SubscriptionRef.update(state, (s) => {
        const next = update(s.health)
        return { ...s, health: { ...next, since: next.state === s.health.state ? s.health.since : now } }
      }))

  const failure = (live: Live, method: string, error: unknown): RequestFailure => {
    if (isSessionLost(error, live)) return new SessionLost({ reason: "the server lost the session" })
    if (error instanceof ProcessNotRunning) return new SessionLost({ reason: "the server process stopped" })
    let refusal: ReturnType<typeof httpRefusalOf> = {}
    try {
      refusal = httpRefusalOf(error, redact)
    } catch {
      // Whatever a backend's body holds, the request fails with a reason rather than throwing out of a callback.
    }
    return new BackendSendFailed({ serverId, method, reason: redact(Connection.describe(error)), ...refusal })
  }

  /** Called synchronously by the transport for every message the backend sends. */
  const dispatch = (live: () => Live | undefined, cause?: string) => (message: JSONRPCMessage) => {
    const current = live()
    if (!("method" in message)) {
      if (typeof message.id === "number") current?.inFlight.settle(message.id, message)
    } else if (!("id" in message)) {
      const notification = withoutSubscriptionId(message)
      // Its tools changed: their header declarations are learnt again at the next call.
      if (current !== undefined && notification.method === "notifications/tools/list_changed") {
        current.paramTools.forget()
      }
      const owner = notification.method !== "notifications/message"
        ? undefined
        : cause ?? (current === undefined ? undefined : soleOwner(current))
      for (const listener of listeners) {
        try {
          listener(notification, owner)
        } catch (error) {
          // A listener is the gateway's own code: a throw is a bug, and must not stop the transport's read loop.
          Queue.offerUnsafe(logs, Effect.logError("notification listener failed", Cause.die(error)))
        }
      }
    } else if (current === undefined) {
      return // a request during the handshake is the SDK Client's to answer
    } else if (message.method === "ping") {
      current.post({ jsonrpc: "2.0", id: message.id, result: {} })
    } else if (message.method === "roots/list" && options.exclusive !== true) {
      // A client's roots are its own: a server shared by several clients is given none (one client's answer would
      // set the directories a filesystem server lets every client use).
      current.post({
        jsonrpc: "2.0",
        id: message.id,
        error: { code: -32601, message: "roots/list: this server is shared by several clients, so it is given no client's roots" }
      })
    } else {
      // A request that came on the stream of one session's call is that session's; otherwise it is inferred.
      const handler = cause !== undefined ? requestHandlers.get(cause) : causeOf(current, message)
      const taken = handler?.({ serverId, request: message, respond: (response) => sendOn(current, response, "response") })
      if (taken !== true) {
        // Nobody can answer: say so at once rather than let the backend wait for its own timeout.
        current.post({
          jsonrpc: "2.0",
          id: message.id,
          error: { code: -32601, message: `no client session can answer ${message.method} right now` }
        })
      }
    }
  }

  /**
   * The one attached session with calls in flight; on an exclusive backend, its only session; else none (two
   * busy sessions are ambiguous, and a shared backend's message with no call in flight may be about anyone's work).
   */
  const soleOwner = (live: Live): string | undefined => {
    let busy: string | undefined
    for (const owner of live.inFlight.owners()) {
      if (!requestHandlers.has(owner)) continue
      if (busy !== undefined) return undefined
      busy = owner
    }
    if (busy !== undefined) return busy
    return options.exclusive === true && requestHandlers.size === 1 ? requestHandlers.keys().next().value : undefined
  }

  /**
   * The handler of the session that caused a backend request: the one its progress token names, if it carries
   * one; else, since MCP's stdio messages do not say which request a server's request belongs to, the sole owner
   * (above). No candidate, or two, and the backend is refused rather than a session misled.
   */
  const causeOf = (live: Live, request: JSONRPCRequest) => {
    // A progress token the backend echoes names its session: sessions give backends `<session id>/<n>`.
    const token = request.params?._meta?.progressToken
    const slash = typeof token === "string" ? token.indexOf("/") : -1
    const byToken = typeof token === "string" && slash > 0 ? requestHandlers.get(token.slice(0, slash)) : undefined
    if (byToken !== undefined) return byToken
    const owner = soleOwner(live)
    return owner === undefined ? undefined : requestHandlers.get(owner)
  }

  /** Sends one message on a given connection, failing if that connection is gone. */
  const sendOn = (live: Live, message: JSONRPCMessage, method: string) =>
    Effect.gen(function*() {
      if ((yield* SubscriptionRef.get(state)).live !== live) return yield* new BackendClosed({ serverId, method })
      return yield* Effect.tryPromise({
        try: () => live.connection.transport.send(message),
        catch: (error) => new BackendSendFailed({ serverId, method, reason: redact(Connection.describe(error)) })
      }).pipe(
        Effect.timeoutOrElse({
          duration: requestTimeout,
          orElse: () => Effect.fail(new BackendSendFailed({ serverId, method, reason: "the send did not complete" }))
        })
      )
    })

  /**
   * A modern-era server tells of list changes and resource updates only on a `subscriptions/listen` stream: one
   * per connection, for as long as it lives, asking for every list its capabilities say can change and for the
   * resources sessions hold. Sessions (and the tool catalog) then hear them as from a legacy server. A change of
   * the held resources replaces the stream.
   */
  const listen = (live: Live) => {
    live.stopListening?.()
    const held = resourceHolders.held()
    const filter = { ...listenFilter(live.connection.info.capabilities), ...(held.length === 0 ? {} : { resourceSubscriptions: held }) }
    if (Object.keys(filter).length === 0) return void (live.stopListening = undefined)
    const stop = dispatchOn(
      live,
      { jsonrpc: "2.0", id: "listen", method: "subscriptions/listen", params: { notifications: filter } },
      listenLifetime,
      // The stream ended while the connection lives (a proxy's idle timeout, a server redeploy): listen again,
      // after a pause, unless it was replaced or the connection is gone.
      () =>
        void setTimeout(() => {
          if (live.stopListening === stop && live.closed === false) listen(live)
        }, relistenDelayMillis).unref()
    )
    live.stopListening = stop
  }

  /**
   * What is answered here rather than by the server: what a legacy-era client asks that a modern-era server has no
   * method for (a subscription becomes part of the listen stream, and the log level travels on each request in
   * `_meta`, set by the session); and a session's `logging/setLevel` to a shared server, whose level would be every
   * session's (each session filters its log messages by its own level instead).
   */
  const translated = (live: Live, request: JSONRPCRequest): JSONRPCResponse | undefined => {
    if (request.method === "logging/setLevel" && options.exclusive !== true) {
      // Answered as the server would: it has no such method if it does not log, and only MCP's levels are levels.
      if (live.connection.info.capabilities.logging === undefined) {
        return { jsonrpc: "2.0", id: request.id, error: { code: JsonRpc.MethodNotFound, message: "Method not found: this server does not log" } }
      }
      if (!LogLevels.isLevel(request.params?.["level"])) {
        const message = `Invalid params: level must be one of ${LogLevels.levels.join(", ")}`
        return { jsonrpc: "2.0", id: request.id, error: { code: JsonRpc.InvalidParams, message } }
      }
      return { jsonrpc: "2.0", id: request.id, result: {} }
    }
    if (live.connection.info.era !== "modern") return undefined
    if (request.method === "resources/subscribe" || request.method === "resources/unsubscribe") {
      listen(live)
      return { jsonrpc: "2.0", id: request.id, result: {} }
    }
    if (request.method === "logging/setLevel") return { jsonrpc: "2.0", id: request.id, result: {} }
    return undefined
  }

  /** Cancels a request at the backend: a modern HTTP request by aborting its stream, others by notification. */
  const cancelAt = (live: Live, id: number, entry: InFlight.Entry<RequestFailure>, reason: string) => {
    if (entry.abort !== undefined) entry.abort.abort(reason)
    else live.post(cancellation(id, reason))
  }

  /** One life of the connection: connect, serve until it closes. Fails unless it lived long enough to count. */
  const life = Effect.gen(function*() {
    let live: Live | undefined
    const connection = yield* Connection.connect({
      serverId,
      endpoint,
      prior: yield* eras.prior(serverId),
      handshakeTimeoutMillis,
      tracker: options.tracker,
      handlers: {
        onMessage: dispatch(() => live),
        onError: (error, fatal) =>
          Queue.offerUnsafe(
            logs,
            (fatal ? Effect.logWarning : Effect.logDebug)(`transport: ${redact(Connection.describe(error))}`)
          ),
        onStderrLine: (line) =>
          Queue.offerUnsafe(logs, Effect.logInfo(redact(line)).pipe(Effect.annotateLogs({ stream: "stderr" })))
      }
    })
    const inFlight = yield* InFlight.make<RequestFailure>({
      serverId,
      onTimeout: (id, entry) => live !== undefined && cancelAt(live, id, entry, "timeout")
    })
    const self: Live = {
      connection,
      inFlight,
      post: (message, onFailure) => void connection.transport.send(message).catch((error) => onFailure?.(error)),
      stopListening: undefined,
      // Listed only when a call needs the headers, never while `self` is being built.
      paramTools: ParamTools.make((cursor, done) =>
        void dispatchOn(
          self,
          { jsonrpc: "2.0", id: "param-headers", method: "tools/list", ...(cursor === undefined ? {} : { params: { cursor } }) },
          requestTimeout,
          done
        )
      ),
      closed: false
    }
    live = self
    yield* eras.record(serverId, connection.verdict)
    const readyAt = yield* Clock.currentTimeMillis
    yield* SubscriptionRef.update(state, (s) => ({ ...s, live: self }))
    // A new connection (a restart, a new HTTP session) knows nothing of the subscriptions sessions still hold.
    for (const uri of connection.info.era === "modern" ? [] : resourceHolders.held()) {
      self.inFlight.register(nextId, { callerId: nextId, method: "resources/subscribe", abort: undefined }, 30_000, () => {})
      self.post({ jsonrpc: "2.0", id: nextId++, method: "resources/subscribe", params: { uri } })
    }
    yield* setHealth((h) => {
      const { lastError: _, ...rest } = h
      return {
        ...rest,
        state: "ready",
        failedStarts: 0,
        era: connection.info.era,
        protocolVersion: connection.info.protocolVersion,
        server: { name: connection.info.serverInfo.name, version: connection.info.serverInfo.version },
        ...(connection.pid === undefined ? {} : { pid: connection.pid })
      }
    })
    if (connection.info.era === "modern") listen(self)
    yield* Effect.logInfo(`ready (${connection.info.era} era, protocol ${connection.info.protocolVersion})`)
    yield* connection.closed.pipe(
      // Whatever ends this life (the backend died, or the gateway is stopping), nothing in flight hangs.
      Effect.ensuring(Effect.gen(function*() {
        yield* SubscriptionRef.update(state, (s) => (s.live === self ? { ...s, live: undefined } : s))
        self.closed = true
        inFlight.failAll((entry) => new BackendClosed({ serverId, method: entry.method }))
      }))
    )
    const healthy = (yield* Clock.currentTimeMillis) - readyAt >= healthyAfterMillis
    yield* setHealth((h) => ({ ...h, state: "restarting", restarts: h.restarts + 1, lastError: "connection closed" }))
    yield* Effect.logWarning("connection closed; restarting")
    return yield* new ConnectionEnded({ healthy })
  }).pipe(
    Effect.scoped,
    Effect.tapError((error) =>
      error._tag === "BackendStartFailed"
        ? Effect.gen(function*() {
          const reason = redact((error as BackendStartFailed).reason)
          yield* setHealth((h) => ({ ...h, state: "failed", failedStarts: h.failedStarts + 1, lastError: reason }))
          yield* Effect.logWarning(`start failed: ${reason}`)
        })
        : Effect.void
    )
  )

  const backoff = Schedule.min([
    Schedule.exponential(policy.baseDelay, 2),
    Schedule.spaced(policy.maxDelay)
  ])
  // Consecutive failures back off; a connection that was healthy long enough starts the count again.
  const supervise = life.pipe(
    Effect.catchIf((error) => error._tag === "ConnectionEnded" && error.healthy, () => Effect.void),
    Effect.retry({ schedule: backoff }),
    Effect.forever,
    // Only a bug gets here, and it would leave the backend dead: say so loudly.
    Effect.tapCause((cause) => Effect.logError("backend supervisor stopped", cause))
  )
  yield* supervise.pipe(Effect.annotateLogs({ serverId }), Effect.forkScoped)

  /** The live connection; while one is being (re)established, waits for it up to `timeout`. */
  const awaitLive = (timeout: Duration.Duration, exclude?: Live) => {
    const usable = (s: State) => s.live !== undefined && s.live !== exclude
    const unavailable = (s: State) => new BackendUnavailable({ serverId, status: s.health.state })
    // The hot path: connected. Only otherwise is a change stream set up (and raced with the timeout).
    const now = SubscriptionRef.getUnsafe(state)
    if (now.live !== undefined && usable(now)) return Effect.succeed(now.live)
    if (now.health.state === "failed") return Effect.fail(unavailable(now))
    return SubscriptionRef.changes(state).pipe(
      // A backend that failed to start is not waited for: it retries on its own schedule.
      Stream.filter((s) => usable(s) || s.health.state === "failed"),
      Stream.runHead,
      Effect.flatMap((found) =>
        found._tag === "Some" && found.value.live !== undefined && usable(found.value)
          ? Effect.succeed(found.value.live)
          : Effect.flatMap(SubscriptionRef.get(state), (s) => Effect.fail(unavailable(s)))
      ),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => Effect.flatMap(SubscriptionRef.get(state), (s) => Effect.fail(unavailable(s)))
      })
    )
  }

  /** Modern-era servers are stateless: every request carries the client's identity in `_meta`. */
  const envelope = (live: Live, request: JSONRPCRequest): JSONRPCRequest => {
    if (live.connection.info.era !== "modern") return request
    const params = request.params ?? {}
    return {
      ...request,
      params: {
        ...params,
        _meta: {
          [PROTOCOL_VERSION_META_KEY]: live.connection.info.protocolVersion,
          [CLIENT_INFO_META_KEY]: clientInfo,
          [CLIENT_CAPABILITIES_META_KEY]: clientCapabilities,
          // A modern-era server logs only at a level the request names; a legacy-era one logs everything until the
          // client sets a level. A legacy-era client's request (it carries no protocol version of its own) asks
          // for everything unless its session set a level; a modern-era client's says what it wants itself.
          ...(params._meta?.[PROTOCOL_VERSION_META_KEY] === undefined ? { [LOG_LEVEL_META_KEY]: "debug" } : {}),
          ...params._meta
        }
      }
    }
  }

  /**
   * Sends one request on a connection and registers its completion; returns how to cancel it. Synchronous
   * and fiber-free: the hot path of a session's call.
   */
  const dispatchOn = (
    live: Live,
    request: JSONRPCRequest,
    timeout: Duration.Duration,
    onDone: (exit: Exit.Exit<JSONRPCResponse, RequestFailure | RequestTimedOut>) => void,
    owner?: string
  ): (() => void) => {
    const local = translated(live, request)
    if (local !== undefined) {
      onDone(Exit.succeed(local))
      return () => {}
    }
    const id = nextId++
    // A modern-era HTTP request is cancelled by closing its own response stream.
    const abort = live.connection.info.era === "modern" && endpoint.kind !== "stdio" ? new AbortController() : undefined
    if (owner !== undefined && endpoint.kind === "streamable-http" && live.connection.info.era === "legacy") {
      // A legacy Streamable HTTP server sends what it asks the client while serving a request on that request's
      // own response stream: a transport for this one request (in the same backend session) ties those
      // questions to the session that made the call, exactly (MCPSDK.md, pitfall 1).
      const own = new StreamableHTTPClientTransport(new URL(endpoint.url), {
        requestInit: { headers: { ...endpoint.headers } },
        ...(live.connection.transport.sessionId === undefined ? {} : { sessionId: live.connection.transport.sessionId }),
        protocolVersion: live.connection.info.protocolVersion
      })
      own.onmessage = dispatch(() => live, owner)
      own.onerror = () => {}
      const done = (exit: Exit.Exit<JSONRPCResponse, RequestFailure | RequestTimedOut>) => {
        void own.close().catch(() => undefined)
        onDone(exit)
      }
      live.inFlight.register(id, { callerId: request.id, method: request.method, abort, owner }, Duration.toMillis(timeout), done)
      void own.start().then(() => own.send({ ...request, id })).catch((error) =>
        live.inFlight.fail(id, failure(live, request.method, error))
      )
      return () => {
        const entry = live.inFlight.forget(id)
        if (entry !== undefined) {
          cancelAt(live, id, entry, "the client went away")
          void own.close().catch(() => undefined)
        }
      }
    }
    live.inFlight.register(id, { callerId: request.id, method: request.method, abort, owner }, Duration.toMillis(timeout), onDone)
    // Fire and forget: the completion is all the caller waits on, so its deadline holds even if sending hangs.
    withParamHeaders(live, request, (headers) =>
      void live.connection.transport.send({ ...envelope(live, request), id }, {
        ...(abort === undefined ? {} : { requestSignal: abort.signal }),
        ...(headers === undefined ? {} : { headers })
      }).catch((error) => live.inFlight.fail(id, failure(live, request.method, error))))
    // The caller went away (its session closed, it cancelled): the backend need not finish the work.
    return () => {
      const entry = live.inFlight.forget(id)
      if (entry !== undefined) cancelAt(live, id, entry, "the client went away")
    }
  }

  /** A `tools/call` to a modern-era HTTP server goes with its `Mcp-Param-*` headers; anything else is sent at once. */
  const withParamHeaders = (
    live: Live,
    request: JSONRPCRequest,
    send: (headers: Record<string, string> | undefined) => void
  ): void => {
    if (request.method !== "tools/call" || live.connection.info.era !== "modern" || endpoint.kind !== "streamable-http") {
      return send(undefined)
    }
    live.paramTools.withHeaders(String(request.params?.["name"]), request.params?.["arguments"], send)
  }

  const requestOn = (live: Live, request: JSONRPCRequest, timeout: Duration.Duration, owner?: string) =>
    Effect.callback<JSONRPCResponse, RequestFailure | RequestTimedOut>((resume) => {
      const cancel = dispatchOn(live, request, timeout, resume, owner)
      return Effect.sync(cancel)
    })

  const timeoutOf = (options?: { readonly timeout?: Duration.Input }) =>
    options?.timeout === undefined ? requestTimeout : Duration.fromInputUnsafe(options.timeout)

  const lostSession = (method: string, lost: SessionLost) => new BackendSendFailed({ serverId, method, reason: lost.reason })

  /**
   * One request, answered within its timeout: a request the connection lost before the server got it (see
   * SessionLost) is sent once more on the next connection, with what is left of the same timeout. `retry` is such
   * a resend begun by `start`: the connection it was lost on, and the deadline it keeps.
   */
  const request = (
    request: JSONRPCRequest,
    options?: { readonly timeout?: Duration.Input; readonly owner?: string },
    retry?: { readonly lost: Live; readonly deadline: number }
  ) => {
    const budget = timeoutOf(options)
    const timeLeft = (deadline: number) => Duration.millis(Math.max(1, deadline - clock.currentTimeMillisUnsafe()))
    const attempt = (deadline: number, exclude?: Live): Effect.Effect<JSONRPCResponse, BackendError | SessionLost> =>
      Effect.flatMap(Effect.suspend(() => awaitLive(timeLeft(deadline), exclude)), (live) =>
        Effect.suspend(() => requestOn(live, request, timeLeft(deadline), options?.owner)).pipe(
          Effect.catchTag("SessionLost", (lost) => {
            if (exclude !== undefined) return Effect.fail(lost)
            // Dropped (the supervisor reconnects), not waited for: its ending may take seconds the request has not.
            void live.connection.transport.close().catch(() => undefined)
            return attempt(deadline, live)
          })
        ))
    return Effect.suspend(() => attempt(retry?.deadline ?? clock.currentTimeMillisUnsafe() + Duration.toMillis(budget), retry?.lost)).pipe(
      Effect.catchTag("SessionLost", (lost) => Effect.fail(lostSession(request.method, lost))),
      // A timeout is told against the caller's whole budget, not what a resend had left of it.
      Effect.catchTag("RequestTimedOut", (error) =>
        Effect.fail(new RequestTimedOut({ serverId, method: error.method, timeoutMillis: Duration.toMillis(budget) })))
    )
  }

  // Requests that cannot take the fast path (no connection right now, or a lost session to retry) run here.
  const runSlow = yield* FiberSet.makeRuntime<never>()

  const start = (
    message: JSONRPCRequest,
    options: { readonly timeout?: Duration.Input; readonly owner?: string } | undefined,
    onDone: (exit: Exit.Exit<JSONRPCResponse, BackendError>) => void
  ) =>
    Effect.suspend((): Effect.Effect<Effect.Effect<void>> => {
      const live = SubscriptionRef.getUnsafe(state).live
      const deadline = clock.currentTimeMillisUnsafe() + Duration.toMillis(timeoutOf(options))
      const viaFiber = (lost?: Live) =>
        runSlow(request(message, options, lost === undefined ? undefined : { lost, deadline }).pipe(Effect.exit, Effect.map(onDone)))
      if (live === undefined) {
        const fiber = viaFiber()
        return Effect.succeed(Fiber.interrupt(fiber).pipe(Effect.asVoid))
      }
      let cancel = dispatchOn(live, message, timeoutOf(options), (exit) => {
        if (Exit.isSuccess(exit)) return onDone(Exit.succeed(exit.value))
        const error = Cause.squash(exit.cause)
        if (error instanceof SessionLost) {
          // Transparent, as `request` is: reconnect, and send once more on the next connection.
          void live.connection.transport.close().catch(() => undefined)
          const fiber = viaFiber(live)
          cancel = () => fiber.interruptUnsafe()
          return
        }
        onDone(exit as Exit.Exit<never, BackendError>)
      }, options?.owner)
      return Effect.succeed(Effect.sync(() => cancel()))
    })

  const notify = (notification: JSONRPCNotification) =>
    Effect.flatMap(awaitLive(requestTimeout), (live) => sendOn(live, notification, notification.method))

  const onNotification = (listener: NotificationListener) =>
    Effect.acquireRelease(
      Effect.sync(() => void listeners.add(listener)),
      () => Effect.sync(() => void listeners.delete(listener))
    )

  /** Notifications that pass `filter`, as a stream (a bounded buffer: it only guards memory against a starved reader). */
  const subscribe = (filter: (notification: JSONRPCNotification) => boolean) =>
    Effect.gen(function*() {
      const buffer = yield* Effect.acquireRelease(Queue.sliding<JSONRPCNotification>(streamCapacity), Queue.shutdown)
      yield* onNotification((notification) => void (filter(notification) && Queue.offerUnsafe(buffer, notification)))
      return Stream.fromQueue(buffer)
    })

  return {
    serverId,
    exclusive: options.exclusive === true,
    health: Effect.map(SubscriptionRef.get(state), (s) => s.health),
    healthChanges: SubscriptionRef.changes(state).pipe(Stream.map((s) => s.health), Stream.changes),
    info: Effect.map(SubscriptionRef.get(state), (s) => s.live?.connection.info),
    settled: (timeout) =>
      SubscriptionRef.changes(state).pipe(
        Stream.map((s) => s.health),
        Stream.filter((h) => h.state === "ready" || h.state === "failed"),
        Stream.runHead,
        Effect.timeoutOption(timeout),
        Effect.flatMap(() => Effect.map(SubscriptionRef.get(state), (s) => s.health))
      ),
    request,
    start,
    notify,
    onNotification,
    subscribeNotifications: subscribe(() => true),
    subscribeListChanges: subscribe((notification) => notification.method.endsWith("/list_changed")),
    resourceHolders,
    attachRequests: (owner, handler) =>
      Effect.acquireRelease(
        Effect.sync(() => void requestHandlers.set(owner, handler)),
        () => Effect.sync(() => void (requestHandlers.get(owner) === handler && requestHandlers.delete(owner)))
      ),
    subscribers: Effect.sync(() => ({ notifications: listeners.size, requests: requestHandlers.size }))
  } satisfies Backend as Backend
})

