import { execFile } from "node:child_process"
import { createRequire } from "node:module"
import { dirname } from "node:path"
import {
  Client,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  LOG_LEVEL_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  ResourceNotFoundError,
  StreamableHTTPClientTransport
} from "@modelcontextprotocol/client"
import { assert, layer } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import type { ConfigFile } from "../../src/config/ConfigSchema.ts"
import * as Fixtures from "../fixtures/Fixtures.ts"
import { gatewayLayer, postMcp, serverUrl } from "../support/GatewayHttp.ts"
import { abandonedCallIsCancelled } from "../support/McpClients.ts"

const token = "mcp-endpoint-token-0123456789"
const narrowToken = "mcp-narrow-token-0123456789"
const deferredToken = "mcp-deferred-token-0123456789"
const otherToken = "mcp-other-token-0123456789"
const readerToken = "mcp-reader-token-0123456789"
const config: ConfigFile = {
  mcpServers: {
    everything: { command: Fixtures.nodeBinary, args: [Fixtures.everythingServer, "stdio"] },
    fixture: { command: Fixtures.nodeBinary, args: [Fixtures.legacyServer] },
    modern: { command: Fixtures.nodeBinary, args: [Fixtures.modernServer] }
  },
  clients: {
    tester: { token, servers: "*" },
    narrow: { token: narrowToken, servers: ["fixture"] },
    agent: { token: deferredToken, servers: "*", deferredLoading: true },
    other: { token: otherToken, servers: "*" },
    // Used by one test only: its modern hub has listed nothing before that test reads a resource.
    reader: { token: readerToken, servers: "*" }
  },
  // Raw exchanges below open sessions they do not all end.
  streaming: { maxSessionsPerClient: 20 }
}

/** The gateway's `/mcp` URL on the test server. */
const mcpUrl = serverUrl("/mcp")

/** An SDK v2 client connected to `/mcp`, closed with the scope. */
const connect = (options: { readonly token: string; readonly era: "legacy" | "auto" }) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const url = yield* mcpUrl
      const client = new Client(
        { name: "gateway-test", version: "1.0.0" },
        {
          capabilities: { sampling: {} },
          ...(options.era === "auto" ? { versionNegotiation: { mode: "auto" as const } } : {})
        }
      )
      const transport = new StreamableHTTPClientTransport(url, {
        requestInit: { headers: { Authorization: `Bearer ${options.token}` } }
      })
      yield* Effect.promise(() => client.connect(transport))
      return client
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

// The Inspector CLI's own launcher spawns whatever `node` is on PATH; its entry point runs on this Node instead.
const inspectorCli = createRequire(import.meta.url).resolve("@modelcontextprotocol/inspector-cli/build/index.js")

/** Runs the MCP Inspector's CLI against `/mcp`; its stdout, parsed as JSON. */
const inspector = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const url = yield* mcpUrl
    const stdout = yield* Effect.callback<string, Error>((resume) => {
      execFile(
        process.execPath,
        [inspectorCli, url.href, "--transport", "http", "--header", `Authorization: Bearer ${token}`, ...args],
        // It finds its own package.json relative to the working directory.
        { timeout: 30_000, cwd: dirname(inspectorCli) },
        (error, out, err) => resume(error === null ? Effect.succeed(out) : Effect.fail(new Error(`${error.message}\n${err}`)))
      )
    })
    return JSON.parse(stdout) as any
  })

/** A raw POST to `/mcp` as the `tester` client (for what an SDK client would never send). */
const post = (body: unknown, headers: Record<string, string> = {}) =>
  postMcp(body, { authorization: `Bearer ${token}`, ...headers })

const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
}

