import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { ProcessGroupStdioTransport, ProcessNotRunning, type StdioParameters } from "../../src/backend/ProcessGroupStdioTransport.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { awaitGone, groupMembers, isRunning } from "../support/Processes.ts"

/** A started transport for the scope; the test closes it itself and inspects what is left. */
const open = (params: Omit<StdioParameters, "env"> & { readonly env?: Record<string, string> }) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const transport = new ProcessGroupStdioTransport({ eofGraceMillis: 300, termGraceMillis: 600, env: {}, ...params })
      const closed = { fired: 0 }
      transport.onclose = () => void closed.fired++
      yield* Effect.promise(() => transport.start())
      return { transport, closed }
    }),
    ({ transport }) => Effect.promise(() => transport.close())
  )

/** Sends one JSON-RPC request over the raw transport and waits for its answer. */
const rpc = (transport: ProcessGroupStdioTransport, id: number, method: string, params: Record<string, unknown>) =>
  Effect.callback<unknown>((resume) => {
    transport.onmessage = (message) => {
      if ("id" in message && message.id === id && !("method" in message)) resume(Effect.succeed(message))
    }
    void transport.send({ jsonrpc: "2.0", id, method, params })
  })

const initialize = (transport: ProcessGroupStdioTransport) =>
  rpc(transport, 0, "initialize", {
    protocolVersion: "2025-11-25",
    capabilities: {},
    clientInfo: { name: "test", version: "1" }
  }).pipe(Effect.andThen(Effect.promise(() => transport.send({ jsonrpc: "2.0", method: "notifications/initialized" }))))

const toolText = (transport: ProcessGroupStdioTransport, id: number, name: string) =>
  rpc(transport, id, "tools/call", { name, arguments: {} }).pipe(
    Effect.map((answer) => (answer as { result: { content: Array<{ text: string }> } }).result.content[0]?.text ?? "")
  )

const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    const value = yield* effect
    return [value, performance.now() - start] as const
  })

