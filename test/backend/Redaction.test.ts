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

  it("header values, whole and word by word (a bearer token inside its scheme)", () => {
    const redact = redactor(secretsOf({ kind: "sse", url: "https://api.example/sse", headers: { authorization: "Bearer s3cret-token-value" } }))
    assert.notInclude(redact("401 for Bearer s3cret-token-value"), "s3cret-token-value")
    assert.notInclude(redact("token s3cret-token-value expired"), "s3cret-token-value")
  })

  it("a stdio server's env values", () => {
    const redact = redactor(secretsOf({ kind: "stdio", command: "node", args: [], env: { API_KEY: "sk-live-abcdef123" } }))
    assert.strictEqual(redact("using sk-live-abcdef123"), "using [redacted]")
  })
})
