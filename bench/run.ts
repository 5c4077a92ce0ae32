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
 *
 * Every process it starts is stopped at the end (also on error or Ctrl-C); the last lines say so.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { EraCache } from "../src/backend/EraCache.ts"
import { Watchdog } from "../src/backend/Watchdog.ts"
import { gatewayNodeFlags } from "./lib/GatewayProcess.ts"
import { cleanupLines } from "./lib/Processes.ts"
import * as BackendRows from "./sections/BackendRows.ts"
import * as Flood from "./sections/Flood.ts"
import * as SessionCalls from "./sections/SessionCalls.ts"

const calls = 2_000
const warmup = 200
/** Rows alternate between the sides compared, and the median round is printed: one round swings ±30 % here. */
const rounds = 5
/** The SSE flood: events per round, padding of each, rounds (each round: raw writer, then gateway). */
const floodEvents = 50_000
const floodPad = 64
const floodRounds = 3

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "mcp-gateway-bench-"))),
  (dir) => Effect.sync(() => (process.env.BENCH_KEEP_LOGS === "1" ? undefined : rmSync(dir, { recursive: true, force: true })))
)

const program = Effect.gen(function*() {
  const started = performance.now()
  const dir = yield* tempDir
  yield* Console.log(
    `Node ${process.version}; ${calls} echo calls per row after ${warmup} warm-up calls; median of ${rounds} rounds\n`
  )
  if (gatewayNodeFlags.length > 0) yield* Console.log(`gateway node flags: ${gatewayNodeFlags.join(" ")}\n`)
  const only = process.env.BENCH_ONLY
  const sdk = yield* BackendRows.run({ calls, warmup, rounds })
  if (only === undefined || only.includes("calls")) yield* SessionCalls.run({ dir, calls, warmup, rounds, ...sdk })
  if (only === undefined || only.includes("flood")) yield* Flood.run({ dir, count: floodEvents, size: floodPad, rounds: floodRounds })
  yield* Console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`)
}).pipe(
  Effect.ensuring(Effect.suspend(() => Console.log(`\nprocesses stopped:\n${cleanupLines.map((l) => `  ${l}`).join("\n")}`))),
  Effect.scoped
)

NodeRuntime.runMain(program.pipe(Effect.provide(Layer.merge(Watchdog.layer, EraCache.layer()))))
