import { assert, describe, it } from "@effect/vitest"
import { redactor, secretsOf } from "../../src/backend/Redaction.ts"

describe("what a backend's errors and output may not show", () => {
  it("a URL's query, as error messages quote it (percent-encoded) and decoded", () => {
    const url = "https://api.example/mcp?api_key=ab%2Fcdefghij&region=eu"
    const redact = redactor(secretsOf({ kind: "streamable-http", url, headers: {} }))
    const quoted = `fetch failed: ${url}`
    assert.notInclude(redact(quoted), "cdefghij")
    assert.notInclude(redact("the key ab/cdefghij was refused"), "cdefghij")
    assert.include(redact(quoted), "https://api.example/mcp")
  })

  it("what a query holds that is not a key stays readable: short values, named values that are not secrets", () => {
    const url = "https://api.example/mcp?version=2025-03-26&readonly&region=europe&format=json"
    const redact = redactor(secretsOf({ kind: "streamable-http", url, headers: {} }))
    assert.strictEqual(redact("protocol version 2025-03-26, readonly, europe"), "protocol version 2025-03-26, readonly, europe")
  })

  it("header values, whole and the credentials after their scheme, not the scheme's name", () => {
    const redact = redactor(secretsOf({ kind: "sse", url: "https://api.example/sse", headers: { authorization: "Bearer s3cret-token-value" } }))
    assert.notInclude(redact("401 for Bearer s3cret-token-value"), "s3cret-token-value")
    assert.notInclude(redact("token s3cret-token-value expired"), "s3cret-token-value")
    assert.strictEqual(redact("expected a Bearer token"), "expected a Bearer token")
  })

  it("a stdio server's env values", () => {
    const redact = redactor(secretsOf({ kind: "stdio", command: "node", args: [], env: { API_KEY: "sk-live-abcdef123" } }))
    assert.strictEqual(redact("using sk-live-abcdef123"), "using [redacted]")
  })
})
