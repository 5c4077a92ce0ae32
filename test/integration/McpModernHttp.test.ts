import { fileURLToPath } from "node:url"
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  Client,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  StreamableHTTPClientTransport
} from "@modelcontextprotocol/client"
import { assert, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, postMcp, serverUrl } from "../support/GatewayHttp.ts"
import * as Processes from "../support/Processes.ts"
import { abandonedCallIsCancelled } from "../support/McpClients.ts"

// /mcp in front of HTTP backends: the modern fixture served over Streamable HTTP (a 2026-07-28 server, stateless)
// and the conformance fixture (both eras on one endpoint), each a real process on a free port.

const token = "modern-http-client-token-0123456789"
/** What the gateway sends the modern fixture (from config): the client's own token must never go there. */
const backendToken = "backend-only-secret-0123456789"
/** The fixture's tool whose name, behind `http__`, is past 64 characters: the gateway shortens it. */
const longToolName = "a_tool_whose_name_is_long_enough_to_need_renaming_behind_a_prefix"
const conformanceFixture = fileURLToPath(new URL("../fixtures/conformance-server.ts", import.meta.url))

const portOf = (output: ReadonlyArray<string>) => /listening (\d+)/.exec(output.join(""))?.[1] ?? "0"

const stack = Layer.unwrap(Effect.gen(function*() {
  const modern = yield* Processes.serve(process.execPath, [Fixtures.modernServer, "--http", "0"], {}, /listening \d+\n/)
  const conformance = yield* Processes.serve(process.execPath, [conformanceFixture, "--port", "0"], {}, /listening \d+\n/)
  return gatewayLayer({
    mcpServers: {
      http: { url: `http://127.0.0.1:${portOf(modern.output)}/mcp`, headers: { Authorization: `Bearer ${backendToken}` } },
      conf: { url: `http://127.0.0.1:${portOf(conformance.output)}/mcp` }
    },
    clients: { tester: { token, servers: "*" } },
    streaming: { maxSessionsPerClient: 20 }
  })
}))

/** An SDK v2 client connected to `/mcp`, closed with the scope. */
const connect = (era: "legacy" | "auto") =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const client = new Client({ name: "modern-http-test", version: "1.0.0" }, era === "auto" ? { versionNegotiation: { mode: "auto" } } : {})
      yield* Effect.promise(() =>
        client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } }))
      )
      return client
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

const textOf = (result: { content?: unknown }) => (result.content as Array<{ text?: string }> | undefined)?.[0]?.text

/** The code of the JSON-RPC error a call failed with (or "answered" when it did not fail). */
const errorCode = (call: Promise<unknown>) =>
  Effect.promise(() => call.then(() => "answered" as const, (error: unknown) => error instanceof ProtocolError ? error.code : String(error)))

/** The headers of every request the modern fixture has served, oldest first. */
const backendHeaders = (client: Client) =>
  Effect.promise(() => client.callTool({ name: "http__headers", arguments: {} })).pipe(
    Effect.map((result) => JSON.parse(textOf(result) ?? "[]") as Array<Record<string, string>>)
  )

