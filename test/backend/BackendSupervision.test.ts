import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Stream } from "effect"
import { TestClock } from "effect/testing"
import * as Backend from "../../src/backend/Backend.ts"
import { EraCache } from "../../src/backend/EraCache.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { awaitGone, isRunning } from "../support/Processes.ts"

// Time here is virtual (TestClock): timeouts and backoff delays pass only when the test says so. The
// fixture server is a real process, so waiting for it uses live time (`TestClock.withLive`).
const layers = Layer.merge(Watchdog.layer, EraCache.layer())

const make = Effect.gen(function*() {
  return yield* Backend.make({
    serverId: "fixture",
    endpoint: { kind: "stdio", command: Fixtures.nodeBinary, args: [Fixtures.legacyServer], env: {} },
    requestTimeout: "10 seconds",
    restart: { baseDelay: "1 second", maxDelay: "4 seconds", healthyAfter: "1 minute" },
    tracker: yield* Watchdog
  })
})

/** The fixture with a grandchild that holds its pipes: after the server dies, its connection takes seconds to end. */
const lingering = Effect.gen(function*() {
  return yield* Backend.make({
    serverId: "fixture",
    endpoint: {
      kind: "stdio",
      command: Fixtures.nodeBinary,
      args: [Fixtures.legacyServer, "--spawn-grandchild", "--grandchild-holds-pipes"],
      env: {}
    },
    requestTimeout: "10 seconds",
    restart: { baseDelay: "1 second", maxDelay: "4 seconds", healthyAfter: "1 minute" },
    tracker: yield* Watchdog
  })
})

/**
 * A `lingering` backend whose server was just killed: the gateway has seen the exit and is still ending its group
 * (it waits on the grandchild for a few seconds), so its old connection is closing and no new one is up.
 */
const crashedWhileEnding = Effect.gen(function*() {
  const backend = yield* lingering
  const first = yield* awaitState(backend, "ready")
  process.kill(first.pid ?? -1, "SIGKILL")
  yield* awaitGone(first.pid ?? -1).pipe(TestClock.withLive)
  yield* settle
  return backend
})

const awaitState = (backend: Backend.Backend, state: Backend.HealthState) =>
  backend.healthChanges.pipe(
    Stream.filter((h) => h.state === state),
    Stream.runHead,
    Effect.flatMap((h) => (h._tag === "Some" ? Effect.succeed(h.value) : Effect.die("health stream ended")))
  )

const call = (backend: Backend.Backend, name: string, args: Record<string, unknown> = {}) =>
  backend.request({ jsonrpc: "2.0", id: name, method: "tools/call", params: { name, arguments: args } })

/** Lets real I/O happen (a process exiting, a pipe closing) without moving the virtual clock. */
const settle = TestClock.withLive(Effect.sleep("300 millis"))
/** Enough for a spawn that fails at once (ENOENT). */
const settleBriefly = TestClock.withLive(Effect.sleep("50 millis"))

