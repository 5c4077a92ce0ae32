import type { JSONRPCMessage, JSONRPCRequest } from "@modelcontextprotocol/server"
import { assert, describe, it } from "@effect/vitest"
import { type Cause, Context, Effect, Fiber, Layer, Option, Queue, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { HttpServerResponse } from "effect/http"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import { GatewayConfig } from "../../src/config/GatewayConfig.ts"
import type { Client } from "../../src/http/Auth.ts"
import { ModernRequests } from "../../src/mcp/ModernRequests.ts"
import type { Session } from "../../src/session/Session.ts"
import type { SessionEvent, Unnumbered } from "../../src/session/SessionEvent.ts"
import { SessionManager } from "../../src/session/SessionManager.ts"

// ModernRequests against a session of the test's own (no backend, no HTTP): the test plays the session's events
// and sees what the hub submits, on virtual time.

const client: Client = { id: "alice", servers: ["s"], namespacing: "on", deferredLoading: false }

/** A hub session the test drives: it answers list requests itself (empty lists) and records every submit. */
const fakeSession = Effect.gen(function*() {
  const events = yield* Queue.unbounded<SessionEvent, Cause.Done>()
  const submitted: Array<JSONRPCMessage> = []
  let eventId = 0
  let requestId = 0
  const emit = (event: Unnumbered) => Queue.offerUnsafe(events, { id: ++eventId, ...event } as SessionEvent)
  const session: Session = {
    id: "hub",
    clientId: client.id,
    servers: Effect.succeed([{ id: "s", status: "ready", capabilities: { tools: { listChanged: true } } }]),
    serversNow: Effect.succeed([{ id: "s", status: "ready", capabilities: { tools: { listChanged: true } } }]),
    stream: () => Stream.fromQueue(events),
    frames: () => Stream.die("the hub is read as events, never as SSE frames"),
    submit: (message, options) =>
      // `s__slow` takes ten seconds to be accepted (as a read of a URI the session never listed waits while it
      // learns its servers' resources).
      Effect.andThen(
        "method" in message && message.params?.["name"] === "s__slow" ? Effect.sleep("10 seconds") : Effect.void,
        Effect.sync(() => {
        submitted.push(message)
        if (!("method" in message) || !("id" in message)) return { request_id: null }
        const request_id = String(++requestId)
        options?.onAccepted?.(request_id)
        if (message.method.endsWith("/list")) {
          emit({ event: "response", data: { request_id, server_id: null, response: { jsonrpc: "2.0", id: message.id, result: { tools: [] } } } })
        }
        return { request_id }
      })),
    close: () => Effect.void,
    closed: Effect.never,
    isClosed: Effect.succeed(false)
  }
  return { session, submitted, emit, end: (reason: "shutdown") => emit({ event: "closed", data: { reason } }) }
})

const config = ConfigLoader.decode({
  mcpServers: { s: { command: "unused" } },
  clients: { alice: { token: "alice-token-0123456789", servers: "*" } },
  streaming: { requestTimeoutSeconds: 30 }
}, { source: "test config", env: {} }).pipe(Effect.orDie)

/** ModernRequests over the fake session; `handle` with the headers a modern client sends. */
const setup = Effect.gen(function*() {
  const hub = yield* fakeSession
  const manager = SessionManager.of({
    create: () => Effect.succeed({ session: hub.session, servers: [{ id: "s", status: "ready", capabilities: { tools: {} } }] }),
    get: () => Effect.die("unused"),
    close: () => Effect.die("unused"),
    count: Effect.succeed(1),
    closeAll: () => Effect.void
  })
  const layer = ModernRequests.layer.pipe(
    Layer.provide(Layer.succeed(SessionManager, manager)),
    Layer.provide(GatewayConfig.layer(yield* config))
  )
  const requests = Context.get(yield* Layer.build(layer), ModernRequests)
  const handle = (request: JSONRPCRequest) =>
    requests.handle(client, request, {
      "mcp-method": request.method,
      ...(typeof request.params?.["name"] === "string" ? { "mcp-name": request.params["name"] } : {})
    })
  return { hub, handle }
})

const envelope = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientInfo": { name: "test", version: "1" },
  "io.modelcontextprotocol/clientCapabilities": { sampling: {} }
}

