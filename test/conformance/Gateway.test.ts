import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { gatewayLayer, serverUrl } from "../support/GatewayHttp.ts"
import * as Processes from "../support/Processes.ts"
import * as Suite from "./Suite.ts"

const fixture = fileURLToPath(new URL("../fixtures/conformance-server.ts", import.meta.url))

/** The gateway's known failures of the suite, with reasons (none may hide a fault the fixture alone passes). */
const gatewayExpectedFailures = fileURLToPath(new URL("./gateway-expected-failures.yml", import.meta.url))

/**
 * The suite against the gateway's `/mcp`, with the conformance fixture behind it (over Streamable HTTP, reached
 * as the gateway reaches any backend). The suite sends no token: it is the config's anonymous client, with
 * namespacing off so the scenarios' fixed names pass through. The same suite against the fixture alone is
 * Fixture.test.ts: a scenario that passes there and fails here is the gateway's fault.
 */
const againstGateway = (requirements: Suite.Requirements) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* Processes.serve(process.execPath, [fixture, "--port", "0"], {}, /listening \d+\n/)
    const port = /listening (\d+)/.exec(server.output.join(""))?.[1]
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
    it.live(`every scored ${requirements} scenario passes through the gateway (or is listed with its reason)`, () =>
      Effect.gen(function*() {
        const result = yield* againstGateway(requirements)
        assert.strictEqual(result.exitCode, 0, result.output)
        assert.isDefined(result.checks, result.output)
      }), { timeout: 90_000 })
  }
})
