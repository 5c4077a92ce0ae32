import { request as httpRequest } from "node:http"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Namespacing from "../../src/protocol/Namespacing.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { answeringUntil, type Event, events, gatewayLayer, sampled, send, serverUrl } from "../support/GatewayHttp.ts"

const alice = "alice-token-0123456789"
const bob = "bob-token-0123456789"

const config: ConfigFile = {
  mcpServers: {
    everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] },
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] }
  },
  clients: {
    alice: { token: alice, servers: "*" },
    bob: { token: bob, servers: ["fixture"] }
  },
  streaming: { maxSessionsPerClient: 3, requestTimeoutSeconds: 20 }
}

interface Created {
  readonly session_id: string
  readonly stream_url: string
  readonly request_url: string
  readonly servers: ReadonlyArray<{ readonly id: string; readonly status: string }>
}

/** A session for the length of the test: deleted at the end whatever happens, so no test leaks into the next. */
const create = (token: string, body?: unknown) =>
  Effect.acquireRelease(
    Effect.map(send("POST", "/gateway/stream", { token, ...(body === undefined ? {} : { body }) }), (reply) => {
      assert.strictEqual(reply.status, 201, JSON.stringify(reply.body))
      return reply.body as Created
    }),
    (session) => send("DELETE", session.stream_url, { token }).pipe(Effect.ignore)
  )

