import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import * as Backend from "../../src/backend/Backend.ts"
import { EraCache } from "../../src/backend/EraCache.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as ToolCatalog from "../../src/search/ToolCatalog.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"

const layers = Layer.merge(Watchdog.layer, EraCache.layer())

const fixture = (serverId: string, args: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const backend = yield* Backend.make({
      serverId,
      endpoint: { kind: "stdio", command: Fixtures.nodeBinary, args: [Fixtures.legacyServer, ...args], env: {} },
      requestTimeout: "20 seconds",
      tracker: yield* Watchdog
    })
    yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
    return backend
  })

const names = (catalog: ToolCatalog.Catalog, query: string, servers: ReadonlyArray<string>) =>
  catalog.search(query, { servers: new Set(servers) }).map((hit) => hit.name)

describe("ToolCatalog over real backends", () => {
  it.live("indexes a followed server, and drops it once no backend of it is followed", () =>
    Effect.gen(function*() {
      const catalog = yield* ToolCatalog.make(() => Duration.seconds(10))
      const backend = yield* fixture("alpha")
      const following = yield* Scope.make()
      yield* catalog.follow("alpha", backend).pipe(Scope.provide(following))
      yield* catalog.settled(["alpha"], "10 seconds")
      assert.include(names(catalog, "echo text back", ["alpha"]), "alpha__echo")
      assert.deepStrictEqual(names(catalog, "echo text back", ["beta"]), [], "only the servers asked for")
      const echo = catalog.lookup("alpha__echo")
      assert.strictEqual(echo?.serverId, "alpha")
      assert.strictEqual(echo?.name, "echo")
      assert.strictEqual(echo?.definition["name"], "alpha__echo")

      yield* Scope.close(following, Exit.void)
      assert.deepStrictEqual(names(catalog, "echo text back", ["alpha"]), [])
      assert.isUndefined(catalog.lookup("alpha__echo"))

      // Followed again (a new session's own instance of an `isolation: "session"` server): `settled` waits for
      // the new indexing, so the session's first search finds the tools.
      yield* catalog.follow("alpha", backend)
      yield* catalog.settled(["alpha"], "10 seconds")
      assert.include(names(catalog, "echo text back", ["alpha"]), "alpha__echo")
    }).pipe(Effect.scoped, Effect.provide(layers)))

  it.live("a tool listed malformed (null description, numeric title, required: true) is indexed by what is usable", () =>
    Effect.gen(function*() {
      const catalog = yield* ToolCatalog.make(() => Duration.seconds(10))
      yield* catalog.follow("odd", yield* fixture("odd", ["--malformed-tools"]))
      yield* catalog.settled(["odd"], "10 seconds")
      // The server's other tools are all there, and the odd one by its name and parameters.
      assert.include(names(catalog, "echo text back", ["odd"]), "odd__echo")
      const hits = catalog.search("emit count", { servers: new Set(["odd"]) })
      assert.strictEqual(hits[0]?.name, "odd__emit")
      assert.strictEqual(catalog.lookup("odd__emit")?.name, "emit")
    }).pipe(Effect.scoped, Effect.provide(layers)))

  it.live("a second backend of the same server takes over when the first is no longer followed", () =>
    Effect.gen(function*() {
      const catalog = yield* ToolCatalog.make(() => Duration.seconds(10))
      const [first, second] = [yield* fixture("alpha"), yield* fixture("alpha")]
      const [a, b] = [yield* Scope.make(), yield* Scope.make()]
      yield* catalog.follow("alpha", first).pipe(Scope.provide(a))
      yield* catalog.follow("alpha", second).pipe(Scope.provide(b))
      yield* catalog.settled(["alpha"], "10 seconds")
      yield* Scope.close(a, Exit.void)
      // The takeover lists the tools again through the second backend.
      let found: ReadonlyArray<string> = []
      for (let attempt = 0; attempt < 100 && found.length === 0; attempt++) {
        found = names(catalog, "echo text back", ["alpha"])
        if (found.length === 0) yield* Effect.sleep("20 millis")
      }
      assert.include(found, "alpha__echo")
      yield* Scope.close(b, Exit.void)
      assert.deepStrictEqual(names(catalog, "echo text back", ["alpha"]), [])
    }).pipe(Effect.scoped, Effect.provide(layers)))

  it.live("a server that goes down drops out of results, and comes back when it is ready again", () =>
    Effect.gen(function*() {
      const catalog = yield* ToolCatalog.make(() => Duration.seconds(10))
      const backend = yield* fixture("alpha")
      yield* catalog.follow("alpha", backend)
      yield* catalog.settled(["alpha"], "10 seconds")
      assert.include(names(catalog, "echo text back", ["alpha"]), "alpha__echo")
      const states: Array<string> = []
      const watching = yield* backend.healthChanges.pipe(
        Stream.map((h) => h.state),
        Stream.tap((state) => Effect.sync(() => void states.push(`${state}:${names(catalog, "echo text back", ["alpha"]).length}`))),
        Stream.filter((state) => state === "restarting"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      // The fixture exits; the backend restarts it.
      yield* backend.request({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "crash", arguments: {} } }).pipe(Effect.ignore)
      yield* Fiber.join(watching)
      let gone = false
      for (let attempt = 0; attempt < 100 && !gone; attempt++) {
        gone = names(catalog, "echo text back", ["alpha"]).length === 0
        if (!gone) yield* Effect.sleep("2 millis")
      }
      assert.isTrue(gone, `nothing of a restarting server (${states.join(", ")})`)
      let found: ReadonlyArray<string> = []
      for (let attempt = 0; attempt < 200 && found.length === 0; attempt++) {
        found = names(catalog, "echo text back", ["alpha"])
        if (found.length === 0) yield* Effect.sleep("25 millis")
      }
      assert.include(found, "alpha__echo", `back once ready again (${states.join(", ")})`)
    }).pipe(Effect.scoped, Effect.provide(layers)))
})
