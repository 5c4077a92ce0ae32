/**
 * Backend layer: `tools/call` echo to server-everything over stdio, sequential and with 32 in flight, through
 * (a) the SDK's own `Client` + `StdioClientTransport` (the baseline: what any MCP client pays), and (b) the
 * gateway's Backend actor (process-group transport, id rewriting, Deferred correlation).
 */
import { Client } from "@modelcontextprotocol/client"
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio"
import { Console, Effect, Stream } from "effect"
import * as Backend from "../../src/backend/Backend.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as Fixtures from "../../test/fixtures/Fixtures.ts"
import { cleanupLines, isAlive } from "../lib/Processes.ts"
import { measure, median, type Result, ratio, row, sleep } from "../lib/Stats.ts"

export interface Settings {
  readonly calls: number
  readonly warmup: number
  readonly rounds: number
}

/** The SDK client, and the pid of the server-everything it started. */
const sdkClient = Effect.acquireRelease(
  Effect.promise(async () => {
    const client = new Client({ name: "bench", version: "1" })
    const transport = new StdioClientTransport({ command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"], stderr: "ignore" })
    await client.connect(transport)
    return { client, pid: transport.pid }
  }),
  ({ client }) => Effect.promise(() => client.close())
)

/** Registered first, so it runs last: once the scope has closed everything, are its server processes gone? */
const checkGone = (pids: Array<number>) =>
  Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const deadline = performance.now() + 5_000
      while (pids.some(isAlive) && performance.now() < deadline) await sleep(50)
      const left = pids.filter(isAlive)
      cleanupLines.push(
        `backend section: server-everything pids ${pids.join(", ")}: ${left.length === 0 ? "all gone" : `STILL RUNNING: ${left.join(", ")}`}`
      )
    })
  )

/** Prints the rows and returns the SDK baseline (sequential, 32 in flight) for the later sections' ratios. */
export const run = (settings: Settings) =>
  Effect.scoped(Effect.gen(function*() {
    const pids: Array<number> = []
    yield* checkGone(pids)
    const { client, pid } = yield* sdkClient
    if (pid !== null) pids.push(pid)
    const viaSdk = () => client.callTool({ name: "echo", arguments: { message: "x" } })

    const backend = yield* Backend.make({
      serverId: "everything",
      endpoint: { kind: "stdio", command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"], env: {} },
      requestTimeout: "30 seconds",
      tracker: yield* Watchdog
    })
    const ready = yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
    if (ready._tag === "Some" && ready.value.pid !== undefined) pids.push(ready.value.pid)
    const services = yield* Effect.context<never>()
    let id = 0
    const viaBackend = () =>
      Effect.runPromiseWith(services)(
        backend.request({ jsonrpc: "2.0", id: id++, method: "tools/call", params: { name: "echo", arguments: { message: "x" } } })
      )

    const sequential = { ...settings, concurrency: 1 }
    const parallel = { ...settings, concurrency: 32 }
    const results = { baseSeq: [] as Array<Result>, gwSeq: [] as Array<Result>, base32: [] as Array<Result>, gw32: [] as Array<Result> }
    for (let round = 0; round < settings.rounds; round++) {
      results.baseSeq.push(yield* Effect.promise(() => measure(viaSdk, sequential)))
      results.gwSeq.push(yield* Effect.promise(() => measure(viaBackend, sequential)))
      results.base32.push(yield* Effect.promise(() => measure(viaSdk, parallel)))
      results.gw32.push(yield* Effect.promise(() => measure(viaBackend, parallel)))
    }
    const [baseSeq, gwSeq, base32, gw32] = [median(results.baseSeq), median(results.gwSeq), median(results.base32), median(results.gw32)]

    yield* Console.log("server-everything over stdio")
    yield* Console.log(row("  SDK Client, sequential (baseline)", baseSeq))
    yield* Console.log(row("  gateway Backend actor, sequential", gwSeq, "req/s", [`${ratio(gwSeq.perSecond, baseSeq.perSecond)} baseline`]))
    yield* Console.log(row("  SDK Client, 32 in flight (baseline)", base32))
    yield* Console.log(row("  gateway Backend actor, 32 in flight", gw32, "req/s", [`${ratio(gw32.perSecond, base32.perSecond)} baseline`]))
    return { sdkSequential: baseSeq, sdk32: base32 }
  }))
