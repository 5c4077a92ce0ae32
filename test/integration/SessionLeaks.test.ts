import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import { BackendPool } from "../../src/backend/BackendPool.ts"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import { SessionManager } from "../../src/session/SessionManager.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { events, gatewayLayer, send } from "../support/GatewayHttp.ts"

const token = "leak-test-token-0123456789"
const config: ConfigFile = {
  mcpServers: { fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
  clients: { tester: { token, servers: "*" } },
  streaming: { maxSessionsPerClient: 250, sessionTimeoutSeconds: 1 }
}

const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length

layer(gatewayLayer(config), { timeout: 120_000, excludeTestServices: true })("sessions leave nothing behind", (it) => {
  it.effect("after 200 sessions opened, used and closed: no session, no subscription, no timer is left", () =>
    Effect.gen(function*() {
      const backend = yield* (yield* BackendPool).acquire("fixture")
      yield* backend.settled("20 seconds")
      const before = { subscribers: yield* backend.subscribers, timers: timers() }

      yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
        Effect.gen(function*() {
          const created = yield* send("POST", "/gateway/stream", { token })
          const session = created.body as { stream_url: string; request_url: string }
          const stream = yield* events(session.stream_url, token)
          const answered = yield* stream.events.pipe(
            Stream.filter((e) => e.event === "response"),
            Stream.runHead,
            Effect.forkChild({ startImmediately: true })
          )
          yield* send("POST", session.request_url, {
            token,
            body: { jsonrpc: "2.0", id: i, method: "tools/call", params: { name: "fixture__echo", arguments: { text: `n${i}` } } }
          })
          yield* Fiber.join(answered)
          assert.strictEqual((yield* send("DELETE", session.stream_url, { token })).status, 204)
        }), { concurrency: 10, discard: true })

      assert.strictEqual(yield* (yield* SessionManager).count, 0)
      assert.deepStrictEqual(yield* backend.subscribers, before.subscribers)
      assert.isAtMost(timers(), before.timers + 2, "timers of closed sessions were left running")

      // Clients that vanish without DELETE, some after a stream takeover: each session expires (1 s idle here)
      // and releases everything just the same.
      yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        Effect.scoped(Effect.gen(function*() {
          const created = yield* send("POST", "/gateway/stream", { token })
          const session = created.body as { stream_url: string }
          const first = yield* events(session.stream_url, token)
          yield* Stream.runDrain(first.events).pipe(Effect.forkScoped)
          if (i % 2 === 0) {
            const second = yield* events(session.stream_url, token)
            yield* Stream.runDrain(second.events).pipe(Effect.forkScoped)
          }
          yield* Effect.sleep("50 millis")
        })), { concurrency: 10, discard: true })
      assert.isAbove(yield* (yield* SessionManager).count, 0)
      yield* Effect.sleep("2500 millis")
      assert.strictEqual(yield* (yield* SessionManager).count, 0, "every abandoned session expired")
      assert.deepStrictEqual(yield* backend.subscribers, before.subscribers)
      assert.isAtMost(timers(), before.timers + 2)
    }))
})
