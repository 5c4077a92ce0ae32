import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import {
  type FetchLike,
  GatewayClient,
  type GatewayClientOptions,
  type GatewayEvent,
  GatewayHttpError,
  type GatewaySession,
  type GatewaySessionEventMap,
  JsonRpcError,
  namespaced,
  parseNamespaced,
  RequestTimeoutError,
  SessionClosedError
} from "../../src/client/index.ts"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, sampled, serverUrl } from "../support/GatewayHttp.ts"

const token = "client-lib-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] },
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] }
  },
  clients: { tester: { token, servers: "*" } },
  streaming: { maxSessionsPerClient: 10, requestTimeoutSeconds: 20 }
}

/** The test gateway's origin. */
const baseUrl = Effect.map(serverUrl(), (url) => url.origin)

const eventNames = ["response", "chunk", "notification", "error", "request", "heartbeat", "closed"] as const

/** A session for the length of the test, closed at the end whatever happens; `events` records its stream. */
const openSession = (
  options: GatewayClientOptions & { readonly servers?: ReadonlyArray<string> } = {}
) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const client = new GatewayClient(yield* baseUrl, { token, reconnect: { initialDelayMs: 50 }, ...options })
      const session = yield* Effect.promise(() =>
        client.createSession(options.servers === undefined ? {} : { servers: options.servers })
      )
      const events: Array<GatewayEvent> = []
      for (const name of eventNames) session.addEventListener(name, (event) => events.push(event))
      return { session, events }
    }),
    ({ session }) => Effect.promise(() => session.close().catch(() => undefined))
  )

