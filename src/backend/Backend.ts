import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  PROTOCOL_VERSION_META_KEY,
  SdkHttpError,
} from "@modelcontextprotocol/client"
import {
  Clock,
  Deferred,
  Duration,
  Effect,
  Exit,
  PubSub,
  Queue,
  Ref,
  Schedule,
  Stream,
  SubscriptionRef
} from "effect"
import {
  BackendClosed,
  type BackendError,
  BackendSendFailed,
  type BackendStartFailed,
  BackendUnavailable,
} from "./BackendErrors.ts"
import * as Connection from "./Connection.ts"
import { EraCache } from "./EraCache.ts"
import { clientCapabilities, clientInfo } from "./GatewayIdentity.ts"
import * as InFlight from "./InFlight.ts"
import { redactor } from "./Redaction.ts"
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
  readonly lastError?: string
  /** Epoch millis of the last state change. */
  readonly since: number
}

/** A request a backend sends to the client side (sampling, elicitation, roots). */
export interface BackendRequest {
  readonly serverId: string
  readonly request: JSONRPCRequest
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
}

export interface Backend {
  readonly serverId: string
  readonly health: Effect.Effect<Health>
  /** The current health, then every change. */
  readonly healthChanges: Stream.Stream<Health>
  /** The handshake's result for the current connection, if any. */
  readonly info: Effect.Effect<Connection.ServerInfo | undefined>
  /** Sends a request under a gateway-owned id and answers with the caller's id restored. */
  readonly request: (
    request: JSONRPCRequest,
    options?: { readonly timeout?: Duration.Input }
  ) => Effect.Effect<JSONRPCResponse, BackendError>
  readonly notify: (notification: JSONRPCNotification) => Effect.Effect<void, BackendError>
  /** The backend's notifications; every subscriber gets each one. */
  readonly notifications: Stream.Stream<JSONRPCNotification>
  /** Requests from the backend to the client side; answer each with `respond`. */
  readonly requests: Stream.Stream<BackendRequest>
  /** Answers a `BackendRequest` (the response carries the backend's own request id). */
  readonly respond: (response: JSONRPCResponse) => Effect.Effect<void, BackendError>
}

export const defaultRestartPolicy: RestartPolicy = {
  baseDelay: "250 millis",
  maxDelay: "30 seconds",
  healthyAfter: "30 seconds"
}

/** One live connection and the requests in flight on it. */
interface Live {
  readonly connection: Connection.Connection
  readonly inFlight: InFlight.InFlight
}

interface State {
  readonly health: Health
  readonly live: Live | undefined
}

/** An HTTP backend forgot our session (it restarted or expired it): reconnect and send again. */
class SessionLost {
  readonly _tag = "SessionLost"
}

/** The connection ended; the supervisor restarts it. */
class ConnectionEnded {
  readonly _tag = "ConnectionEnded"
  readonly healthy: boolean
  constructor(healthy: boolean) {
    this.healthy = healthy
  }
}

/**
 * The spec answers a request for an unknown session with 404. Servers built on the v1 SDK's examples
 * (server-everything among them) answer 400 "No valid session ID provided" instead; both mean the same.
 */
const isSessionLost = (error: unknown, live: Live) =>
  error instanceof SdkHttpError &&
  live.connection.transport.sessionId !== undefined &&
  (error.data.status === 404 || (error.data.status === 400 && /session/i.test(String(error.data.text ?? error.message))))

const cancellation = (requestId: number, reason: string): JSONRPCNotification => ({
  jsonrpc: "2.0",
  method: "notifications/cancelled",
  params: { requestId, reason }
})

const secretsOf = (endpoint: Connection.Endpoint) =>
  endpoint.kind === "stdio" ? Object.values(endpoint.env) : Object.values(endpoint.headers)

