import {
  type JSONRPCMessage,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  LOG_LEVEL_META_KEY,
  type ServerCapabilities
} from "@modelcontextprotocol/client"
import { Clock, Duration, Effect, Exit, Fiber, FiberSet, Result, Stream } from "effect"
import type { Backend, BackendRequest, Health } from "../backend/Backend.ts"
import type { BackendError } from "../backend/BackendErrors.ts"
import * as LogLevels from "../protocol/LogLevels.ts"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as Merge from "../routing/Merge.ts"
import * as ResourceMap from "../routing/ResourceMap.ts"
import * as Router from "../routing/Router.ts"
import * as GatewayTools from "../search/GatewayTools.ts"
import type { Catalog } from "../search/ToolCatalog.ts"
import { AmbiguousMethod, Forbidden } from "../routing/RoutingErrors.ts"
import * as InputRounds from "./InputRounds.ts"
import * as ListPages from "./ListPages.ts"
import { failureOf, localAnswer, outcome } from "./Outcome.ts"
import * as EventChannel from "./EventChannel.ts"
import * as Tasks from "./Tasks.ts"
import { DuplicateRequestId, SessionNotFound, TooManyRequests, UnknownResponse } from "./SessionErrors.ts"
import type { CloseReason, SessionEvent, Unnumbered } from "./SessionEvent.ts"

/** What a session may use and how long it may wait. */
export interface Options {
  readonly id: string
  readonly client: { readonly id: string; readonly servers: ReadonlyArray<string>; readonly namespacing: "on" | "off" }
  /** What the client can answer (MCP client capabilities); undefined: everything the gateway relays. */
  readonly capabilities?: Readonly<Record<string, unknown>> | undefined
  /** The backends of this session's servers (shared ones, or its own for `isolation: "session"`). */
  readonly backends: ReadonlyMap<string, Backend>
  readonly maxPendingEvents: number
  readonly heartbeatInterval: Duration.Input
  readonly idleTimeout: Duration.Input
  readonly requestTimeout: (serverId: string) => Duration.Duration
  /**
   * A modern-era backend's `input_required` result: `"ask"` (default) turns its questions into `request` events
   * and retries with the answers; `"forward"` hands it to the client as it is (a modern `/mcp` client retries).
   */
  readonly inputRequired?: "ask" | "forward" | undefined
  /** Deferred tool loading: the catalog the gateway's own tools search and activate from (off when undefined). */
  readonly deferredTools?: Pick<Catalog, "search" | "lookup"> | undefined
  /**
   * The fleet's tools by the names clients call them: a shortened name (a namespaced name over 64 characters) is
   * found here even when this session never listed the tools.
   */
  readonly catalog?: Pick<Catalog, "lookup"> | undefined
}

/** One server of the session, as `POST /gateway/stream` reports it. */
export interface ServerSummary {
  readonly id: string
  readonly status: "ready" | "failed"
  readonly error?: string
  readonly capabilities?: ServerCapabilities
  /** what the server tells its clients about itself (its `initialize` answer's `instructions`) */
  readonly instructions?: string
}

export interface SubmitOptions {
  /**
   * Called with a request's `request_id` the moment it is given, before any event of the request can be pushed: an
   * edge that maps its own ids to it then never meets an event it cannot place (one can come before submit returns).
   */
  readonly onAccepted?: ((requestId: string) => void) | undefined
}

export interface Session {
  readonly id: string
  readonly clientId: string
  readonly servers: Effect.Effect<ReadonlyArray<ServerSummary>>
  /** The same, as the servers are now: a server still starting or restarting is not waited for. */
  readonly serversNow: Effect.Effect<ReadonlyArray<ServerSummary>>
  /**
   * The events for one GET: first what the client missed after `lastEventId` (if given), then live. A later
   * call takes over: this stream then ends. The stream ends after `closed` when the session closes.
   */
  readonly stream: (lastEventId: number | undefined) => Stream.Stream<SessionEvent>
  /** The same events as SSE frames (DESIGN.md), each encoded once, when it happened, not per stream. */
  readonly frames: (lastEventId: number | undefined) => Stream.Stream<string>
  /** Takes one JSON-RPC message from the client; a request's answer arrives on the stream. */
  readonly submit: (
    message: JSONRPCMessage,
    options?: SubmitOptions
  ) => Effect.Effect<
    { readonly request_id: string | null },
    AmbiguousMethod | Forbidden | DuplicateRequestId | TooManyRequests | UnknownResponse | SessionNotFound
  >
  /** Ends the session: `closed { reason }` is the last event its stream gets. */
  readonly close: (reason: CloseReason) => Effect.Effect<void>
  /** Completes with the reason once the session has closed. */
  readonly closed: Effect.Effect<CloseReason>
  readonly isClosed: Effect.Effect<boolean>
}

/** The client capability each backend request needs. */
const capabilityOf: Partial<Record<string, string>> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots"
}

/** How long a request waits for its session to learn its servers' resources before it is routed anyway. */
const learnResourcesTimeout = Duration.seconds(10)

