/**
 * (b) Events per second through ONE session's SSE, and backend-to-client latency: the legacy fixture's
 * `flood { count, size }` tool sends `count` notifications/message as fast as it can (each stamped with
 * `sentAt`, a float epoch ms), the gateway forwards them as `notification` events on the session's stream, and
 * the bench reads them with node:http (latency = arrival of the network chunk - sentAt, one machine clock).
 * Baseline: a raw node:http SSE writer in its own process writing the same number of events of the same shape
 * and size as fast as the socket takes them, read by the same client.
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Console, Effect } from "effect"
import * as Fixtures from "../../test/fixtures/Fixtures.ts"
import { gateway } from "../lib/GatewayProcess.ts"
import { makeClient, numberField, type SseStream } from "../lib/LeanHttp.ts"
import { CpuMeter, scoped } from "../lib/Processes.ts"
import { median, percentile, ratio, within } from "../lib/Stats.ts"

export interface Settings {
  readonly dir: string
  readonly count: number
  readonly size: number
  readonly rounds: number
  /** Unloaded latency: `bursts` floods of `burstSize` events, one after the other. */
  readonly bursts: number
  readonly burstSize: number
  /** Latency under load: `count` events sent at this steady rate (events per second). */
  readonly pacedRate: number
}

interface FloodResult {
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  readonly max: number
  readonly received: number
  readonly bytesPerEvent: number
  /** The fixture's own send rate (from its answer), gateway rounds only. */
  readonly backendPerSecond?: number
}

const token = "bench-token-0123456789abcdef"
const maxPendingEvents = Number(process.env.BENCH_MAX_PENDING ?? 100_000)
const rawScript = fileURLToPath(new URL("../servers/raw-sse-server.ts", import.meta.url))

