import { randomBytes } from "node:crypto"
import { Context, Deferred, Duration, Effect, Exit, Layer, Scope } from "effect"
import type { Backend } from "../backend/Backend.ts"
import { BackendPool } from "../backend/BackendPool.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import { Forbidden } from "../routing/RoutingErrors.ts"
import { ToolCatalog } from "../search/ToolCatalog.ts"
import * as Session from "./Session.ts"
import { SessionNotFound, TooManySessions } from "./SessionErrors.ts"

/** Who asks: the authenticated client (see `http/Auth.ts`). */
export interface Client {
  readonly id: string
  readonly servers: ReadonlyArray<string>
  readonly namespacing: "on" | "off"
  /** `tools/list` shows the gateway's search tools and what the session activated (DESIGN.md, "Deferred loading") */
  readonly deferredLoading?: boolean | undefined
}

export interface Created {
  readonly session: Session.Session
  readonly servers: ReadonlyArray<Session.ServerSummary>
}

/** How a session is created beyond its client and servers. */
export interface SessionOptions {
  readonly inputRequired?: "ask" | "forward" | undefined
  /**
   * The edge that owns the session: `/gateway/stream` (the default) reaches only its own sessions; a session made
   * for `/mcp` lives behind that edge's transport and is not reachable through the session API.
   */
  readonly edge?: "stream" | "mcp" | undefined
}

interface Entry {
  readonly edge: "stream" | "mcp"
  readonly session: Session.Session
  readonly scope: Scope.Closeable
  /** Completes once the session's scope has closed (its fibers ended, its per-session backends stopped). */
  readonly released: Deferred.Deferred<void>
}

/** 128 random bits, URL-safe: a session id is the only thing between a stranger and a session's stream. */
const newSessionId = () => randomBytes(16).toString("base64url")

/**
 * Owns every session: creates them within the per-client limit, finds them for their owner only, and closes
 * them. Each session lives in a scope of its own, closed once the session has closed (for whatever reason),
 * which ends its fibers and releases its per-session backends. When the service stops, every session first
 * gets `closed { reason: "shutdown" }`.
 */
