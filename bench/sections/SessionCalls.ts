/**
 * (a) `tools/call` echo through the session API, end to end: POST the JSON-RPC request to the session's
 * request_url (202 { request_id }), then wait for the `response` event with that request_id on the session's
 * SSE stream. The gateway runs as its own process (src/main.ts) with server-everything over stdio behind it.
 * Baselines, with the same lean client: a bare Effect HttpRouter route in its own process that answers 202 at
 * once (the HTTP-edge limit), and server-everything straight over stdio with the SDK Client (from the backend
 * section).
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Console, Effect } from "effect"
import * as Fixtures from "../../test/fixtures/Fixtures.ts"
import { gateway } from "../lib/GatewayProcess.ts"
import { type LeanClient, makeClient, stringField } from "../lib/LeanHttp.ts"
import { CpuMeter, cpuBudgetLine, scoped } from "../lib/Processes.ts"
import { descendants } from "../lib/ProcessTree.ts"
import { measure, median, type Result, ratio, row } from "../lib/Stats.ts"

export interface Settings {
  readonly dir: string
  readonly calls: number
  readonly warmup: number
  readonly rounds: number
  /** Calls at 32 in flight on each side before the measured rounds. */
  readonly preWarm: number
  readonly sdkSequential: Result
  readonly sdk32: Result
}

/** The bench client's token, in every gateway config the benches write. */
export const token = "bench-token-0123456789abcdef"
const bareScript = fileURLToPath(new URL("../servers/bare-server.ts", import.meta.url))
/** The floor relay (bench/servers/floor-relay.ts), shared with the /mcp section. */
export const floorScript = fileURLToPath(new URL("../servers/floor-relay.ts", import.meta.url))

let nextId = 0
const body = () =>
  `{"jsonrpc":"2.0","id":${++nextId},"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x"}}}`

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/**
 * A session on `gw` with its stream open, and `call`: one echo, POSTed, its answer taken from the stream by
 * request_id. The first call is checked in full (the echo really went to server-everything and back).
 */
export const sessionCaller = (gw: { readonly url: string }) =>
  Effect.gen(function*() {
    const client: LeanClient = makeClient(gw.url, { token })
    yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
    const created = yield* Effect.promise(() => client.request("POST", "/gateway/stream", JSON.stringify({ servers: ["everything"] })))
    if (created.status !== 201) return yield* Effect.die(new Error(`create session: ${created.status} ${created.body}`))
    const session = JSON.parse(created.body) as { session_id: string; stream_url: string; request_url: string }

    // An answer can beat its own 202 to the client: it waits in `early` until then.
    const waiters = new Map<string, Waiter>()
    const early = new Map<string, Error | undefined>()
    let firstAnswer: string | undefined
    const stream = yield* Effect.acquireRelease(
      Effect.promise(() =>
        client.openSse(session.stream_url, (event, data) => {
          if (event !== "response" && event !== "error") return
          const requestId = stringField(data, "request_id")
          if (requestId === undefined) return
          firstAnswer ??= data
          const failure = event === "error" || data.includes(`"error":{`) ? new Error(`request ${requestId}: ${data}`) : undefined
          const waiter = waiters.get(requestId)
          if (waiter === undefined) return void early.set(requestId, failure)
          waiters.delete(requestId)
          if (failure === undefined) waiter.resolve()
          else waiter.reject(failure)
        })
      ),
      (stream) => Effect.promise(() => client.request("DELETE", session.stream_url)).pipe(Effect.ensuring(Effect.sync(() => stream.close())))
    )
    if (stream.status !== 200) return yield* Effect.die(new Error(`stream: ${stream.status}`))

    const call = async () => {
      const reply = await client.request("POST", session.request_url, body())
      if (reply.status !== 202) throw new Error(`request: ${reply.status} ${reply.body}`)
      const requestId = stringField(reply.body, "request_id")
      if (requestId === undefined) throw new Error(`request: no request_id in ${reply.body}`)
      if (early.has(requestId)) {
        const failure = early.get(requestId)
        early.delete(requestId)
        if (failure !== undefined) throw failure
        return
      }
      await new Promise<void>((resolve, reject) => waiters.set(requestId, { resolve, reject }))
    }

    yield* Effect.promise(call)
    const answer = JSON.parse(firstAnswer ?? "{}") as { server_id?: string; response?: { result?: { content?: Array<{ text?: string }> } } }
    const text = answer.response?.result?.content?.[0]?.text
    if (answer.server_id !== "everything" || text === undefined || !text.includes("x")) {
      return yield* Effect.die(new Error(`unexpected answer: ${firstAnswer}`))
    }
    return call
  })

