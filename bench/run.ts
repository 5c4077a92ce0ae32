/**
 * `npm run bench`: prints throughput numbers, with ratios against baselines measured in the same run.
 *
 * Backend layer: `tools/call` echo to server-everything over stdio, 2,000 calls sequential and with 32 in
 * flight, through (a) the SDK's own `Client` + `StdioClientTransport` (the baseline: what any MCP client
 * pays), and (b) the gateway's Backend actor (process-group transport, id rewriting, Deferred correlation).
 */
import { Client } from "@modelcontextprotocol/client"
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"
import * as Backend from "../src/backend/Backend.ts"
import { EraCache } from "../src/backend/EraCache.ts"
import { Watchdog } from "../src/backend/Watchdog.ts"
import * as Fixtures from "../test/fixtures/Fixtures.ts"

const calls = 2_000
const warmup = 200
/** Rows alternate between the two sides, and the median round is printed: one round swings ±30 % here. */
const rounds = 5

interface Result {
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0

/** Runs `call` `calls` times with `concurrency` in flight; measures wall time and per-call latency. */
const measure = (call: () => Promise<unknown>, concurrency: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < warmup; i++) await call()
    const latencies: Array<number> = []
    let next = 0
    const started = performance.now()
    const worker = async () => {
      while (next < calls) {
        next++
        const t0 = performance.now()
        await call()
        latencies.push(performance.now() - t0)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker))
    const elapsed = performance.now() - started
    latencies.sort((a, b) => a - b)
    return { perSecond: (calls / elapsed) * 1000, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) }
  })

const median = (results: ReadonlyArray<Result>): Result => {
  const sorted = [...results].sort((a, b) => a.perSecond - b.perSecond)
  return sorted[Math.floor(sorted.length / 2)] ?? { perSecond: 0, p50: 0, p99: 0 }
}

const line = (label: string, result: Result, baseline?: Result) =>
  Console.log(
    `${label.padEnd(44)} ${result.perSecond.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${
      result.p99.toFixed(2)
    } ms${baseline === undefined ? "" : `  (${(result.perSecond / baseline.perSecond).toFixed(2)}x baseline)`}`
  )

const sdkBaseline = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new Client({ name: "bench", version: "1" })
    await client.connect(
      new StdioClientTransport({ command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"], stderr: "ignore" })
    )
    return client
  }),
  (client) => Effect.promise(() => client.close())
)

const program = Effect.gen(function*() {
  yield* Console.log(
    `Node ${process.version}; ${calls} echo calls per row after ${warmup} warm-up calls; median of ${rounds} rounds\n`
  )
  const client = yield* sdkBaseline
  const viaSdk = () => client.callTool({ name: "echo", arguments: { message: "x" } })

  const backend = yield* Backend.make({
    serverId: "everything",
    endpoint: { kind: "stdio", command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"], env: {} },
    requestTimeout: "30 seconds",
    tracker: yield* Watchdog
  })
  yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
  const services = yield* Effect.context<never>()
  let id = 0
  const viaBackend = () =>
    Effect.runPromiseWith(services)(
      backend.request({ jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: "echo", arguments: { message: "x" } } })
    )

  const results = { baseSeq: [] as Array<Result>, gwSeq: [] as Array<Result>, base32: [] as Array<Result>, gw32: [] as Array<Result> }
  for (let round = 0; round < rounds; round++) {
    results.baseSeq.push(yield* measure(viaSdk, 1))
    results.gwSeq.push(yield* measure(viaBackend, 1))
    results.base32.push(yield* measure(viaSdk, 32))
    results.gw32.push(yield* measure(viaBackend, 32))
  }
  const [baseSeq, gwSeq, base32, gw32] = [median(results.baseSeq), median(results.gwSeq), median(results.base32), median(results.gw32)]

  yield* Console.log("server-everything over stdio")
  yield* line("  SDK Client, sequential (baseline)", baseSeq)
  yield* line("  gateway Backend actor, sequential", gwSeq, baseSeq)
  yield* line("  SDK Client, 32 in flight (baseline)", base32)
  yield* line("  gateway Backend actor, 32 in flight", gw32, base32)
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(Layer.merge(Watchdog.layer, EraCache.layer()))))