/**
 * The actor for one backend MCP server: it owns the connection, restarts it with capped exponential backoff
 * when it dies, multiplexes requests from many sessions over it by rewriting JSON-RPC ids, and publishes the
 * backend's notifications and requests. Everything it starts (fibers, the child process, sockets) belongs to
 * the scope it is made in.
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const { serverId, endpoint } = options
  const policy = options.restart ?? defaultRestartPolicy
  const requestTimeout = Duration.fromInputUnsafe(options.requestTimeout)
  const handshakeTimeoutMillis = Duration.toMillis(Duration.fromInputUnsafe(options.handshakeTimeout ?? "30 seconds"))
  const redact = redactor(secretsOf(endpoint))
  const eras = yield* EraCache

  const state = yield* SubscriptionRef.make<State>({
    health: { serverId, state: "starting", restarts: 0, failedStarts: 0, since: yield* Clock.currentTimeMillis },
    live: undefined
  })
  const notifications = yield* Effect.acquireRelease(PubSub.unbounded<JSONRPCNotification>(), PubSub.shutdown)
  const incoming = yield* Effect.acquireRelease(PubSub.unbounded<BackendRequest>(), PubSub.shutdown)
  const requestListeners = yield* Ref.make(0)
  // Stderr lines come from a Node callback; a bounded queue decouples them from the logger.
  const stderr = yield* Effect.acquireRelease(Queue.sliding<string>(1_000), Queue.shutdown)
  yield* Queue.take(stderr).pipe(
    Effect.flatMap((line) => Effect.logInfo(redact(line)).pipe(Effect.annotateLogs({ serverId, stream: "stderr" }))),
    Effect.forever,
    Effect.forkScoped
  )

  let nextId = 1
  const setHealth = (update: (health: Health) => Health) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      SubscriptionRef.update(state, (s) => ({ ...s, health: { ...update(s.health), since: now } })))

  const sendRaw = (live: Live, message: JSONRPCMessage, method: string) =>
    Effect.tryPromise({
      try: () => live.connection.transport.send(message),
      catch: (error): BackendSendFailed | SessionLost =>
        isSessionLost(error, live)
          ? new SessionLost()
          : new BackendSendFailed({ serverId, method, reason: Connection.describe(error) })
    })

  /** Called synchronously by the transport for every message the backend sends. */
  const dispatch = (inFlight: InFlight.InFlight, send: (message: JSONRPCMessage) => void) =>
  (message: JSONRPCMessage) => {
    if (!("method" in message)) {
      if (typeof message.id === "number") inFlight.settle(message.id, message)
    } else if (!("id" in message)) {
      PubSub.publishUnsafe(notifications, message)
    } else if (message.method === "ping") {
      send({ jsonrpc: "2.0", id: message.id, result: {} })
    } else if (Ref.getUnsafe(requestListeners) === 0) {
      // Nobody could answer: say so at once rather than let the backend wait for its own timeout.
      send({
        jsonrpc: "2.0",
        id: message.id,
        error: { code: -32601, message: `no client session can answer ${message.method} right now` }
      })
    } else {
      PubSub.publishUnsafe(incoming, { serverId, request: message })
    }
  }

  /** One life of the connection: connect, serve until it closes. Fails unless it lived long enough to count. */
  const life = Effect.gen(function*() {
    const closed = Deferred.makeUnsafe<void>()
    let transportSend: (message: JSONRPCMessage) => void = () => {}
    const inFlight = yield* InFlight.make({
      serverId,
      onTimeout: (id) => Effect.sync(() => transportSend(cancellation(id, "timeout")))
    })
    const connection = yield* Connection.connect({
      serverId,
      endpoint,
      prior: yield* eras.prior(serverId),
      handshakeTimeoutMillis,
      tracker: options.tracker,
      handlers: {
        onMessage: dispatch(inFlight, (message) => transportSend(message)),
        onClose: () => Deferred.doneUnsafe(closed, Exit.void),
        onStderrLine: (line) => Queue.offerUnsafe(stderr, line)
      }
    })
    transportSend = (message) => void connection.transport.send(message).catch(() => undefined)
    yield* eras.record(serverId, connection.verdict)
    const live: Live = { connection, inFlight }
    const readyAt = yield* Clock.currentTimeMillis
    yield* SubscriptionRef.update(state, (s) => ({ ...s, live }))
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
    yield* Effect.logInfo(`ready (${connection.info.era} era, protocol ${connection.info.protocolVersion})`)
    yield* Deferred.await(closed).pipe(
      // Whatever ends this life (the backend died, or the gateway is stopping), nothing in flight hangs.
      Effect.ensuring(Effect.gen(function*() {
        yield* SubscriptionRef.update(state, (s) => ({ ...s, live: undefined }))
        inFlight.failAll((entry) => new BackendClosed({ serverId, method: entry.method }))
      }))
    )
    const livedFor = (yield* Clock.currentTimeMillis) - readyAt
    const healthy = livedFor >= Duration.toMillis(Duration.fromInputUnsafe(policy.healthyAfter))
    yield* setHealth((h) => ({ ...h, state: "restarting", restarts: h.restarts + 1, lastError: "connection closed" }))
    yield* Effect.logWarning("connection closed; restarting")
    return yield* Effect.fail(new ConnectionEnded(healthy))
  }).pipe(
    Effect.scoped,
    Effect.tapError((error) =>
      error._tag === "BackendStartFailed"
        ? setHealth((h) => ({
          ...h,
          state: "failed",
          failedStarts: h.failedStarts + 1,
          lastError: (error as BackendStartFailed).reason
        })).pipe(
          Effect.andThen(Effect.logWarning(`start failed: ${redact((error as BackendStartFailed).reason)}`))
        )
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
    Effect.forever
  )
  yield* supervise.pipe(Effect.annotateLogs({ serverId }), Effect.forkScoped)

  /** The live connection; while one is being (re)established, waits for it up to `timeout`. */
  const awaitLive = (timeout: Duration.Duration, method: string) =>
    Effect.gen(function*() {
      const current = yield* SubscriptionRef.get(state)
      if (current.live !== undefined) return current.live
      if (current.health.state === "failed") {
        return yield* new BackendUnavailable({ serverId, status: current.health.state })
      }
      return yield* SubscriptionRef.changes(state).pipe(
        Stream.map((s) => s.live),
        Stream.filter((live): live is Live => live !== undefined),
        Stream.runHead,
        Effect.flatMap((live) => live._tag === "Some" ? Effect.succeed(live.value) : Effect.fail(unavailable(method))),
        Effect.timeoutOrElse({ duration: timeout, orElse: () => Effect.fail(unavailable(method)) })
      )
    })
  const unavailable = (_method: string) =>
    new BackendUnavailable({ serverId, status: SubscriptionRef.getUnsafe(state).health.state })

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
          ...params._meta
        }
      }
    }
  }

  const requestOnce = (request: JSONRPCRequest, timeout: Duration.Duration) =>
    Effect.gen(function*() {
      const live = yield* awaitLive(timeout, request.method)
      const id = nextId++
      const reply = yield* live.inFlight.register(id, request.id, request.method, Duration.toMillis(timeout))
      return yield* sendRaw(live, { ...envelope(live, request), id }, request.method).pipe(
        Effect.andThen(Deferred.await(reply)),
        // The caller went away (its session closed): the backend need not finish the work.
        Effect.onInterrupt(() =>
          live.inFlight.forget(id)
            ? sendRaw(live, cancellation(id, "the client went away"), "cancel").pipe(Effect.ignore)
            : Effect.void
        ),
        Effect.onError(() => Effect.sync(() => live.inFlight.forget(id))),
        Effect.tapError((error) =>
          // The server forgot our session: close this connection so the supervisor reconnects at once.
          error._tag === "SessionLost"
            ? Effect.promise(() => live.connection.transport.close().catch(() => undefined))
            : Effect.void
        )
      )
    })

  const request = (request: JSONRPCRequest, options?: { readonly timeout?: Duration.Input }) => {
    const timeout = options?.timeout === undefined ? requestTimeout : Duration.fromInputUnsafe(options.timeout)
    return requestOnce(request, timeout).pipe(
      // One transparent retry on the new session; a second loss in a row is reported.
      Effect.catchTag("SessionLost", () => requestOnce(request, timeout)),
      Effect.catchTag("SessionLost", () =>
        Effect.fail(new BackendSendFailed({ serverId, method: request.method, reason: "the server lost the session" })))
    )
  }

  const sendWhenLive = (message: JSONRPCMessage, method: string) =>
    awaitLive(requestTimeout, method).pipe(
      Effect.flatMap((live) => sendRaw(live, message, method)),
      Effect.catchTag("SessionLost", () =>
        Effect.fail(new BackendSendFailed({ serverId, method, reason: "the server lost the session" })))
    )

  return {
    serverId,
    health: Effect.map(SubscriptionRef.get(state), (s) => s.health),
    healthChanges: SubscriptionRef.changes(state).pipe(Stream.map((s) => s.health), Stream.changes),
    info: Effect.map(SubscriptionRef.get(state), (s) => s.live?.connection.info),
    request,
    notify: (notification) => sendWhenLive(notification, notification.method),
    notifications: Stream.fromPubSub(notifications),
    requests: Stream.unwrap(
      Effect.acquireRelease(Ref.update(requestListeners, (n) => n + 1), () => Ref.update(requestListeners, (n) => n - 1))
        .pipe(Effect.as(Stream.fromPubSub(incoming)))
    ),
    respond: (response) => sendWhenLive(response, "response")
  } satisfies Backend as Backend
})
