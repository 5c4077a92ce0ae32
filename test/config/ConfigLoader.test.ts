import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConfigError } from "../../src/config/ConfigErrors.ts"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import * as TempDir from "./TempDir.ts"

const fileConfig = (port: number, client = "alice") => ({
  listen: { port },
  mcpServers: { s: { command: "node" } },
  clients: { [client]: { token: `${client}-token`, servers: "*" } }
})

describe("ConfigLoader.load: where the config comes from", () => {
  it.effect("uses --config FILE first, over MCP_GATEWAY_CONFIG", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const flagged = yield* TempDir.writeFile(dir, "flag.json", fileConfig(1111, "flag"))
      const fromEnv = yield* TempDir.writeFile(dir, "env.json", fileConfig(2222, "env"))
      const loaded = yield* ConfigLoader.load(["--verbose", "--config", flagged], { MCP_GATEWAY_CONFIG: fromEnv })
      assert.strictEqual(loaded.source, flagged)
      assert.strictEqual(loaded.config.listen.port, 1111)
      assert.deepStrictEqual(Object.keys(loaded.config.clients), ["flag"])
      assert.isUndefined(loaded.generatedToken)
      assert.isUndefined(loaded.scratchDir)
    }))

  it.effect("accepts --config=FILE, and the last --config wins", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const first = yield* TempDir.writeFile(dir, "first.json", fileConfig(1111))
      const second = yield* TempDir.writeFile(dir, "second.json", fileConfig(2222))
      const loaded = yield* ConfigLoader.load([`--config=${first}`, `--config=${second}`], {})
      assert.strictEqual(loaded.source, second)
      assert.strictEqual(loaded.config.listen.port, 2222)
    }))

  it.effect("uses MCP_GATEWAY_CONFIG when there is no --config", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const fromEnv = yield* TempDir.writeFile(dir, "env.json", fileConfig(2222, "env"))
      const loaded = yield* TempDir.load([], { MCP_GATEWAY_CONFIG: fromEnv })
      assert.strictEqual(loaded.source, fromEnv)
      assert.strictEqual(loaded.config.listen.port, 2222)
    }))

  it.effect("uses the embedded default when neither is given (an empty MCP_GATEWAY_CONFIG counts as unset)", () =>
    Effect.gen(function*() {
      const loaded = yield* TempDir.load([], { MCP_GATEWAY_CONFIG: "" })
      assert.strictEqual(loaded.source, "embedded default")
      assert.deepStrictEqual(Object.keys(loaded.config.mcpServers).sort(), ["everything", "filesystem", "memory"])
      assert.isDefined(loaded.generatedToken)
      assert.isDefined(loaded.scratchDir)
    }))

  it.effect("resolves a relative path against the working directory and reports it absolute", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "rel.json", fileConfig(1234))
      const relative = path.relative(process.cwd(), file)
      const loaded = yield* ConfigLoader.load(["--config", relative], {})
      assert.strictEqual(loaded.source, file)
      assert.strictEqual(loaded.config.listen.port, 1234)
    }))

  it.effect("refuses --config without a file", () =>
    Effect.gen(function*() {
      for (const argv of [["--config"], ["--config="], ["--config", "--other"]]) {
        const error = yield* Effect.flip(ConfigLoader.load(argv, {}))
        assert.instanceOf(error, ConfigError)
        assert.strictEqual(error.source, "command line")
        assert.deepStrictEqual(error.problems, [{ path: "", message: "--config needs a file path" }])
      }
    }))

  it.effect("expands ${VAR} in a config file from the given environment", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "vars.json", {
        mcpServers: { s: { command: "${BIN}" } },
        clients: { alice: { token: "${ALICE_TOKEN}", servers: "*" } }
      })
      const loaded = yield* ConfigLoader.load(["--config", file], { BIN: "/usr/bin/node", ALICE_TOKEN: "x" })
      const server = loaded.config.mcpServers.s
      assert.strictEqual(server?.kind === "stdio" && server.command, "/usr/bin/node")
      const error = yield* Effect.flip(ConfigLoader.load(["--config", file], { BIN: "/usr/bin/node" }))
      assert.strictEqual(error.source, file)
      assert.deepStrictEqual(error.problems, [
        { path: "clients.alice.token", message: "environment variable ALICE_TOKEN is not set" }
      ])
    }))
})

