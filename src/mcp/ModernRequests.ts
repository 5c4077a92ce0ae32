/**
 * `/mcp` for modern-era clients (2026-07-28): stateless POSTs, each authorized on its own. There is no MCP
 * session, so each client's requests run through one gateway session of its own (created on first use, made
 * again if it ends): the same routing, merging and limits as every other session. A request's JSON-RPC id and
 * progress token are made unique before it enters that session and restored on the way out, so requests of
 * different HTTP exchanges can never be mistaken for each other.
 */
import { randomBytes } from "node:crypto"
import {
  CLIENT_CAPABILITIES_META_KEY,
  type JSONRPCNotification,
  type JSONRPCRequest,
  type JSONRPCResponse,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  type RequestId
} from "@modelcontextprotocol/server"
import { Context, Duration, Effect, FiberMap, FiberSet, Layer, Option, Queue, type Scope, Semaphore, Sink, Stream } from "effect"
import { Sse } from "effect/encoding"
import { HttpServerResponse } from "effect/http"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import type { Client } from "../http/Auth.ts"
import * as Namespacing from "../protocol/Namespacing.ts"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as ParamHeaders from "../protocol/ParamHeaders.ts"
import type { ServerSummary, Session } from "../session/Session.ts"
import type { SessionEvent } from "../session/SessionEvent.ts"
import { SessionManager } from "../session/SessionManager.ts"
import * as JsonRpcErrors from "./JsonRpcErrors.ts"
import * as ListenFilter from "./ListenFilter.ts"
import { serverNamed } from "./RequestServer.ts"
import * as ServerIdentity from "./ServerIdentity.ts"

export const ModernVersion = "2026-07-28"

const encoder = new TextEncoder()
const sseMessage = (message: unknown) =>
  encoder.encode(Sse.encoder.write({ _tag: "Event", event: "message", id: undefined, data: JSON.stringify(message) }))
const sseHeaders = { "cache-control": "no-cache, no-store, no-transform", "x-accel-buffering": "no" }
/** A listen stream is a small session of its own: a bounded queue (past it, notifications are dropped). */
const listenBuffer = 256
const keepAlive = "15 seconds"
const keepAliveComment = encoder.encode(": keep-alive\n\n")
/** An SSE body with a keep-alive comment every `keepAlive` while it is quiet; they end when the body ends. */
const withKeepAlives = <E, R>(body: Stream.Stream<Uint8Array, E, R>) =>
  Stream.merge(body, Stream.tick(keepAlive).pipe(Stream.drop(1), Stream.as(keepAliveComment)), { haltStrategy: "left" })

/** A call's answer to one exchange, and its HTTP status when the spec gives it one (a backend's refusal kept). */
interface Answered {
  readonly response: JSONRPCResponse
  readonly status?: number
}

/**
 * What a streamed call sends, in order: its progress and log messages, then its answer; `Quiet` marks that nothing
 * came for `quietCommit`.
 */
type Streamed =
  | { readonly _tag: "Note"; readonly notification: unknown }
  | { readonly _tag: "Answer"; readonly answered: Answered }
  | { readonly _tag: "Quiet" }

/**
 * How long a streamed call waits for its first message before it commits to a stream: an answer by then goes out as
 * JSON under its own status, a later one on an open stream, so a proxy waiting for the response headers is not
 * left waiting for a long call (many cut a connection with no first byte after a while).
 */
const quietCommit = "5 seconds"
const streamOpening = encoder.encode(": waiting for the answer\n\n")

/** What a call in flight produces, in order: questions its backend asks the client, then its answer. */
type Outcome =
  | { readonly _tag: "Answer"; readonly response: JSONRPCResponse; readonly status?: number }
  | { readonly _tag: "Ask"; readonly request: JSONRPCRequest }