/** Resolves with the first event of this name that `predicate` accepts, or rejects after `ms`. */
const nextEvent = <K extends typeof eventNames[number]>(
  session: GatewaySession,
  name: K,
  predicate: (event: GatewaySessionEventMap[K]) => boolean = () => true,
  ms = 10_000
) =>
  new Promise<GatewaySessionEventMap[K]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event within ${ms} ms`)), ms)
    const listener = (event: GatewaySessionEventMap[K]) => {
      if (!predicate(event)) return
      clearTimeout(timer)
      session.removeEventListener(name, listener)
      resolve(event)
    }
    session.addEventListener(name, listener)
  })

const textOf = (result: { readonly content: ReadonlyArray<{ readonly [key: string]: unknown }> }) =>
  result.content.map((part) => String(part["text"])).join("")

const failure = <A>(promise: Promise<A>) =>
  Effect.promise(() => promise.then(() => assert.fail("expected a rejection"), (error: unknown) => error))

/** A fetch that records the stream GETs (their Last-Event-ID) and lets a test cut a stream's body short. */
const instrumentedFetch = (cut?: (getIndex: number) => ((text: string) => number | undefined) | undefined) => {
  const gets: Array<{ readonly lastEventId: string | null }> = []
  const fetch: FetchLike = async (input, init) => {
    const response = await globalThis.fetch(input, init)
    const headers = new Headers(init?.headers)
    if (headers.get("accept") !== "text/event-stream") return response
    const index = gets.push({ lastEventId: headers.get("last-event-id") }) - 1
    const cutAt = cut?.(index)
    if (cutAt === undefined || response.body === null) return response
    // Passes the stream through until `cutAt` finds its place, then fails it there as a dropped connection would
    // (mid-event, so the parser must discard the half event) and hangs up on the gateway.
    const reader = response.body.getReader()
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read()
        if (done) return controller.close()
        const at = cutAt(new TextDecoder().decode(value))
        if (at === undefined) return controller.enqueue(value)
        controller.enqueue(value.subarray(0, at))
        controller.error(new TypeError("connection dropped (test)"))
        await reader.cancel()
      },
      cancel: () => reader.cancel()
    })
    return new Response(body, { status: response.status, headers: response.headers })
  }
  return { fetch, gets }
}

layer(gatewayLayer(config), { timeout: 90_000, excludeTestServices: true })("GatewayClient against the real gateway", (it) => {
  it.effect("lists every server's tools (merged, namespaced) and calls one; errors are typed", () =>
    Effect.gen(function*() {
      const { session, events } = yield* openSession()
      assert.sameMembers(session.servers.map((s) => s.id), ["everything", "fixture"])

      const listed = yield* Effect.promise(() => session.listTools())
      const names = listed.tools.map((tool) => tool.name)
      assert.include(names, namespaced("everything", "echo"))
      assert.include(names, "fixture__echo")
      assert.deepStrictEqual(listed.errors, [])
      for (const name of names) assert.oneOf(parseNamespaced(name)?.server, ["everything", "fixture"], name)
      // One chunk per server came before the merged answer.
      const merged = events.find((e) => e.type === "response" && (e as GatewayEvent<"response">).detail.server_id === null)
      const chunks = events.filter((e): e is GatewayEvent<"chunk"> => e.type === "chunk")
      assert.sameMembers(chunks.map((e) => e.detail.server_id), ["everything", "fixture"])
      for (const chunk of chunks) assert.isBelow(chunk.id, merged!.id)

      const echoed = yield* Effect.promise(() => session.callTool("everything__echo", { message: "hello gateway" }))
      assert.include(textOf(echoed), "hello gateway")

      // The server's JSON-RPC error, the gateway's refusal of the POST, and the client's own timeout.
      const unknown = yield* failure(session.request("everything__no/such/method"))
      assert.instanceOf(unknown, JsonRpcError)
      assert.strictEqual((unknown as JsonRpcError).code, -32601)
      assert.strictEqual((unknown as JsonRpcError).serverId, "everything")

      const ambiguous = yield* failure(session.request("no/such/method"))
      assert.instanceOf(ambiguous, GatewayHttpError)
      assert.strictEqual((ambiguous as GatewayHttpError).status, 400)
      assert.strictEqual((ambiguous as GatewayHttpError).code, "ambiguous_method")

      const abortedBefore = textOf(yield* Effect.promise(() => session.callTool("fixture__aborted")))
      const late = yield* failure(session.callTool("fixture__slow", { ms: 10_000 }, { timeoutMs: 200 }))
      assert.instanceOf(late, RequestTimeoutError)
      // The client told the gateway to cancel it, and the gateway told the backend.
      yield* Effect.sleep("500 millis")
      const abortedAfter = textOf(yield* Effect.promise(() => session.callTool("fixture__aborted")))
      assert.strictEqual(Number(abortedAfter), Number(abortedBefore) + 1)
    }))

  it.effect("notifications arrive: the fixture's log messages and everything's progress with the client's token", () =>
    Effect.gen(function*() {
      const { session, events } = yield* openSession()
      const emitted = yield* Effect.promise(() => session.callTool("fixture__emit", { count: 3, message: "note" }))
      assert.strictEqual(textOf(emitted), "emitted 3")
      const logs = events.filter((e): e is GatewayEvent<"notification"> =>
        e.type === "notification" &&
        (e as GatewayEvent<"notification">).detail.notification.method === "notifications/message"
      )
      assert.lengthOf(logs, 3)
      for (const log of logs) {
        assert.strictEqual(log.detail.server_id, "fixture")
        assert.strictEqual(log.detail.notification.params?.["data"], "note")
      }

      const progress = nextEvent(session, "notification", (e) => e.detail.notification.method === "notifications/progress")
      yield* Effect.promise(() =>
        session.callTool("everything__trigger-long-running-operation", { duration: 0.2, steps: 2 }, { progressToken: "p-1" })
      )
      const first = yield* Effect.promise(() => progress)
      assert.strictEqual(first.detail.server_id, "everything")
      assert.strictEqual(first.detail.notification.params?.["progressToken"], "p-1")
    }))

  it.effect("a backend's sampling request becomes a `request` event; respond() sends the answer back", () =>
    Effect.gen(function*() {
      const { session } = yield* openSession({ servers: ["everything"] })
      const asked: Array<string> = []
      session.addEventListener("request", (event) => {
        asked.push(event.detail.request.method)
        void session.respond(event.detail.request.id, sampled("a sampled reply"))
      })
      const result = yield* Effect.promise(() =>
        session.callTool("everything__trigger-sampling-request", { prompt: "hello", maxTokens: 5 })
      )
      assert.deepStrictEqual(asked, ["sampling/createMessage"])
      assert.include(textOf(result), "a sampled reply")
    }))

  // Cut in the middle of the flood's first log message (no event whole yet), and of its fifth.
  for (const nth of [1, 5]) {
    it.effect(`reconnects with Last-Event-ID after the stream drops in event ${nth}: no event lost, none twice`, () =>
      Effect.gen(function*() {
        let seen = 0
        const { fetch, gets } = instrumentedFetch((index) =>
          index === 0
            ? (text) => {
              const marker = "notifications/message"
              for (let at = text.indexOf(marker); at !== -1; at = text.indexOf(marker, at + 1)) {
                if (++seen === nth) return Buffer.byteLength(text.slice(0, at))
              }
              return undefined
            }
            : undefined
        )
        const { session, events } = yield* openSession({ servers: ["fixture"], fetch })
        const reconnects: Array<{ attempt: number; lastEventId: string | undefined; delayMs: number }> = []
        session.addEventListener("reconnecting", (e) => reconnects.push(e.detail))
        const flooded = yield* Effect.promise(() => session.callTool("fixture__flood", { count: 30 }, { timeoutMs: 10_000 }))
        assert.match(textOf(flooded), /^flooded 30/)

        assert.lengthOf(reconnects, 1)
        assert.strictEqual(reconnects[0]!.attempt, 1)
        assert.isAtMost(reconnects[0]!.delayMs, 50)
        assert.lengthOf(gets, 2)
        assert.isNull(gets[0]!.lastEventId)
        // The client resumed from the last event it had whole (before any: 0, everything).
        const ids = events.map((e) => e.id)
        assert.strictEqual(gets[1]!.lastEventId, nth === 1 ? "0" : String(ids[nth - 2]))
        assert.strictEqual(reconnects[0]!.lastEventId, gets[1]!.lastEventId)

        assert.deepStrictEqual(ids, Array.from(ids, (_, i) => ids[0]! + i), "ids are contiguous")
        const seqs = events
          .filter((e): e is GatewayEvent<"notification"> => e.type === "notification")
          .map((e) => (e.detail.notification.params?.["data"] as { seq: number }).seq)
        assert.deepStrictEqual(seqs, Array.from({ length: 30 }, (_, i) => i))
      }))
  }

  it.effect("a second GET takes the stream over: the client reconnects and goes on", () =>
    Effect.gen(function*() {
      const { session } = yield* openSession({ servers: ["fixture"] })
      const reconnecting = new Promise((resolve) => session.addEventListener("reconnecting", resolve, { once: true }))
      // Someone else opens the session's stream: the gateway ends the client's.
      const streamUrl = new URL(`/gateway/stream/${session.id}`, yield* baseUrl)
      const other = yield* Effect.promise(() => globalThis.fetch(streamUrl, { headers: { authorization: `Bearer ${token}` } }))
      yield* Effect.promise(() => reconnecting)
      yield* Effect.promise(() => other.body!.cancel())
      const echoed = yield* Effect.promise(() => session.callTool("fixture__echo", { text: "still here" }))
      assert.strictEqual(textOf(echoed), "still here")
    }))

  it.effect("the gateway ends the stream mid-flood (another GET takes it over): the client resumes, no event lost, none twice", () =>
    Effect.gen(function*() {
      const { session, events } = yield* openSession({ servers: ["fixture"] })
      const reconnects: Array<{ lastEventId: string | undefined }> = []
      session.addEventListener("reconnecting", (e) => reconnects.push(e.detail))
      // Once the flood is flowing, someone else opens the session's stream: the gateway ends the client's.
      const streamUrl = new URL(`/gateway/stream/${session.id}`, yield* baseUrl)
      let heard = 0
      let other: Promise<Response> | undefined
      session.addEventListener("notification", () => {
        if (++heard === 20) other = globalThis.fetch(streamUrl, { headers: { authorization: `Bearer ${token}` } })
      })
      // Within the replay depth (maxPendingEvents, 1000 here), so that everything missed can be replayed.
      const count = 800
      const flooded = yield* Effect.promise(() => session.callTool("fixture__flood", { count }, { timeoutMs: 20_000 }))
      assert.match(textOf(flooded), /^flooded 800/)
      yield* Effect.promise(async () => (await other)?.body?.cancel())

      // The gateway ended the stream (no network trick): the client reconnected from the last event it had.
      assert.isAtLeast(reconnects.length, 1)
      assert.isDefined(reconnects[0]!.lastEventId)
      const seqs = events
        .filter((e): e is GatewayEvent<"notification"> => e.type === "notification")
        .map((e) => (e.detail.notification.params?.["data"] as { seq: number }).seq)
      assert.deepStrictEqual(seqs, Array.from({ length: count }, (_, i) => i))
      const ids = events.map((e) => e.id)
      assert.strictEqual(new Set(ids).size, ids.length, "no event twice")
    }))

  it.effect("close() deletes the session: `closed` is the last event, no reconnect, requests fail typed", () =>
    Effect.gen(function*() {
      const { fetch, gets } = instrumentedFetch()
      const { session, events } = yield* openSession({ servers: ["fixture"], fetch })
      let reconnects = 0
      session.addEventListener("reconnecting", () => reconnects++)
      yield* Effect.promise(() => session.callTool("fixture__echo", { text: "before" }))
      const pending = session.callTool("fixture__slow", { ms: 10_000 })
      yield* Effect.sleep("200 millis")
      yield* Effect.promise(() => session.close())

      assert.instanceOf(yield* failure(pending), SessionClosedError)
      assert.strictEqual(events.at(-1)?.type, "closed")
      assert.deepStrictEqual(events.at(-1)?.detail, { reason: "client" })
      assert.strictEqual(session.closedReason, "client")
      const closedError = yield* failure(session.callTool("fixture__echo", { text: "after" }))
      assert.instanceOf(closedError, SessionClosedError)
      assert.strictEqual((closedError as SessionClosedError).reason, "client")

      yield* Effect.sleep("300 millis")
      assert.strictEqual(reconnects, 0)
      assert.lengthOf(gets, 1)
      // The gateway has forgotten the session.
      const streamUrl = new URL(`/gateway/stream/${session.id}`, yield* baseUrl)
      const gone = yield* Effect.promise(() => globalThis.fetch(streamUrl, { headers: { authorization: `Bearer ${token}` } }))
      assert.strictEqual(gone.status, 404)
    }))

  it.effect("createSession rejects with GatewayHttpError: a bad token, a server the client may not use", () =>
    Effect.gen(function*() {
      const url = yield* baseUrl
      const unauthorized = yield* failure(new GatewayClient(url, { token: "wrong-token-0123456789" }).createSession())
      assert.instanceOf(unauthorized, GatewayHttpError)
      assert.strictEqual((unauthorized as GatewayHttpError).status, 401)
      assert.strictEqual((unauthorized as GatewayHttpError).code, "unauthorized")
      const forbidden = yield* failure(new GatewayClient(url, { token }).createSession({ servers: ["nowhere"] }))
      assert.instanceOf(forbidden, GatewayHttpError)
      assert.strictEqual((forbidden as GatewayHttpError).status, 403)
    }))
})
