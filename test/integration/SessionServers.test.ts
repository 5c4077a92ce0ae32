import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { answeringUntil, type Event, events, gatewayLayer, send } from "../support/GatewayHttp.ts"

// Sessions over servers that do not all behave (one never starts, one has a short timeout of its own), shared
// and per-session ones.
const token = "servers-test-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] },
    hasty: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer], requestTimeoutSeconds: 1 },
    broken: { command: Fixtures.nodeBinary, args: ["-e", "process.exit(3)"] },
    own: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"], isolation: "session" },
    shared: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] }
  },
  clients: { tester: { token, servers: "*" } },
  streaming: { requestTimeoutSeconds: 30 }
}

const post = (url: string, body: unknown) => send("POST", url, { token, body })

/** Every event of the stream up to the first that `until` accepts (or fails after 20 s). */
const readUntil = (stream: Stream.Stream<Event>, until: (event: Event) => boolean) =>
  stream.pipe(Stream.takeUntil(until), Stream.runCollect, Effect.timeout("20 seconds"), Effect.forkChild({ startImmediately: true }))

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("a session over uneven servers", (it) => {
  it.effect("a broadcast reports a server that failed to start and still merges the others", () =>
    Effect.gen(function*() {
      const created = yield* post("/gateway/stream", { servers: ["fixture", "hasty", "broken"] })
      assert.strictEqual(created.status, 201)
      const session = created.body as { stream_url: string; request_url: string; servers: ReadonlyArray<{ id: string; status: string }> }
      assert.strictEqual(session.servers.find((s) => s.id === "broken")?.status, "failed")
      const stream = yield* events(session.stream_url, token)
      const reading = yield* readUntil(stream.events, (e) => e.event === "response")
      yield* post(session.request_url, { jsonrpc: "2.0", id: "all", method: "tools/list" })
      const seen = yield* Fiber.join(reading)
      assert.sameMembers(seen.filter((e) => e.event === "chunk").map((e) => e.data.server_id), ["fixture", "hasty"])
      const merged = seen.at(-1)!.data
      assert.strictEqual(merged.server_id, null)
      assert.strictEqual(merged.response.id, "all")
      const names = (merged.response.result.tools as ReadonlyArray<{ name: string }>).map((t) => t.name)
      assert.include(names, "fixture__echo")
      assert.include(names, "hasty__echo")
      const errors = merged.response.result.errors
      assert.deepStrictEqual(errors.map((e: { server_id: string; code: string }) => [e.server_id, e.code]), [["broken", "backend_unavailable"]])
      yield* send("DELETE", session.stream_url, { token })
    }))

  it.effect("a server's own requestTimeoutSeconds bounds its calls in a session (not the streaming default)", () =>
    Effect.gen(function*() {
      const created = yield* post("/gateway/stream", { servers: ["hasty", "fixture"] })
      const session = created.body as { stream_url: string; request_url: string }
      const stream = yield* events(session.stream_url, token)
      const reading = yield* readUntil(stream.events, (e) => e.event === "error")
      const started = performance.now()
      yield* post(session.request_url, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "hasty__slow", arguments: { ms: 10_000 } } })
      const seen = yield* Fiber.join(reading)
      const elapsed = performance.now() - started
      const error = seen.at(-1)!.data
      assert.strictEqual(error.server_id, "hasty")
      assert.strictEqual(error.error.code, "request_timeout")
      assert.isAbove(elapsed, 900)
      assert.isBelow(elapsed, 5_000, "the server's 1 s, not the default 30 s")
      yield* send("DELETE", session.stream_url, { token })
    }))

  it.effect("client notifications that name no server: roots/list_changed goes to the session's own servers, others are ambiguous", () =>
    Effect.gen(function*() {
      const created = yield* post("/gateway/stream", { servers: ["own"] })
      const session = created.body as { stream_url: string; request_url: string }
      const stream = yield* events(session.stream_url, token)
      const reading = yield* readUntil(stream.events, (e) => e.event === "request")
      const changed = yield* post(session.request_url, { jsonrpc: "2.0", method: "notifications/roots/list_changed" })
      assert.strictEqual(changed.status, 202)
      // server-everything (this session's own instance) hears it and asks the client for its roots again.
      const asked = (yield* Fiber.join(reading)).at(-1)
      assert.strictEqual(asked?.data.server_id, "own")
      assert.strictEqual(asked?.data.request.method, "roots/list")
      const stray = yield* post(session.request_url, { jsonrpc: "2.0", method: "notifications/progress", params: { progressToken: 1, progress: 1 } })
      assert.strictEqual(stray.status, 400)
      assert.strictEqual((stray.body as { error: { code: string } }).error.code, "ambiguous_method")
      yield* send("DELETE", session.stream_url, { token })
    }))

  it.effect("a shared server's log messages with no call in flight reach no session: a closed session's go nowhere else", () =>
    Effect.gen(function*() {
      const alice = (yield* post("/gateway/stream", { servers: ["fixture"] })).body as { stream_url: string; request_url: string }
      const bob = (yield* post("/gateway/stream", { servers: ["fixture"] })).body as { stream_url: string; request_url: string }
      const bobStream = yield* events(bob.stream_url, token)
      const heard: Array<Event> = []
      yield* bobStream.events.pipe(Stream.runForEach((e) => Effect.sync(() => void heard.push(e))), Effect.forkChild({ startImmediately: true }))
      // Alice's call logs for 2 s; she leaves once she has heard it log, and the server goes on logging (it ignores
      // the cancel).
      const aliceStream = yield* events(alice.stream_url, token)
      const aliceHeard = yield* readUntil(aliceStream.events, (e) => e.event === "notification")
      yield* post(alice.request_url, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture__flood", arguments: { count: 40, rate: 20 } } })
      yield* Fiber.join(aliceHeard)
      yield* send("DELETE", alice.stream_url, { token })
      yield* Effect.sleep("2 seconds")
      assert.deepStrictEqual(heard.filter((e) => e.event === "notification").map((e) => e.data.notification.method), [])
      yield* send("DELETE", bob.stream_url, { token })
    }))

  it.effect("a client's roots go to a server that is its alone; a shared server is given no client's roots", () =>
    Effect.gen(function*() {
      const roots = { roots: [{ uri: "file:///srv/alices-project", name: "project" }] }
      const rootsOf = (serverId: string) =>
        Effect.gen(function*() {
          const session = (yield* post("/gateway/stream", { servers: [serverId] })).body as { stream_url: string; request_url: string }
          const stream = yield* events(session.stream_url, token)
          const reading = yield* answeringUntil(session, stream.events, token, roots)
          yield* post(session.request_url, { jsonrpc: "2.0", id: "roots", method: "tools/call", params: { name: `${serverId}__get-roots-list`, arguments: {} } })
          const seen = yield* Fiber.join(reading)
          yield* send("DELETE", session.stream_url, { token })
          return { asked: seen.filter((e) => e.event === "request").length, answer: JSON.stringify(seen.at(-1)?.data.response) }
        })
      const own = yield* rootsOf("own")
      assert.isAbove(own.asked, 0)
      assert.include(own.answer, "file:///srv/alices-project")
      // The shared server's question is refused by the gateway: no session is asked, and it learns no roots.
      const shared = yield* rootsOf("shared")
      assert.strictEqual(shared.asked, 0)
      assert.notInclude(shared.answer, "alices-project")
    }))
})