const envelope = {
  [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
  [CLIENT_INFO_META_KEY]: { name: "raw", version: "1" },
  [CLIENT_CAPABILITIES_META_KEY]: {}
}

/** A raw modern request (what an SDK client would not send), with the front headers the spec asks for. */
const modernPost = (method: string, params: Record<string, unknown>, headers: Record<string, string> = {}) =>
  postMcp({ jsonrpc: "2.0", id: 1, method, params: { ...params, _meta: { ...envelope, ...(params["_meta"] as object | undefined) } } }, {
    authorization: `Bearer ${token}`,
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": method,
    ...(typeof params["name"] === "string" ? { "mcp-name": params["name"] } : {}),
    ...headers
  })

layer(stack, { timeout: 60_000, excludeTestServices: true })("/mcp in front of HTTP backends", (it) => {
  for (const era of ["legacy", "auto"] as const) {
    it.effect(`an SDK client (${era}) calls tools that mirror an argument into an Mcp-Param header (SEP-2243)`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect(era)
        yield* Effect.promise(() => client.listTools())
        // The conformance fixture's own tool, as the suite's scenario uses it, and a non-ASCII value (Base64-encoded).
        const custom = yield* Effect.promise(() => client.callTool({ name: "conf__test_custom_headers", arguments: { region: "eu" } }))
        assert.strictEqual(textOf(custom), "region=eu")
        const zurich = yield* Effect.promise(() => client.callTool({ name: "http__region", arguments: { region: "Zürich" } }))
        assert.strictEqual(textOf(zurich), "region=Zürich")
        // The gateway sent the backend the header its schema declares, whatever era the client speaks.
        const sent = (yield* backendHeaders(client)).filter((headers) => headers["mcp-name"] === "region")
        assert.strictEqual(sent.at(-1)?.["mcp-param-region"], `=?base64?${Buffer.from("Zürich").toString("base64")}?=`)
      })))
  }

  it.effect("a tool the server added without list_changed still gets its Mcp-Param header: the gateway lists again once", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* connect("legacy")
      // The gateway learns the server's header declarations (zone is not among them yet)...
      assert.strictEqual(textOf(yield* Effect.promise(() => client.callTool({ name: "http__region", arguments: { region: "eu" } }))), "region=eu")
      // ...then the server adds a header-mirroring tool and tells no one.
      assert.strictEqual(textOf(yield* Effect.promise(() => client.callTool({ name: "http__add-zone", arguments: {} }))), "zone added")
      const zone = yield* Effect.promise(() => client.callTool({ name: "http__zone", arguments: { zone: "north" } }))
      assert.strictEqual(textOf(zone), "zone=north")
      const sent = (yield* backendHeaders(client)).filter((headers) => headers["mcp-name"] === "zone")
      assert.strictEqual(sent.at(-1)?.["mcp-param-zone"], "north")
    })))

  it.effect("the modern front checks a client's Mcp-Param headers against the body: 400, -32020 when they disagree", () =>
    Effect.gen(function*() {
      const call = (headers: Record<string, string>) =>
        modernPost("tools/call", { name: "http__region", arguments: { region: "eu" } }, headers).pipe(
          Effect.map((reply) => ({ status: reply.status, code: JSON.parse(reply.text).error?.code as number | undefined }))
        )
      assert.deepStrictEqual(yield* call({ "mcp-param-region": "eu" }), { status: 200, code: undefined })
      assert.deepStrictEqual(yield* call({ "mcp-param-region": "=?base64?ZXU=?=" }), { status: 200, code: undefined })
      assert.deepStrictEqual(yield* call({ "mcp-param-region": "us" }), { status: 400, code: -32020 })
      assert.deepStrictEqual(yield* call({ "mcp-param-region": "=?base64?ZXU?=" }), { status: 400, code: -32020 })
      assert.deepStrictEqual(yield* call({}), { status: 400, code: -32020 })
    }))

  it.effect("a backend's HTTP 400 reaches a modern client as a 400 with the backend's error, streamed or not", () =>
    Effect.gen(function*() {
      // `scale` declares a `number` header: an invalid declaration, so the gateway (like the SDK's client) mirrors
      // nothing, and the fixture refuses the call with 400 / -32020. The client's own header passes the front.
      const scale = (meta: Record<string, unknown>) =>
        modernPost("tools/call", { name: "http__scale", arguments: { factor: 2 }, _meta: meta }, { "mcp-param-factor": "2" })
      for (const meta of [{}, { progressToken: "p1" }]) {
        const reply = yield* scale(meta)
        assert.strictEqual(reply.status, 400, reply.text)
        assert.strictEqual(reply.headers.get("content-type"), "application/json")
        const body = JSON.parse(reply.text)
        assert.strictEqual(body.id, 1)
        assert.strictEqual(body.error.code, -32020)
        // The backend's `data` (which header disagreed) is kept too.
        assert.strictEqual(body.error.data?.mismatch?.header, "Mcp-Param-Factor")
      }
      // A 404 (a method the backend does not have) the same, when the call asked for progress.
      const unknown = yield* modernPost("http__no/such/method", { _meta: { progressToken: "p2" } })
      assert.strictEqual(unknown.status, 404, unknown.text)
      assert.strictEqual(JSON.parse(unknown.text).error.code, -32601)
    }))

  it.effect("a streamed call that stays quiet opens its stream after 5 s, so a proxy is not left waiting for headers", () =>
    Effect.gen(function*() {
      const url = yield* serverUrl("/mcp")
      const started = performance.now()
      const response = yield* Effect.promise(() =>
        fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            authorization: `Bearer ${token}`,
            "mcp-protocol-version": "2026-07-28",
            "mcp-method": "tools/call",
            "mcp-name": "http__slow"
          },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 9,
            method: "tools/call",
            params: { name: "http__slow", arguments: { ms: 7_500 }, _meta: { ...envelope, progressToken: "quiet" } }
          })
        })
      )
      // fetch resolves with the headers: they came long before the answer could.
      const headersAfter = performance.now() - started
      assert.isBelow(headersAfter, 7_000, `headers after ${headersAfter.toFixed(0)} ms`)
      assert.strictEqual(response.status, 200)
      assert.strictEqual(response.headers.get("content-type"), "text/event-stream")
      const text = yield* Effect.promise(() => response.text())
      assert.isAtLeast(performance.now() - started, 7_400, "the answer itself still took the call's time")
      assert.include(text, ": waiting for the answer")
      const answer = JSON.parse(text.split("\n").filter((line) => line.startsWith("data: ")).at(-1)!.slice(6))
      assert.strictEqual(answer.id, 9)
      assert.isDefined(answer.result)
    }))

  it.effect("a legacy client gets a backend's refusal as the backend's own JSON-RPC error", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* connect("legacy")
      assert.strictEqual(yield* errorCode(client.callTool({ name: "http__scale", arguments: { factor: 2 } })), -32020)
    })))

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a renamed tool (${era}): the backend gets its own name in Mcp-Name, not the shortened one`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect(era)
        const tools = (yield* Effect.promise(() => client.listTools())).tools
        const renamed = tools.find((tool) => tool.description === "Answers with its own name")
        assert.isDefined(renamed)
        assert.notStrictEqual(renamed?.name, `http__${longToolName}`)
        assert.isAtMost(renamed?.name.length ?? 99, 64)
        const called = yield* Effect.promise(() => client.callTool({ name: renamed?.name ?? "", arguments: {} }))
        assert.strictEqual(textOf(called), longToolName)
        const calls = (yield* backendHeaders(client)).filter((headers) => headers["mcp-method"] === "tools/call")
        assert.isTrue(calls.some((headers) => headers["mcp-name"] === longToolName))
        assert.isFalse(calls.some((headers) => headers["mcp-name"] === renamed?.name))
      })))
  }

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a client (${era}) that gives up on a call: the modern backend's response stream is closed, which cancels it`, () =>
      Effect.scoped(Effect.gen(function*() {
        yield* abandonedCallIsCancelled(yield* connect(era), "http")
      })))
  }

  it.effect("the client's bearer token never reaches a backend; the backend's own configured header does", () =>
    Effect.scoped(Effect.gen(function*() {
      for (const era of ["legacy", "auto"] as const) {
        const client = yield* connect(era)
        yield* Effect.promise(() => client.callTool({ name: "http__echo", arguments: { text: era } }))
      }
      const seen = yield* backendHeaders(yield* connect("auto"))
      assert.isAbove(seen.length, 0)
      for (const headers of seen) {
        assert.notInclude(JSON.stringify(headers), token)
        assert.strictEqual(headers["authorization"], `Bearer ${backendToken}`)
      }
    })))
})
