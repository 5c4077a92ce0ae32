import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { ConfigError, type ConfigProblem } from "../../src/config/ConfigErrors.ts"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"

// Decoding goes through ConfigLoader.decode: the schema, the cross-field rules and `${VAR}` expansion
// together are what "a valid config" means.
const decode = (json: unknown, env: Record<string, string | undefined> = {}) =>
  ConfigLoader.decode(json, { source: "test.json", env })

const problemsOf = (json: unknown, env: Record<string, string | undefined> = {}) =>
  Effect.map(Effect.flip(decode(json, env)), (error): ReadonlyArray<ConfigProblem> => error.problems)

const minimal = {
  mcpServers: { everything: { command: "node", args: ["server.js"] } },
  clients: { alice: { token: "alice-token", servers: ["everything"] } }
}

describe("Config schema: valid configs", () => {
  it.effect("fills every default", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        mcpServers: { s: { command: "srv" }, r: { url: "https://example.test/mcp" } },
        clients: {
          c: { tokenSha256: "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", servers: "*" }
        }
      })
      assert.deepStrictEqual(config.listen, { host: "127.0.0.1", port: 3625 })
      assert.deepStrictEqual(config.streaming, {
        maxSessionsPerClient: 5,
        sessionTimeoutSeconds: 3600,
        heartbeatIntervalSeconds: 30,
        maxPendingEvents: 1000,
        requestTimeoutSeconds: 60
      })
      assert.deepStrictEqual(config.mcpServers.s, {
        kind: "stdio",
        command: "srv",
        args: [],
        env: {},
        isolation: "shared"
      })
      assert.deepStrictEqual(config.mcpServers.r, {
        kind: "remote",
        url: "https://example.test/mcp",
        transport: "streamable-http",
        headers: {},
        isolation: "shared"
      })
      assert.deepStrictEqual(config.clients.c, {
        // The digest is normalised to lower case so it compares with a computed hex digest.
        tokenSha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        anonymous: false,
        servers: "*",
        deferredLoading: false,
        namespacing: "on"
      })
    }))

  it.effect("keeps every field of the documented example", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        listen: { host: "0.0.0.0", port: 8080, allowedOrigins: ["http://localhost:3625"] },
        mcpServers: {
          everything: {
            command: "npx",
            args: ["-y", "@modelcontextprotocol/server-everything"],
            env: { LOG: "1" },
            cwd: "/tmp",
            isolation: "session"
          },
          remote: {
            url: "https://example.test/mcp",
            transport: "sse",
            headers: { Authorization: "Bearer x" },
            requestTimeoutSeconds: 2.5
          }
        },
        clients: {
          alice: { token: "a", servers: ["everything"], deferredLoading: true, namespacing: "on" },
          carol: { token: "c", servers: ["everything"], namespacing: "off" },
          conformance: { anonymous: true, servers: ["remote"] }
        },
        streaming: {
          maxSessionsPerClient: 1,
          sessionTimeoutSeconds: 2,
          heartbeatIntervalSeconds: 3,
          maxPendingEvents: 4,
          requestTimeoutSeconds: 0.5
        }
      })
      assert.deepStrictEqual(config.listen, { host: "0.0.0.0", port: 8080, allowedOrigins: ["http://localhost:3625"] })
      assert.deepStrictEqual(config.mcpServers.everything, {
        kind: "stdio",
        command: "npx",
        args: ["-y", "@modelcontextprotocol/server-everything"],
        env: { LOG: "1" },
        cwd: "/tmp",
        isolation: "session"
      })
      assert.deepStrictEqual(config.mcpServers.remote, {
        kind: "remote",
        url: "https://example.test/mcp",
        transport: "sse",
        headers: { Authorization: "Bearer x" },
        isolation: "shared",
        requestTimeoutSeconds: 2.5
      })
      const alice = config.clients.alice
      assert.isDefined(alice)
      assert.isTrue(alice !== undefined && alice.token !== undefined && Redacted.value(alice.token) === "a")
      assert.strictEqual(alice?.namespacing, "on")
      assert.strictEqual(alice?.deferredLoading, true)
      assert.strictEqual(config.clients.carol?.namespacing, "off")
      assert.strictEqual(config.clients.conformance?.anonymous, true)
      assert.strictEqual(config.streaming.requestTimeoutSeconds, 0.5)
    }))

  it.effect("tells stdio and remote servers apart by kind", () =>
    Effect.gen(function*() {
      const config = yield* decode(minimal)
      const server = config.mcpServers.everything
      assert.strictEqual(server?.kind, "stdio")
      if (server?.kind === "stdio") assert.deepStrictEqual(server.args, ["server.js"])
    }))

  it.effect("accepts the \"type\" key other MCP clients write, and derives the transport from it", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        mcpServers: {
          s: { type: "stdio", command: "srv" },
          h: { type: "http", url: "http://localhost:1/mcp" },
          e: { type: "sse", url: "http://localhost:1/sse" },
          both: { type: "sse", url: "http://localhost:1/sse", transport: "sse" }
        },
        clients: { c: { token: "t", servers: "*" } }
      })
      assert.deepStrictEqual(config.mcpServers.s, {
        kind: "stdio",
        command: "srv",
        args: [],
        env: {},
        isolation: "shared"
      })
      assert.strictEqual(config.mcpServers.h?.kind === "remote" && config.mcpServers.h.transport, "streamable-http")
      assert.strictEqual(config.mcpServers.e?.kind === "remote" && config.mcpServers.e.transport, "sse")
      assert.strictEqual(config.mcpServers.both?.kind === "remote" && config.mcpServers.both.transport, "sse")
    }))

  it.effect("allows port 0 (pick a free port) and ids with dashes, underscores and digits", () =>
    Effect.gen(function*() {
      const config = yield* decode({
        listen: { port: 0 },
        mcpServers: { "my-server_2": { command: "x" } },
        clients: { c: { token: "t", servers: ["my-server_2"], namespacing: "off" } }
      })
      assert.strictEqual(config.listen.port, 0)
      assert.deepStrictEqual(Object.keys(config.mcpServers), ["my-server_2"])
    }))
})

