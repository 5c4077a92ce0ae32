import { assert, describe, it } from "@effect/vitest"
import {
  type FetchLike,
  GatewayClient,
  GatewayEventError,
  GatewayHttpError,
  GatewayNetworkError,
  type GatewaySession,
  JsonRpcError,
  type ReconnectingDetail,
  SessionClosedError,
  type StreamErrorDetail
} from "../../src/client/index.ts"

// A scripted gateway behind `fetch`, for the orderings the real one produces only by chance: an answer on the
// stream before the POST's 202, `retry:`, a refused reconnect, the gateway closing the session.

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } })

interface Post {
  readonly body: { readonly [key: string]: unknown }
  readonly reply: (status: number, body: unknown) => void
}

class FakeGateway {
  readonly streams: Array<{
    readonly lastEventId: string | null
    readonly controller: ReadableStreamDefaultController<Uint8Array>
  }> = []
  readonly posts: Array<Post> = []
  /** Statuses for the next GETs (200 once the list is empty). */
  readonly getStatuses: Array<number> = []
  deletes = 0
  /** Text the first stream already holds when it opens (what the session queued before the client's GET). */
  queued: string | undefined
  readonly #encoder = new TextEncoder()

  readonly fetch: FetchLike = async (input, init) => {
    const url = new URL(input)
    const method = init?.method ?? "GET"
    const headers = new Headers(init?.headers)
    assert.strictEqual(headers.get("authorization"), "Bearer t")
    if (method === "POST" && url.pathname === "/gateway/stream") {
      const base = "/gateway/stream/s1"
      return json(201, { session_id: "s1", stream_url: base, request_url: `${base}/request`, servers: [] })
    }
    if (method === "GET") {
      const status = this.getStatuses.shift() ?? 200
      if (status !== 200) return json(status, { error: { code: "session_not_found", message: "no such session" } })
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          if (this.queued !== undefined && this.streams.length === 0) controller.enqueue(this.#encoder.encode(this.queued))
          this.streams.push({ lastEventId: headers.get("last-event-id"), controller })
        }
      })
      return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } })
    }
    if (method === "POST") {
      const body = JSON.parse(String(init?.body))
      return new Promise((resolve) => this.posts.push({ body, reply: (status, reply) => resolve(json(status, reply)) }))
    }
    this.deletes++
    return new Response(null, { status: 204 })
  }

  /** Writes raw text to the newest stream. */
  write(text: string): void {
    this.streams.at(-1)!.controller.enqueue(this.#encoder.encode(text))
  }

  event(id: number, event: string, data: unknown): void {
    this.write(`id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  /** Ends the newest stream, as a proxy or a network would (no `closed` event). */
  drop(): void {
    this.streams.at(-1)!.controller.close()
  }
}

const until = async (condition: () => boolean, ms = 2000): Promise<void> => {
  const deadline = performance.now() + ms
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("timed out waiting")
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}

const start = async (
  options: {
    readonly initialDelayMs?: number
    readonly maxAttempts?: number
    readonly idleTimeoutMs?: number
    readonly queued?: string
  } = {}
) => {
  const gateway = new FakeGateway()
  gateway.queued = options.queued
  const client = new GatewayClient("http://gateway.test", {
    token: "t",
    fetch: gateway.fetch,
    reconnect: {
      initialDelayMs: options.initialDelayMs ?? 10,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: options.idleTimeoutMs })
    }
  })
  const session = await client.createSession()
  return { gateway, session }
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(() => assert.fail("expected a rejection"), (error: unknown) => error)

const recorder = <D>(session: GatewaySession, name: "reconnecting" | "stream-error") => {
  const seen: Array<D> = []
  session.addEventListener(name, (event) => seen.push(event.detail as D))
  return seen
}

describe("GatewaySession, against a scripted gateway", () => {
  it("events the stream holds when it opens reach listeners added just after createSession()", async () => {
    const request = { jsonrpc: "2.0", id: "srv:1", method: "roots/list" }
    const { session } = await start({ queued: `id: 1\nevent: request\ndata: ${JSON.stringify({ server_id: "srv", request })}\n\n` })
    const seen: Array<unknown> = []
    session.addEventListener("request", (event) => seen.push(event.detail))
    await until(() => seen.length === 1)
    assert.deepStrictEqual(seen, [{ server_id: "srv", request }])
  })

  it("settles a request whose answer reaches the stream before the POST's 202", async () => {
    const { gateway, session } = await start()
    const answer = session.request("srv__ping")
    await until(() => gateway.posts.length === 1)
    const id = gateway.posts[0]!.body["id"]
    gateway.event(1, "response", { request_id: "r1", server_id: "srv", response: { jsonrpc: "2.0", id, result: { ok: 1 } } })
    await new Promise((resolve) => setTimeout(resolve, 20))
    gateway.posts[0]!.reply(202, { request_id: "r1" })
    assert.deepStrictEqual(await answer, { ok: 1 })
  })

  it("rejects typed: JsonRpcError (error response), GatewayEventError (`error` event), GatewayHttpError (POST)", async () => {
    const { gateway, session } = await start()
    const [a, b, c] = [session.request("srv__a"), session.request("srv__b"), session.request("nope")]
    await until(() => gateway.posts.length === 3)
    gateway.posts[0]!.reply(202, { request_id: "ra" })
    gateway.posts[1]!.reply(202, { request_id: "rb" })
    gateway.posts[2]!.reply(400, { error: { code: "ambiguous_method", message: "name a server" } })
    gateway.event(1, "response", {
      request_id: "ra",
      server_id: "srv",
      response: { jsonrpc: "2.0", id: gateway.posts[0]!.body["id"], error: { code: -32601, message: "no", data: 7 } }
    })
    gateway.event(2, "error", { request_id: "rb", server_id: "srv", error: { code: "request_timeout", message: "too slow" } })
    const [ea, eb, ec] = await Promise.all([rejection(a), rejection(b), rejection(c)])
    assert.instanceOf(ea, JsonRpcError)
    assert.deepInclude(ea, { code: -32601, message: "no", data: 7, serverId: "srv" })
    assert.instanceOf(eb, GatewayEventError)
    assert.deepInclude(eb, { code: "request_timeout", message: "too slow", serverId: "srv" })
    assert.instanceOf(ec, GatewayHttpError)
    assert.deepInclude(ec, { status: 400, code: "ambiguous_method", message: "name a server" })
  })

  it("respond() posts a result, or `{ error }` as a JSON-RPC error response; notify() posts a notification", async () => {
    const { gateway, session } = await start()
    const done = [
      session.respond("srv:1", { role: "assistant", content: { type: "text", text: "hi" }, model: "m" }),
      session.respond("srv:2", { error: { code: -1, message: "declined" } }),
      session.notify("notifications/cancelled", { requestId: 3 })
    ]
    await until(() => gateway.posts.length === 3)
    for (const post of gateway.posts) post.reply(202, { request_id: null })
    await Promise.all(done)
    assert.deepStrictEqual(gateway.posts.map((p) => p.body), [
      { jsonrpc: "2.0", id: "srv:1", result: { role: "assistant", content: { type: "text", text: "hi" }, model: "m" } },
      { jsonrpc: "2.0", id: "srv:2", error: { code: -1, message: "declined" } },
      { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 3 } }
    ])
  })

  it("honours `retry:`, resumes with Last-Event-ID, and surfaces events_lost as an `error` event", async () => {
    // A 10 s initial delay: only the gateway's `retry: 20` makes the reconnect this quick.
    const { gateway, session } = await start({ initialDelayMs: 10_000 })
    const reconnects = recorder<ReconnectingDetail>(session, "reconnecting")
    const errors: Array<unknown> = []
    session.addEventListener("error", (event) => errors.push(event.detail.error.code))
    gateway.write("retry: 20\n\n")
    gateway.event(3, "heartbeat", { timestamp: 1 })
    gateway.drop()
    await until(() => gateway.streams.length === 2)
    assert.strictEqual(gateway.streams[1]!.lastEventId, "3")
    assert.strictEqual(reconnects.length, 1)
    assert.isAtLeast(reconnects[0]!.delayMs, 10)
    assert.isAtMost(reconnects[0]!.delayMs, 20)
    gateway.event(9, "error", { error: { code: "events_lost", message: "events 4 to 9 are gone" } })
    await until(() => errors.length === 1)
    assert.deepStrictEqual(errors, ["events_lost"])
    assert.strictEqual(session.lastEventId, "9")
  })

  it("backs off exponentially with jitter while the gateway refuses, and gives up after maxAttempts", async () => {
    const { gateway, session } = await start({ initialDelayMs: 8, maxAttempts: 4 })
    const reconnects = recorder<ReconnectingDetail>(session, "reconnecting")
    const streamErrors = recorder<StreamErrorDetail>(session, "stream-error")
    const waiting = rejection(session.request("srv__a"))
    gateway.getStatuses.push(503, 503, 503, 503)
    gateway.drop()
    await until(() => streamErrors.some((e) => !e.willReconnect))
    assert.deepStrictEqual(reconnects.map((r) => r.attempt), [1, 2, 3, 4])
    reconnects.forEach((r, i) => {
      const ceiling = 8 * 2 ** i
      assert.isAtLeast(r.delayMs, ceiling / 2)
      assert.isAtMost(r.delayMs, ceiling)
    })
    const error = await waiting
    assert.instanceOf(error, SessionClosedError)
    assert.strictEqual((error as SessionClosedError).reason, "stream_failed")
    assert.strictEqual(session.closedReason, "stream_failed")
  })

  it("a reconnect refused for good (404) ends the session at once: no more attempts, requests reject", async () => {
    const { gateway, session } = await start()
    const streamErrors = recorder<StreamErrorDetail>(session, "stream-error")
    const waiting = session.request("srv__a")
    gateway.getStatuses.push(404)
    gateway.drop()
    const error = await rejection(waiting)
    assert.instanceOf(error, SessionClosedError)
    assert.instanceOf((error as SessionClosedError).cause, GatewayHttpError)
    assert.deepStrictEqual(streamErrors.map((e) => e.willReconnect), [true, false])
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.lengthOf(gateway.streams, 1)
    await rejection(session.request("srv__b"))
  })

  it("the gateway's `closed` ends the session: no reconnect, waiting requests reject with its reason", async () => {
    const { gateway, session } = await start()
    const reconnects = recorder<ReconnectingDetail>(session, "reconnecting")
    const closed: Array<unknown> = []
    session.addEventListener("closed", (event) => closed.push([event.id, event.detail]))
    const waiting = session.request("srv__a")
    gateway.event(1, "closed", { reason: "expired" })
    gateway.drop()
    const error = await rejection(waiting)
    assert.strictEqual((error as SessionClosedError).reason, "expired")
    assert.deepStrictEqual(closed, [[1, { reason: "expired" }]])
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.lengthOf(reconnects, 0)
    assert.lengthOf(gateway.streams, 1)
    // Already closed by the gateway: close() has nothing to delete.
    await session.close()
    assert.strictEqual(gateway.deletes, 0)
  })

  it("close() while waiting to reconnect deletes the session and does not reopen its stream", async () => {
    const { gateway, session } = await start({ initialDelayMs: 100 })
    const reconnecting = new Promise((resolve) => session.addEventListener("reconnecting", resolve, { once: true }))
    gateway.drop()
    await reconnecting
    await session.close()
    await new Promise((resolve) => setTimeout(resolve, 150))
    assert.strictEqual(gateway.deletes, 1)
    assert.lengthOf(gateway.streams, 1)
    assert.strictEqual(session.closedReason, "client")
  })

  it("events_lost fails every accepted request (its answer may be among the lost events) instead of leaving it waiting", async () => {
    const { gateway, session } = await start()
    const answer = session.request("srv__slow")
    await until(() => gateway.posts.length === 1)
    gateway.posts[0]!.reply(202, { request_id: "r1" })
    await new Promise((resolve) => setTimeout(resolve, 10))
    gateway.event(5, "error", { error: { code: "events_lost", message: "events after 1 up to 5 are gone" } })
    const error = await rejection(answer)
    assert.instanceOf(error, GatewayEventError)
    assert.deepInclude(error, { code: "events_lost" })
  })

  it("answers that beat their 202 settle their requests while another POST stays in flight all along", async () => {
    const { gateway, session } = await start()
    const blocker = session.request("srv__blocker") // its POST never completes while the others run
    await until(() => gateway.posts.length === 1)
    for (let n = 0; n < 5; n++) {
      const answer = session.request("srv__ping")
      await until(() => gateway.posts.length === n + 2)
      const id = gateway.posts[n + 1]!.body["id"]
      gateway.event(n + 1, "response", { request_id: `r${n}`, server_id: "srv", response: { jsonrpc: "2.0", id, result: { n } } })
      await new Promise((resolve) => setTimeout(resolve, 5))
      gateway.posts[n + 1]!.reply(202, { request_id: `r${n}` })
      assert.deepStrictEqual(await answer, { n })
    }
    gateway.posts[0]!.reply(202, { request_id: "rb" })
    gateway.event(9, "response", { request_id: "rb", server_id: "srv", response: { jsonrpc: "2.0", id: gateway.posts[0]!.body["id"], result: {} } })
    await blocker
  })

  it("close() after the stream failed for good still deletes the session at the gateway", async () => {
    const { gateway, session } = await start({ maxAttempts: 1 })
    gateway.getStatuses.push(503, 503)
    gateway.drop()
    await until(() => session.closedReason === "stream_failed")
    await session.close()
    assert.strictEqual(gateway.deletes, 1)
  })

  it("a gateway that cannot be reached rejects with GatewayNetworkError; a URL of another origin is never sent the token", async () => {
    const refused: FetchLike = async () => {
      throw new TypeError("fetch failed")
    }
    const error = await rejection(new GatewayClient("http://gateway.test", { token: "t", fetch: refused }).createSession())
    assert.instanceOf(error, GatewayNetworkError)
    const elsewhere: FetchLike = async (input) => {
      assert.fail(`no request may leave the gateway's origin: ${input}`)
    }
    const client = new GatewayClient("http://gateway.test", { token: "t", fetch: async (input, init) => {
      if (new URL(input).pathname === "/gateway/stream") {
        return json(201, { session_id: "x", stream_url: "http://evil.test/steal", request_url: "http://evil.test/steal", servers: [] })
      }
      return elsewhere(input, init)
    } })
    assert.instanceOf(await rejection(client.createSession()), GatewayNetworkError)
  })

  it("a stream silent past idleTimeoutMs (not even a heartbeat) is reopened from the last event it got", async () => {
    const { gateway, session } = await start({ idleTimeoutMs: 60 })
    gateway.event(3, "heartbeat", { timestamp: 1 })
    // Nothing more: the connection is taken for dead and reopened with Last-Event-ID.
    await until(() => gateway.streams.length === 2)
    assert.strictEqual(gateway.streams[1]!.lastEventId, "3")
    await session.close()
  })
})