/** Collects one flood's notifications: arrival count, latencies, the time of the last one. */
class Collector {
  readonly count: number
  readonly latencies: Float64Array
  received = 0
  lastAt = 0
  readonly done: Promise<void>
  readonly #sink: Array<number> | undefined
  #resolve!: () => void
  /** `sink` gets every latency too (to pool many small floods). */
  constructor(count: number, sink?: Array<number>) {
    this.count = count
    this.#sink = sink
    this.latencies = new Float64Array(count)
    this.done = new Promise<void>((resolve) => (this.#resolve = resolve))
  }
  onNotification(data: string, receivedAt: number) {
    if (this.received >= this.count) return
    const latency = performance.timeOrigin + receivedAt - numberField(data, "sentAt")
    this.latencies[this.received++] = latency
    this.#sink?.push(latency)
    this.lastAt = receivedAt
    if (this.received === this.count) this.#resolve()
  }
  result(started: number, bytes: number, backendPerSecond?: number): FloodResult {
    const sorted = this.latencies.subarray(0, this.received).sort()
    return {
      perSecond: (this.received / (this.lastAt - started)) * 1000,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted[sorted.length - 1] ?? 0,
      received: this.received,
      bytesPerEvent: bytes / Math.max(1, this.received),
      ...(backendPerSecond === undefined ? {} : { backendPerSecond })
    }
  }
}

/** Waits for every event, or until none came for `quietMs` (then the result says how many arrived). */
const awaitAll = async (collector: Collector, quietMs = 3_000) => {
  let seen = -1
  while (collector.received < collector.count && collector.received !== seen) {
    seen = collector.received
    await within(collector.done, quietMs, undefined)
  }
}

export const run = (settings: Settings) =>
  Effect.scoped(Effect.gen(function*() {
    const { count, size } = settings
    const gw = yield* gateway(settings.dir, "gateway-flood", {
      mcpServers: { flood: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
      clients: { bench: { token, servers: ["flood"] } },
      streaming: { maxPendingEvents, requestTimeoutSeconds: 60 }
    })
    const raw = yield* scoped({
      name: "raw-sse-server",
      args: [rawScript],
      env: { PORT: "0" },
      ready: /raw SSE server listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "raw-sse-server.log")
    })
    const gatewayClient = makeClient(gw.url, { token })
    const rawClient = makeClient(raw.ready[1] ?? "")
    yield* Effect.addFinalizer(() => Effect.sync(() => (gatewayClient.close(), rawClient.close())))

    const created = yield* Effect.promise(() => gatewayClient.request("POST", "/gateway/stream"))
    if (created.status !== 201) return yield* Effect.die(new Error(`create session: ${created.status} ${created.body}`))
    const session = JSON.parse(created.body) as { session_id: string; stream_url: string; request_url: string }

    // The one session's stream, open for the whole section; each round installs its collector.
    let collector: Collector | undefined
    let answer: ((text: string) => void) | undefined
    let closedReason: string | undefined
    const stream: SseStream = yield* Effect.promise(() =>
      gatewayClient.openSse(session.stream_url, (event, data, receivedAt) => {
        if (event === "notification") {
          if (data.includes("notifications/message")) collector?.onNotification(data, receivedAt)
        } else if (event === "response") {
          const parsed = JSON.parse(data) as { response: { result?: { content?: Array<{ text?: string }> }; error?: unknown } }
          answer?.(parsed.response.result?.content?.[0]?.text ?? JSON.stringify(parsed.response))
        } else if (event === "closed") {
          closedReason = data
        }
      })
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => stream.close()))

    let requestId = 0
    const viaGateway = async (n: number, sink?: Array<number>, rate?: number): Promise<FloodResult> => {
      const current = new Collector(n, sink)
      collector = current
      const answered = new Promise<string>((resolve) => (answer = resolve))
      const bytesBefore = stream.bytes()
      const started = performance.now()
      const reply = await gatewayClient.request(
        "POST",
        session.request_url,
        JSON.stringify({
          jsonrpc: "2.0",
          id: ++requestId,
          method: "tools/call",
          params: { name: "flood__flood", arguments: { count: n, size, ...(rate === undefined ? {} : { rate }) } }
        })
      )
      if (reply.status !== 202) throw new Error(`flood: ${reply.status} ${reply.body}`)
      const text = await within(answered, 60_000, "no answer")
      await awaitAll(current)
      if (closedReason !== undefined) throw new Error(`the session closed: ${closedReason}`)
      // "flooded N in X ms": the fixture's own send loop (SDK + stdout; it waits whenever the gateway reads slower).
      const sent = /flooded (\d+) in ([\d.]+) ms/.exec(text)
      const backendPerSecond = sent === null ? undefined : (Number(sent[1]) / Number(sent[2])) * 1000
      // Bytes per event: the stream's bytes over the round, less the answer's own event (small next to n).
      return current.result(started, stream.bytes() - bytesBefore, backendPerSecond)
    }
    const viaRaw = async (n: number, sink?: Array<number>, rate?: number): Promise<FloodResult> => {
      const current = new Collector(n, sink)
      const started = performance.now()
      const query = `count=${n}&size=${size}${rate === undefined ? "" : `&rate=${rate}`}`
      const rawStream = await rawClient.openSse(`/events?${query}`, (event, data, receivedAt) => {
        if (event === "notification") current.onNotification(data, receivedAt)
      })
      await within(rawStream.ended, 60_000, undefined)
      rawStream.close()
      return current.result(started, rawStream.bytes() - ": stream open\n\n".length)
    }

    // Warm-up (JIT): each path a full round's worth, not counted.
    yield* Effect.promise(() => viaGateway(count))
    yield* Effect.promise(() => viaRaw(count))
    const results = { gateway: [] as Array<FloodResult>, raw: [] as Array<FloodResult> }
    const cpu = new CpuMeter({
      "bench client": process.pid,
      "raw writer": raw.pid,
      gateway: gw.pid,
      "flood fixture": gw.backendPids[0] ?? -1
    })
    for (let round = 0; round < settings.rounds; round++) {
      results.raw.push(yield* Effect.promise(() => cpu.run("raw writer", count, () => viaRaw(count))))
      results.gateway.push(yield* Effect.promise(() => cpu.run("gateway", count, () => viaGateway(count))))
    }
    // Latency under load: the same number of events at a steady rate (the target's), each path once.
    const paced = {
      raw: yield* Effect.promise(() => viaRaw(count, undefined, settings.pacedRate)),
      gateway: yield* Effect.promise(() => viaGateway(count, undefined, settings.pacedRate))
    }
    // Unloaded latency: many small floods one after the other, so nothing queues behind a backlog.
    const unloaded = { gateway: [] as Array<number>, raw: [] as Array<number> }
    for (let burst = 0; burst < settings.bursts; burst++) {
      yield* Effect.promise(() => viaRaw(settings.burstSize, unloaded.raw))
      yield* Effect.promise(() => viaGateway(settings.burstSize, unloaded.gateway))
    }
    yield* Effect.promise(() => gatewayClient.request("DELETE", session.stream_url))
    const [viaGw, viaNode] = [median(results.gateway), median(results.raw)]
    const latencies = (values: Array<number>) => {
      const sorted = Float64Array.from(values).sort()
      return `p50 ${percentile(sorted, 0.5).toFixed(2)} ms  p99 ${percentile(sorted, 0.99).toFixed(2)} ms  max ${
        (sorted[sorted.length - 1] ?? 0).toFixed(2)
      } ms`
    }

    const line = (label: string, r: FloodResult, notes: ReadonlyArray<string> = []) =>
      `${label.padEnd(52)} ${r.perSecond.toFixed(0).padStart(7)} events/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  max ${
        r.max.toFixed(1)
      } ms  ${r.bytesPerEvent.toFixed(0)} B/event${r.received < count ? `  LOST ${count - r.received} of ${count}` : ""}${
        notes.length === 0 ? "" : `  (${notes.join("; ")})`
      }`
    const lost = [...results.gateway, ...results.raw].filter((r) => r.received < count)
    if (lost.length > 0) {
      yield* Console.log(`  WARNING: ${lost.length} round(s) lost events: ${lost.map((r) => `${count - r.received} of ${count}`).join(", ")}`)
    }
    const eventsTarget = viaGw.perSecond >= 100_000 ? "met" : "MISSED"
    const latencyTarget = paced.gateway.p99 < 2 ? "met" : "MISSED"
    yield* Console.log(
      `\nSSE flood: ${count} notifications/message (pad ${size} B) per round, one session, median of ${settings.rounds} rounds after one warm-up round`
    )
    yield* Console.log(`  gateway config: streaming.maxPendingEvents ${maxPendingEvents} (the default 1000 would end the session with overflow)`)
    yield* Console.log(line("  raw node:http SSE writer (baseline)", viaNode))
    yield* Console.log(line("  gateway session SSE (legacy fixture over stdio)", viaGw, [`${ratio(viaGw.perSecond, viaNode.perSecond)} raw`]))
    yield* Console.log(
      `  the fixture's send loop (SDK McpServer, ctx.mcpReq.log, sync stdout writes that wait while the pipe is full): ${
        viaGw.backendPerSecond?.toFixed(0) ?? "?"
      } events/s in that round`
    )
    yield* Console.log(`  per event by process (all rounds): CPU µs (/proc/<pid>/stat, 10 ms ticks), read and write syscalls (/proc/<pid>/io)`)
    for (const report of cpu.report()) yield* Console.log(`    ${report}`)
    yield* Console.log(`  paced: ${count} events sent at ${settings.pacedRate} events/s (the target's rate), one round each`)
    yield* Console.log(line("    raw node:http SSE writer", paced.raw))
    yield* Console.log(line("    gateway session SSE", paced.gateway))
    yield* Console.log(
      `  target: >= 100000 events/s (flood): ${viaGw.perSecond.toFixed(0)} (${eventsTarget}); ` +
        `p99 < 2 ms at ${settings.pacedRate} events/s (paced): ${paced.gateway.p99.toFixed(2)} ms (${latencyTarget})`
    )
    yield* Console.log(
      `  unloaded latency, ${settings.bursts} floods of ${settings.burstSize} one after the other: raw writer ${latencies(unloaded.raw)}; ` +
        `gateway ${latencies(unloaded.gateway)}`
    )
    yield* Console.log(
      `  latency = client arrival - sentAt stamped by the sender as it writes. Under the flood the sender outruns` +
        ` the reader, so its latency is mostly time spent queued (pipes, socket buffers, the session queue); paced,` +
        ` nothing queues unless a stage cannot keep up with the rate.`
    )
  }))