export class SessionManager extends Context.Service<SessionManager, {
  readonly create: (
    client: Client,
    servers: ReadonlyArray<string> | undefined,
    capabilities?: Readonly<Record<string, unknown>> | undefined,
    options?: SessionOptions
  ) => Effect.Effect<Created, Forbidden | TooManySessions>
  /** The session, if it exists and belongs to this client; otherwise SessionNotFound (the same either way). */
  readonly get: (client: Client, sessionId: string) => Effect.Effect<Session.Session, SessionNotFound>
  readonly close: (client: Client, sessionId: string) => Effect.Effect<void, SessionNotFound>
  readonly count: Effect.Effect<number>
  /** Closes every session with `reason` and waits until each has released what it held. */
  readonly closeAll: (reason: "shutdown") => Effect.Effect<void>
}>()("mcp-gateway/session/SessionManager") {
  static readonly layer = Layer.effect(
    SessionManager,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const pool = yield* BackendPool
      const catalog = yield* ToolCatalog
      const managerScope = yield* Effect.scope
      // Sessions run on the manager's services, not on those of the HTTP request that created them: a fiber
      // keeps its parent's context, and an idle session would otherwise hold that request and its response.
      const context = yield* Effect.context<never>()
      // Owned by the manager and touched only in synchronous steps. A map copied on every change (a Ref of an
      // immutable map) made opening n sessions cost O(n^2) garbage.
      const sessions = new Map<string, Entry>()
      const limits = config.streaming

      const requestTimeout = (serverId: string) => {
        const server = Object.hasOwn(config.mcpServers, serverId) ? config.mcpServers[serverId] : undefined
        return Duration.seconds(server?.requestTimeoutSeconds ?? limits.requestTimeoutSeconds)
      }

      /** Open (or opening) sessions per client: reserved and released in single steps, so a burst of */
      /** creates cannot slip past the limit. */
      const slots = new Map<string, number>()
      const reserve = (clientId: string) =>
        Effect.sync(() => {
          const used = slots.get(clientId) ?? 0
          if (used >= limits.maxSessionsPerClient) return false
          slots.set(clientId, used + 1)
          return true
        })
      const release = (clientId: string) =>
        Effect.sync(() => {
          const left = (slots.get(clientId) ?? 1) - 1
          if (left > 0) slots.set(clientId, left)
          else slots.delete(clientId)
        })

      const create = Effect.fn("SessionManager.create")(function*(
        client: Client,
        requested: ReadonlyArray<string> | undefined,
        capabilities?: Readonly<Record<string, unknown>> | undefined,
        sessionOptions?: SessionOptions
      ) {
        const serverIds = requested === undefined ? client.servers : [...new Set(requested)]
        for (const serverId of serverIds) {
          if (!client.servers.includes(serverId)) return yield* new Forbidden({ serverId })
        }
        if (!(yield* reserve(client.id))) return yield* new TooManySessions({ limit: limits.maxSessionsPerClient })

        const scope = yield* Scope.fork(managerScope)
        const released = Deferred.makeUnsafe<void>()
        const id = newSessionId()
        // Until the session is registered, any failure or interruption gives everything back.
        const abandon = Scope.close(scope, Exit.void).pipe(Effect.andThen(release(client.id)))
        const session = yield* Effect.gen(function*() {
          const backends = new Map<string, Backend>()
          for (const serverId of serverIds) {
            const backend = yield* pool.acquire(serverId).pipe(Effect.orDie) // allowed ids are configured ids
            backends.set(serverId, backend)
            // A deferred session searches its own instances of `isolation: "session"` servers too.
            if (client.deferredLoading === true && !pool.shared.has(serverId)) yield* catalog.follow(serverId, backend)
          }
          return yield* Session.make({
            id,
            client,
            capabilities,
            backends,
            maxPendingEvents: limits.maxPendingEvents,
            heartbeatInterval: Duration.seconds(limits.heartbeatIntervalSeconds),
            idleTimeout: Duration.seconds(limits.sessionTimeoutSeconds),
            requestTimeout,
            inputRequired: sessionOptions?.inputRequired,
            deferredTools: client.deferredLoading === true ? catalog : undefined,
            catalog
          })
        }).pipe(
          Effect.provideContext(Context.add(context, Scope.Scope, scope)),
          Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : abandon)
        )
        const servers = yield* session.servers.pipe(
          // A deferred session can search at once: what its servers offer is indexed before it starts.
          Effect.tap(() => client.deferredLoading === true ? catalog.settled(serverIds, "10 seconds") : Effect.void),
          Effect.onInterrupt(() => abandon)
        )
        // Registering and watching are one step: a session is never known without its watcher, nor the reverse.
        yield* Effect.uninterruptible(Effect.gen(function*() {
          sessions.set(id, { edge: sessionOptions?.edge ?? "stream", session, scope, released })
          // However the session ends (client, expiry, overflow, shutdown), forget it and release what it held.
          yield* session.closed.pipe(
            Effect.andThen(Effect.sync(() => sessions.delete(id))),
            Effect.andThen(Scope.close(scope, Exit.void)),
            Effect.andThen(release(client.id)),
            Effect.andThen(Deferred.succeed(released, undefined)),
            Effect.provideContext(context),
            Effect.forkIn(managerScope)
          )
        }))
        return { session, servers }
      })

      const get = Effect.fnUntraced(function*(client: Client, sessionId: string) {
        const entry = sessions.get(sessionId)
        // A closed session is gone for its client at once, even while it is still releasing what it held.
        if (
          entry === undefined || entry.edge !== "stream" || entry.session.clientId !== client.id ||
          (yield* entry.session.isClosed)
        ) {
          return yield* new SessionNotFound({ sessionId })
        }
        return entry
      })

      const closeAll = Effect.fn("SessionManager.closeAll")(function*(reason: "shutdown") {
        const entries = [...sessions.values()]
        yield* Effect.forEach(entries, ({ session }) => session.close(reason), { discard: true })
        yield* Effect.forEach(entries, ({ scope }) => Scope.close(scope, Exit.void), { discard: true, concurrency: "unbounded" })
      })
      yield* Effect.addFinalizer(() => closeAll("shutdown"))

      return SessionManager.of({
        create,
        get: (client, sessionId) => Effect.map(get(client, sessionId), (entry) => entry.session),
        // Answers once everything the session held is released.
        close: (client, sessionId) =>
          Effect.flatMap(get(client, sessionId), (entry) =>
            Effect.andThen(entry.session.close("client"), Deferred.await(entry.released))),
        count: Effect.sync(() => sessions.size),
        closeAll
      })
    })
  )
}
