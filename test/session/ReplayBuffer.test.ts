import { assert, describe, it } from "@effect/vitest"
import { ReplayBuffer } from "../../src/session/ReplayBuffer.ts"
import type { SessionEvent } from "../../src/session/SessionEvent.ts"

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays exactly. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const event = (id: number, text: string): SessionEvent => ({
  id,
  event: "notification",
  data: { server_id: "s", notification: { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: text } } }
})

/** What `since` must answer, from a plain list of every event pushed. */
const model = (pushed: ReadonlyArray<SessionEvent>, capacity: number, after: number, upTo: number) => {
  const kept = pushed.slice(-capacity)
  const evicted = pushed.slice(0, Math.max(0, pushed.length - capacity))
  const evictedUpTo = evicted.at(-1)?.id ?? 0
  const events = kept.filter((e) => e.id > after && e.id <= upTo)
  return after < evictedUpTo ? { events, lostUpTo: evictedUpTo } : { events }
}

describe("ReplayBuffer", () => {
  it("answers like a plain list of the last `capacity` events, for small, large and non-ASCII events", () => {
    const next = random(42)
    for (const capacity of [1, 3, 8, 50, 1000]) {
      const buffer = new ReplayBuffer(capacity)
      const pushed: Array<SessionEvent> = []
      let id = 0
      for (let n = 0; n < 600; n++) {
        // Gaps in ids, as heartbeats leave; sizes from a few bytes to past a whole chunk (64 KiB).
        id += 1 + Math.floor(next() * 3)
        const size = next() < 0.02 ? 70_000 + Math.floor(next() * 10_000) : Math.floor(next() * 300)
        const text = (next() < 0.3 ? "é✓🙂" : "x").repeat(size)
        const e = event(id, text)
        buffer.push(e)
        pushed.push(e)
        if (n % 37 === 0 || n === 599) {
          const after = Math.floor(next() * (id + 2)) - 1
          const upTo = next() < 0.5 ? id : after + Math.floor(next() * 20)
          assert.deepStrictEqual(buffer.since(after, upTo), model(pushed, capacity, after, upTo), `capacity ${capacity}, push ${n}`)
        }
      }
    }
  })

  it("keeps nothing for an event too deeply nested to print, and keeps going", () => {
    const buffer = new ReplayBuffer(10)
    let deep: unknown = "bottom"
    for (let i = 0; i < 200_000; i++) deep = [deep]
    buffer.push(event(1, "a"))
    buffer.push({ id: 2, event: "chunk", data: { request_id: "r", server_id: "s", result: deep } })
    buffer.push(event(3, "c"))
    assert.deepStrictEqual(buffer.since(0, 3).events.map((e) => e.id), [1, 3])
  })
})
