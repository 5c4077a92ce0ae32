/**
 * `/mcp`: `tools/call` echo to server-everything (over stdio behind every MCP row) through standard MCP over
 * Streamable HTTP, with the lean client of bench/lib/McpHttp.ts (node:http keep-alive; the answer's first
 * JSON-RPC response is parsed, from JSON or SSE, and its id and result checked), sequential and 32 in flight:
 *
 * - bare Effect route: bench/servers/bare-server.ts, `POST /bare` answered 202 at once with no backend, sent the
 *   same body and headers as the legacy rows (the HTTP-edge limit);
 * - server-everything straight over stdio with the SDK's `Client`: the backend section's numbers, same run;
 * - the npm peers mcp-proxy and supergateway, each its own process on a loopback port (bench/servers/
 *   loopback-listen.ts), serving Streamable HTTP at /mcp, one legacy session each (supergateway needs
 *   `--stateful`: stateless, it spawns a server per request);
 * - the floor: bench/servers/floor-relay.ts, a hand-written relay (node:http and the server's stdio, no Effect, no
 *   SDK, no validation) answering each POST with its JSON response: the least any relay spends here;
 * - the gateway's /mcp, legacy era: initialize once, then every POST carries `Mcp-Session-Id`;
 * - the gateway's /mcp, modern era (2026-07-28): stateless POSTs with `MCP-Protocol-Version`, `Mcp-Method`,
 *   `Mcp-Name` and the `_meta` envelope, as the SDK v2 client sends them.
 *
 * Each era has a gateway process of its own (same config), so a CPU profile
 * (BENCH_GATEWAY_NODE_FLAGS="--cpu-prof ...") of one holds one era's path only: the pids are printed.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Console, Effect } from "effect"
import * as Fixtures from "../../test/fixtures/Fixtures.ts"
import { gateway } from "../lib/GatewayProcess.ts"
import { echoCaller, legacyVersion, makeMcpHttpClient, type McpHttpClient, modernHeaders, openLegacySession } from "../lib/McpHttp.ts"
import { cleanupLines, CpuMeter, cpuBudgetLine, scoped, type Service } from "../lib/Processes.ts"
import { descendants, isRunning } from "../lib/ProcessTree.ts"
import { measure, median, type Result, ratio, row, sleep } from "../lib/Stats.ts"
import { floorScript, type Settings, token } from "./SessionCalls.ts"

/** The same settings as the session-call section: calls, rounds, warm-up and the SDK baseline rows. */
export type { Settings } from "./SessionCalls.ts"
const bench = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const bareScript = bench("../servers/bare-server.ts")
const loopbackPreload = bench("../servers/loopback-listen.ts")
const modules = bench("../../node_modules/")
const mcpProxyBin = join(modules, "mcp-proxy", "dist", "bin", "mcp-proxy.mjs")
const supergatewayBin = join(modules, "supergateway", "dist", "index.js")
const versionOf = (name: string) =>
  (JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")) as { version: string }).version

/** Targets (met/MISSED): against the bare route at 32 in flight, against the faster peer, sequential p50. */
const targets = { vsBare: 0.7, vsPeers: 3, p50Ms: 0.5 }

/**
 * A client and a checked first call: `call` must answer `Echo: x`. A legacy session is ended (DELETE) when
 * the scope closes, before the server stops.
 */
const caller = (
  name: string,
  url: string,
  kind: "legacy" | "modern",
  tool: string,
  authorized: boolean
) =>
  Effect.gen(function*() {
    const client: McpHttpClient = makeMcpHttpClient(url, authorized ? { token } : {})
    yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
    const headers = kind === "modern"
      ? modernHeaders(tool)
      : (yield* Effect.acquireRelease(
        Effect.promise(() => openLegacySession(client, "/mcp")),
        (session) => Effect.promise(() => session.end().catch(() => 0))
      )).headers
    const call = echoCaller(client, "/mcp", { tool, headers, modern: kind === "modern" })
    const first = yield* Effect.promise(call)
    const text = (first.result?.["content"] as Array<{ text?: string }> | undefined)?.[0]?.text
    if (text !== "Echo: x") return yield* Effect.die(new Error(`${name}: unexpected answer ${JSON.stringify(first)}`))
    return call
  })

/** An npm peer in front of server-everything over stdio, on a loopback port; `children` gets its server's pids. */
const peer = (dir: string, name: string, args: ReadonlyArray<string>) =>
  scoped({
    name,
    args: ["--import", loopbackPreload, ...args],
    ready: /loopback listen: (http:\/\/\S+)/,
    logFile: join(dir, `${name}.log`)
  })

/** Registered before the peers start, so it runs after they have stopped: are the servers they spawned gone? */
const checkGone = (spawned: Array<{ readonly owner: string; readonly pid: number }>) =>
  Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const deadline = performance.now() + 5_000
      while (spawned.some((s) => isRunning(s.pid)) && performance.now() < deadline) await sleep(50)
      for (const owner of new Set(spawned.map((s) => s.owner))) {
        const pids = spawned.filter((s) => s.owner === owner).map((s) => s.pid)
        const left = pids.filter(isRunning)
        cleanupLines.push(
          `${owner}: spawned pids ${pids.join(", ")}: ${left.length === 0 ? "all gone" : `STILL RUNNING: ${left.join(", ")}`}`
        )
      }
    })
  )