export const run = (settings: Settings) =>
  Effect.scoped(Effect.gen(function*() {
    const config = {
      mcpServers: { everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] } },
      clients: { bench: { token, servers: ["everything"] } },
      streaming: { requestTimeoutSeconds: 30 }
    }
    const gw = yield* gateway(settings.dir, "gateway-calls", config)
    const bare = yield* scoped({
      name: "bare-server",
      args: [bareScript],
      env: { PORT: "0" },
      ready: /bare server listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "bare-server.log")
    })
    const bareClient = makeClient(bare.ready[1] ?? "")
    yield* Effect.addFinalizer(() => Effect.sync(() => bareClient.close()))
    const viaBare = async () => {
      const reply = await bareClient.request("POST", "/bare", body())
      if (reply.status !== 202) throw new Error(`bare: ${reply.status} ${reply.body}`)
    }
    const viaGateway = yield* sessionCaller(gw)
    // The floor: the same calls through a hand-written relay with no Effect and no SDK (same session API shape).
    const floor = yield* scoped({
      name: "floor-relay",
      args: [floorScript, Fixtures.nodeBinary, Fixtures.everythingServer, "stdio"],
      env: { PORT: "0" },
      ready: /floor relay listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "floor-relay.log")
    })
    const viaFloor = yield* sessionCaller({ url: floor.ready[1] ?? "" })

    const sequential = { calls: settings.calls, warmup: settings.warmup, concurrency: 1 }
    const parallel = { ...sequential, concurrency: 32 }
    const cpu = new CpuMeter({
      "bench client": process.pid,
      "bare server": bare.pid,
      "floor relay": floor.pid,
      "floor's server": descendants(floor.pid)[0]?.pid ?? -1,
      gateway: gw.pid,
      "server-everything": gw.backendPids[0] ?? -1
    })
    const rows = {
      bareSeq: { label: "bare, sequential", call: viaBare, options: sequential },
      floorSeq: { label: "floor, sequential", call: viaFloor, options: sequential },
      gwSeq: { label: "gateway, sequential", call: viaGateway, options: sequential },
      bare32: { label: "bare, 32 in flight", call: viaBare, options: parallel },
      floor32: { label: "floor, 32 in flight", call: viaFloor, options: parallel },
      gw32: { label: "gateway, 32 in flight", call: viaGateway, options: parallel }
    }
    const results = { bareSeq: [], floorSeq: [], gwSeq: [], bare32: [], floor32: [], gw32: [] } as Record<
      keyof typeof rows,
      Array<Result>
    >
    // The gateway's JIT takes thousands of calls to settle (its rate still climbs over the first ~10,000): each
    // side gets `preWarm` calls at 32 in flight first, not counted.
    for (const call of [viaBare, viaFloor, viaGateway]) {
      yield* Effect.promise(() => measure(call, { calls: settings.preWarm, warmup: 0, concurrency: 32 }))
    }
    for (let round = 0; round < settings.rounds; round++) {
      // Odd rounds run the rows in reverse order, so no row always follows the same one.
      const keys = Object.keys(rows) as Array<keyof typeof rows>
      for (const key of round % 2 === 0 ? keys : keys.reverse()) {
        const { label, call, options } = rows[key]
        const units = options.calls + options.warmup
        results[key].push(yield* Effect.promise(() => cpu.run(label, units, () => measure(call, options))))
      }
    }
    const [bareSeq, floorSeq, gwSeq, bare32, floor32, gw32] = [
      median(results.bareSeq),
      median(results.floorSeq),
      median(results.gwSeq),
      median(results.bare32),
      median(results.floor32),
      median(results.gw32)
    ]

    const vsSdkSeq = `${ratio(gwSeq.perSecond, settings.sdkSequential.perSecond)} SDK stdio`
    const vsSdk32 = `${ratio(gw32.perSecond, settings.sdk32.perSecond)} SDK stdio`
    const target = gw32.perSecond / bare32.perSecond >= 0.7 ? "met" : "MISSED"
    yield* Console.log(
      `\nSession API: tools/call echo via POST request_url + \`response\` on the session's SSE (gateway process, server-everything over stdio)`
    )
    yield* Console.log(
      `  lean client: node:http, keep-alive Agent, the same for every row; ${settings.preWarm} calls at 32 in flight on each side first (JIT)`
    )
    yield* Console.log(row("  bare Effect route, sequential (HTTP-edge limit)", bareSeq))
    yield* Console.log(row("  floor relay (node:http + stdio, no Effect, no SDK), sequential", floorSeq, "req/s", [
      `${ratio(floorSeq.perSecond, bareSeq.perSecond)} bare`
    ]))
    yield* Console.log(row("  gateway session API, sequential", gwSeq, "req/s", [`${ratio(gwSeq.perSecond, bareSeq.perSecond)} bare`, vsSdkSeq]))
    yield* Console.log(row("  bare Effect route, 32 in flight (HTTP-edge limit)", bare32))
    yield* Console.log(row("  floor relay (node:http + stdio, no Effect, no SDK), 32 in flight", floor32, "req/s", [
      `${ratio(floor32.perSecond, bare32.perSecond)} bare`
    ]))
    yield* Console.log(row("  gateway session API, 32 in flight", gw32, "req/s", [`${ratio(gw32.perSecond, bare32.perSecond)} bare`, vsSdk32]))
    yield* Console.log(`  target: gateway >= 0.7x bare at 32 in flight: ${ratio(gw32.perSecond, bare32.perSecond)} (${target})`)
    yield* Console.log(
      `  the floor (the least a relay spends, with the same server on the same cores) reaches ${
        ratio(floor32.perSecond, bare32.perSecond)
      } bare; the gateway reaches ${ratio(gw32.perSecond, floor32.perSecond)} of the floor`
    )
    yield* Console.log(cpuBudgetLine({
      target: "the 0.7x target",
      rate: 0.7 * bare32.perSecond,
      others: [
        ["the bench client", cpu.microsPerUnit(rows.gw32.label, "bench client")],
        ["server-everything", cpu.microsPerUnit(rows.gw32.label, "server-everything")]
      ],
      spent: [
        ["gateway", cpu.microsPerUnit(rows.gw32.label, "gateway")],
        ["floor relay", cpu.microsPerUnit(rows.floor32.label, "floor relay")],
        ["bare route alone", cpu.microsPerUnit(rows.bare32.label, "bare server")]
      ]
    }))
    yield* Console.log(
      `  per call by process (all rounds, warm-up included): CPU µs (/proc/<pid>/stat, 10 ms ticks), read and write syscalls (/proc/<pid>/io)`
    )
    for (const line of cpu.report()) yield* Console.log(`    ${line}`)
  }))