describe("Backend supervision (virtual time)", () => {
  it.effect("a request the backend does not answer in time fails with RequestTimedOut, exactly at the deadline", () =>
    Effect.gen(function*() {
      const backend = yield* make
      yield* awaitState(backend, "ready")
      const slow = yield* call(backend, "slow", { ms: 600_000 }).pipe(Effect.flip, Effect.forkChild)
      yield* settle
      yield* TestClock.adjust("9999 millis")
      assert.isUndefined(slow.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(slow)
      assert.strictEqual(error._tag, "RequestTimedOut")
      assert.include(error.message, "did not answer tools/call within 10000 ms")
      // The backend itself is fine: the next call works.
      assert.include(JSON.stringify(yield* call(backend, "echo", { text: "after" })), "after")
    }).pipe(Effect.provide(layers)))

  it.effect("a crash fails every in-flight request at once, and the backend comes back with exponential backoff", () =>
    Effect.gen(function*() {
      const backend = yield* make
      const first = yield* awaitState(backend, "ready")
      const inFlight = yield* call(backend, "slow", { ms: 600_000 }).pipe(Effect.flip, Effect.forkChild)
      yield* settle
      const crashed = yield* call(backend, "crash").pipe(Effect.flip)
      assert.strictEqual(crashed._tag, "BackendClosed")
      const error = yield* Fiber.join(inFlight)
      assert.strictEqual(error._tag, "BackendClosed") // at once: no clock was moved
      yield* awaitGone(first.pid ?? -1).pipe(TestClock.withLive)

      const restarting = yield* awaitState(backend, "restarting")
      assert.strictEqual(restarting.restarts, 1)
      // First retry after baseDelay (1 s), not before.
      yield* TestClock.adjust("999 millis")
      yield* settle
      assert.strictEqual((yield* backend.health).state, "restarting")
      yield* TestClock.adjust("1 millis")
      const second = yield* awaitState(backend, "ready")
      assert.notStrictEqual(second.pid, first.pid)
      assert.isTrue(isRunning(second.pid ?? -1))

      // A second crash soon after: the delay doubles (2 s).
      yield* call(backend, "crash").pipe(Effect.flip)
      yield* awaitState(backend, "restarting")
      yield* TestClock.adjust("1999 millis")
      yield* settle
      assert.strictEqual((yield* backend.health).state, "restarting")
      yield* TestClock.adjust("1 millis")
      const third = yield* awaitState(backend, "ready")
      assert.strictEqual(third.restarts, 2)
      assert.include(JSON.stringify(yield* call(backend, "echo", { text: "back" })), "back")
    }).pipe(Effect.provide(layers)))

  it.effect("a request sent while a crashed server is still being ended waits for the restart instead of failing", () =>
    Effect.gen(function*() {
      const backend = yield* crashedWhileEnding
      const answer = yield* call(backend, "echo", { text: "after the restart" }).pipe(Effect.exit, Effect.forkChild)
      yield* awaitState(backend, "restarting")
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.join(answer)
      assert.isTrue(Exit.isSuccess(exit), String(Exit.isFailure(exit) ? exit.cause : ""))
      assert.include(JSON.stringify(Exit.isSuccess(exit) ? exit.value : undefined), "after the restart")
    }).pipe(Effect.provide(layers)))

  it.effect("such a request keeps its own timeout: it ends at its deadline, not after the old process is ended", () =>
    Effect.gen(function*() {
      const backend = yield* crashedWhileEnding
      // Half a second, and the restart comes only after a second.
      const answer = yield* backend.request(
        { jsonrpc: "2.0", id: "short", method: "tools/call", params: { name: "echo", arguments: { text: "late" } } },
        { timeout: "500 millis" }
      ).pipe(Effect.flip, Effect.forkChild)
      yield* settleBriefly
      yield* TestClock.adjust("499 millis")
      yield* settleBriefly
      assert.isUndefined(answer.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      yield* settleBriefly
      // At its deadline, while the old process is still being ended (its grandchild holds on for seconds).
      const error = answer.pollUnsafe()
      assert.isDefined(error, "ended at its deadline")
      assert.strictEqual(error !== undefined && Exit.isSuccess(error) ? error.value._tag : undefined, "BackendUnavailable")
    }).pipe(Effect.provide(layers)))

  it.effect("a server that cannot start is reported failed, retried with capped backoff, and requests fail fast", () =>
    Effect.gen(function*() {
      const backend = yield* Backend.make({
        serverId: "missing",
        endpoint: { kind: "stdio", command: "/nonexistent/mcp-server", args: [], env: {} },
        requestTimeout: "10 seconds",
        restart: { baseDelay: "1 second", maxDelay: "4 seconds", healthyAfter: "1 minute" },
        tracker: yield* Watchdog
      })
      const failed = yield* awaitState(backend, "failed")
      assert.include(failed.lastError ?? "", "ENOENT")
      const error = yield* call(backend, "echo").pipe(Effect.flip)
      assert.strictEqual(error._tag, "BackendUnavailable")
      assert.strictEqual(failed.failedStarts, 1)
      // Retries after 1 s, 2 s, 4 s, then capped at 4 s (not 8 s); each fails again and is counted.
      const delays = [1_000, 2_000, 4_000, 4_000, 4_000]
      for (const [index, delay] of delays.entries()) {
        yield* TestClock.adjust(delay - 1)
        yield* settleBriefly
        assert.strictEqual((yield* backend.health).failedStarts, index + 1, `no retry before ${delay} ms`)
        yield* TestClock.adjust(1)
        yield* settleBriefly
        assert.strictEqual((yield* backend.health).failedStarts, index + 2, `a retry at ${delay} ms`)
        assert.strictEqual((yield* backend.health).state, "failed")
      }
    }).pipe(Effect.provide(layers)))

  it.effect("closing the scope ends the child process, and a request in flight fails with BackendClosed", () =>
    Effect.gen(function*() {
      const outer = yield* Effect.scope
      const [pid, inFlight] = yield* Effect.scoped(Effect.gen(function*() {
        const backend = yield* make
        const ready = yield* awaitState(backend, "ready")
        assert.isTrue(isRunning(ready.pid ?? -1))
        // The caller lives outside the backend's scope, as a session outlives nothing it does not own.
        const inFlight = yield* call(backend, "slow", { ms: 600_000 }).pipe(Effect.flip, Effect.forkIn(outer))
        yield* settle
        return [ready.pid ?? -1, inFlight] as const
      }))
      assert.isFalse(isRunning(pid))
      assert.strictEqual((yield* Fiber.join(inFlight))._tag, "BackendClosed")
    }).pipe(Effect.provide(layers)))

  it.effect("output that breaks the stdio framing (10 MiB without a newline) restarts the backend, nothing crashes", () =>
    Effect.gen(function*() {
      const backend = yield* make
      const first = yield* awaitState(backend, "ready")
      const error = yield* call(backend, "garbage", { bytes: 11 * 1024 * 1024 }).pipe(Effect.flip)
      assert.strictEqual(error._tag, "BackendClosed")
      yield* awaitGone(first.pid ?? -1).pipe(TestClock.withLive)
      yield* awaitState(backend, "restarting")
      yield* TestClock.adjust("1 second")
      const second = yield* awaitState(backend, "ready")
      assert.notStrictEqual(second.pid, first.pid)
      assert.include(JSON.stringify(yield* call(backend, "echo", { text: "framed again" })), "framed again")
    }).pipe(Effect.provide(layers)))
})
