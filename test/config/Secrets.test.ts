import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as ConfigLoader from "../../src/config/ConfigLoader.ts"
import * as TempDir from "./TempDir.ts"

const secret = "tok-7f3a9c-SECRET"
const envSecret = "env-4b1d-SECRET"

const assertHidden = (text: string) => {
  assert.notInclude(text, secret)
  assert.notInclude(text, envSecret)
}

describe("tokens never print", () => {
  it.effect("the decoded config holds tokens as Redacted, hidden from String, JSON and inspect", () =>
    Effect.gen(function*() {
      const config = yield* ConfigLoader.decode(
        {
          mcpServers: { s: { command: "x" } },
          clients: { alice: { token: secret, servers: "*" }, bob: { token: "${BOB_TOKEN}", servers: ["s"] } }
        },
        { source: "test", env: { BOB_TOKEN: envSecret } }
      )
      const alice = config.clients.alice?.token
      assert.isTrue(alice !== undefined && Redacted.isRedacted(alice))
      assert.strictEqual(alice === undefined ? undefined : Redacted.value(alice), secret)
      assertHidden(String(config))
      assertHidden(JSON.stringify(config))
      assertHidden(inspect(config, { depth: Infinity }))
      assertHidden(`${config.clients.alice?.token}`)
      assert.include(JSON.stringify(config), "<redacted>")
    }))

  it.effect("the generated default token is hidden too", () =>
    Effect.gen(function*() {
      const loaded = yield* TempDir.load([], {})
      const token = loaded.generatedToken
      assert.isDefined(token)
      if (token === undefined) return
      const value = Redacted.value(token)
      for (const text of [String(loaded), JSON.stringify(loaded), inspect(loaded, { depth: Infinity })]) {
        assert.notInclude(text, value)
      }
    }))

  it.effect("problem messages do not repeat token values", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ConfigLoader.decode(
        {
          mcpServers: { s: { command: "x" } },
          clients: {
            alice: { token: secret, anonymous: true, servers: "*", tokn: secret },
            bob: { token: "${BOB_TOKEN}", tokenSha256: envSecret, servers: ["ghost"] },
            carol: { token: 42, servers: "*" }
          }
        },
        { source: "test", env: { BOB_TOKEN: envSecret } }
      ))
      assert.isAtLeast(error.problems.length, 5)
      assertHidden(error.message)
      assertHidden(JSON.stringify(error))
    }))

  it.effect("invalid JSON next to a token is reported without quoting the text", () =>
    Effect.gen(function*() {
      const dir = yield* TempDir.make
      const file = yield* TempDir.writeFile(dir, "bad.json", `{ "clients": { "alice": { "token": ${secret} } } }`)
      const error = yield* Effect.flip(ConfigLoader.load(["--config", file], {}))
      assert.strictEqual(error.problems.length, 1)
      assert.match(error.problems[0]?.message ?? "", /^invalid JSON: Unexpected token/)
      assertHidden(error.message)
    }))
})