layer(gatewayLayer(config), { timeout: 60_000, excludeTestServices: true })("/mcp", (it) => {
  for (const era of ["legacy", "auto"] as const) {
    it.effect(`an SDK client (${era}): merged tools, a namespaced call on each server, a resource, a prompt, its own progress`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect({ token, era })
        const tools = (yield* Effect.promise(() => client.listTools())).tools.map((tool) => tool.name)
        assert.include(tools, "everything__echo")
        assert.include(tools, "fixture__echo")
        assert.include(tools, "modern__echo")
        const echo = yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: "hi" } }))
        assert.deepStrictEqual(echo.content, [{ type: "text", text: "Echo: hi" }])
        const fixture = yield* Effect.promise(() => client.callTool({ name: "fixture__echo", arguments: { text: "there" } }))
        assert.include(JSON.stringify(fixture.content), "there")
        const modern = yield* Effect.promise(() => client.callTool({ name: "modern__echo", arguments: { text: "now" } }))
        assert.include(JSON.stringify(modern.content), "now")

        const resources = (yield* Effect.promise(() => client.listResources())).resources
        const document = resources.find((resource) => resource.uri.startsWith("demo://resource/static/document/"))
        assert.isDefined(document)
        const read = yield* Effect.promise(() => client.readResource({ uri: document!.uri }))
        assert.strictEqual(read.contents[0]?.uri, document!.uri)
        const prompt = yield* Effect.promise(() => client.getPrompt({ name: "everything__simple-prompt" }))
        assert.isAbove(prompt.messages.length, 0)

        // Two calls at once, each with progress: each sees its own.
        const progress = { a: 0, b: 0 }
        const run = (key: "a" | "b") =>
          Effect.promise(() =>
            client.callTool(
              { name: "everything__trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
              { onprogress: () => void progress[key]++ }
            )
          )
        yield* Effect.all([run("a"), run("b")], { concurrency: 2 })
        assert.deepStrictEqual(progress, { a: 3, b: 3 })
      })))
  }

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a client (${era}) answers a legacy backend's sampling request through /mcp`, () =>
      Effect.scoped(Effect.gen(function*() {
        // A modern client gets it as `input_required`; the SDK answers with its handler and retries.
        const client = yield* connect({ token, era })
        client.setRequestHandler("sampling/createMessage", async () => ({
          role: "assistant" as const,
          content: { type: "text" as const, text: "sampled by the client" },
          model: "test-model"
        }))
        const result = yield* Effect.promise(() =>
          client.callTool({ name: "everything__trigger-sampling-request", arguments: { prompt: "hello", maxTokens: 5 } })
        )
        assert.include(JSON.stringify(result.content), "sampled by the client")
      })))
  }

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a client (${era}) that gives up on a call stops it at the backend`, () =>
      Effect.scoped(Effect.gen(function*() {
        // Legacy: the client's notifications/cancelled; modern: its closed response stream.
        yield* abandonedCallIsCancelled(yield* connect({ token, era }), "fixture")
      })))
  }

  it.effect("a modern client's two calls to one server: a backend question that could be either's is refused, not misrouted", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* connect({ token, era: "auto" })
      client.setRequestHandler("sampling/createMessage", async () => ({
        role: "assistant" as const,
        content: { type: "text" as const, text: "wrongly asked" },
        model: "test-model"
      }))
      const slow = client.callTool({ name: "fixture__slow", arguments: { ms: 800 } })
      yield* Effect.sleep("100 millis")
      const asked = yield* Effect.promise(() => client.callTool({ name: "fixture__ask", arguments: { prompt: "which call?" } }))
      // Neither hangs: the question is refused (the fixture says it gave up), and the slow call answers normally.
      assert.include(JSON.stringify(asked.content), "gave up")
      assert.include(JSON.stringify((yield* Effect.promise(() => slow)).content), "done after 800ms")
    })))

  it.effect("two clients at once; a token allowed one server sees only that server's tools", () =>
    Effect.scoped(Effect.gen(function*() {
      const [wide, narrow] = [yield* connect({ token, era: "legacy" }), yield* connect({ token: narrowToken, era: "auto" })]
      const narrowTools = (yield* Effect.promise(() => narrow.listTools())).tools.map((tool) => tool.name)
      assert.isAbove(narrowTools.length, 0)
      for (const name of narrowTools) assert.match(name, /^fixture__/)
      const refused = yield* Effect.promise(() =>
        narrow.callTool({ name: "everything__echo", arguments: { message: "x" } }).then(() => "called", (error: Error) => error.message)
      )
      assert.notStrictEqual(refused, "called")
      const echoes = yield* Effect.all([
        Effect.promise(() => wide.callTool({ name: "fixture__echo", arguments: { text: "wide" } })),
        Effect.promise(() => narrow.callTool({ name: "fixture__echo", arguments: { text: "narrow" } }))
      ], { concurrency: 2 })
      assert.include(JSON.stringify(echoes[0].content), "wide")
      assert.include(JSON.stringify(echoes[1].content), "narrow")
    })))

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a client (${era}) meets one server made of its servers: their union of capabilities, instructions naming them`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect({ token, era })
        const capabilities = client.getServerCapabilities()
        // everything: prompts, logging, tasks; the legacy fixture: tools and resources whose lists change,
        // subscriptions; the modern fixture: tools alone.
        assert.deepStrictEqual(capabilities?.tools, { listChanged: true })
        assert.deepStrictEqual(capabilities?.resources, { subscribe: true, listChanged: true })
        assert.isDefined(capabilities?.prompts)
        assert.isDefined(capabilities?.logging)
        // The SDK's 2026-07-28 client drops `tasks` (an extension there) from what it reports.
        if (era === "legacy") assert.isDefined(capabilities?.tasks)
        const instructions = client.getInstructions() ?? ""
        assert.include(instructions, "3 server(s): everything, fixture, modern")
        assert.include(instructions, "<server>__<name>")
        // The narrow client's gateway has one server, and says so.
        const narrow = yield* connect({ token: narrowToken, era })
        assert.include(narrow.getInstructions() ?? "", "1 server(s): fixture.")
        assert.isUndefined(narrow.getServerCapabilities()?.prompts)
      })))
  }

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a client (${era}) reading a URI no server offers gets "Resource not found" naming it, under its era's code`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect({ token: readerToken, era })
        // A client may read what it never listed: the gateway learns its servers' URIs first.
        const read = yield* Effect.promise(() => client.readResource({ uri: "demo://resource/dynamic/text/1" }))
        assert.strictEqual(read.contents[0]?.uri, "demo://resource/dynamic/text/1")
        // The SDK takes either era's code, with the URI in `data`, as "resource not found" (never "Method not found").
        const uri = "demo://no/such/resource"
        const error = yield* Effect.promise(() => client.readResource({ uri }).then(() => undefined, (error: unknown) => error))
        assert.instanceOf(error, ResourceNotFoundError)
        assert.strictEqual(error instanceof ResourceNotFoundError ? error.uri : undefined, uri)
      })))
  }

  it.effect(`"Resource not found" on the wire: -32002 for a 2025-11-25 session, -32602 for a 2026-07-28 request (SEP-2164)`, () =>
    Effect.gen(function*() {
      const uri = "demo://no/such/resource"
      const sessionId = (yield* post(initialize)).headers.get("mcp-session-id") ?? ""
      const legacy = yield* post({ jsonrpc: "2.0", id: 2, method: "resources/read", params: { uri } }, {
        "mcp-session-id": sessionId,
        "mcp-protocol-version": "2025-11-25"
      })
      assert.deepStrictEqual(JSON.parse(legacy.text).error, { code: -32002, message: "Resource not found", data: { uri } })
      const meta = {
        [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
        [CLIENT_INFO_META_KEY]: { name: "raw", version: "1" },
        [CLIENT_CAPABILITIES_META_KEY]: {}
      }
      const modern = yield* post({ jsonrpc: "2.0", id: 3, method: "resources/read", params: { uri, _meta: meta } }, {
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "resources/read",
        "mcp-name": uri
      })
      assert.deepStrictEqual(JSON.parse(modern.text).error, { code: -32602, message: "Resource not found", data: { uri } })
    }))

  it.effect("modern front headers: Mcp-Name may come Base64-encoded (as SDK clients send non-ASCII names); a tool name that names no server is -32602", () =>
    Effect.gen(function*() {
      const meta = {
        [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
        [CLIENT_INFO_META_KEY]: { name: "raw", version: "1" },
        [CLIENT_CAPABILITIES_META_KEY]: {}
      }
      const callTool = (name: string, mcpName: string) =>
        post({ jsonrpc: "2.0", id: name, method: "tools/call", params: { name, arguments: { text: "hi" }, _meta: meta } }, {
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "tools/call",
          "mcp-name": mcpName
        })
      const encoded = yield* callTool("fixture__echo", `=?base64?${Buffer.from("fixture__echo", "utf8").toString("base64")}?=`)
      assert.strictEqual(encoded.status, 200, encoded.text)
      assert.include(encoded.text, "hi")
      const wrong = yield* callTool("fixture__echo", `=?base64?${Buffer.from("fixture__other", "utf8").toString("base64")}?=`)
      assert.strictEqual(wrong.status, 400)
      const unnamed = yield* callTool("echo", "echo")
      assert.strictEqual(unnamed.status, 200, "an unknown tool is no unknown method (not 404)")
      assert.strictEqual(JSON.parse(unnamed.text).error.code, -32602)
    }))

  it.effect("two clients at once (one per era): each sees only its own progress and its own log messages", () =>
    Effect.scoped(Effect.gen(function*() {
      const clients = { a: yield* connect({ token, era: "legacy" }), b: yield* connect({ token: otherToken, era: "auto" }) }
      const logs = { a: [] as Array<string>, b: [] as Array<string> }
      const progress = { a: [] as Array<number>, b: [] as Array<number> }
      for (const key of ["a", "b"] as const) {
        clients[key].setNotificationHandler("notifications/message", (notification) => void logs[key].push(JSON.stringify(notification.params.data)))
      }
      const long = (key: "a" | "b") =>
        Effect.promise(() =>
          clients[key].callTool(
            { name: "everything__trigger-long-running-operation", arguments: { duration: 1, steps: 4 } },
            { onprogress: (update) => void progress[key].push(update.progress) }
          )
        )
      // A modern client asks for log messages on the call itself.
      const emit = (key: "a" | "b", secret: string) =>
        Effect.promise(() =>
          clients[key].callTool({ name: "fixture__emit", arguments: { count: 2, message: secret }, _meta: { [LOG_LEVEL_META_KEY]: "info" } })
        )
      // Both long calls run at once; meanwhile each client's call on the shared fixture logs a secret of its own.
      const longs = yield* Effect.all([long("a"), long("b")], { concurrency: 2 }).pipe(Effect.forkChild({ startImmediately: true }))
      yield* emit("a", "A-SECRET")
      yield* emit("b", "B-SECRET")
      yield* Fiber.join(longs)
      assert.deepStrictEqual(progress, { a: [1, 2, 3, 4], b: [1, 2, 3, 4] })
      assert.deepStrictEqual(logs.a.filter((data) => data.includes("SECRET")), [`"A-SECRET"`, `"A-SECRET"`])
      assert.deepStrictEqual(logs.b.filter((data) => data.includes("SECRET")), [`"B-SECRET"`, `"B-SECRET"`])
    })))

  it.effect("a legacy session resumes its GET stream with Last-Event-ID; DELETE ends it, then 404", () =>
    Effect.gen(function*() {
      const url = yield* mcpUrl
      const opened = yield* post(initialize)
      assert.strictEqual(opened.status, 200)
      const sessionId = opened.headers.get("mcp-session-id")!
      assert.isString(sessionId)
      const headers = { "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25" }
      yield* post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)
      const addResource = (id: number, uri: string) =>
        post({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "fixture__add-resource", arguments: { uri } } }, headers)
      // Open the GET stream and read one event from it (a list change), keep its id, and drop the stream.
      const controller = new AbortController()
      const get = yield* Effect.promise(() =>
        fetch(url, { headers: { ...headers, accept: "text/event-stream", authorization: `Bearer ${token}` }, signal: controller.signal })
      )
      assert.strictEqual(get.status, 200)
      const reader = get.body!.getReader()
      yield* addResource(2, "fixture://first-change")
      let seen = ""
      while (!/id: ?\S+/.test(seen)) seen += new TextDecoder().decode((yield* Effect.promise(() => reader.read())).value)
      const lastSeen = /id: ?(\S+)/.exec(seen)![1]!
      controller.abort()
      // While no stream is open, the list changes again: the notification waits in the session's store.
      const added = yield* addResource(3, "fixture://second-change")
      assert.include(added.text, "added fixture://second-change")
      const resumed = yield* Effect.promise(() =>
        fetch(url, { headers: { ...headers, accept: "text/event-stream", authorization: `Bearer ${token}`, "last-event-id": lastSeen } })
      )
      const resumedReader = resumed.body!.getReader()
      let replayed = ""
      while (!replayed.includes("notifications/resources/list_changed")) {
        replayed += new TextDecoder().decode((yield* Effect.promise(() => resumedReader.read())).value)
      }
      yield* Effect.promise(() => resumedReader.cancel())
      assert.notInclude(replayed, `id: ${lastSeen}\n`, "only what came after the last event seen")
      const deleted = yield* Effect.promise(() =>
        fetch(url, { method: "DELETE", headers: { ...headers, authorization: `Bearer ${token}` } })
      )
      assert.strictEqual(deleted.status, 200)
      const after = yield* post({ jsonrpc: "2.0", id: 4, method: "tools/list" }, headers)
      assert.strictEqual(after.status, 404)
      assert.strictEqual(JSON.parse(after.text).error.code, -32001)
    }))

  it.effect("a modern client listens: list changes reach its listen stream, stamped with its subscription", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = yield* connect({ token, era: "auto" })
      const changed = yield* Deferred.make<void>()
      client.setNotificationHandler("notifications/tools/list_changed", () => void Deferred.doneUnsafe(changed, Exit.void))
      const subscription = yield* Effect.promise(() => client.listen({ toolsListChanged: true }))
      assert.isTrue(subscription.honoredFilter.toolsListChanged)
      yield* Effect.promise(() =>
        client.callTool({ name: "fixture__add-tool", arguments: { name: "listened", description: "a tool added while listening" } })
      )
      // The SDK hands a listen stream's notification to handlers only if it names that subscription.
      yield* Deferred.await(changed).pipe(Effect.timeout("10 seconds"))
      yield* Effect.promise(() => subscription.close())
      assert.strictEqual(yield* Effect.promise(() => subscription.closed), "local")
    })))

  for (const era of ["legacy", "auto"] as const) {
    it.effect(`a deferred client (${era}) searches and activates through /mcp, and hears its list change`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = yield* connect({ token: deferredToken, era })
        const changed = yield* Deferred.make<void>()
        client.setNotificationHandler("notifications/tools/list_changed", () => void Deferred.doneUnsafe(changed, Exit.void))
        // A modern client hears list changes on a listen stream; a legacy one on its session's GET stream.
        const subscription = era === "auto" ? yield* Effect.promise(() => client.listen({ toolsListChanged: true })) : undefined
        const names = () => Effect.promise(() => client.listTools()).pipe(Effect.map((r) => r.tools.map((tool) => tool.name)))
        assert.deepStrictEqual(yield* names(), ["gateway__search_tools", "gateway__activate_tools", "gateway__deactivate_tools"])
        const found = yield* Effect.promise(() => client.callTool({ name: "gateway__search_tools", arguments: { query: "echo a message" } }))
        assert.include(JSON.stringify(found.structuredContent), "everything__echo")
        yield* Effect.promise(() => client.callTool({ name: "gateway__activate_tools", arguments: { names: ["everything__echo"] } }))
        yield* Deferred.await(changed).pipe(Effect.timeout("10 seconds"))
        assert.include(yield* names(), "everything__echo")
        const echo = yield* Effect.promise(() => client.callTool({ name: "everything__echo", arguments: { message: "found" } }))
        assert.deepStrictEqual(echo.content, [{ type: "text", text: "Echo: found" }])
        if (subscription !== undefined) yield* Effect.promise(() => subscription.close())
      })))
  }

  it.effect("the MCP Inspector's CLI lists the tools and calls one through /mcp", () =>
    Effect.gen(function*() {
      const listed = yield* inspector(["--method", "tools/list"])
      assert.include(listed.tools.map((tool: { name: string }) => tool.name), "everything__echo")
      const called = yield* inspector(["--method", "tools/call", "--tool-name", "everything__echo", "--tool-arg", "message=inspected"])
      assert.deepStrictEqual(called.content, [{ type: "text", text: "Echo: inspected" }])
    }))

  for (const drop of [true, false]) {
    it.effect(`a legacy POST answered as a stream (progress first) resumes ${drop ? "after a drop" : "while the old stream is still open"}, and nothing is lost`, () =>
      Effect.gen(function*() {
        const url = yield* mcpUrl
        const opened = yield* post(initialize)
        const headers = {
          "mcp-session-id": opened.headers.get("mcp-session-id")!,
          "mcp-protocol-version": "2025-11-25",
          authorization: `Bearer ${token}`
        }
        const controller = new AbortController()
        const call = yield* Effect.promise(() =>
          fetch(url, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
            body: JSON.stringify({
              jsonrpc: "2.0",
              id: "long",
              method: "tools/call",
              params: {
                name: "everything__trigger-long-running-operation",
                arguments: { duration: 0.6, steps: 3 },
                _meta: { progressToken: "p1" }
              }
            }),
            signal: controller.signal
          })
        )
        assert.strictEqual(call.headers.get("content-type"), "text/event-stream")
        const reader = call.body!.getReader()
        let seen = ""
        while (!/id: ?\S+/.test(seen)) seen += new TextDecoder().decode((yield* Effect.promise(() => reader.read())).value)
        const firstId = /id: ?(\S+)/.exec(seen)![1]!
        assert.include(seen, "notifications/progress")
        // The old stream is dropped, or (a client that resumes before the server noticed anything) left open: the
        // resumed stream takes over either way.
        if (drop) controller.abort()
        // The rest (two more progress notifications and the answer) is kept for the client to resume.
        const resumed = yield* Effect.promise(() =>
          fetch(url, { headers: { ...headers, accept: "text/event-stream", "last-event-id": firstId } })
        )
        const rest = yield* Effect.promise(() => resumed.text())
        assert.strictEqual((rest.match(/notifications\/progress/g) ?? []).length, 2)
        assert.include(rest, `"id":"long"`)
        assert.include(rest, "Long running operation completed")
        controller.abort()
      }))
  }

  it.effect("refusals: a foreign Origin 403, no token 401, bad JSON 400, another client's session 404", () =>
    Effect.gen(function*() {
      const origin = yield* post(initialize, { origin: "http://evil.example" })
      assert.strictEqual(origin.status, 403)
      assert.strictEqual(JSON.parse(origin.text).error.code, -32000)
      const local = yield* post(initialize, { origin: "http://localhost:5173" })
      assert.strictEqual(local.status, 200, "a page on this machine may call a loopback gateway")
      const anonymous = yield* post(initialize, { authorization: "" })
      assert.strictEqual(anonymous.status, 401)
      assert.strictEqual(anonymous.headers.get("www-authenticate"), "Bearer")
      const malformed = yield* post("{not json")
      assert.strictEqual(malformed.status, 400)
      assert.strictEqual(JSON.parse(malformed.text).error.code, -32700)
      const mine = (yield* post(initialize)).headers.get("mcp-session-id")!
      const theirs = yield* post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, {
        authorization: `Bearer ${narrowToken}`,
        "mcp-session-id": mine,
        "mcp-protocol-version": "2025-11-25"
      })
      assert.strictEqual(theirs.status, 404)
      const unknown = yield* post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, { "mcp-session-id": "nope", "mcp-protocol-version": "2025-11-25" })
      assert.strictEqual(unknown.status, 404)
      // An MCP session is not reachable through the session API, even by its own client.
      const base = yield* serverUrl()
      const viaSessionApi = yield* Effect.promise(() =>
        fetch(new URL(`/gateway/stream/${mine}`, base), { method: "DELETE", headers: { authorization: `Bearer ${token}` } })
      )
      assert.strictEqual(viaSessionApi.status, 404)
      const stillThere = yield* post({ jsonrpc: "2.0", id: 3, method: "ping" }, { "mcp-session-id": mine, "mcp-protocol-version": "2025-11-25" })
      assert.strictEqual(stillThere.status, 200)
    }))
})