/** Reads events in the background until `until` is satisfied by the last one. */
const readUntil = (stream: Stream.Stream<Event>, until: (event: Event) => boolean) =>
  stream.pipe(
    Stream.takeUntil(until),
    Stream.runCollect,
    Effect.timeout("20 seconds"),
    Effect.forkChild({ startImmediately: true })
  )

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("the session API over real HTTP and SSE", (it) => {
  it.effect("create, stream, broadcast tools/list, a namespaced call with the client's id, a notification, delete", () =>
    Effect.gen(function*() {
      const session = yield* create(alice)
      assert.sameMembers(session.servers.map((s) => s.id), ["everything", "fixture"])
      for (const server of session.servers) assert.strictEqual(server.status, "ready")

      const stream = yield* events(session.stream_url, alice)
      assert.strictEqual(stream.status, 200)
      assert.strictEqual(stream.headers["content-type"], "text/event-stream")
      assert.include(stream.headers["cache-control"] ?? "", "no-cache")
      const reading = yield* readUntil(stream.events, (e) => e.event === "closed")

      const list = yield* send("POST", session.request_url, { token: alice, body: { jsonrpc: "2.0", id: 1, method: "tools/list" } })
      assert.strictEqual(list.status, 202)
      const listId = (list.body as { request_id: string }).request_id
      const call = yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", id: "my-7", method: "tools/call", params: { name: "fixture__echo", arguments: { text: "hi" } } }
      })
      const callId = (call.body as { request_id: string }).request_id
      yield* send("POST", session.request_url, {
        token: alice,
        body: {
          jsonrpc: "2.0",
          id: 3,
          method: "everything__tools/call",
          params: { name: "trigger-long-running-operation", arguments: { duration: 0.1, steps: 1 }, _meta: { progressToken: "pt" } }
        }
      })
      yield* Effect.sleep("1500 millis")
      const closed = yield* send("DELETE", session.stream_url, { token: alice })
      assert.strictEqual(closed.status, 204)
      const seen = yield* Fiber.join(reading)

      // Ids increase along the stream; `closed` is last.
      const ids = seen.map((e) => e.id)
      assert.deepStrictEqual(ids, [...ids].sort((a, b) => a - b))
      assert.deepStrictEqual(seen.at(-1)?.data, { reason: "client" })

      const chunks = seen.filter((e) => e.event === "chunk" && e.data.request_id === listId)
      assert.sameMembers(chunks.map((e) => e.data.server_id), ["everything", "fixture"])
      const merged = seen.find((e) => e.event === "response" && e.data.request_id === listId)
      assert.strictEqual(merged?.data.server_id, null)
      assert.strictEqual(merged?.data.response.id, 1)
      const names: Array<string> = merged?.data.response.result.tools.map((t: { name: string }) => t.name)
      assert.include(names, "everything__echo")
      assert.include(names, "fixture__echo")
      assert.deepStrictEqual(merged?.data.response.result.errors, [])

      const answer = seen.find((e) => e.event === "response" && e.data.request_id === callId)
      assert.strictEqual(answer?.data.server_id, "fixture")
      assert.strictEqual(answer?.data.response.id, "my-7")
      assert.strictEqual(answer?.data.response.result.content[0].text, "hi")

      const progress = seen.find((e) => e.event === "notification" && e.data.notification.method === "notifications/progress")
      assert.strictEqual(progress?.data.server_id, "everything")
      assert.strictEqual(progress?.data.notification.params.progressToken, "pt")

      // The session is gone.
      assert.strictEqual((yield* send("GET", session.stream_url, { token: alice })).status, 404)
    }))

  it.effect("reconnecting with Last-Event-ID replays what the client missed", () =>
    Effect.gen(function*() {
      const session = yield* create(alice, { servers: ["fixture"] })
      const first = yield* events(session.stream_url, alice)
      const firstReader = yield* readUntil(first.events, (e) => e.event === "response")
      yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "fixture__echo", arguments: { text: "one" } } }
      })
      const [one] = yield* Fiber.join(firstReader)
      // The first connection is gone; two answers arrive while no one listens.
      for (const text of ["two", "three"]) {
        yield* send("POST", session.request_url, {
          token: alice,
          body: { jsonrpc: "2.0", id: text, method: "tools/call", params: { name: "fixture__echo", arguments: { text } } }
        })
      }
      yield* Effect.sleep("500 millis")
      const second = yield* events(session.stream_url, alice, one!.id)
      const replayed = yield* readUntil(second.events, (e) => e.event === "response" && e.data.response.id === "three")
      const texts = (yield* Fiber.join(replayed)).map((e) => e.data.response.result.content[0].text)
      assert.deepStrictEqual(texts, ["two", "three"])
      yield* send("DELETE", session.stream_url, { token: alice })
    }))

  it.effect("a client's notifications/cancelled stops its request: no answer comes, the session goes on", () =>
    Effect.gen(function*() {
      const session = yield* create(alice, { servers: ["fixture"] })
      const stream = yield* events(session.stream_url, alice)
      const reading = yield* readUntil(stream.events, (e) => e.event === "response")
      const slow = yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", id: "slow-1", method: "tools/call", params: { name: "fixture__slow", arguments: { ms: 60_000 } } }
      })
      const slowId = (slow.body as { request_id: string }).request_id
      yield* Effect.sleep("300 millis") // the request has reached the backend
      const cancelled = yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "slow-1", reason: "changed my mind" } }
      })
      assert.deepStrictEqual(cancelled, { status: 202, body: { request_id: null } })
      yield* Effect.sleep("200 millis")
      // The backend was told: its `slow` call was aborted.
      yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", id: "after", method: "tools/call", params: { name: "fixture__aborted", arguments: {} } }
      })
      const seen = yield* Fiber.join(reading)
      assert.strictEqual(seen.at(-1)?.data.response.id, "after")
      assert.strictEqual(seen.at(-1)?.data.response.result.content[0].text, "1")
      assert.isUndefined(seen.find((e) => e.data.request_id === slowId), "a cancelled request gets no answer")
      yield* send("DELETE", session.stream_url, { token: alice })
    }))

  it.effect("two sessions on one shared backend each get only their own progress, even with the same token", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* create(alice, { servers: ["everything"] }), yield* create(alice, { servers: ["everything"] })]
      const streams = [yield* events(a.stream_url, alice), yield* events(b.stream_url, alice)]
      const readers = yield* Effect.forEach(streams, (s) => readUntil(s.events, (e) => e.event === "response"))
      for (const session of [a, b]) {
        yield* send("POST", session.request_url, {
          token: alice,
          body: {
            jsonrpc: "2.0",
            id: 1,
            method: "everything__tools/call",
            params: { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 }, _meta: { progressToken: "same" } }
          }
        })
      }
      for (const reader of readers) {
        const seen = yield* Fiber.join(reader)
        const progress = seen.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/progress")
        assert.lengthOf(progress, 3, "exactly this session's three steps")
        for (const e of progress) assert.strictEqual(e.data.notification.params.progressToken, "same")
      }
    }))

  it.effect("concurrent creates cannot pass the per-client limit", () =>
    Effect.gen(function*() {
      const replies = yield* Effect.forEach(
        Array.from({ length: 8 }),
        () => send("POST", "/gateway/stream", { token: bob }),
        { concurrency: "unbounded" }
      )
      const created = replies.filter((r) => r.status === 201)
      assert.lengthOf(created, 3)
      assert.lengthOf(replies.filter((r) => r.status === 429), 5)
      for (const reply of created) {
        yield* send("DELETE", (reply.body as Created).stream_url, { token: bob })
      }
    }))

  it.effect("a backend's sampling request reaches the session that caused it, and the client's answer goes back", () =>
    Effect.gen(function*() {
      const session = yield* create(alice, { servers: ["everything"] })
      const stream = yield* events(session.stream_url, alice)
      const reading = yield* answeringUntil(session, stream.events, alice, sampled("a sampled reply"))
      yield* send("POST", session.request_url, {
        token: alice,
        body: {
          jsonrpc: "2.0",
          id: "sample",
          method: "tools/call",
          params: { name: "everything__trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 5 } }
        }
      })
      const seen = yield* Fiber.join(reading)
      const asked = seen.find((e) => e.event === "request")
      assert.strictEqual(asked?.data.server_id, "everything")
      assert.strictEqual(asked?.data.request.method, "sampling/createMessage")
      const done = seen.at(-1)
      assert.strictEqual(done?.data.response.id, "sample")
      assert.include(JSON.stringify(done?.data.response.result), "a sampled reply")

      // A session whose client declared no sampling capability is never asked: the backend hears "no" at once.
      const declined = yield* create(alice, { servers: ["everything"], capabilities: {} })
      const declinedStream = yield* events(declined.stream_url, alice)
      const declinedReading = yield* readUntil(declinedStream.events, (e) => e.event === "response")
      yield* send("POST", declined.request_url, {
        token: alice,
        body: {
          jsonrpc: "2.0",
          id: "no-sampling",
          method: "tools/call",
          params: { name: "everything__trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 5 } }
        }
      })
      const declinedSeen = yield* Fiber.join(declinedReading)
      assert.isUndefined(declinedSeen.find((e) => e.event === "request"))
      assert.include(JSON.stringify(declinedSeen.at(-1)?.data.response), "no client session can answer")

      // An answer to nothing the session asked is refused.
      const stray = yield* send("POST", session.request_url, { token: alice, body: { jsonrpc: "2.0", id: "nope", result: {} } })
      assert.strictEqual(stray.status, 400)
      assert.strictEqual((stray.body as { error: { code: string } }).error.code, "invalid_request")
    }))

  it.effect("resources route by URI after a list; an update reaches only the subscribed session", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* create(alice, { servers: ["everything"] }), yield* create(alice, { servers: ["everything"] })]
      const [streamA, streamB] = [yield* events(a.stream_url, alice), yield* events(b.stream_url, alice)]
      const post = (session: Created, body: unknown) => send("POST", session.request_url, { token: alice, body })
      const listed = yield* readUntil(streamA.events, (e) => e.event === "response" && e.data.server_id === null)
      yield* post(a, { jsonrpc: "2.0", id: "list", method: "resources/list" })
      const merged = (yield* Fiber.join(listed)).at(-1)
      const uri: string = merged?.data.response.result.resources[0].uri
      assert.match(uri, /^demo:\/\//)

      // The URI names no server, but the session learnt where it lives.
      const again = yield* events(a.stream_url, alice)
      const reading = yield* readUntil(again.events, (e) => e.event === "response")
      yield* post(a, { jsonrpc: "2.0", id: "read", method: "resources/read", params: { uri } })
      const read = (yield* Fiber.join(reading)).at(-1)
      assert.strictEqual(read?.data.server_id, "everything")
      assert.strictEqual(read?.data.response.result.contents[0].uri, uri)

      // A session that never listed learns its servers' resources first (a client may hold a resource link from a
      // tool result); a URI none of them offers is then refused, and told how to name the server.
      const readingB = yield* readUntil(streamB.events, (e) => e.event === "response")
      assert.strictEqual((yield* post(b, { jsonrpc: "2.0", id: "read", method: "resources/read", params: { uri } })).status, 202)
      assert.strictEqual((yield* Fiber.join(readingB)).at(-1)?.data.response.result.contents[0].uri, uri)
      const unknown = yield* post(b, { jsonrpc: "2.0", id: "nowhere", method: "resources/read", params: { uri: "demo://no/such" } })
      assert.strictEqual(unknown.status, 400)
      assert.strictEqual((unknown.body as { error: { code: string } }).error.code, "ambiguous_method")

      // A subscribes; the backend sends updates every 5 s for subscribed URIs once toggled.
      const third = yield* events(a.stream_url, alice)
      const updatesA = yield* third.events.pipe(
        Stream.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/resources/updated"),
        Stream.runHead,
        Effect.timeout("12 seconds"),
        Effect.forkChild({ startImmediately: true })
      )
      const laterB = yield* events(b.stream_url, alice)
      const updatesB = yield* laterB.events.pipe(
        Stream.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/resources/updated"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* post(a, { jsonrpc: "2.0", id: "sub", method: "resources/subscribe", params: { uri } })
      yield* post(a, { jsonrpc: "2.0", id: "toggle", method: "tools/call", params: { name: "everything__toggle-subscriber-updates", arguments: {} } })
      const update = yield* Fiber.join(updatesA)
      assert.strictEqual(update._tag, "Some")
      assert.strictEqual(update._tag === "Some" ? update.value.data.notification.params.uri : "", uri)
      assert.isUndefined(updatesB.pollUnsafe(), "B did not subscribe")
      yield* post(a, { jsonrpc: "2.0", id: "toggle-off", method: "tools/call", params: { name: "everything__toggle-subscriber-updates", arguments: {} } })
      yield* Fiber.interrupt(updatesB)
    }), 30_000)

  it.effect("a session closed mid-call leaves no request running at the backend", () =>
    Effect.gen(function*() {
      const abortedSoFar = Effect.gen(function*() {
        const probe = yield* create(bob)
        const stream = yield* events(probe.stream_url, bob)
        const reading = yield* readUntil(stream.events, (e) => e.event === "response")
        yield* send("POST", probe.request_url, {
          token: bob,
          body: { jsonrpc: "2.0", id: "n", method: "tools/call", params: { name: "fixture__aborted", arguments: {} } }
        })
        return Number((yield* Fiber.join(reading)).at(-1)?.data.response.result.content[0].text)
      }).pipe(Effect.scoped)
      const before = yield* abortedSoFar
      const doomed = yield* create(bob)
      yield* send("POST", doomed.request_url, {
        token: bob,
        body: { jsonrpc: "2.0", id: "long", method: "tools/call", params: { name: "fixture__slow", arguments: { ms: 60_000 } } }
      })
      yield* Effect.sleep("300 millis")
      assert.strictEqual((yield* send("DELETE", doomed.stream_url, { token: bob })).status, 204)
      yield* Effect.sleep("200 millis")
      assert.strictEqual(yield* abortedSoFar, before + 1)
    }))

  it.effect("after a backend's list_changed the session routes by the new list without being asked to list again", () =>
    Effect.gen(function*() {
      const session = yield* create(bob)
      const post = (body: unknown) => send("POST", session.request_url, { token: bob, body })
      const stream = yield* events(session.stream_url, bob)
      const seen = yield* stream.events.pipe(
        Stream.takeUntil((e) => e.event === "response" && e.data.response.id === "read"),
        Stream.runCollect,
        Effect.timeout("20 seconds"),
        Effect.forkChild({ startImmediately: true })
      )
      yield* post({ jsonrpc: "2.0", id: "list", method: "resources/list" })
      yield* Effect.sleep("300 millis")
      const uri = `fixture://added-${Date.now()}`
      yield* post({ jsonrpc: "2.0", id: "add", method: "tools/call", params: { name: "fixture__add-resource", arguments: { uri } } })
      yield* Effect.sleep("500 millis") // the list_changed arrives and the session lists that server again
      const read = yield* post({ jsonrpc: "2.0", id: "read", method: "resources/read", params: { uri } })
      assert.strictEqual(read.status, 202, JSON.stringify(read.body))
      const events_ = yield* Fiber.join(seen)
      assert.isDefined(events_.find((e) => e.event === "notification" && e.data.notification.method === "notifications/resources/list_changed"))
      assert.strictEqual(events_.at(-1)?.data.response.result.contents[0].text, `contents of ${uri}`)
    }))

  it.effect("a backend's task ids are namespaced: its status reaches only its session, and tasks/get finds it", () =>
    Effect.gen(function*() {
      const [mine, other] = [yield* create(alice, { servers: ["everything"] }), yield* create(alice, { servers: ["everything"] })]
      const post = (session: Created, body: unknown) => send("POST", session.request_url, { token: alice, body })
      const otherStream = yield* events(other.stream_url, alice)
      const otherSaw = yield* otherStream.events.pipe(
        Stream.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/tasks/status"),
        Stream.runHead,
        Effect.forkChild({ startImmediately: true })
      )
      yield* post(mine, {
        jsonrpc: "2.0",
        id: "start",
        method: "tools/call",
        params: { name: "everything__simulate-research-query", arguments: { topic: "gateways" }, task: { ttl: 60_000 } }
      })
      // The task id as this session knows it, from the answer to the call (replayed from the start).
      const first = yield* events(mine.stream_url, alice, 0)
      const started = yield* first.events.pipe(
        Stream.filter((e) => e.event === "response" && e.data.response.id === "start"),
        Stream.runHead,
        Effect.timeout("10 seconds")
      )
      const taskId: string = started._tag === "Some" ? started.value.data.response.result.task.taskId : ""
      assert.match(taskId, /^everything__/)
      const getting = yield* events(mine.stream_url, alice)
      const got = yield* getting.events.pipe(
        Stream.takeUntil((e) => e.event === "response" && e.data.response.id === "get"),
        Stream.runCollect,
        Effect.timeout("20 seconds"),
        Effect.forkChild({ startImmediately: true })
      )
      yield* post(mine, { jsonrpc: "2.0", id: "get", method: "tasks/get", params: { taskId } })
      const answer = (yield* Fiber.join(got)).at(-1)
      assert.strictEqual(answer?.data.server_id, "everything")
      assert.strictEqual(answer?.data.response.result.taskId, taskId)

      // The status notifications this session got carry the namespaced id; the other session got none.
      const replayed = yield* events(mine.stream_url, alice, 0)
      const statuses = yield* replayed.events.pipe(
        Stream.takeUntil((e) => e.event === "response" && e.data.response.id === "get"),
        Stream.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/tasks/status"),
        Stream.runCollect,
        Effect.timeout("10 seconds")
      )
      assert.isAbove(statuses.length, 0)
      for (const e of statuses) assert.strictEqual(e.data.notification.params.taskId, taskId)
      assert.isUndefined(otherSaw.pollUnsafe(), "another session never sees this task")

      // Another session may not reach it.
      const refused = yield* post(other, { jsonrpc: "2.0", id: "get", method: "tasks/get", params: { taskId } })
      assert.strictEqual(refused.status, 403)

      // tasks/list merges the servers' lists, showing each session only its own tasks.
      const listOf = (session: Created, method = "tasks/list", params?: unknown) =>
        Effect.gen(function*() {
          const id = `${method} ${JSON.stringify(params)}`
          yield* post(session, { jsonrpc: "2.0", id, method, ...(params === undefined ? {} : { params }) })
          const replay = yield* events(session.stream_url, alice, 0)
          const found = yield* replay.events.pipe(
            Stream.filter((e) => e.event === "response" && e.data.response.id === id),
            Stream.runHead,
            Effect.timeout("10 seconds")
          )
          return found._tag === "Some" ? found.value.data : undefined
        })
      const mineListed = yield* listOf(mine)
      assert.strictEqual(mineListed?.server_id, null)
      assert.include(mineListed?.response.result.tasks.map((t: { taskId: string }) => t.taskId), taskId)
      const otherListed = yield* listOf(other)
      assert.deepStrictEqual(otherListed?.response.result.tasks, [])

      // The same rules through the method-namespaced form: a backend's tasks are every session's on it.
      assert.deepStrictEqual((yield* listOf(other, "everything__tasks/list"))?.response.result.tasks, [])
      const backendId = taskId.slice("everything__".length)
      for (const params of [{ taskId }, { taskId: backendId }]) {
        for (const method of ["everything__tasks/get", "everything__tasks/result", "everything__tasks/cancel"]) {
          const refusedAgain = yield* post(other, { jsonrpc: "2.0", id: `${method} ${params.taskId}`, method, params })
          assert.strictEqual(refusedAgain.status, 403, `${method} ${params.taskId}`)
        }
      }
      assert.strictEqual((yield* post(mine, { jsonrpc: "2.0", id: "raw", method: "everything__tasks/get", params: { taskId: backendId } })).status, 403)
      const viaServer = yield* listOf(mine, "everything__tasks/get", { taskId })
      assert.strictEqual(viaServer?.response.result.taskId, taskId)
      assert.include((yield* listOf(mine, "everything__tasks/list"))?.response.result.tasks.map((t: { taskId: string }) => t.taskId), taskId)

      // logging/setLevel goes to every server of the session that logs.
      yield* post(mine, { jsonrpc: "2.0", id: "level", method: "logging/setLevel", params: { level: "error" } })
      const replay = yield* events(mine.stream_url, alice, 0)
      const level = yield* replay.events.pipe(
        Stream.filter((e) => e.event === "response" && e.data.response.id === "level"),
        Stream.runHead,
        Effect.timeout("10 seconds")
      )
      assert.deepStrictEqual(level._tag === "Some" ? level.value.data.response.result : undefined, { errors: [] })
    }), 30_000)

  it.effect("tasks/list reads every page of a shared server's tasks, so a session finds its own past the first page", () =>
    Effect.gen(function*() {
      const [mine, other] = [yield* create(alice, { servers: ["everything"] }), yield* create(alice, { servers: ["everything"] })]
      const post = (session: Created, body: unknown) => send("POST", session.request_url, { token: alice, body })
      const answerOf = (session: Created, id: string) =>
        Effect.gen(function*() {
          const replay = yield* events(session.stream_url, alice, 0)
          const found = yield* replay.events.pipe(
            Stream.filter((e) => e.event === "response" && e.data.response.id === id),
            Stream.runHead,
            Effect.timeout("15 seconds")
          )
          return found._tag === "Some" ? found.value.data.response : undefined
        })
      const start = (session: Created, id: string) =>
        Effect.andThen(
          post(session, {
            jsonrpc: "2.0",
            id,
            method: "tools/call",
            params: { name: "everything__simulate-research-query", arguments: { topic: id }, task: { ttl: 60_000 } }
          }),
          answerOf(session, id)
        )
      // server-everything lists ten tasks a page: another session's eleven come first.
      for (let n = 0; n < 11; n++) yield* start(other, `theirs-${n}`)
      const taskId: string = (yield* start(mine, "mine"))?.result.task.taskId
      for (const method of ["tasks/list", "everything__tasks/list"]) {
        yield* post(mine, { jsonrpc: "2.0", id: method, method })
        const listed = (yield* answerOf(mine, method))?.result.tasks.map((t: { taskId: string }) => t.taskId)
        assert.deepStrictEqual(listed, [taskId], method)
      }
    }), 60_000)

  it.effect("completion for a resource template, named by its text, in a session that listed resources but not templates", () =>
    Effect.gen(function*() {
      const session = yield* create(alice, { servers: ["everything"] })
      const post = (body: unknown) => send("POST", session.request_url, { token: alice, body })
      const answerOf = (id: string) =>
        Effect.gen(function*() {
          const replay = yield* events(session.stream_url, alice, 0)
          const found = yield* replay.events.pipe(
            Stream.filter((e) => (e.event === "response" && e.data.response.id === id) || (e.event === "error" && e.data.request_id !== undefined)),
            Stream.runHead,
            Effect.timeout("15 seconds")
          )
          return found._tag === "Some" ? found.value.data : undefined
        })
      yield* post({ jsonrpc: "2.0", id: "resources", method: "resources/list" })
      yield* answerOf("resources")
      const completing = yield* post({
        jsonrpc: "2.0",
        id: "complete",
        method: "completion/complete",
        params: { ref: { type: "ref/resource", uri: "demo://resource/dynamic/text/{resourceId}" }, argument: { name: "resourceId", value: "1" } }
      })
      assert.strictEqual(completing.status, 202, JSON.stringify(completing.body))
      const answer = yield* answerOf("complete")
      assert.strictEqual(answer?.server_id, "everything")
      assert.isArray(answer?.response.result.completion.values)
    }))

  it.effect("two sessions on one backend: each one's sampling request reaches it and not the other", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* create(alice, { servers: ["everything"] }), yield* create(alice, { servers: ["everything"] })]
      const sampleIn = (asker: Created, bystander: Created, text: string) =>
        Effect.gen(function*() {
          const stream = yield* events(asker.stream_url, alice)
          const other = yield* events(bystander.stream_url, alice)
          const bystanderAsked = yield* other.events.pipe(
            Stream.filter((e) => e.event === "request"),
            Stream.runHead,
            Effect.forkChild({ startImmediately: true })
          )
          const reading = yield* answeringUntil(asker, stream.events, alice, sampled(text))
          yield* send("POST", asker.request_url, {
            token: alice,
            body: { jsonrpc: "2.0", id: text, method: "tools/call", params: { name: "everything__trigger-sampling-request", arguments: { prompt: text } } }
          })
          const seen = yield* Fiber.join(reading)
          assert.include(JSON.stringify(seen.at(-1)?.data.response.result), text)
          assert.isUndefined(bystanderAsked.pollUnsafe(), "the other session was never asked")
          yield* Fiber.interrupt(bystanderAsked)
        })
      yield* sampleIn(a, b, "answer from a")
      yield* sampleIn(b, a, "answer from b")
    }))

  it.effect("a backend's log messages and list_changed reach the session as notification events", () =>
    Effect.gen(function*() {
      const session = yield* create(bob)
      const stream = yield* events(session.stream_url, bob)
      const reading = yield* readUntil(stream.events, (e) => e.event === "response")
      yield* send("POST", session.request_url, {
        token: bob,
        body: { jsonrpc: "2.0", id: "e", method: "tools/call", params: { name: "fixture__emit", arguments: { count: 2, message: "hello log" } } }
      })
      const seen = yield* Fiber.join(reading)
      const methods = seen.filter((e) => e.event === "notification").map((e) => e.data.notification.method)
      assert.deepStrictEqual(methods, ["notifications/message", "notifications/message", "notifications/tools/list_changed"])
      const log = seen.find((e) => e.event === "notification")
      assert.strictEqual(log?.data.server_id, "fixture")
      assert.strictEqual(log?.data.notification.params.data, "hello log")
    }))

  it.effect("list_changed from a shared backend reaches every session that uses it", () =>
    Effect.gen(function*() {
      const [a, b] = [yield* create(bob), yield* create(bob)]
      const listChanged = (session: Created) =>
        Effect.flatMap(events(session.stream_url, bob), (stream) =>
          stream.events.pipe(
            Stream.filter((e) => e.event === "notification" && e.data.notification.method === "notifications/tools/list_changed"),
            Stream.runHead,
            Effect.timeout("10 seconds"),
            Effect.forkChild({ startImmediately: true })
          ))
      const [seenA, seenB] = [yield* listChanged(a), yield* listChanged(b)]
      yield* send("POST", a.request_url, {
        token: bob,
        body: { jsonrpc: "2.0", id: "e", method: "tools/call", params: { name: "fixture__emit", arguments: { count: 1 } } }
      })
      for (const seen of [seenA, seenB]) {
        const event = yield* Fiber.join(seen)
        assert.strictEqual(event._tag === "Some" ? event.value.data.server_id : undefined, "fixture")
      }
    }))

  it.effect("a backend giving up on its question cancels it in the session that was asked, under that session's id", () =>
    Effect.gen(function*() {
      const session = yield* create(bob)
      const stream = yield* events(session.stream_url, bob)
      const reading = yield* readUntil(stream.events, (e) => e.event === "response")
      yield* send("POST", session.request_url, {
        token: bob,
        body: { jsonrpc: "2.0", id: "q", method: "tools/call", params: { name: "fixture__ask", arguments: { prompt: "?", timeoutMs: 300 } } }
      })
      const seen = yield* Fiber.join(reading)
      const asked = seen.find((e) => e.event === "request")
      const cancelled = seen.find((e) => e.event === "notification" && e.data.notification.method === "notifications/cancelled")
      assert.isDefined(asked)
      assert.strictEqual(cancelled?.data.notification.params.requestId, asked?.data.request.id)
      assert.include(JSON.stringify(seen.at(-1)?.data.response.result), "gave up")
      // The question is gone: answering it now is refused.
      const late = yield* send("POST", session.request_url, {
        token: bob,
        body: { jsonrpc: "2.0", id: asked?.data.request.id, result: { role: "assistant", content: { type: "text", text: "x" }, model: "m" } }
      })
      assert.strictEqual(late.status, 400)
    }))

  it.effect("a second GET takes over the stream: the first one ends", () =>
    Effect.gen(function*() {
      const session = yield* create(alice, { servers: ["fixture"] })
      const first = yield* events(session.stream_url, alice)
      const firstDone = yield* first.events.pipe(Stream.runCollect, Effect.forkChild({ startImmediately: true }))
      yield* Effect.sleep("100 millis")
      const second = yield* events(session.stream_url, alice)
      assert.strictEqual(second.status, 200)
      assert.deepStrictEqual(yield* Fiber.join(firstDone).pipe(Effect.timeout("5 seconds")), [])
      const reading = yield* readUntil(second.events, (e) => e.event === "response")
      yield* send("POST", session.request_url, {
        token: alice,
        body: { jsonrpc: "2.0", id: "later", method: "tools/call", params: { name: "fixture__echo", arguments: { text: "x" } } }
      })
      assert.strictEqual((yield* Fiber.join(reading)).at(-1)?.data.response.id, "later")
    }))

  it.effect("auth, ownership and limits", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* send("POST", "/gateway/stream"), {
        status: 401,
        body: { error: { code: "unauthorized", message: "a valid bearer token is required" } }
      })
      assert.strictEqual((yield* send("POST", "/gateway/stream", { token: "wrong" })).status, 401)

      const mine = yield* create(alice, { servers: ["fixture"] })
      // Bob may not see Alice's session: to him it does not exist.
      for (const [method, path] of [["GET", mine.stream_url], ["DELETE", mine.stream_url]] as const) {
        const reply = yield* send(method, path, { token: bob })
        assert.strictEqual(reply.status, 404)
        assert.strictEqual((reply.body as { error: { code: string } }).error.code, "session_not_found")
      }
      const posted = yield* send("POST", mine.request_url, { token: bob, body: { jsonrpc: "2.0", id: 1, method: "tools/list" } })
      assert.strictEqual(posted.status, 404)

      // Bob may use only `fixture`: `everything` is forbidden, exactly like a server that does not exist.
      const forbidden = yield* send("POST", "/gateway/stream", { token: bob, body: { servers: ["everything"] } })
      const unknown = yield* send("POST", "/gateway/stream", { token: bob, body: { servers: ["nosuch"] } })
      assert.strictEqual(forbidden.status, 403)
      assert.strictEqual(unknown.status, 403)
      assert.strictEqual(
        (forbidden.body as { error: { message: string } }).error.message.replace("everything", "X"),
        (unknown.body as { error: { message: string } }).error.message.replace("nosuch", "X")
      )

      // The per-client limit (3 here, counting the one above).
      const more = [yield* create(alice, { servers: ["fixture"] }), yield* create(alice, { servers: ["fixture"] })]
      const refused = yield* send("POST", "/gateway/stream", { token: alice, body: { servers: ["fixture"] } })
      assert.strictEqual(refused.status, 429)
      assert.strictEqual((refused.body as { error: { code: string } }).error.code, "too_many_sessions")
      for (const session of [mine, ...more]) yield* send("DELETE", session.stream_url, { token: alice })
      assert.strictEqual((yield* send("POST", "/gateway/stream", { token: alice, body: { servers: ["fixture"] } })).status, 201)
    }))

  it.effect("/openapi.json documents the routes with the schemas that validate them", () =>
    Effect.gen(function*() {
      const reply = yield* send("GET", "/openapi.json")
      assert.strictEqual(reply.status, 200)
      const doc = reply.body as { openapi: string; paths: Record<string, Record<string, any>> }
      assert.strictEqual(doc.openapi, "3.1.0")
      assert.sameMembers(Object.keys(doc.paths), [
        "/gateway/stream",
        "/gateway/stream/{session_id}",
        "/gateway/stream/{session_id}/request"
      ])
      const create = doc.paths["/gateway/stream"]?.["post"]
      assert.property(create.requestBody.content["application/json"].schema.properties, "servers")
      assert.sameMembers(Object.keys(create.responses), ["201", "400", "401", "403", "413", "429"])
      const request = doc.paths["/gateway/stream/{session_id}/request"]?.["post"]
      assert.include(JSON.stringify(request.requestBody), "jsonrpc")
    }))

  it.effect("a shortened tool name (over 64 characters namespaced) works in a session that never listed the tools", () =>
    Effect.gen(function*() {
      const long = "a_tool_whose_name_is_far_too_long_to_fit_in_sixty_four_characters_namespaced"
      const exposed = Namespacing.joinBounded("fixture", long)
      assert.isDefined(exposed)
      assert.notStrictEqual(exposed, `fixture__${long}`)
      const session = yield* create(bob)
      const stream = yield* events(session.stream_url, bob)
      const seen: Array<Event> = []
      yield* stream.events.pipe(
        Stream.runForEach((event) => Effect.sync(() => void seen.push(event))),
        Effect.forkChild({ startImmediately: true })
      )
      const call = (id: string, name: string, args: Record<string, unknown> = {}) =>
        Effect.gen(function*() {
          yield* send("POST", session.request_url, { token: bob, body: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } } })
          for (let waited = 0; waited < 10_000; waited += 20) {
            const answer = seen.find((e) => e.event === "response" && e.data.response.id === id)
            if (answer !== undefined) return answer.data.response
            yield* Effect.sleep("20 millis")
          }
          return assert.fail(`no answer to ${id}`)
        })
      yield* call("add", "fixture__add-tool", { name: long, description: "a tool with a long name" })
      // This session lists nothing: the gateway's catalog learns the new tool from the fixture's list_changed.
      let answer: { result?: { content?: ReadonlyArray<{ text?: string }> } } = {}
      for (let attempt = 0; attempt < 50 && answer.result?.content?.[0]?.text !== `${long} called`; attempt++) {
        answer = yield* call(`long-${attempt}`, exposed!)
        if (answer.result === undefined) yield* Effect.sleep("100 millis")
      }
      assert.strictEqual(answer.result?.content?.[0]?.text, `${long} called`)
    }))

  it.effect("bad input: each case gets its status and code, never a 500", () =>
    Effect.gen(function*() {
      const session = yield* create(bob)
      const url = session.request_url
      const cases = [
        ["malformed JSON", send("POST", url, { token: bob, raw: "{nope" }), 400, "invalid_json"],
        ["not JSON-RPC", send("POST", url, { token: bob, body: { hello: 1 } }), 400, "invalid_request"],
        ["a method that names no server", send("POST", url, { token: bob, body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo" } } }), 400, "ambiguous_method"],
        ["a server the client may not use", send("POST", url, { token: bob, body: { jsonrpc: "2.0", id: 1, method: "everything__tools/list" } }), 403, "forbidden"],
        ["an unknown session", send("POST", "/gateway/stream/nope/request", { token: bob, body: { jsonrpc: "2.0", id: 1, method: "tools/list" } }), 404, "session_not_found"],
        ["a body over 1 MiB", send("POST", url, { token: bob, raw: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { pad: "x".repeat(1_100_000) } }) }), 413, "body_too_large"],
        ["servers of the wrong type", send("POST", "/gateway/stream", { token: bob, body: { servers: [1] } }), 400, "invalid_request"],
        ["an unknown route", send("GET", "/gateway/nowhere", { token: bob }), 404, "not_found"],
        ["a path that cannot be decoded", send("GET", "/gateway/stream/%ZZ", { token: bob }), 404, "not_found"],
        ["a request path that cannot be decoded", send("POST", "/gateway/stream/%C0%AF/request", { token: bob, body: {} }), 404, "not_found"],
        // DNS rebinding: a page elsewhere may not call a loopback gateway, token or not (the guard runs first).
        ["a foreign Origin", send("POST", "/gateway/stream", { token: bob, headers: { origin: "http://evil.example" } }), 403, "forbidden"],
        ["a foreign Origin, no token", send("GET", session.stream_url, { headers: { origin: "http://evil.example" } }), 403, "forbidden"]
      ] as const
      for (const [name, exchange, status, code] of cases) {
        const reply = yield* exchange
        assert.strictEqual(reply.status, status, name)
        assert.strictEqual((reply.body as { error: { code: string } }).error.code, code, name)
      }
      // A page on this machine may.
      const local = yield* send("POST", "/gateway/stream", { token: bob, headers: { origin: "http://localhost:5173" } })
      assert.strictEqual(local.status, 201)
      yield* send("DELETE", (local.body as Created).stream_url, { token: bob })
      // A Host that is not this machine (a rebound name): refused before authentication.
      const url_ = yield* serverUrl(url)
      const foreignHost = yield* Effect.promise(() =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = httpRequest(url_, { method: "POST", headers: { host: "evil.example", "content-type": "application/json" } }, (res) => {
            let body = ""
            res.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
          })
          req.on("error", reject)
          req.end("{}")
        })
      )
      assert.strictEqual(foreignHost.status, 403)
      assert.deepStrictEqual(JSON.parse(foreignHost.body), { error: { code: "forbidden", message: "Host not allowed: Invalid Host: evil.example" } })
      const wrongShape = yield* send("POST", "/gateway/stream", { token: bob, body: { servers: [1] } })
      assert.include((wrongShape.body as { error: { message: string } }).error.message, "servers[0]")
      // A message that fits no JSON-RPC form is checked as the form it was meant to be: the answer names the field.
      const wrongVersion = yield* send("POST", url, { token: bob, body: { jsonrpc: "1.0", id: 1, method: "tools/list" } })
      assert.strictEqual(wrongVersion.status, 400)
      assert.match((wrongVersion.body as { error: { message: string } }).error.message, /^invalid request: jsonrpc: /)
      const wrongId = yield* send("POST", url, { token: bob, body: { jsonrpc: "2.0", id: { no: 1 }, result: {} } })
      assert.match((wrongId.body as { error: { message: string } }).error.message, /^invalid request: id: /)
      const ambiguous = yield* send("POST", url, { token: bob, body: { jsonrpc: "2.0", id: 1, method: "resources/read" } })
      assert.include((ambiguous.body as { error: { message: string } }).error.message, "<server>__resources/read")
      yield* send("DELETE", session.stream_url, { token: bob })
    }))
})
