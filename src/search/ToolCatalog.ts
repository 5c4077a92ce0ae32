import { Context, Deferred, Duration, Effect, Exit, FiberMap, Layer, Schedule, type Scope, Stream } from "effect"
import type { Backend } from "../backend/Backend.ts"
import { BackendPool } from "../backend/BackendPool.ts"
import { GatewayConfig } from "../config/GatewayConfig.ts"
import * as McpMethods from "../protocol/McpMethods.ts"
import * as Namespacing from "../protocol/Namespacing.ts"
import * as Merge from "../routing/Merge.ts"
import * as ListPages from "../session/ListPages.ts"
import { type Hit, SearchIndex, searchable } from "./SearchIndex.ts"

/** A tool of the fleet under the name clients call it by. */
export interface CatalogTool {
  readonly serverId: string
  /** the backend's own name */
  readonly name: string
  /** the tool as `tools/list` shows it to clients: the backend's definition with the exposed name */
  readonly definition: Readonly<Record<string, unknown>>
}

export interface SearchOptions {
  readonly limit?: number
  /** only these servers (a client's allowed ones, or fewer) */
  readonly servers: ReadonlySet<string>
}

/** What sessions read from the catalog, and how backends are followed. */
export interface Catalog {
  readonly search: (query: string, options: SearchOptions) => ReadonlyArray<Hit>
  /** The tool a client calls by `exposed`, if a followed server has it. */
  readonly lookup: (exposed: string) => CatalogTool | undefined
  /** Waits (up to `timeout`) until each of `serverIds` has been indexed once (or found down). */
  readonly settled: (serverIds: Iterable<string>, timeout: Duration.Input) => Effect.Effect<void>
  /** Follows `serverId` through `backend` while the caller's scope lasts (unless another backend of it is followed already). */
  readonly follow: (serverId: string, backend: Backend) => Effect.Effect<void, never, Scope.Scope>
}

/**
 * The fleet's tools, indexed for search (DESIGN.md, "Deferred loading"). It follows each server through one
 * of its backends: the tools are listed when the backend becomes ready and again on its
 * `notifications/tools/list_changed` (that server alone is re-indexed), and dropped while the backend is
 * down or once no backend of the server is followed any more. Shared backends are followed from the start;
 * a session follows its own `isolation: "session"` instances while it lives.
 *
 * `search` and `lookup` read the current state synchronously: indexing happens in the catalog's own fibers,
 * between which the index is always whole.
 */
export class ToolCatalog extends Context.Service<ToolCatalog, Catalog>()("mcp-gateway/search/ToolCatalog") {
  static readonly layer = Layer.effect(
    ToolCatalog,
    Effect.gen(function*() {
      const config = yield* GatewayConfig
      const pool = yield* BackendPool
      const catalog = yield* make((serverId) =>
        Duration.seconds(config.mcpServers[serverId]?.requestTimeoutSeconds ?? config.streaming.requestTimeoutSeconds)
      )
      for (const [serverId, backend] of pool.shared) yield* catalog.follow(serverId, backend)
      return catalog
    })
  )
}

