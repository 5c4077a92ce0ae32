/**
 * The floor: the least any relay between an HTTP client and a stdio MCP server must spend, to put the gateway's
 * call numbers beside what is physically left on this machine. Plain `node:http` and `child_process`, no Effect,
 * no MCP SDK, no validation, one client, one server: each request's id is swapped for a counter (and a tool's
 * namespace dropped), its line written to the server's stdin, and the answer line relayed back. Bench-only: it is a measuring stick, not a transport.
 *
 * - Session API shape: `POST /gateway/stream` → 201 with stream and request URLs; `GET /floor/stream` is the SSE
 *   stream; `POST /floor/requests` → 202 `{ request_id }`, the answer a `response` event on the stream.
 * - /mcp shape: `POST /mcp` answers a request with its JSON response inline (JSON response mode), and a
 *   notification with 202; `initialize` is answered from the server's own handshake and names a session.
 *
 * `node bench/servers/floor-relay.ts <server command> [args...]` (port from PORT, default 0); prints
 * `floor relay listening on <url>` once the server has done its handshake.
 */
import { spawn } from "node:child_process"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"

const [command, ...args] = process.argv.slice(2)
if (command === undefined) throw new Error("usage: floor-relay.ts <server command> [args...]")
const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] })

type Waiter = (line: string, message: { id: number; result?: unknown; error?: unknown }) => void
const waiting = new Map<number, Waiter>()
let nextId = 0
const send = (message: Record<string, unknown>, onAnswer?: Waiter) => {
  // One server, so its namespace is only dropped (`everything__echo` → `echo`), as the gateway's routing would.
  const params = message["params"] as { name?: unknown } | undefined
  if (typeof params?.name === "string" && params.name.includes("__")) {
    message = { ...message, params: { ...params, name: params.name.slice(params.name.indexOf("__") + 2) } }
  }
  if (onAnswer !== undefined) {
    const id = ++nextId
    waiting.set(id, onAnswer)
    message = { ...message, id }
  }
  child.stdin.write(`${JSON.stringify(message)}\n`)
}

let pending = ""
child.stdout.setEncoding("utf8")
child.stdout.on("data", (chunk: string) => {
  pending += chunk
  let end: number
  while ((end = pending.indexOf("\n")) !== -1) {
    const line = pending.slice(0, end)
    pending = pending.slice(end + 1)
    const message = JSON.parse(line) as { id?: number; method?: string; result?: unknown; error?: unknown }
    if (message.method !== undefined || typeof message.id !== "number") continue
    const waiter = waiting.get(message.id)
    waiting.delete(message.id)
    waiter?.(line, message as { id: number })
  }
})

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let text = ""
    req.setEncoding("utf8")
    req.on("data", (chunk: string) => void (text += chunk))
    req.on("end", () => resolve(text))
  })

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers })
  res.end(text)
}

let stream: ServerResponse | undefined
let requestCounter = 0
let initializeResult: unknown

const handle = async (req: IncomingMessage, res: ServerResponse) => {
  const body = req.method === "POST" ? await readBody(req) : ""
  if (req.method === "POST" && req.url === "/gateway/stream") {
    return json(res, 201, { session_id: "floor", stream_url: "/floor/stream", request_url: "/floor/requests" })
  }
  if (req.url === "/floor/stream") {
    if (req.method === "DELETE") return void res.writeHead(204).end()
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
    res.write(": stream open\n\n")
    stream = res
    return
  }
  if (req.url === "/floor/requests") {
    const message = JSON.parse(body) as { id: string | number }
    const requestId = `r${++requestCounter}`
    send(message, (_line, answer) => {
      const { id: _, ...rest } = answer
      stream?.write(
        `event: response\ndata: ${
          JSON.stringify({ request_id: requestId, server_id: "everything", response: { ...rest, id: message.id } })
        }\n\n`
      )
    })
    return json(res, 202, { request_id: requestId })
  }
  if (req.url === "/mcp" && req.method === "POST") {
    const message = JSON.parse(body) as { id?: string | number; method: string }
    if (message.id === undefined) return void res.writeHead(202).end()
    if (message.method === "initialize") {
      return json(res, 200, { jsonrpc: "2.0", id: message.id, result: initializeResult }, { "mcp-session-id": "floor" })
    }
    send(message, (line) => {
      // The answer's own text with the client's id put back (the SDK writes `id` last): no second stringify.
      const text = line.replace(/"id":\d+}$/, `"id":${JSON.stringify(message.id)}}`)
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
      res.end(text)
    })
    return
  }
  if (req.url === "/mcp" && req.method === "DELETE") return void res.writeHead(200).end()
  json(res, 404, { error: { code: "not_found", message: "no such route" } })
}

const server = createServer((req, res) => void handle(req, res))

send(
  { jsonrpc: "2.0", method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "floor", version: "1" } } },
  (_line, answer) => {
    initializeResult = answer.result
    send({ jsonrpc: "2.0", method: "notifications/initialized" })
    server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
      const address = server.address() as { port: number }
      console.log(`floor relay listening on http://127.0.0.1:${address.port}`)
    })
  }
)

const stop = () => {
  child.kill("SIGTERM")
  server.close()
  server.closeAllConnections()
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
