import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { gatewayLayer, serverUrl } from "../support/GatewayHttp.ts"
import * as Processes from "../support/Processes.ts"
import * as Suite from "./Suite.ts"

const fixture = fileURLToPath(new URL("../fixtures/conformance-server.ts", import.meta.url))

/** The gateway's known failures of the suite, with reasons (none may hide a fault the fixture alone passes). */
const gatewayExpectedFailures = fileURLToPath(new URL("./gateway-expected-failures.yml", import.meta.url))

/** A conformance fixture on a free port, in its own process group, killed with the scope. */
const fixturePort = Effect.gen(function*() {
  const server = yield* Processes.serve(process.execPath, [fixture, "--port", "0"], {}, /listening \d+\n/)
  const port = /listening (\d+)/.exec(server.output.join(""))?.[1]
  assert.isDefined(port)
  return port
})

/** The suite against a fixture of its own, every scenario (what the gateway in front of it is compared with). */
const againstFixture = (requirements: Suite.Requirements) =>
  Effect.scoped(Effect.gen(function*() {
    const port = yield* fixturePort
    return yield* Suite.run({ url: `http://localhost:${port}/mcp`, requirements })
  }))

/**
 * The suite against the gateway's `/mcp`, with the conformance fixture behind it (over Streamable HTTP, reached
 * as the gateway reaches any backend). The suite sends no token: it is the config's anonymous client, with
 * namespacing off so the scenarios' fixed names pass through.
 */
const againstGateway = (requirements: Suite.Requirements) =>
  Effect.scoped(Effect.gen(function*() {
    const port = yield* fixturePort
    const layer = gatewayLayer({
      mcpServers: { conformance: { url: `http://127.0.0.1:${port}/mcp` } },
      clients: { suite: { anonymous: true, servers: ["conformance"], namespacing: "off" } },
      // The suite opens many sessions, one per scenario, and leaves some open.
      streaming: { maxSessionsPerClient: 200 }
    })
    return yield* Effect.gen(function*() {
      // localhost: the suite's DNS-rebinding checks need a local name.
      const url = new URL(`http://localhost:${(yield* serverUrl()).port}/mcp`)
      return yield* Suite.run({ url, requirements, expectedFailures: gatewayExpectedFailures })
    }).pipe(Effect.provide(layer))
  }))

describe("conformance suite against the gateway's /mcp", () => {
  for (const requirements of ["2025-11-25", "2026-07-28"] as const) {
    // The expected-failures file judges scored scenarios only: a scenario the fixture passes alone and fails behind
    // the gateway (scored or not) is the gateway's fault, and fails here whatever that file lists.
    it.live(`every scored ${requirements} scenario passes through the gateway (or is listed with its reason), and none that the fixture passes alone fails`, () =>
      Effect.gen(function*() {
        const alone = yield* againstFixture(requirements)
        assert.isAbove(alone.scenarios.size, 0, alone.output)
        const through = yield* againstGateway(requirements)
        assert.strictEqual(through.exitCode, 0, through.output)
        assert.isDefined(through.checks, through.output)
        assert.deepStrictEqual(Suite.regressions(alone, through), [], through.output)
      }), { timeout: 120_000 })
  }
})
