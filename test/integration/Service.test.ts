import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { awaitGone, isRunning } from "../support/Processes.ts"

const main = fileURLToPath(new URL("../../src/main.ts", import.meta.url))

/** `npm start` without npm: the same entry on the same (pinned) Node. */
const startService = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, ...env } })
      const out = { stdout: "", stderr: "" }
      child.stdout.on("data", (chunk: Buffer) => void (out.stdout += chunk.toString()))
      child.stderr.on("data", (chunk: Buffer) => void (out.stderr += chunk.toString()))
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      return { child, out, exited }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

const exitOf = (service: { readonly exited: Promise<number | null> }) => Effect.promise(() => service.exited)

const listeningUrl = (service: { readonly out: { stdout: string } }) =>
  Effect.suspend(() => {
    const match = /listening on (http:\/\/\S+)/.exec(service.out.stdout)
    return match?.[1] === undefined ? Effect.fail("not listening yet") : Effect.succeed(match[1])
  }).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 400 }))

interface Health {
  readonly status: string
  readonly backends: ReadonlyArray<{ readonly serverId: string; readonly state: string; readonly pid?: number }>
}

const health = (url: string) => Effect.promise(() => fetch(`${url}/healthz`).then((r) => r.json() as Promise<Health>))

const stop = (child: ChildProcessWithoutNullStreams) => Effect.sync(() => child.kill("SIGTERM"))

describe("the service (npm start)", () => {
  it.live("with no arguments, reports the three embedded backends ready at /healthz, and stops cleanly", () =>
    Effect.gen(function*() {
      const service = yield* startService([], { PORT: "0", MCP_GATEWAY_TOKEN: "integration-token" })
      const url = yield* listeningUrl(service)
      const started = performance.now()
      const ready = yield* health(url).pipe(
        Effect.filterOrFail((h) => h.status === "ok", () => "not ready yet"),
        Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 300 })
      )
      assert.isBelow(performance.now() - started, 30_000)
      assert.sameMembers(ready.backends.map((b) => b.serverId), ["everything", "memory", "filesystem"])
      for (const backend of ready.backends) assert.strictEqual(backend.state, "ready")
      // A token chosen through MCP_GATEWAY_TOKEN is never printed.
      assert.notInclude(service.out.stdout + service.out.stderr, "integration-token")

      // The three commands it prints work as pasted (where curl exists): a session, its stream, a broadcast.
      const commands = service.out.stdout.split("try it:\n")[1]?.split("\n").slice(0, 3).map((line) => line.trim())
      assert.lengthOf(commands ?? [], 3)
      if (spawnSync("sh", ["-c", "command -v curl"]).status !== 0) console.warn("curl not found: the printed commands were not run")
      else {
        // The stream's output goes to a file, read until the broadcast's answer is in it (up to 20 s).
        const script = [
          `out=$(mktemp)`,
          `{\n${commands!.join("\n")}\n} > "$out"`,
          `for i in $(seq 200); do grep -q "event: response" "$out" && break; sleep 0.1; done`,
          `kill %1; cat "$out"; rm -f "$out"`
        ].join("\n")
        const pasted = spawnSync("bash", ["-c", script], {
          env: { ...process.env, MCP_GATEWAY_TOKEN: "integration-token" },
          encoding: "utf8",
          timeout: 30_000
        })
        assert.include(pasted.stdout, `{"request_id":"1"}`)
        assert.include(pasted.stdout, "event: chunk")
        assert.include(pasted.stdout, "event: response")
      }

      const pids = ready.backends.map((b) => b.pid ?? -1)
      for (const pid of pids) assert.isTrue(isRunning(pid))
      yield* stop(service.child)
      const code = yield* exitOf(service).pipe(Effect.timeout("10 seconds"))
      assert.strictEqual(code, 0, "a signal is the normal way to stop a service")
      for (const pid of pids) yield* awaitGone(pid, 1_000)
    }), 60_000)

  it.live("on SIGTERM every open stream gets `closed { reason: shutdown }` as its last event, then the service exits", () =>
    Effect.gen(function*() {
      const service = yield* startService([], { PORT: "0", MCP_GATEWAY_TOKEN: "shutdown-token" })
      const url = yield* listeningUrl(service)
      const headers = { authorization: "Bearer shutdown-token" }
      const created = yield* Effect.promise(() =>
        fetch(`${url}/gateway/stream`, { method: "POST", headers, body: JSON.stringify({ servers: ["memory"] }) })
          .then((r) => r.json() as Promise<{ session_id: string }>)
      )
      const streamed = yield* Effect.promise(async () => {
        const response = await fetch(`${url}/gateway/stream/${created.session_id}`, { headers })
        return response.body
      })
      const text = Effect.promise(async () => {
        let all = ""
        const decoder = new TextDecoder()
        for await (const chunk of streamed ?? []) all += decoder.decode(chunk)
        return all
      })
      const reading = yield* Effect.forkChild(text, { startImmediately: true })
      yield* Effect.sleep("200 millis")
      yield* stop(service.child)
      const all = yield* Fiber.join(reading).pipe(Effect.timeout("10 seconds"))
      const events = all.split("\n\n").filter((block) => block.includes("event:"))
      assert.include(events.at(-1) ?? "", "event: closed")
      assert.include(events.at(-1) ?? "", `"reason":"shutdown"`)
      assert.strictEqual(yield* exitOf(service).pipe(Effect.timeout("10 seconds")), 0)
    }), 60_000)

  it.live("a bad config is refused with every problem named by path, exit code 1, no stack trace", () =>
    Effect.gen(function*() {
      const file = join(tmpdir(), `gateway-bad-config-${process.pid}.json`)
      writeFileSync(
        file,
        JSON.stringify({
          mcpServers: { "bad__id": { command: "x" }, ok: { url: "not a url" } },
          clients: { alice: { servers: ["nope"] } },
          streaming: { heartbeatIntervalSeconds: -1 }
        })
      )
      const service = yield* startService(["--config", file], {})
      const code = yield* exitOf(service).pipe(Effect.timeout("15 seconds"))
      assert.strictEqual(code, 1)
      const stderr = service.out.stderr
      for (const path of ["mcpServers.bad__id:", "mcpServers.ok.url:", "clients.alice:", "clients.alice.servers[0]:", "streaming.heartbeatIntervalSeconds:"]) {
        assert.include(stderr, path)
      }
      assert.notMatch(stderr, /^\s+at /m, "no stack trace")
    }), 30_000)
})
