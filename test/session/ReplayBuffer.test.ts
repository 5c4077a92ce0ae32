import { assert, describe, it } from "@effect/vitest"
import type { EncodedEvent } from "../../src/session/EventEncoding.ts"
import { ReplayBuffer } from "../../src/session/ReplayBuffer.ts"

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays exactly. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const names = ["response", "chunk", "notification", "error", "request", "closed"] as const

/** What `since` must answer, from a plain list of every event pushed. */
const model = (pushed: ReadonlyArray<EncodedEvent>, capacity: number, after: number, upTo: number) => {
  const kept = pushed.slice(-capacity)
  const evicted = pushed.slice(0, Math.max(0, pushed.length - capacity))
  const evictedUpTo = evicted.at(-1)?.id ?? 0
  const events = kept.filter((e) => e.id > after && e.id <= upTo)
  return after < evictedUpTo ? { events, lostUpTo: evictedUpTo } : { events }
}

describe("ReplayBuffer", () => {
  it("answers like a plain list of the last `capacity` events, for small, large and non-ASCII events", () => {
    // 2,500 pushes: every capacity here wraps around at least twice.
    const next = random(42)
    for (const capacity of [1, 3, 8, 50, 1000]) {
      const buffer = new ReplayBuffer(capacity)
      const pushed: Array<EncodedEvent> = []
      let id = 0
      for (let n = 0; n < 2_500; n++) {
        // Gaps in ids, as heartbeats leave; sizes from a few bytes to past a whole chunk (64 KiB).
        id += 1 + Math.floor(next() * 3)
        const size = next() < 0.02 ? 70_000 + Math.floor(next() * 10_000) : Math.floor(next() * 300)
        const text = (next() < 0.3 ? "é✓🙂" : "x").repeat(size)
        const event: EncodedEvent = { id, event: names[Math.floor(next() * names.length)]!, json: JSON.stringify({ text }) }
        buffer.push(event)
        pushed.push(event)
        if (n % 37 === 0 || n === 2_499) {
          const after = Math.floor(next() * (id + 2)) - 1
          const upTo = next() < 0.5 ? id : after + Math.floor(next() * 20)
          assert.deepStrictEqual(buffer.since(after, upTo), model(pushed, capacity, after, upTo), `capacity ${capacity}, push ${n}`)
        }
      }
    }
  })

  it("holds only what its kept events need: old chunks are released, at most one spare is kept", () => {
    const text = "y".repeat(1_000)
    const buffer = new ReplayBuffer(3)
    for (let id = 1; id <= 500; id++) buffer.push({ id, event: "notification", json: JSON.stringify({ text }) })
    // Three kept events of ~1 KB sit in at most two 64 KiB chunks (the one being filled and the one before), plus the spare.
    assert.isAtMost(buffer.heldBytes, 3 * 64 * 1024)

    const deep = new ReplayBuffer(1_000)
    for (let id = 1; id <= 10_000; id++) deep.push({ id, event: "notification", json: JSON.stringify({ text }) })
    // 1,000 kept events of ~1 KB: about 1 MB, plus at most a chunk being filled and the spare.
    assert.isAtMost(deep.heldBytes, 1_000 * 1_020 + 2 * 64 * 1024)
    assert.isAtLeast(deep.heldBytes, 1_000 * 1_000)
  })

  it("an idle buffer holds nothing", () => {
    assert.strictEqual(new ReplayBuffer(1_000).heldBytes, 0)
  })
})
