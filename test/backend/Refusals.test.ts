import * as http from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as Backend from "../../src/backend/Backend.ts"
import { EraCache } from "../../src/backend/EraCache.ts"
import { Watchdog } from "../../src/backend/Watchdog.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import * as Processes from "../support/Processes.ts"

const layers = Layer.merge(Watchdog.layer, EraCache.layer())

// A proxy in front of the modern fixture (HTTP) that refuses every tools/call with a 400 and the JSON-RPC `error`
// that `refusal` writes (given the call's headers).
const proxy = (target: string, refusal: (headers: http.IncomingHttpHeaders) => string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: http.Server; url: string }>((resolve) => {
        // The SDK's listen stream (GET) is refused with 405 (as the transport allows), so nothing is left
        // streaming from the fixture when the test ends; a failed forward ends the client's socket.
        const server = http.createServer((req, res) => void forward(req, res).catch(() => res.destroy()))
        const forward = async (req: http.IncomingMessage, res: http.ServerResponse) => {
          if (req.method === "GET") return void res.writeHead(405).end()
          const chunks: Array<Buffer> = []
          for await (const chunk of req) chunks.push(chunk as Buffer)
          const body = Buffer.concat(chunks).toString()
          if (req.method === "POST" && body.includes('"tools/call"')) {
            const id = JSON.parse(body).id
            res.writeHead(400, { "content-type": "application/json" })
            return res.end(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":${refusal(req.headers)}}`)
          }
          const headers: Record<string, string> = {}
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string" && k !== "host" && k !== "content-length") headers[k] = v
          const upstream = await fetch(target, { method: req.method!, headers, ...(req.method === "POST" ? { body } : {}) })
          res.writeHead(upstream.status, Object.fromEntries(upstream.headers))
          res.end(Buffer.from(await upstream.arrayBuffer()))
        }
        server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/mcp` }))
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((resolve) => server.close(() => resolve())))
  )

describe("a backend's refusal", () => {
  it.live("with deeply nested error.data is reported as a refusal (data cut short), never an unhandled rejection", () =>
    Effect.gen(function*() {
      const rejections: Array<unknown> = []
      const onRejection = (reason: unknown) => void rejections.push(reason)
      process.on("unhandledRejection", onRejection)
      yield* Effect.addFinalizer(() => Effect.sync(() => void process.off("unhandledRejection", onRejection)))
      const modern = yield* Processes.serve(process.execPath, [Fixtures.modernServer, "--http", "0"], {}, /listening \d+\n/)
      const port = /listening (\d+)/.exec(modern.output.join(""))?.[1]
      // Deeply nested `data`: 10 KB of brackets.
      const { url } = yield* proxy(`http://127.0.0.1:${port}/mcp`, () => `{"code":-32602,"message":"no","data":${"[".repeat(5000)}${"]".repeat(5000)}}`)
      const backend = yield* Backend.make({
        serverId: "http",
        endpoint: { kind: "streamable-http", url, headers: {} },
        requestTimeout: "3 seconds",
        tracker: yield* Watchdog
      })
      yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
      const refused = yield* backend.request({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }).pipe(Effect.flip)
      assert.strictEqual(refused._tag, "BackendSendFailed")
      const refusal = refused._tag === "BackendSendFailed" ? refused.refusal : undefined
      assert.strictEqual(refusal?.status, 400)
      assert.strictEqual(refusal?.error?.code, -32602)
      assert.isBelow(JSON.stringify(refusal?.error?.data).length, 100, "kept only to a bounded depth")
      yield* Effect.sleep("200 millis")
      assert.deepStrictEqual(rejections, [])
    }).pipe(Effect.scoped, Effect.provide(layers)))

  it.live("that echoes the gateway's secret header is redacted everywhere in it, keys included", () =>
    Effect.gen(function*() {
      const secret = "s3cret-token-value-0123456789"
      const modern = yield* Processes.serve(process.execPath, [Fixtures.modernServer, "--http", "0"], {}, /listening \d+\n/)
      const port = /listening (\d+)/.exec(modern.output.join(""))?.[1]
      // A server that quotes what it was sent: the header's value as a message, a key and a value.
      const { url } = yield* proxy(`http://127.0.0.1:${port}/mcp`, (headers) => {
        const sent = String(headers["authorization"])
        return JSON.stringify({ code: -32602, message: `bad ${sent}`, data: { [sent]: sent, list: [sent] } })
      })
      const backend = yield* Backend.make({
        serverId: "http",
        endpoint: { kind: "streamable-http", url, headers: { authorization: `Bearer ${secret}` } },
        requestTimeout: "3 seconds",
        tracker: yield* Watchdog
      })
      yield* backend.healthChanges.pipe(Stream.filter((h) => h.state === "ready"), Stream.runHead)
      const refused = yield* backend.request({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "x" } } }).pipe(Effect.flip)
      const refusal = refused._tag === "BackendSendFailed" ? refused.refusal : undefined
      assert.strictEqual(refusal?.error?.code, -32602)
      assert.notInclude(JSON.stringify(refusal), secret)
      assert.notInclude(refused.message, secret)
    }).pipe(Effect.scoped, Effect.provide(layers)))
})
