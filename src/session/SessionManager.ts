import { randomBytes } from "node:crypto"
import { Context, Duration, Effect, Exit, Layer, Ref, Scope } from "effect"
import type { Backend } from "../backend/Backend.ts"
import { BackendPool } from "../backend/BackendPool.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import { Forbidden } from "../routing/RoutingErrors.ts"
import * as Session from "./Session.ts"
import { SessionNotFound, TooManySessions } from "./SessionErrors.ts"

/** Who asks: the authenticated client (see `http/Auth.ts`). */
export interface Client {
  readonly id: string
  readonly servers: ReadonlyArray<string>
  readonly namespacing: "on" | "off"
}

export interface Created {
  readonly session: Session.Session
  readonly servers: ReadonlyArray<Session.ServerSummary>
}

interface Entry {
  readonly session: Session.Session
  readonly scope: Scope.Closeable
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
  readonly create: (client: Client, servers: ReadonlyArray<string> | undefined) => Effect.Effect<Created, Forbidden | TooManySessions>
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
      const managerScope = yield* Effect.scope
      const sessions = yield* Ref.make<ReadonlyMap<string, Entry>>(new Map())
      const limits = config.streaming

      const requestTimeout = (serverId: string) => {
        const server = Object.hasOwn(config.mcpServers, serverId) ? config.mcpServers[serverId] : undefined
        return Duration.seconds(server?.requestTimeoutSeconds ?? limits.requestTimeoutSeconds)
      }

      const create = Effect.fn("SessionManager.create")(function*(client: Client, requested: ReadonlyArray<string> | undefined) {
        const serverIds = requested === undefined ? client.servers : [...new Set(requested)]
        for (const serverId of serverIds) {
          if (!client.servers.includes(serverId)) return yield* new Forbidden({ serverId })
        }
        const open = [...(yield* Ref.get(sessions)).values()].filter((e) => e.session.clientId === client.id).length
        if (open >= limits.maxSessionsPerClient) return yield* new TooManySessions({ limit: limits.maxSessionsPerClient })

        const scope = yield* Scope.fork(managerScope)
        const id = newSessionId()
        const session = yield* Effect.gen(function*() {
          const backends = new Map<string, Backend>()
          for (const serverId of serverIds) {
            const backend = yield* pool.acquire(serverId).pipe(Effect.orDie) // allowed ids are configured ids
            backends.set(serverId, backend)
          }
          return yield* Session.make({
            id,
            client,
            backends,
            maxPendingEvents: limits.maxPendingEvents,
            heartbeatInterval: Duration.seconds(limits.heartbeatIntervalSeconds),
            idleTimeout: Duration.seconds(limits.sessionTimeoutSeconds),
            requestTimeout
          })
        }).pipe(Scope.provide(scope), Effect.onError(() => Scope.close(scope, Exit.void)))
        yield* Ref.update(sessions, (map) => new Map(map).set(id, { session, scope }))
        // However the session ends (client, expiry, overflow, shutdown), forget it and release what it held.
        yield* session.closed.pipe(
          Effect.andThen(Ref.update(sessions, (map) => {
            const next = new Map(map)
            next.delete(id)
            return next
          })),
          Effect.andThen(Scope.close(scope, Exit.void)),
          Effect.forkIn(managerScope)
        )
        return { session, servers: yield* session.servers }
      })

      const get = Effect.fn("SessionManager.get")(function*(client: Client, sessionId: string) {
        const entry = (yield* Ref.get(sessions)).get(sessionId)
        if (entry === undefined || entry.session.clientId !== client.id) return yield* new SessionNotFound({ sessionId })
        return entry.session
      })

      const closeAll = Effect.fn("SessionManager.closeAll")(function*(reason: "shutdown") {
        const entries = [...(yield* Ref.get(sessions)).values()]
        yield* Effect.forEach(entries, ({ session }) => session.close(reason), { discard: true })
        yield* Effect.forEach(entries, ({ scope }) => Scope.close(scope, Exit.void), { discard: true, concurrency: "unbounded" })
      })
      yield* Effect.addFinalizer(() => closeAll("shutdown"))

      return SessionManager.of({
        create,
        get,
        close: (client, sessionId) => Effect.flatMap(get(client, sessionId), (session) => session.close("client")),
        count: Effect.map(Ref.get(sessions), (map) => map.size),
        closeAll
      })
    })
  )
}
