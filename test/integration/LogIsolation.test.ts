import { assert, layer } from "@effect/vitest"
import { Effect, Fiber, Stream } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { events, gatewayLayer, send } from "../support/GatewayHttp.ts"

const alice = "log-isolation-alice-0123456789"
const bob = "log-isolation-bob-0123456789"
const config: ConfigFile = {
  mcpServers: { shared: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
  clients: { alice: { token: alice, servers: "*" }, bob: { token: bob, servers: "*" } }
}

const open = (token: string) =>
  Effect.map(send("POST", "/gateway/stream", { token }), (reply) => reply.body as { stream_url: string; request_url: string })

const call = (session: { request_url: string }, token: string, id: number, name: string, args: Record<string, unknown>) =>
  send("POST", session.request_url, { token, body: { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } } })

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("log messages of a shared server", (it) => {
  it.effect("reach the session whose call they belong to, and never another client's", () =>
    Effect.scoped(Effect.gen(function*() {
      const [a, b] = [yield* open(alice), yield* open(bob)]
      const aliceEvents = yield* events(a.stream_url, alice)
      const seenByAlice = yield* aliceEvents.events.pipe(
        Stream.takeUntil((event) => event.event === "response"),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      // Alice has a call in flight on the shared server while Bob's call logs a secret there.
      yield* call(a, alice, 1, "shared__slow", { ms: 1500 })
      yield* Effect.sleep("200 millis")
      yield* call(b, bob, 1, "shared__emit", { count: 3, message: "BOB-SECRET" })
      const seen = yield* Fiber.join(seenByAlice)
      assert.notInclude(JSON.stringify(seen), "BOB-SECRET")

      // Alone on the server, Bob gets his own log messages.
      const bobEvents = yield* events(b.stream_url, bob)
      const seenByBob = yield* bobEvents.events.pipe(
        Stream.takeUntil((event) => event.event === "response" && event.data.response.id === 2),
        Stream.runCollect,
        Effect.forkChild({ startImmediately: true })
      )
      yield* call(b, bob, 2, "shared__emit", { count: 2, message: "for bob" })
      const logs = (yield* Fiber.join(seenByBob)).filter((event) =>
        event.event === "notification" && event.data.notification.method === "notifications/message"
      )
      assert.isAtLeast(logs.length, 2)
    })))
})