describe("ProcessGroupStdioTransport: no child outlives the gateway", () => {
  it.live("a server that exits on stdin EOF is gone as soon as close() resolves", () =>
    Effect.gen(function*() {
      const { transport, closed } = yield* open({ command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] })
      yield* initialize(transport)
      const pid = transport.pid ?? -1
      assert.isTrue(isRunning(pid))
      const [, millis] = yield* timed(Effect.promise(() => transport.close()))
      assert.isFalse(isRunning(pid))
      assert.deepStrictEqual(groupMembers(pid), [])
      assert.strictEqual(closed.fired, 1)
      assert.isBelow(millis, 300, "EOF alone was enough")
    }))

  it.live("a server that ignores SIGTERM and EOF is killed (TERM, then KILL)", () =>
    Effect.gen(function*() {
      const { transport, closed } = yield* open({
        command: Fixtures.nodeBinary,
        args: [Fixtures.legacyServer, "--ignore-sigterm"]
      })
      yield* initialize(transport)
      const pid = transport.pid ?? -1
      const [, millis] = yield* timed(Effect.promise(() => transport.close()))
      assert.isFalse(isRunning(pid))
      assert.deepStrictEqual(groupMembers(pid), [])
      assert.strictEqual(closed.fired, 1)
      assert.isAtLeast(millis, 800, "it waited out both graces before KILL")
    }))

  it.live("closed while it is still spawning (close() right after start()), the server is still ended", () =>
    Effect.gen(function*() {
      const transport = new ProcessGroupStdioTransport({
        command: Fixtures.nodeBinary,
        args: [Fixtures.legacyServer, "--ignore-sigterm"],
        env: {},
        eofGraceMillis: 300,
        termGraceMillis: 600
      })
      const started = transport.start()
      yield* Effect.promise(() => transport.close())
      yield* Effect.promise(() => started)
      const pid = transport.pid ?? -1
      assert.isAbove(pid, 0)
      assert.isFalse(isRunning(pid))
      assert.deepStrictEqual(groupMembers(pid), [])
    }))

  it.live("only what was never written is reported ProcessNotRunning: a failed write may have reached the server", () =>
    Effect.gen(function*() {
      // A server that reads one message and exits: two sent in one turn share one write, which then fails (EPIPE).
      const transport = new ProcessGroupStdioTransport({
        command: Fixtures.nodeBinary,
        args: ["-e", "process.stdin.once('data', () => process.exit(0))"],
        env: {},
        eofGraceMillis: 300,
        termGraceMillis: 600
      })
      yield* Effect.promise(() => transport.start())
      const outcome = (message: Parameters<typeof transport.send>[0]) =>
        transport.send(message).then(() => "written", (error: unknown) => error instanceof ProcessNotRunning ? "not running" : "failed")
      const read = outcome({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "side-effect" } })
      const big = outcome({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { pad: "x".repeat(4 << 20) } })
      const outcomes = yield* Effect.promise(() => Promise.all([read, big]))
      assert.notInclude(outcomes, "not running", "the first may have been read: it must not be sent again")
      yield* Effect.promise(() => transport.close())
      // After the process is gone, nothing is written: that one may be sent again.
      assert.strictEqual(yield* Effect.promise(() => outcome({ jsonrpc: "2.0", method: "notifications/initialized" })), "not running")
    }))

  it.live("a server behind a wrapper (sh -c) that ignores SIGTERM: the whole chain is gone", () =>
    Effect.gen(function*() {
      const { transport } = yield* open({
        command: "/bin/sh",
        args: ["-c", `"${Fixtures.nodeBinary}" "${Fixtures.legacyServer}" --ignore-sigterm`]
      })
      yield* initialize(transport)
      const serverPid = Number(yield* toolText(transport, 1, "pid"))
      const wrapperPid = transport.pid ?? -1
      assert.notStrictEqual(serverPid, wrapperPid, "sh forked the server (dash does not exec)")
      assert.includeMembers([...groupMembers(wrapperPid)], [wrapperPid, serverPid])
      yield* Effect.promise(() => transport.close())
      assert.isFalse(isRunning(serverPid))
      assert.deepStrictEqual(groupMembers(wrapperPid), [])
    }))

  it.live("a grandchild that ignores SIGTERM dies with its group, also when the server exits on its own", () =>
    Effect.gen(function*() {
      const { transport } = yield* open({
        command: Fixtures.nodeBinary,
        args: [Fixtures.legacyServer, "--spawn-grandchild"]
      })
      yield* initialize(transport)
      const grandchild = Number(yield* toolText(transport, 1, "grandchild"))
      assert.isTrue(isRunning(grandchild))
      // The server crashes; nobody calls close(): the transport sweeps the group by itself.
      void transport.send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "crash", arguments: {} } })
      yield* awaitGone(grandchild, 4_000)
      assert.deepStrictEqual(groupMembers(transport.pid ?? -1), [])
    }))

  it.live("a server started through npx (npm exec > sh > node) leaves nothing behind", () =>
    Effect.gen(function*() {
      const { transport } = yield* open({
        command: "npx",
        args: ["--no-install", "mcp-server-everything", "stdio"],
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        env: { PATH: process.env["PATH"] ?? "" }
      })
      yield* initialize(transport)
      // Logging on makes server-everything ignore EOF: only the group signal stops it.
      yield* rpc(transport, 1, "tools/call", { name: "toggle-simulated-logging", arguments: {} })
      const pgid = transport.pid ?? -1
      const members = groupMembers(pgid)
      assert.isAtLeast(members.length, 2, "npm exec runs the server as a descendant")
      yield* Effect.promise(() => transport.close())
      for (const pid of members) assert.isFalse(isRunning(pid), `process ${pid} survived`)
    }), 20_000)

  it.live("when the gateway itself is SIGKILLed, the watchdog ends its backends' groups", () =>
    Effect.gen(function*() {
      const gateway = spawn(
        Fixtures.nodeBinary,
        [fileURLToPath(new URL("../fixtures/gateway-process.ts", import.meta.url)), Fixtures.nodeBinary, Fixtures.legacyServer, "--ignore-sigterm", "--spawn-grandchild"],
        { stdio: ["ignore", "pipe", "inherit"] }
      )
      yield* Effect.addFinalizer(() => Effect.sync(() => gateway.kill("SIGKILL")))
      const backendPid = yield* Effect.callback<number>((resume) => {
        let out = ""
        gateway.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString()
          const match = /backend-pid (\d+)/.exec(out)
          if (match !== null) resume(Effect.succeed(Number(match[1])))
        })
      }).pipe(Effect.timeout("15 seconds"))
      // The grandchild is spawned at start; wait until it is in the group too.
      const members = yield* Effect.suspend(() => {
        const found = groupMembers(backendPid)
        return found.length >= 2 ? Effect.succeed(found) : Effect.fail("grandchild not started yet")
      }).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 }))
      gateway.kill("SIGKILL")
      // Nothing of the gateway is left to clean up: only the watchdog can do it (TERM, then KILL after 2 s).
      for (const pid of members) yield* awaitGone(pid, 6_000)
      assert.deepStrictEqual(groupMembers(backendPid), [])
    }), 30_000)
})
