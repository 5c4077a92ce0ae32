import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Processes from "../support/Processes.ts"
import * as Suite from "./Suite.ts"

const fixture = fileURLToPath(new URL("../fixtures/conformance-server.ts", import.meta.url))

/** The fixture on a free port (it prints `listening <port>`), in its own process group, killed with the scope. */
const startFixture = Effect.gen(function*() {
  const server = yield* Processes.serve(process.execPath, [fixture, "--port", "0"], {}, /listening \d+\n/)
  const port = /listening (\d+)/.exec(server.output.join(""))?.[1]
  assert.isDefined(port)
  return { pid: server.pid, url: new URL(`http://127.0.0.1:${port}/mcp`) }
})

// The suite against the fixture itself: what the gateway's /mcp is later held to, checked on the server the
// gateway will front. Each revision runs at its own wire (2025: sessions; 2026: stateless, per request).
describe("conformance suite against the fixture server", () => {
  for (const requirements of ["2025-11-25", "2026-07-28"] as const) {
    it.live(`every scored ${requirements} scenario passes (or fails as expected-failures.yml says)`, () =>
      Effect.gen(function*() {
        const { pid, result } = yield* Effect.scoped(Effect.gen(function*() {
          const { pid, url } = yield* startFixture
          const result = yield* Suite.run({ url, requirements, expectedFailures: Suite.fixtureExpectedFailures })
          return { pid, result }
        }))
        assert.strictEqual(result.exitCode, 0, result.output)
        assert.isDefined(result.checks, result.output)
        // The fixture's process group is gone once its scope closed.
        assert.isFalse(Processes.isRunning(pid))
      }), { timeout: 60_000 })
  }
})