describe("Config schema: problems, each by JSON path", () => {
  const cases: ReadonlyArray<readonly [string, unknown, ConfigProblem]> = [
    ["a top-level typo", { ...minimal, streeming: {} }, {
      path: "streeming",
      message: "unknown key (expected one of: listen, mcpServers, clients, streaming)"
    }],
    ["a missing mcpServers", { clients: {} }, { path: "mcpServers", message: "is required" }],
    ["a config that is not an object", [], { path: "", message: "expected object" }],
    ["an unknown listen key", { ...minimal, listen: { hots: "x" } }, {
      path: "listen.hots",
      message: "unknown key (expected one of: host, port, allowedOrigins)"
    }],
    ["a port out of range", { ...minimal, listen: { port: 70000 } }, {
      path: "listen.port",
      message: "must be an integer from 0 to 65535"
    }],
    ["an empty command", { ...minimal, mcpServers: { everything: { command: "" } } }, {
      path: "mcpServers.everything.command",
      message: "must not be empty"
    }],
    ["a command of the wrong type", { ...minimal, mcpServers: { everything: { command: 5 } } }, {
      path: "mcpServers.everything.command",
      message: "expected string"
    }],
    ["a non-string arg", { ...minimal, mcpServers: { everything: { command: "x", args: ["a", 1] } } }, {
      path: "mcpServers.everything.args[1]",
      message: "expected string"
    }],
    ["a non-string env value", { ...minimal, mcpServers: { everything: { command: "x", env: { A: 1 } } } }, {
      path: "mcpServers.everything.env.A",
      message: "expected string"
    }],
    ["a typo in a server", { ...minimal, mcpServers: { everything: { command: "x", arg: [] } } }, {
      path: "mcpServers.everything.arg",
      message: "unknown key (expected one of: type, command, args, env, cwd, isolation, requestTimeoutSeconds)"
    }],
    ["a server that is not an object", { ...minimal, mcpServers: { everything: "node" } }, {
      path: "mcpServers.everything",
      message: "expected object"
    }],
    ["a server with neither command nor url", { ...minimal, mcpServers: { everything: {} } }, {
      path: "mcpServers.everything",
      message: `expected "command" (a stdio server) or "url" (a remote server)`
    }],
    ["a server with both command and url", {
      ...minimal,
      mcpServers: { everything: { command: "x", url: "http://x" } }
    }, {
      path: "mcpServers.everything",
      message: `a server has either "command" (stdio) or "url" (remote), not both`
    }],
    ["an unknown isolation", { ...minimal, mcpServers: { everything: { command: "x", isolation: "private" } } }, {
      path: "mcpServers.everything.isolation",
      message: `expected "shared" | "session"`
    }],
    ["a zero server timeout", { ...minimal, mcpServers: { everything: { command: "x", requestTimeoutSeconds: 0 } } }, {
      path: "mcpServers.everything.requestTimeoutSeconds",
      message: "must be a positive number"
    }],
    ["a non-http url", { ...minimal, mcpServers: { everything: { url: "ftp://example.test" } } }, {
      path: "mcpServers.everything.url",
      message: "must be an http:// or https:// URL"
    }],
    ["a url that is not a URL", { ...minimal, mcpServers: { everything: { url: "not a url" } } }, {
      path: "mcpServers.everything.url",
      message: "must be an http:// or https:// URL"
    }],
    ["an unknown transport", { ...minimal, mcpServers: { everything: { url: "http://x", transport: "ws" } } }, {
      path: "mcpServers.everything.transport",
      message: `expected "streamable-http" | "sse"`
    }],
    ["a transport that contradicts type", {
      ...minimal,
      mcpServers: { everything: { type: "http", url: "http://x", transport: "sse" } }
    }, {
      path: "mcpServers.everything.transport",
      message: `"sse" contradicts "type": "http"`
    }],
    ["a stdio-only key on a remote server", { ...minimal, mcpServers: { everything: { url: "http://x", args: [] } } }, {
      path: "mcpServers.everything.args",
      message: "unknown key (expected one of: type, transport, url, headers, isolation, requestTimeoutSeconds)"
    }],
    ["a server id with a space", { ...minimal, mcpServers: { ...minimal.mcpServers, "my server": { command: "x" } } }, {
      path: `mcpServers["my server"]`,
      message: `server id must contain only letters, digits, "_" and "-"`
    }],
    ["a server id with the separator", { ...minimal, mcpServers: { ...minimal.mcpServers, a__b: { command: "x" } } }, {
      path: "mcpServers.a__b",
      message: `server id must not contain "__" (it separates server and tool names)`
    }],
    ["a server id ending in _", { ...minimal, mcpServers: { ...minimal.mcpServers, fs_: { command: "x" } } }, {
      path: "mcpServers.fs_",
      message: `server id must not end in "_" ("fs___tool" would not split back into "fs_")`
    }],
    ["a server id too long to namespace", {
      ...minimal,
      mcpServers: { ...minimal.mcpServers, ["s".repeat(54)]: { command: "x" } }
    }, {
      path: `mcpServers.${"s".repeat(54)}`,
      message: "server id must be at most 53 characters"
    }],
    ["a client with no auth", { ...minimal, clients: { alice: { servers: "*" } } }, {
      path: "clients.alice",
      message: `needs exactly one of "token", "tokenSha256" or "anonymous": true (none is given)`
    }],
    ["a client with anonymous: false only", { ...minimal, clients: { alice: { anonymous: false, servers: "*" } } }, {
      path: "clients.alice",
      message: `needs exactly one of "token", "tokenSha256" or "anonymous": true (none is given)`
    }],
    ["a client with two auth methods", {
      ...minimal,
      clients: { alice: { token: "t", anonymous: true, servers: "*" } }
    }, {
      path: "clients.alice",
      message: `needs exactly one of "token", "tokenSha256" or "anonymous": true (token and anonymous are given)`
    }],
    ["an empty token", { ...minimal, clients: { alice: { token: "", servers: "*" } } }, {
      path: "clients.alice.token",
      message: "must not be empty"
    }],
    ["a malformed tokenSha256", { ...minimal, clients: { alice: { tokenSha256: "abc", servers: "*" } } }, {
      path: "clients.alice.tokenSha256",
      message: "must be 64 hexadecimal characters (a SHA-256 digest)"
    }],
    ["servers that are neither \"*\" nor a list", { ...minimal, clients: { alice: { token: "t", servers: "all" } } }, {
      path: "clients.alice.servers",
      message: `expected "*" or an array of server ids`
    }],
    ["a missing servers", { ...minimal, clients: { alice: { token: "t" } } }, {
      path: "clients.alice.servers",
      message: "is required"
    }],
    ["an unknown server", { ...minimal, clients: { alice: { token: "t", servers: ["everything", "nope"] } } }, {
      path: "clients.alice.servers[1]",
      message: `unknown server "nope" (not in mcpServers)`
    }],
    ["namespacing off with \"*\"", {
      ...minimal,
      clients: { alice: { token: "t", servers: "*", namespacing: "off" } }
    }, {
      path: "clients.alice.namespacing",
      message: `"off" is only allowed for a client whose "servers" lists exactly one server`
    }],
    ["namespacing off with two servers", {
      mcpServers: { a: { command: "a" }, b: { command: "b" } },
      clients: { alice: { token: "t", servers: ["a", "b"], namespacing: "off" } }
    }, {
      path: "clients.alice.namespacing",
      message: `"off" is only allowed for a client whose "servers" lists exactly one server`
    }],
    ["deferred loading with namespacing off", {
      ...minimal,
      clients: { alice: { token: "t", servers: ["everything"], namespacing: "off", deferredLoading: true } }
    }, {
      path: "clients.alice.deferredLoading",
      message: `needs namespacing "on": the gateway's own tools (gateway__search_tools, ...) are namespaced`
    }],
    ["a server named gateway", { mcpServers: { gateway: { command: "x" } }, clients: { alice: { token: "t", servers: "*" } } }, {
      path: "mcpServers.gateway",
      message: `"gateway" is reserved: the gateway's own tools are named "gateway__..."`
    }],
    ["an unknown namespacing", { ...minimal, clients: { alice: { token: "t", servers: "*", namespacing: "no" } } }, {
      path: "clients.alice.namespacing",
      message: `expected "on" | "off"`
    }],
    ["a typo in a client", { ...minimal, clients: { alice: { token: "t", servers: "*", deferedLoading: true } } }, {
      path: "clients.alice.deferedLoading",
      message: "unknown key (expected one of: token, tokenSha256, anonymous, servers, deferredLoading, namespacing)"
    }],
    ["two anonymous clients", {
      ...minimal,
      clients: { a: { anonymous: true, servers: "*" }, b: { anonymous: true, servers: "*" } }
    }, {
      path: "clients.b.anonymous",
      message: `only one client may be anonymous, and "a" already is`
    }],
    ["credentials in a server URL", {
      ...minimal,
      mcpServers: { ...minimal.mcpServers, remote: { url: "https://bob:pw12@api.example/mcp" } }
    }, {
      path: "mcpServers.remote.url",
      message: `must not hold credentials (user:password@): send them in headers, e.g. "Authorization"`
    }],
    ["two clients with one token", {
      ...minimal,
      clients: { a: { token: "shared-token-0123", servers: "*" }, b: { token: "shared-token-0123", servers: "*" } }
    }, {
      path: "clients.b",
      message: `has the same token as client "a": each client needs a token of its own`
    }],
    ["a client whose digest is another's token", {
      ...minimal,
      clients: {
        a: { token: "shared-token-0123", servers: "*" },
        // sha256("shared-token-0123"), in capitals
        b: { tokenSha256: "C5F14F9C871F6EBF2357299784D292288BCD3D605D2BBB769B009A922CF67C57", servers: "*" }
      }
    }, {
      path: "clients.b",
      message: `has the same token as client "a": each client needs a token of its own`
    }],
    ["a zero streaming limit", { ...minimal, streaming: { maxSessionsPerClient: 0 } }, {
      path: "streaming.maxSessionsPerClient",
      message: "must be a positive integer"
    }],
    ["a fractional streaming limit", { ...minimal, streaming: { maxPendingEvents: 1.5 } }, {
      path: "streaming.maxPendingEvents",
      message: "expected an integer"
    }],
    ["a negative request timeout", { ...minimal, streaming: { requestTimeoutSeconds: -1 } }, {
      path: "streaming.requestTimeoutSeconds",
      message: "must be a positive number"
    }]
  ]
  for (const [name, json, expected] of cases) {
    it.effect(`reports ${name}`, () =>
      Effect.gen(function*() {
        assert.deepStrictEqual(yield* problemsOf(json), [expected])
      }))
  }

  it.effect("lists every problem of a file at once, sorted by path, one per line in the message", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(decode({
        listen: { port: "3625" },
        mcpServers: {
          everything: { command: "" },
          remote: { url: "https://x.test", transport: "ws" },
          "bad id": { command: "x" }
        },
        clients: {
          alice: { token: "t", servers: ["everything", 3, "ghost"] },
          bob: { servers: "*" }
        },
        streaming: { heartbeatIntervalSeconds: 0 },
        extra: true
      }))
      assert.instanceOf(error, ConfigError)
      assert.strictEqual(error.source, "test.json")
      const expected = [
        `clients.alice.servers[1]: expected string`,
        `clients.alice.servers[2]: unknown server "ghost" (not in mcpServers)`,
        `clients.bob: needs exactly one of "token", "tokenSha256" or "anonymous": true (none is given)`,
        `extra: unknown key (expected one of: listen, mcpServers, clients, streaming)`,
        `listen.port: expected number`,
        `mcpServers.everything.command: must not be empty`,
        `mcpServers.remote.transport: expected "streamable-http" | "sse"`,
        `mcpServers["bad id"]: server id must contain only letters, digits, "_" and "-"`,
        `streaming.heartbeatIntervalSeconds: must be a positive integer`
      ]
      assert.strictEqual(
        error.message,
        [`invalid config (test.json): 9 problems`, ...expected.map((line) => `  ${line}`)].join("\n")
      )
    }))
})