export const run = (settings: Settings) =>
  Effect.scoped(Effect.gen(function*() {
    const spawned: Array<{ owner: string; pid: number }> = []
    yield* checkGone(spawned)
    const node = Fixtures.nodeBinary
    const everything = Fixtures.everythingServer
    const config = {
      mcpServers: { everything: { command: node, args: [everything, "stdio"] } },
      clients: { bench: { token, servers: ["everything"] } },
      streaming: { requestTimeoutSeconds: 30 }
    }
    const gwLegacy = yield* gateway(settings.dir, "gateway-mcp-legacy", config)
    const gwModern = yield* gateway(settings.dir, "gateway-mcp-modern", config)
    const bare = yield* scoped({
      name: "bare-server (mcp)",
      args: [bareScript],
      env: { PORT: "0" },
      ready: /bare server listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "bare-server-mcp.log")
    })
    const floor = yield* scoped({
      name: "floor-relay (mcp)",
      args: [floorScript, node, everything, "stdio"],
      env: { PORT: "0" },
      ready: /floor relay listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "floor-relay-mcp.log")
    })
    const proxyName = `mcp-proxy ${versionOf("mcp-proxy")}`
    const mcpProxy = yield* peer(settings.dir, "mcp-proxy", [
      mcpProxyBin,
      ...["--host", "127.0.0.1", "--port", "0", "--server", "stream", "--"],
      node,
      everything,
      "stdio"
    ])
    const sgName = `supergateway ${versionOf("supergateway")}`
    const supergateway = yield* peer(settings.dir, "supergateway", [
      supergatewayBin,
      ...["--stdio", `'${node}' '${everything}' stdio`, "--outputTransport", "streamableHttp", "--stateful"],
      ...["--port", "0", "--logLevel", "none"]
    ])

    const url = (service: Service) => service.ready[1] ?? ""
    const viaFloor = yield* caller("floor relay", url(floor), "legacy", "everything__echo", false)
    const viaProxy = yield* caller(proxyName, url(mcpProxy), "legacy", "echo", false)
    const viaSg = yield* caller(sgName, url(supergateway), "legacy", "echo", false)
    const viaLegacy = yield* caller("gateway /mcp legacy", gwLegacy.url, "legacy", "everything__echo", true)
    const viaModern = yield* caller("gateway /mcp modern", gwModern.url, "modern", "everything__echo", true)
    const bareClient = makeMcpHttpClient(url(bare), { token })
    yield* Effect.addFinalizer(() => Effect.sync(() => bareClient.close()))
    // The same body and headers as a legacy call, to a route that answers 202 at once.
    const bareHeaders = { "mcp-session-id": "bench-bare-session", "mcp-protocol-version": legacyVersion }
    const bareBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x"}}}`
    const viaBare = async () => {
      const reply = await bareClient.send("POST", "/bare", bareBody, bareHeaders)
      if (reply.status !== 202) throw new Error(`bare: ${reply.status} ${reply.body}`)
    }

    // The peers' servers exist now (supergateway spawns its server at initialize): meter them, check them later.
    const servers: Record<string, number> = {}
    for (const [owner, service] of [["floor relay", floor], [proxyName, mcpProxy], [sgName, supergateway]] as const) {
      for (const child of descendants(service.pid)) {
        spawned.push({ owner, pid: child.pid })
        if (child.comm !== "sh" && child.command.includes(everything)) servers[`${owner.split(" ")[0]}'s server`] = child.pid
      }
    }
    const cpu = new CpuMeter({
      "bench client": process.pid,
      "bare server": bare.pid,
      "floor relay": floor.pid,
      "gateway (legacy)": gwLegacy.pid,
      "its server (legacy)": gwLegacy.backendPids[0] ?? -1,
      "gateway (modern)": gwModern.pid,
      "its server (modern)": gwModern.backendPids[0] ?? -1,
      "mcp-proxy": mcpProxy.pid,
      supergateway: supergateway.pid,
      ...servers
    })

    const sequential = { calls: settings.calls, warmup: settings.warmup, concurrency: 1 }
    const parallel = { ...sequential, concurrency: 32 }
    const sides = { bare: viaBare, floor: viaFloor, proxy: viaProxy, sg: viaSg, legacy: viaLegacy, modern: viaModern }
    type Side = keyof typeof sides
    const labels: Record<Side, string> = {
      bare: "bare Effect route",
      floor: "floor relay (node:http + stdio, no Effect, no SDK)",
      proxy: proxyName,
      sg: sgName,
      legacy: "gateway /mcp legacy",
      modern: "gateway /mcp modern"
    }
    const rows = (Object.keys(sides) as Array<Side>).flatMap((side) => [
      { key: `${side}Seq`, side, label: `${labels[side]}, sequential`, options: sequential },
      { key: `${side}32`, side, label: `${labels[side]}, 32 in flight`, options: parallel }
    ])
    const results = new Map<string, Array<Result>>(rows.map((r) => [r.key, []]))
    // JIT: each side gets `preWarm` calls at 32 in flight first, not counted.
    for (const side of Object.values(sides)) {
      yield* Effect.promise(() => measure(side, { calls: settings.preWarm, warmup: 0, concurrency: 32 }))
    }
    for (let round = 0; round < settings.rounds; round++) {
      // Odd rounds run the rows in reverse order, so no row always follows the same one.
      for (const { key, side, label, options } of round % 2 === 0 ? rows : [...rows].reverse()) {
        const units = options.calls + options.warmup
        results.get(key)?.push(yield* Effect.promise(() => cpu.run(label, units, () => measure(sides[side], options))))
      }
    }
    const result = (key: string) => median(results.get(key) ?? [])
    const seq = (side: Side) => result(`${side}Seq`)
    const par = (side: Side) => result(`${side}32`)

    const notes = (side: Side, r: Result, mode: "seq" | "32") => {
      const pick = mode === "seq" ? seq : par
      const sdk = mode === "seq" ? settings.sdkSequential : settings.sdk32
      const list = [`${ratio(r.perSecond, pick("bare").perSecond)} bare`, `${ratio(r.perSecond, sdk.perSecond)} SDK stdio`]
      if (side === "legacy" || side === "modern") {
        list.push(`${ratio(r.perSecond, pick("floor").perSecond)} floor`)
        list.push(`${ratio(r.perSecond, pick("proxy").perSecond)} mcp-proxy`, `${ratio(r.perSecond, pick("sg").perSecond)} supergateway`)
      }
      return list
    }
    const print = (mode: "seq" | "32") =>
      Effect.gen(function*() {
        const pick = mode === "seq" ? seq : par
        yield* Console.log(row(`  bare Effect route (HTTP-edge limit)`, pick("bare")))
        yield* Console.log(
          row(`  SDK Client over stdio (backend section)`, mode === "seq" ? settings.sdkSequential : settings.sdk32)
        )
        for (const side of ["floor", "proxy", "sg", "legacy", "modern"] as const) {
          yield* Console.log(row(`  ${labels[side]}`, pick(side), "req/s", notes(side, pick(side), mode)))
        }
      })

    yield* Console.log(`\n/mcp: tools/call echo over Streamable HTTP (server-everything over stdio behind every MCP row)`)
    yield* Console.log(
      `  lean client: node:http, keep-alive Agent, the same for every HTTP row; the first JSON-RPC response of each answer (JSON or SSE) parsed and checked`
    )
    yield* Console.log(
      `  legacy rows: one session (initialize once, Mcp-Session-Id); modern: stateless POSTs with MCP-Protocol-Version, Mcp-Method, Mcp-Name and the _meta envelope`
    )
    yield* Console.log(
      `  peers on loopback ports, one legacy session each (supergateway --stateful --logLevel none; mcp-proxy --server stream); ${settings.preWarm} calls at 32 in flight on each side first (JIT)`
    )
    yield* Console.log(`  gateway pids: legacy ${gwLegacy.pid}, modern ${gwModern.pid}`)
    yield* Console.log(`  sequential`)
    yield* print("seq")
    yield* Console.log(`  32 in flight`)
    yield* print("32")

    const fasterPeer = par("proxy").perSecond >= par("sg").perSecond ? "proxy" : "sg"
    const verdict = (ok: boolean) => (ok ? "met" : "MISSED")
    for (const era of ["legacy", "modern"] as const) {
      const vsBare = par(era).perSecond / par("bare").perSecond
      const vsPeer = par(era).perSecond / par(fasterPeer).perSecond
      const p50 = seq(era).p50
      yield* Console.log(
        `  target, ${era}: >= ${targets.vsBare}x bare at 32 in flight: ${vsBare.toFixed(2)}x (${verdict(vsBare >= targets.vsBare)}); ` +
          `>= ${targets.vsPeers}x the faster peer (${labels[fasterPeer]}) at 32 in flight: ${vsPeer.toFixed(2)}x (${
            verdict(vsPeer >= targets.vsPeers)
          }); sequential p50 < ${targets.p50Ms} ms: ${p50.toFixed(2)} ms (${verdict(p50 < targets.p50Ms)})`
      )
    }
    yield* Console.log(
      `  the floor (the least a relay spends, same server, same cores): ${ratio(par("floor").perSecond, par("bare").perSecond)} bare ` +
        `at 32 in flight, sequential p50 ${seq("floor").p50.toFixed(2)} ms; the gateway at 32 in flight: legacy ${
          ratio(par("legacy").perSecond, par("floor").perSecond)
        }, modern ${ratio(par("modern").perSecond, par("floor").perSecond)} of the floor`
    )
    const cpuOf = (side: Side, name: string) => cpu.microsPerUnit(`${labels[side]}, 32 in flight`, name)
    for (const era of ["legacy", "modern"] as const) {
      yield* Console.log(cpuBudgetLine({
        target: `the ${targets.vsBare}x target (${era})`,
        rate: targets.vsBare * par("bare").perSecond,
        others: [["the bench client", cpuOf(era, "bench client")], ["its server", cpuOf(era, `its server (${era})`)]],
        spent: [
          [`gateway (${era})`, cpuOf(era, `gateway (${era})`)],
          ["floor relay", cpuOf("floor", "floor relay")],
          ["bare route alone", cpuOf("bare", "bare server")]
        ]
      }))
    }
    yield* Console.log(
      `  per call by process (all rounds, warm-up included): CPU µs (/proc/<pid>/stat, 10 ms ticks), read and write syscalls (/proc/<pid>/io)`
    )
    for (const line of cpu.report()) yield* Console.log(`    ${line}`)
  }))
