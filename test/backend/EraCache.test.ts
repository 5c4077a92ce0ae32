import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { EraCache } from "../../src/backend/EraCache.ts"

describe("EraCache", () => {
  it.effect("keeps a legacy verdict until it is too old, and never a modern one", () =>
    Effect.gen(function*() {
      const cache = yield* EraCache.make("1 hour")
      assert.isUndefined(yield* cache.prior("a"))
      yield* cache.record("a", { kind: "legacy" })
      assert.deepStrictEqual(yield* cache.prior("a"), { kind: "legacy" })
      yield* TestClock.adjust("59 minutes")
      assert.deepStrictEqual(yield* cache.prior("a"), { kind: "legacy" })
      yield* TestClock.adjust("1 minute")
      assert.isUndefined(yield* cache.prior("a"))

      yield* cache.record("b", { kind: "legacy" })
      yield* cache.record("b", { kind: "modern", discover: { supportedVersions: ["2026-07-28"], capabilities: {} } as never })
      assert.isUndefined(yield* cache.prior("b"))
    }))
})
