import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { JSONRPCResponse } from "@modelcontextprotocol/client"
import { BackendClosed, type RequestTimedOut } from "../../src/backend/BackendErrors.ts"
import * as InFlight from "../../src/backend/InFlight.ts"

const setup = Effect.gen(function*() {
  // What the backend would cancel, in order.
  const cancelled: Array<number> = []
  const inFlight = yield* InFlight.make<BackendClosed>({ serverId: "s", onTimeout: (id) => void cancelled.push(id) })
  /** Registers a request; its outcome completes the returned Deferred. */
  const register = (id: number, callerId: string | number, method: string, timeoutMillis: number) => {
    const reply = Deferred.makeUnsafe<JSONRPCResponse, BackendClosed | RequestTimedOut>()
    inFlight.register(id, { callerId, method, abort: undefined }, timeoutMillis, (exit) => Deferred.doneUnsafe(reply, exit))
    return reply
  }
  return { inFlight, cancelled, register }
})

describe("InFlight", () => {
  it.effect("answers with the caller's own id, and ignores a late or unknown answer", () =>
    Effect.gen(function*() {
      const { inFlight, register } = yield* setup
      const reply = register(1, "client-7", "tools/call", 1_000)
      inFlight.settle(1, { jsonrpc: "2.0", id: 1, result: { ok: true } })
      inFlight.settle(1, { jsonrpc: "2.0", id: 1, result: { ok: "twice" } })
      inFlight.settle(99, { jsonrpc: "2.0", id: 99, result: {} })
      assert.deepStrictEqual(yield* Deferred.await(reply), { jsonrpc: "2.0", id: "client-7", result: { ok: true } })
    }))

  it.effect("each request times out exactly at its own deadline, a shorter one jumping the queue", () =>
    Effect.gen(function*() {
      const { cancelled, register } = yield* setup
      const long = register(1, 1, "tools/call", 60_000)
      const short = register(2, 2, "tools/list", 5_000)
      const waitLong = yield* Effect.forkChild(Effect.flip(Deferred.await(long)))
      const waitShort = yield* Effect.forkChild(Effect.flip(Deferred.await(short)))
      yield* TestClock.adjust(4_999)
      assert.isUndefined(waitShort.pollUnsafe())
      yield* TestClock.adjust(1)
      const shortError = yield* Fiber.join(waitShort)
      assert.strictEqual(shortError._tag, "RequestTimedOut")
      assert.include(shortError.message, "tools/list within 5000 ms")
      assert.deepStrictEqual(cancelled, [2])
      yield* TestClock.adjust(54_999)
      assert.isUndefined(waitLong.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.strictEqual((yield* Fiber.join(waitLong))._tag, "RequestTimedOut")
      assert.deepStrictEqual(cancelled, [2, 1])
    }))

  it.effect("an answered or forgotten request never times out; failAll fails the rest at once", () =>
    Effect.gen(function*() {
      const { inFlight, cancelled, register } = yield* setup
      register(1, 1, "a", 1_000)
      inFlight.settle(1, { jsonrpc: "2.0", id: 1, result: {} })
      const forgotten = register(2, 2, "b", 1_000)
      assert.strictEqual(inFlight.forget(2)?.method, "b")
      assert.isUndefined(inFlight.forget(2))
      const open = register(3, 3, "c", 1_000)
      inFlight.failAll((entry) => new BackendClosed({ serverId: "s", method: entry.method }))
      assert.strictEqual((yield* Effect.flip(Deferred.await(open)))._tag, "BackendClosed")
      yield* TestClock.adjust(10_000)
      assert.deepStrictEqual(cancelled, [])
      assert.isFalse(yield* Deferred.isDone(forgotten), "a forgotten request is never completed")
    }))
})
