import { assert, describe, it } from "@effect/vitest"

describe("runtime", () => {
  // Effect 4 needs Node >= 22.19; the project pins Node 24 as a dev dependency. Calling a tool's
  // `.bin` shim directly runs the machine's Node 20 instead: this test fails loudly when that happens.
  it("runs on the pinned Node (>= 22)", () => {
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
    assert.isTrue(major > 22 || (major === 22 && minor >= 19), `Node ${process.versions.node} is too old`)
  })
})