/** A catalog whose watchers live in the caller's scope (the layer's, or a test's). */
export const make = Effect.fnUntraced(function*(requestTimeout: (serverId: string) => Duration.Duration) {
  const index = new SearchIndex()
  const byName = new Map<string, CatalogTool>()
  const namesOf = new Map<string, ReadonlyArray<string>>()
  /** Per server, the backends offered to follow it, the first of which is watched. */
  const followers = new Map<string, Array<Backend>>()
  const firstIndexed = new Map<string, Deferred.Deferred<void>>()
  const watchers = yield* FiberMap.make<string>()

  const forget = (serverId: string) => {
    index.removeServer(serverId)
    for (const name of namesOf.get(serverId) ?? []) byName.delete(name)
    namesOf.delete(serverId)
  }

  const indexed = (serverId: string) => {
    let done = firstIndexed.get(serverId)
    if (done === undefined) firstIndexed.set(serverId, done = Deferred.makeUnsafe<void>())
    return done
  }

  /** Lists the server's tools through `backend` and replaces what was indexed for it. */
  const reindex = (serverId: string, backend: Backend) =>
    ListPages.listAll(
      backend,
      McpMethods.ToolsList,
      { jsonrpc: "2.0", id: "catalog", method: McpMethods.ToolsList },
      requestTimeout(serverId)
    ).pipe(
      Effect.map((result) => {
        // The names clients see, exactly as a `tools/list` broadcast shows them (bounded, collisions dropped).
        const part = Merge.namespacePart(McpMethods.ToolsList, serverId, result)
        const definitions = part.result["tools"] as ReadonlyArray<Readonly<Record<string, unknown>>>
        forget(serverId)
        const exposedOf = new Map<string, string>()
        const entries = definitions.map((definition) => {
          const exposed = definition["name"] as string
          const name = (part.names.get(exposed) ?? Namespacing.split(exposed))?.name ?? exposed
          exposedOf.set(name, exposed)
          return { exposed, entry: { serverId, name, definition }, tool: searchable(definition, name) }
        })
        index.setServer(serverId, entries.map(({ tool }) => tool), (name) => exposedOf.get(name))
        // Found by name only once searchable too: a tool is in both or in neither.
        for (const { exposed, entry } of entries) byName.set(exposed, entry)
        namesOf.set(serverId, [...exposedOf.values()])
      }),
      // A bug in indexing (whatever a server sent) loses this listing, never the watcher: the next change is indexed.
      Effect.catchDefect((defect) => Effect.logWarning(`could not index the tools of ${serverId}`, defect)),
      // A listing that fails (a busy server, a timeout) is tried again a few times; meanwhile what was indexed
      // stays (it is dropped only when the backend goes down).
      Effect.retry({ schedule: Schedule.exponential("500 millis"), times: 4 }),
      Effect.ignore,
      Effect.ensuring(Deferred.succeed(indexed(serverId), undefined))
    )

  /** Re-indexes on every readiness and list change; forgets while the backend is down. One at a time. */
  const watch = (serverId: string, backend: Backend) =>
    Effect.gen(function*() {
      // Subscribed before the first listing, so a change during it is not missed.
      const notifications = yield* backend.subscribeListChanges
      const changes = notifications.pipe(
        Stream.filter((n) => n.method === "notifications/tools/list_changed"),
        Stream.map(() => "changed" as const)
      )
      yield* backend.healthChanges.pipe(
        Stream.map((health) => health.state),
        Stream.merge(changes),
        Stream.runForEach((trigger) => {
          if (trigger === "ready" || trigger === "changed") return reindex(serverId, backend)
          return Effect.sync(() => {
            forget(serverId)
            if (trigger === "failed") Deferred.doneUnsafe(indexed(serverId), Exit.void)
          })
        })
      )
    }).pipe(Effect.scoped, Effect.ensuring(Effect.sync(() => forget(serverId))))

  const follow = (serverId: string, backend: Backend) =>
    Effect.acquireRelease(
      Effect.suspend(() => {
        const list = followers.get(serverId) ?? []
        followers.set(serverId, [...list, backend])
        return list.length === 0 ? FiberMap.run(watchers, serverId, watch(serverId, backend)) : Effect.void
      }),
      () =>
        Effect.suspend(() => {
          const list = followers.get(serverId) ?? []
          const rest = list.filter((b) => b !== backend)
          if (rest.length === 0) followers.delete(serverId)
          else followers.set(serverId, rest)
          if (list[0] !== backend) return Effect.void
          // The watched backend goes: the next one takes over, or the server leaves the catalog (and a later
          // follower's sessions wait for it to be indexed again).
          const next = rest[0]
          if (next !== undefined) return FiberMap.run(watchers, serverId, watch(serverId, next))
          firstIndexed.delete(serverId)
          return FiberMap.remove(watchers, serverId)
        })
    ).pipe(Effect.asVoid)

  return ToolCatalog.of({
    search: (query, options) => index.search(query, options),
    lookup: (exposed) => byName.get(exposed),
    settled: (serverIds, timeout) =>
      Effect.forEach([...serverIds], (serverId) => Deferred.await(indexed(serverId)), { discard: true }).pipe(
        Effect.timeoutOption(timeout),
        Effect.asVoid
      ),
    follow
  })
})
