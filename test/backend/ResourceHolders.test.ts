import { assert, describe, it } from "@effect/vitest"
import * as ResourceHolders from "../../src/backend/ResourceHolders.ts"

describe("ResourceHolders", () => {
  it("the first holder subscribes, the last one to let go unsubscribes, the others are answered locally", () => {
    const holders = ResourceHolders.make()
    assert.isTrue(holders.acquire("r", "a"), "a is first")
    assert.isFalse(holders.acquire("r", "b"))
    assert.isFalse(holders.acquire("r", "a"), "again: still one holder a")
    assert.isFalse(holders.release("r", "a"), "b still holds it")
    assert.isFalse(holders.release("r", "a"), "a no longer holds it")
    assert.isTrue(holders.release("r", "b"), "b was the last")
    assert.isTrue(holders.acquire("r", "c"), "a new first holder")
  })

  it("a session leaving lets go of everything, and names what it was the last holder of", () => {
    const holders = ResourceHolders.make()
    holders.acquire("x", "a")
    holders.acquire("y", "a")
    holders.acquire("y", "b")
    assert.deepStrictEqual(holders.releaseAll("a"), ["x"])
    assert.deepStrictEqual(holders.releaseAll("a"), [])
    assert.deepStrictEqual(holders.releaseAll("b"), ["y"])
  })
})
