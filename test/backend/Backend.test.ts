import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Logger, Queue, Scope, Stream } from "effect"
import * as Backend from "../../src/backend/Backend.ts"
import type { Endpoint } from "../../src/backend/Connection.ts"
import { EraCache } from "../../src/backend/EraCache.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { freePort, serve } from "../support/Processes.ts"

const layers = Layer.merge(Watchdog.layer, EraCache.layer())

const stdio = (args: ReadonlyArray<string>, env: Record<string, string> = {}): Endpoint => ({
  kind: "stdio",
  command: Fixtures.nodeBinary,
  args,
  env
})

const start = (serverId: string, endpoint: Endpoint) =>
  Effect.gen(function*() {
    const backend = yield* Backend.make({ serverId, endpoint, requestTimeout: "20 seconds", tracker: yield* Watchdog })
    const health = yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
    assert.strictEqual(health._tag, "Some")
    return backend
  })

const echo = (backend: Backend.Backend, id: string | number, args: Record<string, unknown>) =>
  backend.request({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "echo", arguments: args } })

const textOf = (response: unknown) => JSON.stringify(response)

describe("Backend over real transports", () => {
  it.live("server-everything over stdio: legacy handshake, call round trip with the caller's id, progress", () =>
    Effect.gen(function*() {
      const backend = yield* start("everything", stdio([Fixtures.everythingServer, "stdio"]))
      const info = yield* backend.info
      assert.strictEqual(info?.era, "legacy")
      assert.strictEqual(info?.protocolVersion, "2025-11-25")
      assert.isDefined(info?.capabilities.tools)

      // Declaring every client capability unlocks the tools that need them.
      const tools = yield* backend.request({ jsonrpc: "2.0", id: "list-1", method: "tools/list" })
      assert.strictEqual(tools.id, "list-1")
      const names = "result" in tools ? (tools.result.tools as Array<{ name: string }>).map((t) => t.name) : []
      assert.include(names, "trigger-sampling-request")
      assert.include(names, "get-roots-list")

      const answer = yield* echo(backend, 41, { message: "hello" })
      assert.strictEqual(answer.id, 41)
      assert.include(textOf(answer), "Echo: hello")

      // Two callers may use the same id: the gateway's own ids keep them apart.
      const [a, b] = yield* Effect.all([echo(backend, 1, { message: "a" }), echo(backend, 1, { message: "b" })], {
        concurrency: 2
      })
      assert.include(textOf(a), "Echo: a")
      assert.include(textOf(b), "Echo: b")

      const notifications = yield* backend.subscribeNotifications
      const progress = yield* notifications.pipe(
        Stream.filter((n) => n.method === "notifications/progress"),
        Stream.take(2),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      const done = yield* backend.request({
        jsonrpc: "2.0",
        id: "long",
        method: "tools/call",
        params: { name: "trigger-long-running-operation", arguments: { duration: 0.2, steps: 2 }, _meta: { progressToken: "p1" } }
      })
      assert.include(textOf(done), "Long running operation completed")
      const seen = yield* Fiber.join(progress)
      assert.deepStrictEqual(seen.map((n) => n.params?.progressToken), ["p1", "p1"])
    }).pipe(Effect.provide(layers)))

  it.live("server-everything over Streamable HTTP and over legacy SSE", () =>
    Effect.gen(function*() {
      for (const [mode, transport, path] of [["streamableHttp", "streamable-http", "/mcp"], ["sse", "sse", "/sse"]] as const) {
        const port = yield* freePort
        yield* serve(Fixtures.nodeBinary, [Fixtures.everythingServer, mode], { PORT: String(port) }, /listening|running/i)
        const backend = yield* start(`everything-${mode}`, {
          kind: transport,
          url: `http://127.0.0.1:${port}${path}`,
          headers: {}
        })
        assert.strictEqual((yield* backend.info)?.era, "legacy")
        const answer = yield* echo(backend, `${mode}-1`, { message: mode })
        assert.strictEqual(answer.id, `${mode}-1`)
        assert.include(textOf(answer), `Echo: ${mode}`)
        const notifications = yield* backend.subscribeNotifications
        const logged = yield* notifications.pipe(
          Stream.filter((n) => n.method === "notifications/progress"),
          Stream.runHead,
          Effect.forkChild({ startImmediately: true })
        )
        yield* backend.request({
          jsonrpc: "2.0",
          id: 2,
          method: "tools/call",
          params: { name: "trigger-long-running-operation", arguments: { duration: 0.1, steps: 1 }, _meta: { progressToken: 9 } }
        })
        assert.strictEqual((yield* Fiber.join(logged))._tag, "Some")
      }
    }).pipe(Effect.provide(layers)))

  it.live("over legacy SSE, one POST the server refuses fails that request only: another session's call goes on", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      yield* serve(Fixtures.nodeBinary, [Fixtures.everythingServer, "sse"], { PORT: String(port) }, /listening|running/i)
      const backend = yield* start("everything-sse", { kind: "sse", url: `http://127.0.0.1:${port}/sse`, headers: {} })
      const long = yield* backend.request({
        jsonrpc: "2.0",
        id: "long",
        method: "tools/call",
        params: { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 2 } }
      }, { owner: "A" }).pipe(Effect.exit, Effect.forkChild({ startImmediately: true }))
      // Over the server's body limit (4 MB): its POST is refused with 413.
      const refused = yield* echo(backend, "big", { message: "x".repeat(5 * 1024 * 1024) }).pipe(Effect.exit)
      assert.isTrue(Exit.isFailure(refused))
      const answer = yield* Fiber.join(long)
      assert.isTrue(Exit.isSuccess(answer), String(Exit.isFailure(answer) ? answer.cause : ""))
      assert.include(textOf(Exit.isSuccess(answer) ? answer.value : undefined), "Long running operation completed")
      assert.strictEqual((yield* backend.health).restarts, 0)
    }).pipe(Effect.provide(layers)))

  it.live("a modern-era server is probed as 2026-07-28, over stdio and over HTTP, and calls round-trip", () =>
    Effect.gen(function*() {
      const overStdio = yield* start("modern", stdio([Fixtures.modernServer]))
      const info = yield* overStdio.info
      assert.strictEqual(info?.era, "modern")
      assert.strictEqual(info?.protocolVersion, "2026-07-28")
      const answer = yield* echo(overStdio, "m1", { text: "from the gateway" })
      assert.strictEqual(answer.id, "m1")
      assert.include(textOf(answer), "from the gateway")

      const port = yield* freePort
      yield* serve(Fixtures.nodeBinary, [Fixtures.modernServer, "--http", String(port), "--modern-only"], {}, /listening/)
      const overHttp = yield* start("modern-http", { kind: "streamable-http", url: `http://127.0.0.1:${port}/mcp`, headers: {} })
      assert.strictEqual((yield* overHttp.info)?.era, "modern")
      assert.include(textOf(yield* echo(overHttp, 5, { text: "over http" })), "over http")
    }).pipe(Effect.provide(layers)))

  it.live("a cached legacy verdict skips the probe; one that no longer fits is probed afresh", () =>
    Effect.gen(function*() {
      const eras = yield* EraCache
      // The modern fixture also answers `initialize`: with a legacy verdict cached it is reached as legacy,
      // which shows the probe was skipped.
      yield* eras.record("modern", { kind: "legacy" })
      const trusted = yield* start("modern", stdio([Fixtures.modernServer]))
      assert.strictEqual((yield* trusted.info)?.era, "legacy")
      assert.include(textOf(yield* echo(trusted, 1, { text: "legacy path" })), "legacy path")

      // A modern-only server refuses `initialize`: the stale verdict is dropped and the probe finds modern.
      yield* eras.record("modern-only", { kind: "legacy" })
      const upgraded = yield* start("modern-only", stdio([Fixtures.modernServer, "--modern-only"]))
      assert.strictEqual((yield* upgraded.info)?.era, "modern")
      assert.isUndefined(yield* eras.prior("modern-only"))
      assert.include(textOf(yield* echo(upgraded, 2, { text: "modern path" })), "modern path")
    }).pipe(Effect.provide(layers)))

  it.live("a backend request with no session to answer it gets a JSON-RPC error at once; with one, the answer goes back", () =>
    Effect.gen(function*() {
      const backend = yield* start("everything", stdio([Fixtures.everythingServer, "stdio"]))
      const sampling = {
        jsonrpc: "2.0" as const,
        id: "s",
        method: "tools/call",
        params: { name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 5 } }
      }
      const refused = yield* backend.request(sampling, { timeout: "5 seconds" })
      assert.include(textOf(refused), "no client session can answer")

      const asked = yield* Queue.unbounded<Backend.BackendRequest>()
      yield* backend.attachRequests("session-1", (request) => Queue.offerUnsafe(asked, request))
      const answering = yield* Queue.take(asked).pipe(
        Effect.flatMap(({ request, respond }) =>
          respond({
            jsonrpc: "2.0",
            id: request.id,
            result: { role: "assistant", content: { type: "text", text: "sampled!" }, model: "test" }
          })
        ),
        Effect.forkChild
      )
      // The call is the attached session's own: the question it causes is put to that session.
      const answered = yield* backend.request({ ...sampling, id: "s2" }, { owner: "session-1" })
      assert.include(textOf(answered), "sampled!")
      yield* Fiber.join(answering)
    }).pipe(Effect.provide(layers)))

  it.live("stderr goes to the log with the backend's secrets redacted", () => {
    const lines: Array<string> = []
    const capture = Logger.layer([
      Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
    ])
    return Effect.gen(function*() {
      const secret = "sk-live-0123456789abcdef"
      const backend = yield* start("legacy", stdio([Fixtures.legacyServer], { API_KEY: secret }))
      const env = yield* backend.request({
        jsonrpc: "2.0",
        id: 1,
        method: "tools/call",
        params: { name: "env", arguments: { name: "API_KEY" } }
      })
      assert.include(textOf(env), secret) // the backend got its env ...
      yield* backend.request({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "stderr", arguments: { text: `using key ${secret} and Bearer abcdefghijkl` } }
      })
      yield* Effect.sleep("200 millis")
      const logged = lines.find((line) => line.includes("using key"))
      assert.isDefined(logged)
      assert.notInclude(logged, secret) // ... but the log never shows it
      assert.notInclude(logged, "abcdefghijkl")
      assert.include(logged, "[redacted]")
    }).pipe(Effect.provide(Layer.merge(layers, capture)))
  })
})

describe("Backend over Streamable HTTP, when the server forgets the session", () => {
  it.live("a lost session (404, or the 400 that v1-SDK servers send) re-initializes transparently and the request still succeeds", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const run = serve(Fixtures.nodeBinary, [Fixtures.everythingServer, "streamableHttp"], { PORT: String(port) }, /listening|running/i)
      const firstServer = yield* Scope.make()
      yield* run.pipe(Scope.provide(firstServer))
      const backend = yield* start("remote", { kind: "streamable-http", url: `http://127.0.0.1:${port}/mcp`, headers: {} })
      assert.include(textOf(yield* echo(backend, 1, { message: "before" })), "before")
      const before = yield* backend.health

      // The server restarts on the same port and knows nothing of our session any more.
      yield* Scope.close(firstServer, Exit.void)
      yield* run
      const answer = yield* echo(backend, 2, { message: "after the restart" })
      assert.strictEqual(answer.id, 2)
      assert.include(textOf(answer), "after the restart")
      const after = yield* backend.health
      assert.strictEqual(after.state, "ready")
      assert.isAbove(after.since, before.since, "a new session was initialized")
    }).pipe(Effect.provide(layers)))
})