/** What a session fetches again when a backend says one of its lists changed. */
const listChangedRefresh: Partial<Record<string, ReadonlyArray<McpMethods.BroadcastMethod>>> = {
  "notifications/tools/list_changed": ["tools/list"],
  "notifications/prompts/list_changed": ["prompts/list"],
  "notifications/resources/list_changed": ["resources/list", "resources/templates/list"]
}

/**
 * The actor for one client session: it routes what the client sends and what its backends say, and its events
 * reach the client through its EventChannel. Everything it forks lives in the scope it is made in (the manager
 * closes that scope once the session has closed). Its state (the bookkeeping of requests, names and
 * subscriptions) is touched only in synchronous steps, never across a `yield*`.
 */
export const make = Effect.fnUntraced(function*(options: Options) {
  const idleMillis = Duration.toMillis(Duration.fromInputUnsafe(options.idleTimeout))
  const requests = yield* FiberSet.make()
  /** Runs a list refresh in the session's scope, from the synchronous notification path. */
  const runRefresh = yield* FiberSet.makeRuntime<never>()
  /** Lists being fetched again (`server method`), and those of them told of a change since their fetch began. */
  const refreshing = new Set<string>()
  const changedSince = new Set<string>()
  /** The list methods this session has broadcast: only those are worth refreshing. */
  const learnt = new Set<McpMethods.BroadcastMethod>()

  let lastActivity = yield* Clock.currentTimeMillis
  let requestCounter = 0
  /** The level the client set with `logging/setLevel`, if any. */
  let logLevel: string | undefined
  /** Levels the client set for one server (`<server>__logging/setLevel`), over `logLevel` for that server. */
  const serverLevels = new Map<string, string>()
  /** Shortened tool and prompt names back to their server and name, kept apart so each list refreshes alone. */
  const shortNames: Record<"tools/list" | "prompts/list", Merge.NameMap> = { "tools/list": new Map(), "prompts/list": new Map() }
  /** Both, as routing reads them (rebuilt when either changes, not per request). */
  let names: Merge.NameMap = new Map()
  const learnNames = (method: "tools/list" | "prompts/list", serverIds: ReadonlySet<string>, fresh: Merge.NameMap) => {
    shortNames[method] = new Map([...[...shortNames[method]].filter(([, t]) => !serverIds.has(t.serverId)), ...fresh])
    names = new Map([...shortNames["tools/list"], ...shortNames["prompts/list"]])
  }
  let resources: ResourceMap.ResourceMap = ResourceMap.ordered([...options.backends.keys()])
  const tasks = Tasks.make()
  const canAnswer = (method: string) => {
    const needed = capabilityOf[method]
    return options.capabilities === undefined || needed === undefined || options.capabilities[needed] !== undefined
  }
  /** Backend requests (sampling, ...) waiting for the client's answer, by the id the client sees. */
  const asked = new Map<string, BackendRequest>()
  let askedCounter = 0
  /** Resources this session subscribed to, as `server uri`: their updates are this session's. */
  const subscribed = new Set<string>()
  /** Progress tokens the backends see (unique to this session and request) and the client's own ones. */
  const progressTokens = new Map<string, string | number>()
  /** In-flight requests by the client's own JSON-RPC id, so `notifications/cancelled` can stop them. */
  const byClientId = new Map<string | number, Effect.Effect<void>>()
  /**
   * Those of them waiting on the client itself (a modern backend's `input_required` questions, with no call at the
   * backend): they do not keep the session from expiring, since only the client could move them on.
   */
  const awaitingClient = new Set<string | number>()

  /** Deferred loading: the tools this session activated, and what the gateway's own tools work with. */
  const toolbox: GatewayTools.Context | undefined = options.deferredTools === undefined ? undefined : {
    servers: new Set(options.backends.keys()),
    activated: new Set(),
    search: options.deferredTools.search,
    lookup: options.deferredTools.lookup
  }
  /** Whether a deferred session activated the backend tool `name` of `serverId` (under whatever exposed name). */
  const isActivated = (toolbox: GatewayTools.Context, serverId: string, name: unknown) =>
    [...toolbox.activated].some((exposed) => {
      const tool = toolbox.lookup(exposed)
      return tool?.serverId === serverId && tool.name === name
    })

  const clock = yield* Clock.Clock
  const touch = Effect.sync(() => void (lastActivity = clock.currentTimeMillisUnsafe()))
  const events = EventChannel.make({
    maxPendingEvents: options.maxPendingEvents,
    heartbeatInterval: options.heartbeatInterval,
    onStreamChange: touch
  })
  const { push } = events
  const closeNow = events.close
  const emit = (event: Unnumbered) => Effect.sync(() => void push(event))

  // Idle expiry: no stream and no request (none sent, none in flight) for `idleTimeout`. One fiber sleeps until
  // the next possible moment.
  yield* Effect.gen(function*() {
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const due = lastActivity + idleMillis
      const busy = events.hasStream() || byClientId.size > awaitingClient.size
      if (!busy && now >= due) return closeNow("expired")
      yield* Effect.sleep(busy ? idleMillis : due - now)
    }
  }).pipe(Effect.forkScoped)

  // Requests a backend sends to this session's client (sampling, elicitation, roots): each becomes a `request`
  // event under an id unique in the session; the client answers by posting a JSON-RPC response with that id.
  for (const [serverId, backend] of options.backends) {
    yield* backend.attachRequests(options.id, (request) => {
      // The backend is answered with an error at once: the session is gone, or its client cannot answer this.
      if (events.isClosed() || !canAnswer(request.request.method)) return false
      const id = `${serverId}:${++askedCounter}`
      asked.set(id, request)
      const sent = push({ event: "request", data: { server_id: serverId, request: { ...request.request, id } } })
      // A question too deeply nested to send is refused at once, rather than left to the backend's timeout.
      if (sent?.event !== "error") return true
      asked.delete(id)
      return false
    })
  }
  // A session that ends with questions unanswered tells each backend, so none waits for its own timeout.
  yield* Effect.addFinalizer(() => {
    const open = [...asked.values()]
    asked.clear()
    return Effect.forEach(open, (request) =>
      request.respond({
        jsonrpc: "2.0",
        id: request.request.id,
        error: { code: -32603, message: "the client session closed before answering" }
      }).pipe(Effect.timeout("2 seconds"), Effect.ignore), { discard: true, concurrency: "unbounded" })
  })

  // Requests still in flight when the session ends are cancelled at their backends, not left to run.
  yield* Effect.addFinalizer(() => Effect.forEach([...byClientId.values()], (cancel) => cancel, { discard: true }))

  // The backend keeps a subscription while some session holds it: the last to leave unsubscribes it.
  yield* Effect.addFinalizer(() =>
    Effect.forEach([...options.backends], ([serverId, backend]) =>
      Effect.forEach(backend.resourceHolders.releaseAll(options.id), (uri) =>
        backend.request(
          { jsonrpc: "2.0", id: `unsubscribe:${uri}`, method: "resources/unsubscribe", params: { uri } },
          { timeout: options.requestTimeout(serverId) }
        ).pipe(Effect.timeout("2 seconds"), Effect.ignore), { discard: true, concurrency: "unbounded" }), {
      discard: true,
      concurrency: "unbounded"
    })
  )

  // A scope closed some other way (the manager stopping) still ends every stream with `closed`.
  yield* Effect.addFinalizer(() => Effect.sync(() => closeNow("shutdown")))

  /** Fetches one server's list again and learns from it what this session routes by (names, URIs). */
  const relist = (serverId: string, method: McpMethods.BroadcastMethod) =>
    Effect.suspend(() => {
      const backend = options.backends.get(serverId)
      if (backend === undefined) return Effect.void
      return ListPages.listAll(backend, method, { jsonrpc: "2.0", id: `refresh:${method}`, method }, options.requestTimeout(serverId)).pipe(
        Effect.map((result) => {
          const namespaced = Merge.namespacePart(method, serverId, result)
          const part = { serverId, result: namespaced.result }
          if (method === "resources/list") resources = ResourceMap.withResources(resources, [part]).map
          else if (method === "resources/templates/list") resources = ResourceMap.withTemplates(resources, [part])
          else if (method === "tools/list" || method === "prompts/list") learnNames(method, new Set([serverId]), namespaced.names)
        }),
        Effect.ignore
      )
    })

  // A list that changed is fetched again for the names and URIs this session routes by; the client is told by the
  // `list_changed` notification itself and lists again when it wants the new list. One fetch per list at a time: a
  // notice during a fetch makes it run once more after, so a burst of notices costs two fetches, and what is
  // learnt last is never older than the last notice.
  const refresh = (serverId: string, method: McpMethods.BroadcastMethod): Effect.Effect<void> => {
    const key = `${serverId} ${method}`
    return Effect.andThen(
      relist(serverId, method),
      Effect.suspend(() => {
        if (changedSince.delete(key)) return refresh(serverId, method)
        refreshing.delete(key)
        return Effect.void
      })
    )
  }

  /**
   * Every server's resources and templates, listed once for routing by URI (no events: the client asked for no
   * list); requests that need them meanwhile wait for the same listing. From then on a server's
   * `resources/list_changed` refreshes them, as after a list broadcast.
   */
  const learnResources = yield* Effect.cached(
    Effect.forEach(
      options.backends,
      ([serverId, backend]) =>
        Effect.flatMap(backend.info, (info) =>
          info?.capabilities.resources === undefined
            ? Effect.void
            : Effect.all([relist(serverId, "resources/list"), relist(serverId, "resources/templates/list")], { concurrency: 2 })),
      { concurrency: "unbounded", discard: true }
    ).pipe(
      Effect.timeout(learnResourcesTimeout),
      Effect.ignore,
      Effect.ensuring(Effect.sync(() => {
        learnt.add("resources/list")
        learnt.add("resources/templates/list")
      }))
    )
  )

  /** What this session does with one notification of `serverId`: synchronous, called as it arrives. */
  const hear = (serverId: string) => (notification: JSONRPCNotification, owner: string | undefined): void => {
    switch (notification.method) {
      // A log message goes only to the session it belongs to (a shared server's logs may name another client's
      // work), at the level the session asked for: a shared server's own level is no one session's to set.
      case "notifications/message":
        if (owner !== options.id || LogLevels.isBelow(notification.params?.["level"], serverLevels.get(serverId) ?? logLevel)) return
        break
      // Progress belongs to the request that asked for it, under the token this session gave it.
      case "notifications/progress": {
        const token = notification.params?.progressToken
        const original = typeof token === "string" ? progressTokens.get(token) : undefined
        if (original === undefined) return
        notification = { ...notification, params: { ...notification.params, progressToken: original } }
        break
      }
      // A backend cancelling one of its requests to the client: only the session it asked, under that session's
      // id for it.
      case "notifications/cancelled": {
        const id = notification.params?.requestId
        const key = [...asked].find(([, request]) => request.serverId === serverId && request.request.id === id)?.[0]
        if (key === undefined) return
        asked.delete(key)
        notification = { ...notification, params: { ...notification.params, requestId: key } }
        break
      }
      // A task's status goes only to the session whose request created the task, under its namespaced id.
      case "notifications/tasks/status": {
        const status = tasks.status(serverId, notification)
        if (status === undefined) return
        notification = status
        break
      }
      // An update goes only to the sessions that subscribed to that resource.
      case "notifications/resources/updated": {
        const uri = notification.params?.uri
        if (typeof uri !== "string" || !subscribed.has(`${serverId} ${uri}`)) return
        break
      }
      default:
        for (const method of listChangedRefresh[notification.method] ?? []) {
          // Only lists the session has learnt from, one fetch at a time however many notices.
          const key = `${serverId} ${method}`
          if (!learnt.has(method)) continue
          if (refreshing.has(key)) {
            changedSince.add(key)
            continue
          }
          refreshing.add(key)
          runRefresh(refresh(serverId, method))
        }
    }
    push({ event: "notification", data: { server_id: serverId, notification } })
  }
  // Backend notifications: heard from now on, for the life of the session.
  for (const [serverId, backend] of options.backends) yield* backend.onNotification(hear(serverId))

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
        // A list longer than the pages followed is said to be cut, not passed off as whole.
        const truncated = () =>
          errors.push({
            serverId,
            error: { code: "truncated", message: `more than ${McpMethods.maxListPages} pages: the rest of this server's list is left out` }
          })
        return ListPages.listAll(backend, method, message, options.requestTimeout(serverId), truncated).pipe(
          Effect.flatMap((result) => {
            const part = Merge.namespacePart(method, serverId, result)
            parts.push({ serverId, result: part.result })
            nextNames = Merge.extendNames(nextNames, part.names)
            return emit({ event: "chunk", data: { request_id: requestId, server_id: serverId, result: part.result } })
          }),
          Effect.catch((error) => Effect.sync(() => void errors.push({ serverId, error: failureOf(error) })))
        )
      }, { concurrency: "unbounded", discard: true })
      learnt.add(method)
      // Servers in the order the client may use them, whatever order they answered in.
      parts.sort((a, b) => serverIds.indexOf(a.serverId) - serverIds.indexOf(b.serverId))
      if (method === "resources/list") {
        const learnt = ResourceMap.withResources(resources, parts)
        resources = learnt.map
        for (const { uri, kept, serverId } of learnt.conflicts) {
          errors.push({
            serverId,
            error: { code: "uri_conflict", message: `"${uri}" is also offered by "${kept}": reads of it go there` }
          })
        }
      } else if (method === "resources/templates/list") {
        resources = ResourceMap.withTemplates(resources, parts)
      }
      if (method === "tools/list" || method === "prompts/list") {
        learnNames(method, new Set(parts.map((part) => part.serverId)), nextNames)
      }
      const result = Merge.merge(method, parts, errors)
      yield* emit({
        event: "response",
        data: { request_id: requestId, server_id: null, response: { jsonrpc: "2.0", id: message.id, result } }
      })
    })


  /**
   * This session's tasks at one server (a shared server lists every session's), every page, ids namespaced. A
   * server's JSON-RPC error fails it, as a transport error does.
   */
  const ownTasks = (serverId: string, backend: Backend, request: JSONRPCRequest) =>
    ListPages.listAll(backend, "tasks/list", request, options.requestTimeout(serverId)).pipe(
      Effect.map((result) =>
        (Array.isArray(result["tasks"]) ? result["tasks"] : []).flatMap((task: unknown) => {
          const taskId = typeof task === "object" && task !== null ? (task as Record<string, unknown>)["taskId"] : undefined
          const namespaced = typeof taskId === "string" ? tasks.known(serverId, taskId) : undefined
          return namespaced === undefined ? [] : [{ ...(task as Record<string, unknown>), taskId: namespaced }]
        })
      )
    )

  /**
   * `logging/setLevel` (to each of `serverIds` that logs) and `tasks/list` (this session's tasks only): one `response`
   * with `server_id: null`, and the servers that failed under `errors`.
   */
  const toServers = (requestId: string, request: JSONRPCRequest, serverIds: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const errors: Array<{ readonly server_id: string; readonly code: string | number; readonly message: string }> = []
      const listed: Array<unknown> = []
      yield* Effect.forEach(serverIds, (serverId) =>
        Effect.gen(function*() {
          const backend = options.backends.get(serverId)
          if (backend === undefined) return
          if (request.method === "tasks/list") return void listed.push(...yield* ownTasks(serverId, backend, request))
          const info = yield* backend.info
          if (info !== undefined && info.capabilities.logging === undefined) return
          const response = yield* backend.request(request, { timeout: options.requestTimeout(serverId) })
          if ("error" in response) errors.push({ server_id: serverId, ...failureOf(response.error) })
        }).pipe(Effect.catch((error) => Effect.sync(() => void errors.push({ server_id: serverId, ...failureOf(error) })))), {
        concurrency: "unbounded",
        discard: true
      })
      const result = request.method === "tasks/list" ? { tasks: listed, errors } : { errors }
      yield* emit({ event: "response", data: { request_id: requestId, server_id: null, response: { jsonrpc: "2.0", id: request.id, result } } })
    })

  /** `tasks/list` of one server named by the client: its answer as the server's own, with this session's tasks only. */
  const tasksOf = (requestId: string, request: JSONRPCRequest, serverId: string, backend: Backend) =>
    ownTasks(serverId, backend, request).pipe(
      Effect.map((listed): JSONRPCResponse => ({ jsonrpc: "2.0", id: request.id, result: { tasks: listed } })),
      Effect.catch((error) =>
        "_tag" in error ? Effect.fail(error) : Effect.succeed<JSONRPCResponse>({ jsonrpc: "2.0", id: request.id, error })
      ),
      Effect.exit,
      Effect.flatMap((exit) => emit(outcome(requestId, serverId, exit)))
    )

  const notifyBackend = (backend: Backend, notification: JSONRPCNotification) =>
    FiberSet.run(requests, backend.notify(notification).pipe(Effect.ignore)).pipe(Effect.asVoid)

  /** A client notification: to its server, to all of them, or handled here (cancellation). */
  const notify = (message: JSONRPCNotification, target: Router.Route): Effect.Effect<void, AmbiguousMethod> => {
    // A cancellation names the client's own request id: only this session can map it to the backend's, so it is
    // never forwarded as it is (namespaced or not), which would cancel whatever else holds that id there.
    const method = target._tag === "Single" ? target.message.method : message.method
    if (method === "notifications/cancelled") {
      const id = message.params?.requestId
      const cancel = typeof id === "string" || typeof id === "number" ? byClientId.get(id) : undefined
      return cancel ?? Effect.void
    }
    if (target._tag === "Single") {
      const backend = options.backends.get(target.serverId)
      return backend === undefined ? Effect.void : notifyBackend(backend, target.message as JSONRPCNotification)
    }
    // With namespacing off the session has one server, and its other notifications are that server's.
    if (options.client.namespacing === "off" && options.backends.size === 1) {
      return Effect.forEach(options.backends.values(), (backend) => notifyBackend(backend, message), { discard: true })
    }
    switch (method) {
      // The client's roots concern every server of the session that is its alone (a shared one gets no client's roots).
      case "notifications/roots/list_changed":
        return Effect.forEach(
          [...options.backends.values()].filter((backend) => backend.exclusive),
          (backend) => notifyBackend(backend, message),
          { discard: true }
        )
      // The gateway made each backend's handshake itself.
      case "notifications/initialized":
        return Effect.void
      default:
        return Effect.fail(new AmbiguousMethod({ method }))
    }
  }

  /** The client's answer to a `request` event, sent back to the backend under its own id. */
  const answer = (response: JSONRPCResponse) =>
    Effect.gen(function*() {
      const key = typeof response.id === "string" ? response.id : undefined
      const request = key === undefined ? undefined : asked.get(key)
      if (key === undefined || request === undefined) return yield* new UnknownResponse({ id: response.id ?? null })
      asked.delete(key)
      yield* request.respond({ ...response, id: request.request.id }).pipe(Effect.ignore)
      return { request_id: null }
    })

  const routingClient: Router.Client = { servers: [...options.backends.keys()], namespacing: options.client.namespacing }

  /** A request by URI that the session cannot route before it has learnt its servers' resources. */
  const isResourceRef = (ref: unknown) => typeof ref === "object" && ref !== null && (ref as { type?: unknown }).type === "ref/resource"

  const needsResources = (message: JSONRPCMessage) =>
    "method" in message && "id" in message && !(learnt.has("resources/list") && learnt.has("resources/templates/list")) &&
    (McpMethods.isUriRouted(message.method) || (message.method === "completion/complete" && isResourceRef(message.params?.["ref"]))) &&
    Router.resolve(message, routingClient, names, resources)._tag === "Failure"

  const submit = (message: JSONRPCMessage, submitOptions?: SubmitOptions) =>
    Effect.gen(function*() {
      // A URI the session has no list of resources for yet (a client may read a resource link from a tool result
      // without listing first): the session learns its servers' resources once, before anything is decided here.
      if (needsResources(message)) yield* learnResources
      // A message that raced a DELETE: the session is gone, and nothing may be started for it any more.
      if (events.isClosed()) return yield* new SessionNotFound({ sessionId: options.id })
      yield* touch
      if (!("method" in message)) return yield* answer(message)
      if (!("id" in message)) {
        const route = Router.resolve(message, routingClient, names, resources)
        if (route._tag === "Failure") return yield* Effect.fail(route.failure)
        yield* notify(message, route.success)
        return { request_id: null }
      }
      if (byClientId.has(message.id)) return yield* new DuplicateRequestId({ id: message.id })
      // Each request in flight will put at least one event in the queue, so more than it can hold would overflow it.
      if (byClientId.size >= options.maxPendingEvents) {
        return yield* new TooManyRequests({ limit: options.maxPendingEvents })
      }
      // The log level the client set travels on each request: a modern-era server has no `logging/setLevel`.
      if (message.method === "logging/setLevel" && typeof message.params?.["level"] === "string") {
        logLevel = message.params["level"]
        serverLevels.clear()
      }
      const requestId = String(++requestCounter)
      submitOptions?.onAccepted?.(requestId)
      // The client's progress token becomes one unique to this session and request: tokens of different
      // sessions sharing a backend can then never collide, and progress reaches only its own session.
      const token = message.params?._meta?.progressToken
      const gatewayToken = typeof token === "string" || typeof token === "number" ? `${options.id}/${requestId}` : undefined
      const meta = {
        ...(gatewayToken === undefined ? {} : { progressToken: gatewayToken }),
        ...(logLevel === undefined ? {} : { [LOG_LEVEL_META_KEY]: logLevel })
      }
      const outbound: JSONRPCRequest = Object.keys(meta).length === 0 ? message : {
        ...message,
        params: { ...message.params, _meta: { ...message.params?._meta, ...meta } }
      }
      /** The ids of the questions an `input_required` round asked the client for this request (see onAnswer). */
      const questionIds: Array<string> = []
      let ended = false
      const forget = () => {
        ended = true
        // Questions of a call that is over (answered, cancelled, its session closed) are no one's to answer now.
        for (const id of questionIds) asked.delete(id)
        byClientId.delete(message.id)
        awaitingClient.delete(message.id)
        // The session was busy until now: its idle time starts when its last request ends.
        lastActivity = clock.currentTimeMillisUnsafe()
        if (gatewayToken !== undefined) progressTokens.delete(gatewayToken)
      }
      /** An answer the gateway gives itself, for no server. */
      const reply = (answer: { readonly result: Record<string, unknown> } | { readonly error: { readonly code: number; readonly message: string } }) =>
        push({ event: "response", data: { request_id: requestId, server_id: null, response: { jsonrpc: "2.0", id: message.id, ...answer } } })
      // Deferred loading: `tools/list` and the gateway's own tools are answered here; an activated tool goes
      // to its server; any other tool is refused with a tool error that says how to activate it.
      let toolRoute: Router.Single | undefined
      if (toolbox !== undefined && (outbound.method === "tools/list" || outbound.method === "tools/call")) {
        const name = outbound.params?.["name"]
        if (outbound.method === "tools/list") {
          reply({ result: GatewayTools.list(toolbox) })
          return { request_id: requestId }
        }
        if (GatewayTools.isGatewayTool(name)) {
          const answer = GatewayTools.call(name, outbound.params?.["arguments"], toolbox)
          reply(answer._tag === "Result" ? { result: answer.result } : { error: answer.error })
          if (answer._tag === "Result" && answer.listChanged) {
            const notification = { jsonrpc: "2.0" as const, method: "notifications/tools/list_changed" }
            push({ event: "notification", data: { server_id: null, notification } })
          }
          return { request_id: requestId }
        }
        const tool = typeof name === "string" && toolbox.activated.has(name) ? toolbox.lookup(name) : undefined
        if (tool === undefined) {
          const known = typeof name === "string" ? toolbox.lookup(name) : undefined
          const status = typeof name === "string" && toolbox.activated.has(name)
            ? "unavailable"
            : known !== undefined && toolbox.servers.has(known.serverId)
            ? "inactive"
            : "unknown"
          reply({ result: GatewayTools.notActivated(String(name), status) })
          return { request_id: requestId }
        }
        toolRoute = { _tag: "Single", serverId: tool.serverId, message: { ...outbound, params: { ...outbound.params, name: tool.name } } }
      } else if (outbound.method === "tools/call" && options.client.namespacing === "on") {
        // A name this session has not learnt from a listing (a shortened one cannot be split): the catalog's.
        const name = outbound.params?.["name"]
        const tool = typeof name === "string" && !names.has(name) ? options.catalog?.lookup(name) : undefined
        if (tool !== undefined && options.backends.has(tool.serverId)) {
          toolRoute = { _tag: "Single", serverId: tool.serverId, message: { ...outbound, params: { ...outbound.params, name: tool.name } } }
        }
      }
      /** Work that answers the request in a fiber of the session's (cancelled with the request or the session). */
      const inBackground = (work: Effect.Effect<void>) =>
        Effect.gen(function*() {
          byClientId.set(message.id, Effect.void)
          const fiber = yield* FiberSet.run(requests, Effect.ensuring(work, Effect.sync(forget)))
          if (byClientId.has(message.id)) byClientId.set(message.id, Fiber.interrupt(fiber))
          return { request_id: requestId }
        })
      // Methods about the session as a whole go to each of its servers, with one merged answer.
      if (options.client.namespacing === "on" && (outbound.method === "logging/setLevel" || outbound.method === "tasks/list")) {
        return yield* inBackground(toServers(requestId, outbound, [...options.backends.keys()]))
      }
      // An unsubscribe goes where the subscription is, whatever the resource lists say now.
      const uri = outbound.params?.["uri"]
      const holder = outbound.method === "resources/unsubscribe" && typeof uri === "string"
        ? routingClient.servers.find((serverId) => subscribed.has(`${serverId} ${uri}`))
        : undefined
      // tasks/get, tasks/result, tasks/cancel name a task of this session's (another's is Forbidden).
      let task = tasks.route(outbound)
      if (task?._tag === "NotOwned") return yield* new Forbidden({ serverId: task.serverId })
      const route: Result.Result<Router.Route, AmbiguousMethod | Forbidden> = toolRoute !== undefined
        ? Result.succeed(toolRoute)
        : task !== undefined
        ? Result.succeed({ _tag: "Single", serverId: task.serverId, message: task.message })
        : holder !== undefined
        ? Result.succeed({ _tag: "Single", serverId: holder, message: outbound })
        : Router.resolve(outbound, routingClient, names, resources)
      if (route._tag === "Failure") return yield* Effect.fail(route.failure)
      let target = route.success
      // A task method named through its server (`<server>__tasks/get`, or any method with namespacing off) is held to
      // the same rule as the plain form: a backend's tasks are every session's on it, so only this session's are
      // reached, by the ids it was given, and only they are listed.
      if (target._tag === "Single" && task === undefined && Tasks.isTaskMethod(target.message.method)) {
        const routed = target.message as JSONRPCRequest
        const backend = options.backends.get(target.serverId)
        if (backend === undefined) return yield* new Forbidden({ serverId: target.serverId })
        if (routed.method === "tasks/list") return yield* inBackground(tasksOf(requestId, routed, target.serverId, backend))
        const own = tasks.route(routed)
        if (own?._tag !== "Owned" || own.serverId !== target.serverId) return yield* new Forbidden({ serverId: target.serverId })
        task = own
        target = { _tag: "Single", serverId: own.serverId, message: own.message }
      }
      // A level set for one server (`<server>__logging/setLevel`) is that server's, in this session.
      if (target._tag === "Single" && message.method !== "logging/setLevel" && target.message.method === "logging/setLevel") {
        const level = target.message.params?.["level"]
        if (typeof level === "string") serverLevels.set(target.serverId, level)
      }
      // A tool addressed by a namespaced method (`<server>__tools/call`) is held to the same rule.
      if (
        toolbox !== undefined && toolRoute === undefined && target._tag === "Single" &&
        target.message.method === "tools/call" && !isActivated(toolbox, target.serverId, target.message.params?.["name"])
      ) {
        reply({ result: GatewayTools.notActivated(`${target.serverId}__${String(target.message.params?.["name"])}`, "inactive") })
        return { request_id: requestId }
      }
      if (gatewayToken !== undefined && token !== undefined) progressTokens.set(gatewayToken, token)
      if (target._tag === "Single") {
        const backend = options.backends.get(target.serverId)
        if (backend === undefined) return yield* new Forbidden({ serverId: target.serverId })
        // Sessions share the backend's subscription to a resource: only the first subscribe and the last
        // unsubscribe reach it; the others are answered here.
        const key = `${target.serverId} ${String(uri)}`
        if (target.message.method === "resources/subscribe" && typeof uri === "string") {
          subscribed.add(key)
          if (!backend.resourceHolders.acquire(uri, options.id)) {
            forget()
            push(localAnswer(requestId, target.serverId, message.id))
            return { request_id: requestId }
          }
        } else if (target.message.method === "resources/unsubscribe" && typeof uri === "string") {
          subscribed.delete(key)
          if (!backend.resourceHolders.release(uri, options.id)) {
            forget()
            push(localAnswer(requestId, target.serverId, message.id))
            return { request_id: requestId }
          }
        }
        const creatingTask = tasks.isTaskRequest(target.message as JSONRPCRequest)
        if (creatingTask) tasks.creatingStarted()
        // No fiber per call: the backend calls back when the answer (or the reason there is none) arrives.
        byClientId.set(message.id, Effect.void)
        const startOptions = { timeout: options.requestTimeout(target.serverId), owner: options.id }
        const onAnswer = (exit: Exit.Exit<JSONRPCResponse, BackendError>): void => {
            // A modern-era backend that needs the client's input first answers `input_required`: its questions
            // become `request` events, and the call goes again with the answers (and its state untouched).
            if (
              options.inputRequired !== "forward" && Exit.isSuccess(exit) && "result" in exit.value &&
              exit.value.result["resultType"] === "input_required"
            ) {
              const round = InputRounds.open(exit.value.result, (inputResponses, requestState) => {
                // A call cancelled, or a session closed, while its client had the questions is not sent again.
                if (ended || events.isClosed()) return Effect.void
                awaitingClient.delete(message.id)
                const params = { ...target.message.params, inputResponses, ...(requestState === undefined ? {} : { requestState }) }
                // The retry is the call now: cancelling the client's request (or closing the session) stops it.
                return backend.start({ ...target.message as JSONRPCRequest, params }, startOptions, onAnswer).pipe(
                  Effect.map((cancel) => {
                    if (byClientId.has(message.id)) byClientId.set(message.id, Effect.andThen(cancel, Effect.sync(forget)))
                  })
                )
              })
              if (round.questions.length > 0) {
                awaitingClient.add(message.id)
                for (const { key, method, params } of round.questions) {
                  const id = `${target.serverId}:${++askedCounter}`
                  const request: JSONRPCRequest = { jsonrpc: "2.0", id, method, params }
                  asked.set(id, { serverId: target.serverId, request, respond: (response) => round.answer(key, response) })
                  questionIds.push(id)
                  push({ event: "request", data: { server_id: target.serverId, request } })
                }
                return
              }
            }
            forget()
            // A subscription the backend refused is not held: the next subscriber must ask it again.
            if (
              target.message.method === "resources/subscribe" && typeof uri === "string" &&
              (Exit.isFailure(exit) || "error" in exit.value)
            ) {
              subscribed.delete(key)
              backend.resourceHolders.release(uri, options.id)
            }
            if (creatingTask) {
              const created = tasks.created(target.serverId, Exit.isSuccess(exit) ? exit.value : undefined)
              push(outcome(requestId, target.serverId, created.response === undefined ? exit : Exit.succeed(created.response)))
              for (const status of created.statuses) push({ event: "notification", data: { server_id: target.serverId, notification: status } })
              return
            }
            push(outcome(requestId, target.serverId, task?._tag === "Owned" && Exit.isSuccess(exit)
              ? Exit.succeed(tasks.answer(exit.value, task.namespaced))
              : exit))
          }
        const cancel = yield* backend.start(target.message as JSONRPCRequest, startOptions, onAnswer)
        if (byClientId.has(message.id)) byClientId.set(message.id, Effect.andThen(cancel, Effect.sync(forget)))
      } else if (target._tag === "Broadcast") {
        // Registered first: the fork starts at once, and may even finish (and forget) before `run` returns.
        byClientId.set(message.id, Effect.void)
        const fiber = yield* FiberSet.run(
          requests,
          Effect.ensuring(broadcast(requestId, target.method, target.serverIds, outbound), Effect.sync(forget))
        )
        if (byClientId.has(message.id)) byClientId.set(message.id, Fiber.interrupt(fiber))
      }
      return { request_id: requestId }
    })

  // A backend still starting (the gateway just started, or it is coming back) gets a moment to settle, so
  // that a new session reports what it can use rather than a transient state.
  const summaries = (healthOf: (id: string, backend: Backend) => Effect.Effect<Health>) =>
    Effect.forEach([...options.backends], ([id, backend]) =>
    Effect.gen(function*() {
      const health = yield* healthOf(id, backend)
      const info = yield* backend.info
      if (info !== undefined) {
        return {
          id,
          status: "ready",
          capabilities: info.capabilities,
          ...(info.instructions === undefined ? {} : { instructions: info.instructions })
        } satisfies ServerSummary
      }
      return { id, status: "failed", error: health.lastError ?? health.state } satisfies ServerSummary
    }), { concurrency: "unbounded" })
  const servers = summaries((id, backend) => backend.settled(options.requestTimeout(id)))

  return {
    id: options.id,
    clientId: options.client.id,
    servers,
    serversNow: summaries((_, backend) => backend.health),
    stream: events.stream,
    frames: events.frames,
    submit,
    close: (reason) => Effect.sync(() => closeNow(reason)),
    isClosed: Effect.sync(events.isClosed),
    closed: events.closed
  } satisfies Session as Session
})
