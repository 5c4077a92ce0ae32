import * as v8 from "node:v8"
import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Option, Stream } from "effect"
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

/** Live fibers in the whole process (the heap is collected first): a session that left one behind shows here. */
const liveFibers = Effect.map(Effect.fiber, (fiber) => v8.queryObjects(fiber.constructor, { format: "count" }))

/**
 * The live fibers once what is still finishing has finished (a closing session's last steps, the HTTP exchanges
 * of the test itself): the lowest count seen over up to 15 s, or the first at most `limit` (on a loaded 2-core
 * machine closing sessions can take seconds to finish).
 */
const settledFibers = (limit: number) =>
  Effect.gen(function*() {
    let lowest = yield* liveFibers
    for (let waited = 0; waited < 15_000 && lowest > limit; waited += 100) {
      yield* Effect.sleep("100 millis")
      lowest = Math.min(lowest, yield* liveFibers)
    }
    return lowest
  })

layer(gatewayLayer(config), { timeout: 120_000, excludeTestServices: true })("sessions leave nothing behind", (it) => {
  it.effect("after 100 sessions opened, used and closed: no session, no fiber, no subscription, no timer is left", () =>
    Effect.gen(function*() {
      const backend = yield* (yield* BackendPool).acquire("fixture")
      yield* backend.settled("20 seconds")
      const before = { subscribers: yield* backend.subscribers, timers: timers(), fibers: yield* liveFibers }

      yield* Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (i) =>
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
          // A lost answer fails here by name, not as the whole test's timeout; a stream that ends without it too.
          const response = yield* Fiber.join(answered).pipe(
            Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die(new Error(`call ${i}: no response event in 20 s`)) })
          )
          assert.isTrue(Option.isSome(response), `call ${i}: the stream ended without its response`)
          assert.strictEqual((yield* send("DELETE", session.stream_url, { token })).status, 204)
        }), { concurrency: 10, discard: true })

      assert.strictEqual(yield* (yield* SessionManager).count, 0)
      assert.deepStrictEqual(yield* backend.subscribers, before.subscribers)
      assert.isAtMost(timers(), before.timers + 2, "timers of closed sessions were left running")
      // A few fibers of the HTTP server and of this test come and go; one left per session would be 100.
      assert.isAtMost(yield* settledFibers(before.fibers + 10), before.fibers + 10, "fibers of closed sessions were left behind")

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
      const manager = yield* SessionManager
      assert.isAbove(yield* manager.count, 0)
      // 1 s idle, then released: allowed up to 10 s on a loaded machine.
      for (let waited = 0; waited < 10_000 && (yield* manager.count) > 0; waited += 100) yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* manager.count, 0, "every abandoned session expired")
      assert.deepStrictEqual(yield* backend.subscribers, before.subscribers)
      assert.isAtMost(timers(), before.timers + 2)
      assert.isAtMost(yield* settledFibers(before.fibers + 10), before.fibers + 10)
    }), 90_000) // ~8 s alone; its waits for settling and expiry add up on a loaded 2-core CI machine
})