describe("ConfigLoader.load: unusable files", () => {
  it.effect("reports a file that cannot be read as one problem, without a stack trace", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const missing = path.join(dir, "missing.json")
      const error = yield* Effect.flip(ConfigLoader.load(["--config", missing], {}))
      assert.instanceOf(error, ConfigError)
      assert.strictEqual(error.source, missing)
      assert.strictEqual(error.problems.length, 1)
      assert.match(error.problems[0]?.message ?? "", /^cannot read the file \(ENOENT/)
      assert.notInclude(error.message, "    at ")
      assert.strictEqual(error.message.split("\n").length, 2)
    }))

  it.effect("reports a directory given as the config file", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const error = yield* Effect.flip(ConfigLoader.load(["--config", dir], {}))
      assert.match(error.problems[0]?.message ?? "", /^cannot read the file \(EISDIR/)
    }))

  it.effect("reports invalid JSON as one problem with its position", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const text = `{\n  "mcpServers": {},\n  "clients": {}\n  "listen": {}\n}`
      const file = yield* TempDir.writeFile(dir, "bad.json", text)
      const error = yield* Effect.flip(ConfigLoader.load(["--config", file], {}))
      assert.strictEqual(error.source, file)
      assert.deepStrictEqual(error.problems, [{
        path: "",
        message: "invalid JSON: Expected ',' or '}' after property value in JSON at position 40 (line 4 column 3)"
      }])
      assert.strictEqual(error.message, `invalid config (${file}): 1 problem\n  ${error.problems[0]?.message}`)
    }))

  it.effect("accepts a file saved with a byte order mark", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "bom.json", `\uFEFF${JSON.stringify(fileConfig(1))}`)
      const loaded = yield* ConfigLoader.load(["--config", file], {})
      assert.strictEqual(loaded.config.listen.port, 1)
    }))

  it.effect("reports every problem of a file read from disk", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "many.json", {
        mcpServers: { s: { command: "" } },
        clients: { alice: { token: "t", servers: ["ghost"] } },
        streaming: { maxPendingEvents: 0 }
      })
      const error = yield* Effect.flip(ConfigLoader.load([`--config=${file}`], {}))
      assert.deepStrictEqual(error.problems.map((problem) => problem.path), [
        "clients.alice.servers[0]",
        "mcpServers.s.command",
        "streaming.maxPendingEvents"
      ])
    }))
})

describe("ConfigLoader.load: PORT", () => {
  it.effect("overrides listen.port of a file", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "c.json", fileConfig(1111))
      const loaded = yield* ConfigLoader.load(["--config", file], { PORT: "4321" })
      assert.strictEqual(loaded.config.listen.port, 4321)
      assert.strictEqual(loaded.config.listen.host, "127.0.0.1")
    }))

  it.effect("overrides the port of the embedded default", () =>
    Effect.gen(function*() {
      const loaded = yield* TempDir.load([], { PORT: "0", MCP_GATEWAY_TOKEN: "t" })
      assert.strictEqual(loaded.config.listen.port, 0)
    }))

  it.effect("is ignored when empty", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "c.json", fileConfig(1111))
      const loaded = yield* ConfigLoader.load(["--config", file], { PORT: "" })
      assert.strictEqual(loaded.config.listen.port, 1111)
    }))

  it.effect("refuses an invalid PORT, naming the variable", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "c.json", fileConfig(1111))
      for (const port of ["abc", "70000", "-1", "80.5", "1e3"]) {
        const error = yield* Effect.flip(ConfigLoader.load(["--config", file], { PORT: port }))
        assert.strictEqual(error.source, "environment variable PORT")
        assert.deepStrictEqual(error.problems, [{
          path: "listen.port",
          message: `the PORT environment variable must be an integer from 0 to 65535, got ${JSON.stringify(port)}`
        }])
      }
    }))

  it.effect("lists an invalid PORT together with the file's own problems", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const json = { ...fileConfig(1111), streaming: { maxSessionsPerClient: 0 } }
      const file = yield* TempDir.writeFile(dir, "c.json", json)
      const error = yield* Effect.flip(ConfigLoader.load(["--config", file], { PORT: "http" }))
      assert.strictEqual(error.source, file)
      assert.deepStrictEqual(
        error.problems.map((problem) => problem.path),
        ["listen.port", "streaming.maxSessionsPerClient"]
      )
    }))
})