describe("Config schema: ${VAR} expansion", () => {
  it.effect("expands variables in any string before decoding", () =>
    Effect.gen(function*() {
      const config = yield* decode(
        {
          listen: { host: "${HOST}" },
          mcpServers: { r: { url: "https://${DOMAIN}/mcp", headers: { Authorization: "Bearer ${REMOTE_TOKEN}" } } },
          clients: { alice: { token: "${ALICE_TOKEN}", servers: "*" } }
        },
        { HOST: "0.0.0.0", DOMAIN: "example.test", REMOTE_TOKEN: "r", ALICE_TOKEN: "from-env" }
      )
      assert.strictEqual(config.listen.host, "0.0.0.0")
      assert.deepStrictEqual(config.mcpServers.r, {
        kind: "remote",
        url: "https://example.test/mcp",
        transport: "streamable-http",
        headers: { Authorization: "Bearer r" },
        isolation: "shared"
      })
      const token = config.clients.alice?.token
      assert.strictEqual(token === undefined ? undefined : Redacted.value(token), "from-env")
    }))

  it.effect("names an unset variable and where it is used, once, alongside the other problems", () =>
    Effect.gen(function*() {
      const problems = yield* problemsOf({
        mcpServers: { r: { url: "${REMOTE_URL}" }, s: { command: "" } },
        clients: { alice: { token: "${ALICE_TOKEN}", servers: "*" } }
      })
      // The unexpanded "${REMOTE_URL}" is no URL either, but the unset variable is the one problem to report.
      assert.deepStrictEqual(problems, [
        { path: "clients.alice.token", message: "environment variable ALICE_TOKEN is not set" },
        { path: "mcpServers.r.url", message: "environment variable REMOTE_URL is not set" },
        { path: "mcpServers.s.command", message: "must not be empty" }
      ])
    }))
})
