/**
 * The baseline for the SSE flood: a plain `node:http` server that writes SSE events as fast as the socket
 * takes them (each event one `write`, waiting for `drain` when Node says so), shaped like the gateway's
 * `notification` events for a `notifications/message` (same fields, same size), stamped with `sentAt` (a
 * float epoch ms) as each is written. Run as its own process by bench/run.ts, like the gateway:
 * `node bench/servers/raw-sse-server.ts`; prints `raw SSE server listening on <url>`.
 *
 * `GET /events?count=N&size=S[&rate=R]` streams N events (at R events per second if given), then ends the response.
 */
import { once } from "node:events"
import { createServer } from "node:http"

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost")
  if (url.pathname !== "/events") {
    res.writeHead(404).end()
    return
  }
  const count = Number(url.searchParams.get("count") ?? "1000")
  const size = Number(url.searchParams.get("size") ?? "0")
  const pad = size > 0 ? "x".repeat(size) : undefined
  const rate = Number(url.searchParams.get("rate") ?? "0")
  const interval = rate > 0 ? 1000 / rate : 0
  const started = performance.now()
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache, no-store, no-transform" })
  res.write(": stream open\n\n")
  for (let seq = 0; seq < count; seq++) {
    // Paced as the flood fixture is: ahead of the schedule, wait (in millisecond ticks).
    const ahead = started + seq * interval - performance.now()
    if (ahead >= 1) await new Promise((resolve) => setTimeout(resolve, ahead))
    const sentAt = performance.timeOrigin + performance.now()
    const notification = {
      jsonrpc: "2.0",
      method: "notifications/message",
      params: { level: "info", data: pad === undefined ? { seq, sentAt } : { seq, sentAt, pad } }
    }
    const event = `id: ${seq + 1}\nevent: notification\ndata: ${JSON.stringify({ server_id: "flood", notification })}\n\n`
    if (!res.write(event)) await once(res, "drain")
  }
  res.end()
})

server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  console.log(`raw SSE server listening on http://127.0.0.1:${port}`)
})
process.on("SIGTERM", () => {
  server.closeAllConnections()
  server.close(() => process.exit(0))
})