/** A call in flight; it outlives one HTTP exchange while the client answers its backend's questions. */
interface Waiting {
  readonly serverId: string | undefined
  readonly outcomes: Queue.Queue<Outcome>
  /** where its progress (and log messages) go: the current exchange's stream */
  progress: ((notification: unknown) => void) | undefined
  /** whether the client asked for log messages (a log level in `_meta`) */
  readonly logs: boolean
  /** what the client said it can answer (its `_meta` client capabilities) */
  readonly capabilities: Readonly<Record<string, unknown>> | undefined
  /** the backend's questions the client was given (as `input_required`) and has not answered yet */
  readonly questions: Set<string>
  /** whether the client was given `input_required` and the call waits for its retry (a retry is taken once) */
  awaitingRetry: boolean
}


/** The client capability a backend's question needs. */
const neededCapability: Partial<Record<string, string>> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots"
}

/** One client's gateway session for its modern requests. */
interface Hub {
  readonly client: Client
  readonly session: Session
  /** by the unique id the request carries inside the session */
  readonly waiting: Map<string, Waiting>
  /** the session's `request_id`s back to the unique ids (an error event names only the former) */
  readonly requestIds: Map<string, string>
  /** open `subscriptions/listen` streams: each gets what its filter asks for */
  readonly listeners: Set<{
    readonly filter: ListenFilter.Filter
    readonly send: (notification: JSONRPCNotification) => void
    readonly end: () => void
  }>
  /** resource subscriptions the hub holds for its listen streams, with how many streams hold each */
  readonly subscriptions: Map<string, number>
  /**
   * The client's tools that mirror arguments into `Mcp-Param-*` headers, by the names the client sees, from the
   * hub's own tool list (undefined until listed, and again once a tool list changed): what the front checks.
   */
  paramTools: ReadonlyMap<string, ParamHeaders.Scan> | undefined
}

/**
 * A result as the 2026-07-28 revision wants it: `resultType` present (a legacy backend's, or a merged, result
 * has none: it is complete) and the gateway named in `_meta` on every response.
 */
/** The methods whose 2026-07-28 results must carry `ttlMs` and `cacheScope`. */
const cacheable = new Set(["tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"])

const asModern = (method: string, response: JSONRPCResponse): JSONRPCResponse => {
  if (!("result" in response)) return response
  const result = response.result as Record<string, unknown>
  // A cacheable result says how long it may be cached, and by whom: the gateway's answers are per client, and
  // not to be cached unless the backend said otherwise.
  const bare = Namespacing.split(method)?.name ?? method
  const cache = cacheable.has(bare)
    ? { ttlMs: result["ttlMs"] ?? 0, cacheScope: result["cacheScope"] ?? "private" }
    : {}
  return {
    ...response,
    result: {
      ...result,
      resultType: result["resultType"] ?? "complete",
      ...cache,
      _meta: { ...(result["_meta"] as Record<string, unknown> | undefined), "io.modelcontextprotocol/serverInfo": ServerIdentity.serverInfo }
    }
  } as JSONRPCResponse
}

/** Methods of the 2025 era that a 2026-07-28 server answers with 404 (-32601). */
const removedMethods = new Set(["ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"])

/**
 * The HTTP status of an answer that came with none: a JSON-RPC error is carried by a 200 unless the revision gives
 * it a status of its own (an unknown method 404; a missing client capability 400), whoever raised it (the gateway's
 * routing, or a backend that has no HTTP status to give: stdio). An HTTP backend's refusal keeps the status it had.
 */
const statusOf = (response: JSONRPCResponse): number => {
  if (!("error" in response)) return 200
  if (response.error.code === JsonRpcErrors.MethodNotFound) return 404
  if (response.error.code === JsonRpcErrors.MissingRequiredClientCapability) return 400
  return 200
}

const isNameHeaderMethod = (method: string) =>
  method === "tools/call" || method === "prompts/get" || method === "resources/read"

/**
 * The front headers a modern request must carry beyond what the SDK's classifier checks: `Mcp-Method` equal to
 * the body's method, and `Mcp-Name` equal to its name (or URI) where the method has one.
 */
