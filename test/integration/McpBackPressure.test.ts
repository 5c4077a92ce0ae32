import { request as httpRequest } from "node:http"
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, legacySessionHeaders, postMcp, serverUrl } from "../support/GatewayHttp.ts"

const token = "mcp-backpressure-token-0123456789"
const config: ConfigFile = {
  mcpServers: { fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] } },
  clients: { tester: { token, servers: "*" } },
  streaming: { maxPendingEvents: 100 }
}

const post = (body: unknown, sessionId?: string) => postMcp(body, legacySessionHeaders(token, sessionId))

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("/mcp limits and back-pressure", (it) => {
  it.effect("a handshake the transport refuses holds no session slot", () =>
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const initialize = (accept: string) =>
        Effect.promise(() =>
          fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", accept, authorization: `Bearer ${token}` },
            body: JSON.stringify({
              jsonrpc: "2.0",
              id: 1,
              method: "initialize",
              params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "limits", version: "1" } }
            })
          }).then(async (r) => ({ status: r.status, sessionId: r.headers.get("mcp-session-id"), body: await r.text() }))
        )
      // More refused handshakes (no text/event-stream in Accept: 406) than the client has session slots (5).
      for (let attempt = 0; attempt < 7; attempt++) {
        const refused = yield* initialize("application/json")
        assert.strictEqual(refused.status, 406, refused.body)
        assert.isNull(refused.sessionId)
      }
      const accepted = yield* initialize("application/json, text/event-stream")
      assert.strictEqual(accepted.status, 200, accepted.body)
      assert.isString(accepted.sessionId)
    }))
})

// With the version header, and without it as a 2025-03-26 client sends its requests. Each has a gateway and a fixture of its
// own: a flood the other left running at the shared fixture would fill this session's queue instead.
for (const version of ["2025-11-25", undefined]) {
  layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })(`/mcp answer streams (${version ?? "no version header"})`, (it) => {
    it.effect(`a client that stops reading its answer stream is closed with overflow, not buffered without bound (MCP-Protocol-Version: ${version ?? "none"})`, () =>
      Effect.gen(function*() {
        const opened = yield* post({
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: version ?? "2025-03-26", capabilities: {}, clientInfo: { name: "slow", version: "1" } }
        })
        const sessionId = opened.sessionId!
        const url = yield* serverUrl("/mcp")
        // A call that streams log messages of 2 KB, paced (so the session's own queue keeps up and only the answer
        // stream can fill): the client reads the head and then nothing.
        const paused = yield* Effect.callback<() => void>((resume) => {
          const req = httpRequest(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              authorization: `Bearer ${token}`,
              "mcp-session-id": sessionId,
              ...(version === undefined ? {} : { "mcp-protocol-version": version })
            }
          }, (res) => {
            res.pause()
            resume(Effect.succeed(() => req.destroy()))
          })
          req.end(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "fixture__flood", arguments: { count: 20000, size: 2000, rate: 2000 } } }))
        })
        // The session ends (overflow): its id is unknown from then on.
        let status = 200
        for (let attempt = 0; attempt < 100 && status !== 404; attempt++) {
          yield* Effect.sleep("100 millis")
          status = (yield* post({ jsonrpc: "2.0", id: 3 + attempt, method: "ping" }, sessionId)).status
        }
        paused()
        assert.strictEqual(status, 404)
      }))
  })
}

