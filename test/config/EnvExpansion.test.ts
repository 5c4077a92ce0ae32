import { assert, describe, it } from "@effect/vitest"
import * as EnvExpansion from "../../src/config/EnvExpansion.ts"

describe("EnvExpansion.expand", () => {
  it("replaces ${NAME} in every string value, nested in objects and arrays", () => {
    const json = {
      listen: { host: "${HOST}" },
      mcpServers: { a: { command: "${BIN}/run", args: ["--x=${X}", "${X}${X}", 3, true, null] } },
      clients: { alice: { token: "Bearer ${TOKEN}" } }
    }
    const { value, problems } = EnvExpansion.expand(json, { HOST: "0.0.0.0", BIN: "/opt", X: "1", TOKEN: "t" })
    assert.deepStrictEqual(problems, [])
    assert.deepStrictEqual(value, {
      listen: { host: "0.0.0.0" },
      mcpServers: { a: { command: "/opt/run", args: ["--x=1", "11", 3, true, null] } },
      clients: { alice: { token: "Bearer t" } }
    })
  })

  it("leaves keys, plain $ and malformed references alone", () => {
    const { value, problems } = EnvExpansion.expand(
      { "${KEY}": "cost: $5, ${not-a-name}, $HOME, ${}" },
      { KEY: "k", HOME: "/home/me" }
    )
    assert.deepStrictEqual(problems, [])
    assert.deepStrictEqual(value, { "${KEY}": "cost: $5, ${not-a-name}, $HOME, ${}" })
  })

  it("treats a variable set to the empty string as set", () => {
    const { value, problems } = EnvExpansion.expand({ a: "<${EMPTY}>" }, { EMPTY: "" })
    assert.deepStrictEqual(problems, [])
    assert.deepStrictEqual(value, { a: "<>" })
  })

  it("reports each unset variable with the JSON path where it is used, and leaves the reference in place", () => {
    const { value, problems } = EnvExpansion.expand(
      { clients: { alice: { token: "${ALICE_TOKEN}" } }, mcpServers: { s: { args: ["ok", "${A}-${B}"] } } },
      { B: "b" }
    )
    assert.deepStrictEqual(problems, [
      { path: "clients.alice.token", message: "environment variable ALICE_TOKEN is not set" },
      { path: "mcpServers.s.args[1]", message: "environment variable A is not set" }
    ])
    assert.deepStrictEqual(value, {
      clients: { alice: { token: "${ALICE_TOKEN}" } },
      mcpServers: { s: { args: ["ok", "${A}-b"] } }
    })
  })
})
