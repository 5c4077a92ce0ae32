import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import { allowedServers, GatewayConfig } from "../../src/config/GatewayConfig.ts"

const decode = ConfigLoader.decode(
  {
    mcpServers: { a: { command: "a" }, b: { command: "b" }, c: { url: "https://c.test/mcp" } },
    clients: {
      all: { tokenSha256: "a".repeat(64), servers: "*" },
      some: { token: "t", servers: ["c", "a", "c"] },
      none: { anonymous: true, servers: [] }
    }
  },
  { source: "test", env: {} }
)

describe("GatewayConfig", () => {
  it.effect("provides the decoded config through its layer", () =>
    Effect.gen(function*() {
      const config = yield* decode
      const provided = yield* Effect.provide(
        Effect.gen(function*() {
          return yield* GatewayConfig
        }),
        GatewayConfig.layer(config)
      )
      assert.strictEqual(provided, config)
    }))

  it.effect("allowedServers resolves \"*\" to every server and keeps a list as given, without duplicates", () =>
    Effect.gen(function*() {
      const config = yield* decode
      assert.deepStrictEqual(allowedServers(config, "all"), ["a", "b", "c"])
      assert.deepStrictEqual(allowedServers(config, "some"), ["c", "a"])
      assert.deepStrictEqual(allowedServers(config, "none"), [])
    }))

  it.effect("allowedServers gives an unknown client nothing", () =>
    Effect.gen(function*() {
      const config = yield* decode
      assert.deepStrictEqual(allowedServers(config, "mallory"), [])
      assert.deepStrictEqual(allowedServers(config, "toString"), [])
    }))
})
