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
  streaming: { maxSessionsPerClient: 250 }
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

      yield* Effect.sleep("300 millis") // let the last scopes finish closing
      assert.strictEqual(yield* (yield* SessionManager).count, 0)
      assert.deepStrictEqual(yield* backend.subscribers, before.subscribers)
      assert.isAtMost(timers(), before.timers + 2, "timers of closed sessions were left running")
    }))
})
