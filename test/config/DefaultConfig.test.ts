import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { Config, StdioServerConfig } from "../../src/config/ConfigSchema.ts"
import * as DefaultConfig from "../../src/config/DefaultConfig.ts"
import * as TempDir from "./TempDir.ts"

const stdio = (config: Config, id: string): StdioServerConfig => {
  const server = config.mcpServers[id]
  if (server?.kind !== "stdio") return assert.fail(`${id} is not a stdio server`)
  return server
}

const exists = (file: string) =>
  Effect.promise(() => fs.stat(file).then((stat) => stat.isFile() || stat.isDirectory(), () => false))

const loadDefault = TempDir.fromDefault

describe("DefaultConfig", () => {
  it.effect("runs the three reference servers on the current node binary, from their installed entry files", () =>
    Effect.gen(function*() {
      const { config } = yield* loadDefault({})
      assert.deepStrictEqual(Object.keys(config.mcpServers).sort(), ["everything", "filesystem", "memory"])
      for (const id of ["everything", "memory", "filesystem"]) {
        const server = stdio(config, id)
        assert.strictEqual(server.command, process.execPath)
        const entry = server.args[0] ?? ""
        assert.isTrue(path.isAbsolute(entry), `${id} entry ${entry} is absolute`)
        assert.include(entry, `server-${id}`)
        assert.isTrue(yield* exists(entry), `${id} entry ${entry} exists`)
      }
      assert.deepStrictEqual(stdio(config, "everything").args.slice(1), ["stdio"])
    }))

  it.effect("keeps what the servers write in a scratch directory under the OS temp dir", () =>
    Effect.gen(function*() {
      const { config, scratchDir: scratch } = yield* loadDefault({})
      assert.strictEqual(stdio(config, "everything").cwd, scratch)
      assert.isTrue(scratch.startsWith(path.join(os.tmpdir(), "mcp-gateway-")), scratch)
      assert.deepStrictEqual(stdio(config, "memory").env, { MEMORY_FILE_PATH: path.join(scratch, "memory.jsonl") })
      const allowed = stdio(config, "filesystem").args[1] ?? ""
      assert.strictEqual(allowed, path.join(scratch, "files"))
      assert.isTrue(yield* exists(allowed), "the filesystem server's directory is created")
    }))

  it.effect("has one client dev allowed every server, with a generated token reported once", () =>
    Effect.gen(function*() {
      const { config, generatedToken } = yield* loadDefault({})
      assert.deepStrictEqual(Object.keys(config.clients), ["dev"])
      const dev = config.clients.dev
      assert.strictEqual(dev?.servers, "*")
      assert.isDefined(generatedToken)
      assert.isDefined(dev?.token)
      if (generatedToken === undefined || dev?.token === undefined) return
      assert.strictEqual(Redacted.value(dev.token), Redacted.value(generatedToken))
      // 24 random bytes in base64url.
      assert.match(Redacted.value(generatedToken), /^[A-Za-z0-9_-]{32}$/)
      const again = yield* loadDefault({})
      const another = again.generatedToken === undefined ? undefined : Redacted.value(again.generatedToken)
      assert.notStrictEqual(another, Redacted.value(generatedToken))
    }))

  it.effect("uses MCP_GATEWAY_TOKEN when set, and then generates nothing", () =>
    Effect.gen(function*() {
      const { config, generatedToken } = yield* loadDefault({ MCP_GATEWAY_TOKEN: "my-dev-token" })
      assert.isUndefined(generatedToken)
      const token = config.clients.dev?.token
      assert.strictEqual(token === undefined ? undefined : Redacted.value(token), "my-dev-token")
      const loaded = yield* TempDir.load([], { MCP_GATEWAY_TOKEN: "my-dev-token" })
      assert.isFalse("generatedToken" in loaded)
    }))

  it.effect("make builds the file form into the scratch directory it is given", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const { file } = yield* DefaultConfig.make({ MCP_GATEWAY_TOKEN: "t" }, dir)
      assert.deepStrictEqual(file.clients, { dev: { token: "t", servers: "*" } })
      assert.isTrue(yield* exists(path.join(dir, "files")))
    }))
})
