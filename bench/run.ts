/**
 * `npm run bench`: prints throughput numbers, with ratios against baselines measured in the same run.
 *
 * 1. Backend layer (bench/sections/BackendRows.ts): `tools/call` echo to server-everything over stdio through
 *    the SDK's own Client (baseline) and the gateway's Backend actor, sequential and 32 in flight.
 * 2. Session API (bench/sections/SessionCalls.ts): the same echo through a gateway process's session API
 *    (POST request_url, answer on the SSE stream), against a bare Effect HTTP route and the SDK baseline.
 * 3. SSE flood (bench/sections/Flood.ts): events/s and backend-to-client latency through one session's SSE,
 *    against a raw node:http SSE writer.
 * 4. Idle sessions (bench/sections/IdleSessions.ts): gateway RSS per idle session at 1,000 sessions.
 * 5. Tool search (bench/sections/Search.ts): relevance on a labelled set, and speed over 10,000 tools.
 * 6. Standard MCP (bench/sections/Mcp.ts): the same echo through the gateway's `/mcp` in both eras (legacy: one
 *    session, `Mcp-Session-Id`; modern 2026-07-28: stateless POSTs with the headers and `_meta` envelope), against
 *    a bare Effect route (the HTTP-edge limit), the SDK stdio baseline, and the npm peers mcp-proxy and
 *    supergateway in front of the same server, with a lean node:http client; targets printed met/MISSED.
 *
 * Every process it starts is stopped at the end (also on error or Ctrl-C); the last lines say so.
 *
 * Environment: BENCH_ONLY=calls,flood,sessions,search,mcp runs only those sections (the backend rows always run:
 * they are the SDK baseline); BENCH_GATEWAY_NODE_FLAGS adds node flags to the gateway processes, e.g.
 * "--cpu-prof --cpu-prof-dir=/tmp/prof" (then `npx node bench/profile-summary.ts /tmp/prof/*.cpuprofile`);
 * BENCH_KEEP_LOGS=1 keeps the temporary directory with the configs and the services' logs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Console, Effect, Layer } from "effect"
import { EraCache } from "../src/backend/EraCache.ts"
import { Watchdog } from "../src/backend/Watchdog.ts"
import { gatewayNodeFlags } from "./lib/GatewayProcess.ts"
import { cleanupLines } from "./lib/Processes.ts"
import * as BackendRows from "./sections/BackendRows.ts"
import * as Flood from "./sections/Flood.ts"
import * as IdleSessions from "./sections/IdleSessions.ts"
import * as Mcp from "./sections/Mcp.ts"
import * as Search from "./sections/Search.ts"
import * as SessionCalls from "./sections/SessionCalls.ts"

const calls = 2_000
const warmup = 200
/** Rows alternate between the sides compared, and the median round is printed: one round swings ±30 % here. */
const rounds = 5
/** The SSE flood: events per round, padding of each, rounds (each round: raw writer, then gateway). */
const floodEvents = 50_000
const floodPad = 64
const floodRounds = 3
/** Idle sessions opened to measure the gateway's RSS per session. */
const idleSessions = 1_000

const load = () => loadavg().map((n) => n.toFixed(2)).join(" ")

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "mcp-gateway-bench-"))),
  (dir) =>
    Effect.sync(() =>
      process.env.BENCH_KEEP_LOGS === "1" ? console.log(`\nlogs kept in ${dir}`) : rmSync(dir, { recursive: true, force: true })
    )
)

const program = Effect.gen(function*() {
  const started = performance.now()
  const dir = yield* tempDir
  yield* Console.log(
    `Node ${process.version}; ${calls} echo calls per row after ${warmup} warm-up calls; median of ${rounds} rounds`
  )
  yield* Console.log(`${availableParallelism()} cores; load average ${load()} at start (other work on the machine skews every row)\n`)
  if (gatewayNodeFlags.length > 0) yield* Console.log(`gateway node flags: ${gatewayNodeFlags.join(" ")}\n`)
  const only = process.env.BENCH_ONLY
  const sdk = yield* BackendRows.run({ calls, warmup, rounds })
  if (only === undefined || only.includes("calls")) yield* SessionCalls.run({ dir, calls, warmup, rounds, preWarm: 5_000, ...sdk })
  if (only === undefined || only.includes("flood")) {
    yield* Flood.run({ dir, count: floodEvents, size: floodPad, rounds: floodRounds, bursts: 200, burstSize: 10, pacedRate: 100_000 })
  }
  if (only === undefined || only.includes("sessions")) yield* IdleSessions.run({ dir, sessions: idleSessions, settleMs: 2_000 })
  if (only === undefined || only.includes("search")) yield* Search.run
  if (only === undefined || only.includes("mcp")) yield* Mcp.run({ dir, calls, warmup, rounds, preWarm: 5_000, ...sdk })
  yield* Console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s; load average ${load()} at the end)`)
}).pipe(
  Effect.scoped,
  Effect.ensuring(Effect.suspend(() => Console.log(`\nprocesses stopped:\n${cleanupLines.map((l) => `  ${l}`).join("\n")}`)))
)

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(Watchdog.layer, EraCache.layer()))))
