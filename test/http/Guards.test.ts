import { assert, describe, it } from "@effect/vitest"
import * as Guards from "../../src/http/Guards.ts"

const loopback = { host: "127.0.0.1", port: 3625 }

describe("DNS-rebinding guards", () => {
  it("a loopback gateway accepts only local Host names", () => {
    assert.isUndefined(Guards.refusal(loopback, { host: "127.0.0.1:3625" }))
    assert.isUndefined(Guards.refusal(loopback, { host: "localhost:3625" }))
    assert.isUndefined(Guards.refusal(loopback, { host: "[::1]:3625" }))
    assert.match(Guards.refusal(loopback, { host: "evil.example:3625" }) ?? "", /Host not allowed/)
    assert.match(Guards.refusal(loopback, { host: undefined }) ?? "", /Host not allowed/)
  })

  it("a gateway bound to every interface does not judge Host (it has no single name)", () => {
    assert.isUndefined(Guards.refusal({ host: "0.0.0.0", port: 3625 }, { host: "gateway.internal:3625" }))
  })

  it("Origin: the configured list exactly; without one, local pages for a loopback gateway and nothing else", () => {
    const listed = { ...loopback, allowedOrigins: ["https://app.example"] }
    assert.isUndefined(Guards.refusal(listed, { host: "localhost", origin: "https://app.example" }))
    assert.match(Guards.refusal(listed, { host: "localhost", origin: "http://localhost:5173" }) ?? "", /Origin not allowed/)
    assert.isUndefined(Guards.refusal(loopback, { host: "localhost", origin: "http://localhost:5173" }))
    assert.match(Guards.refusal(loopback, { host: "localhost", origin: "http://evil.example" }) ?? "", /Origin not allowed/)
    assert.match(Guards.refusal({ host: "0.0.0.0", port: 1 }, { host: "x", origin: "http://localhost" }) ?? "", /no listen.allowedOrigins/)
    assert.isUndefined(Guards.refusal(loopback, { host: "localhost" }), "no Origin: not a browser")
  })
})