/** A JSON answer's body. */
const jsonOf = (response: HttpServerResponse.HttpServerResponse): any =>
  response.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(response.body.body)) : undefined

const bodyText = (stream: Stream.Stream<Uint8Array, unknown>) =>
  stream.pipe(Stream.decodeText, Stream.mkString)

describe("ModernRequests", () => {
  it.effect("a listen stream ends when the hub's session closes (its keep-alives do not keep it open)", () =>
    Effect.gen(function*() {
      const { hub, handle } = yield* setup
      const response = yield* handle({
        jsonrpc: "2.0",
        id: "listen-1",
        method: "subscriptions/listen",
        params: { notifications: { toolsListChanged: true }, _meta: envelope }
      })
      assert.strictEqual(response.body._tag, "Stream")
      if (response.body._tag !== "Stream") return
      const reading = yield* bodyText(response.body.stream).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("20 seconds")
      assert.isUndefined(reading.pollUnsafe(), "open while the hub lives")
      hub.end("shutdown")
      const ended = yield* Fiber.join(reading).pipe(Effect.timeoutOption("1 minute"), Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("2 minutes")
      const text = yield* Fiber.join(ended)
      assert.isTrue(Option.isSome(text), "the stream ended with the hub")
      assert.include(Option.getOrElse(text, () => ""), "listen-1")
    }))

  it.effect("a legacy backend's question the client never comes back for is answered and its call cancelled after the request timeout", () =>
    Effect.gen(function*() {
      const { hub, handle } = yield* setup
      const call = yield* handle({
        jsonrpc: "2.0",
        id: 7,
        method: "tools/call",
        params: { name: "s__ask", arguments: {}, _meta: envelope }
      }).pipe(Effect.forkChild({ startImmediately: true }))
      // The call reaches the hub's session under an id of the hub's own; its backend then asks the client.
      yield* TestClock.adjust("1 millis")
      const submittedCall = hub.submitted.find((m) => "method" in m && m.method === "tools/call")
      assert.isDefined(submittedCall)
      const unique = submittedCall !== undefined && "id" in submittedCall ? submittedCall.id : undefined
      hub.emit({
        event: "request",
        data: { server_id: "s", request: { jsonrpc: "2.0", id: "s:1", method: "sampling/createMessage", params: { messages: [], maxTokens: 5 } } }
      })
      const answered = yield* Fiber.join(call)
      const body = answered.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(answered.body.body)) : undefined
      assert.strictEqual(body?.result?.resultType, "input_required")
      assert.strictEqual(body?.result?.requestState, unique)

      // The client never retries. Until the timeout nothing happens; then the backend hears no, and the call ends.
      const toBackend = () => hub.submitted.filter((m) => ("id" in m && m.id === "s:1") || ("method" in m && m.method === "notifications/cancelled"))
      yield* TestClock.adjust("29 seconds")
      assert.deepStrictEqual(toBackend(), [])
      yield* TestClock.adjust("1 second")
      const [refusal, cancelled] = toBackend()
      assert.isTrue(refusal !== undefined && "error" in refusal, JSON.stringify(toBackend()))
      assert.deepStrictEqual(cancelled !== undefined && "params" in cancelled ? cancelled.params : undefined, { requestId: unique })

      // A late retry is refused: its call is over, and nothing is sent for it.
      const before = hub.submitted.length
      const late = yield* handle({
        jsonrpc: "2.0",
        id: 8,
        method: "tools/call",
        params: { name: "s__ask", arguments: {}, requestState: String(unique), inputResponses: { "s:1": { role: "assistant" } }, _meta: envelope }
      })
      assert.strictEqual(jsonOf(late)?.error?.code, -32602)
      assert.deepStrictEqual(hub.submitted.slice(before), [], "nothing is sent to the backend for a call that ended")
    }))

  it.effect("a retry resumes its call once, with answers to the questions it was asked only; its state is not guessable", () =>
    Effect.gen(function*() {
      const { hub, handle } = yield* setup
      const call = yield* handle({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "s__ask", arguments: {}, _meta: envelope } })
        .pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1 millis")
      hub.emit({ event: "request", data: { server_id: "s", request: { jsonrpc: "2.0", id: "s:1", method: "sampling/createMessage", params: {} } } })
      const state = jsonOf(yield* Fiber.join(call))?.result?.requestState as string
      assert.match(state, /^gw-call-[A-Za-z0-9_-]{20,}$/)

      const retry = { name: "s__ask", arguments: {}, requestState: state, _meta: envelope }
      const before = hub.submitted.length
      const resumed = yield* handle({
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { ...retry, inputResponses: { "s:1": { role: "assistant" }, "s:9": { role: "assistant" } } }
      }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1 millis")
      const answers = hub.submitted.slice(before).filter((m) => "result" in m).map((m) => ("id" in m ? m.id : undefined))
      assert.deepStrictEqual(answers, ["s:1"], "an answer to a question never asked is not sent on")
      // The same retry again (replayed, or another client sharing the hub) is refused while the first waits.
      const replayed = yield* handle({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { ...retry, inputResponses: {} } })
      assert.strictEqual(jsonOf(replayed)?.error?.code, -32602)
      yield* Fiber.interrupt(resumed)
    }))

  it.effect("a client that leaves while its call is still being submitted leaves no call behind to be asked", () =>
    Effect.gen(function*() {
      const { hub, handle } = yield* setup
      const leaving = yield* handle({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "s__slow", arguments: {}, _meta: envelope } })
        .pipe(Effect.forkChild({ startImmediately: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.interrupt(leaving)
      // Now the only call to `s` is this one: a question from `s` that names no call is its.
      const call = yield* handle({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "s__ask", arguments: {}, _meta: envelope } })
        .pipe(Effect.forkChild({ startImmediately: true }))
      for (let turn = 0; turn < 100 && !hub.submitted.some((m) => "method" in m && m.method === "tools/call"); turn++) {
        yield* TestClock.adjust("1 millis")
      }
      hub.emit({ event: "request", data: { server_id: "s", request: { jsonrpc: "2.0", id: "s:1", method: "sampling/createMessage", params: {} } } })
      assert.strictEqual(jsonOf(yield* Fiber.join(call))?.result?.resultType, "input_required")
    }))

  it.effect("a backend's question that echoes a call's progress token goes to that call, whatever else is in flight", () =>
    Effect.gen(function*() {
      const { hub, handle } = yield* setup
      const ask = (id: number) =>
        handle({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "s__ask", arguments: {}, _meta: { ...envelope, progressToken: `p${id}` } } })
          .pipe(Effect.forkChild({ startImmediately: true }))
      const [first, second] = [yield* ask(1), yield* ask(2)]
      const submittedCalls = () => hub.submitted.filter((m) => "method" in m && m.method === "tools/call")
      for (let turn = 0; turn < 100 && submittedCalls().length < 2; turn++) yield* TestClock.adjust("1 millis")
      // The second call's request_id in the hub's session (the fake numbers requests as they come); the backend
      // echoes the session's token for it, `<session>/<request_id>`.
      const requests = hub.submitted.filter((m) => "method" in m && "id" in m)
      const requestId = (requests as Array<JSONRPCMessage>).indexOf(submittedCalls()[1]!) + 1
      // Another session's token with the same number is not this hub's: with two calls in flight, no one is asked.
      hub.emit({
        event: "request",
        data: { server_id: "s", request: { jsonrpc: "2.0", id: "s:0", method: "sampling/createMessage", params: { _meta: { progressToken: `other/${requestId}` } } } }
      })
      for (let turn = 0; turn < 100 && !hub.submitted.some((m) => "id" in m && m.id === "s:0"); turn++) yield* TestClock.adjust("1 millis")
      const refused = hub.submitted.find((m) => "id" in m && m.id === "s:0")
      assert.isTrue(refused !== undefined && "error" in refused, "the backend is told no call asked")
      assert.isUndefined(second.pollUnsafe())
      hub.emit({
        event: "request",
        data: { server_id: "s", request: { jsonrpc: "2.0", id: "s:1", method: "sampling/createMessage", params: { _meta: { progressToken: `hub/${requestId}` } } } }
      })
      yield* TestClock.adjust("1 millis")
      const answered = yield* Fiber.join(second).pipe(Effect.map((response) => {
        const body = response.body
        return body._tag === "Stream" ? undefined : jsonOf(response)
      }))
      assert.isUndefined(first.pollUnsafe(), "the other call is not asked")
      assert.isDefined(answered, "asked as a JSON input_required or a stream")
      yield* Fiber.interrupt(first)
    }))
})
