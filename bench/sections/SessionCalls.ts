/**
 * (a) `tools/call` echo through the session API, end to end: POST the JSON-RPC request to the session's
 * request_url (202 { request_id }), then wait for the `response` event with that request_id on the session's
 * SSE stream. The gateway runs as its own process with server-everything over stdio behind it. Baselines, with
 * the same lean client: a bare Effect HttpRouter route in its own process that answers 202 at once (the
 * HTTP-edge limit), and server-everything straight over stdio with the SDK Client (from the backend section).
 */
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Console, Effect } from "effect"
import * as Fixtures from "../../test/fixtures/Fixtures.ts"
import { gateway } from "../lib/GatewayProcess.ts"
import { makeClient, stringField } from "../lib/LeanHttp.ts"
import { scoped } from "../lib/Processes.ts"
import { measure, median, type Result, ratio, row } from "../lib/Stats.ts"

export interface Settings {
  readonly dir: string
  readonly calls: number
  readonly warmup: number
  readonly rounds: number
  readonly sdkSequential: Result
  readonly sdk32: Result
}

const token = "bench-token-0123456789abcdef"
const bareScript = fileURLToPath(new URL("../servers/bare-server.ts", import.meta.url))

const body = (id: number) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"everything__echo","arguments":{"message":"x"}}}`

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

export const run = (settings: Settings) =>
  Effect.scoped(Effect.gen(function*() {
    const gw = yield* gateway(settings.dir, "gateway-calls", {
      mcpServers: { everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] } },
      clients: { bench: { token, servers: ["everything"] } },
      streaming: { requestTimeoutSeconds: 30 }
    })
    const bare = yield* scoped({
      name: "bare-server",
      args: [bareScript],
      env: { PORT: "0" },
      ready: /bare server listening on (http:\/\/[^\s]+)/,
      logFile: join(settings.dir, "bare-server.log")
    })

    const gatewayClient = makeClient(gw.url, { token })
    const bareClient = makeClient(bare.ready[1] ?? "")
    yield* Effect.addFinalizer(() => Effect.sync(() => (gatewayClient.close(), bareClient.close())))

    const created = yield* Effect.promise(() => gatewayClient.request("POST", "/gateway/stream", JSON.stringify({ servers: ["everything"] })))
    if (created.status !== 201) return yield* Effect.die(new Error(`create session: ${created.status} ${created.body}`))
    const session = JSON.parse(created.body) as { session_id: string; stream_url: string; request_url: string }

    // Answers by request_id. An answer can beat its own 202 to the client: it waits in `early` until then.
    const waiters = new Map<string, Waiter>()
    const early = new Map<string, Error | undefined>()
    let firstAnswer: string | undefined
    const stream = yield* Effect.promise(() =>
      gatewayClient.openSse(session.stream_url, (event, data) => {
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
    )
    yield* Effect.addFinalizer(() => Effect.sync(() => stream.close()))
    if (stream.status !== 200) return yield* Effect.die(new Error(`stream: ${stream.status}`))

    let nextId = 0
    const viaGateway = async () => {
      const reply = await gatewayClient.request("POST", session.request_url, body(++nextId))
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
    const viaBare = async () => {
      const reply = await bareClient.request("POST", "/bare", body(++nextId))
      if (reply.status !== 202) throw new Error(`bare: ${reply.status} ${reply.body}`)
    }

    // One call first, checked in full: the echo really went to server-everything and back.
    yield* Effect.promise(viaGateway)
    const answer = JSON.parse(firstAnswer ?? "{}") as { server_id?: string; response?: { result?: { content?: Array<{ text?: string }> } } }
    const text = answer.response?.result?.content?.[0]?.text
    if (answer.server_id !== "everything" || text === undefined || !text.includes("x")) {
      return yield* Effect.die(new Error(`unexpected answer: ${firstAnswer}`))
    }

    const sequential = { calls: settings.calls, warmup: settings.warmup, concurrency: 1 }
    const parallel = { ...sequential, concurrency: 32 }
    const results = { bareSeq: [] as Array<Result>, gwSeq: [] as Array<Result>, bare32: [] as Array<Result>, gw32: [] as Array<Result> }
    const logLinesBefore = countLogLines(gw.log())
    const requestsBefore = nextId
    for (let round = 0; round < settings.rounds; round++) {
      results.bareSeq.push(yield* Effect.promise(() => measure(viaBare, sequential)))
      results.gwSeq.push(yield* Effect.promise(() => measure(viaGateway, sequential)))
      results.bare32.push(yield* Effect.promise(() => measure(viaBare, parallel)))
      results.gw32.push(yield* Effect.promise(() => measure(viaGateway, parallel)))
    }
    const gatewayRequests = (nextId - requestsBefore) / 2 // as many bare calls as gateway calls
    const logLines = countLogLines(gw.log()) - logLinesBefore
    const [bareSeq, gwSeq, bare32, gw32] = [median(results.bareSeq), median(results.gwSeq), median(results.bare32), median(results.gw32)]
    yield* Effect.promise(() => gatewayClient.request("DELETE", session.stream_url))

    const vsSdkSeq = `${ratio(gwSeq.perSecond, settings.sdkSequential.perSecond)} SDK stdio`
    const vsSdk32 = `${ratio(gw32.perSecond, settings.sdk32.perSecond)} SDK stdio`
    const target = gw32.perSecond / bare32.perSecond >= 0.7 ? "met" : "MISSED"
    yield* Console.log(
      `\nSession API: tools/call echo via POST request_url + \`response\` on the session's SSE (gateway process, server-everything over stdio)`
    )
    yield* Console.log(`  lean client: node:http, keep-alive Agent; the same client for every row of this section`)
    yield* Console.log(row("  bare Effect route, sequential (HTTP-edge limit)", bareSeq))
    yield* Console.log(row("  gateway session API, sequential", gwSeq, "req/s", [`${ratio(gwSeq.perSecond, bareSeq.perSecond)} bare`, vsSdkSeq]))
    yield* Console.log(row("  bare Effect route, 32 in flight (HTTP-edge limit)", bare32))
    yield* Console.log(row("  gateway session API, 32 in flight", gw32, "req/s", [`${ratio(gw32.perSecond, bare32.perSecond)} bare`, vsSdk32]))
    yield* Console.log(
      `  target: gateway >= 0.7x bare at 32 in flight: ${ratio(gw32.perSecond, bare32.perSecond)} (${target})`
    )
    yield* Console.log(
      `  note: the gateway logs every HTTP request at info level (${logLines} "Sent HTTP response" lines for ${gatewayRequests} ` +
        `measured calls); its stdout goes to a log file, not a pipe or terminal, so the numbers include ` +
        `only the gateway's own cost of formatting and writing them. The bare route has the logger off.`
    )
  }))

const countLogLines = (log: string) => log.split("Sent HTTP response").length - 1
