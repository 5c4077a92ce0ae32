import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { awaitGone, isRunning } from "../support/Processes.ts"
import { answeringUntil, events, gatewayLayer, sampled, send } from "../support/GatewayHttp.ts"

const token = "isolation-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    private: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer], isolation: "session" },
    shared: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] }
  },
  clients: { tester: { token, servers: "*" } }
}

/** The pid of the process serving `server` for this session. */
const pidOf = (session: { stream_url: string; request_url: string }, server: string) =>
  Effect.scoped(Effect.gen(function*() {
    const stream = yield* events(session.stream_url, token)
    const answer = yield* stream.events.pipe(
      Stream.filter((e) => e.event === "response"),
      Stream.runHead,
      Effect.forkChild({ startImmediately: true })
    )
    yield* send("POST", session.request_url, {
      token,
      body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: `${server}__pid`, arguments: {} } }
    })
    const event = yield* Fiber.join(answer)
    return Number(event._tag === "Some" ? event.value.data.response.result.content[0].text : -1)
  }))

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("isolation", (it) => {
  it.effect("an isolation: session server gets a process per session, stopped with it; a shared one is shared", () =>
    Effect.gen(function*() {
      const open = () =>
        Effect.map(send("POST", "/gateway/stream", { token }), (reply) => {
          assert.strictEqual(reply.status, 201)
          return reply.body as { stream_url: string; request_url: string; servers: Array<{ id: string; status: string }> }
        })
      const [a, b] = [yield* open(), yield* open()]
      for (const server of a.servers) assert.strictEqual(server.status, "ready")
      const [privateA, privateB] = [yield* pidOf(a, "private"), yield* pidOf(b, "private")]
      const [sharedA, sharedB] = [yield* pidOf(a, "shared"), yield* pidOf(b, "shared")]
      assert.notStrictEqual(privateA, privateB, "each session has its own process")
      assert.strictEqual(sharedA, sharedB, "one process for everyone")
      assert.strictEqual((yield* send("DELETE", a.stream_url, { token })).status, 204)
      yield* awaitGone(privateA, 5_000)
      assert.isTrue(isRunning(privateB), "the other session's process runs on")
      assert.isTrue(isRunning(sharedA), "the shared process runs on")
      yield* send("DELETE", b.stream_url, { token })
      yield* awaitGone(privateB, 5_000)
    }))

  it.effect("resource subscriptions outlive a backend restart: the new process is subscribed again", () =>
    Effect.gen(function*() {
      const created = yield* send("POST", "/gateway/stream", { token, body: { servers: ["shared"] } })
      const session = created.body as { stream_url: string; request_url: string }
      const call = (id: string, method: string, params: Record<string, unknown>) =>
        Effect.scoped(Effect.gen(function*() {
          const stream = yield* events(session.stream_url, token)
          const answer = yield* stream.events.pipe(
            Stream.filter((e) => e.event === "response" && e.data.response.id === id),
            Stream.runHead,
            Effect.timeout("10 seconds"),
            Effect.forkChild({ startImmediately: true })
          )
          yield* send("POST", session.request_url, { token, body: { jsonrpc: "2.0", id, method, params } })
          const event = yield* Fiber.join(answer)
          return event._tag === "Some" ? event.value.data.response : undefined
        }))
      const subscriptions = (id: string) =>
        Effect.map(call(id, "tools/call", { name: "shared__subscriptions", arguments: {} }), (r) => r?.result.content[0].text)

      yield* call("list", "resources/list", {})
      yield* call("sub", "resources/subscribe", { uri: "fixture://first" })
      assert.strictEqual(yield* subscriptions("s1"), `["fixture://first"]`)
      const before = yield* pidOf(session, "shared")
      // The server dies; the gateway restarts it, and subscribes the new process to what sessions still hold.
      yield* send("POST", session.request_url, {
        token,
        body: { jsonrpc: "2.0", id: "crash", method: "tools/call", params: { name: "shared__crash", arguments: {} } }
      })
      yield* awaitGone(before, 5_000)
      yield* Effect.sleep("1500 millis")
      assert.notStrictEqual(yield* pidOf(session, "shared"), before)
      assert.strictEqual(yield* subscriptions("s2"), `["fixture://first"]`)
      yield* call("unsub", "resources/unsubscribe", { uri: "fixture://first" })
      assert.strictEqual(yield* subscriptions("s3"), "[]")
      yield* send("DELETE", session.stream_url, { token })
    }), 30_000)

  it.effect("with two sessions busy on one backend, a request carrying a progress token reaches its own session", () =>
    Effect.gen(function*() {
      const open = () =>
        Effect.map(send("POST", "/gateway/stream", { token, body: { servers: ["shared"] } }), (r) =>
          r.body as { stream_url: string; request_url: string })
      const [a, b] = [yield* open(), yield* open()]
      const streamB = yield* events(b.stream_url, token)
      const bAsked = yield* streamB.events.pipe(
        Stream.filter((e) => e.event === "request"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      // B is busy too, so "the only busy session" cannot tell them apart.
      yield* send("POST", b.request_url, {
        token,
        body: { jsonrpc: "2.0", id: "busy", method: "tools/call", params: { name: "shared__slow", arguments: { ms: 3_000 } } }
      })
      const ask = (withToken: boolean) =>
        Effect.scoped(Effect.gen(function*() {
          const stream = yield* events(a.stream_url, token)
          const reading = yield* answeringUntil(a, stream.events, token, sampled("from a"))
          yield* send("POST", a.request_url, {
            token,
            body: {
              jsonrpc: "2.0",
              id: "ask",
              method: "tools/call",
              params: { name: "shared__ask", arguments: { prompt: "hi" }, ...(withToken ? { _meta: { progressToken: "mine" } } : {}) }
            }
          })
          return JSON.stringify((yield* Fiber.join(reading)).at(-1)?.data.response)
        }))
      assert.include(yield* ask(true), "reply: from a")
      // Without a token the backend is refused at once rather than one of the sessions misled.
      assert.include(yield* ask(false), "no client session can answer")
      assert.isUndefined(bAsked.pollUnsafe(), "B was never asked")
      yield* Fiber.interrupt(bAsked)
      for (const session of [a, b]) yield* send("DELETE", session.stream_url, { token })
    }), 30_000)
})