const headerMismatch = (request: JSONRPCRequest, headers: Readonly<Record<string, string | undefined>>) => {
  const method = headers["mcp-method"]
  if (method === undefined) return "missing Mcp-Method header"
  if (method !== request.method) return `Mcp-Method header "${method}" does not match the body's method`
  if (isNameHeaderMethod(request.method)) {
    const name = request.params?.[request.method === "resources/read" ? "uri" : "name"]
    const header = headers["mcp-name"]
    if (header === undefined) return "missing Mcp-Name header"
    // A name that is not plain ASCII travels Base64-encoded (`=?base64?...?=`), as the SDK's clients send it.
    const decoded = ParamHeaders.decode(header.replace(/^[ \t]+|[ \t]+$/g, ""))
    if (decoded === undefined) return `Mcp-Name header "${header}" is not valid Base64 of UTF-8`
    if (typeof name === "string" && decoded !== name) return `Mcp-Name header "${header}" does not match the body`
  }
  return undefined
}

export class ModernRequests extends Context.Service<ModernRequests, {
  /** One request; the scope is the HTTP request's: a streamed answer lives as long as it (closing it cancels the call). */
  readonly handle: (
    client: Client,
    request: JSONRPCRequest | { readonly method: string },
    headers: Readonly<Record<string, string | undefined>>
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse, never, Scope.Scope>
}>()("mcp-gateway/mcp/ModernRequests") {
  static readonly layer = Layer.effect(
    ModernRequests,
    Effect.gen(function*() {
      const manager = yield* SessionManager
      const config = yield* GatewayConfig
      const hubs = new Map<string, Hub>()
      /**
       * The ids of this gateway's own calls, which are also the `requestState` of their `input_required` retries. Its
       * own random part tells them from another gateway's (a modern backend may be one: its states pass through).
       */
      const callPrefix = `gw-call-${randomBytes(6).toString("base64url")}-`
      /** One per client: making a hub waits for its servers to settle, and no other client waits behind that. */
      const locks = new Map<string, Semaphore.Semaphore>()
      const lockOf = (clientId: string) => {
        let lock = locks.get(clientId)
        if (lock === undefined) locks.set(clientId, lock = Semaphore.makeUnsafe(1))
        return lock
      }
      const readers = yield* FiberSet.make()
      /** Per call answered `input_required`: what ends it if the client never sends the retry. */
      const abandonments = yield* FiberMap.make<string>()

      /** How long a server is given to answer: as long as a client is given to answer the server's questions. */
      const requestTimeout = (serverId: string | undefined) => {
        const server = serverId !== undefined && Object.hasOwn(config.mcpServers, serverId) ? config.mcpServers[serverId] : undefined
        return Duration.seconds(server?.requestTimeoutSeconds ?? config.streaming.requestTimeoutSeconds)
      }

      const deliver = (hub: Hub, event: SessionEvent) =>
        Effect.suspend((): Effect.Effect<unknown> => {
          if (event.event === "response") {
            const id = String(event.data.response.id)
            hub.requestIds.delete(event.data.request_id)
            const response = event.data.server_id === null ? ServerIdentity.standardResult(event.data.response) : event.data.response
            const waiting = hub.waiting.get(id)
            if (waiting !== undefined) Queue.offerUnsafe(waiting.outcomes, { _tag: "Answer", response })
          } else if (event.event === "error" && event.data.request_id !== undefined) {
            const id = hub.requestIds.get(event.data.request_id)
            hub.requestIds.delete(event.data.request_id)
            const waiting = id === undefined ? undefined : hub.waiting.get(id)
            if (id === undefined || waiting === undefined) return Effect.void
            const { code, message } = event.data.error
            // A backend's 400 or 404 with a JSON-RPC error stays what it was: the client gets that status and that
            // error. Without one (a misconfigured URL's HTML 404), it is the gateway's failure, not the client's.
            const refusal = JsonRpcErrors.refusalOf(event.data.error)
            const response = refusal?.error !== undefined
              ? JsonRpcErrors.errorMessage(id, refusal.error.code, refusal.error.message, refusal.error.data)
              : JsonRpcErrors.errorMessage(id, JsonRpcErrors.InternalError, `${code}: ${message}`)
            Queue.offerUnsafe(waiting.outcomes, {
              _tag: "Answer",
              response,
              ...(refusal?.error === undefined ? {} : { status: refusal.status })
            })
          } else if (event.event === "notification" && event.data.notification.method === "notifications/progress") {
            const token = event.data.notification.params?.["progressToken"]
            const waiting = typeof token === "string" ? hub.waiting.get(token) : undefined
            waiting?.progress?.(event.data.notification)
          } else if (event.event === "notification" && event.data.notification.method === "notifications/message") {
            // A server's log message goes to the streamed calls to that server that asked for logs.
            for (const waiting of hub.waiting.values()) {
              if (waiting.logs && (waiting.serverId === undefined || waiting.serverId === event.data.server_id)) {
                waiting.progress?.(event.data.notification)
              }
            }
          } else if (event.event === "request") {
            // A legacy backend asks the client something while serving one of its calls: the call answers
            // `input_required`, and the client's retry carries the answer back (see `call`).
            // The asking call: the one whose progress token the question echoes, else the only call in flight to
            // that server. Two candidates are ambiguous: the backend is refused rather than the wrong call asked.
            // Only a call whose client declared it can answer this kind of question is asked it.
            const needed = neededCapability[event.data.request.method]
            const canAnswer = (waiting: Waiting) => needed === undefined || waiting.capabilities?.[needed] !== undefined
            // A progress token the backend echoes is the session's (`<session>/<request_id>`), not the call's own.
            const token = event.data.request.params?._meta?.progressToken
            const ours = `${hub.session.id}/`
            const requestId = typeof token === "string" && token.startsWith(ours) ? token.slice(ours.length) : undefined
            const unique = requestId === undefined ? undefined : hub.requestIds.get(requestId)
            const found = unique === undefined ? undefined : hub.waiting.get(unique)
            const echoed = found !== undefined && (found.serverId === undefined || found.serverId === event.data.server_id) ? found : undefined
            const candidates = [...hub.waiting.values()].filter((waiting) => waiting.serverId === event.data.server_id && canAnswer(waiting))
            const asker = echoed !== undefined && canAnswer(echoed) ? echoed : candidates.length === 1 ? candidates[0] : undefined
            if (asker !== undefined) Queue.offerUnsafe(asker.outcomes, { _tag: "Ask", request: event.data.request })
            else {
              const refusal = "no request of this client is waiting for the answer"
              return Effect.ignore(hub.session.submit(JsonRpcErrors.errorMessage(event.data.request.id, JsonRpcErrors.InternalError, refusal)))
            }
          } else if (event.event === "notification") {
            // The client's tools changed: their header declarations are listed again before the next call.
            if (event.data.notification.method === "notifications/tools/list_changed") hub.paramTools = undefined
            // List changes and resource updates (backends', and the gateway's own on tool activation) go to every
            // listen stream that asked for them.
            for (const listener of hub.listeners) {
              if (ListenFilter.wants(listener.filter, event.data.notification)) listener.send(event.data.notification)
            }
          } else if (event.event === "closed") {
            // The hub is gone (overflow, shutdown): every call still waiting is answered, every listen stream ends,
            // and the client's next request makes a new hub.
            if (hubs.get(hub.client.id) === hub) hubs.delete(hub.client.id)
            for (const [id, waiting] of hub.waiting) {
              const message = `the gateway session serving this client's requests closed (${event.data.reason}); send the request again`
              Queue.offerUnsafe(waiting.outcomes, { _tag: "Answer", response: JsonRpcErrors.errorMessage(id, JsonRpcErrors.InternalError, message) })
            }
            for (const listener of hub.listeners) listener.end()
            hub.listeners.clear()
          }
          return Effect.void
        })

      /** The client's hub, made (once, even under concurrent first requests) when missing or closed. */
      const hubOf = (client: Client) =>
        Effect.suspend(() => {
          // The common case takes no lock: only making a hub (which waits for the servers to settle) is serialised.
          const existing = hubs.get(client.id)
          return existing !== undefined ? Effect.succeed(existing) : makeHub(client)
        })

      const makeHub = (client: Client) =>
        lockOf(client.id).withPermits(1)(Effect.gen(function*() {
          const existing = hubs.get(client.id)
          if (existing !== undefined && !(yield* existing.session.isClosed)) return existing
          // Every client capability: a backend's question reaches the client as `input_required` (the client's
          // retry answers it; one that cannot answer declines, which the backend hears as its answer).
          const { session } = yield* manager.create(client, undefined, undefined, { inputRequired: "forward", edge: "mcp" })
          const hub: Hub = {
            client,
            session,
            waiting: new Map(),
            requestIds: new Map(),
            listeners: new Set(),
            subscriptions: new Map(),
            paramTools: undefined
          }
          hubs.set(client.id, hub)
          // Reads the hub's events until it closes (its stream ends after `closed`).
          yield* FiberSet.run(readers, session.stream(undefined).pipe(Stream.runForEach((event) => deliver(hub, event))))
          return hub
        }))

      /** `servers`: as they are now (the hub lives long: what its servers were when it was made says little). */
      const discover = (client: Client, id: RequestId, servers: ReadonlyArray<ServerSummary>) => ({
        jsonrpc: "2.0" as const,
        id,
        result: {
          resultType: "complete",
          ttlMs: 0,
          cacheScope: "private",
          supportedVersions: [ModernVersion],
          capabilities: ServerIdentity.capabilities(servers, client),
          instructions: ServerIdentity.instructions(servers, client),
          _meta: { "io.modelcontextprotocol/serverInfo": ServerIdentity.serverInfo }
        }
      })

      /**
       * One request through the hub, answered by its response or, when its backend asks the client something
       * first, by `input_required` whose `requestState` names the call: the client's retry (with
       * `inputResponses`) answers the backend and waits on for the same call. `progress` gets its progress
       * notifications under the client's own token.
       */
      const call = (
        hub: Hub,
        request: JSONRPCRequest,
        progress: ((notification: unknown) => void) | undefined
      ): Effect.Effect<Answered> =>
        Effect.gen(function*() {
          const token = request.params?._meta?.progressToken
          const restoreToken = progress === undefined ? undefined : (notification: unknown) => {
            const n = notification as { readonly method: string; readonly params: Record<string, unknown> }
            progress(n.method === "notifications/progress" ? { ...n, params: { ...n.params, progressToken: token } } : n)
          }
          const state = request.params?.["requestState"]
          if (typeof state === "string" && state.startsWith(callPrefix)) {
            // The gateway's own state: a retry of a call that asked its client something, taken once, with answers
            // to the questions it was asked only.
            const resumed = hub.waiting.get(state)
            if (resumed === undefined || !resumed.awaitingRetry) {
              const message = "Invalid params: requestState names no call waiting for this retry (it ended, or was retried already)"
              return { response: JsonRpcErrors.errorMessage(request.id, JsonRpcErrors.InvalidParams, message) }
            }
            resumed.awaitingRetry = false
            resumed.progress = restoreToken
            const answers = request.params?.["inputResponses"]
            const answering = Effect.gen(function*() {
              yield* FiberMap.remove(abandonments, state)
              for (const [id, result] of Object.entries(typeof answers === "object" && answers !== null ? answers : {})) {
                if (!resumed.questions.delete(id)) continue
                yield* Effect.ignore(hub.session.submit({ jsonrpc: "2.0", id, result: result as Record<string, unknown> }))
              }
            })
            // A client that leaves while its answers go to the backend leaves the call as `next` would: cancelled.
            yield* answering.pipe(Effect.onInterrupt(() => forgetCall(hub, state)))
            return yield* next(hub, state, resumed, request)
          }
          // Unguessable: a retry naming it resumes the call (clients sharing a token share a hub).
          const unique = `${callPrefix}${randomBytes(16).toString("base64url")}`
          const waiting: Waiting = {
            serverId: serverNamed(request, hub.client),
            outcomes: yield* Queue.unbounded<Outcome>(),
            progress: restoreToken,
            logs: request.params?._meta?.[LOG_LEVEL_META_KEY] !== undefined,
            capabilities: request.params?._meta?.[CLIENT_CAPABILITIES_META_KEY] as Readonly<Record<string, unknown>> | undefined,
            questions: new Set(),
            awaitingRetry: false
          }
          hub.waiting.set(unique, waiting)
          const params = token === undefined
            ? request.params
            : { ...request.params, _meta: { ...request.params?._meta, progressToken: unique } }
          // Mapped as soon as the session names it: an error event for it can come before submit returns.
          let accepted: string | undefined
          const onAccepted = (requestId: string) => void hub.requestIds.set(accepted = requestId, unique)
          const submit = hub.session.submit({ ...request, id: unique, ...(params === undefined ? {} : { params }) }, { onAccepted })
          // (A URI the client never listed is learnt by the session itself before it routes it, which can take a while:
          // a client that leaves meanwhile leaves nothing behind, and its call is cancelled if it was accepted.)
          const submitted = yield* Effect.result(submit).pipe(
            Effect.onInterrupt(() =>
              Effect.suspend(() => {
                hub.waiting.delete(unique)
                if (accepted === undefined) return Effect.void
                hub.requestIds.delete(accepted)
                return Effect.ignore(hub.session.submit({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: unique } }))
              })
            )
          )
          if (submitted._tag === "Failure") {
            if (accepted !== undefined) hub.requestIds.delete(accepted)
            hub.waiting.delete(unique)
            return { response: JsonRpcErrors.submitRefusal("modern", request, submitted.failure) }
          }
          return yield* next(hub, unique, waiting, request)
        })

      /** A call its client left: forgotten here, and cancelled at its backend. */
      const forgetCall = (hub: Hub, unique: string) =>
        Effect.andThen(
          Effect.sync(() => {
            hub.waiting.delete(unique)
            for (const [requestId, id] of hub.requestIds) if (id === unique) hub.requestIds.delete(requestId)
          }),
          Effect.ignore(hub.session.submit({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: unique } }))
        )

      /** The call's next outcome, as the answer to this exchange. */
      const next = (hub: Hub, unique: string, waiting: Waiting, request: JSONRPCRequest): Effect.Effect<Answered> =>
        Queue.take(waiting.outcomes).pipe(
          // The client went away (its response stream closed): the backend stops working on the call.
          Effect.onInterrupt(() => forgetCall(hub, unique)),
          Effect.flatMap((outcome) => {
            if (outcome._tag === "Ask") {
              const { id, method, params } = outcome.request
              waiting.questions.add(String(id))
              waiting.awaitingRetry = true
              const result = { resultType: "input_required", inputRequests: { [String(id)]: { method, params } }, requestState: unique }
              const response = { jsonrpc: "2.0", id: request.id, result } as JSONRPCResponse
              return FiberMap.run(abandonments, unique, abandon(hub, unique, waiting)).pipe(Effect.as({ response }))
            }
            hub.waiting.delete(unique)
            const response = asModern(request.method, { ...outcome.response, id: request.id } as JSONRPCResponse)
            return Effect.succeed(outcome.status === undefined ? { response } : { response, status: outcome.status })
          })
        )

      /**
       * A client that got `input_required` and never sent its retry: once its server's request timeout has passed,
       * the backend's open questions are answered with an error and the call is cancelled, so neither the backend
       * nor the hub waits for it for ever.
       */
      const abandon = (hub: Hub, unique: string, waiting: Waiting) =>
        Effect.sleep(requestTimeout(waiting.serverId)).pipe(
          Effect.andThen(Effect.suspend(() => {
            if (hub.waiting.get(unique) !== waiting) return Effect.void
            hub.waiting.delete(unique)
            for (const [requestId, id] of hub.requestIds) if (id === unique) hub.requestIds.delete(requestId)
            const refusal = "the client never answered: its input_required retry did not come in time"
            const questions = [...waiting.questions].map((id) =>
              Effect.ignore(hub.session.submit(JsonRpcErrors.errorMessage(id, JsonRpcErrors.InternalError, refusal)))
            )
            waiting.questions.clear()
            const cancel = hub.session.submit({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: unique } })
            return Effect.andThen(Effect.all(questions, { discard: true }), Effect.ignore(cancel))
          }))
        )

      /** A request the hub makes for itself (its id is its own, never a client's). */
      const internal = (hub: Hub, method: string, params: Record<string, unknown>) =>
        call(hub, { jsonrpc: "2.0", id: "internal", method, params }, undefined)

      /**
       * The client's tools with `x-mcp-header` declarations, by the names it sees: the hub's own tool list (every
       * page), listed once and again after a list change.
       */
      const paramToolsOf = (hub: Hub) =>
        Effect.gen(function*() {
          if (hub.paramTools !== undefined) return hub.paramTools
          const tools = new Map<string, ParamHeaders.Scan>()
          let cursor: unknown = undefined
          let pages = 0
          do {
            const { response } = yield* internal(hub, "tools/list", typeof cursor === "string" ? { cursor } : {})
            // A listing that failed is not kept: the next call lists again.
            if (!("result" in response)) return tools
            for (const [name, scan] of ParamHeaders.ofTools(response.result["tools"])) tools.set(name, scan)
            cursor = response.result["nextCursor"]
          } while (typeof cursor === "string" && ++pages < McpMethods.maxListPages)
          hub.paramTools = tools
          return tools
        })

      /** The hub subscribes to `uri` for the first listen stream that asks for it, and unsubscribes after the last. */
      const holdResource = (hub: Hub, uri: string) =>
        Effect.gen(function*() {
          const held = hub.subscriptions.get(uri) ?? 0
          hub.subscriptions.set(uri, held + 1)
          if (held === 0) yield* internal(hub, "resources/subscribe", { uri })
        })
      const releaseResource = (hub: Hub, uri: string) =>
        Effect.gen(function*() {
          const held = (hub.subscriptions.get(uri) ?? 1) - 1
          if (held > 0) return void hub.subscriptions.set(uri, held)
          hub.subscriptions.delete(uri)
          yield* internal(hub, "resources/unsubscribe", { uri })
        })

      /**
       * A listen stream: acknowledged first, then the notifications its filter asks for, each stamped with its
       * subscription id, with a keep-alive comment while it is quiet. Closing it releases what it held.
       */
      const listen = (hub: Hub, request: JSONRPCRequest, servers: ReadonlyArray<ServerSummary>) => {
        // What the stream will carry: the list changes some server of the client can report (and the resources
        // asked for, whose updates the backends are subscribed to).
        const filter = ListenFilter.honoured(ListenFilter.filterOf(request.params), ServerIdentity.capabilities(servers, hub.client))
        const notifications = Stream.callback<JSONRPCNotification>((queue) =>
          Effect.acquireRelease(
            Effect.gen(function*() {
              const listener = {
                filter,
                send: (n: JSONRPCNotification) => void Queue.offerUnsafe(queue, ListenFilter.stamp(n, request.id)),
                end: () => void Queue.endUnsafe(queue)
              }
              hub.listeners.add(listener)
              for (const uri of filter.resourceSubscriptions ?? []) yield* holdResource(hub, uri)
              return listener
            }),
            (listener) =>
              Effect.andThen(
                Effect.sync(() => void hub.listeners.delete(listener)),
                Effect.forEach(filter.resourceSubscriptions ?? [], (uri) => releaseResource(hub, uri), { discard: true })
              )
          ), { bufferSize: listenBuffer, strategy: "dropping" })
        const body = Stream.succeed(ListenFilter.acknowledged(filter, request.id)).pipe(
          Stream.concat(notifications),
          Stream.map(sseMessage),
          // Ends with its notifications (the hub closed).
          withKeepAlives
        )
        return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: sseHeaders })
      }

      const handle = Effect.fnUntraced(function*(
        client: Client,
        message: JSONRPCRequest | { readonly method: string },
        headers: Readonly<Record<string, string | undefined>>
      ) {
        // Notifications carry nothing a stateless gateway must act on (a cancellation is a closed stream).
        if (!("id" in message)) return HttpServerResponse.empty({ status: 202 })
        const request = message
        const mismatch = headerMismatch(request, headers)
        if (mismatch !== undefined) return JsonRpcErrors.errorResponse(400, JsonRpcErrors.HeaderMismatch, mismatch, { id: request.id })

        const version = request.params?._meta?.[PROTOCOL_VERSION_META_KEY]
        if (version !== ModernVersion) {
          return HttpServerResponse.jsonUnsafe({
            jsonrpc: "2.0",
            id: request.id,
            error: {
              code: JsonRpcErrors.UnsupportedProtocolVersion,
              message: `Unsupported protocol version: ${String(version)}`,
              data: { supported: [ModernVersion], requested: version }
            }
          }, { status: 400 })
        }
        // The 2025 era's session methods do not exist in this one.
        if (removedMethods.has(request.method)) {
          return JsonRpcErrors.errorResponse(404, JsonRpcErrors.MethodNotFound, `Method not found: ${request.method}`, { id: request.id })
        }
        const hub = yield* hubOf(client).pipe(Effect.result)
        if (hub._tag === "Failure") {
          const status = hub.failure._tag === "TooManySessions" ? 429 : 403
          return JsonRpcErrors.errorResponse(status, JsonRpcErrors.ServerError, hub.failure.message, { id: request.id })
        }
        if (request.method === "server/discover") {
          return HttpServerResponse.jsonUnsafe(discover(client, request.id, yield* hub.success.session.serversNow))
        }
        if (request.method === "subscriptions/listen") return listen(hub.success, request, yield* hub.success.session.serversNow)

        // SEP-2243: the arguments a tool mirrors into `Mcp-Param-*` headers must match them, as for `Mcp-Name`. The
        // gateway itself sends its backends the headers their own schemas ask for, from the body.
        if (request.method === "tools/call") {
          const declared = (yield* paramToolsOf(hub.success)).get(String(request.params?.["name"]))
          const wrong = declared === undefined
            ? undefined
            : ParamHeaders.mismatch(declared.declarations, request.params?.["arguments"], (name) => headers[name])
          if (wrong !== undefined) {
            const message = `Bad Request: the request headers and body disagree: ${wrong}`
            return JsonRpcErrors.errorResponse(400, JsonRpcErrors.HeaderMismatch, message, { id: request.id })
          }
        }

        const answer = ({ response, status }: Answered) =>
          HttpServerResponse.jsonUnsafe(response, { status: status ?? statusOf(response) })
        // A call that may send something before its answer (progress, log messages) is answered as a stream.
        const streamed = request.params?._meta?.progressToken !== undefined || request.params?._meta?.[LOG_LEVEL_META_KEY] !== undefined
        if (!streamed) return answer(yield* call(hub.success, request, undefined))

        // Progress and log messages as they come, then the answer. The stream's scope is the request's: the call is
        // cancelled when the client closes its stream.
        // Bounded: past `maxPendingEvents` waiting for a client that is not reading, progress and log messages are
        // dropped (as a listen stream drops notifications), and the answer waits for room, never dropped.
        const messages = Stream.callback<Streamed>((queue) =>
          call(hub.success, request, (notification) => void Queue.offerUnsafe(queue, { _tag: "Note", notification })).pipe(
            Effect.flatMap((answered) => Queue.offer(queue, { _tag: "Answer", answered })),
            Effect.andThen(Queue.end(queue))
          ), { bufferSize: config.streaming.maxPendingEvents, strategy: "suspend" })
        const quiet: Stream.Stream<Streamed> = Stream.fromEffect(Effect.as(Effect.sleep(quietCommit), { _tag: "Quiet" } as const))
        const [first, rest] = yield* Stream.peel(Stream.merge(messages, quiet, { haltStrategy: "left" }), Sink.head<Streamed>())
        // An answer that comes first (a backend's refusal among them) is plain JSON, under the status it deserves:
        // a stream is committed to 200.
        if (Option.isSome(first) && first.value._tag === "Answer") return answer(first.value.answered)
        const body = Stream.fromIterable(Option.toArray(first)).pipe(
          Stream.concat(rest),
          Stream.map((piece) =>
            piece._tag === "Quiet" ? streamOpening : sseMessage(piece._tag === "Note" ? piece.notification : piece.answered.response)
          ),
          // A long quiet call keeps its connection alive; the keep-alives end with the call.
          withKeepAlives
        )
        return HttpServerResponse.stream(body, { contentType: "text/event-stream", headers: sseHeaders })
      })

      return ModernRequests.of({ handle })
    })
  )
}