// A modern client's streamed call (it asked for logs): no session to close, so what a client that stops reading would
// pile up is bounded instead. Its progress and log messages past `maxPendingEvents` are dropped; its answer is not.
layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("/mcp modern streamed calls", (it) => {
  it.effect("a client that stops reading a streamed call loses log messages past the bound, never the answer", () =>
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { name: "slow", version: "1" },
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/logLevel": "debug"
      }
      const count = 12_000
      // 4 KB log messages at 2,000 a second: the client reads nothing for 3 s (24 MB sent, far past the socket's
      // buffers), then everything.
      const body = yield* Effect.promise(() =>
        new Promise<string>((resolve, reject) => {
          const req = httpRequest(url, {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/json, text/event-stream",
              authorization: `Bearer ${token}`,
              "mcp-protocol-version": "2026-07-28",
              "mcp-method": "tools/call",
              "mcp-name": "fixture__flood"
            }
          }, (res) => {
            res.pause()
            const chunks: Array<Buffer> = []
            res.on("data", (chunk: Buffer) => chunks.push(chunk))
            res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
            res.on("error", reject)
            setTimeout(() => res.resume(), 3_000)
          })
          req.on("error", reject)
          req.end(JSON.stringify({
            jsonrpc: "2.0",
            id: 2,
            method: "tools/call",
            params: { name: "fixture__flood", arguments: { count, size: 4000, rate: 2000 }, _meta: meta }
          }))
        })
      )
      const messages = body.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)))
      const logs = messages.filter((m) => m.method === "notifications/message")
      const answer = messages.at(-1)
      assert.strictEqual(answer?.id, 2)
      assert.match(answer?.result.content[0].text, new RegExp(`^flooded ${count} `))
      assert.isAbove(logs.length, 0)
      assert.isBelow(logs.length, count, "a client that was not reading had log messages dropped")
    }))
})

/** The first SSE event of a POST to the session's /mcp, its stream then dropped, as a lost connection would. */
const firstEventThenDrop = (sessionId: string, body: unknown) =>
  Effect.gen(function*() {
    const url = yield* serverUrl("/mcp")
    return yield* Effect.promise(() =>
      new Promise<string>((resolve, reject) => {
        const req = httpRequest(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            ...legacySessionHeaders(token, sessionId)
          }
        }, (res) => {
          let seen = ""
          res.on("data", (chunk: Buffer) => {
            seen += chunk.toString("utf8")
            const id = /^id: (.+)$/m.exec(seen)?.[1]
            if (id !== undefined && seen.includes("\n\n")) {
              req.destroy()
              resolve(id)
            }
          })
        })
        req.on("error", () => undefined)
        req.on("close", () => reject(new Error("the stream ended before its first event")))
        req.end(JSON.stringify(body))
      })
    )
  })

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("/mcp answer streams a client dropped", (it) => {
  it.effect("a dropped answer stream holds nothing: its call goes on past maxPendingEvents messages and the session stays", () =>
    Effect.gen(function*() {
      const opened = yield* post({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "dropping", version: "1" } }
      })
      const sessionId = opened.sessionId!
      // 300 log messages (the limit is 100), the stream dropped after the first.
      yield* firstEventThenDrop(sessionId, {
        jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "fixture__flood", arguments: { count: 300, rate: 1000 } }
      })
      // The call ends with its answer (stored for a resume that never comes); the session goes on.
      yield* Effect.sleep("1500 millis")
      const ping = yield* post({ jsonrpc: "2.0", id: 3, method: "ping" }, sessionId)
      assert.strictEqual(ping.status, 200, ping.text)

      // A stream dropped and resumed while its call still runs: what came meanwhile (stored only), then live, the
      // answer last.
      const firstId = yield* firstEventThenDrop(sessionId, {
        jsonrpc: "2.0", id: 4, method: "tools/call", params: { name: "fixture__flood", arguments: { count: 50, rate: 25 } }
      })
      yield* Effect.sleep("500 millis")
      const url = yield* serverUrl("/mcp")
      const resumed = yield* Effect.promise(() =>
        fetch(url, { headers: { accept: "text/event-stream", "last-event-id": firstId, ...legacySessionHeaders(token, sessionId) } })
          .then((r) => r.text())
      )
      const messages = resumed.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)))
      assert.strictEqual(messages.length, 50, "49 log messages after the first, then the answer")
      assert.deepStrictEqual(messages.slice(0, -1).map((m) => m.params.data.seq), Array.from({ length: 49 }, (_, i) => i + 1))
      assert.strictEqual(messages.at(-1)?.id, 4)
      assert.match(messages.at(-1)?.result.content[0].text, /^flooded 50 /)
    }))
})
