import { assert, describe, it } from "@effect/vitest"
import * as ParamHeaders from "../../src/protocol/ParamHeaders.ts"

const schema = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ type: "object", properties, ...extra })

describe("ParamHeaders (SEP-2243)", () => {
  it("scans declarations along `properties`, at any depth", () => {
    const found = ParamHeaders.scan(schema({
      region: { type: "string", "x-mcp-header": "Region" },
      options: { type: "object", properties: { dryRun: { type: "boolean", "x-mcp-header": "Dry-Run" } } },
      plain: { type: "string" }
    }))
    assert.isTrue(found.valid)
    assert.deepStrictEqual(found.declarations, [
      { path: ["region"], header: "Region", type: "string" },
      { path: ["options", "dryRun"], header: "Dry-Run", type: "boolean" }
    ])
  })

  it("finds a tool invalid as the spec says: misplaced, not a token, not a primitive, duplicate, or number-typed", () => {
    const invalid = [
      schema({ list: { type: "array", items: { type: "string", "x-mcp-header": "Item" } } }),
      schema({ a: { type: "string", "x-mcp-header": "Has Space" } }),
      schema({ a: { type: "object", "x-mcp-header": "Obj" } }),
      schema({ a: { type: "string", "x-mcp-header": "Same" }, b: { type: "string", "x-mcp-header": "same" } }),
      schema({}, { anyOf: [schema({ a: { type: "string", "x-mcp-header": "A" } })] })
    ]
    for (const inputSchema of invalid) assert.deepStrictEqual(ParamHeaders.scan(inputSchema), { valid: false, declarations: [] })
    // `number` breaks the rules too, but a server still checks what it declares.
    const numbered = ParamHeaders.scan(schema({ n: { type: "number", "x-mcp-header": "N" } }))
    assert.deepStrictEqual(numbered, { valid: false, declarations: [{ path: ["n"], header: "N", type: "number" }] })
  })

  it("builds the headers from the arguments: text as it is, numbers and booleans as text, the rest Base64-encoded", () => {
    const { declarations } = ParamHeaders.scan(schema({
      region: { type: "string", "x-mcp-header": "Region" },
      count: { type: "integer", "x-mcp-header": "Count" },
      flag: { type: "boolean", "x-mcp-header": "Flag" },
      absent: { type: "string", "x-mcp-header": "Absent" }
    }))
    assert.deepStrictEqual(ParamHeaders.headersFor(declarations, { region: "eu", count: 3, flag: false, absent: null }), {
      "Mcp-Param-Region": "eu",
      "Mcp-Param-Count": "3",
      "Mcp-Param-Flag": "false"
    })
    assert.deepStrictEqual(ParamHeaders.headersFor(declarations, { region: "Zürich" }), { "Mcp-Param-Region": "=?base64?WsO8cmljaA==?=" })
    // Surrounding space, and a value that looks like the encoding itself, are encoded too.
    assert.strictEqual(ParamHeaders.encode(" eu"), "=?base64?IGV1?=")
    assert.strictEqual(ParamHeaders.encode("=?base64?ZXU=?="), `=?base64?${Buffer.from("=?base64?ZXU=?=").toString("base64")}?=`)
  })

  it("checks a request's headers against its body as a server must", () => {
    const { declarations } = ParamHeaders.scan(schema({
      region: { type: "string", "x-mcp-header": "Region" },
      count: { type: "integer", "x-mcp-header": "Count" }
    }))
    const check = (args: unknown, headers: Record<string, string>) => ParamHeaders.mismatch(declarations, args, (name) => headers[name])
    assert.isUndefined(check({ region: "eu", count: 42 }, { "mcp-param-region": "eu", "mcp-param-count": "42.0" }))
    assert.isUndefined(check({ region: "Hello" }, { "mcp-param-region": "=?base64?SGVsbG8=?=" }))
    // Without both halves of the sentinel a value is literal.
    assert.isUndefined(check({ region: "=?base64?SGVsbG8=" }, { "mcp-param-region": "=?base64?SGVsbG8=" }))
    // An argument the body does not carry needs no header.
    assert.isUndefined(check({}, {}))
    assert.include(check({ region: "eu" }, {}), "absent")
    assert.include(check({ region: "eu" }, { "mcp-param-region": "us" }), "does not match")
    assert.include(check({ region: "Hello" }, { "mcp-param-region": "=?base64?SGVsbG8?=" }), "invalid Base64")
    assert.include(check({ region: "Hello" }, { "mcp-param-region": "=?base64?SGVs!!!bG8=?=" }), "invalid Base64")
  })

  it("lists the tools of a tools/list result that declare headers", () => {
    const tools = [
      { name: "plain", inputSchema: schema({ a: { type: "string" } }) },
      { name: "mirrored", inputSchema: schema({ a: { type: "string", "x-mcp-header": "A" } }) }
    ]
    assert.deepStrictEqual(ParamHeaders.ofTools(tools).map(([name]) => name), ["mirrored"])
    assert.deepStrictEqual(ParamHeaders.ofTools(undefined), [])
  })
})
