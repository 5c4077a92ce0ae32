import { assert, describe, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { JSONRPCRequest } from "@modelcontextprotocol/client"
import * as Backend from "../../src/backend/Backend.ts"
import { EraCache } from "../../src/backend/EraCache.ts"
import * as ResourceHolders from "../../src/backend/ResourceHolders.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as Session from "../../src/session/Session.ts"
import type { SessionEvent } from "../../src/session/SessionEvent.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"

// Virtual time throughout (TestClock), and no real sleep: events come from broadcasts to no server (answered at
// once); where a real backend is needed (a request that never ends, the client's own id), it is a fixture process.
const layers = Layer.merge(Watchdog.layer, EraCache.layer())

/** A fixture server over stdio, ready: the legacy one unless told otherwise. */
const fixtureBackend = (args: ReadonlyArray<string> = [Fixtures.legacyServer]) => Effect.gen(function*() {
  const backend = yield* Backend.make({
    serverId: "fx",
    endpoint: { kind: "stdio", command: Fixtures.nodeBinary, args, env: {} },
    requestTimeout: "60 seconds",
    tracker: yield* Watchdog
  })
  yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
  return backend
})

const makeSession = (backends: ReadonlyMap<string, Backend.Backend>, overrides: Partial<Session.Options> = {}) =>
  Session.make({
    id: "s1",
    client: { id: "alice", servers: [...backends.keys()], namespacing: "on" },
    backends,
    maxPendingEvents: 100,
    heartbeatInterval: "30 seconds",
    idleTimeout: "1 hour",
    requestTimeout: () => Duration.seconds(10),
    ...overrides
  })

/** Collects events from a stream in the background; `take` resolves once `n` have arrived. */
const collect = (stream: Stream.Stream<SessionEvent>, n: number) =>
  stream.pipe(Stream.take(n), Stream.runCollect, Effect.forkChild({ startImmediately: true }))


/**
 * One `response` event, with no backend and no real I/O: a broadcast to a session of no server answers at once
 * (in a fiber of the session's, which runs before this returns).
 */
const answered = (session: Session.Session, id: number) =>
  Effect.andThen(session.submit({ jsonrpc: "2.0", id, method: "tools/list" }), Effect.yieldNow)

const call = (id: number, name: string, args: Record<string, unknown>) => ({
  jsonrpc: "2.0" as const,
  id,
  method: "tools/call",
  params: { name: `fx__${name}`, arguments: args }
})

describe("Session (virtual time)", () => {
  it.effect("sends a heartbeat every interval while a stream listens, none before", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map())
      const events = yield* collect(session.stream(undefined), 3)
      yield* TestClock.adjust("29 seconds")
      assert.isUndefined(events.pollUnsafe())
      yield* TestClock.adjust("61 seconds")
      const beats = yield* Fiber.join(events)
      assert.deepStrictEqual(beats.map((e) => e.event), ["heartbeat", "heartbeat", "heartbeat"])
      assert.deepStrictEqual(beats.map((e) => e.data), [{ timestamp: 30_000 }, { timestamp: 60_000 }, { timestamp: 90_000 }])
      assert.isTrue(beats[0]!.id < beats[1]!.id && beats[1]!.id < beats[2]!.id)
    }))

  it.effect("a request that finishes at once (a broadcast to no server) leaves nothing behind: its id is free again", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { maxPendingEvents: 10 })
      yield* Stream.runDrain(session.stream(undefined)).pipe(Effect.forkChild({ startImmediately: true }))
      // More than the in-flight limit (10), all with one id: a leaked entry would refuse one of them.
      for (let i = 0; i < 25; i++) {
        const accepted = yield* session.submit({ jsonrpc: "2.0", id: "same", method: "tools/list" })
        assert.isString(accepted.request_id)
        yield* Effect.yieldNow
      }
    }))

  it.effect("expires after the idle timeout with no stream and no request; `closed` is the last event", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { idleTimeout: "10 minutes" })
      yield* TestClock.adjust("9 minutes")
      yield* session.submit({ jsonrpc: "2.0", method: "notifications/initialized" }) // activity
      yield* TestClock.adjust("9 minutes")
      const waiting = yield* Effect.forkChild(session.closed)
      assert.isUndefined(waiting.pollUnsafe(), "activity 9 minutes ago: not idle long enough")
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(waiting), "expired")
      const all = yield* session.stream(0).pipe(Stream.runCollect)
      assert.deepStrictEqual(all.map((e) => e.event), ["closed"])
      assert.deepStrictEqual(all[0]?.data, { reason: "expired" })
    }))

  it.effect("an open stream keeps the session alive; the idle clock starts when it ends", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { idleTimeout: "10 minutes", heartbeatInterval: "1 hour" })
      const streaming = yield* Stream.runDrain(session.stream(undefined)).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("3 hours")
      const waiting = yield* Effect.forkChild(session.closed)
      assert.isUndefined(waiting.pollUnsafe())
      yield* Fiber.interrupt(streaming)
      yield* TestClock.adjust("9 minutes")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(waiting), "expired")
    }))

  it.effect("a request in flight keeps an unwatched session alive; the idle clock starts when it ends", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const session = yield* makeSession(new Map([["fx", backend]]), {
        idleTimeout: "10 minutes",
        requestTimeout: () => Duration.hours(1)
      })
      yield* session.submit(call(1, "slow", { ms: 600_000 }))
      const waiting = yield* Effect.forkChild(session.closed)
      yield* TestClock.adjust("30 minutes")
      assert.isUndefined(waiting.pollUnsafe(), "a request is in flight: not idle")
      // The client gives up on it: from now on the session is idle.
      yield* session.submit({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 1 } })
      yield* TestClock.adjust("9 minutes")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(waiting), "expired")
    }).pipe(Effect.provide(layers)))

  it.effect("a request waiting only on its client (an input_required question left unanswered) does not keep it alive", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend([Fixtures.modernServer, "--modern-only"])
      const session = yield* makeSession(new Map([["fx", backend]]), { idleTimeout: "10 minutes" })
      // The client opens a stream, gets the question, and goes away without answering.
      const asked = yield* session.stream(undefined).pipe(
        Stream.filter((e) => e.event === "request"),
        Stream.take(1),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      yield* session.submit(call(1, "confirm", {}))
      assert.strictEqual((yield* Fiber.join(asked).pipe(TestClock.withLive))[0]?.event, "request")
      const waiting = yield* Effect.forkChild(session.closed)
      yield* TestClock.adjust("9 minutes")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(yield* Fiber.join(waiting), "expired")
    }).pipe(Effect.provide(layers)))

  it.effect("a question of input_required left unanswered is not answered for the client: closing or cancelling sends no retry", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend([Fixtures.modernServer, "--modern-only"])
      const confirmations = backend.request({ jsonrpc: "2.0", id: "n", method: "tools/call", params: { name: "confirmations" } }).pipe(
        Effect.map((response) => "result" in response ? (response.result["content"] as Array<{ text: string }>)[0]?.text : undefined)
      )
      const asked = (session: Session.Session, id: number) =>
        Effect.gen(function*() {
          const question = yield* session.stream(undefined).pipe(
            Stream.filter((e) => e.event === "request"),
            Stream.runHead,
            Effect.forkChild({ startImmediately: true })
          )
          yield* session.submit(call(id, "confirm", {}))
          const event = yield* Fiber.join(question).pipe(TestClock.withLive)
          return event._tag === "Some" && event.value.event === "request" ? event.value.data.request : undefined
        })

      // The session closes (DELETE, expiry) while its client has the question.
      const closing = yield* Scope.make()
      const first = yield* makeSession(new Map([["fx", backend]])).pipe(Scope.provide(closing))
      assert.isDefined(yield* asked(first, 1))
      yield* first.close("client")
      yield* Scope.close(closing, Exit.void)

      // The client cancels its call, then answers the question anyway.
      const second = yield* makeSession(new Map([["fx", backend]]))
      const question = yield* asked(second, 2)
      yield* second.submit({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } })
      const late = yield* second.submit({ jsonrpc: "2.0", id: question!.id, result: { action: "accept", content: { ok: true } } }).pipe(Effect.flip)
      assert.strictEqual(late._tag, "UnknownResponse")

      assert.strictEqual(yield* confirmations.pipe(TestClock.withLive), "0")
      // The same call answered is retried (so the count does move).
      const third = yield* makeSession(new Map([["fx", backend]]))
      const answering = yield* asked(third, 3)
      const answered = yield* third.stream(undefined).pipe(
        Stream.filter((e) => e.event === "response"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* third.submit({ jsonrpc: "2.0", id: answering!.id, result: { action: "accept", content: { ok: true } } })
      yield* Fiber.join(answered).pipe(TestClock.withLive)
      assert.strictEqual(yield* confirmations.pipe(TestClock.withLive), "1")
    }).pipe(Effect.provide(layers)))

  it.effect("a session's log level is its own: on a shared server it filters that session's messages, never the others'", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const [quiet, chatty] = [
        yield* makeSession(new Map([["fx", backend]]), { id: "quiet" }),
        yield* makeSession(new Map([["fx", backend]]), { id: "chatty" })
      ]
      /** The log messages a session gets while its `emit` call runs (two at info). */
      const logsOf = (session: Session.Session, id: number) =>
        Effect.gen(function*() {
          const seen = yield* session.stream(undefined).pipe(
            Stream.takeUntil((e) => e.event === "response" && e.data.response.id === id),
            Stream.runCollect,
            Effect.forkChild({ startImmediately: true })
          )
          yield* session.submit(call(id, "emit", { count: 2, message: `from ${session.id}` }))
          const events = yield* Fiber.join(seen).pipe(TestClock.withLive)
          return events.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/message")
        })
      const levelSet = yield* quiet.stream(undefined).pipe(
        Stream.filter((e) => e.event === "response"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* quiet.submit({ jsonrpc: "2.0", id: 1, method: "logging/setLevel", params: { level: "error" } })
      yield* Fiber.join(levelSet).pipe(TestClock.withLive)
      assert.strictEqual((yield* logsOf(quiet, 2)).length, 0, "info is below the error level this session set")
      assert.strictEqual((yield* logsOf(chatty, 3)).length, 2, "another session on the same server still gets its info")
      // The same through the server's own name (`fx__logging/setLevel`): that server's level, in this session only.
      const narrow = yield* makeSession(new Map([["fx", backend]]), { id: "narrow" })
      const narrowed = yield* narrow.stream(undefined).pipe(
        Stream.filter((e) => e.event === "response"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* narrow.submit({ jsonrpc: "2.0", id: 4, method: "fx__logging/setLevel", params: { level: "warning" } })
      const answer = yield* Fiber.join(narrowed).pipe(TestClock.withLive)
      assert.deepStrictEqual(answer._tag === "Some" && answer.value.event === "response" ? answer.value.data.response : undefined, {
        jsonrpc: "2.0",
        id: 4,
        result: {}
      })
      assert.strictEqual((yield* logsOf(narrow, 5)).length, 0, "info is below the warning level set for fx")
      assert.strictEqual((yield* logsOf(chatty, 6)).length, 2)
      // A level MCP does not have is refused, as the server would refuse it.
      const refused = yield* narrow.stream(undefined).pipe(
        Stream.filter((e) => e.event === "response"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* narrow.submit({ jsonrpc: "2.0", id: 7, method: "fx__logging/setLevel", params: { level: "loud" } })
      const invalid = yield* Fiber.join(refused).pipe(TestClock.withLive)
      const invalidResponse = invalid._tag === "Some" && invalid.value.event === "response" ? invalid.value.data.response : undefined
      assert.strictEqual(invalidResponse !== undefined && "error" in invalidResponse ? invalidResponse.error.code : undefined, -32602)
    }).pipe(Effect.provide(layers)))

  it.effect("onAccepted names a request's id as it is given, before submit returns (or fails)", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map())
      const named: Array<string> = []
      const onAccepted = (requestId: string) => void named.push(requestId)
      const accepted = yield* session.submit({ jsonrpc: "2.0", id: 1, method: "tools/list" }, { onAccepted })
      assert.deepStrictEqual(named, [accepted.request_id])
      // Refused after its id was given (a server the session may not use): the edge is told, and can forget it.
      const refused = yield* session.submit({ jsonrpc: "2.0", id: 2, method: "elsewhere__tools/list" }, { onAccepted }).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "Forbidden")
      assert.strictEqual(named.length, 2)
      // A notification is given no id.
      yield* session.submit({ jsonrpc: "2.0", method: "notifications/roots/list_changed" }, { onAccepted })
      assert.strictEqual(named.length, 2)
    }).pipe(Effect.provide(layers)))

  it.effect("a heartbeat waiting in a stalled stream's queue does not count toward maxPendingEvents", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { maxPendingEvents: 3, heartbeatInterval: "1 second" })
      // The reader takes the first heartbeat and stalls; the second heartbeat then waits in its queue.
      yield* session.stream(undefined).pipe(Stream.tap(() => Effect.never), Stream.runDrain, Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("2 seconds")
      const waiting = yield* Effect.forkChild(session.closed)
      // A broadcast to no server answers at once: one `response` event each.
      for (let i = 0; i < 3; i++) {
        yield* session.submit({ jsonrpc: "2.0", id: i, method: "tools/list" })
        yield* Effect.yieldNow
      }
      assert.isUndefined(waiting.pollUnsafe(), "three events fit beside the waiting heartbeat")
      yield* session.submit({ jsonrpc: "2.0", id: 3, method: "tools/list" })
      yield* Effect.yieldNow
      assert.strictEqual(yield* Fiber.join(waiting), "overflow")
    }))

  it.effect("a request with no answer in time ends as an error event `request_timeout` with its request_id", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const session = yield* makeSession(new Map([["fx", backend]]))
      const events = yield* collect(session.stream(undefined), 1)
      const { request_id } = yield* session.submit(call(7, "slow", { ms: 600_000 }))
      yield* TestClock.adjust("9999 millis")
      assert.isUndefined(events.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const [error] = yield* Fiber.join(events)
      assert.strictEqual(error?.event, "error")
      if (error?.event !== "error") return
      assert.strictEqual(error.data.request_id, request_id)
      assert.strictEqual(error.data.server_id, "fx")
      assert.strictEqual(error.data.error.code, "request_timeout")
    }).pipe(Effect.provide(layers)))

  it.effect("a response carries the client's own JSON-RPC id", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const session = yield* makeSession(new Map([["fx", backend]]))
      const events = yield* collect(session.stream(undefined), 1)
      const { request_id } = yield* session.submit(call(42, "echo", { text: "hi" }))
      const [response] = yield* Fiber.join(events).pipe(TestClock.withLive)
      assert.strictEqual(response?.event, "response")
      if (response?.event !== "response") return
      assert.strictEqual(response.data.request_id, request_id)
      assert.strictEqual(response.data.server_id, "fx")
      assert.strictEqual(response.data.response.id, 42)
    }).pipe(Effect.provide(layers)))

  it.effect("an answer too deeply nested to print reaches its client as an error event for its request; the session goes on", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const session = yield* makeSession(new Map([["fx", backend]]))
      const events = yield* collect(session.stream(undefined), 2)
      const deep = yield* session.submit(call(1, "deep", { depth: 200_000 }))
      const next = yield* session.submit(call(2, "echo", { text: "still here" }))
      const [first, second] = yield* Fiber.join(events).pipe(TestClock.withLive)
      assert.strictEqual(first?.event, "error")
      if (first?.event !== "error") return
      assert.strictEqual(first.data.request_id, deep.request_id)
      assert.strictEqual(first.data.server_id, "fx")
      assert.strictEqual(first.data.error.code, "internal_error")
      assert.strictEqual(second?.event, "response")
      if (second?.event !== "response") return
      assert.strictEqual(second.data.request_id, next.request_id)
      assert.deepStrictEqual(second.data.response, { jsonrpc: "2.0", id: 2, result: { content: [{ type: "text", text: "still here" }] } })
    }).pipe(Effect.provide(layers)))

  it.effect("a client that does not read: heartbeats go first, then the session ends with `closed { overflow }`", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { maxPendingEvents: 5, heartbeatInterval: "1 second" })
      // A stream is attached (so heartbeats are due) but stalls after its first pull.
      yield* session.stream(undefined).pipe(
        Stream.tap(() => Effect.never),
        Stream.runDrain,
        Effect.forkChild({ startImmediately: true })
      )
      for (let i = 0; i < 4; i++) yield* answered(session, i)
      yield* TestClock.adjust("10 seconds") // 10 heartbeats due, none fits among the waiting events
      const waiting = yield* Effect.forkChild(session.closed)
      assert.isUndefined(waiting.pollUnsafe(), "heartbeats were dropped, not counted as overflow")
      // Well past the bound, however many events the stalled reader took in its one pull.
      for (let i = 4; i < 12; i++) {
        // Once it has overflowed, the session refuses more (SessionNotFound): that is expected here.
        yield* answered(session, i).pipe(Effect.catchTag("SessionNotFound", () => Effect.void))
      }
      assert.strictEqual(yield* Fiber.join(waiting), "overflow")
      const refused = yield* Effect.flip(answered(session, 99))
      assert.strictEqual(refused._tag, "SessionNotFound")
      const all = yield* session.stream(0).pipe(Stream.runCollect)
      assert.strictEqual(all.at(-1)?.event, "closed")
      assert.deepStrictEqual(all.at(-1)?.data, { reason: "overflow" })
    }))

  it.effect("reconnecting with Last-Event-ID replays what was missed, then goes live; a gap says events_lost", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map(), { maxPendingEvents: 3 })
      const first = yield* collect(session.stream(undefined), 2)
      yield* answered(session, 1)
      yield* answered(session, 2)
      const [one, two] = yield* Fiber.join(first)
      // The client saw only the first event before its connection dropped.
      const second = yield* collect(session.stream(one!.id), 2)
      yield* answered(session, 3)
      const [replayed, three] = yield* Fiber.join(second)
      assert.strictEqual(replayed?.id, two?.id)
      assert.isAbove(three!.id, two!.id)

      // More events than the buffer holds pass while no one listens; reconnecting from the start loses some.
      for (let i = 4; i < 7; i++) yield* answered(session, i)
      const third = yield* collect(session.stream(one!.id), 4)
      const [lost, ...rest] = yield* Fiber.join(third)
      assert.strictEqual(lost?.event, "error")
      assert.strictEqual(lost?.event === "error" ? lost.data.error.code : "", "events_lost")
      // Then the three it can still have, ids increasing along the stream.
      assert.deepStrictEqual(rest.map((e) => e.event === "response" ? e.data.response.id : e.event), [3, 4, 5])
      const ids = [lost!.id, ...rest.map((e) => e.id)]
      assert.deepStrictEqual(ids, [...ids].sort((a, b) => a - b))
      assert.isTrue(ids[0]! > one!.id)
    }))

  it.effect("a second stream takes over: the first one ends, and every later event goes to the second", () =>
    Effect.gen(function*() {
      const session = yield* makeSession(new Map())
      // The first client stalls on its first event, as a dead connection would.
      const took = yield* Deferred.make<void>()
      const first = yield* session.stream(undefined).pipe(
        Stream.tap(() => Effect.andThen(Deferred.succeed(took, undefined), Effect.never)),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      yield* answered(session, 0)
      yield* Deferred.await(took)
      const second = yield* collect(session.stream(undefined), 5)
      for (let i = 1; i <= 5; i++) yield* answered(session, i)
      const got = yield* Fiber.join(second)
      assert.deepStrictEqual(
        got.map((e) => (e.event === "response" ? e.data.response.id : e.event)),
        [1, 2, 3, 4, 5]
      )
      yield* Fiber.interrupt(first)
    }))

  it.effect("two reads of a URI the session never listed are both routed: they wait for one learning", () =>
    Effect.gen(function*() {
      const backend = yield* fixtureBackend()
      const session = yield* makeSession(new Map([["fx", backend]]))
      const read = (id: number) =>
        session.submit({ jsonrpc: "2.0", id, method: "resources/read", params: { uri: "fixture://first" } }).pipe(
          Effect.map(() => "accepted"),
          Effect.catch((error) => Effect.succeed(error._tag))
        )
      const results = yield* Effect.all([read(1), read(2)], { concurrency: "unbounded" }).pipe(TestClock.withLive)
      assert.deepStrictEqual(results, ["accepted", "accepted"])
    }).pipe(Effect.provide(layers)))

  it.effect("a burst of list_changed notices costs two listings, not one each", () =>
    Effect.gen(function*() {
      // A stub backend that counts its listings: no real server sends fifty notices on cue.
      let listener: Backend.NotificationListener | undefined
      let listings = 0
      const backend = {
        serverId: "fx",
        onNotification: (heard: Backend.NotificationListener) => Effect.sync(() => void (listener = heard)),
        attachRequests: () => Effect.void,
        resourceHolders: ResourceHolders.make(),
        request: (request: JSONRPCRequest) =>
          Effect.as(Effect.andThen(Effect.sync(() => listings++), Effect.sleep("200 millis")), {
            jsonrpc: "2.0" as const,
            id: request.id,
            result: { tools: [{ name: "t", inputSchema: { type: "object" } }] }
          })
      } as unknown as Backend.Backend
      const session = yield* makeSession(new Map([["fx", backend]]))
      // The client lists tools once: from then on the session refreshes its tool names on a change.
      yield* session.submit({ jsonrpc: "2.0", id: 1, method: "tools/list" })
      yield* TestClock.adjust("300 millis")
      listings = 0
      for (let i = 0; i < 50; i++) {
        listener!({ jsonrpc: "2.0", method: "notifications/tools/list_changed" }, undefined)
        yield* TestClock.adjust("2 millis")
      }
      yield* TestClock.adjust("1 second")
      assert.strictEqual(listings, 2, "one listing while the notices came, one after the last")
    }))
})
